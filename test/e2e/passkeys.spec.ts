import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestKiln } from '../support/app.ts';
import { axeViolations, describeViolations } from './support/axe.ts';
import { launchBrowser, newContext } from './support/browser.ts';

// Passkeys in a real browser: Chromium's virtual authenticator (through the DevTools protocol)
// answers navigator.credentials, so /assets/passkeys.js and the bundled browser library run as
// they would for a resident. WebAuthn refuses IP addresses, so Kiln is reached as localhost.
describe('passkeys in Chromium', () => {
  let kiln: TestKiln;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let baseURL = '';

  before(async () => {
    const port = await freePort();
    baseURL = `http://localhost:${port}`;
    kiln = await startTestApp({ PUBLIC_URL: baseURL });
    await kiln.app.listen({ host: '127.0.0.1', port });
    browser = await launchBrowser();
    context = await newContext(browser, { viewport: 'mobile', javaScript: true, baseURL });
    page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await kiln?.close();
  });

  async function audited(where: string) {
    const violations = await axeViolations(page);
    if (violations.length) assert.fail(describeViolations(where, violations));
  }
  const heading = async () =>
    ((await page.getByRole('heading', { level: 1 }).first().textContent()) ?? '').trim();
  const submit = (name: string) =>
    Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name, exact: true }).click(),
    ]);

  test('a resident adds a passkey, signs out, and signs in with it', async () => {
    const email = 'passkey.person@example.com';
    await page.goto('/sign-in');
    await page.getByLabel('Email address').fill(email);
    await submit('Email me a sign-in link');
    const [message] = await kiln.platform.notify.list(kiln.platform.db, { recipient: email });
    const link = message!.body.match(/http:\/\/localhost:\d+\/sign-in\/link\?token=[\w-]+/)![0];
    await page.goto(link);
    await submit('Continue to your account');
    assert.equal(await heading(), 'Your account');
    await audited('/account');

    await page.goto('/account/passkeys');
    assert.ok(await page.getByLabel('Name your passkey').isVisible(), 'the script shows the form');
    await audited('/account/passkeys');
    await page.getByLabel('Name your passkey').fill('This phone');
    await submit('Add a passkey');
    assert.match((await page.getByRole('main').textContent()) ?? '', /Passkey added/);
    assert.ok(await page.getByRole('cell', { name: 'This phone' }).isVisible());
    await audited('/account/passkeys (added)');

    await page.goto('/sign-out');
    await submit('Sign out');
    await page.goto('/sign-in');
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('link', { name: 'Sign in with a passkey instead' }).click(),
    ]);
    assert.equal(await heading(), 'Sign in with a passkey');
    assert.equal(
      await page.getByText('needs JavaScript').isVisible(),
      false,
      'the explanation is for browsers without passkeys',
    );
    await audited('/sign-in/passkey');
    await submit('Sign in with a passkey');
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.equal(await heading(), 'Your account');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
