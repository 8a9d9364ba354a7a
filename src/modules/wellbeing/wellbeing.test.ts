import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { startTestApp, eventually, type TestKiln } from '../../../test/support/app.ts';
import { page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { addDays, instantOf, routinePosition } from './clock.ts';
import { feed } from './feed.ts';
import { sign } from './ingest.ts';
import { simulateHome } from './simulator.ts';
import * as store from './store.ts';

// With DATABASE_URL (the PostgreSQL suite) Kiln subscribes to the Mosquitto broker on this
// machine and readings are signed by their hub; otherwise it runs its own broker and hubs log in.
const external = Boolean(process.env.DATABASE_URL);
const MOSQUITTO = 'mqtt://127.0.0.1:1883';

let kiln: TestKiln;
let brokerUrl: string;

before(async () => {
  if (external) process.env.MQTT_URL = MOSQUITTO;
  kiln = await startTestApp();
  const ingestion = kiln.services.wellbeing.mqtt()!;
  brokerUrl = external ? MOSQUITTO : `mqtt://127.0.0.1:${ingestion.port}`;
});
after(async () => {
  delete process.env.MQTT_URL;
  await kiln.close();
});

const technicianEmail = 'technician@kilnford.example';
const w = () => kiln.services.wellbeing;

async function technicianId() {
  const tech = await kiln.platform.db
    .selectFrom('staff_users')
    .select('id')
    .where('email', '=', technicianEmail)
    .executeTakeFirstOrThrow();
  return tech.id as string;
}

/** A hub connected the way a real one is: its own credentials, or signatures on a shared broker. */
async function connectHub(hubRef: string, key: string, homeRef: string) {
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: `test-${hubRef}-${Math.random().toString(36).slice(2)}`,
    reconnectPeriod: 0,
    ...(external ? {} : { username: hubRef, password: key }),
  });
  return {
    client,
    async publish(
      sensor: string,
      reading: Record<string, unknown>,
      options: { signWith?: string; home?: string } = {},
    ) {
      const topic = `kiln/homes/${options.home ?? homeRef}/sensors/${sensor}/events`;
      const body = external
        ? {
            ...reading,
            hub: hubRef,
            sig: sign(options.signWith ?? key, topic, reading as never),
          }
        : reading;
      await client.publishAsync(topic, JSON.stringify(body), { qos: 1 });
    },
  };
}

describe('a technician installs a home on a phone', () => {
  test('consent first, then the hub with its key shown once, then sensors', async () => {
    const tech = await staffClient(kiln, technicianEmail);
    const form = await tech.get('/staff/wellbeing/homes/new');
    assert.equal(form.statusCode, 200);

    const invalid = await tech.post('/staff/wellbeing/homes', {
      residentReference: 'CU-DEMO-01',
      address: '',
    });
    assert.equal(invalid.statusCode, 400);
    const summary = page(invalid.body).errorSummary();
    assert.ok(summary.includes('Enter the address of the home'), summary.join());
    assert.ok(summary.includes('Confirm that you have recorded the person’s consent'));

    const unknown = await tech.post('/staff/wellbeing/homes', {
      residentReference: 'CU-NOPE-99',
      address: '3 Clay Street, Kilnford',
      consentMethod: 'signed_form',
      familyViewConsent: 'yes',
      consentConfirmed: 'yes',
    });
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual(page(unknown.body).errorSummary(), ['No resident with that customer reference']);

    const created = await tech.post('/staff/wellbeing/homes', {
      residentReference: 'CU-DEMO-01',
      address: '3 Clay Street, Kilnford KF2 4QQ',
      consentMethod: 'signed_form',
      familyViewConsent: 'no',
      consentConfirmed: 'yes',
    });
    assert.equal(created.statusCode, 303);
    const homePage = await tech.follow(created);
    assert.equal(homePage.statusCode, 200);
    const homeRef = String(created.headers.location).split('/').pop()!;

    const hub = await tech.post(`/staff/wellbeing/homes/${homeRef}/hub`, {});
    assert.equal(hub.statusCode, 200);
    assert.equal(hub.headers['cache-control'], 'no-store');
    const keyPage = page(hub.body);
    assert.equal(keyPage.heading(), 'Hub added');

    const noRoom = await tech.post(`/staff/wellbeing/homes/${homeRef}/sensors`, { kind: 'motion' });
    assert.equal(noRoom.statusCode, 400);
    assert.deepEqual(page(noRoom.body).errorSummary(), ['Choose the room']);
    const added = await tech.post(`/staff/wellbeing/homes/${homeRef}/sensors`, {
      kind: 'motion',
      room: 'kitchen',
    });
    assert.equal(added.statusCode, 303);
    const after = page((await tech.follow(added)).body);
    assert.match(after.text(), /Kitchen/);
    assert.match(after.text(), /Motion sensor/);

    // The family form is not offered without the person's consent.
    const family = await tech.post(`/staff/wellbeing/homes/${homeRef}/family`, {
      name: 'Sam Moreton',
      relationship: 'Son',
      email: 'sam@example.com',
    });
    assert.equal(family.statusCode, 409);
  });

  test('staff without the permission cannot see alerts', async () => {
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    assert.equal((await agent.get('/staff/wellbeing')).statusCode, 403);
  });
});

