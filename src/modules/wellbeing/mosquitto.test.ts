// Kiln on a Mosquitto configured as Kiln ships it (deploy/mosquitto/kiln.conf), started for this
// file on a free port: readings published while Kiln is away wait in the broker's queue for Kiln's
// persistent session, well past Mosquitto's default of 1000, and none is lost; several Kiln
// processes in a shared subscription split the readings between them; a connection dropped in the
// middle of a stream resumes its session, so every reading the broker acknowledged is stored once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { eventually, startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { subscriptionClientId } from './config.ts';
import { DeviceDirectory, Ingestor, sign } from './ingest.ts';
import { subscribeExternal, type MqttIngestion } from './mqtt.ts';
import * as store from './store.ts';

const CLIENT_ID = `kiln-test-${process.pid}`;
let broker: ChildProcess;
let dir: string;
let url: string;
let kiln: TestKiln;

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port')),
      );
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-mosquitto-'));
  // Mosquitto started as root drops to its own user, which must write its persistence file here.
  chmodSync(dir, 0o777);
  const shipped = readFileSync(resolve(import.meta.dirname, '../../../deploy/mosquitto/kiln.conf'), 'utf8');
  const conf = shipped.replace(/^persistence_location .*$/m, `persistence_location ${dir}/`);
  assert.notEqual(conf, shipped, 'kiln.conf names a persistence location');
  writeFileSync(join(dir, 'mosquitto.conf'), `${conf}\nlog_dest file ${join(dir, 'mosquitto.log')}\n`);
  const port = await freePort();
  const binary = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'].find((b) => {
    try {
      readFileSync(b);
      return true;
    } catch {
      return false;
    }
  });
  assert.ok(binary, 'Mosquitto is installed (the CI installs it)');
  broker = spawn(binary, ['-c', join(dir, 'mosquitto.conf'), '-p', String(port)], { stdio: 'ignore' });
  url = `mqtt://127.0.0.1:${port}`;
  await eventually(async () => {
    try {
      const probe = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 500 });
      await probe.endAsync();
      return true;
    } catch {
      return false;
    }
  });
  process.env.MQTT_URL = url;
  process.env.WELLBEING_MQTT_CLIENT_ID = CLIENT_ID;
  kiln = await startTestApp();
});

after(async () => {
  delete process.env.MQTT_URL;
  delete process.env.WELLBEING_MQTT_CLIENT_ID;
  await kiln?.close();
  broker?.kill('SIGTERM');
  if (broker) await new Promise((r) => broker.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

async function home(address: string) {
  const tech = await kiln.platform.db
    .selectFrom('staff_users')
    .select('id')
    .where('email', '=', 'technician@kilnford.example')
    .executeTakeFirstOrThrow();
  return kiln.services.wellbeing.installSimulatedHome('CU-DEMO-01', address, tech.id as string);
}

/** Publishes `count` signed readings of one sensor, QoS 1, each acknowledged by the broker. */
async function publish(
  installed: Awaited<ReturnType<typeof home>>,
  sensorId: string,
  count: number,
  firstSeq = 1,
) {
  const hub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const sensor = installed.refs.get(sensorId)!;
  const topic = `kiln/homes/${installed.home.reference}/sensors/${sensor}/events`;
  const time = new Date().toISOString();
  let acked = 0;
  for (let start = 0; start < count; start += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - start) }, async (_, i) => {
        const reading = { seq: firstSeq + start + i, time, type: 'motion' as const, value: 1 };
        const body = { ...reading, hub: installed.hub.device_ref, sig: sign(installed.key, topic, reading) };
        await hub.publishAsync(topic, JSON.stringify(body), { qos: 1 });
        acked++;
      }),
    );
  }
  await hub.endAsync();
  return acked;
}

