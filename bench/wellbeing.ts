// Wellbeing benchmark: sustained sensor readings over MQTT into PostgreSQL, and the time from the
// last reading of an anomaly to its alert, with Kiln's own broker (aedes) and with Mosquitto.
//
//   node --import tsx bench/wellbeing.ts
//
// Kiln runs in this process on a scratch database on the PostgreSQL server (BENCH_DATABASE_URL,
// default postgres://postgres@127.0.0.1:5432/postgres); hubs publish from child processes (QoS 1),
// each counting the readings its broker acknowledged. Count in = count stored is checked after,
// and Mosquitto's own count of dropped messages with it. CPU per stored reading is the Kiln
// process's own (user + system, this process; with aedes that includes the broker), so a figure
// taken on a busy machine can still be judged.
//   BENCH_WELLBEING_RATE      target readings a second, all hubs together (default 20000)
//   BENCH_WELLBEING_SECONDS   how long (default 60)
//   BENCH_WELLBEING_HOMES     homes, one hub each (default 200)
//   BENCH_WELLBEING_PUBLISHERS  publishing processes (default 2)
//   BENCH_WELLBEING_MOSQUITTO  "own" (default): start /usr/sbin/mosquitto with deploy/mosquitto/kiln.conf
//                              on a free port (persistence in a scratch directory); a URL: use that
//                              broker as it is configured; "off": aedes only
//   BENCH_WELLBEING_BROKERS   which to run, default "aedes,mosquitto"
//   BENCH_WELLBEING_PROFILE   1: CPU profile of the Kiln process while hubs publish, summarised
import { fork, spawn } from 'node:child_process';
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createApp, type Kiln } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { sign, signedText } from '../src/modules/wellbeing/ingest.ts';
import { seedDemoData } from '../src/seed/index.ts';
import { describeMachine, postgresVersion } from './support/machine.ts';
import { createScratchDatabase, queryOnce } from './support/postgres.ts';
import { cpuSeconds, freePort, rootDir, sleep } from './support/processes.ts';
import { summariseProfile } from './support/profile-summary.ts';
import { printTable } from './support/report.ts';

const KILN_CONF = 'deploy/mosquitto/kiln.conf';

interface Mosquitto {
  url: string;
  pid: number | null;
  /** Which configuration, for the table. */
  config: string;
  /** Lines of its log saying it dropped messages for a subscriber (own broker only). */
  droppedLogLines(): number;
  stop(): Promise<void>;
}

/**
 * A Mosquitto just for this run, with the configuration Kiln ships (deploy/mosquitto/kiln.conf) as
 * it is, except that it keeps its persistence file and log in a scratch directory.
 */
