import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { residentClient as signInResident } from '../../../test/support/resident.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { isValidNhsNumber, nhsNumberProblem } from './nhs-number.ts';
import { triage } from './triage.ts';

describe('NHS numbers and triage', () => {
  test('the modulus 11 check digit is checked', () => {
    assert.equal(isValidNhsNumber('943 476 5919'), true);
    assert.equal(isValidNhsNumber('9434765918'), false);
    assert.equal(isValidNhsNumber('999-000-0018'), true);
    assert.match(nhsNumberProblem('123')!, /10 digits/);
    assert.match(nhsNumberProblem('9434765918')!, /valid NHS number/);
    assert.match(nhsNumberProblem('94347659AB')!, /only include numbers/);
  });

  test('triage routes by Care Act outcomes and sends risk to the duty team', () => {
    const routine = triage({
      kind: 'adult',
      safety: 'none',
      outcomes: { nutrition: 'some' },
      wellbeing: 'little',
    });
    assert.equal(routine.priority, 'routine');
    assert.equal(routine.teamCode, 'adult-social-care');
    const eligible = triage({
      kind: 'adult',
      safety: 'none',
      outcomes: { nutrition: 'help', hygiene: 'help', dressing: 'help', community: 'help' },
      impairment: true,
      wellbeing: 'significant',
      livesAlone: true,
    });
    assert.equal(eligible.likelyEligible, true);
    assert.equal(eligible.priority, 'priority');
    assert.deepEqual(eligible.outcomesNotAchieved, ['nutrition', 'hygiene', 'dressing', 'community']);
    assert.equal(
      triage({ kind: 'adult', safety: 'none', outcomes: { safety: 'unsafe' } }).priority,
      'priority',
    );
    const child = triage({ kind: 'child', safety: 'none', concerns: ['neglect'], childAge: 9 });
    assert.equal(child.teamCode, 'childrens-social-care');
    const urgent = triage({ kind: 'child', safety: 'safeguarding', concerns: ['physical'] });
    assert.equal(urgent.priority, 'urgent');
    assert.equal(urgent.teamCode, 'care-duty');
    assert.deepEqual(urgent.sla, { value: 4, unit: 'hours' });
  });
});

