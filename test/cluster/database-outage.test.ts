// While PostgreSQL is unreachable Kiln answers 503 with a retry page (APIs: problem+json) and a
// Retry-After header, never a stack trace; /healthz stays 200 and /readyz says what is down; and
// Kiln recovers by itself when the database is back. The outage is made by a TCP proxy between
// Kiln and the shared server, so the server itself is never stopped. Needs DATABASE_URL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createApp, type Kiln } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/platform/db/index.ts';
import { Jobs } from '../../src/platform/jobs/index.ts';

const baseUrl = process.env.DATABASE_URL;
if (!baseUrl)
  throw new Error('this test needs DATABASE_URL (a PostgreSQL server it may create a database on)');
const server = new URL(baseUrl);
const dbName = `kiln_outage_${randomBytes(4).toString('hex')}`;

/** A TCP proxy to PostgreSQL that can be cut (refusing and dropping connections) and restored. */
class Proxy {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  constructor(readonly port: number) {}
  async open() {
    this.server = createServer((client) => {
      const upstream = connect(Number(server.port || 5432), server.hostname);
      // What one side suffers (reset, close) the other sees, as across a real network.
      for (const [s, peer] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(s);
        s.on('close', () => {
          this.sockets.delete(s);
          peer.destroy();
        });
        s.on('error', () => peer.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((ok) => this.server!.listen(this.port, '127.0.0.1', ok));
  }
  async cut() {
    const closed = new Promise<void>((ok) => this.server?.close(() => ok()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.server = null;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

async function eventually<T>(what: string, check: () => Promise<T | false | null>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the database goes away and comes back', () => {
  const admin = new pg.Client({ connectionString: baseUrl });
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-outage-'));
  let proxy: Proxy;
  let kiln: Kiln;
  // A worker's job queue on the same cut connection, checking for due jobs five times a second.
  let workerDatabase: Database;
  let jobs: Jobs;
  const jobLog: string[] = [];
  // A well-formed session cookie: looking it up needs the database.
  const cookie = `kiln_session=${'a'.repeat(43)}`;

  before(async () => {
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    proxy = new Proxy(await freePort());
    await proxy.open();
    const url = new URL(baseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    url.pathname = `/${dbName}`;
    kiln = await createApp({
      config: loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.OUTAGE_LOG_LEVEL ?? 'silent',
        DATA_DIR: dataDir,
        DATABASE_URL: url.toString(),
        DATABASE_POOL_SIZE: '3',
        SESSION_SECRET: randomBytes(24).toString('hex'),
        RUN_WORKERS: 'false',
        WELLBEING_INGEST: 'false',
      }),
      processName: 'web',
    });
    workerDatabase = await openDatabase({ url: url.toString(), poolSize: 2 });
    jobs = new Jobs(workerDatabase, {
      runWorkers: true,
      pollingIntervalSeconds: 0.2,
      log: (message) => jobLog.push(message),
    });
    jobs.define({ name: 'test.outage', handler: async () => undefined });
    await jobs.start();
  });

  after(async () => {
    await jobs?.stop().catch(() => {});
    await workerDatabase?.close().catch(() => {});
    await kiln?.close().catch(() => {});
    await proxy?.cut().catch(() => {});
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    kiln.app.inject({ method: 'GET', url, headers: { cookie, ...headers } });

  test('answers normally first', async () => {
    assert.equal((await get('/account')).statusCode, 303);
    assert.equal((await get('/api/v1/planning/applications')).statusCode, 200);
    assert.equal((await get('/readyz')).statusCode, 200);
  });

  test('503 with Retry-After while the database is away; /healthz 200, /readyz 503 naming it', async () => {
    await proxy.cut();
    const page = await get('/account');
    assert.equal(page.statusCode, 503);
    assert.equal(page.headers['retry-after'], '5');
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /Sorry, there is a problem with the service/);
    assert.match(page.body, /Try again/);
    assert.doesNotMatch(page.body, /ECONNREFUSED|at \w+ \(|\.ts:\d+|select /i);

    const api = await get('/api/v1/planning/applications');
    assert.equal(api.statusCode, 503);
    assert.match(String(api.headers['content-type']), /application\/problem\+json/);
    assert.equal(api.headers['retry-after'], '5');
    assert.equal(api.json().status, 503);
    assert.doesNotMatch(api.body, /ECONNREFUSED|127\.0\.0\.1|stack/i);

    // Open311 answers in its own error format, and says to try again rather than that Kiln failed.
    const open311 = await get(`/open311/v2/requests.json?service_request_id=KF-OUTAGE-${Date.now()}`);
    assert.equal(open311.statusCode, 503);
    assert.equal(open311.headers['retry-after'], '5');
    assert.deepEqual(
      open311.json().map((e: { code: number }) => e.code),
      [503],
    );

    const health = await get('/healthz');
    assert.equal(health.statusCode, 200);
    const ready = await get('/readyz');
    assert.equal(ready.statusCode, 503);
    assert.match(String(ready.headers['content-type']), /application\/problem\+json/);
    assert.deepEqual(ready.json().down, ['database', 'job queue']);
    assert.doesNotMatch(ready.body, /ECONNREFUSED|127\.0\.0\.1/);

    // A worker checking for due jobs every 0.2 s says so once an outage, not every time.
    await new Promise((r) => setTimeout(r, 1500));
    const failed = jobLog.filter((m) => m === 'job queue: checking for due jobs failed');
    assert.equal(failed.length, 1, jobLog.join('; '));
  });

  test('recovers by itself when the database is back', async () => {
    await proxy.open();
    await eventually('pages again', async () => (await get('/account')).statusCode === 303);
    await eventually('ready again', async () => (await get('/readyz')).statusCode === 200);
    assert.equal((await get('/api/v1/planning/applications')).statusCode, 200);
    await eventually('the job queue says it works again', async () =>
      jobLog.includes('job queue: checking for due jobs works again'),
    );
  });

  test("the server ending Kiln's connections (57P01 admin shutdown) costs at most a 503, then nothing", async () => {
    assert.equal((await get('/account')).statusCode, 303);
    const { rows } = await admin.query(
      `select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
      [dbName],
    );
    assert.ok(rows.length > 0, 'Kiln had connections to end');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await get('/account')).statusCode);
    assert.ok(
      statuses.every((s) => s === 303 || s === 503),
      `statuses: ${statuses.join(', ')}`,
    );
    await eventually('pages again', async () => (await get('/account')).statusCode === 303);
  });
});
