// Kiln on a Mosquitto configured as Kiln ships it (deploy/mosquitto/kiln.conf), started for this
// file on a free port: readings published while Kiln is away wait in the broker's queue for Kiln's
// persistent session, well past Mosquitto's default of 1000, and none is lost; several Kiln
// processes in a shared subscription split the readings between them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { eventually, startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { DeviceDirectory, Ingestor, sign } from './ingest.ts';
import { subscribeExternal } from './mqtt.ts';
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
