import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import type { IdentityTables } from './identity.ts';
import { roleFromClaim } from './oidc.ts';
import { tables } from '../db/index.ts';

// The council's identity provider, played by a real OpenID Connect server on this machine.
const people: Record<string, Record<string, unknown>> = {
  'entra-7f3a': { email: 'Officer@Kilnford.example', email_verified: true, roles: ['Kiln.Team_Lead'] },
  'entra-9b21': { email: 'stranger@elsewhere.example', email_verified: true, roles: ['admin'] },
  'entra-unverified': { email: 'admin@kilnford.example', email_verified: false },
};
const KILN = 'http://localhost:3000';

async function startProvider(): Promise<{ issuer: string; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: Provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'kiln-back-office',
        client_secret: 'a-test-client-secret-of-some-length',
        redirect_uris: [`${KILN}/staff/sign-in/oidc/callback`],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    cookies: { keys: ['test-cookie-signing-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'roles'] },
    // Entra ID puts app roles in the ID token itself.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    findAccount: async (_ctx: KoaContextWithOIDC, sub: string) =>
      people[sub] ? { accountId: sub, claims: async () => ({ sub, ...people[sub] }) } : undefined,
    // Staff are not asked to consent to their own council's back office.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grant = new provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  server.on('request', provider.callback());
  return { issuer, server };
}

/** A browser's visit to the provider: follows its redirects, keeps its cookies, signs in as `sub`. */
async function signInAtProvider(authorizationUrl: string, issuer: string, sub: string): Promise<string> {
  const jar = new Map<string, string>();
  const request = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, ...value] = pair!.split('=');
      jar.set(name!.trim(), value.join('='));
    }
    return res;
  };
  // Follows redirects within the provider; stops at an HTML page or at Kiln's callback.
  const walk = async (res: Response): Promise<{ callback?: string; html?: string }> => {
    while (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location')!, issuer).href;
      if (next.startsWith(KILN)) return { callback: next };
      res = await request(next);
    }
    return { html: await res.text() };
  };
  const login = await walk(await request(authorizationUrl));
  const action = login.html?.match(/<form[^>]*action="([^"]+)"/)?.[1];
  assert.ok(action, 'the provider shows its sign-in form');
  const done = await walk(
    await request(new URL(action, issuer).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt: 'login', login: sub, password: 'any' }).toString(),
    }),
  );
  assert.ok(done.callback, 'the provider sends the browser back to Kiln');
  return done.callback;
}

describe('staff single sign-on (OpenID Connect)', () => {
  let kiln: TestKiln;
  let provider: { issuer: string; server: Server };

  before(async () => {
    provider = await startProvider();
    kiln = await startTestApp({
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: 'kiln-back-office',
      OIDC_CLIENT_SECRET: 'a-test-client-secret-of-some-length',
      OIDC_ROLES_CLAIM: 'roles',
    });
  });
  after(async () => {
    await kiln.close();
    provider.server.closeAllConnections();
    await new Promise((resolve) => provider.server.close(resolve));
  });

  const staffRow = (email: string) =>
    tables<IdentityTables>(kiln.platform.db)
      .selectFrom('staff_users')
      .select(['id', 'role', 'oidc_subject'])
      .where('email', '=', email)
      .executeTakeFirstOrThrow();

  async function startSignIn(browser: Client, returnTo?: string): Promise<string> {
    const res = await browser.get(
      `/staff/sign-in/oidc${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
    );
    assert.equal(res.statusCode, 302);
    const location = new URL(String(res.headers.location));
    assert.equal(location.origin, provider.issuer);
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(location.searchParams.get('state') && location.searchParams.get('nonce'));
    return location.href;
  }

  test('the staff sign-in page offers single sign-on', async () => {
    const res = await kiln.app.inject({ url: '/staff/sign-in' });
    assert.ok(
      page(res.body)
        .links()
        .some((l) => l.href.startsWith('/staff/sign-in/oidc')),
    );
  });

  test('a known member of staff signs in; the subject is linked by verified email and the role claim applies', async () => {
    const browser = new Client(kiln.app);
    const authorization = await startSignIn(browser, '/staff/api-keys');
    const callback = await signInAtProvider(authorization, provider.issuer, 'entra-7f3a');
    const res = await browser.get(callback.slice(KILN.length));
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/staff/api-keys');
    const officer = await staffRow('officer@kilnford.example');
    assert.equal(officer.oidc_subject, 'entra-7f3a');
    assert.equal(officer.role, 'team_lead');
    const home = await browser.get('/staff');
    assert.equal(home.statusCode, 200);
    assert.match(page(home.body).root.text, /Signed in as Tom Bradwell \(Team leader\)/);

    // The same callback a second time is refused: its state was used up.
    const replay = await new Client(kiln.app).get(callback.slice(KILN.length));
    assert.equal(replay.statusCode, 400);
    assert.equal(page(replay.body).heading(), 'Single sign-on did not work');

    const audit = await kiln.platform.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'staff.signed_in')
      .where('actor_id', '=', officer.id)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.deepEqual(audit.detail, { method: 'oidc', linked: true, role: 'team_lead', roleChanged: true });
  });

  test('someone the council has no staff account for is refused with a clear page, and audited', async () => {
    const browser = new Client(kiln.app);
    const callback = await signInAtProvider(await startSignIn(browser), provider.issuer, 'entra-9b21');
    const res = await browser.get(callback.slice(KILN.length));
    assert.equal(res.statusCode, 403);
    assert.equal(page(res.body).heading(), 'You cannot sign in to the back office');
    assert.match(page(res.body).text(), /not linked to a back-office account/);
    const staff = await browser.get('/staff');
    assert.equal(staff.statusCode, 302, 'still signed out');
    const refused = await kiln.platform.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'staff.oidc_refused')
      .execute();
    assert.ok(refused.some((r) => (r.detail as { reason: string }).reason === 'unknown'));
  });

  test('an unverified email address does not link an account', async () => {
    const browser = new Client(kiln.app);
    const callback = await signInAtProvider(await startSignIn(browser), provider.issuer, 'entra-unverified');
    const res = await browser.get(callback.slice(KILN.length));
    assert.equal(res.statusCode, 403);
    assert.match(page(res.body).text(), /did not confirm your email address/);
    const admin = await staffRow('admin@kilnford.example');
    assert.equal(admin.oidc_subject, null);
    assert.equal(admin.role, 'admin');
  });

  test('a callback without a sign-in in progress is refused', async () => {
    const res = await new Client(kiln.app).get('/staff/sign-in/oidc/callback?code=forged&state=forged');
    assert.equal(res.statusCode, 400);
    assert.equal(page(res.body).heading(), 'Single sign-on did not work');
  });

  test('role claims map to Kiln roles; the most privileged wins; others are ignored', () => {
    assert.equal(roleFromClaim(['Kiln.Agent', 'kiln.admin']), 'admin');
    assert.equal(roleFromClaim('team-lead'), 'team_lead');
    assert.equal(roleFromClaim(['Finance.Approver']), null);
    assert.equal(roleFromClaim(undefined), null);
  });
});
