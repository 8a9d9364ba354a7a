import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e, type KilnPage } from './support/journey.ts';
import { inboxShows, signInResident, signInStaff } from './support/people.ts';

// The foundation journey, end to end in a real browser: a resident reports a street problem, the
// streets team deals with it, and the resident follows it in their account and their email.
const SERVICE = 'Report a street problem';
const REFERENCE = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/;

/** From the home page to the first question of the street problem service. */
async function startReport(page: KilnPage) {
  await page.goto('/');
  await page.follow(SERVICE);
  assert.equal(await page.heading(), SERVICE);
  await page.submit('Start now');
  assert.equal(await page.heading(), 'What is the problem?');
}

/** Answers the questions about a deep pothole on Saggar Street, one page at a time. */
async function describePothole(page: KilnPage, detail: string) {
  // Continuing without an answer names the problem and keeps the page.
  await page.submit('Continue', { status: 400 });
  assert.deepEqual(await page.errorSummary(), ['Select the problem']);
  await page.choose('Pothole');
  await page.submit('Continue');
  assert.equal(await page.heading(), 'How deep is the pothole?');
  await page.choose('More than 10cm');
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Where is the problem?');
  await page.fill('Street name', 'Saggar Street');
  await page.fill('Where on the street (optional)', detail);
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Describe the problem');
  await page.fill('Describe the problem', 'A deep hole by the kerb; cyclists swerve round it.');
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Add a photo (optional)');
  await page.submit('Continue');
}

/** Checks the answers, sends the request and returns its reference from the confirmation. */
async function checkAndSend(page: KilnPage, detail: string): Promise<string> {
  assert.equal(await page.heading(), 'Check your answers before sending your request');
  const answers = await page.mainText();
  assert.match(answers, /More than 10cm/);
  assert.match(answers, new RegExp(`Saggar Street, Kilnford: ${detail}`));
  await page.submit('Send request');
  assert.equal(await page.heading(), 'Request sent');
  const reference = (await page.mainText()).match(REFERENCE)?.[0];
  assert.ok(reference, 'the confirmation shows a KLN- reference');
  return reference;
}

describe('a resident reports a street problem and follows it to the end', () => {
  let e2e: E2e;
  let signedInReference = '';
  const resident = 'jo.tranter@example.com';
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('at 360px without JavaScript, without an account, with the acknowledgement in the inbox', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    const email = 'sam.fenton@example.com';
    await startReport(page);
    await describePothole(page, 'outside number 3');
    assert.equal(await page.heading(), 'What is your email address?');
    await page.fill('What is your email address?', 'not an email');
    await page.submit('Continue', { status: 400 });
    assert.deepEqual(await page.errorSummary(), [
      'Enter an email address in the correct format, like name@example.com',
    ]);
    await page.fill('What is your email address?', email);
    await page.submit('Continue');
    const reference = await checkAndSend(page, 'outside number 3');
    const inbox = await inboxShows(page, email, new RegExp(`We have received your request: ${reference}`));
    assert.match(inbox, new RegExp(`Your reference is ${reference}`));
  });

  test('at 360px with JavaScript, signed in by an emailed link, with the acknowledgement in the inbox', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: true });
    await signInResident(page, resident);
    assert.equal(page.path(), '/account');
    await startReport(page);
    await describePothole(page, 'by the post box');
    // Signed in: the email address is known, so it is not asked for.
    signedInReference = await checkAndSend(page, 'by the post box');
    await inboxShows(page, resident, new RegExp(`We have received your request: ${signedInReference}`));
  });

  test('the streets officer finds it in the queue, takes it, updates the resident and resolves it', async () => {
    assert.ok(signedInReference, 'the report above was sent');
    const page = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(page, 'officer@kilnford.example');
    assert.equal(await page.heading(), 'Back office');
    await page.follow('Cases', { within: page.page.getByRole('navigation', { name: 'Back office' }) });
    assert.match(await page.heading(), /^Cases/);
    await page.follow(signedInReference, { within: page.page.getByRole('table') });
    assert.equal(await page.heading(), `Case ${signedInReference}`);

    await page.submit('Assign to me');
    assert.match(await page.mainText(), /This case is assigned to you/);

    const update = 'We have booked a repair crew for Thursday; the hole is coned off until then.';
    await page.fill('Update for the resident', update);
    await page.submit('Send update to resident');
    assert.match(await page.mainText(), new RegExp(update.slice(0, 40)));

    await page.choose('Resolved');
    await page.fill('Reason', 'Pothole filled and the kerb made good.');
    await page.submit('Change status');
    assert.deepEqual(await page.errorSummary(), []);
    assert.match(await page.mainText(), /Status Resolved: Pothole filled and the kerb made good\./);
  });

  test('the resident signs in at 360px without JavaScript and sees the update in My account and by email', async () => {
    assert.ok(signedInReference, 'the report above was sent');
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signInResident(page, resident);
    assert.equal(page.path(), '/account');
    await page.follow(signedInReference);
    assert.equal(await page.heading(), SERVICE);
    const request = await page.mainText();
    assert.match(request, /Status Done/);
    assert.match(request, /We have booked a repair crew for Thursday/);
    assert.match(request, /Pothole filled and the kerb made good/);
    const inbox = await inboxShows(
      page,
      resident,
      new RegExp(`An update on your request ${signedInReference}`),
    );
    assert.match(inbox, /We have booked a repair crew for Thursday/);
  });
});