describe('from a published MQTT message to the care team’s queue', () => {
  test('a low battery reported over MQTT becomes an alert with its explanation', async () => {
    const { home, hub, key, refs } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '5 Glaze Row, Kilnford',
      await technicianId(),
    );
    const device = await connectHub(hub.device_ref, key, home.reference);
    const sensor = refs.get('fridge-door')!;
    await device.publish(sensor, {
      seq: 1,
      time: new Date().toISOString(),
      type: 'heartbeat',
      value: 1,
      battery: 9,
    });
    await device.client.endAsync();

    const alert = await kiln.eventually(async () =>
      (await w().service.queue()).find((a) => a.home_id === home.id && a.type === 'low_battery'),
    );
    assert.match(alert.explanation, /fridge door contact battery is at 9%/);
    const lead = await staffClient(kiln, 'lead@kilnford.example');
    const queue = page((await lead.get('/staff/wellbeing')).body);
    assert.ok(queue.text().includes('fridge door contact battery is at 9%'));
    const sensorRow = await store.deviceByRef(kiln.platform.db, sensor);
    assert.equal(sensorRow?.battery, 9);

    // The event other modules subscribe to carries the agreed payload.
    const event = await kiln.platform.db
      .selectFrom('domain_events')
      .select(['payload'])
      .where('type', '=', 'wellbeing.alert_raised')
      .where('subject_id', '=', alert.id)
      .executeTakeFirstOrThrow();
    const payload = (typeof event.payload === 'string' ? JSON.parse(event.payload) : event.payload) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(payload).sort(), [
      'alertId',
      'explanation',
      'homeId',
      'raisedAt',
      'reference',
      'residentId',
      'severity',
      'type',
    ]);
    assert.equal(payload.homeId, home.id);
    assert.equal(payload.type, 'low_battery');
  });

  test('bad input is refused and counted; repeats and late readings are handled', async () => {
    const { home, hub, key, refs } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '7 Glaze Row, Kilnford',
      await technicianId(),
    );
    const other = await w().installSimulatedHome('CU-DEMO-01', '9 Glaze Row, Kilnford', await technicianId());
    const metrics = w().ingestor.metrics;
    const before = structuredClone(metrics);
    const device = await connectHub(hub.device_ref, key, home.reference);
    const sensor = refs.get('kitchen-motion')!;
    const now = Date.now();
    const reading = (seq: number, minutesAgo = 0) => ({
      seq,
      time: new Date(now - minutesAgo * 60_000).toISOString(),
      type: 'motion',
      value: 1,
    });
    await device.publish(sensor, reading(1));
    await device.publish(sensor, reading(1)); // the same reading again
    await device.publish(sensor, reading(2, 60 * 24 * 3)); // three days late, after a broadband cut
    await device.publish(sensor, {
      ...reading(3),
      time: new Date(now + 10 * 365 * 86_400_000).toISOString(),
    });
    await device.publish(sensor, { ...reading(4), type: 'smell' });
    await device.publish('SN-NONE-00', reading(5));
    await device.client.publishAsync(`kiln/homes/${home.reference}/sensors/${sensor}/events`, 'not json{', {
      qos: 1,
    });
    if (external) {
      await device.publish(sensor, reading(6), { signWith: 'a-wrong-key' });
      // A hub of one home signing for another home's sensor.
      await device.publish(other.refs.get('kitchen-motion')!, reading(7), { home: other.home.reference });
    }
    await eventually(async () => metrics.received - before.received >= (external ? 9 : 7));
    await w().ingestor.drain();
    await eventually(async () => metrics.stored - before.stored >= 2);
    assert.equal(metrics.stored - before.stored, 2);
    assert.equal(metrics.duplicates - before.duplicates, 1);
    assert.equal(metrics.rejected.clock - before.rejected.clock, 1);
    assert.equal(metrics.rejected.schema - before.rejected.schema, 1);
    assert.equal(metrics.rejected.malformed - before.rejected.malformed, 1);
    assert.equal(metrics.rejected.unknown_device - before.rejected.unknown_device, 1);
    if (external) {
      assert.equal(metrics.rejected.bad_signature - before.rejected.bad_signature, 1);
      assert.equal(metrics.rejected.wrong_home - before.rejected.wrong_home, 1);
    }
    assert.equal(await store.countEvents(kiln.platform.db, home.id), 2);
    await device.client.endAsync();

    if (!external) {
      // Kiln's own broker: a wrong key is refused at connection, another home's topic ends it.
      await assert.rejects(
        mqtt.connectAsync(brokerUrl, { username: hub.device_ref, password: 'wrong', reconnectPeriod: 0 }),
      );
      const intruder = await connectHub(hub.device_ref, key, home.reference);
      const closed = new Promise<void>((resolve) => intruder.client.once('close', () => resolve()));
      intruder.client.publish(
        `kiln/homes/${other.home.reference}/sensors/${other.refs.get('kitchen-motion')}/events`,
        JSON.stringify(reading(8)),
        { qos: 1 },
      );
      await closed;
      intruder.client.end(true);
      assert.ok(metrics.rejected.wrong_home - before.rejected.wrong_home >= 1);
    }

    const tech = await staffClient(kiln, technicianEmail);
    const page_ = page((await tech.get('/staff/wellbeing/ingestion')).body);
    assert.match(page_.text(), /Readings refused, by reason/);
  });

  test('hubs that cannot speak MQTT send batches over HTTP', async () => {
    const { home, hub, key, refs } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '11 Glaze Row, Kilnford',
      await technicianId(),
    );
    const url = `/api/v1/wellbeing/hubs/${hub.device_ref}/readings`;
    const time = new Date().toISOString();
    const readings = [
      { sensor: refs.get('kettle-plug')!, seq: 1, time, type: 'power', value: 2200 },
      { sensor: refs.get('kettle-plug')!, seq: 2, time, type: 'power', value: 0 },
      { sensor: 'SN-NONE-00', seq: 1, time, type: 'motion', value: 1 },
    ];
    const noKey = await kiln.app.inject({ method: 'POST', url, payload: { readings } });
    assert.equal(noKey.statusCode, 401);
    assert.match(String(noKey.headers['content-type']), /application\/problem\+json/);
    const bad = await kiln.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}` },
      payload: { readings: [{ sensor: refs.get('kettle-plug'), seq: -1 }] },
    });
    assert.equal(bad.statusCode, 400);
    assert.ok(bad.json().errors.length >= 1);
    const ok = await kiln.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}` },
      payload: { readings },
    });
    assert.equal(ok.statusCode, 202);
    assert.equal(ok.json().accepted, 2);
    assert.deepEqual(
      ok.json().rejected.map((r: { index: number; reason: string }) => [r.index, r.reason]),
      [[2, 'unknown_device']],
    );
    await w().ingestor.drain();
    assert.equal(await store.countEvents(kiln.platform.db, home.id), 2);
  });
});