async function startMosquitto(): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-mosquitto-'));
  // Mosquitto started as root runs as the mosquitto user and must write its persistence file here.
  chmodSync(dir, 0o777);
  const shipped = readFileSync(join(rootDir, KILN_CONF), 'utf8');
  if (!/^persistence_location /m.test(shipped)) throw new Error(`${KILN_CONF} has no persistence_location`);
  const conf = shipped.replace(/^persistence_location .*$/m, `persistence_location ${dir}/`);
  const log = join(dir, 'mosquitto.log');
  writeFileSync(join(dir, 'mosquitto.conf'), `${conf}\nlog_dest file ${log}\nlog_type all\n`);
  const port = await freePort();
  const child = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf'), '-p', String(port)], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const probe = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1000 });
      await probe.endAsync();
      break;
    } catch (error) {
      if (i > 50 || child.exitCode !== null) throw error;
      await sleep(100);
    }
  }
  const logText = () => {
    try {
      return readFileSync(log, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    url,
    pid: child.pid ?? null,
    config: `${KILN_CONF}, port ${port}`,
    droppedLogLines: () =>
      logText()
        .split('\n')
        .filter((l) => l.includes('being dropped')).length,
    async stop() {
      // What the broker said about Kiln's subscription's connections (not each reading).
      const about = logText()
        .split('\n')
        .filter((l) => /kiln-wellbeing/.test(l) && !/(Sending|Received) (PUBLISH|PUBACK)/.test(l));
      if (about.length)
        console.log(`Mosquitto's log on Kiln's subscription:\n${about.slice(0, 20).join('\n')}`);
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Mosquitto's broker-wide count of dropped messages ($SYS), read once. */
async function mosquittoDropped(url: string): Promise<number | null> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    const got = new Promise<number>((ok) =>
      client.on('message', (_t, payload) => ok(Number(payload.toString()))),
    );
    await client.subscribeAsync('$SYS/broker/publish/messages/dropped', { qos: 0 });
    // Mosquitto publishes $SYS figures every sys_interval (10 s by default).
    return await Promise.race([got, sleep(12_000).then(() => null)]);
  } finally {
    await client.endAsync();
  }
}

interface Hub {
  homeRef: string;
  hubRef: string;
  key: string;
  sensors: string[];
}

interface PublisherTask {
  url: string;
  signed: boolean;
  hubs: Hub[];
  rate: number;
  seconds: number;
}

/**
 * A hub's MQTT 3.1.1 connection, written by hand: CONNECT, QoS 1 PUBLISH and the broker's PUBACKs,
 * nothing else. The simulated hubs share this machine with Kiln, the broker and PostgreSQL, so they
 * should cost as little CPU as possible (mqtt.js costs several times more per message); each
 * reading still counts as delivered only when the broker's PUBACK for its message id comes back.
 */
class HubConnection {
  acked = 0;
  /** Readings unacknowledged when the broker closed the connection. */
  lost = 0;
  closed = false;
  private nextId = 1;
  private readonly waiting = new Set<number>();
  private buffered = Buffer.alloc(0);
  private connected: ((rc: number) => void) | null = null;
  private constructor(private readonly socket: Socket) {}

  static async open(url: string, clientId: string, username?: string, password?: string) {
    const u = new URL(url);
    const socket = netConnect(Number(u.port || 1883), u.hostname);
    await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
    socket.setNoDelay(true);
    const hub = new HubConnection(socket);
    socket.on('data', (chunk: Buffer) => hub.read(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      hub.closed = true;
      hub.lost += hub.waiting.size;
      hub.waiting.clear();
    });
    const str = (t: string) => {
      const b = Buffer.from(t);
      return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
    };
    const flags = 0x02 | (username ? 0x80 : 0) | (password ? 0x40 : 0); // clean session
    const body = Buffer.concat([
      str('MQTT'),
      Buffer.from([4, flags, 0, 0]), // protocol level 4 (3.1.1), keep-alive off
      str(clientId),
      ...(username ? [str(username)] : []),
      ...(password ? [str(password)] : []),
    ]);
    const rc = await new Promise<number>((ok) => {
      hub.connected = ok;
      socket.write(Buffer.concat([Buffer.from([0x10]), varint(body.length), body]));
    });
    if (rc !== 0) throw new Error(`broker refused the hub's connection (${rc})`);
    return hub;
  }

  get inflight() {
    return this.waiting.size;
  }

  publish(topic: string, payload: string) {
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    const t = Buffer.byteLength(topic);
    const p = Buffer.byteLength(payload);
    const length = 2 + t + 2 + p;
    const head = varint(length);
    const packet = Buffer.allocUnsafe(1 + head.length + length);
    packet[0] = 0x32; // PUBLISH, QoS 1
    head.copy(packet, 1);
    let at = 1 + head.length;
    packet.writeUInt16BE(t, at);
    at += 2 + packet.write(topic, at + 2);
    packet.writeUInt16BE(id, at);
    packet.write(payload, at + 2);
    this.waiting.add(id);
    this.socket.write(packet);
  }

  cork() {
    this.socket.cork();
  }

  uncork() {
    this.socket.uncork();
  }

  private read(chunk: Buffer) {
    let buf = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      if (buf.length < 2) break;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (; i < buf.length; i++) {
        length += (buf[i]! & 127) * multiplier;
        multiplier *= 128;
        if (!(buf[i]! & 128)) break;
      }
      if (i >= buf.length || buf.length < i + 1 + length) break;
      const type = buf[0]! >> 4;
      const body = buf.subarray(i + 1, i + 1 + length);
      if (type === 2) this.connected?.(body[1]!); // CONNACK
      if (type === 4 && this.waiting.delete(body.readUInt16BE(0))) this.acked++; // PUBACK
      buf = buf.subarray(i + 1 + length);
    }
    this.buffered = Buffer.from(buf);
  }

  async close() {
    this.socket.end(Buffer.from([0xe0, 0])); // DISCONNECT
    await new Promise<void>((ok) => this.socket.once('close', () => ok()));
  }
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 128;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

// A child process: connects its hubs and publishes at its share of the rate.
async function publisher(task: PublisherTask) {
  const clients = await Promise.all(
    task.hubs.map((h) =>
      HubConnection.open(
        task.url,
        `bench-${h.hubRef}-${randomBytes(3).toString('hex')}`,
        task.signed ? undefined : h.hubRef,
        task.signed ? undefined : h.key,
      ),
    ),
  );
  const inflight = () => clients.reduce((n, c) => n + c.inflight, 0);
  const seqs = new Map<string, number>();
  // A hub holds its key, not the text of it: imported once, not for every reading it signs.
  const keys = task.hubs.map((hub) => createSecretKey(Buffer.from(hub.key)));
  let sent = 0;
  const started = Date.now();
  const tickMs = 20;
  // Readings due by now at the target rate: the pace is kept by the clock, so time spent in a
  // tick or a late timer does not lower the rate offered (counting ticks did).
  let attempted = 0;
  let h = 0;
  const cpuBefore = process.cpuUsage();
  while (Date.now() - started < task.seconds * 1000) {
    const due = Math.floor((task.rate * (Date.now() - started)) / 1000);
    // Readings of one tick share a time (20 ms apart at most): one date to format, not thousands.
    const time = new Date().toISOString();
    for (const c of clients) c.cork();
    while (attempted < due) {
      attempted++;
      const i = h % task.hubs.length;
      const hub = task.hubs[i]!;
      const client = clients[h % clients.length]!;
      h++;
      if (client.closed) continue; // the broker closed it: counted below
      const sensor = hub.sensors[h % hub.sensors.length]!;
      const seq = (seqs.get(sensor) ?? 0) + 1;
      seqs.set(sensor, seq);
      const topic = `kiln/homes/${hub.homeRef}/sensors/${sensor}/events`;
      // What JSON.stringify makes of { seq, time, type, value[, hub, sig] }, without the objects.
      const reading = `"seq":${seq},"time":"${time}","type":"motion","value":1`;
      const body = task.signed
        ? `{${reading},"hub":"${hub.hubRef}","sig":"${createHmac('sha256', keys[i]!)
            .update(signedText(topic, { seq, time, type: 'motion', value: 1 }))
            .digest('hex')}"}`
        : `{${reading}}`;
      sent++;
      client.publish(topic, body);
    }
    for (const c of clients) c.uncork();
    // Never more than a second's worth waiting for acknowledgement: the broker sets the pace
    // (for up to a minute without any acknowledgement).
    for (let waited = 0; inflight() > task.rate && waited < 60_000; waited += 5) await sleep(5);
    await sleep(tickMs);
  }
  // Every reading acknowledged (or a minute without progress: the rest count as failed).
  let last = -1;
  let still = Date.now();
  while (inflight() > 0 && Date.now() - still < 60_000) {
    const now = inflight();
    if (now !== last) {
      last = now;
      still = Date.now();
    }
    await sleep(20);
  }
  const seconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const acked = clients.reduce((n, c) => n + c.acked, 0);
  const closedByBroker = clients.filter((c) => c.closed).length;
  await Promise.all(clients.filter((c) => !c.closed).map((c) => c.close()));
  process.send!({
    sent,
    acked,
    failed: sent - acked,
    closedByBroker,
    seconds,
    cpuMicros: cpu.user + cpu.system,
  });
}

async function run(mode: 'aedes' | 'mosquitto', broker: Mosquitto | null) {
  const server = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const rate = Number(process.env.BENCH_WELLBEING_RATE ?? 20_000);
  const seconds = Number(process.env.BENCH_WELLBEING_SECONDS ?? 60);
  const homes = Number(process.env.BENCH_WELLBEING_HOMES ?? 200);
  const publishers = Number(process.env.BENCH_WELLBEING_PUBLISHERS ?? 2);
  const scratch = await createScratchDatabase(server);
  if (mode === 'mosquitto') process.env.MQTT_URL = broker!.url;
  else delete process.env.MQTT_URL;
  process.env.MQTT_BROKER_PORT = '0';
  let kiln: Kiln | null = null;
  try {
    kiln = await createApp({
      config: loadConfig({
        NODE_ENV: 'production',
        SESSION_SECRET: randomBytes(24).toString('hex'),
        DATABASE_URL: scratch.url,
        DATABASE_POOL_SIZE: '10',
        LOG_LEVEL: 'warn',
        PUBLIC_URL: 'http://localhost:3000',
      }),
    });
    await seedDemoData(kiln);
    const w = kiln.services.wellbeing;
    const tech = await kiln.platform.db
      .selectFrom('staff_users')
      .select('id')
      .where('email', '=', 'technician@kilnford.example')
      .executeTakeFirstOrThrow();
    const hubs: Hub[] = [];
    for (let i = 0; i < homes; i++) {
      const { home, hub, key, refs } = await w.installSimulatedHome(
        'CU-DEMO-01',
        `${i} Bench Road`,
        tech.id as string,
      );
      hubs.push({
        homeRef: home.reference,
        hubRef: hub.device_ref,
        key,
        sensors: [...refs.entries()].filter(([k]) => k.endsWith('motion')).map(([, v]) => v),
      });
    }
    const url = mode === 'mosquitto' ? broker!.url : `mqtt://127.0.0.1:${w.mqtt()!.port}`;
    // A broker started for this run has dropped nothing yet, though it publishes its $SYS count
    // only after its first 10 s; a broker that was already running is read.
    const droppedBefore =
      mode !== 'mosquitto' ? null : broker!.pid !== null ? 0 : await mosquittoDropped(url);
    const profiling = process.env.BENCH_WELLBEING_PROFILE === '1';
    const session = profiling ? new Session() : null;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
    }
    const cpuBefore = process.cpuUsage();
    const brokerCpuBefore = broker?.pid && mode === 'mosquitto' ? cpuSeconds(broker.pid) : 0;
    const self = fileURLToPath(import.meta.url);
    const before = Number(
      (await queryOnce<{ n: string }>(scratch.url, 'select count(*) as n from wellbeing_events'))[0]!.n,
    );
    const results = await Promise.all(
      Array.from({ length: publishers }, (_, p) => {
        const child = fork(self, ['--publisher'], { execArgv: ['--import', 'tsx'] });
        const task: PublisherTask = {
          url,
          signed: mode === 'mosquitto',
          hubs: hubs.filter((_, i) => i % publishers === p),
          rate: rate / publishers,
          seconds,
        };
        child.send(task);
        return new Promise<{
          sent: number;
          acked: number;
          failed: number;
          seconds: number;
          cpuMicros: number;
          closedByBroker: number;
        }>((resolve, reject) => {
          child.once('message', (m) => resolve(m as never));
          child.once('error', reject);
          child.once('exit', (code) => reject(new Error(`a publisher exited (${code}) without its figures`)));
        });
      }),
    );
    // Rates count from when the hubs started publishing (not the publishers' own start-up).
    const publishedIn = Math.max(...results.map((r) => r.seconds));
    const publishersEnded = Date.now();
    // Wait until storage has caught up, or has stopped moving for 15 s (a broker may still hold a
    // backlog for Kiln when the hubs stop; a moment without progress is not a loss).
    let stored = 0;
    let last = -1;
    let movedAt = Date.now();
    const acked = results.reduce((a, r) => a + r.acked, 0);
    while (Date.now() - publishersEnded < 15 * 60_000) {
      await w.ingestor.drain(5000);
      stored =
        Number(
          (await queryOnce<{ n: string }>(scratch.url, 'select count(*) as n from wellbeing_events'))[0]!.n,
        ) - before;
      if (stored !== last) movedAt = Date.now();
      if (stored >= acked || (Date.now() - movedAt > 15_000 && w.ingestor.metrics.buffered === 0)) break;
      last = stored;
      await new Promise((r) => setTimeout(r, 250));
    }
    const storedIn = publishedIn + (Date.now() - publishersEnded) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const brokerCpu = broker?.pid && mode === 'mosquitto' ? cpuSeconds(broker.pid) - brokerCpuBefore : null;
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      const file = join(tmpdir(), `kiln-bench-wellbeing-${mode}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      console.log(`\nCPU profile of the Kiln process, ${mode}, while hubs published: ${file}`);
      summariseProfile(file, undefined, 30);
    }
    const droppedAfter = mode === 'mosquitto' ? await mosquittoDropped(url) : null;
    const subscription = w.mqtt()?.status();

    // Alert latency: a cold home (readings below 16°C for two hours, sent late, the last one now),
    // from the last reading's acknowledgement to the alert in the queue. Some homes, one at a time.
    const latencies: number[] = [];
    const probes = Math.min(10, hubs.length);
    for (let i = 0; i < probes; i++) {
      const hub = hubs[i]!;
      const client = await mqtt.connectAsync(url, {
        ...(mode === 'mosquitto' ? {} : { username: hub.hubRef, password: hub.key }),
        reconnectPeriod: 0,
      });
      const home = await w.service.home(hub.homeRef);
      const thermometer = (await w.service.devices(home.id)).find(
        (d) => d.kind === 'temperature',
      )!.device_ref;
      const topic = `kiln/homes/${hub.homeRef}/sensors/${thermometer}/events`;
      let sentAt = 0;
      for (let k = 0; k <= 5; k++) {
        const reading = {
          seq: 1_000_000 + k,
          time: new Date(Date.now() - (5 - k) * 25 * 60_000).toISOString(),
          type: 'temperature' as const,
          value: 13.5,
        };
        const body =
          mode === 'mosquitto'
            ? { ...reading, hub: hub.hubRef, sig: sign(hub.key, topic, reading) }
            : reading;
        await client.publishAsync(topic, JSON.stringify(body), { qos: 1 });
        sentAt = performance.now();
      }
      await client.endAsync();
      const deadline = Date.now() + 30_000;
      for (;;) {
        const row = await kiln.platform.db
          .selectFrom('wellbeing_alerts')
          .select('id')
          .where('home_id', '=', home.id)
          .where('type', '=', 'cold_home')
          .executeTakeFirst();
        if (row) {
          latencies.push(performance.now() - sentAt);
          break;
        }
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    latencies.sort((a, b) => a - b);
    const sent = results.reduce((a, r) => a + r.sent, 0);
    return {
      mode,
      targetRate: rate,
      seconds,
      homes,
      sent,
      acked,
      stored,
      lost: acked - stored,
      failed: results.reduce((a, r) => a + r.failed, 0),
      closedByBroker: results.reduce((a, r) => a + r.closedByBroker, 0),
      reconnects: subscription?.reconnects ?? 0,
      lastDisconnect: subscription?.lastDisconnect ?? null,
      brokerDropped: droppedAfter === null || droppedBefore === null ? null : droppedAfter - droppedBefore,
      droppedLogLines: mode === 'mosquitto' ? (broker?.droppedLogLines() ?? null) : null,
      config: mode === 'mosquitto' ? broker!.config : 'in-process (aedes)',
      hubsCpuUsPerEvent: acked ? Math.round(results.reduce((a, r) => a + r.cpuMicros, 0) / acked) : null,
      kilnCpuUsPerEvent: stored ? Math.round((cpu.user + cpu.system) / stored) : null,
      brokerCpuUsPerEvent: brokerCpu !== null && stored ? Math.round((brokerCpu * 1e6) / stored) : null,
      publishRate: Math.round(acked / publishedIn),
      storeRate: Math.round(stored / storedIn),
      bufferHighWater: w.ingestor.metrics.bufferHighWater,
      rejected: Object.values(w.ingestor.metrics.rejected).reduce((a, b) => a + b, 0),
      alertP50Ms: latencies.length ? Math.round(latencies[Math.floor((latencies.length - 1) / 2)]!) : null,
      alertMaxMs: latencies.length ? Math.round(latencies[latencies.length - 1]!) : null,
      alertsSeen: `${latencies.length}/${probes}`,
    };
  } finally {
    await kiln?.close();
    await scratch.drop();
  }
}

if (process.argv.includes('--publisher')) {
  process.once('message', (task) => {
    publisher(task as PublisherTask).then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
} else {
  const choice = process.env.BENCH_WELLBEING_MOSQUITTO ?? 'own';
  const brokers = (process.env.BENCH_WELLBEING_BROKERS ?? 'aedes,mosquitto').split(',').map((b) => b.trim());
  const server = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const rows = [];
  if (brokers.includes('aedes')) rows.push(await run('aedes', null));
  if (choice !== 'off' && brokers.includes('mosquitto')) {
    const broker: Mosquitto =
      choice === 'own'
        ? await startMosquitto()
        : {
            url: choice,
            pid: null,
            config: `${choice} as configured there`,
            droppedLogLines: () => 0,
            stop: async () => {},
          };
    try {
      rows.push(await run('mosquitto', broker));
    } finally {
      await broker.stop();
    }
  }
  printTable(
    'Wellbeing: readings over MQTT (QoS 1) into PostgreSQL, and the alert after the last reading of a cold spell',
    [
      'broker',
      'target/s',
      'seconds',
      'acked',
      'stored',
      'lost',
      'broker dropped',
      'acked/s',
      'stored/s',
      'Kiln CPU µs/reading',
      'broker CPU µs/reading',
      'hubs CPU µs/reading',
      'buffer max',
      'alert p50 ms',
      'alert max ms',
      'alerts',
    ],
    rows.map((r) => [
      r.mode,
      r.targetRate,
      r.seconds,
      r.acked,
      r.stored,
      r.lost,
      r.brokerDropped ?? '-',
      r.publishRate,
      r.storeRate,
      r.kilnCpuUsPerEvent ?? '-',
      r.brokerCpuUsPerEvent ?? '-',
      r.hubsCpuUsPerEvent ?? '-',
      r.bufferHighWater,
      r.alertP50Ms ?? '-',
      r.alertMaxMs ?? '-',
      r.alertsSeen,
    ]),
  );
  for (const r of rows) {
    console.log(
      `${r.mode}: broker configuration ${r.config}` +
        (r.droppedLogLines ? `; its log says messages were dropped (${r.droppedLogLines} lines)` : '') +
        (r.lost === 0 ? '; count in = count stored' : `; ${r.lost} LOST (acknowledged, not stored)`) +
        (r.failed ? `; ${r.failed} sent but not acknowledged` : '') +
        (r.closedByBroker ? `; the broker closed ${r.closedByBroker} hub connections` : '') +
        (r.reconnects
          ? `; Kiln's subscription reconnected ${r.reconnects} times (last: ${r.lastDisconnect})`
          : ''),
    );
  }
  console.log(
    '\nMachine:',
    JSON.stringify({ ...describeMachine(), postgres: await postgresVersion(server) }),
  );
  process.exit(rows.some((r) => r.lost !== 0) ? 1 : 0);
}
