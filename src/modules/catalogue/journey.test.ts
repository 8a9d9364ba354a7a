import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { demoResident } from '../../seed/index.ts';
import { residentClient } from '../../../test/support/resident.ts';

const base = '/services/report-a-street-problem';

/** Answers a question page and returns where it went next. */
async function answer(client: Client, path: string, fields: Record<string, string | string[]>) {
  await client.get(path);
  const res = await client.post(path, fields);
  assert.equal(res.statusCode, 303, `${path}: ${page(res.body).errorSummary().join(', ')}`);
  return String(res.headers.location);
}

async function casesFor(kiln: TestKiln) {
  const { rows } = await sql<{
    reference: string;
    channel: string;
    resident_id: string | null;
    created_by_staff: string | null;
    service_version: number;
    answers: Record<string, { question: string; answer: string }>;
  }>`select reference, channel, resident_id, created_by_staff, service_version, answers from cases
     where service_slug = 'report-a-street-problem'`.execute(kiln.platform.db);
  return rows;
}

describe('resident journey', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('an anonymous resident reports a pothole without JavaScript, changes an answer and gets one case', async () => {
    const client = new Client(kiln.app);
    const start = await client.get(base);
    assert.equal(page(start.body).heading(), 'Report a street problem');
    const startLink = page(start.body)
      .links()
      .find((l) => l.text === 'Start now');
    assert.equal(startLink?.href, `${base}/start`);
    let next = String((await client.get(startLink!.href)).headers.location);
    assert.equal(next, `${base}/questions/problem`);

    // An error keeps the page, names the problem and links to the field.
    await client.get(next);
    const empty = await client.post(next, {});
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), ['Select the problem']);
    assert.match(page(empty.body).title(), /^Error: /);

    next = await answer(client, next, { problem: 'pothole' });
    assert.equal(next, `${base}/questions/pothole-depth`);
    next = await answer(client, next, { 'pothole-depth': 'over-10cm' });
    // Location: a street name that matches several streets asks which one, keeping the detail typed.
    await client.get(next);
    const ambiguous = await client.post(next, {
      'location-street': 'Lane',
      'location-detail': 'by the post box',
    });
    assert.equal(ambiguous.statusCode, 400);
    assert.deepEqual(page(ambiguous.body).errorSummary(), ['Select the street from the list']);
    assert.match(ambiguous.body, /value="by the post box"/);
    next = await answer(client, next, {
      'location-street': 'Saggar Street',
      'location-detail': 'by the post box',
    });
    const tooLong = await (async () => {
      await client.get(next);
      return client.post(next, { description: 'x'.repeat(2001) });
    })();
    assert.deepEqual(page(tooLong.body).errorSummary(), [
      'A description of the problem must be 2000 characters or less',
    ]);
    next = await answer(client, next, { description: 'Deep hole by the kerb' });
    next = await answer(client, next, {}); // no photo: optional
    await client.get(next);
    const badEmail = await client.post(next, { email: 'not-an-email' });
    assert.deepEqual(page(badEmail.body).errorSummary(), [
      'Enter an email address in the correct format, like name@example.com',
    ]);
    assert.match(badEmail.body, /value="not-an-email"/);
    next = await answer(client, next, { email: 'Reporter@Example.com' });
    assert.equal(next, `${base}/check`);

    let check = await client.get(next);
    assert.equal(page(check.body).heading(), 'Check your answers before sending your request');
    assert.match(page(check.body).text(), /How deep is the pothole\? More than 10cm/);
    assert.match(page(check.body).text(), /Saggar Street, Kilnford: by the post box/);

    // Change: graffiti instead; the pothole depth no longer applies and goes back to check answers.
    const change = page(check.body)
      .links()
      .find((l) => l.href === `${base}/questions/problem?change=1`);
    assert.ok(change, 'a Change link for the problem');
    const changed = await answer(client, change.href, { problem: 'graffiti' });
    assert.equal(changed, `${base}/check`);
    check = await client.get(changed);
    assert.match(page(check.body).text(), /What is the problem\? Graffiti/);
    assert.doesNotMatch(page(check.body).text(), /How deep/);

    // Sending twice (a double click, or back and send again) makes one case.
    const key = client.lastPage!.querySelector('input[name="key"]')!.getAttribute('value')!;
    const before = (await casesFor(kiln)).length;
    const sent = await client.post(`${base}/check`, { key });
    assert.equal(sent.statusCode, 303);
    const again = await client.post(`${base}/check`, { key });
    assert.equal(again.headers.location, sent.headers.location);
    const confirmation = await client.follow(sent);
    assert.equal(page(confirmation.body).heading(), 'Request sent');
    const reference = String(sent.headers.location).split('/').pop()!;
    assert.match(reference, /^KLN-[A-Z0-9]{4}-[A-Z0-9]{2}$/);
    assert.match(page(confirmation.body).text(), new RegExp(reference));
    assert.match(page(confirmation.body).text(), /within 5 working days/);

    const all = await casesFor(kiln);
    assert.equal(all.length, before + 1, 'exactly one case for two posts');
    const made = all.filter((c) => c.reference === reference);
    assert.equal(made[0]!.channel, 'web');
    assert.equal(made[0]!.resident_id, null);
    assert.equal(made[0]!.service_version, 1);
    assert.equal(made[0]!.answers.problem?.answer, 'Graffiti');
    assert.equal(made[0]!.answers['pothole-depth'], undefined);
    const emails = await kiln.platform.notify.list(kiln.platform.db, { recipient: 'reporter@example.com' });
    assert.equal(emails.length, 1);
    assert.match(emails[0]!.body, new RegExp(reference));

    // Another browser cannot see the confirmation.
    const stranger = await new Client(kiln.app).get(`${base}/confirmation/${reference}`);
    assert.equal(stranger.statusCode, 404);
  });

  test('questions cannot be skipped, and unknown services are not found', async () => {
    const client = new Client(kiln.app);
    const skip = await client.get(`${base}/questions/description`);
    assert.equal(skip.statusCode, 303);
    assert.equal(skip.headers.location, `${base}/questions/problem`);
    const hidden = await client.get(`${base}/questions/pothole-depth`);
    assert.equal(hidden.statusCode, 303);
    assert.equal((await client.get('/services/no-such-service')).statusCode, 404);
    const check = await client.get(`${base}/check`);
    assert.equal(check.headers.location, `${base}/questions/problem`);
  });

  test('an address is found by postcode, or entered by hand', async () => {
    const client = new Client(kiln.app);
    const path = '/services/missed-bin-collection/questions/address';
    await client.get('/services/missed-bin-collection/start');
    const search = await client.get(path);
    assert.equal(page(search.body).heading(), 'What is the address?');
    const list = await client.get(`${path}?lookup=KF1%203CD`);
    assert.match(page(list.body).text(), /30 addresses found for KF1 3CD/);
    const none = await client.post(path, { mode: 'select', lookup: 'KF1 3CD' });
    assert.deepEqual(page(none.body).errorSummary(), ['Select an address']);
    const uprn = list.body.match(/name="address-uprn" type="radio" value="(\d+)"/)?.[1];
    assert.ok(uprn);
    await client.get(`${path}?manual=1`);
    const manual = await client.post(path, {
      mode: 'manual',
      'address-line1': '4 Mill Lane',
      'address-town': 'Kilnford',
      'address-postcode': 'nope',
    });
    assert.deepEqual(page(manual.body).errorSummary(), ['Enter a full UK postcode']);
    assert.match(manual.body, /value="4 Mill Lane"/);
    const chosen = await answer(client, `${path}?lookup=KF1%203CD`, {
      mode: 'select',
      lookup: 'KF1 3CD',
      'address-uprn': uprn,
    });
    assert.equal(chosen, '/services/missed-bin-collection/questions/bins');
  });

  test('a signed-in resident is not asked for an email, and finds a saved draft when they come back', async () => {
    const client = await residentClient(kiln, demoResident.email);
    await client.get(`${base}/start`);
    await answer(client, `${base}/questions/problem`, { problem: 'fly-tipping' });
    const drafts = await kiln.services.catalogue.service.listDrafts(
      kiln.platform.db,
      (
        await sql<{ id: string }>`select id from residents where email = ${demoResident.email}`.execute(
          kiln.platform.db,
        )
      ).rows[0]!.id,
    );
    assert.deepEqual(
      drafts.map((d) => [d.title, d.href]),
      [['Report a street problem', `${base}/resume`]],
    );
    // A new browser session: the start page offers the saved answers.
    const later = await residentClient(kiln, demoResident.email);
    const start = await later.get(base);
    assert.ok(
      page(start.body)
        .links()
        .some((l) => l.text === 'Continue where you left off'),
    );
    // Someone else at the same computer could start again instead; this resident carries on.
    assert.ok(later.lastPage!.querySelector(`form[action="${base}/start-again"]`));
    const resumed = await later.get(`${base}/resume`);
    assert.equal(resumed.headers.location, `${base}/questions/location`);
    await answer(later, `${base}/questions/location`, { 'location-street': 'Glaze Row' });
    const last = await answer(later, `${base}/questions/description`, {
      description: 'Mattress on the verge',
    });
    assert.equal(await answer(later, last, {}), `${base}/check`); // the photo; no email question follows
    await later.get(`${base}/check`);
    const key = later.lastPage!.querySelector('input[name="key"]')!.getAttribute('value')!;
    const sent = await later.post(`${base}/check`, { key });
    const reference = String(sent.headers.location).split('/').pop()!;
    const [made] = (await casesFor(kiln)).filter((c) => c.reference === reference);
    assert.ok(made?.resident_id);
    assert.equal(made.answers.email, undefined);
    const left = await kiln.services.catalogue.service.listDrafts(kiln.platform.db, made.resident_id);
    assert.deepEqual(left, [], 'the draft is gone once sent');

    // Starting again throws saved answers away.
    await later.get(`${base}/start`);
    await answer(later, `${base}/questions/problem`, { problem: 'graffiti' });
    assert.equal(
      (await kiln.services.catalogue.service.listDrafts(kiln.platform.db, made.resident_id)).length,
      1,
    );
    await later.get(base);
    const again = await later.post(`${base}/start-again`, {});
    assert.equal(again.headers.location, `${base}/start`);
    assert.equal((await later.get(`${base}/start`)).headers.location, `${base}/questions/problem`);
    assert.deepEqual(
      await kiln.services.catalogue.service.listDrafts(kiln.platform.db, made.resident_id),
      [],
    );
  });

  test('assisted digital: an agent acting for a resident submits with the phone channel', async () => {
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    await agent.get(`/staff/assisted/${demoResident.reference}`);
    const acting = await agent.post(`/staff/assisted/${demoResident.reference}`, { channel: 'phone' });
    assert.equal(acting.statusCode, 303);
    await agent.get(`${base}/start`);
    await answer(agent, `${base}/questions/problem`, { problem: 'blocked-drain' });
    await answer(agent, `${base}/questions/location`, { 'location-street': 'Wharf Street' });
    const last = await answer(agent, `${base}/questions/description`, { description: 'Water over the road' });
    assert.equal(await answer(agent, last, {}), `${base}/check`);
    await agent.get(`${base}/check`);
    const key = agent.lastPage!.querySelector('input[name="key"]')!.getAttribute('value')!;
    const sent = await agent.post(`${base}/check`, { key });
    const reference = String(sent.headers.location).split('/').pop()!;
    const [made] = (await casesFor(kiln)).filter((c) => c.reference === reference);
    assert.equal(made?.channel, 'phone');
    assert.ok(made.resident_id);
    assert.ok(made.created_by_staff);
  });

  test('every demo service can be filled in to check answers, each question on its own page', async () => {
    const services = await kiln.services.catalogue.service.liveServices();
    assert.ok(services.length >= 9);
    const [address] = kiln.services.catalogue.service.gazetteer.findAddresses('KF1 3CD');
    for (const { definition } of services) {
      const client = new Client(kiln.app);
      let path = String((await client.get(`/services/${definition.slug}/start`)).headers.location);
      for (let step = 0; path.includes('/questions/') && step < 20; step++) {
        const q = definition.questions.find((x) => path.endsWith(`/questions/${x.id}`))!;
        const shown = await client.get(path);
        assert.equal(shown.statusCode, 200, path);
        assert.equal(page(shown.body).heading(), q.label, path);
        const year = new Date().getUTCFullYear();
        const fields: Record<string, string | string[]> = {
          text: { [q.id]: q.validation.pattern ? '51234567' : 'Sample answer' },
          long_text: { [q.id]: 'A sample description that is long enough' },
          number: { [q.id]: String(q.validation.min ?? 1) },
          date: {
            [`${q.id}-day`]: '3',
            [`${q.id}-month`]: '4',
            [`${q.id}-year`]: String(q.validation.date === 'future' ? year + 1 : year - 1),
          },
          yes_no: { [q.id]: 'yes' },
          single_choice: { [q.id]: q.options?.[0]?.value ?? '' },
          multiple_choice: { [q.id]: [q.options?.[0]?.value ?? ''] },
          address: { mode: 'select', [`${q.id}-uprn`]: address!.uprn },
          location: { [`${q.id}-street`]: 'Glaze Row' },
          file: {},
          email: { [q.id]: 'walker@example.com' },
          phone: { [q.id]: '07700 900982' },
        }[q.type];
        if (q.type === 'address') await client.get(`${path}?lookup=KF1%203CD`); // the search comes first
        const res = await client.post(path, fields);
        assert.equal(res.statusCode, 303, `${path}: ${page(res.body).errorSummary().join(', ')}`);
        path = String(res.headers.location);
      }
      assert.equal(path, `/services/${definition.slug}/check`);
      const check = await client.get(path);
      assert.equal(
        page(check.body).heading(),
        'Check your answers before sending your request',
        definition.slug,
      );
    }
  });

  test('search finds services despite typos, and says so when nothing matches', async () => {
    const recycling = page((await kiln.app.inject({ url: '/search?q=recyling' })).body);
    assert.ok(recycling.links().some((l) => l.href === '/services/apply-for-a-garden-waste-permit'));
    const pothole = page((await kiln.app.inject({ url: '/search?q=potholl' })).body);
    assert.match(pothole.text(), /1 result for ‘potholl’/);
    assert.ok(pothole.links().some((l) => l.href === base));
    const nothing = page((await kiln.app.inject({ url: '/search?q=xylophone' })).body);
    assert.match(nothing.text(), /0 results for ‘xylophone’/);
    assert.match(nothing.text(), /checking your spelling/);
    const home = page((await kiln.app.inject({ url: '/' })).body);
    assert.ok(home.links().some((l) => l.href === base));
    const services = page((await kiln.app.inject({ url: '/services' })).body);
    assert.ok(services.root.querySelectorAll('h2').some((h) => h.text.trim() === 'Roads and streets'));
  });
});
