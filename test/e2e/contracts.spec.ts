import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e } from './support/journey.ts';
import { signInResident, signInStaff } from './support/people.ts';
import { londonDay } from '../../src/platform/time.ts';
import { addWorkingDays } from '../../src/platform/working-days.ts';

// Trade waste contracts in My account: the demo resident's bakery asks for a change on a phone
// with JavaScript off; staff answer it, and remove a closure after confirming. Every page passes axe.
describe('Business contracts in the browser', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('the demo resident sees their contract at 360px without JavaScript and asks for a change', async () => {
    const resident = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signInResident(resident, 'resident@kilnford.example');
    await resident.goto('/account');
    await resident.follow('Your business contracts');
    assert.equal(await resident.heading(), 'Your business contracts');
    const list = await resident.mainText();
    assert.match(list, /TW-[A-Z0-9]{4}-[A-Z0-9]{2}: Canal Side Bakery/);
    assert.match(list, /2 × 240 litre general waste bin/);
    assert.match(list, /14 Canal Side, Kilnford KF2 2LQ/);
    assert.match(list, /Invoice each month/);
    const reference = list.match(/TW-[A-Z0-9]{4}-[A-Z0-9]{2}/)![0];
    await resident.follow(/^Invoices, notes and changes/);
    assert.equal(await resident.heading(), `Trade waste contract ${reference}`);
    await resident.submit('Ask for the change', { status: 400 });
    assert.deepEqual(await resident.errorSummary(), ['Enter what you would like to change']);
    await resident.fill('What would you like to change?', 'A third bin for the summer');
    await resident.submit('Ask for the change');
    assert.match(await resident.mainText(), /We have your request to change the contract/);
    await resident.goto('/account/contracts');
    assert.match(await resident.mainText(), /A third bin for the summer .*: Waiting for us to reply/);
  });

  test('staff answer the change request, and the resident sees the answer', async () => {
    const officer = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signInStaff(officer, 'officer@kilnford.example');
    await officer.goto('/staff/bookings/contracts');
    assert.match(await officer.mainText(), /A third bin for the summer/);
    await officer.submit(/^Send for signature/);
    assert.match(await officer.mainText(), /TW-[A-Z0-9]{4}-[A-Z0-9]{2} sent for signature \(SG-/);
    await officer.follow(/^Answer the change to TW-/);
    assert.match(await officer.heading(), /^Change to contract TW-/);
    await officer.choose('Declined');
    await officer.submit('Send the answer', { status: 400 });
    assert.deepEqual(await officer.errorSummary(), ['Enter why the change is declined']);
    await officer.fill('If declined, why', 'The yard at Canal Side has room for two bins');
    await officer.submit('Send the answer');
    assert.match(await officer.mainText(), /marked declined; we have emailed the business/);

    const resident = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signInResident(resident, 'resident@kilnford.example');
    await resident.goto('/account/contracts');
    assert.match(
      await resident.mainText(),
      /A third bin for the summer .*: Declined\. The yard at Canal Side has room for two bins/,
    );
  });

  test('staff add a closure and remove it after confirming', async () => {
    const officer = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signInStaff(officer, 'officer@kilnford.example');
    await officer.goto('/staff/bookings');
    const day = addWorkingDays(londonDay(), 10);
    await officer.page.getByLabel('Site to close').selectOption({ label: 'Wharf Street Library' });
    await officer.fill('First day closed', day);
    await officer.fill('Reason, shown to residents', 'Roof repairs');
    await officer.submit('Add closure');
    assert.match(await officer.mainText(), /Wharf Street Library: .*Roof repairs/);
    await officer.follow(/^Remove\s*the closure of Wharf Street Library/);
    assert.equal(await officer.heading(), 'Remove this closure?');
    assert.match(await officer.mainText(), /Roof repairs/);
    await officer.submit('Remove closure');
    const after = await officer.mainText();
    assert.match(after, /Closure removed: Wharf Street Library can be booked again/);
    assert.doesNotMatch(after, /Roof repairs/);
  });
});
