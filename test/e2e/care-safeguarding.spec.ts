import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e, type KilnPage } from './support/journey.ts';
import { inboxShows, signInStaff } from './support/people.ts';

// A neighbour worried about an older woman finds help in the directory, then refers her with a
// safeguarding concern: emergency contacts show at once, the referral goes to the duty team as
// urgent, and a social worker outside her care team has to break the glass to see her record.
// Every page is checked with axe at 360px (JavaScript off and on) and on the desktop.
const REFERENCE = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/;

async function refer(page: KilnPage, email: string): Promise<string> {
  await page.goto('/care');
  assert.equal(await page.heading(), 'Care and support');
  await page.follow('Search the care and support directory');
  await page.choose('Memory and dementia');
  await page.fill('Postcode', 'KF3 1QR');
  await page.submit('Search');
  assert.match(await page.mainText(), /Memory café/);
  await page.follow('Ask us for care and support');
  assert.equal(await page.heading(), 'Ask for care and support');
  assert.match(await page.mainText(), /If someone is in immediate danger, call 999/);
  await page.submit('Start now');
  assert.equal(await page.heading(), 'Who do you need help for?');
  await page.submit('Continue', { status: 400 });
  assert.deepEqual(await page.errorSummary(), ['Select who you need help for']);
  await page.choose('An adult I am worried about');
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Is anyone in danger or at risk of harm?');
  await page.choose('Yes, someone is being abused or neglected, or is at risk of it');
  await page.submit('Continue');
  // The emergency contacts come first, before any more questions.
  assert.equal(await page.heading(), 'Get help now');
  const urgent = await page.mainText();
  assert.match(urgent, /call 999/);
  assert.match(urgent, /Emergency duty team \(evenings, weekends and bank holidays\): 01632 960 999/);
  await page.submit('Continue', { status: 400 });
  assert.deepEqual(await page.errorSummary(), ['Tell us what is happening']);
  await page.fill(
    'What is happening?',
    'Her grandson takes her pension and she has had no food since Friday.',
  );
  await page.submit('Continue');
  assert.equal(await page.heading(), 'About them and you');
  await page.fill('Full name', 'Edna Blakeley');
  await page.fill('Address', '7 Saggar Street, Kilnford KF1 3CD');
  await page.choose('No');
  await page.fill('Your full name', 'Sunita Rao');
  await page.fill('How do you know them?', 'Neighbour');
  await page.fill('Your email address', email);
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Check your answers before sending');
  assert.match(await page.mainText(), /goes to the duty team as urgent/);
  await page.submit('Send referral');
  assert.equal(await page.heading(), 'Referral sent');
  const text = await page.mainText();
  assert.match(text, /duty team has your referral as urgent/);
  assert.match(text, /call 999/);
  return text.match(REFERENCE)![0];
}

describe('Care: a safeguarding referral, end to end', () => {
  let e2e: E2e;
  const references: string[] = [];

  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('a neighbour refers at 360px without JavaScript', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    references.push(await refer(page, 'sunita.rao@example.com'));
    await inboxShows(page, 'sunita.rao@example.com', new RegExp(references[0]!));
  });

  test('and with JavaScript, at 360px', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: true });
    references.push(await refer(page, 'sam.rao@example.com'));
  });

  test('the duty team finds it urgent in their queue; a social worker outside the care team breaks the glass', async () => {
    const admin = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(admin, 'admin@kilnford.example');
    await admin.goto(`/staff/cases/${references[0]}`);
    assert.match(await admin.mainText(), /Urgent social care concern/);
    assert.match(await admin.mainText(), /Edna Blakeley/);

    const officer = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(officer, 'childrenworker@kilnford.example');
    await officer.goto('/staff/care');
    await officer.fill('NHS number', '999 000 0026');
    await officer.submit('Find a person');
    // Outside the care team the record answers 403, with the way to break the glass.
    await officer.follow('Dorothy Pell', { status: 403 });
    assert.equal(await officer.heading(), 'You are not in this person’s care team');
    await officer.submit('Break the glass and open the record', { status: 400 });
    assert.deepEqual(await officer.errorSummary(), [
      'Enter why you need to see this record, in at least 10 characters',
    ]);
    await officer.fill(
      'Why do you need to see this record?',
      'Duty cover: urgent call from her son about a fall',
    );
    await officer.choose('There is an immediate risk to this person’s life or safety');
    await officer.submit('Break the glass and open the record');
    assert.equal(await officer.heading(), 'Dorothy Pell');
    assert.match(await officer.mainText(), /You opened this record by breaking the glass/);
    await inboxShows(
      officer,
      'privacy.officer@kilnford.example',
      /Owen Pryce .* opened the care record of Dorothy Pell/,
    );
  });
});
