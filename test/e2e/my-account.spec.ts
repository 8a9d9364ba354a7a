import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e } from './support/journey.ts';
import { signInResident } from './support/people.ts';

// My account without JavaScript, on a small phone: every page and every error passes axe.
describe('My account, JavaScript off, 360px', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('details, contact preferences, passkeys without JavaScript, and deletion', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signInResident(page, 'resident@kilnford.example');
    assert.equal(await page.heading(), 'Your account');

    await page.follow(/^KLN-/);
    assert.match(await page.mainText(), /What has happened/);
    await page.follow('Back to your account');

    await page.follow('Change your name, phone number or address');
    await page.fill('Phone number (optional)', '12345');
    await page.submit('Save your details', { status: 400 });
    assert.deepEqual(await page.errorSummary(), [
      'Enter a phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192',
    ]);
    await page.fill('Phone number (optional)', '07700 900 123');
    await page.submit('Save your details');
    assert.match(await page.mainText(), /Your details have been saved/);

    await page.follow('Choose how we contact you');
    await page.choose('Text message');
    await page.submit('Save');
    assert.match(await page.mainText(), /How we contact you has been saved/);

    await page.follow('Sign in with a passkey');
    assert.match(await page.mainText(), /Adding a passkey needs JavaScript/);

    await page.goto('/account/delete');
    await page.submit('Continue', { status: 400 });
    assert.deepEqual(await page.errorSummary(), ['Select yes if you want to delete your account']);
    await page.choose('Yes, delete my account');
    await page.submit('Continue');
    assert.equal(await page.heading(), 'Your account has been deleted');
    await page.goto('/account');
    assert.equal(await page.heading(), 'Sign in to your account');
  });
});