describe('routines, alerts and the care team', () => {
  test('no movement by the usual time raises a welfare check the care team works to a false alarm', async () => {
    const { home, refs } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '2 Potters Yard, Kilnford',
      await technicianId(),
    );
    // Four weeks of an ordinary routine, ending yesterday; today only the hub is heard.
    const today = routinePosition(new Date()).day;
    const sim = simulateHome(42, 29, false);
    const history = { ...sim, days: sim.days.slice(0, 28) };
    await w().bulkWrite(home.id, feed(history, addDays(today, -28), refs));
    const model = await w().service.learnHome(home.id);
    assert.equal(model.days, 28);
    assert.ok(model.upWeekday && model.upWeekday.n >= 7);
    const dayIsWeekend = routinePosition(instantOf(today, 600)).weekend;
    const usual = (dayIsWeekend ? model.upWeekend : model.upWeekday)!;
    const checkAt = instantOf(today, usual.median + 75);
    // This morning: out of bed before the usual time, a step into the hallway, then nothing; the
    // hub, the thermometer and the sensors' hourly check-ins carry on.
    const fall = usual.median - 100;
    const quiet = sim.days[28]!.readings.filter(
      (r) => r.kind === 'hub' || r.kind === 'temperature' || r.kind === 'check',
    );
    const morning = [
      ...quiet,
      { t: fall, kind: 'bed' as const, room: 'bedroom' as const, sensorId: 'bed-sensor', value: 0 },
      {
        t: fall + 1,
        kind: 'motion' as const,
        room: 'hallway' as const,
        sensorId: 'hallway-motion',
        value: 1,
      },
    ].sort((a, b) => a.t - b.t);
    const seqs = new Map([...refs.values()].map((ref) => [ref, 1_000_000]));
    await w().bulkWrite(
      home.id,
      feed({ ...sim, days: [{ weekend: dayIsWeekend, readings: morning }] }, today, refs, seqs),
    );
    const raised = await w().service.evaluateHome(home.id, checkAt);
    const alert = raised.find((a) => a.type === 'no_activity');
    assert.ok(alert, `expected a welfare check, got ${raised.map((a) => a.type).join(', ')}`);
    assert.match(
      alert.explanation,
      /^No movement around the home by \d{1,2}:\d\d[ap]m \(only 1 since 4am\), and the bed sensor says the bed is empty\. Usually up by/,
    );
    assert.equal(alert.severity, 'high');
    // Judging again does not raise it twice.
    assert.equal(
      (await w().service.evaluateHome(home.id, checkAt)).filter((a) => a.type === 'no_activity').length,
      0,
    );

    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    const view = page((await worker.get(`/staff/wellbeing/alerts/${alert.reference}`)).body);
    assert.match(view.text(), /Usually up by/);
    const empty = await worker.post(`/staff/wellbeing/alerts/${alert.reference}/actions`, {});
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), ['Choose what you did']);
    assert.equal(
      (await worker.post(`/staff/wellbeing/alerts/${alert.reference}/actions`, { action: 'acknowledged' }))
        .statusCode,
      303,
    );
    assert.equal(
      (
        await worker.post(`/staff/wellbeing/alerts/${alert.reference}/actions`, {
          action: 'called',
          note: 'No answer',
        })
      ).statusCode,
      303,
    );
    const twice = await worker.post(`/staff/wellbeing/alerts/${alert.reference}/actions`, {
      action: 'acknowledged',
    });
    assert.equal(twice.statusCode, 409);
    const resolved = await worker.post(`/staff/wellbeing/alerts/${alert.reference}/resolve`, {
      outcome: 'false_alarm',
      note: 'Stayed with her daughter last night',
    });
    assert.equal(resolved.statusCode, 303);
    const row = await store.alertByReference(kiln.platform.db, alert.reference);
    assert.equal(row?.status, 'resolved');
    assert.equal(row?.false_alarm, true);
    // The false alarm gives this home's welfare check a quarter of an hour more.
    const routine = await store.routineOf(kiln.platform.db, home.id);
    assert.equal(routine?.model.slack.no_activity, 15);
    const resolvedEvent = await kiln.platform.db
      .selectFrom('domain_events')
      .select('id')
      .where('type', '=', 'wellbeing.alert_resolved')
      .where('subject_id', '=', alert.id)
      .executeTakeFirst();
    assert.ok(resolvedEvent);
    const actions = (await store.actionsOf(kiln.platform.db, alert.id)).map((a) => a.action);
    assert.deepEqual(actions, ['raised', 'acknowledged', 'called', 'resolved']);
  });

  test('an alert nobody acknowledges is escalated once', async () => {
    const { home, hub, refs } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '4 Potters Yard, Kilnford',
      await technicianId(),
    );
    const time = new Date().toISOString();
    await w().bulkWrite(home.id, [
      { sensor: refs.get('bed-sensor')!, seq: 1, time, type: 'heartbeat', value: 1, battery: 5 },
      { sensor: hub.device_ref, seq: 1, time, type: 'heartbeat', value: 1 },
    ]);
    const raised = await w().service.evaluateHome(home.id);
    const alert = raised.find((a) => a.type === 'low_battery');
    assert.ok(alert);
    // Low-severity alerts wait for the working day; only urgent and soon ones are escalated.
    assert.equal(await w().service.escalate(new Date(Date.now() + 3_600_000)), 0);
    await store.updateAlert(kiln.platform.db, alert.id, { severity: 'high' });
    assert.equal(await w().service.escalate(new Date(Date.now() + 3_600_000)), 1);
    assert.equal(await w().service.escalate(new Date(Date.now() + 7_200_000)), 0);
    const row = await store.alertByReference(kiln.platform.db, alert.reference);
    assert.ok(row?.escalated_at);
  });
});

