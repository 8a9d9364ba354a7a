import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e } from './support/journey.ts';
import { inboxShows, signInStaff } from './support/people.ts';

// A resident responds to the open demo consultation on a 360px phone with JavaScript off, saving
// and coming back first; an officer closes a consultation and publishes "you said, we did", and
// the resident who left an email reads it. Every page is checked with axe.
describe('Engage: responding to a consultation and "you said, we did"', () => {
  let e2e: E2e;
  const email = 'jo.haddon@example.com';

  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('a resident responds at 360px without JavaScript, saving and coming back first', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await page.goto('/consultations');
    await page.follow('Library opening hours from April 2027');
    assert.equal(await page.heading(), 'Library opening hours from April 2027');
    await page.submit('Respond to this consultation');
    assert.equal(await page.heading(), 'Your response');

    await page.submit('Send my response', { status: 400 });
    assert.deepEqual(await page.errorSummary(), [
      'Select an answer to: Which library do you use most?',
      'Select an answer to: We should open later on weekday mornings to stay open until 8pm on two evenings.',
    ]);
    await page.choose('Etherley Library');
    await page.choose('Weekday evenings');
    await page.choose('Saturdays');
    await page.submit('Save and come back later');
    assert.equal(await page.heading(), 'Your answers are saved');
    await page.follow('Carry on with your response now');
    assert.equal(await page.page.getByLabel('Etherley Library').isChecked(), true);

    await page.choose('Agree');
    await page.fill(
      '4. Is there anything else you want to tell us about library opening hours? (optional)',
      'Late opening on Thursdays would let me use the computers after work.',
    );
    await page.choose('35 to 44');
    await page.fill('Email address (optional)', email);
    await page.submit('Send my response');
    assert.equal(await page.heading(), 'Response sent');
    assert.match(await page.mainText(), /Your reference\s*RS-/);

    // The same phone cannot send a second response.
    await page.goto('/consultations/library-opening-hours-2027/respond');
    assert.equal(await page.heading(), 'You have already responded');
  });

  test('an officer closes the consultation and publishes "you said, we did"; the resident is told', async () => {
    const officer = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(officer, 'officer@kilnford.example');
    await officer.goto('/staff/engage');
    await officer.follow('Library opening hours from April 2027');
    await officer.follow('Results');
    assert.match(await officer.mainText(), /1 response/);
    assert.equal(await officer.page.getByRole('img', { name: /Answers to question 1/ }).count(), 1);
    await officer.page.goBack();
    await officer.submit('Close consultation now');
    assert.match(await officer.mainText(), /No more responses will be counted/);
    await officer.submit('Publish you said, we did');
    await officer.submit('Publish you said, we did', { status: 400 });
    assert.ok((await officer.errorSummary()).includes('Enter what people said'));
    await officer.fill('You said', 'You asked for evening opening, especially on Thursdays.');
    await officer.fill(
      'We did',
      'From April 2027 Etherley Library opens until 8pm on Tuesdays and Thursdays.',
    );
    await officer.fill('Name of the decision', 'Cabinet decision: library opening hours');
    await officer.fill('Web address of the decision', 'https://democracy.kilnford.example/decisions/431');
    await officer.page.getByLabel('Service that changed as a result').selectOption('join-the-library');
    await officer.submit('Publish you said, we did');
    assert.match(await officer.mainText(), /You said, we did" is published/);

    const resident = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await inboxShows(resident, email, /What happened after the consultation: Library opening hours/);
    await resident.goto('/consultations/library-opening-hours-2027/outcome');
    assert.equal(await resident.heading(), 'You said, we did');
    assert.match(await resident.mainText(), /opens until 8pm on Tuesdays and Thursdays/);
    assert.ok((await resident.links()).some((l) => l.href === '/services/join-the-library'));
  });

  test('a resident finds free computers near them and sees where to book', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await page.goto('/get-online');
    await page.fill('Your postcode', 'ZZ9 9ZZ');
    await page.submit('Find places near me', { status: 400 });
    assert.deepEqual(await page.errorSummary(), [
      'We cannot find ZZ9 9ZZ in Kilnford. Check the postcode, or search by a Kilnford postcode near you',
    ]);
    await page.fill('Your postcode', 'KF2 3NP');
    await page.choose('Public computers');
    await page.submit('Find places near me');
    assert.equal(await page.heading(), 'Places near KF2 3NP');
    await page.follow('Wharf Street Library');
    assert.match(await page.mainText(), /Opening hours/);
    // "Book a computer" is a link styled as a button: it leads to the bookings module.
    const book = page.page.getByRole('button', { name: 'Book a computer' });
    assert.equal(await book.getAttribute('href'), '/book/wharf-library-pc');
    assert.ok((await page.links()).some((l) => l.href === '/book/digital-skills-basics'));
  });
});
