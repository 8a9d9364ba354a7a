import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { tables } from '../../platform/db/index.ts';
import type { IdentityTables } from '../../platform/auth/identity.ts';
import type { Actor } from '../../platform/actor.ts';

/** Signs a resident in the way a person does: email address, emailed link, button. */
async function signInResident(kiln: TestKiln, email: string, returnTo?: string): Promise<Client> {
  const client = new Client(kiln.app);
  await client.get(returnTo ? `/sign-in?returnTo=${encodeURIComponent(returnTo)}` : '/sign-in');
  await client.post('/sign-in', { email, ...(returnTo ? { returnTo } : {}) });
  const [message] = await kiln.platform.notify.list(kiln.platform.db, { recipient: email });
  const token = message?.body.match(/\/sign-in\/link\?token=([\w-]+)/)?.[1];
  assert.ok(token, 'a sign-in link was emailed');
  await client.get(`/sign-in/link?token=${token}`);
  const res = await client.post('/sign-in/link', { token });
  assert.equal(res.statusCode, 303);
  return client;
}

async function residentIdOf(kiln: TestKiln, email: string): Promise<string> {
  const row = await tables<IdentityTables>(kiln.platform.db)
    .selectFrom('residents')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirstOrThrow();
  return row.id;
}

async function createRequest(kiln: TestKiln, residentId: string, title = 'Report a pothole') {
  const actor: Actor = { type: 'resident', id: residentId };
  return kiln.platform.db.transaction().execute((tx) =>
    kiln.services.cases.service.createCase(tx, {
      service: { slug: 'report-a-pothole', title, version: 1, teamCode: 'streets', sla: null },
      residentId,
      channel: 'web',
      answers: { location: 'Outside 4 Saggar Street' },
      summary: 'Outside 4 Saggar Street',
      idempotencyKey: randomUUID(),
      actor,
    }),
  );
}