describe('family and reminders', () => {
  test('family see a daily summary, with the person’s consent, not raw readings', async () => {
    const { home } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '6 Potters Yard, Kilnford',
      await technicianId(),
    );
    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    await worker.get(`/staff/wellbeing/homes/${home.reference}`);
    const bad = await worker.post(`/staff/wellbeing/homes/${home.reference}/family`, {
      name: '',
      relationship: 'Daughter',
      email: 'x',
    });
    assert.equal(bad.statusCode, 400);
    assert.ok(page(bad.body).errorSummary().includes('Enter the family member’s name'));
    const ok = await worker.post(`/staff/wellbeing/homes/${home.reference}/family`, {
      name: 'Jo Moreton',
      relationship: 'Daughter',
      email: 'jo.moreton@example.com',
    });
    assert.equal(ok.statusCode, 303);
    const message = await kiln.platform.db
      .selectFrom('notifications')
      .select('body')
      .where('recipient', '=', 'jo.moreton@example.com')
      .executeTakeFirstOrThrow();
    const link = /http:\/\/localhost:3000(\/wellbeing\/family\/[A-Za-z0-9_-]+)/.exec(
      message.body as string,
    )![1]!;
    const family = await kiln.app.inject({ method: 'GET', url: link });
    assert.equal(family.statusCode, 200);
    const view = page(family.body);
    assert.match(view.heading(), /How Alex Moreton’s days went/);
    assert.match(view.text(), /Today so far/);
    assert.equal(
      (await kiln.app.inject({ method: 'GET', url: '/wellbeing/family/not-a-token' })).statusCode,
      404,
    );
    // Consent withdrawn: the link stops working.
    await w().service.setFamilyConsent({ type: 'staff', id: await technicianId() }, home.reference, false);
    assert.equal((await kiln.app.inject({ method: 'GET', url: link })).statusCode, 404);
  });

  test('reminders are sent, confirmed or missed, and a pattern of misses raises an alert', async () => {
    const { home } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '8 Potters Yard, Kilnford',
      await technicianId(),
    );
    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    await worker.get(`/staff/wellbeing/homes/${home.reference}`);
    const now = new Date();
    const hhmm = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(now);
    const bad = await worker.post(`/staff/wellbeing/homes/${home.reference}/reminders`, {
      kind: 'medication',
      label: 'tablets',
      timeOfDay: '25:00',
      channel: 'sms',
      phone: '07700900982',
    });
    assert.equal(bad.statusCode, 400);
    assert.ok(page(bad.body).errorSummary().includes('Enter a time in 24-hour format, like 08:30'));
    for (const label of ['morning tablets', 'a glass of water', 'eye drops', 'inhaler']) {
      const r = await worker.post(`/staff/wellbeing/homes/${home.reference}/reminders`, {
        kind: label === 'a glass of water' ? 'hydration' : 'medication',
        label,
        timeOfDay: hhmm,
        channel: label === 'inhaler' ? 'voice' : 'sms',
        phone: '07700 900 982',
      });
      assert.equal(r.statusCode, 303);
    }
    // Counted for this home only: the demo homes' reminders may be due at this time of day too.
    const promptsOfHome = async () =>
      kiln.platform.db
        .selectFrom('wellbeing_prompts')
        .select('status')
        .where('home_id', '=', home.id)
        .execute();
    await w().service.runReminders(now);
    assert.equal((await promptsOfHome()).length, 4);
    await w().service.runReminders(now);
    assert.equal((await promptsOfHome()).length, 4, 'each prompt is sent once');
    const sms = await kiln.platform.db
      .selectFrom('notifications')
      .select('body')
      .where('template', '=', 'wellbeing-prompt-sms')
      .where('body', 'like', '%morning tablets%')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    const link = /(\/wellbeing\/prompts\/[A-Za-z0-9_-]+)/.exec(sms.body as string)![1]!;
    const client = new (await import('../../../test/support/http.ts')).Client(kiln.app);
    const prompt = await client.get(link);
    assert.equal(prompt.statusCode, 200);
    const confirmed = await client.post(link, {});
    assert.equal(confirmed.statusCode, 200);
    assert.match(page(confirmed.body).text(), /Thank you/);

    // The other three are never confirmed: an hour later they are missed, and that is a pattern.
    await w().service.runReminders(new Date(now.getTime() + 61 * 60_000));
    assert.deepEqual((await promptsOfHome()).map((p) => p.status).sort(), [
      'confirmed',
      'missed',
      'missed',
      'missed',
    ]);
    const alert = (await w().service.queue()).find(
      (a) => a.home_id === home.id && a.type === 'missed_prompts',
    );
    assert.ok(alert);
    assert.match(alert.explanation, /3 of the last 4 reminders this week were not confirmed/);
  });
});

