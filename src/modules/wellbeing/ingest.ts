// Ingestion: every reading, from MQTT or the HTTP batch endpoint, is checked here (schema, device,
// home, signature, clock) and queued for a batched, append-only write. While the database is
// unavailable readings wait in a bounded buffer; when it is full, senders are held back (MQTT
// acknowledgements wait, the HTTP endpoint answers 503), so none is dropped once accepted.
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../platform/db/index.ts';
import * as store from './store.ts';

export const readingTypes = ['motion', 'contact', 'power', 'bed', 'temperature', 'heartbeat'] as const;

/** One reading as a hub sends it: the JSON Schema in docs/wellbeing-reading.schema.json is made from this. */
export const readingSchema = z
  .object({
    seq: z
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .describe('Per-sensor sequence number; a repeat is ignored'),
    time: z.iso.datetime({ offset: true }).describe('When the reading was taken (ISO 8601 with offset)'),
    type: z.enum(readingTypes).describe('What the sensor measured'),
    value: z
      .number()
      .min(-100_000)
      .max(100_000)
      .describe(
        'motion 1; contact 1 open, 0 closed; power watts; bed 1 occupied, 0 empty; temperature °C; heartbeat 1',
      ),
    battery: z.int().min(0).max(100).optional().describe('Battery level, per cent'),
    hub: z
      .string()
      .regex(/^[A-Z0-9-]{3,40}$/)
      .optional()
      .describe('The hub that signed the reading (brokers Kiln does not run)'),
    sig: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional()
      .describe('HMAC-SHA256 of the signed text with the hub key, hex'),
  })
  .strict();
export type ReadingPayload = z.infer<typeof readingSchema>;

const readingKeys = new Set(Object.keys(readingSchema.shape));
const readingTypeSet = new Set<string>(readingTypes);
/** The schema's own date-time pattern, so the fast check below cannot drift from it. */
const isoDateTime = (readingSchema.shape.time.def as { pattern?: unknown }).pattern;
const HUB_REF = /^[A-Z0-9-]{3,40}$/;
const SIG = /^[0-9a-f]{64}$/;

/**
 * The reading itself when it certainly passes `readingSchema` (as a well-formed hub's always
 * does), otherwise undefined and the schema decides, with its error. The schema is the rule and
 * this only a quicker way to the same answer (about a microsecond less per reading); a test
 * checks that they agree.
 */
export function readingIfValid(body: unknown): ReadingPayload | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !(isoDateTime instanceof RegExp))
    return undefined;
  const r = body as Record<string, unknown>;
  for (const key in r) if (!readingKeys.has(key) || !Object.hasOwn(r, key)) return undefined;
  const { seq, time, type, value, battery, hub, sig } = r;
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) return undefined;
  if (typeof time !== 'string' || !isoDateTime.test(time)) return undefined;
  if (typeof type !== 'string' || !readingTypeSet.has(type)) return undefined;
  if (typeof value !== 'number' || !(value >= -100_000 && value <= 100_000)) return undefined;
  if (
    battery !== undefined &&
    !(Number.isSafeInteger(battery) && (battery as number) >= 0 && (battery as number) <= 100)
  )
    return undefined;
  if (hub !== undefined && (typeof hub !== 'string' || !HUB_REF.test(hub))) return undefined;
  if (sig !== undefined && (typeof sig !== 'string' || !SIG.test(sig))) return undefined;
  return r as ReadingPayload;
}

/** A reading in a batch from a hub over HTTP names its sensor. */
export const batchSchema = z
  .object({
    readings: z
      .array(readingSchema.extend({ sensor: z.string().regex(/^[A-Z0-9-]{3,40}$/) }))
      .min(1)
      .max(5000),
  })
  .strict();

export const TOPIC = /^kiln\/homes\/([A-Z0-9-]{3,40})\/sensors\/([A-Z0-9-]{3,40})\/events$/;

/** The text a hub signs: the topic and the reading's fields, one per line. */
export function signedText(
  topic: string,
  r: Pick<ReadingPayload, 'seq' | 'time' | 'type' | 'value'>,
): string {
  return `${topic}\n${r.seq}\n${r.time}\n${r.type}\n${r.value}`;
}