describe('My account', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('signed-out visitors are sent to sign in, and come back to the page they wanted', async () => {
    const res = await kiln.app.inject({ url: '/account/details' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/sign-in?returnTo=%2Faccount%2Fdetails');
    const client = await signInResident(kiln, 'ruth.kiln@example.com', '/account/details');
    const details = await client.get('/account/details');
    assert.equal(page(details.body).heading(), 'Your details');
  });

  test("a resident sees their own requests and their history, never another resident's", async () => {
    const mine = await signInResident(kiln, 'amira.patel@example.com');
    const theirs = await signInResident(kiln, 'joe.bloggs@example.com');
    const amira = await residentIdOf(kiln, 'amira.patel@example.com');
    const joe = await residentIdOf(kiln, 'joe.bloggs@example.com');
    const own = await createRequest(kiln, amira);
    const other = await createRequest(kiln, joe, 'Report fly-tipping');
    const officer: Actor = { type: 'staff', id: null };
    await kiln.platform.db.transaction().execute(async (tx) => {
      await kiln.services.cases.service.addNote(tx, {
        caseId: own.id,
        actor: officer,
        body: 'Internal: caller sounded cross',
      });
      await kiln.services.cases.service.postPublicUpdate(tx, {
        caseId: own.id,
        actor: officer,
        message: 'A crew will fill it this week',
      });
    });

    const overview = await mine.get('/account');
    const p = page(overview.body);
    assert.equal(p.heading(), 'Your account');
    assert.ok(
      p.links().some((l) => l.text === own.reference && l.href === `/account/requests/${own.reference}`),
    );
    assert.match(p.text(), /Report a pothole/);
    assert.doesNotMatch(p.text(), new RegExp(other.reference));
    assert.ok(
      p.links().some((l) => l.text === 'My account'),
      'the navigation offers My account',
    );

    const detail = await mine.get(`/account/requests/${own.reference}`);
    assert.equal(detail.statusCode, 200);
    const text = page(detail.body).text();
    assert.match(text, /A crew will fill it this week/);
    assert.match(text, /received/i);
    assert.doesNotMatch(text, /caller sounded cross/);

    const refused = await mine.get(`/account/requests/${other.reference}`);
    assert.equal(refused.statusCode, 404);
    assert.equal(page(refused.body).heading(), 'Page not found');
    const junk = await mine.get('/account/requests/%3Cscript%3E');
    assert.equal(junk.statusCode, 404);
    const theirsOk = await theirs.get(`/account/requests/${other.reference}`);
    assert.equal(theirsOk.statusCode, 200);
  });

  test('details: an invalid phone number gets a specific error; a valid one is saved and audited', async () => {
    const client = await signInResident(kiln, 'lee.ward@example.com');
    await client.get('/account/details');
    let res = await client.post('/account/details', { name: '', phone: '12345', address: '' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), [
      'Enter your full name',
      'Enter a phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192',
    ]);
    assert.match(page(res.body).title(), /^Error: /);
    res = await client.post('/account/details', {
      name: 'Lee Ward',
      phone: '+44 7700 900 982',
      address: '3 Glaze Row\nKilnford KF2 9ZZ',
    });
    assert.equal(res.statusCode, 303);
    const after = await client.follow(res);
    assert.match(page(after.body).text(), /Your details have been saved/);
    const id = await residentIdOf(kiln, 'lee.ward@example.com');
    const row = await tables<IdentityTables>(kiln.platform.db)
      .selectFrom('residents')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(row.name, 'Lee Ward');
    assert.equal(row.phone, '07700900982');
    assert.equal(row.address, '3 Glaze Row\nKilnford KF2 9ZZ');
    const audit = await kiln.platform.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('subject_id', '=', id)
      .where('action', '=', 'resident.details_changed')
      .executeTakeFirst();
    assert.deepEqual(audit?.detail, { changed: ['name', 'phone', 'address'] });
  });

  test('text messages need a mobile number: a clear error without one', async () => {
    const client = await signInResident(kiln, 'no.phone@example.com');
    await client.get('/account/notifications');
    let res = await client.post('/account/notifications', { channels: ['email', 'sms'] });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), [
      'To get text messages, add a mobile phone number to your details first',
    ]);
    res = await client.post('/account/notifications', {});
    assert.deepEqual(page(res.body).errorSummary(), ['Select how you want us to contact you']);

    await client.get('/account/details');
    await client.post('/account/details', { name: 'Nia Phone', phone: '07700 900 123', address: '' });
    await client.get('/account/notifications');
    res = await client.post('/account/notifications', { channels: 'sms' });
    assert.equal(res.statusCode, 303);
    const id = await residentIdOf(kiln, 'no.phone@example.com');
    const row = await tables<IdentityTables>(kiln.platform.db)
      .selectFrom('residents')
      .select(['notify_by_email', 'notify_by_sms'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { notify_by_email: false, notify_by_sms: true });
  });

  test("download my data: a JSON attachment with the resident's requests and nobody else's", async () => {
    const client = await signInResident(kiln, 'dana.cole@example.com');
    await signInResident(kiln, 'eli.north@example.com');
    const dana = await residentIdOf(kiln, 'dana.cole@example.com');
    const own = await createRequest(kiln, dana);
    const foreign = await createRequest(
      kiln,
      await residentIdOf(kiln, 'eli.north@example.com'),
      'Report graffiti',
    );
    const res = await client.get('/account/download');
    assert.equal(res.statusCode, 200);
    assert.match(
      String(res.headers['content-disposition']),
      /^attachment; filename="my-data-CU-[\w-]+\.json"$/,
    );
    const data = JSON.parse(res.body);
    assert.equal(data.account.email, 'dana.cole@example.com');
    assert.deepEqual(
      data.requests.map((r: { reference: string }) => r.reference),
      [own.reference],
    );
    assert.doesNotMatch(res.body, new RegExp(foreign.reference));
    assert.doesNotMatch(res.body, /eli\.north/);
    assert.ok(
      Array.isArray(data.messages) && data.messages.length > 0,
      'the acknowledgement email is listed',
    );
    assert.deepEqual(data.passkeys, []);
    const audit = await kiln.platform.db
      .selectFrom('audit_log')
      .select('action')
      .where('subject_id', '=', dana)
      .where('action', '=', 'resident.data_downloaded')
      .executeTakeFirst();
    assert.ok(audit);
  });

  test('delete my account: signed out, email no longer opens the old record, requests kept without personal data', async () => {
    const client = await signInResident(kiln, 'sam.leaving@example.com');
    const onTheirPhone = await signInResident(kiln, 'sam.leaving@example.com');
    const id = await residentIdOf(kiln, 'sam.leaving@example.com');
    const request = await createRequest(kiln, id);
    const page1 = await client.get('/account/delete');
    assert.equal(page(page1.body).heading(), 'Delete your account');
    assert.match(page(page1.body).text(), /public task under UK GDPR/);
    let res = await client.post('/account/delete', {});
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), ['Select yes if you want to delete your account']);
    res = await client.post('/account/delete', { confirm: 'yes' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/account/deleted');
    const done = await client.follow(res);
    assert.equal(page(done.body).heading(), 'Your account has been deleted');

    // The old session is gone: My account asks to sign in again.
    const again = await client.get('/account');
    assert.equal(again.statusCode, 303);
    // So is every other session of theirs.
    const elsewhere = await onTheirPhone.get('/account');
    assert.equal(elsewhere.statusCode, 303);
    assert.match(String(elsewhere.headers.location), /^\/sign-in/);

    const t = tables<IdentityTables>(kiln.platform.db);
    const row = await t.selectFrom('residents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.name, 'Deleted account');
    assert.equal(row.email, null);
    assert.equal(row.phone, null);
    assert.equal(row.address, null);
    assert.equal(row.has_account, false);

    const kept = await kiln.services.cases.service.findByReference(kiln.platform.db, request.reference);
    assert.ok(kept, 'the record of the service is kept');
    assert.equal(kept.resident_id, id);

    // Signing in with the same email starts a new, empty account.
    const fresh = await signInResident(kiln, 'sam.leaving@example.com');
    const newId = await residentIdOf(kiln, 'sam.leaving@example.com');
    assert.notEqual(newId, id);
    const overview = await fresh.get('/account');
    assert.doesNotMatch(page(overview.body).text(), new RegExp(request.reference));
    const refused = await fresh.get(`/account/requests/${request.reference}`);
    assert.equal(refused.statusCode, 404);

    const audit = await kiln.platform.db
      .selectFrom('audit_log')
      .select('action')
      .where('subject_id', '=', id)
      .where('action', '=', 'resident.account_deleted')
      .executeTakeFirst();
    assert.ok(audit);
  });

  test('forms in progress are listed, downloaded and deleted with the account', async () => {
    const client = await signInResident(kiln, 'drew.draft@example.com');
    const id = await residentIdOf(kiln, 'drew.draft@example.com');
    const catalogue = kiln.services.catalogue.service;
    await catalogue.saveDraftAnswers(id, 'missed-bin-collection', { 'bin-type': 'recycling' });
    const overview = await client.get('/account');
    const p = page(overview.body);
    assert.match(p.text(), /Forms you have started/);
    const [draft] = await catalogue.listDrafts(kiln.platform.db, id);
    assert.ok(draft, 'the catalogue lists the draft');
    assert.ok(p.links().some((l) => l.href === draft.href && l.text === draft.title));

    const data = JSON.parse((await client.get('/account/download')).body);
    assert.equal(data.drafts.length, 1);
    assert.equal(data.drafts[0].service, draft.title);

    await client.get('/account/delete');
    await client.post('/account/delete', { confirm: 'yes' });
    assert.equal(await catalogue.findDraftAnswers(id, 'missed-bin-collection'), undefined);
  });

  test('other modules add their pages to My account; only pages under /account/', async () => {
    const accounts = kiln.services.accounts.service;
    accounts.addLink({ href: '/account/library-loans', text: 'Your library loans' });
    assert.throws(() => accounts.addLink({ href: 'https://elsewhere.example', text: 'Elsewhere' }));
    const client = await signInResident(kiln, 'lin.links@example.com');
    const overview = await client.get('/account');
    assert.ok(
      page(overview.body)
        .links()
        .some((l) => l.href === '/account/library-loans' && l.text === 'Your library loans'),
    );
  });
});