describe('Care: directory, self-referral and My account', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('the front door and video consultations page render; a social worker’s slots are offered', async () => {
    const client = new Client(kiln.app);
    const start = page((await client.get('/care')).body);
    assert.equal(start.heading(), 'Care and support');
    assert.match(start.text(), /If someone is in immediate danger, call 999/);
    const video = await client.get('/care/video');
    assert.equal(video.statusCode, 200);
    const offer = page(video.body)
      .links()
      .find((l) => l.text === 'Video consultation with Grace Nwosu');
    assert.ok(offer, 'the social worker’s calendar from the bookings module');
    assert.equal((await client.get(offer.href)).statusCode, 200);
  });

  test('the directory finds services by need, age and distance, nearest first', async () => {
    const client = new Client(kiln.app);
    const res = await client.get('/care/directory?need=carers&postcode=KF2+3NP');
    assert.equal(res.statusCode, 200);
    const p = page(res.body);
    const found = p.root.querySelectorAll('main h3 a').map((a) => a.text.trim());
    assert.deepEqual(found.slice(0, 2), ['Carers’ breaks and advice', 'Memory café']);
    const young = page((await client.get('/care/directory?need=loneliness&age=30')).body);
    const names = young.root.querySelectorAll('main h3 a').map((a) => a.text.trim());
    assert.ok(names.includes('Listening line'));
    assert.ok(!names.includes('Friday lunch club'), 'a club for over-60s is not shown for a 30-year-old');
    const near = page((await client.get('/care/directory?need=food&postcode=KF4+1DD&distance=1')).body);
    assert.ok(!near.text().includes('Friday lunch club'), 'more than a mile away');
    const bad = await client.get('/care/directory?postcode=nowhere&age=old');
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter an age in years, like 67',
      'Enter a real postcode, like KF1 2AB',
    ]);
    const link = p.root.querySelector('main h3 a')!.getAttribute('href')!;
    const detail = page((await client.get(link)).body);
    assert.equal(detail.heading(), 'Carers’ breaks and advice');
    assert.match(detail.text(), /21 Wharf Street/);
  });

  test('the Open Referral UK API lists and filters services', async () => {
    const res = await kiln.app.inject({
      url: '/api/v1/open-referral/services?taxonomy_term_id=memory&per_page=1',
    });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.total_items, 2);
    assert.equal(body.size, 1);
    assert.equal(body.total_pages, 2);
    assert.equal(
      body.contents[0].attributes.some(
        (a: { taxonomy_term: { id: string } }) => a.taxonomy_term.id === 'memory',
      ),
      true,
    );
    const one = await kiln.app.inject({ url: `/api/v1/open-referral/services/${body.contents[0].id}` });
    assert.equal(one.json().name, body.contents[0].name);
    const bad = await kiln.app.inject({ url: '/api/v1/open-referral/services?per_page=1000' });
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /problem\+json/);
    const terms = await kiln.app.inject({ url: '/api/v1/open-referral/taxonomy_terms' });
    assert.equal(terms.json().total_items, 10);
    const missing = await kiln.app.inject({
      url: '/api/v1/open-referral/services/00000000-0000-4000-8000-000000000000',
    });
    assert.equal(missing.statusCode, 404);
  });

  test('staff maintain the directory; bad entries are refused field by field', async () => {
    const officer = await staffClient(kiln, 'socialworker@kilnford.example');
    await officer.get('/staff/care/directory/new');
    const bad = await officer.post('/staff/care/directory/new', {
      organisationName: '',
      name: '',
      description: '',
      minimumAge: '70',
      maximumAge: '60',
      url: 'nope',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter the organisation that runs the service',
      'Enter the name of the service',
      'Enter what the service does',
      'Enter a website address starting https://',
      'The highest age must be the same as or more than the lowest',
    ]);
    const ok = await officer.post('/staff/care/directory/new', {
      organisationName: 'Kilnford Walking Group',
      name: 'Health walks',
      description: 'Gentle led walks along the canal every Wednesday.',
      terms: ['loneliness', 'falls'],
      address1: 'Canal Side',
      city: 'Kilnford',
      postcode: 'kf22lm',
      lat: '52.944',
      lng: '-2.16',
      status: 'active',
    });
    assert.equal(ok.statusCode, 303);
    const api = await kiln.app.inject({ url: '/api/v1/open-referral/services?text=health+walks' });
    assert.equal(api.json().contents[0].service_at_locations[0].location.addresses[0].postal_code, 'KF2 2LM');
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    assert.equal((await agent.get('/staff/care/directory')).statusCode, 403);
  });

  test('a safeguarding concern shows emergency contacts at once and raises an urgent case for the duty team', async () => {
    const client = new Client(kiln.app);
    await client.get('/care/refer/who');
    const empty = await client.post('/care/refer/who', {});
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), ['Select who you need help for']);
    assert.equal(
      (await client.post('/care/refer/who', { who: 'adult' })).headers.location,
      '/care/refer/safety',
    );
    const safety = await client.post('/care/refer/safety', { safety: 'safeguarding' });
    assert.equal(safety.headers.location, '/care/refer/urgent');
    const urgent = page((await client.get('/care/refer/urgent')).body);
    assert.match(urgent.text(), /call 999/);
    assert.match(urgent.text(), /Emergency duty team .*01632 960 999/);
    assert.equal((await client.post('/care/refer/urgent', { whatIsHappening: '' })).statusCode, 400);
    await client.post('/care/refer/urgent', {
      whatIsHappening: 'My neighbour’s son takes her pension and she has no food.',
    });
    await client.get('/care/refer/about');
    const missing = await client.post('/care/refer/about', { name: '', address: '' });
    assert.deepEqual(page(missing.body).errorSummary(), [
      'Enter their full name, or what you know of it',
      'Enter their address, or where they can be found',
      'Enter your full name',
      'Enter how you know them, like neighbour or daughter',
      'Enter an email address or a phone number so we can contact you',
      'Select yes if they know you are contacting us',
    ]);
    const about = await client.post('/care/refer/about', {
      name: 'Edna Blakeley',
      'dob-day': '31',
      'dob-month': '2',
      'dob-year': '1940',
      address: '7 Saggar Street, Kilnford',
      contactName: 'Sunita Rao',
      relationship: 'Neighbour',
      email: 'sunita.rao@example.com',
      knows: 'no',
    });
    assert.deepEqual(page(about.body).errorSummary(), ['Their date of birth must be a real date']);
    await client.post('/care/refer/about', {
      name: 'Edna Blakeley',
      address: '7 Saggar Street, Kilnford',
      contactName: 'Sunita Rao',
      relationship: 'Neighbour',
      email: 'sunita.rao@example.com',
      knows: 'no',
    });
    const check = page((await client.get('/care/refer/check')).body);
    assert.match(check.text(), /goes to the duty team as urgent/);
    const sent = await client.post('/care/refer/check', {});
    assert.equal(sent.statusCode, 303);
    const reference = String(sent.headers.location).split('/').pop()!;
    const confirmation = page((await client.follow(sent)).body);
    assert.match(confirmation.text(), new RegExp(reference));
    assert.match(confirmation.text(), /duty team has your referral as urgent/);
    const found = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.equal(found?.team_code, 'care-duty');
    assert.ok(
      found?.sla_due_at && found.sla_due_at.getTime() - found.created_at.getTime() <= 4 * 3_600_000 + 1000,
    );
    // Sending again (a double click) does not make a second case; the page is gone for others.
    assert.equal((await client.post('/care/refer/check', {})).headers.location, '/care/refer');
    assert.equal((await new Client(kiln.app).get(`/care/refer/sent/${reference}`)).statusCode, 404);
    const mail = await kiln.eventually(
      async () =>
        (await kiln.platform.notify.list(kiln.platform.db, { recipient: 'sunita.rao@example.com' }))[0],
    );
    assert.match(mail.body, new RegExp(reference));
    // The duty team sees it in their queue.
    const duty = await staffClient(kiln, 'admin@kilnford.example');
    const caseRes = await duty.get(`/staff/cases/${reference}`);
    assert.equal(caseRes.statusCode, 200);
    assert.match(page(caseRes.body).text(), /Edna Blakeley/);
  });

  test('a signed-in resident refers themselves, is triaged to adult social care, and follows it in My account', async () => {
    const client = await signInResident(kiln, 'resident@kilnford.example');
    await client.get('/care/refer/who');
    await client.post('/care/refer/who', { who: 'myself' });
    await client.post('/care/refer/safety', { safety: 'none' });
    await client.get('/care/refer/needs');
    const incomplete = await client.post('/care/refer/needs', { 'outcome-nutrition': 'help' });
    assert.equal(incomplete.statusCode, 400);
    assert.ok(
      page(incomplete.body)
        .errorSummary()
        .includes('Select how much difficulty there is with washing and keeping clean'),
    );
    const answers: Record<string, string> = {
      impairment: 'yes',
      wellbeing: 'significant',
      livesAlone: 'yes',
    };
    for (const o of [
      'nutrition',
      'hygiene',
      'toileting',
      'dressing',
      'safety',
      'home',
      'relationships',
      'work',
      'community',
      'caring',
    ])
      answers[`outcome-${o}`] = ['nutrition', 'hygiene', 'dressing'].includes(o) ? 'help' : 'none';
    assert.equal((await client.post('/care/refer/needs', answers)).headers.location, '/care/refer/about');
    const about = page((await client.get('/care/refer/about')).body);
    assert.equal(about.root.querySelector('#email')?.getAttribute('value'), 'resident@kilnford.example');
    await client.post('/care/refer/about', {
      name: 'Alex Moreton',
      'dob-day': '14',
      'dob-month': '6',
      'dob-year': '1979',
      address: '12 Bottle Kiln Lane, Kilnford',
      email: 'resident@kilnford.example',
    });
    const sent = await client.post('/care/refer/check', {});
    const reference = String(sent.headers.location).split('/').pop()!;
    const found = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.equal(found?.team_code, 'adult-social-care');
    const mine = page((await client.get('/account/care')).body);
    assert.ok(mine.links().some((l) => l.href === `/account/requests/${reference}`));
    const request = await client.get(`/account/requests/${reference}`);
    assert.equal(request.statusCode, 200);
    assert.ok(
      page((await client.get('/account')).body)
        .links()
        .some((l) => l.href === '/account/care'),
    );
  });

  test('the resident sees their budget, records a payment with a receipt, and sees who looked at their record', async () => {
    const client = await signInResident(kiln, 'resident@kilnford.example');
    const overview = page((await client.get('/account/care')).body);
    const budgetLink = overview.links().find((l) => l.href.startsWith('/account/care/budgets/'))!;
    assert.ok(budgetLink, 'a budget link');
    const budget = page((await client.get(budgetLink.href)).body);
    assert.match(budget.text(), /£4800\.00/);
    const bad = await client.post(budgetLink.href, {
      description: '',
      amount: 'lots',
      'spentOn-day': '40',
      'spentOn-month': '1',
      'spentOn-year': '2026',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter what you paid for',
      'Enter the amount in pounds and pence, like 45.50',
      'The date you paid must be a real date',
    ]);
    // A multipart post with a PNG receipt, the way the browser sends the form.
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const boundary = '----kilnboundary';
    const part = (name: string, value: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const payload = Buffer.concat([
      Buffer.from(
        part('_csrf', client.csrfToken()) +
          part('description', 'Respite care, 4 hours') +
          part('amount', '96.00') +
          part('spentOn-day', '20') +
          part('spentOn-month', '11') +
          part('spentOn-year', '2026') +
          `--${boundary}\r\nContent-Disposition: form-data; name="receipt"; filename="receipt.png"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const cookie = (client as unknown as { cookieHeader(): string }).cookieHeader();
    const res = await kiln.app.inject({
      method: 'POST',
      url: budgetLink.href,
      payload,
      headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    assert.equal(res.statusCode, 303);
    const after = page((await client.get(budgetLink.href)).body);
    assert.match(after.text(), /£96\.00/);
    assert.match(after.text(), /£4704\.00/);
    const receipt = after.links().find((l) => l.href.startsWith('/account/care/receipts/'))!;
    const file = await client.get(receipt.href);
    assert.equal(file.headers['content-type'], 'image/png');
    // Another resident cannot fetch it.
    const other = await signInResident(kiln, 'someone.else@example.com');
    assert.equal((await other.get(receipt.href)).statusCode, 404);
    assert.equal((await other.get(budgetLink.href)).statusCode, 404);

    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    const search = page((await worker.get('/staff/care?name=Moreton')).body);
    const recordLink = search.links().find((l) => l.href.startsWith('/staff/care/people/'))!;
    assert.equal((await worker.get(recordLink.href)).statusCode, 200);
    const access = page((await client.get('/account/care/record-access')).body);
    assert.match(
      access.text(),
      /Grace Nwosu, Kilnford City Council Looked at your record as a member of your care team/,
    );
  });
});
