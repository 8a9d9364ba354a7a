// Kiln as a small cluster on this machine's PostgreSQL and Mosquitto: `kiln migrate` once, two
// `kiln web` processes and two `kiln worker` processes, each a separate Node process. Needs
// DATABASE_URL (a server where it may create a database) and Mosquitto on 127.0.0.1:1883
// (MQTT_URL to use another). Run with `npm run test:cluster`.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import pg from 'pg';
import { hubKey, sign } from '../../src/modules/wellbeing/ingest.ts';

const root = resolve(import.meta.dirname, '../..');
const baseUrl = process.env.DATABASE_URL;
if (!baseUrl)
  throw new Error('test:cluster needs DATABASE_URL (a PostgreSQL server it may create a database on)');
const mqttUrl = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

const run = randomBytes(4).toString('hex');
const dbName = `kiln_cluster_${run}`;
const dbUrl = (() => {
  const u = new URL(baseUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
const sessionSecret = randomBytes(24).toString('hex');
const metricsToken = randomBytes(16).toString('hex');
const dataDir = mkdtempSync(join(tmpdir(), 'kiln-cluster-'));
const publicUrl = 'http://localhost:3000';

const env = {
  ...process.env,
  NODE_ENV: 'production',
  DATABASE_URL: dbUrl,
  DATABASE_POOL_SIZE: '5',
  DATA_DIR: dataDir,
  PUBLIC_URL: publicUrl,
  SESSION_SECRET: sessionSecret,
  METRICS_TOKEN: metricsToken,
  MQTT_URL: mqttUrl,
  WELLBEING_MQTT_SHARE_GROUP: `kiln-cluster-${run}`,
  // Each run's workers have new client ids: their sessions should not outlive the test on the broker.
  WELLBEING_MQTT_SESSION_EXPIRY_SECONDS: '120',
  RATE_LIMIT_SIGN_IN_PER_MINUTE: '10000',
  RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '10000',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
};

interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  out: string[];
  exit: Promise<number | null>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function start(name: string, command: string, extra: Record<string, string>, port = 0): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command], {
    cwd: root,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    out.push(...lines);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exit = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  return { name, child, port, out, exit };
}

async function eventually<T>(what: string, check: () => Promise<T | null | undefined | false>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A browser's cookie jar over fetch, following the CSRF token of the last form. */
class Browser {
  cookies = new Map<string, string>();
  csrf = '';
  async request(
    base: number,
    path: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams({ _csrf: this.csrf, ...init.form }).toString();
    }
    const res = await fetch(`http://127.0.0.1:${base}${path}`, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const [k, v] = [pair!.slice(0, i), pair!.slice(i + 1)];
      if (v === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = token[1]!;
    return { status: res.status, text, headers: res.headers };
  }
}

describe('Kiln as a cluster: two web processes, two workers, PostgreSQL and Mosquitto', () => {
  const admin = new pg.Client({ connectionString: baseUrl });
  let db: pg.Pool;
  const procs: Proc[] = [];
  let webA: Proc, webB: Proc, worker1: Proc, worker2: Proc;

  before(async () => {
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    db = new pg.Pool({ connectionString: dbUrl, max: 2 });
    const migrate = start('migrate', 'migrate', {});
    const code = await migrate.exit;
    assert.equal(code, 0, `kiln migrate failed:\n${migrate.out.join('\n')}`);
    assert.ok(
      migrate.out.some((l) => /Applied \d+ migrations/.test(l)),
      migrate.out.join('\n'),
    );

    const [pa, pb, p1, p2] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    webA = start('web A', 'web', { PORT: String(pa) }, pa);
    webB = start('web B', 'web', { PORT: String(pb) }, pb);
    worker1 = start('worker 1', 'worker', { WORKER_HEALTH_PORT: String(p1), LOG_LEVEL: 'debug' }, p1);
    worker2 = start('worker 2', 'worker', { WORKER_HEALTH_PORT: String(p2), LOG_LEVEL: 'debug' }, p2);
    procs.push(webA, webB, worker1, worker2);
    for (const p of procs) {
      await eventually(
        `${p.name} ready`,
        async () => {
          if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.out.join('\n')}`);
          return (await fetch(`http://127.0.0.1:${p.port}/readyz`)).status === 200;
        },
        120_000,
      ).catch((error) => {
        throw new Error(`${error.message}\n${p.out.slice(-30).join('\n')}`);
      });
    }
  });

  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await db?.end();
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('/healthz and /readyz answer 200 on every process, naming database, queue and broker', async () => {
    for (const p of procs) {
      const health = await fetch(`http://127.0.0.1:${p.port}/healthz`);
      assert.equal(health.status, 200, p.name);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const ready = await fetch(`http://127.0.0.1:${p.port}/readyz`);
      assert.equal(ready.status, 200, p.name);
      const body = (await ready.json()) as { checks: Record<string, string> };
      assert.deepEqual(body.checks, { database: 'ok', 'job queue': 'ok', 'mqtt broker': 'ok' }, p.name);
    }
  });

  test('web processes serve no jobs and no broker; workers serve no pages', async () => {
    const page = await fetch(`http://127.0.0.1:${worker1.port}/`);
    assert.equal(page.status, 404);
    for (const w of [webA, webB]) {
      assert.ok(!w.out.some((l) => l.includes('job ') && l.includes(' done')), `${w.name} ran a job`);
    }
  });

  test("a resident's session works across both web processes", async () => {
    const browser = new Browser();
    await browser.request(webA.port, '/sign-in');
    const sent = await browser.request(webA.port, '/sign-in', {
      form: { email: 'resident@kilnford.example' },
    });
    assert.equal(sent.status, 200);
    const { rows } = await db.query<{ body: string }>(
      `select body from notifications where recipient = $1 order by created_at desc limit 1`,
      ['resident@kilnford.example'],
    );
    const token = /sign-in\/link\?token=([\w-]+)/.exec(rows[0]!.body)![1]!;
    // The link is opened, and confirmed, on the other web process.
    await browser.request(webB.port, `/sign-in/link?token=${token}`);
    const confirmed = await browser.request(webB.port, '/sign-in/link', { form: { token } });
    assert.equal(confirmed.status, 303);
    for (const w of [webA, webB, webA]) {
      const account = await browser.request(w.port, '/account');
      assert.equal(account.status, 200, `${w.name}: ${account.status}`);
      assert.match(account.text, /Sign out/i, w.name);
    }
    // Without the cookie, neither process knows the visitor.
    const anonymous = new Browser();
    const refused = await anonymous.request(webB.port, '/account');
    assert.notEqual(refused.status, 200);
  });

  test('a burst of messages from both web processes: each is sent once, by one of the two workers', async () => {
    const n = 40;
    const browsers = [new Browser(), new Browser()];
    await browsers[0]!.request(webA.port, '/sign-in');
    await browsers[1]!.request(webB.port, '/sign-in');
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const [browser, web] = i % 2 ? [browsers[1]!, webB] : [browsers[0]!, webA];
        const res = await browser.request(web.port, '/sign-in', {
          form: { email: `burst-${run}-${i}@cluster.example` },
          headers: { 'x-request-id': `burst-${run}-${i}` },
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-request-id'), `burst-${run}-${i}`);
      }),
    );
    const rows = await eventually('every burst notification sent', async () => {
      const r = await db.query<{ id: string; recipient: string; status: string; attempts: number }>(
        `select id, recipient, status, attempts from notifications where recipient like $1`,
        [`burst-${run}-%`],
      );
      return r.rows.length === n && r.rows.every((x) => x.status === 'sent') ? r.rows : null;
    });
    // Sent once each: each send is an attempt, so a message claimed by both workers, or sent
    // twice by one, would count two.
    assert.deepEqual(
      rows.filter((r) => r.attempts !== 1).map((r) => r.recipient),
      [],
    );
  });

  test('sensor readings published to Mosquitto are each stored once, shared between the two workers', async () => {
    const { rows } = await db.query<{
      hub: string;
      version: number;
      home: string;
      sensor: string;
      sensor_id: string;
    }>(
      `select hub.device_ref as hub, hub.key_version as version, h.reference as home,
              s.device_ref as sensor, s.id as sensor_id
         from wellbeing_devices hub
         join wellbeing_homes h on h.id = hub.home_id
         join wellbeing_devices s on s.home_id = hub.home_id and s.role = 'sensor' and s.kind = 'motion'
        where hub.role = 'hub' and h.status = 'active'
        limit 1`,
    );
    const device = rows[0];
    assert.ok(device, 'the demo data has a monitored home with a motion sensor');
    const key = hubKey(sessionSecret, device.hub, device.version);
    const topic = `kiln/homes/${device.home}/sensors/${device.sensor}/events`;
    const n = 200;
    const firstSeq = Date.now();
    const client = await mqtt.connectAsync(mqttUrl, { clientId: `kiln-cluster-hub-${run}`, clean: true });
    try {
      for (let i = 0; i < n; i++) {
        const reading = {
          seq: firstSeq + i,
          time: new Date().toISOString(),
          type: 'motion' as const,
          value: 1,
        };
        await client.publishAsync(
          topic,
          JSON.stringify({ ...reading, hub: device.hub, sig: sign(key, topic, reading) }),
          { qos: 1 },
        );
      }
    } finally {
      await client.endAsync();
    }
    await eventually('every reading stored', async () => {
      const r = await db.query<{ n: number }>(
        `select count(*)::int as n from wellbeing_events where device_id = $1 and seq >= $2`,
        [device.sensor_id, firstSeq],
      );
      return r.rows[0]!.n === n;
    });
    // Each reading went to one worker only: the received counts add up to what was published.
    const received = await Promise.all(
      [worker1, worker2].map(async (w) => {
        const text = await (
          await fetch(`http://127.0.0.1:${w.port}/metrics`, {
            headers: { authorization: `Bearer ${metricsToken}` },
          })
        ).text();
        const line = text.split('\n').find((l) => l.startsWith('kiln_wellbeing_readings_received_total'));
        return Number(line?.split(' ').at(-1));
      }),
    );
    assert.equal(received[0]! + received[1]!, n, `received per worker: ${received.join(', ')}`);
    const stored = await db.query<{ n: number; distinct_seq: number }>(
      `select count(*)::int as n, count(distinct seq)::int as distinct_seq from wellbeing_events where device_id = $1 and seq >= $2`,
      [device.sensor_id, firstSeq],
    );
    assert.deepEqual(stored.rows[0], { n, distinct_seq: n });
  });

  test('/metrics is refused without the token and reports requests and queues with it', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${webA.port}/metrics`)).status, 401);
    const text = await (
      await fetch(`http://127.0.0.1:${webA.port}/metrics`, {
        headers: { authorization: `Bearer ${metricsToken}` },
      })
    ).text();
    assert.match(
      text,
      /kiln_http_requests_total\{method="POST",route="\/sign-in",status="200",process_type="web"\} \d+/,
    );
    assert.match(text, /kiln_http_request_duration_seconds_bucket/);
    assert.match(text, /kiln_job_queue_depth\{queue="notify.dispatch",process_type="web"\} \d+/);
  });

  test('kiln web with WEB_PROCESSES=2 serves from two processes on one port, replaces one that dies, and stops cleanly', async () => {
    const port = await freePort();
    const copies = start('web copies', 'web', { PORT: String(port), WEB_PROCESSES: '2' }, port);
    try {
      const serving = () => copies.out.filter((l) => l.includes('Kiln is serving')).length;
      const children = () => {
        try {
          return execFileSync('pgrep', ['-P', String(copies.child.pid)])
            .toString()
            .trim()
            .split('\n')
            .map(Number);
        } catch {
          return [];
        }
      };
      await eventually('two web processes serving', async () => serving() === 2 && children().length === 2);
      const [first, second] = children();
      assert.equal(
        (await fetch(`http://127.0.0.1:${port}/readyz`, { headers: { connection: 'close' } })).status,
        200,
      );

      // A connection handed to a copy at the instant it dies is lost with it (as its requests in
      // flight are): after that the other copy answers, and a new one takes the dead one's place.
      process.kill(first!, 'SIGKILL');
      await eventually('a replacement web process', async () => {
        const now = children();
        return serving() === 3 && now.length === 2 && now.includes(second!) && !now.includes(first!);
      });
      for (let i = 0; i < 10; i++)
        assert.equal(
          (await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } })).status,
          200,
        );

      copies.child.kill('SIGTERM');
      assert.equal(await copies.exit, 0, copies.out.slice(-20).join('\n'));
      assert.equal(
        copies.out.filter((l) => l.includes('"Stopped"')).length,
        2,
        copies.out.slice(-20).join('\n'),
      );
      assert.deepEqual(children(), []);
    } finally {
      if (copies.child.exitCode === null) copies.child.kill('SIGKILL');
    }
  });

  test('WEB_PROCESSES above 1 on the embedded database is refused with the reason', async () => {
    const refused = start('web copies, embedded', 'web', { WEB_PROCESSES: '2', DATABASE_URL: '' });
    assert.equal(await refused.exit, 1);
    assert.ok(
      refused.out.some((l) => /WEB_PROCESSES above 1 needs DATABASE_URL/.test(l)),
      refused.out.join('\n'),
    );
  });

  test('SIGTERM stops every process cleanly (exit 0)', async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(procs.map((p) => p.exit));
    for (const [i, p] of procs.entries()) {
      assert.equal(codes[i], 0, `${p.name} exited ${codes[i]}:\n${p.out.slice(-20).join('\n')}`);
      assert.ok(
        p.out.some((l) => l.includes('"Stopped"')),
        p.name,
      );
    }
  });
});
