import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { PageCache } from './page-cache.ts';

describe('pages kept for visitors without a session', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('entries expire, and the oldest goes first when full', async () => {
    const cache = new PageCache(50, 2);
    cache.set('/a', 'A');
    cache.set('/b', 'B');
    cache.set('/c', 'C');
    assert.equal(cache.get('/a'), undefined);
    assert.equal(cache.get('/c'), 'C');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(cache.get('/c'), undefined);
  });

  test('each visitor of a kept page gets a form token of their own that works', async () => {
    const first = new Client(kiln.app);
    const second = new Client(kiln.app);
    const a = await first.get('/accessibility');
    const b = await second.get('/accessibility');
    assert.equal(page(b.body).heading(), 'Accessibility statement');
    assert.doesNotMatch(b.body, /__kiln_csrf_token__/);
    // Each got a CSRF cookie; the sign-in form (not kept) accepts each one's token.
    assert.ok(a.headers['set-cookie'] && b.headers['set-cookie']);
    await first.get('/sign-in');
    await second.get('/sign-in');
    assert.notEqual(first.csrfToken(), second.csrfToken());
    const res = await second.post('/sign-in', { email: 'kept.page@example.com' });
    assert.equal(page(res.body).heading(), 'Check your email');
  });

  test('a visitor with a session is never served a kept page', async () => {
    const anonymous = new Client(kiln.app);
    const home = await anonymous.get('/');
    assert.ok(
      page(home.body)
        .links()
        .some((l) => l.href === '/sign-in'),
    );
    kiln.platform.pageCache.set('/', home.body.replace('Sign in', 'KEPT PAGE'));
    const again = await new Client(kiln.app).get('/');
    assert.match(again.body, /KEPT PAGE/, 'anonymous visitors get the kept page');
    const withSession = new Client(kiln.app);
    await withSession.get('/sign-in');
    await withSession.post('/sign-in', { email: 'has.session@example.com' });
    // Starting a service stores answers in a session.
    await withSession.get('/services/report-a-street-problem/start');
    assert.ok(withSession.hasCookie('kiln_session'));
    const mine = await withSession.get('/');
    assert.doesNotMatch(mine.body, /KEPT PAGE/);
    kiln.platform.pageCache.clear();
  });
});
