import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET } from '../../seed/index.ts';
import { authenticateApiKey } from './api-keys.ts';
import { totpCode } from './totp.ts';

async function signInStaff(kiln: TestKiln, email: string): Promise<Client> {
  const client = new Client(kiln.app);
  await client.get('/staff/sign-in');
  await client.post('/staff/sign-in', { email, password: DEMO_STAFF_PASSWORD });
  await client.get('/staff/sign-in/code');
  const res = await client.post('/staff/sign-in/code', { code: totpCode(DEMO_TOTP_SECRET) });
  assert.equal(res.statusCode, 303, `${email} signs in`);
  return client;
}

describe('API key administration', () => {
  let kiln: TestKiln;
  let admin: Client;
  before(async () => {
    kiln = await startTestApp();
    admin = await signInStaff(kiln, 'admin@kilnford.example');
  });
  after(async () => kiln.close());

  test('an administrator creates a key, sees it once, and it authenticates with its scopes', async () => {
    const list = await admin.get('/staff/api-keys');
    assert.equal(page(list.body).heading(), 'API keys');
    assert.ok(
      page(list.body)
        .links()
        .some((l) => l.href === '/staff/api-keys'),
      'API keys is in the navigation',
    );

    await admin.get('/staff/api-keys/new');
    let res = await admin.post('/staff/api-keys', { name: '  ', scopes: 'delete:everything' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), [
      'Enter a name for the key',
      'Select what the key may do',
    ]);

    res = await admin.post('/staff/api-keys', {
      name: 'Street lighting contractor',
      scopes: ['open311', 'submissions:create'],
    });
    assert.equal(res.statusCode, 200);
    const shown = page(res.body);
    assert.equal(shown.heading(), 'Your new API key');
    assert.match(shown.text(), /We cannot show it again/);
    const key = shown.root.querySelector('#api-key')?.text.trim();
    assert.match(key ?? '', /^kiln_[0-9a-f]{8}_[\w-]{32}$/);
    assert.equal(res.headers['cache-control'], 'no-store');

    const client = await authenticateApiKey(kiln.platform.db, key);
    assert.equal(client?.name, 'Street lighting contractor');
    assert.deepEqual([...client!.scopes].sort(), ['open311', 'submissions:create']);

    // The list shows the prefix, never the key.
    const after = await admin.get('/staff/api-keys');
    assert.match(page(after.body).text(), /Street lighting contractor/);
    assert.ok(!after.body.includes(key!), 'the key is not shown again');

    const audit = await kiln.platform.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('action', '=', 'apikey.created')
      .executeTakeFirst();
    assert.equal((audit?.detail as { name: string }).name, 'Street lighting contractor');
    assert.ok(!JSON.stringify(audit?.detail).includes(key!), 'the audit log never holds the key');
  });

  test('revoking asks for confirmation, then the key stops working at once', async () => {
    await admin.get('/staff/api-keys/new');
    const res = await admin.post('/staff/api-keys', { name: 'Old gateway', scopes: 'wellbeing:ingest' });
    const key = page(res.body).root.querySelector('#api-key')!.text.trim();
    assert.ok(await authenticateApiKey(kiln.platform.db, key));

    const list = await admin.get('/staff/api-keys');
    const revokeLink = page(list.body)
      .links()
      .find((l) => l.text === 'Revoke Old gateway');
    assert.ok(revokeLink, 'each active key has a revoke link naming it');
    const confirm = await admin.get(revokeLink.href);
    assert.equal(page(confirm.body).heading(), 'Revoke the API key Old gateway?');
    const done = await admin.post(revokeLink.href, {});
    assert.equal(done.statusCode, 303);
    const listed = await admin.follow(done);
    assert.match(page(listed.body).text(), /The key Old gateway has been revoked/);
    assert.equal(await authenticateApiKey(kiln.platform.db, key), null);

    const missing = await admin.get('/staff/api-keys/not-a-uuid/revoke');
    assert.equal(missing.statusCode, 404);
  });

  test('an officer cannot see, create or revoke keys', async () => {
    const officer = await signInStaff(kiln, 'officer@kilnford.example');
    const res = await officer.get('/staff/api-keys');
    assert.equal(res.statusCode, 403);
    await officer.get('/staff/sign-out'); // any page with a form, for a valid CSRF token
    const post = await officer.post('/staff/api-keys', { name: 'Sneaky', scopes: 'open311' });
    assert.equal(post.statusCode, 403);
    const count = await kiln.platform.db
      .selectFrom('api_keys')
      .select('id')
      .where('name', '=', 'Sneaky')
      .execute();
    assert.equal(count.length, 0);
  });
});
