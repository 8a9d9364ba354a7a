import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { E2e, type KilnPage } from './support/journey.ts';
import { emailedLink, signInStaff } from './support/people.ts';

// A care technician installs sensors in a home on a phone; the hub reports a sensor's battery
// running out over MQTT; a social worker sees the alert with its explanation, records the call
// and resolves it; a family member opens the daily summary from their email with JavaScript off.
// Every page is checked with axe.
describe('Wellbeing: install a home, an alert from MQTT to the care team, the family view', () => {
  let e2e: E2e;
  let technician: KilnPage;
  let homeReference = '';
  let hub = '';
  let key = '';
  let sensor = '';

  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('a technician installs the hub and a sensor on a phone', async () => {
    technician = await e2e.visitor({ viewport: 'mobile', javaScript: true });
    await signInStaff(technician, 'technician@kilnford.example');
    await technician.goto('/staff/wellbeing/homes');
    await technician.submit('Install sensors in a home');
    assert.equal(await technician.heading(), 'Install sensors in a home');
    await technician.submit('Set up home', { status: 400 });
    assert.deepEqual(await technician.errorSummary(), [
      'Enter the resident’s customer reference, like CU-DEMO-01',
      'Enter the address of the home',
      'Choose how the person gave consent',
      'Confirm that you have recorded the person’s consent',
      'Choose whether family may see a daily summary',
    ]);
    await technician.fill('Customer reference', 'CU-DEMO-01');
    await technician.fill('Address of the home', '21 Slip House Lane, Kilnford KF3 1JT');
    await technician.choose('Signed consent form');
    await technician.choose('Yes');
    await technician.choose(
      'I have explained what the sensors record and who sees it, and recorded the consent in the care plan',
    );
    await technician.submit('Set up home');
    assert.equal(await technician.heading(), 'Alex Moreton');
    homeReference = new URL(technician.page.url()).pathname.split('/').pop()!;

    await technician.submit('Add the hub');
    assert.equal(await technician.heading(), 'Hub added');
    const text = await technician.mainText();
    hub = /Hub reference \(user name\)\s*(HB-[A-Z0-9-]+)/.exec(text)![1]!;
    key = /Hub key \(password\)\s*([A-Za-z0-9_-]{40,})/.exec(text)![1]!;
    await technician.follow('Continue to add sensors');

    await technician.submit('Add sensor', { status: 400 });
    assert.deepEqual(await technician.errorSummary(), ['Choose the type of sensor', 'Choose the room']);
    await technician.choose('Bed occupancy pad');
    await technician.page.getByLabel('Room').selectOption('bedroom');
    await technician.submit('Add sensor');
    const added = await technician.mainText();
    sensor = /\((SN-[A-Z0-9-]+)\)/.exec(added)![1]!;
    assert.match(added, /Bed occupancy pad/);
  });

  test('the hub reports over MQTT and the care team works the alert', async () => {
    const port = e2e.kiln.services.wellbeing.mqtt()!.port!;
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: hub,
      password: key,
      reconnectPeriod: 0,
    });
    await device.publishAsync(
      `kiln/homes/${homeReference}/sensors/${sensor}/events`,
      JSON.stringify({ seq: 1, time: new Date().toISOString(), type: 'heartbeat', value: 1, battery: 8 }),
      { qos: 1 },
    );
    await device.endAsync();

    const worker = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(worker, 'socialworker@kilnford.example');
    const deadline = Date.now() + 20_000;
    for (;;) {
      await worker.goto('/staff/wellbeing');
      if ((await worker.mainText()).includes('battery is at 8%')) break;
      assert.ok(Date.now() < deadline, 'the alert never reached the queue');
      await new Promise((r) => setTimeout(r, 500));
    }
    await worker.follow(/^Low battery/);
    assert.match(await worker.heading(), /^Low battery: Alex Moreton/);
    await worker.submit('Record', { status: 400 });
    assert.deepEqual(await worker.errorSummary(), ['Choose what you did']);
    await worker.choose('Called the person');
    await worker.fill('Note (optional)', 'Family will change the battery today');
    await worker.submit('Record');
    assert.match(await worker.mainText(), /Called by Grace Nwosu: Family will change the battery today/);
    await worker.choose('Family informed and taking it from here');
    await worker.submit('Resolve alert');
    assert.equal(await worker.heading(), 'Wellbeing alerts');

    // The daughter is sent the daily summary.
    await worker.goto(`/staff/wellbeing/homes/${homeReference}`);
    await worker.fill('Name', 'Jo Moreton');
    await worker.fill('Relationship', 'Daughter');
    await worker.fill('Email address', 'jo.moreton@example.com');
    await worker.submit('Send them a link');
    assert.match(await worker.mainText(), /Jo Moreton has been emailed a link/);
  });

  test('the family read a daily summary, without JavaScript', async () => {
    const family = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    const link = await emailedLink(family, 'jo.moreton@example.com', /\/wellbeing\/family\/[\w-]+$/);
    await family.goto(link);
    assert.equal(await family.heading(), 'How Alex Moreton’s days went');
    assert.match(await family.mainText(), /Today so far/);
  });
});
