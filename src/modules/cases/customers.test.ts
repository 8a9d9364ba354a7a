import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { registerCustomerTimelineSource } from './index.ts';
import { demoResidentId, givenCase } from './test-fixtures.ts';

describe('customer view and assisted digital', () => {
  let kiln: TestKiln;
  let agent: Client;
  let officer: Client;
  before(async () => {
    kiln = await startTestApp();
    agent = await staffClient(kiln, 'agent@kilnford.example');
    officer = await staffClient(kiln, 'officer@kilnford.example');
  });
  after(async () => kiln.close());

  const names = (html: string) =>
    page(html)
      .root.querySelectorAll('table tbody tr td:first-child a')
      .map((a) => a.text.trim());

  test('search finds residents by name, email, phone, customer reference and case reference', async () => {
    const { reference } = await givenCase(kiln, { residentId: await demoResidentId(kiln) });
    for (const q of [
      'moreton',
      'Alex M',
      'RESIDENT@kilnford.example',
      '07700900123',
      '07700 900 123',
      'CU-DEMO-01',
      reference,
      reference.toLowerCase(),
    ]) {
      const res = await officer.get(`/staff/customers?q=${encodeURIComponent(q)}`);
      assert.equal(res.statusCode, 200, q);
      assert.deepEqual(names(res.body), ['Alex Moreton'], q);
    }
    const none = await officer.get('/staff/customers?q=zzzzzz');
    assert.match(page(none.body).text(), /No residents found/);
    const short = await officer.get('/staff/customers?q=a');
    assert.deepEqual(page(short.body).errorSummary(), ['Enter at least 2 characters to search']);
    const wild = await officer.get('/staff/customers?q=%25%25');
    assert.deepEqual(names(wild.body), [], 'LIKE wildcards are searched for literally');
  });

  test('the customer view shows details, every case, messages sent and one timeline, with other modules’ items', async () => {
    const residentId = await demoResidentId(kiln);
    const phoned = await givenCase(kiln, {
      residentId,
      channel: 'phone',
      summary: 'Laptop for a job search',
    });
    registerCustomerTimelineSource('test-payments', async (_db, id) =>
      id === residentId
        ? [{ at: new Date('2026-01-05T10:00:00Z'), title: 'Payment taken: £25.00', text: 'PAY-TEST-01' }]
        : [],
    );
    const res = await officer.get('/staff/customers/CU-DEMO-01');
    assert.equal(res.statusCode, 200);
    const p = page(res.body);
    assert.equal(p.heading(), 'Alex Moreton');
    const viewed = await sql<{
      n: number;
    }>`select count(*)::int as n from audit_log where action = 'resident.record_viewed' and subject_id = ${residentId}`.execute(
      kiln.platform.db,
    );
    assert.ok(viewed.rows[0]!.n >= 1, 'opening the record is audited');
    assert.match(p.text(), /12 Bottle Kiln Lane/);
    assert.ok(p.links().some((l) => l.href === `/staff/cases/${phoned.reference}`));
    assert.match(p.text(), /Phone/);
    assert.match(p.text(), /Messages sent/);
    assert.match(p.text(), /We have received your request/, 'the acknowledgement email is listed');
    assert.match(p.text(), /Payment taken: £25.00/);
    const timeline = p.root.querySelectorAll('.kiln-timeline__item h3').map((h) => h.text.trim());
    assert.equal(timeline.at(-1), 'Payment taken: £25.00', 'oldest last');
    assert.ok(timeline.includes(`Case received: Borrow a library laptop`));
    // A source that fails leaves the rest of the page standing.
    registerCustomerTimelineSource('test-broken', async () => {
      throw new Error('down');
    });
    const stillThere = await officer.get('/staff/customers/CU-DEMO-01');
    assert.equal(stillThere.statusCode, 200);
    assert.match(page(stillThere.body).text(), /Some history could not be loaded: test-broken/);
    registerCustomerTimelineSource('test-broken', async () => []);
    assert.equal((await officer.get('/staff/customers/CU-NOPE-00')).statusCode, 404);
  });

  test('an agent records a new resident, acts for them, sees the banner on resident pages, then stops', async () => {
    await agent.get('/staff/assisted/new');
    const invalid = await agent.post('/staff/assisted/new', {
      name: '',
      email: 'not-an-email',
      phone: '12',
      address: '',
    });
    assert.equal(invalid.statusCode, 400);
    assert.deepEqual(page(invalid.body).errorSummary(), [
      'Enter the resident’s full name',
      'Enter an email address in the correct format, like name@example.com',
      'Enter a telephone number, like 01632 960 001 or 07700 900 982',
    ]);
    assert.equal(page(invalid.body).root.querySelector('input#email')?.getAttribute('value'), 'not-an-email');
    const taken = await agent.post('/staff/assisted/new', {
      name: 'Someone',
      email: 'resident@kilnford.example',
    });
    assert.deepEqual(page(taken.body).errorSummary(), [
      'A resident with this email address already exists: search for them instead',
    ]);

    const created = await agent.post('/staff/assisted/new', {
      name: 'Dot Cotton',
      email: '',
      phone: '01632 960 222',
      address: '1 Kiln Yard',
    });
    assert.equal(created.statusCode, 303);
    const channelPage = await agent.follow(created);
    assert.equal(page(channelPage.body).heading(), 'How did Dot Cotton contact the council?');
    const url = String(created.headers.location);
    const noChannel = await agent.post(url, {});
    assert.deepEqual(page(noChannel.body).errorSummary(), ['Choose how the resident contacted the council']);
    const started = await agent.post(url, { channel: 'phone' });
    assert.equal(started.statusCode, 303);
    assert.equal(started.headers.location, '/services');

    const residentPage = await agent.get('/accessibility');
    const banner = page(residentPage.body).root.querySelector('form[action="/staff/assisted/finish"]');
    assert.ok(banner, 'the acting-for banner is shown');
    assert.match(banner.text, /You are acting for Dot Cotton \(by phone\)/);
    assert.match(banner.text, /Stop acting for this resident/);

    const finished = await agent.post('/staff/assisted/finish', {});
    assert.equal(finished.statusCode, 303);
    assert.match(String(finished.headers.location), /^\/staff\/customers\/CU-/);
    const view = await agent.follow(finished);
    assert.equal(page(view.body).heading(), 'Dot Cotton');
    assert.match(page(view.body).text(), /You have stopped acting for Dot Cotton/);
    const after = await agent.get('/accessibility');
    assert.equal(page(after.body).root.querySelector('form[action="/staff/assisted/finish"]'), null);
  });

  test('an agent finds an existing resident and acts for them face to face', async () => {
    const search = await agent.get('/staff/assisted?q=moreton');
    const link = page(search.body)
      .links()
      .find((l) => l.text === 'Act for Alex Moreton');
    assert.equal(link?.href, '/staff/assisted/CU-DEMO-01');
    await agent.get(link.href);
    await agent.post(link.href, { channel: 'face_to_face' });
    const reminder = await agent.get('/staff/assisted');
    assert.match(page(reminder.body).text(), /You are still acting for Alex Moreton \(face to face\)/);
    const residentPage = await agent.get('/privacy');
    const banner = page(residentPage.body).root.querySelector('form[action="/staff/assisted/finish"]');
    assert.match(banner?.text.replace(/\s+/g, ' ') ?? '', /You are acting for Alex Moreton \(face to face\)/);
    await agent.post('/staff/assisted/finish', {});
  });

  test('an officer cannot act for residents', async () => {
    const res = await officer.get('/staff/assisted');
    assert.equal(res.statusCode, 403);
    await officer.get('/staff/sign-out'); // a page with a form, for the CSRF token
    const post = await officer.post('/staff/assisted/CU-DEMO-01', { channel: 'phone' });
    assert.equal(post.statusCode, 403);
  });
});
