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
    const cache = new PageCache<string[]>(50, 2);
    cache.set('/a', ['A']);
    cache.set('/b', ['B']);
    cache.set('/c', ['C']);
    assert.equal(cache.get('/a'), undefined);
    assert.deepEqual(cache.get('/c'), ['C']);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(cache.get('/c'), undefined);
  });

  test('each visitor of a kept page gets a form token of their own that works', async () => {
    const question = '/services/report-a-street-problem/questions/problem';
    const first = new Client(kiln.app);
    const second = new Client(kiln.app);
    await first.get(question);
    const b = await second.get(question);
    assert.equal(b.statusCode, 200);
    assert.doesNotMatch(b.body, /__kiln_csrf_token__/);
    assert.ok(first.hasCookie('kiln_csrf') && second.hasCookie('kiln_csrf'));
    assert.notEqual(first.csrfToken(), second.csrfToken());
    const answered = await second.post(question, { problem: 'graffiti' });
    assert.equal(answered.statusCode, 303, 'the token in the kept page is accepted');
    // A page with no form sets no cookie at all.
    const plain = await new Client(kiln.app).get('/accessibility');
    assert.equal(plain.headers['set-cookie'], undefined);
  });

  test('a visitor with a session is never served a kept page', async () => {
    const anonymous = new Client(kiln.app);
    const home = await anonymous.get('/');
    assert.ok(
      page(home.body)
        .links()
        .some((l) => l.href === '/sign-in'),
    );
    kiln.platform.pageCache.set('/', [Buffer.from(home.body.replace('Sign in', 'KEPT PAGE'))]);
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

  test('a kept page is the page as rendered, byte for byte, with a token of its own', async () => {
    kiln.platform.pageCache.clear();
    const question = '/services/report-a-street-problem/questions/problem';
    const rendered = await kiln.app.inject({ url: question });
    const kept = await kiln.app.inject({ url: question });
    assert.ok(kiln.platform.pageCache.get(question), 'the second visitor was served the kept page');
    const tokenOf = (body: string) => body.match(/name="_csrf" value="([^"]+)"/)?.[1];
    const [first, second] = [tokenOf(rendered.body), tokenOf(kept.body)];
    assert.ok(first && second && first !== second);
    assert.equal(kept.body.replaceAll(second, 'TOKEN'), rendered.body.replaceAll(first, 'TOKEN'));
    assert.equal(Number(kept.headers['content-length']), kept.rawPayload.length);
    // Characters beyond ASCII (the council's typography) survive the bytes.
    const home = await kiln.app.inject({ url: '/' });
    const homeKept = await kiln.app.inject({ url: '/' });
    assert.equal(homeKept.body, home.body);
    assert.match(kept.body + homeKept.body, /[^\x00-\x7f]/, 'the pages carry a character beyond ASCII');
  });
});