const droppedLines = () =>
  readFileSync(join(dir, 'mosquitto.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('being dropped')).length;

test('readings sent while Kiln is away wait for it on the broker, far past 1000, and none is lost', async () => {
  const installed = await home('3 Saggar Row, Kilnford');
  const w = kiln.services.wellbeing;
  const first = w.mqtt()!;
  assert.equal(first.status().connected, true);
  // Kiln stops (a restart, a deploy): its session and subscription stay on the broker.
  await first.close();
  const acked = await publish(installed, 'living-motion', 6000);
  assert.equal(acked, 6000, 'the broker acknowledged every reading to the hub');
  assert.equal(await store.countEvents(kiln.platform.db, installed.home.id), 0);

  // Kiln is back with the same client id: the broker delivers the queue.
  const again = await subscribeExternal(url, w.ingestor, { clientId: CLIENT_ID, persistent: true });
  try {
    await eventually(async () => {
      await w.ingestor.drain(1000);
      return (await store.countEvents(kiln.platform.db, installed.home.id)) === 6000;
    }, 60_000);
    assert.equal(droppedLines(), 0, 'Mosquitto dropped nothing for Kiln');
    // Mosquitto's own count, published every 10 seconds on $SYS, says the same.
    const dropped = await eventually(async () => again.status().brokerDropped ?? false, 20_000).catch(
      () => again.status().brokerDropped,
    );
    assert.equal(dropped, 0);
  } finally {
    await again.close();
  }
});

test('Kiln processes in a shared subscription split the readings between them; none twice, none lost', async () => {
  const installed = await home('5 Glaze Street, Kilnford');
  const db = () => kiln.platform.db;
  const directory = new DeviceDirectory(db);
  const options = {
    db,
    directory,
    secret: kiln.platform.config.sessionSecret,
    maxBuffered: 10_000,
    batchSize: 500,
    flushMs: 20,
  };
  const ingestors = [new Ingestor(options), new Ingestor(options)];
  const consumers = await Promise.all(
    ingestors.map((ingestor, i) =>
      subscribeExternal(url, ingestor, { clientId: `${CLIENT_ID}-share-${i}`, shareGroup: 'kiln-test' }),
    ),
  );
  try {
    const acked = await publish(installed, 'kitchen-motion', 3000);
    assert.equal(acked, 3000);
    await eventually(async () => {
      await Promise.all(ingestors.map((i) => i.drain(1000)));
      return ingestors.reduce((n, i) => n + i.metrics.stored, 0) >= 3000;
    }, 60_000);
    const [a, b] = ingestors.map((i) => i.metrics);
    assert.ok(a!.stored > 0 && b!.stored > 0, `both consumers stored readings (${a!.stored}, ${b!.stored})`);
    assert.equal(a!.stored + b!.stored, 3000, 'each reading was delivered to one consumer only');
    assert.equal(a!.duplicates + b!.duplicates, 0);
    assert.equal(await store.countEvents(kiln.platform.db, installed.home.id), 3000);
  } finally {
    await Promise.all(consumers.map((c) => c.close()));
    await Promise.all(ingestors.map((i) => i.close()));
  }
});

/** A TCP relay in front of the broker whose connections can be cut, as a network failure would. */
async function relay(target: string) {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let down = false;
  const server = createServer((inbound) => {
    if (down) return inbound.destroy();
    const outbound = connect(Number(port), hostname);
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const end = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    /** Resets every connection at once, mid-packet or not, and refuses new ones for `ms`. */
    async cut(ms: number) {
      const cut = pairs.size;
      down = true;
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      await new Promise((r) => setTimeout(r, ms));
      down = false;
      return cut;
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

function newIngestor() {
  const db = () => kiln.platform.db;
  return new Ingestor({
    db,
    directory: new DeviceDirectory(db),
    secret: kiln.platform.config.sessionSecret,
    maxBuffered: 10_000,
    batchSize: 500,
    flushMs: 20,
  });
}

test('a subscription cut off mid-stream resumes its session: every acknowledged reading is stored once', async () => {
  const installed = await home('8 Kiln Yard, Kilnford');
  const network = await relay(url);
  const ingestor = newIngestor();
  // No persistent flag: a persistent session is what Kiln uses unless told otherwise.
  const kilnSide = await subscribeExternal(network.url, ingestor, { clientId: `${CLIENT_ID}-cut` });
  try {
    const sending = publish(installed, 'bedroom-motion', 20_000);
    // Twice while readings stream in, for a second and a half each: the hub goes on publishing.
    for (const after of [3000, 9000]) {
      await eventually(async () => ingestor.metrics.received >= after, 60_000);
      const before = kilnSide.status().reconnects;
      assert.equal(await network.cut(1500), 1, "Kiln's connection was cut");
      await eventually(async () => kilnSide.status().connected && kilnSide.status().reconnects > before);
    }
    const acked = await sending;
    assert.equal(acked, 20_000, 'the broker acknowledged every reading to the hub');
    await eventually(async () => {
      await ingestor.drain(1000);
      return (await store.countEvents(kiln.platform.db, installed.home.id)) >= acked;
    }, 60_000);
    const status = kilnSide.status();
    assert.ok(status.reconnects >= 2, `Kiln reconnected after each cut (${status.reconnects})`);
    assert.ok(status.lastDisconnect, 'the reason the connection ended is kept for the operator');
    const rows = await kiln.platform.db
      .selectFrom('wellbeing_events')
      .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.count<string>('seq').distinct().as('seqs')])
      .where('home_id', '=', installed.home.id)
      .executeTakeFirstOrThrow();
    assert.equal(Number(rows.n), acked, 'every acknowledged reading is stored');
    assert.equal(Number(rows.seqs), acked, 'and each once');
    assert.equal(ingestor.metrics.stored, acked);
  } finally {
    await kilnSide.close();
    await ingestor.close();
    await network.close();
  }
});

test('two processes with one client id are noticed and stop fighting over the session; nothing is lost', async () => {
  const installed = await home('2 Pug Mill Lane, Kilnford');
  const ingestors = [newIngestor(), newIngestor()];
  const errors: string[] = [];
  const log = { warn: () => {}, error: (m: string) => errors.push(m) };
  const twins: MqttIngestion[] = [];
  for (const ingestor of ingestors)
    twins.push(await subscribeExternal(url, ingestor, { clientId: `${CLIENT_ID}-twin`, log }));
  try {
    // Each connection ends the other's; within a few rounds one of them notices and waits longer.
    await eventually(async () => twins.some((t) => t.status().sessionTakenOver), 30_000);
    assert.ok(
      errors.some((e) => e.includes('WELLBEING_MQTT_CLIENT_ID')),
      'the operator is told what to set',
    );
    const reconnects = () => twins.reduce((n, t) => n + t.status().reconnects, 0);
    await eventually(async () => twins.some((t) => t.status().connected));
    const settled = reconnects();
    const acked = await publish(installed, 'hallway-motion', 2000);
    await eventually(async () => {
      await Promise.all(ingestors.map((i) => i.drain(1000)));
      return (await store.countEvents(kiln.platform.db, installed.home.id)) >= acked;
    }, 60_000);
    assert.ok(reconnects() - settled <= 2, `the fight stopped (${reconnects() - settled} reconnects since)`);
    assert.equal(await store.countEvents(kiln.platform.db, installed.home.id), acked);
    assert.equal(
      ingestors.reduce((n, i) => n + i.metrics.stored, 0),
      acked,
      'each reading stored once',
    );
  } finally {
    await Promise.all(twins.map((t) => t.close()));
    await Promise.all(ingestors.map((i) => i.close()));
  }
});

test('the subscription client id is stable for a process and differs between processes on a host', () => {
  const worker = (port: number) =>
    subscriptionClientId({}, { PORT: 3000, WORKER_HEALTH_PORT: port }, 'kiln-01.council.example');
  assert.equal(worker(9101), 'kiln-wellbeing-kiln-01-council-example-9101');
  assert.equal(worker(9101), worker(9101), 'the same after a restart');
  assert.notEqual(worker(9101), worker(9102), 'two workers on one host');
  assert.equal(subscriptionClientId({}, { PORT: 3000 }, 'host'), 'kiln-wellbeing-host-3000');
  assert.equal(
    subscriptionClientId({ WELLBEING_MQTT_CLIENT_ID: 'kiln-a' }, { PORT: 3000 }, 'host'),
    'kiln-a',
    'the configured id wins',
  );
});
