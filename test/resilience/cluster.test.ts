import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { freePort, sleep } from '../../bench/support/processes.ts';
import { createApiKey } from '../../src/platform/auth/api-keys.ts';
import { openDatabase } from '../../src/platform/db/index.ts';

// Kiln as a small cluster under load and faults: two `kiln web` and one `kiln worker` on a private
// PostgreSQL cluster (started here, so it can be stopped without touching the machine's shared
// server). A fixed-rate mixed workload runs for LOAD_SECONDS (60) cleanly, then again while a web
// process and the worker are killed with SIGKILL and PostgreSQL is stopped and started. Every write
// acknowledged to a client must be in the database afterwards, no email sent twice, no payment
// taken twice; while the database is away Kiln answers 503 and it recovers by itself.

const root = resolve(import.meta.dirname, '../..');
const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const RATE = Number(process.env.LOAD_RATE ?? 50);
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const SESSION_SECRET = randomBytes(24).toString('hex');

// ---- a private PostgreSQL cluster -------------------------------------------------------------

class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'kiln-pg-'));
  port = 0;
  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/kiln`;
  }
  private pgctl(...args: string[]) {
    const r = spawnSync(
      'runuser',
      ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', join(this.dir, 'data'), ...args],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`pg_ctl ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  }
  async init() {
    this.port = await freePort();
    chownSync(this.dir, uidOf('postgres'), gidOf('postgres'));
    chmodSync(this.dir, 0o700);
    const r = spawnSync(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        join(PG_BIN, 'initdb'),
        '-D',
        join(this.dir, 'data'),
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stdout}${r.stderr}`);
    this.start();
    const c = new pg.Client({ connectionString: this.url.replace(/\/kiln$/, '/postgres') });
    await c.connect();
    await c.query('create database kiln');
    await c.end();
  }
  start() {
    this.pgctl(
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
      '-l',
      join(this.dir, 'log'),
      '-w',
      'start',
    );
  }
  stop() {
    this.pgctl('-m', 'fast', '-w', 'stop');
  }
  async destroy() {
    try {
      this.stop();
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function uidOf(user: string): number {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}
function gidOf(user: string): number {
  return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
}

// ---- Kiln processes ---------------------------------------------------------------------------

interface KilnProcess {
  name: string;
  port: number;
  child: ChildProcess;
  output: () => string;
}

/** Processes that stopped without being told to. */
const unexpectedExits: string[] = [];

/** What the run measured and saw, printed at the end. */
const figures: string[] = [];

const dataDir = mkdtempSync(join(tmpdir(), 'kiln-cluster-data-'));

function kilnEnv(database: PrivatePostgres): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '8',
    DATA_DIR: dataDir,
    SESSION_SECRET,
    PUBLIC_URL: 'http://localhost:3000',
    LOG_LEVEL: 'warn',
    SEED_DEMO_DATA: 'true',
    // One client machine sends the whole workload: per-address limits would refuse most of it.
    RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
    RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '100000',
    RATE_LIMIT_API_PER_MINUTE: '100000',
    HOST: '127.0.0.1',
  };
  return env;
}

async function runMigrate(database: PrivatePostgres): Promise<void> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], {
    cwd: root,
    env: kilnEnv(database),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`kiln migrate failed: ${r.stdout}${r.stderr}`);
}

async function startKiln(
  kind: 'web' | 'worker',
  name: string,
  database: PrivatePostgres,
  port?: number,
): Promise<KilnProcess> {
  const p = port ?? (await freePort());
  const env: NodeJS.ProcessEnv = { ...kilnEnv(database), PORT: String(p), SEED_DEMO_DATA: 'false' };
  if (kind === 'worker') env.WORKER_HEALTH_PORT = String(p);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', kind], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-6000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', (code, signal) => {
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM' && code !== 0) {
      unexpectedExits.push(`${name} (code ${code})`);
      figures.push(`${name} exited by itself (code ${code}, signal ${signal}):\n${tail.slice(-3000)}`);
    }
  });
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited while starting:\n${tail}`);
    if (Date.now() > deadline) throw new Error(`${name} did not become ready:\n${tail}`);
    try {
      const r = await fetch(`http://127.0.0.1:${p}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  return { name, port: p, child, output: () => tail };
}

function kill9(p: KilnProcess): Promise<void> {
  return new Promise((ok) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return ok();
    p.child.once('exit', () => ok());
    p.child.kill('SIGKILL');
  });
}

async function stopKiln(p: KilnProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((ok) => p.child.once('exit', ok));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

// ---- an HTTP client with cookies, behind a load balancer of the web processes ------------------

const webs: KilnProcess[] = [];
let nextWeb = 0;

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  url: string;
}

interface Stats {
  latencies: number[];
  statuses: Map<string, number>;
  started: number;
  finished: number;
  samples: string[];
}
let stats: Stats;
function newStats(): Stats {
  return { latencies: [], statuses: new Map(), started: performance.now(), finished: 0, samples: [] };
}

/**
 * Sends one request to a web process, round robin. A connection refused (a killed process) is
 * sent to the other, as a load balancer's health check would; nothing was sent, so that is safe.
 */
async function request(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const t0 = performance.now();
  let lastError: unknown;
  const first = nextWeb++;
  for (let attempt = 0; attempt < webs.length; attempt++) {
    const web = webs[(first + attempt) % webs.length]!;
    try {
      const r = await fetch(`http://127.0.0.1:${web.port}${path}`, {
        method,
        headers: init.headers,
        body: init.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(15_000),
      });
      const body = await r.text();
      stats.latencies.push(performance.now() - t0);
      const key = String(r.status);
      if (r.status >= 500 && r.status !== 503 && stats.samples.length < 8) {
        stats.samples.push(`${method} ${path}: ${r.status} ${body.slice(0, 160).replace(/\s+/g, ' ')}`);
      }
      stats.statuses.set(key, (stats.statuses.get(key) ?? 0) + 1);
      stats.finished = performance.now();
      return { status: r.status, headers: r.headers, body, url: path };
    } catch (error) {
      lastError = error;
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code !== 'ECONNREFUSED') break;
    }
  }
  stats.statuses.set('error', (stats.statuses.get('error') ?? 0) + 1);
  const e = lastError as { message?: string; cause?: { code?: string; message?: string } };
  if (stats.samples.length < 5)
    stats.samples.push(`${method} ${path}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  throw lastError;
}

class Browser {
  private cookies = new Map<string, string>();
  private csrf = '';
  async get(path: string): Promise<Answer> {
    return this.keep(await request('GET', path, { headers: { cookie: this.cookieHeader() } }));
  }
  async post(path: string, fields: Record<string, string>): Promise<Answer> {
    const body = new URLSearchParams({ _csrf: this.csrf, ...fields }).toString();
    return this.keep(
      await request('POST', path, {
        headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        body,
      }),
    );
  }
  async follow(answer: Answer): Promise<Answer> {
    let a = answer;
    for (let i = 0; i < 5 && a.status >= 300 && a.status < 400; i++) {
      // Kiln's own absolute addresses (PUBLIC_URL) lead back to whichever web process is up.
      const location = new URL(a.headers.get('location')!, 'http://localhost:3000');
      a = await this.get(`${location.pathname}${location.search}`);
    }
    return a;
  }
  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  private keep(a: Answer): Answer {
    for (const c of a.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(a.body)?.[1];
    if (token) this.csrf = token;
    return a;
  }
}

// ---- the workload -----------------------------------------------------------------------------

interface Acknowledged {
  open311: string[];
  paidCases: Array<{ reference: string; email: string }>;
  bookings: string[];
  /** Addresses of acknowledged requests, whose emails are counted. */
  emails: string[];
}
let acked: Acknowledged;
let apiKey = '';
let residents: Browser[] = [];
let ops = 0;
let opFailures = 0;
let opSamples: string[] = [];
/** Names the current run in email addresses, so the two runs' messages are told apart. */
let phase = 'load';
let loadStarted = new Date();

const pages = [
  '/',
  '/services',
  '/services/join-the-library/questions/name',
  '/reports',
  '/planning/register',
  '/book',
];

async function pageView(i: number) {
  const a = await request('GET', pages[i % pages.length]!);
  if (a.status !== 200 && a.status !== 303) throw new Error(`page ${a.status}`);
}

async function open311(i: number) {
  const body = new URLSearchParams({
    api_key: apiKey,
    service_code: 'pothole',
    lat: (52.94 + (i % 50) / 10_000).toFixed(5),
    long: '-2.1562',
    'attribute[size]': 'medium',
    'attribute[depth]': 'shallow',
    'attribute[surface]': 'road',
    description: `Pothole ${i} under load`,
    email: `open311-${i}-${phase}@example.org`,
  }).toString();
  const a = await request('POST', '/open311/v2/requests.json', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  if (a.status !== 200 && a.status !== 201) throw new Error(`open311 ${a.status}`);
  const id = (JSON.parse(a.body) as Array<{ service_request_id: string }>)[0]!.service_request_id;
  acked.open311.push(id);
  acked.emails.push(`open311-${i}-${phase}@example.org`);
}

const garden = '/services/apply-for-a-garden-waste-permit';
async function answer(b: Browser, path: string, fields: Record<string, string>): Promise<string> {
  await b.get(path);
  const a = await b.post(path, fields);
  if (a.status !== 303) throw new Error(`${path} answered ${a.status}`);
  return a.headers.get('location')!;
}

/** A resident's paid request through the form: address, questions, check, card payment. */
async function paidRequest(i: number) {
  const b = new Browser();
  const email = `gardener-${i}-${randomBytes(3).toString('hex')}@example.org`;
  await b.get(`${garden}/start`);
  const address = `${garden}/questions/address?lookup=KF1%203CD`;
  const list = await b.get(address);
  const uprn = /name="address-uprn" type="radio" value="(\d+)"/.exec(list.body)?.[1];
  if (!uprn) throw new Error(`no address to choose (${list.status})`);
  let next = await answer(b, address, { mode: 'select', lookup: 'KF1 3CD', 'address-uprn': uprn });
  next = await answer(b, next, { bins: '1' });
  next = await answer(b, next, { 'council-tax-reduction': 'no' });
  next = await answer(b, next, { email });
  const check = await b.get(next);
  const key = /name="key" value="([^"]+)"/.exec(check.body)?.[1];
  if (!key) throw new Error('no key on the check page');
  const sent = await b.post(next, { key });
  if (sent.status !== 303) throw new Error(`check answered ${sent.status}`);
  const cardPage = sent.headers.get('location')!;
  await b.get(cardPage);
  const card = {
    cardNumber: '4444333322221111',
    expiryMonth: '12',
    expiryYear: '2031',
    cardholderName: 'R Gardener',
    cvc: '123',
  };
  let paid = await b.post(cardPage, card);
  // Every fourth resident presses Pay twice.
  if (i % 4 === 0) paid = await b.post(cardPage, card);
  const done = await b.follow(paid);
  if (done.status !== 200 || !/You paid £/.test(done.body))
    throw new Error(`payment ended with ${done.status}`);
  const reference = /\/confirmation\/(KLN-[\w-]+)/.exec(done.url)?.[1];
  if (!reference) throw new Error('no reference on the confirmation');
  acked.paidCases.push({ reference, email });
  acked.emails.push(email);
}

async function signIn(email: string, database: PrivatePostgres): Promise<Browser> {
  const b = new Browser();
  await b.get('/sign-in');
  await b.post('/sign-in', { email });
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  let token: string | undefined;
  for (let i = 0; i < 50 && !token; i++) {
    const { rows } = await c.query<{ body: string }>(
      'select body from notifications where recipient = $1 order by created_at desc limit 1',
      [email],
    );
    token = /\/sign-in\/link\?token=([\w-]+)/.exec(rows[0]?.body ?? '')?.[1];
    if (!token) await sleep(100);
  }
  await c.end();
  if (!token) throw new Error(`no sign-in link for ${email}`);
  await b.get(`/sign-in/link?token=${token}`);
  const a = await b.post('/sign-in/link', { token });
  if (a.status !== 303) throw new Error(`sign-in answered ${a.status}`);
  return b;
}

const bookables = ['central-library-pc', 'wharf-library-pc'];
let bookingsTried = 0;
async function booking(i: number) {
  // Each booking by the next resident in turn, at each library in turn: each resident may hold two
  // future bookings of a computer, so a few residents booking again and again would meet that limit.
  const n = bookingsTried++;
  const b = residents[n % residents.length]!;
  const slug = bookables[Math.floor(n / residents.length) % bookables.length]!;
  // A day from two to three weeks ahead; where the library is closed that day, the next one it opens.
  let day = '';
  let offered: string[] = [];
  let status = 0;
  for (
    let ahead = 2 + (Math.floor(i / RATE) % 20), tries = 0;
    offered.length === 0 && tries < 7;
    ahead++, tries++
  ) {
    day = new Date(Date.now() + ahead * 86_400_000).toISOString().slice(0, 10);
    const page = await b.get(`/book/${slug}?date=${day}`);
    status = page.status;
    offered = [...page.body.matchAll(/<input[^>]*name="startsAt"[^>]*value="([^"]+)"/g)].map((m) => m[1]!);
  }
  if (offered.length === 0) throw new Error(`no times offered on ${day} (${status})`);
  const booked = await b.post(`/book/${slug}`, {
    startsAt: offered[Math.floor(Math.random() * offered.length)]!,
  });
  if (booked.status !== 303) {
    const said = /govuk-error-summary__list[\s\S]*?<a[^>]*>([^<]+)</.exec(booked.body)?.[1]?.trim();
    throw new Error(`booking answered ${booked.status}${said ? `: ${said}` : ''}`);
  }
  const done = await b.follow(booked);
  const reference = /(BK-[A-Z0-9-]+)/.exec(done.body)?.[1];
  if (done.status === 200 && /Booking confirmed/.test(done.body) && reference) acked.bookings.push(reference);
}

/** The mixed workload at a fixed rate of requests per second, for `seconds`. */
async function runLoad(seconds: number, during?: (elapsed: number) => Promise<void>) {
  stats = newStats();
  // Per second of RATE requests: 50% page views, 20% Open311 posts, one paid request journey
  // (about 14 requests) every second and a booking (3 requests) every two seconds.
  const running: Promise<void>[] = [];
  const start = performance.now();
  const total = seconds * RATE;
  const faultTimer = during ? during(0) : Promise.resolve();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const slot = i % RATE;
    let op: ((n: number) => Promise<void>) | null = null;
    if (slot < RATE * 0.5) op = pageView;
    else if (slot < RATE * 0.7) op = open311;
    else if (slot === Math.floor(RATE * 0.75)) op = paidRequest;
    else if (slot === Math.floor(RATE * 0.85) && Math.floor(i / RATE) % 2 === 0) op = booking;
    if (!op) continue;
    ops += 1;
    running.push(
      op(i).catch((error: unknown) => {
        opFailures += 1;
        if (opSamples.length < 5) opSamples.push(`${op.name}: ${(error as Error).message}`);
      }),
    );
  }
  await Promise.all(running);
  await faultTimer;
  const elapsed = (stats.finished - stats.started) / 1000;
  const sorted = [...stats.latencies].sort((a, b) => a - b);
  const pct = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  const count = [...stats.statuses.values()].reduce((a, b) => a + b, 0);
  const bad = [...stats.statuses]
    .filter(([s]) => s === 'error' || Number(s) >= 500)
    .reduce((a, [, n]) => a + n, 0);
  return {
    requests: count,
    perSecond: Math.round((count / elapsed) * 10) / 10,
    p50: Math.round(pct(50)),
    p99: Math.round(pct(99)),
    errorRate: Math.round((bad / count) * 10_000) / 100,
    statuses: Object.fromEntries([...stats.statuses].sort()),
    samples: [...stats.samples, ...opSamples],
  };
}

// ---- the test ---------------------------------------------------------------------------------

const database = new PrivatePostgres();
let worker: KilnProcess;

before(async () => {
  await database.init();
  await runMigrate(database);
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  const db = await openDatabase({ url: database.url, poolSize: 1 });
  apiKey = (await createApiKey(db.db, { name: 'Load partner', scopes: ['open311'], createdBy: null })).key;
  await db.close();
  await c.end();
  const started = await Promise.all([
    startKiln('web', 'web 1', database),
    startKiln('web', 'web 2', database),
    startKiln('worker', 'worker', database),
  ]);
  webs.push(started[0], started[1]);
  worker = started[2];
  stats = newStats();
  residents = await Promise.all(
    Array.from({ length: 24 }, (_, i) => signIn(`load-resident-${i}@example.org`, database)),
  );
});

after(async () => {
  if (process.env.CLUSTER_LOGS)
    for (const p of [...webs, worker]) figures.push(`--- ${p.name}\n${p.output()}`);
  console.log(figures.join('\n'));
  await Promise.all([...webs, worker].filter(Boolean).map((p) => stopKiln(p)));
  await database.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

async function count(text: string, values: unknown[]): Promise<number> {
  return (await query<{ n: number }>(text, values))[0]!.n;
}

/** Every acknowledged write is stored, no email twice, no payment twice. */
async function checkAcknowledged(label: string) {
  const refs = [...acked.open311, ...acked.paidCases.map((p) => p.reference)];
  const found = await query<{ reference: string }>('select reference from cases where reference = any($1)', [
    refs,
  ]);
  const stored = new Set(found.map((r) => r.reference));
  const lost = refs.filter((r) => !stored.has(r));
  assert.deepEqual(lost, [], `${label}: acknowledged requests missing from the database`);
  const bookings = await query<{ reference: string }>(
    'select reference from booking_bookings where reference = any($1)',
    [acked.bookings],
  );
  assert.equal(bookings.length, new Set(acked.bookings).size, `${label}: acknowledged bookings missing`);
  const twice = await query<{ pays_for_id: string; n: number }>(
    `select pays_for_type, pays_for_id, count(*)::int as n from payments
      where status = 'success' and created_at >= $1 group by 1, 2 having count(*) > 1`,
    [loadStarted],
  );
  assert.deepEqual(twice, [], `${label}: something was paid for twice`);
  const paid = await query<{ reference: string }>(
    `select c.reference from cases c join payments p on p.pays_for_id = c.id::text and p.status = 'success' where c.reference = any($1)`,
    [acked.paidCases.map((p) => p.reference)],
  );
  assert.equal(paid.length, acked.paidCases.length, `${label}: a paid request has no successful payment`);
  // Emails: each message once. Every one is sent once the worker has caught up, except those the
  // killed worker had claimed: they stay leased to it (10 minutes) and are then due again, so
  // those must still be queued under their lease, not lost or given up.
  const emails = acked.emails;
  const deadline = Date.now() + 60_000;
  let held: Array<{ id: string; status: string; leased: boolean }> = [];
  for (;;) {
    held = await query<{ id: string; status: string; leased: boolean }>(
      `select id, status, (attempts >= 1 and send_after > now()) as leased
         from notifications where recipient = any($1) and status <> 'sent'`,
      [emails],
    );
    if (held.every((h) => h.leased) || Date.now() > deadline) break;
    await sleep(1000);
  }
  const lostEmails = held.filter((h) => h.status !== 'queued');
  assert.deepEqual(lostEmails, [], `${label}: emails given up instead of sent`);
  assert.ok(
    held.every((h) => h.leased),
    `${label}: ${held.length} emails still unsent after 60 s: ${JSON.stringify(held.slice(0, 5))}`,
  );
  const duplicates = await query<{ recipient: string; template: string; n: number }>(
    `select recipient, template, count(*)::int as n from notifications where recipient = any($1) group by 1, 2 having count(*) > 1`,
    [emails],
  );
  assert.deepEqual(duplicates, [], `${label}: an email was sent twice`);
  const sent = await count(`select count(*)::int as n from notifications where recipient = any($1)`, [
    emails,
  ]);
  const retried = await count(
    `select count(*)::int as n from notifications where recipient = any($1) and attempts > 1`,
    [emails],
  );
  return {
    heldByKilledWorker: held.length,
    open311: acked.open311.length,
    paid: acked.paidCases.length,
    bookings: acked.bookings.length,
    emails: sent,
    retried,
  };
}

describe('Kiln as a cluster under load and faults', () => {
  it(`serves the mixed workload at ${RATE} requests/s for ${LOAD_SECONDS} s across two web processes and a worker`, async () => {
    acked = { open311: [], paidCases: [], bookings: [], emails: [] };
    ops = 0;
    opFailures = 0;
    opSamples = [];
    loadStarted = new Date();
    phase = randomBytes(3).toString('hex');
    const f = await runLoad(LOAD_SECONDS);
    figures.push(
      `load: ${f.requests} requests in ${LOAD_SECONDS} s, ${f.perSecond}/s, p50 ${f.p50} ms, p99 ${f.p99} ms, error rate ${f.errorRate}% ${JSON.stringify(f.statuses)}`,
      ...f.samples.map((x) => `  load failure: ${x}`),
    );
    const c = await checkAcknowledged('load');
    figures.push(
      `load: acknowledged ${c.open311} Open311 posts, ${c.paid} paid requests, ${c.bookings} bookings; ${c.emails} emails, ${c.retried} retried; ${opFailures} of ${ops} operations failed`,
    );
    assert.ok(c.paid > 0 && c.open311 > 0 && c.bookings > 0, 'each kind of write was acknowledged');
    assert.ok(f.errorRate < 1, `error rate ${f.errorRate}%`);
  });

  it('loses nothing acknowledged when a web process and the worker are killed and PostgreSQL restarts mid-load', async () => {
    acked = { open311: [], paidCases: [], bookings: [], emails: [] };
    ops = 0;
    opFailures = 0;
    opSamples = [];
    loadStarted = new Date();
    phase = randomBytes(3).toString('hex');
    const outage: { page?: Answer; api?: Answer; downSeconds?: number; recoveredSeconds?: number } = {};
    const at = (s: number) => sleep(s * 1000);
    const f = await runLoad(LOAD_SECONDS, async () => {
      await at(LOAD_SECONDS * 0.15);
      await kill9(webs[0]!);
      figures.push('faults: web 1 killed (SIGKILL)');
      await at(3);
      webs[0] = await startKiln('web', 'web 1 again', database, webs[0]!.port);
      await kill9(worker);
      figures.push('faults: worker killed (SIGKILL)');
      await at(3);
      worker = await startKiln('worker', 'worker again', database, worker.port);
      await at(LOAD_SECONDS * 0.1);
      const down = performance.now();
      database.stop();
      figures.push('faults: PostgreSQL stopped');
      await at(2);
      // Pages that read the database each time (the home and services pages may come from a cache).
      outage.page = await request('GET', '/reports').catch(() => undefined);
      outage.api = await request('GET', '/api/v1/planning/applications').catch(() => undefined);
      await at(3);
      database.start();
      outage.downSeconds = (performance.now() - down) / 1000;
      const back = performance.now();
      for (;;) {
        const answers = await Promise.all(
          webs.map((w) =>
            fetch(`http://127.0.0.1:${w.port}/reports`).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
        if (answers.every((s) => s === 200)) break;
        if (performance.now() - back > 60_000) break;
        await sleep(200);
      }
      outage.recoveredSeconds = (performance.now() - back) / 1000;
      figures.push(
        `faults: PostgreSQL away ${outage.downSeconds.toFixed(1)} s; both web processes answered 200 again ${outage.recoveredSeconds.toFixed(1)} s after it returned`,
      );
    });
    figures.push(
      `faults: ${f.requests} requests, ${f.perSecond}/s, p50 ${f.p50} ms, p99 ${f.p99} ms, error rate ${f.errorRate}% ${JSON.stringify(f.statuses)}`,
      ...f.samples.map((x) => `  failure under faults: ${x}`),
    );
    assert.equal(outage.page?.status, 503, 'a page while the database is away');
    assert.match(outage.page!.body, /Try again in a few seconds/);
    assert.ok(outage.page!.headers.get('retry-after'));
    assert.equal(outage.api?.status, 503, 'an API call while the database is away');
    assert.match(outage.api!.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.ok(outage.recoveredSeconds! < 15, `recovered in ${outage.recoveredSeconds} s`);
    assert.deepEqual(unexpectedExits, [], 'every process rode out the faults it was not killed by');
    // While the database is away the answer is 503 (try again), never 500 (something is broken).
    assert.equal(
      f.statuses['500'] ?? 0,
      0,
      `500 answers under faults: ${f.samples.filter((x) => / 500 /.test(x)).join('; ')}`,
    );
    const c = await checkAcknowledged('faults');
    figures.push(
      `faults: acknowledged ${c.open311} Open311 posts, ${c.paid} paid requests, ${c.bookings} bookings, all stored; ${c.emails} emails, each once (${c.retried} retried, ${c.heldByKilledWorker} leased to the killed worker until their lease runs out); no payment twice; ${opFailures} of ${ops} operations failed`,
    );
    assert.ok(
      c.paid > 0 && c.open311 > 0 && c.bookings > 0,
      'each kind of write was acknowledged during the faults',
    );
  });
});
