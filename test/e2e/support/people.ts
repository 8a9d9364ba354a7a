import assert from 'node:assert/strict';
import { totpCode } from '../../../src/platform/auth/totp.ts';
import { DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET } from '../../../src/seed/index.ts';
import type { TestKiln } from '../../support/app.ts';
import type { E2e, KilnPage, Visitor } from './journey.ts';

/** Signs a member of staff in with password and the code from their authenticator. */
export async function signInStaff(page: KilnPage, email = 'officer@kilnford.example') {
  await page.goto('/staff/sign-in');
  assert.equal(await page.heading(), 'Sign in to the back office');
  await page.fill('Work email address', email);
  await page.fill('Password', DEMO_STAFF_PASSWORD);
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Enter the code from your authenticator app');
  await page.fill('Enter the code from your authenticator app', totpCode(DEMO_TOTP_SECRET));
  await page.submit('Sign in');
}

/** Signs a resident in the way they would: ask for a link, open the demo inbox, follow it. */
export async function signInResident(page: KilnPage, email: string) {
  await page.goto('/sign-in');
  await page.fill('Email address', email);
  await page.submit('Email me a sign-in link');
  assert.equal(await page.heading(), 'Check your email');
  const link = await emailedLink(page, email, /\/sign-in\/link\?token=/);
  await page.goto(link);
  assert.equal(await page.heading(), 'Sign in');
  await page.submit('Continue to your account');
}

/** A new visitor (a phone with JavaScript off unless told) signed in as a resident. */
export async function residentVisitor(
  e2e: E2e,
  email: string,
  visitor: Visitor = { viewport: 'mobile', javaScript: false },
): Promise<KilnPage> {
  const page = await e2e.visitor(visitor);
  await signInResident(page, email);
  return page;
}

/**
 * Reads the resident's messages in the demo inbox, newest first, and returns the address of the
 * first link matching `pattern`. Emails go out from a background job, so the inbox is re-read
 * until the message arrives.
 */
export async function emailedLink(
  page: KilnPage,
  email: string,
  pattern: RegExp,
  ms = 15_000,
): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    await page.goto(`/demo/inbox?email=${encodeURIComponent(email)}`);
    const link = (await page.links(page.page.getByRole('main'))).find((l) => pattern.test(l.href));
    if (link) return link.href;
    if (Date.now() > deadline) assert.fail(`No email to ${email} with a link matching ${pattern}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Reads the demo inbox until a message whose text matches `pattern` is there; returns the page text. */
export async function inboxShows(
  page: KilnPage,
  email: string,
  pattern: RegExp,
  ms = 15_000,
): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    await page.goto(`/demo/inbox?email=${encodeURIComponent(email)}`);
    const text = await page.mainText();
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) assert.fail(`The demo inbox of ${email} never showed ${pattern}:\n${text}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The messages stored for a recipient (the notifications table), newest first. */
export async function messagesTo(kiln: TestKiln, email: string) {
  return kiln.platform.notify.list(kiln.platform.db, { recipient: email });
}