export function sign(key: string, topic: string, r: Pick<ReadingPayload, 'seq' | 'time' | 'type' | 'value'>) {
  return signature(key, topic, r).toString('hex');
}

function signature(
  key: string | KeyObject,
  topic: string,
  r: Pick<ReadingPayload, 'seq' | 'time' | 'type' | 'value'>,
) {
  return createHmac('sha256', key).update(signedText(topic, r)).digest();
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A hub's key: derived from the installation's secret, so Kiln can check signatures without storing keys. */
export function hubKey(secret: string, hubRef: string, version: number): string {
  return createHmac('sha256', secret).update(`wellbeing-hub:${hubRef}:${version}`).digest('base64url');
}

export interface Device {
  id: string;
  ref: string;
  homeId: string;
  homeRef: string;
  homeActive: boolean;
  role: 'hub' | 'sensor';
  kind: string;
  keyHash: string | null;
  keyVersion: number;
}

/** Devices by reference, cached briefly: every reading needs one, the registry rarely changes. */
export class DeviceDirectory {
  private readonly cache = new Map<string, { device: Device | null; until: number }>();
  constructor(
    private readonly db: () => Db,
    private readonly ttlMs = 30_000,
  ) {}

  /** Look-ups under way: when an entry expires under load, thousands of readings wait on one query. */
  private readonly loading = new Map<string, Promise<Device | null>>();

  get(ref: string): Promise<Device | null> {
    const hit = this.cache.get(ref);
    if (hit && hit.until > Date.now()) return Promise.resolve(hit.device);
    let load = this.loading.get(ref);
    if (!load) {
      load = this.load(ref).finally(() => this.loading.delete(ref));
      this.loading.set(ref, load);
    }
    return load;
  }

  private async load(ref: string): Promise<Device | null> {
    const row = await store.deviceByRef(this.db(), ref);
    const device: Device | null = row
      ? {
          id: row.id,
          ref: row.device_ref,
          homeId: row.home_id,
          homeRef: row.home_ref,
          homeActive: row.home_status !== 'closed',
          role: row.role,
          kind: row.kind,
          keyHash: row.key_hash,
          keyVersion: row.key_version,
        }
      : null;
    // Unknown devices are remembered for less time, so a newly installed one is soon heard.
    if (this.cache.size > 200_000) this.cache.clear();
    this.cache.set(ref, { device, until: Date.now() + (device ? this.ttlMs : 2000) });
    return device;
  }

  /** The cached device (null: known not to exist), or undefined when it must be looked up. */
  peek(ref: string): Device | null | undefined {
    const hit = this.cache.get(ref);
    return hit && hit.until > Date.now() ? hit.device : undefined;
  }

  forget(ref: string): void {
    this.cache.delete(ref);
  }
}

export const rejectionReasons = [
  'malformed',
  'schema',
  'unknown_device',
  'wrong_home',
  'bad_signature',
  'clock',
  'not_authorised',
] as const;
export type Rejection = (typeof rejectionReasons)[number];

export interface IngestMetrics {
  received: number;
  accepted: number;
  stored: number;
  duplicates: number;
  rejected: Record<Rejection, number>;
  buffered: number;
  bufferHighWater: number;
  heldBack: number;
  databaseErrors: number;
  batches: number;
  lastError: string | null;
}

export interface IngestOptions {
  db: () => Db;
  directory: DeviceDirectory;
  secret: string;
  maxBuffered: number;
  batchSize: number;
  flushMs: number;
  /** Called after each stored batch with the homes it touched and the latest reading time of each. */
  onStored?: (homes: Map<string, Date>) => void;
  now?: () => number;
}

type Row = store.EventRow & { battery: number | null };

export type AcceptResult = { ok: true } | { ok: false; reason: Rejection; detail: string };

const LATE_LIMIT_MS = 35 * 86_400_000;
const FUTURE_LIMIT_MS = 10 * 60_000;

export class Ingestor {
  readonly metrics: IngestMetrics = {
    received: 0,
    accepted: 0,
    stored: 0,
    duplicates: 0,
    rejected: Object.fromEntries(rejectionReasons.map((r) => [r, 0])) as Record<Rejection, number>,
    buffered: 0,
    bufferHighWater: 0,
    heldBack: 0,
    databaseErrors: 0,
    batches: 0,
    lastError: null,
  };
  private buffer: Row[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private waiters: Array<() => void> = [];
  private closed = false;
  private retryAt = 0;
  /** Hub keys by hub and key version: re-deriving one is an HMAC per reading, importing one a copy. */
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly options: IngestOptions) {}

  private hubKeyOf(hub: Device): KeyObject {
    const id = `${hub.ref}:${hub.keyVersion}`;
    let key = this.keys.get(id);
    if (!key) {
      if (this.keys.size > 100_000) this.keys.clear();
      key = createSecretKey(Buffer.from(hubKey(this.options.secret, hub.ref, hub.keyVersion)));
      this.keys.set(id, key);
    }
    return key;
  }

  private reject(reason: Rejection, detail: string): AcceptResult {
    this.metrics.rejected[reason]++;
    return { ok: false, reason, detail };
  }

  /**
   * Checks one reading published on a sensor's topic. `publisher` is the hub that authenticated
   * to Kiln's own broker; without one (a broker Kiln does not run) the reading must carry a valid
   * signature from a hub of the same home.
   */
  async accept(topic: string, raw: Buffer | string | unknown, publisher?: Device): Promise<AcceptResult> {
    return this.acceptNow(topic, raw, publisher);
  }

  /**
   * As `accept`, but answers at once (without a promise) when the devices it needs are in the
   * directory's cache, as they are for all but a home's first readings: the MQTT paths use this.
   */
  acceptNow(
    topic: string,
    raw: Buffer | string | unknown,
    publisher?: Device,
  ): AcceptResult | Promise<AcceptResult> {
    this.metrics.received++;
    const match = TOPIC.exec(topic);
    if (!match) return this.reject('wrong_home', `topic ${topic} is not a sensor topic`);
    let body: unknown = raw;
    if (typeof raw === 'string' || Buffer.isBuffer(raw)) {
      try {
        body = JSON.parse(raw.toString());
      } catch {
        return this.reject('malformed', 'payload is not JSON');
      }
    }
    let reading = readingIfValid(body);
    if (!reading) {
      const parsed = readingSchema.safeParse(body);
      if (!parsed.success) return this.reject('schema', parsed.error.issues[0]?.message ?? 'invalid');
      reading = parsed.data;
    }
    return this.check(topic, match[1]!, match[2]!, reading, publisher);
  }

  /** A batch from a hub over HTTP: each reading is checked as if published on its sensor's topic. */
  async acceptBatch(hub: Device, body: unknown) {
    const parsed = batchSchema.safeParse(body);
    if (!parsed.success) {
      this.metrics.received++;
      this.reject('schema', 'batch');
      return { ok: false as const, error: parsed.error };
    }
    const results: Array<{ index: number; reason: Rejection; detail: string }> = [];
    let accepted = 0;
    for (const [index, { sensor, ...reading }] of parsed.data.readings.entries()) {
      this.metrics.received++;
      const topic = `kiln/homes/${hub.homeRef}/sensors/${sensor}/events`;
      const result = await this.check(topic, hub.homeRef, sensor, reading, hub);
      if (result.ok) accepted++;
      else results.push({ index, reason: result.reason, detail: result.detail });
    }
    return { ok: true as const, accepted, rejected: results };
  }

  private check(
    topic: string,
    homeRef: string,
    sensorRef: string,
    r: ReadingPayload,
    publisher?: Device,
  ): AcceptResult | Promise<AcceptResult> {
    const { directory } = this.options;
    const sensor = directory.peek(sensorRef);
    const hub = publisher || !r.hub ? null : directory.peek(r.hub);
    if (sensor !== undefined && hub !== undefined)
      return this.decide(topic, homeRef, sensorRef, r, sensor, publisher, hub);
    return (async () => {
      const s = sensor === undefined ? await directory.get(sensorRef) : sensor;
      const h = hub === undefined ? await directory.get(r.hub!) : hub;
      return this.decide(topic, homeRef, sensorRef, r, s, publisher, h);
    })();
  }

  /** The checks, once the sensor (and, for a signed reading, its hub) are known. */
  private decide(
    topic: string,
    homeRef: string,
    sensorRef: string,
    r: ReadingPayload,
    sensor: Device | null,
    publisher: Device | undefined,
    hub: Device | null,
  ): AcceptResult {
    if (!sensor || !sensor.homeActive) return this.reject('unknown_device', `no device ${sensorRef}`);
    if (sensor.homeRef !== homeRef)
      return this.reject('wrong_home', `${sensorRef} is not in home ${homeRef}`);
    if (publisher) {
      if (publisher.homeId !== sensor.homeId || (publisher.role !== 'hub' && publisher.id !== sensor.id))
        return this.reject('wrong_home', `${publisher.ref} may not publish for ${sensorRef}`);
    } else {
      if (!r.hub || !r.sig) return this.reject('bad_signature', 'unsigned reading');
      if (!hub || hub.role !== 'hub' || hub.homeId !== sensor.homeId)
        return this.reject('wrong_home', `hub ${r.hub} is not in home ${homeRef}`);
      const expected = signature(this.hubKeyOf(hub), topic, r);
      if (!timingSafeEqual(expected, Buffer.from(r.sig, 'hex')))
        return this.reject('bad_signature', 'signature does not match');
    }
    const at = Date.parse(r.time);
    const now = this.options.now?.() ?? Date.now();
    if (at > now + FUTURE_LIMIT_MS || at < now - LATE_LIMIT_MS)
      return this.reject('clock', `reading time ${r.time} is too far from now`);
    this.metrics.accepted++;
    this.buffer.push({
      home_id: sensor.homeId,
      device_id: sensor.id,
      seq: r.seq,
      type: r.type,
      value: r.value,
      battery: r.battery ?? null,
      occurred_at: new Date(at),
    });
    this.metrics.buffered = this.buffer.length;
    if (this.buffer.length > this.metrics.bufferHighWater) this.metrics.bufferHighWater = this.buffer.length;
    if (this.buffer.length >= this.options.batchSize) this.kick();
    else this.schedule();
    return { ok: true };
  }

  /** Whether the buffer has room; senders that can wait should `await room()` first. */
  get full(): boolean {
    return this.buffer.length >= this.options.maxBuffered;
  }

  /** Resolves once the buffer has room again (at once if it has). */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    this.metrics.heldBack++;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private schedule() {
    if (this.timer || this.closed) return;
    const wait = Math.max(this.options.flushMs, this.retryAt - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, wait);
  }

  private kick() {
    if (this.flushing || Date.now() < this.retryAt) return this.schedule();
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      if (this.buffer.length) this.schedule();
    });
  }

  private async flushLoop() {
    while (this.buffer.length && Date.now() >= this.retryAt) {
      const batch = this.buffer.slice(0, this.options.batchSize);
      try {
        const db = this.options.db();
        const inserted = await store.insertEvents(db, batch);
        this.buffer.splice(0, batch.length);
        this.metrics.stored += inserted;
        this.metrics.duplicates += batch.length - inserted;
        this.metrics.batches++;
        this.metrics.buffered = this.buffer.length;
        this.release();
        const seen = new Map<string, { id: string; at: Date; battery: number | null }>();
        const homes = new Map<string, Date>();
        for (const row of batch) {
          const latest = homes.get(row.home_id);
          if (!latest || latest < row.occurred_at) homes.set(row.home_id, row.occurred_at);
          const prev = seen.get(row.device_id);
          if (!prev || prev.at < row.occurred_at)
            seen.set(row.device_id, {
              id: row.device_id,
              at: row.occurred_at,
              battery: row.battery ?? prev?.battery ?? null,
            });
        }
        await store.markDevicesSeen(db, [...seen.values()]).catch(() => {});
        this.options.onStored?.(homes);
      } catch (error) {
        // The database is unavailable: keep the batch and try again shortly.
        this.metrics.databaseErrors++;
        this.metrics.lastError = error instanceof Error ? error.message : String(error);
        this.retryAt = Date.now() + 1000;
        return;
      }
    }
  }

  private release() {
    while (this.waiters.length && !this.full) this.waiters.shift()!();
  }

  /** Writes everything buffered (retrying while the database is down, up to `ms`). */
  async drain(ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.buffer.length && Date.now() < deadline) {
      if (this.flushing) await this.flushing;
      else if (Date.now() >= this.retryAt) this.kick();
      else await new Promise((r) => setTimeout(r, 50));
    }
    if (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    await this.drain(10_000);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.release();
  }
}
