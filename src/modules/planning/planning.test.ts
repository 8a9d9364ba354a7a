import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { specsDir } from '../../../test/support/specs.ts';
import { answer, postMultipart, samplePdf, signInResident, squareGeoJson } from './test-support.ts';

const resident = 'resident@kilnford.example';

function odpValidator(): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(specsDir, 'odp-planning/application.json'), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(schema);
}

function assertValidOdp(validate: ValidateFunction, document: unknown, what: string) {
  const ok = validate(document);
  assert.ok(ok, `${what}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}`);
}

async function sentEmails(kiln: TestKiln, recipient: string) {
  return kiln.platform.notify.list(kiln.platform.db, { recipient });
}

describe('planning: a householder applies, pays, and follows it to a decision', () => {
  let kiln: TestKiln;
  let validate: ValidateFunction;
  let applicant: Client;
  let officer: Client;
  let reference = '';
  let base = '';

  before(async () => {
    kiln = await startTestApp();
    validate = odpValidator();
  });
  after(async () => kiln?.close());

  test('the applicant answers the questions; bad answers are explained and nothing is lost', async () => {
    applicant = await signInResident(kiln, resident);
    const start = await applicant.get('/planning/apply');
    assert.equal(page(start.body).heading(), 'Apply for planning permission');
    const started = await applicant.post('/planning/apply', { role: 'applicant' });
    assert.equal(started.statusCode, 303);
    base = String(started.headers.location);
    reference = base.split('/').at(-1)!;
    assert.match(reference, /^KF-\d{2}-\d{5}$/);

    // Find the property by postcode, with its UPRN.
    const found = await applicant.get(`${base}/address?lookup=KF1%203CD`);
    assert.match(found.body, /value="100090001012"/);
    const none = await applicant.get(`${base}/address?lookup=ZZ9%209ZZ`);
    assert.equal(none.statusCode, 400);
    let next = await answer(
      applicant,
      `${base}/address?lookup=KF1%203CD`,
      { lookup: 'KF1 3CD', uprn: '100090001012' },
      `${base}/address`,
    );
    assert.equal(next, `${base}/type`);
    next = await answer(applicant, next, { choice: 'householder' });
    assert.equal(next, `${base}/details`);

    // The questions follow from "extend or alter a house".
    const details = await applicant.get(next);
    assert.match(page(details.body).text(), /What works are you planning\?/);
    const empty = await applicant.post(next, {});
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), [
      'Choose the type of property',
      'Choose the works you are planning',
      'Describe the project',
    ]);
    const noArea = await applicant.post(next, {
      propertyType: 'residential.house.semiDetached',
      projectTypes: ['extend.rear.rear'],
      description: 'Single-storey rear extension',
    });
    assert.deepEqual(page(noArea.body).errorSummary(), ['Enter the floor area the extension adds']);
    next = await answer(applicant, next, {
      propertyType: 'residential.house.semiDetached',
      projectTypes: ['extend.rear.rear'],
      extensionAreaM2: '18',
      dwellingsAltered: '1',
      description: 'Single-storey rear extension with a flat roof',
    });
    assert.equal(next, `${base}/boundary`);

    // The boundary: not crossing itself, inside Kilnford.
    await applicant.get(next);
    const crossing = JSON.stringify({
      type: 'Polygon',
      coordinates: [
        [
          [-2.15, 52.95],
          [-2.149, 52.951],
          [-2.149, 52.95],
          [-2.15, 52.951],
          [-2.15, 52.95],
        ],
      ],
    });
    const crossed = await applicant.post(next, { boundary: crossing });
    assert.equal(crossed.statusCode, 400);
    assert.deepEqual(page(crossed.body).errorSummary(), [
      'The site boundary crosses itself. Draw the outline without crossing lines',
    ]);
    const away = await applicant.post(next, { boundary: squareGeoJson(51.5, -0.12) });
    assert.match(page(away.body).errorSummary()[0]!, /outside Kilnford/);
    const nothing = await applicant.post(next, {});
    assert.deepEqual(page(nothing.body).errorSummary(), [
      'Mark the site boundary on the map, or upload a location plan',
    ]);
    const row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    next = await answer(applicant, next, { boundary: squareGeoJson(row.lat!, row.lng!) });
    assert.equal(next, `${base}/documents`);

    // Documents: a file that is not a PDF or image is refused; plans and elevations are kept.
    await applicant.get(next);
    const wrong = await postMultipart(
      kiln,
      applicant,
      next,
      { docType: 'floorPlan.proposed' },
      {
        document: { name: 'plan.txt', type: 'text/plain', content: Buffer.from('not a drawing') },
      },
    );
    assert.equal(wrong.statusCode, 400);
    assert.match(page(wrong.body).errorSummary()[0]!, /must be a PDF, JPG, PNG/);
    const untyped = await postMultipart(
      kiln,
      applicant,
      next,
      { docType: '' },
      {
        document: { name: 'plan.pdf', type: 'application/pdf', content: await samplePdf() },
      },
    );
    assert.deepEqual(page(untyped.body).errorSummary(), ['Choose what the document shows']);
    for (const docType of ['floorPlan.proposed', 'elevations.proposed']) {
      const ok = await postMultipart(
        kiln,
        applicant,
        next,
        { docType },
        {
          document: { name: `${docType}.pdf`, type: 'application/pdf', content: await samplePdf(docType) },
        },
      );
      assert.equal(ok.statusCode, 303, page(ok.body).errorSummary().join());
    }

    next = await answer(applicant, `${base}/applicant`, {
      applicantType: 'individual',
      firstName: 'Alex',
      lastName: 'Moreton',
      email: resident,
      phone: '07700 900 123',
      sameAddress: 'yes',
      ownership: 'a',
      connection: 'none',
    });
    assert.equal(next, base);
    const tasks = await applicant.get(base);
    assert.match(page(tasks.body).text(), /You have completed 6 of 6 sections/);
  });

  test('the fee is £528 with its reason; the application waits for it to be paid', async () => {
    const check = await applicant.get(`${base}/check`);
    const text = page(check.body).text();
    assert.match(text, /Fee to pay: £528\.00/);
    assert.match(text, /The fee to alter or extend a single home is £528\./);
    const undeclared = await applicant.post(`${base}/check`, {});
    assert.deepEqual(page(undeclared.body).errorSummary(), [
      'Confirm the information is correct to send the application',
    ]);
    const sent = await applicant.post(`${base}/check`, { declaration: 'yes' });
    assert.equal(sent.statusCode, 303);
    const cardPage = String(sent.headers.location);
    assert.match(cardPage, /^\/pay\/card\//);

    // Not paid: not sent, and nothing lost.
    const unpaid = await applicant.get(`${base}/paid`);
    assert.equal(page(unpaid.body).heading(), 'Your application has not been sent');
    let row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    assert.equal(row.status, 'awaiting_payment');
    assert.equal(row.received_at, null);

    await applicant.get(cardPage);
    const paid = await applicant.post(cardPage, {
      cardNumber: '4444333322221111',
      expiryMonth: '12',
      expiryYear: '2031',
      cardholderName: 'A Moreton',
      cvc: '123',
    });
    assert.equal(paid.statusCode, 303);
    let res = await applicant.follow(paid);
    while (res.statusCode === 302 || res.statusCode === 303) res = await applicant.follow(res);
    assert.equal(page(res.body).heading(), 'Application sent');
    assert.match(page(res.body).text(), /You paid £528\.00/);

    row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    assert.equal(row.status, 'submitted');
    assert.equal(row.fee_pence, 52_800);
    assertValidOdp(validate, row.odp, 'the submitted householder application');
    const odp = row.odp as {
      data: {
        application: { fee: { payable: number; reference?: unknown } };
        property: { address: { uprn: string } };
      };
    };
    assert.equal(odp.data.application.fee.payable, 528);
    assert.ok(odp.data.application.fee.reference, 'the payment reference is in the document');
    assert.equal(odp.data.property.address.uprn, '100090001012');
    const received = await sentEmails(kiln, resident);
    assert.ok(received.some((m) => m.subject === `Planning application ${reference} received`));
  });

  test('the officer finds it not valid; the applicant fixes it and resends without paying again', async () => {
    officer = await staffClient(kiln, 'planner@kilnford.example');
    const queue = await officer.get('/staff/planning');
    assert.ok(
      page(queue.body)
        .links()
        .some((l) => l.text === reference),
    );
    const casePath = `/staff/planning/applications/${reference}`;
    await officer.get(casePath);
    const noReasons = await officer.post(`${casePath}/validation`, { outcome: 'invalid', reasons: '' });
    assert.equal(noReasons.statusCode, 400);
    assert.deepEqual(page(noReasons.body).errorSummary(), ['Say why the application is not valid']);
    const invalid = await officer.post(`${casePath}/validation`, {
      outcome: 'invalid',
      reasons: 'The existing elevations are missing.',
    });
    assert.equal(invalid.statusCode, 303);
    const emails = await sentEmails(kiln, resident);
    assert.ok(emails.some((m) => m.body.includes('The existing elevations are missing.')));

    const tasks = await applicant.get(base);
    assert.match(page(tasks.body).text(), /The existing elevations are missing\./);
    const added = await postMultipart(
      kiln,
      applicant,
      `${base}/documents`,
      { docType: 'elevations.existing' },
      {
        document: {
          name: 'existing-elevations.pdf',
          type: 'application/pdf',
          content: await samplePdf('Existing'),
        },
      },
    );
    assert.equal(added.statusCode, 303);
    await applicant.get(`${base}/check`);
    const resent = await applicant.post(`${base}/check`, { declaration: 'yes' });
    assert.equal(resent.statusCode, 303);
    assert.equal(resent.headers.location, `${base}/paid`);
    const row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    assert.equal(row.status, 'submitted');
    assertValidOdp(validate, row.odp, 'the resubmitted application');
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from payments where pays_for_id = ${row.id}`.execute(kiln.platform.db);
    assert.equal(rows[0]!.n, 1, 'one payment only');
  });

  test('valid: the 8-week clock; consultation of neighbours and consultees for 21 days', async () => {
    const casePath = `/staff/planning/applications/${reference}`;
    await officer.get(casePath);
    assert.equal((await officer.post(`${casePath}/validation`, { outcome: 'valid' })).statusCode, 303);
    let row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    assert.equal(row.status, 'valid');
    const days = (Date.parse(row.determination_due!) - Date.parse(row.valid_from!)) / 86_400_000;
    assert.equal(days, 56, '8 weeks for a householder application');

    const before = await officer.get(casePath);
    assert.match(page(before.body).text(), /Letters go to the \d+ addresses within 40 metres/);
    const started = await officer.post(`${casePath}/consultation`, { consultees: ['highways', 'parish'] });
    assert.equal(started.statusCode, 303);
    row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    assert.equal((Date.parse(row.consultation_end!) - Date.parse(row.consultation_start!)) / 86_400_000, 21);
    const { rows } = await sql<{ kind: string; n: number }>`
      select kind, count(*)::int as n from planning_consultations where application_id = ${row.id} group by kind order by kind`.execute(
      kiln.platform.db,
    );
    assert.equal(rows.find((r) => r.kind === 'consultee')?.n, 2);
    assert.ok((rows.find((r) => r.kind === 'neighbour')?.n ?? 0) >= 2, 'neighbours either side get letters');
    const highways = await sentEmails(kiln, 'highways.consultations@kilnford.example');
    assert.equal(highways.filter((m) => m.body.includes(reference)).length, 1);
    const again = await officer.post(`${casePath}/consultation`, { consultees: ['highways'] });
    assert.deepEqual(page(again.body).errorSummary(), ['The consultation has already started']);
  });

  test('the public comments; abuse is held back; addresses are never published', async () => {
    const visitor = new Client(kiln.app);
    const view = await visitor.get(`/planning/applications/${reference}`);
    assert.equal(view.statusCode, 200);
    assert.match(page(view.body).text(), /Comment on this application/);
    const empty = await visitor.post(`/planning/applications/${reference}/comments`, {});
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), [
      'Enter your name',
      'Enter your address. It is not published',
      'Say whether you support, object or are neutral',
      'Enter your comment',
    ]);
    const ok = await visitor.post(`/planning/applications/${reference}/comments`, {
      name: 'Sam Neighbour',
      address: '14 Saggar Street, Kilnford',
      email: '',
      stance: 'object',
      text: 'The extension will take light from my kitchen.',
    });
    assert.equal(ok.statusCode, 303);
    const rude = await visitor.post(`/planning/applications/${reference}/comments`, {
      name: 'Anon',
      address: '1 Glaze Row',
      email: '',
      stance: 'object',
      text: 'Whoever designed this is an idiot.',
    });
    assert.match(String(rude.headers.location), /held=1/);
    const shown = page((await visitor.get(`/planning/applications/${reference}`)).body).text();
    assert.match(shown, /The extension will take light from my kitchen/);
    assert.doesNotMatch(shown, /14 Saggar Street/);
    assert.doesNotMatch(shown, /idiot/);
    assert.match(shown, /0 in support, 1 objecting, 0 neutral/);
    const staffView = page((await officer.get(`/staff/planning/applications/${reference}`)).body).text();
    assert.match(staffView, /held for moderation/);
  });

  test('no decision during the consultation, without a report or without reasons; no comments once it closes', async () => {
    const casePath = `/staff/planning/applications/${reference}`;
    await officer.get(casePath);
    const early = await officer.post(`${casePath}/decision`, {
      decision: 'granted',
      conditions: 'Time limit',
    });
    assert.equal(early.statusCode, 400);
    assert.match(page(early.body).errorSummary()[0]!, /Write the officer report before deciding/);
    const report = await officer.post(`${casePath}/report`, {
      report:
        'The extension is modest and set away from the boundary. One objection about light: the 45-degree test is met.',
      recommendation: 'granted',
    });
    assert.equal(report.statusCode, 303);
    const stillOpen = await officer.post(`${casePath}/decision`, {
      decision: 'granted',
      conditions: 'Time limit',
    });
    assert.match(page(stillOpen.body).errorSummary()[0]!, /The consultation runs until/);

    // Three weeks later: the consultation has closed.
    const row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    await sql`update planning_applications set consultation_start = '2026-01-01', consultation_end = '2026-01-22' where id = ${row.id}`.execute(
      kiln.platform.db,
    );
    const visitor = new Client(kiln.app);
    await visitor.get('/sign-in');
    const late = await visitor.post(`/planning/applications/${reference}/comments`, {
      name: 'Late Commenter',
      address: '3 Saggar Street',
      stance: 'support',
      text: 'Looks fine.',
    });
    assert.equal(late.statusCode, 400);
    assert.deepEqual(page(late.body).errorSummary(), ['The time to comment ended on 2026-01-22']);

    const noReasons = await officer.post(`${casePath}/decision`, { decision: 'refused', reasons: '  ' });
    assert.deepEqual(page(noReasons.body).errorSummary(), ['Give at least one reason for refusal']);
    const extension = await officer.post(`${casePath}/extension`, {
      'extension-day': '1',
      'extension-month': '1',
      'extension-year': '2020',
    });
    assert.deepEqual(page(extension.body).errorSummary(), [
      'The agreed date must be after the current date the decision is due',
    ]);
  });

  test('granted with conditions: notice PDF, events, the applicant told, performance counted', async () => {
    const casePath = `/staff/planning/applications/${reference}`;
    await officer.get(casePath);
    const decided = await officer.post(`${casePath}/decision`, {
      decision: 'granted',
      conditions:
        'The development must be begun within three years.\nMaterials must match the existing house.',
    });
    assert.equal(decided.statusCode, 303, page(decided.body).errorSummary().join());
    const row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    assert.equal(row.decision, 'granted');
    assert.deepEqual(row.decision_terms, [
      'The development must be begun within three years.',
      'Materials must match the existing house.',
    ]);
    const pdf = await new Client(kiln.app).get(`/planning/applications/${reference}/decision-notice.pdf`);
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
    // The applicant is told by a job once the decision has committed.
    await kiln.eventually(async () =>
      (await sentEmails(kiln, resident)).some(
        (m) => m.subject === `Decision on planning application ${reference}`,
      ),
    );
    const { rows } = await sql<{ type: string }>`
      select type from domain_events where subject_id = ${row.id} order by id`.execute(kiln.platform.db);
    const types = rows.map((r) => r.type);
    for (const t of [
      'planning.application_submitted',
      'planning.application_validated',
      'planning.consultation_started',
      'planning.application_decided',
    ])
      assert.ok(types.includes(t), `${t} published`);

    const performance = page((await officer.get('/staff/planning/performance')).body).text();
    assert.match(performance, /Other \(householder, certificates, prior approvals, trees\) [12] [12] 100%/);
  });

  test('the public finds the decision by address, ward and date; the data is open', async () => {
    const visitor = new Client(kiln.app);
    const byAddress = await visitor.get('/planning/register?q=12%20saggar');
    assert.ok(
      page(byAddress.body)
        .links()
        .some((l) => l.href === `/planning/applications/${reference}`),
    );
    const row = (await kiln.services.planning.service.findByReference(kiln.platform.db, reference))!;
    const today = new Date().toISOString().slice(0, 10);
    const byWard = await visitor.get(
      `/planning/register?ward=${row.ward_code}&from=2026-01-01&to=${today}&status=granted`,
    );
    assert.ok(
      page(byWard.body)
        .links()
        .some((l) => l.href === `/planning/applications/${reference}`),
    );
    const byRef = await visitor.get(`/planning/register?q=${reference}`);
    assert.ok(
      page(byRef.body)
        .links()
        .some((l) => l.href === `/planning/applications/${reference}`),
    );
    const badDate = await visitor.get('/planning/register?from=yesterday');
    assert.equal(badDate.statusCode, 400);
    assert.deepEqual(page(badDate.body).errorSummary(), [
      'Enter the start date as year-month-day, like 2026-11-02',
    ]);
    const publicPage = page((await visitor.get(`/planning/applications/${reference}`)).body).text();
    assert.match(publicPage, /Granted/);
    assert.match(publicPage, /Materials must match the existing house/);

    const api = await visitor.get(`/api/v1/planning/applications?q=12%20saggar`);
    const body = JSON.parse(api.body);
    assert.equal(body.licence.name, 'Open Government Licence v3.0');
    const record = body.entities.find((e: { reference: string }) => e.reference === reference);
    assert.equal(record.decision, 'granted');
    assert.match(record.geometry, /^MULTIPOLYGON/);
    assert.doesNotMatch(api.body, /Moreton|resident@kilnford/, 'no applicant personal data');
    const bad = await visitor.get('/api/v1/planning/applications?ward=nowhere');
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /application\/problem\+json/);
    const one = JSON.parse((await visitor.get(`/api/v1/planning/applications/${reference}`)).body);
    assert.equal(one.conditions.length, 2);
    assert.equal((await visitor.get('/api/v1/planning/applications/KF-00-00000')).statusCode, 404);

    const csv = await visitor.get('/api/v1/planning/applications.csv');
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    assert.match(csv.body.split('\r\n')[0]!, /^dataset,reference,name,description/);
    assert.ok(csv.body.includes(reference));
    const geo = JSON.parse((await visitor.get('/api/v1/planning/applications.geojson')).body);
    const feature = geo.features.find(
      (f: { properties: { reference: string } }) => f.properties.reference === reference,
    );
    assert.equal(feature.geometry.type, 'Polygon');

    const feed = await visitor.get(`/planning/wards/${row.ward_code}/feed.atom`);
    assert.match(String(feed.headers['content-type']), /application\/atom\+xml/);
    assert.ok(feed.body.includes(`Granted: ${row.address_text}`));
    const weekly = page((await visitor.get('/planning/weekly-list')).body).text();
    assert.match(weekly, /Decisions made/);
    assert.ok(weekly.includes(row.address_text!));
  });
});

describe('planning: every kind of application makes a valid ODP document', () => {
  let kiln: TestKiln;
  let validate: ValidateFunction;
  before(async () => {
    kiln = await startTestApp();
    validate = odpValidator();
  });
  after(async () => kiln?.close());

  test('the demo applications validate', async () => {
    const { rows } = await sql<{ reference: string; odp: unknown }>`
      select reference, odp from planning_applications where odp is not null`.execute(kiln.platform.db);
    assert.ok(rows.length >= 3);
    for (const r of rows) assertValidOdp(validate, r.odp, r.reference);
  });

  test('an agent applies for a client: full planning (major by size), a certificate, prior approval, trees', async () => {
    const planning = kiln.services.planning.service;
    const residentId = (
      await sql<{ id: string }>`select id from residents where email = ${resident}`.execute(kiln.platform.db)
    ).rows[0]!.id;
    const cases: Array<{
      type: 'pp.full.minor' | 'ldc.proposed' | 'pa.part1.classA' | 'wtt.consent';
      answers: Record<string, unknown>;
      expect: string;
      fee: number;
      docs: string[];
    }> = [
      {
        type: 'pp.full.minor',
        answers: { newDwellings: 12, floorAreaM2: 0 },
        expect: 'pp.full.major',
        fee: 12 * 63_500,
        docs: ['floorPlan.proposed', 'elevations.proposed', 'designAndAccessStatement'],
      },
      {
        type: 'ldc.proposed',
        answers: { propertyType: 'residential.house.detached', projectTypes: ['extend.porch'] },
        expect: 'ldc.proposed',
        fee: 26_400,
        docs: ['floorPlan.proposed', 'elevations.proposed'],
      },
      {
        type: 'pa.part1.classA',
        answers: {
          propertyType: 'residential.house.detached',
          projectTypes: ['extend.rear.rear'],
          extensionDepthM: 7,
          extensionHeightM: 3.5,
        },
        expect: 'pa.part1.classA',
        fee: 24_000,
        docs: ['floorPlan.proposed', 'elevations.proposed'],
      },
      {
        type: 'wtt.consent',
        answers: {
          treeProtection: 'conservationArea',
          projectTypes: ['alter.trees.tree.remove'],
          treeDescription: 'Ash by the gate',
        },
        expect: 'wtt.notice',
        fee: 0,
        docs: ['photographs.existing'],
      },
    ];
    for (const c of cases) {
      let row = await planning.startApplication(residentId, 'agent');
      await planning.setAddress(row, '100090015003');
      await planning.setType(row, c.type);
      row = (await planning.findByReference(kiln.platform.db, row.reference))!;
      await planning.setDetails(row, c.answers, `Test ${c.type}`);
      row = (await planning.findByReference(kiln.platform.db, row.reference))!;
      assert.equal(row.application_type, c.expect);
      await planning.setLocationPlan(row, {
        name: 'location.pdf',
        content: await samplePdf('Location plan'),
      });
      for (const d of c.docs)
        await planning.addDocument(row, d, { name: `${d}.pdf`, content: await samplePdf(d) });
      await planning.setApplicant(
        row,
        {
          type: 'company',
          firstName: 'Jo',
          lastName: 'Client',
          company: 'Client Homes Ltd',
          email: 'jo@client.example',
          phone: '01632 960 001',
          address: { line1: '1 Business Park', town: 'Stoke', postcode: 'ST1 1AA' },
          ownership: 'b',
          connection: 'none',
        },
        {
          firstName: 'Ari',
          lastName: 'Architect',
          email: 'ari@architects.example',
          phone: '01632 960 002',
          address: { line1: '2 Studio Lane', town: 'Kilnford', postcode: 'KF1 1AA' },
        },
      );
      row = (await planning.findByReference(kiln.platform.db, row.reference))!;
      assert.deepEqual(await planning.missing(row), []);
      assert.equal(planning.feeOf(row).payable, c.fee, `${c.type} fee`);
      const { payment } = await planning.submit(row, { type: 'resident', id: residentId });
      assert.equal(Boolean(payment), c.fee > 0);
      if (payment) {
        // Paying by card is proved by the journey above; here the fee is recorded as paid.
        await kiln.platform.db.transaction().execute(async (tx) => {
          await sql`update planning_applications set paid_at = now() where id = ${row.id}`.execute(tx);
        });
        await planning.submit((await planning.findByReference(kiln.platform.db, row.reference))!, {
          type: 'resident',
          id: residentId,
        });
      }
      row = (await planning.findByReference(kiln.platform.db, row.reference))!;
      assert.equal(row.status, 'submitted');
      assertValidOdp(validate, row.odp, c.expect);
      const odp = row.odp as { data: { user: { role: string }; applicant: { agent?: unknown } } };
      assert.equal(odp.data.user.role, 'agent');
      assert.ok(odp.data.applicant.agent);
    }
  });

  test('works for a disabled resident are sent without a fee', async () => {
    const planning = kiln.services.planning.service;
    const residentId = (
      await sql<{ id: string }>`select id from residents where email = ${resident}`.execute(kiln.platform.db)
    ).rows[0]!.id;
    let row = await planning.startApplication(residentId, 'applicant');
    await planning.setAddress(row, '100090002004');
    await planning.setType(row, 'pp.full.householder');
    row = (await planning.findByReference(kiln.platform.db, row.reference))!;
    await planning.setDetails(
      row,
      { propertyType: 'residential.house.terrace', projectTypes: ['extend.porch'], dwellingsAltered: 1 },
      'Level access porch with a ramp',
    );
    row = (await planning.findByReference(kiln.platform.db, row.reference))!;
    await planning.setBoundary(row, squareGeoJson(row.lat!, row.lng!));
    for (const d of ['floorPlan.proposed', 'elevations.proposed'])
      await planning.addDocument(row, d, { name: `${d}.pdf`, content: await samplePdf(d) });
    await planning.setApplicant(
      row,
      {
        type: 'individual',
        firstName: 'Alex',
        lastName: 'Moreton',
        email: resident,
        phone: '07700 900 123',
        ownership: 'a',
        connection: 'none',
      },
      null,
    );
    await planning.setFeeAnswers(row, { disability: 'yes' });
    row = (await planning.findByReference(kiln.platform.db, row.reference))!;
    const fee = planning.feeOf(row);
    assert.equal(fee.calculated, 52_800);
    assert.equal(fee.payable, 0);
    const { payment } = await planning.submit(row, { type: 'resident', id: residentId });
    assert.equal(payment, null);
    row = (await planning.findByReference(kiln.platform.db, row.reference))!;
    assert.equal(row.status, 'submitted');
    assertValidOdp(validate, row.odp, 'exempt householder');
    assert.equal(
      (row.odp as { data: { application: { fee: { exemption: { disability: boolean } } } } }).data.application
        .fee.exemption.disability,
      true,
    );
  });
});