describe('the database unavailable for a while', () => {
  test('readings wait in a bounded buffer, senders are held back, none is lost', async () => {
    const { home, refs } = await w().installSimulatedHome(
      'CU-DEMO-01',
      '10 Potters Yard, Kilnford',
      await technicianId(),
    );
    const { DeviceDirectory, Ingestor } = await import('./ingest.ts');
    let down = true;
    const ingestor = new Ingestor({
      // The edge that fails: the connection to the database.
      db: () => {
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        return kiln.platform.db;
      },
      directory: new DeviceDirectory(() => kiln.platform.db),
      secret: 'unused',
      maxBuffered: 1000,
      batchSize: 500,
      flushMs: 20,
    });
    const sensor = refs.get('living-motion')!;
    const topic = `kiln/homes/${home.reference}/sensors/${sensor}/events`;
    const hubDevice = await w().directory.get(refs.get('hub')!);
    const time = new Date().toISOString();
    let sent = 0;
    const sender = (async () => {
      for (let seq = 1; seq <= 2500; seq++) {
        await ingestor.room();
        await ingestor.accept(topic, { seq, time, type: 'motion', value: 1 }, hubDevice!);
        sent++;
      }
    })();
    await eventually(async () => ingestor.full);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sent, 1000, 'the sender waits once the buffer is full');
    assert.ok(ingestor.metrics.databaseErrors >= 1);
    down = false;
    await sender;
    await ingestor.drain();
    assert.equal(ingestor.metrics.stored, 2500);
    assert.ok(ingestor.metrics.bufferHighWater <= 1000);
    assert.equal(await store.countEvents(kiln.platform.db, home.id), 2500);
    await ingestor.close();
  });
});
