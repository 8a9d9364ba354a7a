import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { startTestApp, type TestKiln } from '../support/app.ts';
import { Client } from '../support/http.ts';

// Security controls docs/security.md cites that no module's own tests pin down: the session
// cookie's attributes and its replacement at sign-in (ASVS V3), and configuration that fails fast
// in production (V14).

let kiln: TestKiln;
before(async () => {
  kiln = await startTestApp({ PUBLIC_URL: 'https://kiln.example' });
});
after(() => kiln.close());

function sessionCookie(header: string | string[] | number | undefined): string | undefined {
  return [header ?? []]
    .flat()
    .map(String)
    .find((c) => c.startsWith('kiln_session='));
}

describe('Security controls', () => {
  test('the session cookie is HttpOnly and SameSite=Lax, Secure behind https, and replaced at sign-in', async () => {
    const email = 'cookie-check@example.org';
    const client = new Client(kiln.app);
    await client.get('/sign-in');
    const asked = await client.post('/sign-in', { email });
    assert.equal(asked.statusCode, 200, 'Check your email');
    const [message] = await kiln.platform.notify.list(kiln.platform.db, { recipient: email });
    const token = /\/sign-in\/link\?token=([\w-]+)/.exec(message!.body)![1]!;
    await client.get(`/sign-in/link?token=${token}`);
    // An attacker's session token planted in the browser before sign-in (session fixation).
    const planted = 'A'.repeat(43);
    const signedIn = await kiln.app.inject({
      method: 'POST',
      url: '/sign-in/link',
      payload: new URLSearchParams({ _csrf: client.csrfToken(), token }).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `${(client as unknown as { cookieHeader(): string }).cookieHeader()}; kiln_session=${planted}`,
      },
    });
    assert.equal(signedIn.statusCode, 303);
    const after = sessionCookie(signedIn.headers['set-cookie']);
    assert.ok(after, 'signing in sets a new session cookie');
    for (const attribute of [/; HttpOnly/i, /; SameSite=Lax/i, /; Secure/i, /; Path=\//i]) {
      assert.match(after, attribute);
    }
    const value = (cookie: string) => cookie.split(';')[0]!.split('=')[1]!;
    assert.notEqual(value(after), planted, 'signing in never adopts a token the browser brought');
    assert.match(value(after), /^[A-Za-z0-9_-]{43}$/, '32 random bytes');

    const account = await kiln.app.inject({
      url: '/account',
      headers: { cookie: `kiln_session=${value(after)}` },
    });
    assert.equal(account.statusCode, 200, 'the new token opens My account');
    const old = await kiln.app.inject({
      url: '/account',
      headers: { cookie: `kiln_session=${planted}` },
    });
    assert.notEqual(old.statusCode, 200, 'the planted token opens nothing');
  });

  test('production refuses to start without a session secret, and a short one', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /SESSION_SECRET: required in production/);
    assert.throws(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'short' }), /SESSION_SECRET/);
    assert.equal(
      loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) }).sessionSecret,
      'x'.repeat(32),
    );
  });
});
