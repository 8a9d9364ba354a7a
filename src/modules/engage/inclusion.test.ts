import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';

describe('Engage: getting online, lending devices, the connectivity register', () => {
  let kiln: TestKiln;

  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('the finder lists places near a postcode, nearest first, with opening hours', async () => {
    const visitor = new Client(kiln.app);
    const start = await visitor.get('/get-online');
    assert.equal(start.statusCode, 200);
    const found = await visitor.get('/get-online/places?postcode=kf11cc&need=computers');
    assert.equal(found.statusCode, 200);
    const p = page(found.body);
    assert.equal(p.heading(), 'Places near KF1 1CC');
    const names = p.root.querySelectorAll('main h2 a').map((a) => a.text.trim());
    assert.equal(names[0], 'Kilnford Central Library');
    assert.ok(!names.includes('Burslow Community Lounge'), 'places without public computers are left out');
    const place = page((await visitor.get('/get-online/places/kilnford-central-library')).body);
    assert.match(place.text(), /Monday\s*9am to 7pm/);
    assert.match(place.text(), /Sunday\s*Closed/);
  });

  test('a postcode that does not exist, or is not a postcode, is refused with an error summary', async () => {
    const visitor = new Client(kiln.app);
    const unknown = await visitor.get('/get-online/places?postcode=ZZ9+9ZZ');
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual(page(unknown.body).errorSummary(), [
      'We cannot find ZZ9 9ZZ in Kilnford. Check the postcode, or search by a Kilnford postcode near you',
    ]);
    assert.equal(page(unknown.body).root.querySelector('#postcode')?.getAttribute('value'), 'ZZ9 9ZZ');
    const nonsense = await visitor.get('/get-online/places?postcode=hello');
    assert.deepEqual(page(nonsense.body).errorSummary(), ['Enter a real postcode, like KF1 2AB']);
    const empty = await visitor.get('/get-online/places?postcode=');
    assert.deepEqual(page(empty.body).errorSummary(), ['Enter a postcode']);
  });

  test('"help me do this online" becomes a case for the libraries team, once per form', async () => {
    const visitor = new Client(kiln.app);
    await visitor.get('/get-online/help');
    const missing = await visitor.post('/get-online/help', {
      name: '',
      task: '',
      contactBy: 'phone',
      phone: '12',
    });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(page(missing.body).errorSummary(), [
      'Enter your name',
      'Tell us what you need to do online',
      'Enter a UK phone number, like 01632 960 001 or 07700 900 982',
    ]);
    const fields = {
      name: 'Pat Coley',
      task: 'Apply for a blue badge',
      contactBy: 'email',
      email: 'pat.coley@example.com',
      place: 'etherley-library',
    };
    const sent = await visitor.post('/get-online/help', fields);
    assert.equal(sent.statusCode, 303);
    const confirmation = page((await visitor.follow(sent)).body);
    const reference = confirmation.root.querySelector('.govuk-panel__body strong')!.text.trim();
    const found = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.equal(found?.team_code, 'libraries');
    assert.equal(found?.service_slug, 'help-me-do-this-online');
    // The agent picks it up from the libraries queue like any other case.
    const librarian = await staffClient(kiln, 'librarian@kilnford.example');
    const queue = await librarian.get('/staff/cases?team=libraries');
    assert.match(page(queue.body).text(), new RegExp(reference));
  });

  test('the honeypot field refuses a program filling in the form', async () => {
    const bot = new Client(kiln.app);
    await bot.get('/get-online/help');
    const refused = await bot.post('/get-online/help', {
      name: 'Bot',
      task: 'Spam',
      contactBy: 'email',
      email: 'bot@example.com',
      website: 'http://spam.example',
    });
    assert.equal(refused.statusCode, 400);
    assert.equal(page(refused.body).heading(), 'Your request could not be sent');
  });

  test('the honeypot field refuses a program responding to a consultation, and nothing is stored', async () => {
    const count = async () =>
      Number(
        (await sql<{ n: number }>`select count(*)::int as n from engage_responses`.execute(kiln.platform.db))
          .rows[0]!.n,
      );
    const before = await count();
    const bot = new Client(kiln.app);
    await bot.get('/consultations/library-opening-hours-2027/respond');
    for (const action of ['submit', 'save']) {
      const refused = await bot.post('/consultations/library-opening-hours-2027/respond', {
        action,
        website: 'http://spam.example',
      });
      assert.equal(refused.statusCode, 400);
      assert.equal(page(refused.body).heading(), 'Your response could not be accepted');
    }
    assert.equal(await count(), before);
  });

  test('a device loan: lent to an eligible borrower, not lent twice, reminded when overdue, returned', async () => {
    const librarian = await staffClient(kiln, 'librarian@kilnford.example');
    const devicesPage = await librarian.get('/staff/engage/devices');
    assert.equal(devicesPage.statusCode, 200);

    const added = await librarian.post('/staff/engage/devices', {
      newAssetTag: 'KLN-LT-900',
      kind: 'laptop',
      model: 'Test laptop',
      notes: '',
    });
    assert.equal(added.statusCode, 303);
    const duplicate = await librarian.post('/staff/engage/devices', {
      newAssetTag: 'kln-lt-900',
      kind: 'laptop',
      model: 'Test laptop',
    });
    assert.deepEqual(page(duplicate.body).errorSummary(), [
      'A device with this asset tag is already in stock',
    ]);

    const ineligible = await librarian.post('/staff/engage/loans', {
      assetTag: 'KLN-LT-900',
      borrowerName: 'Sam Priddy',
      borrowerEmail: 'sam.priddy@example.com',
    });
    assert.equal(ineligible.statusCode, 400);
    assert.deepEqual(page(ineligible.body).errorSummary(), ['Select why the borrower is eligible']);

    const lent = await librarian.post('/staff/engage/loans', {
      assetTag: 'KLN-LT-900',
      borrowerName: 'Sam Priddy',
      borrowerEmail: 'sam.priddy@example.com',
      eligibility: 'universal_credit',
    });
    assert.equal(lent.statusCode, 303, page(lent.body).errorSummary().join());
    const loanPage = page((await librarian.follow(lent)).body);
    const reference = loanPage.heading().replace('Loan ', '');
    assert.match(reference, /^LN-/);

    const twice = await librarian.post('/staff/engage/loans', {
      assetTag: 'KLN-LT-900',
      borrowerName: 'Someone Else',
      borrowerEmail: 'else@example.com',
      eligibility: 'referred',
    });
    assert.equal(twice.statusCode, 409);
    assert.deepEqual(page(twice.body).errorSummary(), ['KLN-LT-900 is not available to lend (on loan)']);

    // Not yet due: no reminder. Thirty days on: one reminder, and not another the same day.
    const engage = kiln.services.engage.service;
    const sentTo = async () =>
      (await kiln.platform.notify.list(kiln.platform.db, { recipient: 'sam.priddy@example.com' })).filter(
        (m) => m.template === 'engage-loan-overdue',
      );
    await engage.devices.remindOverdue(new Date());
    assert.equal((await sentTo()).length, 0);
    const later = new Date(Date.now() + 30 * 86_400_000);
    await engage.devices.remindOverdue(later);
    await engage.devices.remindOverdue(new Date(later.getTime() + 3_600_000));
    const reminders = await sentTo();
    assert.equal(reminders.length, 1);
    assert.match(reminders[0]!.body, new RegExp(`loan ${reference}`));
    assert.equal((await engage.devices.loan(reference))!.reminders_sent, 1);
    // The job runs the same reminder through the queue.
    assert.ok(kiln.platform.jobs.names().includes('engage.housekeeping'));

    const noCondition = await librarian.post(`/staff/engage/loans/${reference}/return`, {});
    assert.deepEqual(page(noCondition.body).errorSummary(), ['Select the condition it came back in']);
    const returned = await librarian.post(`/staff/engage/loans/${reference}/return`, {
      condition: 'damaged',
      note: 'Cracked screen',
    });
    assert.equal(returned.statusCode, 303);
    const device = (await engage.devices.list()).find((d) => d.asset_tag === 'KLN-LT-900');
    assert.equal(device?.status, 'repair');
    const again = await librarian.post(`/staff/engage/loans/${reference}/return`, { condition: 'good' });
    assert.equal(again.statusCode, 409);
    assert.deepEqual(page(again.body).errorSummary(), ['This device has already been returned']);

    const { rows } = await sql<{ type: string }>`
      select type from domain_events where type like 'engage.device_%' order by id`.execute(kiln.platform.db);
    assert.deepEqual(
      rows.map((r) => r.type).slice(-3),
      ['engage.device_added', 'engage.device_loaned', 'engage.device_returned'].slice(-3),
    );
  });

  test('the connectivity register: a building connected publishes the share connected for insights', async () => {
    const before = await kiln.services.engage.service.connectivity.measures();
    // Insights' panel: the weeks of 9 and 16 November 2026, whatever else is on the register.
    const fibrePanel = async () =>
      (
        await kiln.services.insights.service.measures({
          from: '2026-11-09',
          to: '2026-11-22',
          ward: null,
          service: null,
          team: null,
        })
      ).find((p) => p.id === 'full-fibre')!;
    const panelBefore = await fibrePanel();
    assert.equal(panelBefore.hasData, true);
    assert.deepEqual(
      panelBefore.csv.rows.map((r) => r.buildings),
      [before.councilBuildings, before.councilBuildings],
    );
    const analyst = await staffClient(kiln, 'analyst@kilnford.example');
    const form = await analyst.get('/staff/engage/connectivity');
    assert.equal(form.statusCode, 200);
    const noDate = await analyst.post('/staff/engage/connectivity', { code: 'KCC-003', status: 'connected' });
    assert.equal(noDate.statusCode, 400);
    assert.deepEqual(page(noDate.body).errorSummary(), ['Enter the date it was connected']);
    const saved = await analyst.post('/staff/engage/connectivity', {
      code: 'KCC-003',
      status: 'connected',
      connectedDate: '2026-11-20',
      bandwidthMbps: '1000',
    });
    assert.equal(saved.statusCode, 303, page(saved.body).errorSummary().join());
    const afterMeasures = await kiln.services.engage.service.connectivity.measures();
    assert.equal(afterMeasures.councilConnected, before.councilConnected + 1);

    const { rows } = await sql<{ payload: Record<string, unknown> }>`
      select payload from domain_events where type = 'engage.building_connectivity_changed' order by id desc limit 1`.execute(
      kiln.platform.db,
    );
    assert.equal(rows[0]!.payload.to, 'connected');
    assert.equal(rows[0]!.payload.councilConnected, afterMeasures.councilConnected);
    assert.equal(rows[0]!.payload.councilBuildings, afterMeasures.councilBuildings);

    // Connected on 20 November: the week of the 16th gains one building, the week before does not.
    const panelAfter = await fibrePanel();
    const connected = (panel: typeof panelAfter) => panel.csv.rows.map((r) => Number(r.connected));
    assert.deepEqual(connected(panelAfter), [connected(panelBefore)[0], connected(panelBefore)[1]! + 1]);
    assert.match(
      panelAfter.headline,
      new RegExp(
        `of ${afterMeasures.councilBuildings} council buildings on full fibre at the end of the period \\(${connected(panelAfter)[1]} connected\\)$`,
      ),
    );
    assert.match(panelAfter.chart!, /role="img"/);
    const dashboard = await analyst.get('/staff/insights');
    assert.ok(
      page(dashboard.body)
        .root.querySelectorAll('main h2')
        .some((h) => h.text.trim() === 'Council buildings on full fibre'),
    );

    const open = await new Client(kiln.app).get('/api/v1/engage/connectivity');
    assert.equal(open.statusCode, 200);
    const data = JSON.parse(open.body) as {
      measures: { councilConnected: number };
      sites: Array<{ code: string; fibreStatus: string }>;
    };
    assert.equal(data.measures.councilConnected, afterMeasures.councilConnected);
    assert.equal(data.sites.find((s) => s.code === 'KCC-003')?.fibreStatus, 'connected');
  });

  test('a dark fibre lease enquiry is a case for the digital team', async () => {
    const visitor = new Client(kiln.app);
    await visitor.get('/connectivity/dark-fibre');
    const sent = await visitor.post('/connectivity/dark-fibre', {
      organisation: 'Kilnford Wireless Ltd',
      name: 'Ali Renshaw',
      email: 'ali@kilnford-wireless.example',
      phone: '',
      route: 'Civic Centre to Wharf Street',
      purpose: 'Backhaul for a community Wi-Fi mast',
    });
    assert.equal(sent.statusCode, 303, page(sent.body).errorSummary().join());
    const reference = page((await visitor.follow(sent)).body)
      .root.querySelector('.govuk-panel__body strong')!
      .text.trim();
    const found = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.equal(found?.team_code, 'digital');
  });
});

describe('Engage: a flood of responses is rate limited', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp({ RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '3' });
  });
  after(async () => kiln.close());

  test('the fourth post in a minute is refused with a clear message', async () => {
    const flood = new Client(kiln.app);
    await flood.get('/consultations/library-opening-hours-2027/respond');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await flood.post('/consultations/library-opening-hours-2027/respond', { action: 'submit' });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) assert.equal(page(res.body).heading(), 'Too many requests');
    }
    assert.deepEqual(statuses, [400, 400, 400, 429]);
  });
});
