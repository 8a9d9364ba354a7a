import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e } from './support/journey.ts';
import { signInStaff, residentVisitor } from './support/people.ts';
import { londonDay } from '../../src/platform/time.ts';
import { isWorkingDay } from '../../src/platform/working-days.ts';

function nextWorkingDay(after: number): string {
  const d = new Date(`${londonDay()}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + after);
  while (!isWorkingDay(d.toISOString().slice(0, 10))) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

// Book: a resident books a library computer on a phone with JavaScript off and cancels it; another
// books and pays for a bulky waste collection; a librarian runs the desk. Every page passes axe.
describe('Book in the browser', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('a resident books a library computer with JavaScript off, then cancels it', async () => {
    const resident = await residentVisitor(e2e, 'resident@kilnford.example');
    await resident.goto('/book');
    assert.equal(await resident.heading(), 'Book a place');
    await resident.page.getByLabel('What do you want to book?').selectOption('library-pc');
    await resident.page.getByLabel('Where?').selectOption('wharf-library');
    await resident.submit('Find');
    await resident.follow('Public computer, Wharf Street Library');
    assert.equal(await resident.heading(), 'Public computer, Wharf Street Library');
    // A day ahead, so the booking can still be cancelled online whatever the time now.
    await resident.goto(`/book/wharf-library-pc?date=${nextWorkingDay(2)}`);
    await resident.submit('Book', { status: 400 });
    assert.deepEqual(await resident.errorSummary(), ['Choose a time']);
    // The last time offered: the furthest from now, so it is outside the cancellation window.
    await resident.page.getByRole('radio').last().check();
    await resident.submit('Book');
    assert.equal(await resident.heading(), 'Booking confirmed');
    const text = await resident.mainText();
    const reference = text.match(/BK-[A-Z0-9]{4}-[A-Z0-9]{2}/)![0];
    assert.match(text, /Wharf Street Library/);
    await resident.follow('Cancel this booking');
    assert.equal(await resident.heading(), 'Are you sure you want to cancel this booking?');
    await resident.submit('Yes, cancel this booking');
    assert.equal(await resident.heading(), 'Your bookings');
    assert.match(await resident.mainText(), new RegExp(`${reference} is cancelled`));
  });

  test('a resident books and pays for a bulky waste collection', async () => {
    const resident = await residentVisitor(e2e, 'resident@kilnford.example', {
      viewport: 'desktop',
      javaScript: true,
    });
    await resident.goto('/book?category=bulky-waste');
    await resident.follow('Bulky waste collection');
    assert.equal(await resident.heading(), 'What is the address for the collection?');
    await resident.fill('Postcode', 'ZZ9 9ZZ');
    await resident.submit('Find address', { status: 400 });
    assert.match((await resident.errorSummary())[0]!, /only collect from addresses in Kilnford/);
    await resident.fill('Postcode', 'KF1 2AB');
    await resident.submit('Find address');
    await resident.page.getByRole('radio').first().check();
    await resident.submit('Continue');
    assert.equal(await resident.heading(), 'What do you want us to collect?');
    await resident.fill('Sofa (£12.00 each)', '1');
    await resident.fill('Fridge or freezer (£18.00 each)', '1');
    await resident.submit('Continue');
    assert.equal(await resident.heading(), 'Which day do you want your collection?');
    await resident.page.getByRole('radio').first().check();
    await resident.submit('Continue');
    assert.equal(await resident.heading(), 'Check your booking');
    await resident.submit('Book and pay £30.00');
    assert.equal(await resident.heading(), 'Enter card details');
    await resident.fill('Card number', '4444 3333 2222 1111');
    await resident.fill('Month', '12');
    await resident.fill('Year', '2030');
    await resident.fill('Name on card', 'Alex Moreton');
    await resident.fill('Card security code', '123');
    await resident.submit('Continue');
    assert.equal(await resident.heading(), 'Booking confirmed');
    assert.match(await resident.mainText(), /Bottle Kiln Lane[\s\S]*£30\.00/);
  });

  test('a librarian books a walk-in at the desk and checks them in', async () => {
    const librarian = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(librarian, 'librarian@kilnford.example');
    await librarian.goto('/staff/bookings');
    await librarian.follow('Kilnford Central Library: today’s bookings');
    // Tomorrow, so there are free times whatever the time of day the test runs.
    await librarian.follow('Next day');
    const options = await librarian.page.getByLabel('What and when').locator('option').count();
    if (options === 0) return; // The library is closed that day (a Sunday or bank holiday).
    await librarian.fill('Or their name', 'Pat Doorstep');
    const computer = librarian.page.locator('option', { hasText: 'Public computer' }).last();
    await librarian.page.getByLabel('What and when').selectOption((await computer.getAttribute('value'))!);
    await librarian.submit('Book');
    assert.match(
      await librarian.mainText(),
      /Booked Public computer, Kilnford Central Library for Pat Doorstep/,
    );
    await librarian.submit('Check in Pat Doorstep');
    assert.match(await librarian.mainText(), /Pat Doorstep: checked in/);
  });
  // The terms checkbox is found by its role and accessible name. Its <label for="agree"> is tied to
  // the input correctly; Playwright's getByLabel tests a RegExp against the label's raw text, which
  // starts with the whitespace the GOV.UK template puts inside <label>, so /^I can sign/ found nothing.
  const terms = (visitor: { page: import('playwright-core').Page }) =>
    visitor.page.getByRole('checkbox', { name: /^I can sign for the business/ });

  test('a business gets a trade waste quote and accepts it as a contract paid by invoice', async () => {
    const owner = await residentVisitor(e2e, 'owner@kilnford-cafe.example');
    await owner.goto('/business');
    await owner.follow('Trade waste collection');
    assert.equal(await owner.heading(), 'Get a trade waste quote');
    await owner.submit('Get a price', { status: 400 });
    assert.equal((await owner.errorSummary()).length, 4);
    await owner.choose('General waste');
    await owner.choose('240 litres');
    await owner.fill('How many bins?', '2');
    await owner.choose('Every week');
    await owner.submit('Get a price');
    assert.equal(await owner.heading(), 'Your trade waste quote');
    assert.match(await owner.mainText(), /Total each month £59\.33/);
    // A GOV.UK button drawn from a link has the role button.
    await owner.submit('Accept this quote');
    assert.equal(await owner.heading(), 'Accept the quote');
    // Without ticking the terms: the error summary links to the checkbox.
    await owner.fill('Business name', 'Kilnford Kiln Café Ltd');
    await owner.fill('Billing address', '2 Glaze Row, Kilnford KF1 4EF');
    await owner.fill('Your role in the business', 'Owner');
    await owner.page
      .getByRole('radio', { name: /^Week starting/ })
      .first()
      .check();
    await owner.choose('Invoice each month');
    await owner.submit('Accept and sign the contract', { status: 400 });
    assert.deepEqual(await owner.errorSummary(), [
      'Confirm you agree to the terms and can sign for the business',
    ]);
    assert.equal(
      await owner.page.getByRole('link', { name: /Confirm you agree/ }).getAttribute('href'),
      '#agree',
    );
    await owner.page
      .getByRole('radio', { name: /^Week starting/ })
      .first()
      .check();
    await owner.choose('Invoice each month');
    await terms(owner).check();
    await owner.submit('Accept and sign the contract');
    assert.match(await owner.heading(), /^Trade waste contract TW-/);
    const text = await owner.mainText();
    assert.match(text, /Each month £59\.33/);
    assert.match(text, /Paying by Invoice each month/);
    const reference = (await owner.heading()).replace('Trade waste contract ', '');
    // The contract is on the business's account.
    await owner.goto('/business');
    await owner.follow(`${reference}: trade waste for Kilnford Kiln Café Ltd`);
    assert.equal(await owner.heading(), `Trade waste contract ${reference}`);
  });

  test('the same business accepts a second quote, paid by Direct Debit', async () => {
    const owner = await residentVisitor(e2e, 'owner@kilnford-cafe.example', {
      viewport: 'desktop',
      javaScript: true,
    });
    await owner.goto('/business/trade-waste/quote?stream=recycling&size=1100&bins=1&frequency=fortnightly');
    assert.equal(await owner.heading(), 'Your trade waste quote');
    await owner.submit('Accept this quote');
    assert.equal(await owner.heading(), 'Accept the quote');
    await owner.choose('Kilnford Kiln Café Ltd');
    await owner.page
      .getByRole('radio', { name: /^Week starting/ })
      .nth(1)
      .check();
    await owner.choose('Direct Debit');
    await terms(owner).check();
    await owner.submit('Accept and sign the contract');
    assert.match(await owner.heading(), /^Trade waste contract TW-/);
    const text = await owner.mainText();
    assert.match(text, /Paying by Direct Debit/);
    assert.match(text, /Kilnford Kiln Café Ltd/);
    await owner.follow('Set up the Direct Debit');
    await owner.goto('/business');
    assert.equal(
      await owner.page.getByRole('link', { name: /trade waste for Kilnford Kiln Café Ltd/ }).count(),
      2,
    );
  });
  test('an officer changes a site’s opening hours and a computer’s settings', async () => {
    const officer = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signInStaff(officer, 'officer@kilnford.example');
    await officer.goto('/staff/bookings');
    await officer.follow('Change Wharf Street Library’s opening hours');
    assert.equal(await officer.heading(), 'Change Wharf Street Library');
    await officer.fill('Saturday', '10-1');
    await officer.submit('Save the site', { status: 400 });
    assert.deepEqual(await officer.errorSummary(), [
      'Enter Saturday’s opening hours like 09:00-17:00, with times separated by a comma',
    ]);
    await officer.fill('Saturday', '10:00-13:00');
    await officer.submit('Save the site');
    assert.match(await officer.mainText(), /Wharf Street Library saved/);
    await officer.follow('Public computer, Wharf Street Library');
    await officer.follow('Change the settings of Public computer, Wharf Street Library');
    await officer.fill('Places at each time', 'four');
    await officer.submit('Save the settings', { status: 400 });
    assert.deepEqual(await officer.errorSummary(), ['Enter the number of places as a whole number, like 1']);
    await officer.fill('Places at each time', '5');
    await officer.submit('Save the settings');
    assert.match(await officer.mainText(), /settings saved/);
  });
});
