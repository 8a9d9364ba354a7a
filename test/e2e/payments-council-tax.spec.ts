import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e } from './support/journey.ts';
import { residentVisitor } from './support/people.ts';

// The Council Tax account in My account: the account page with its pay-point barcode, the bill
// as a PDF, going paperless (the bill arrives in the documents) and paying part of the balance
// by card. JavaScript off on a phone, and on at desktop width; every page passes axe.
describe('Council Tax account in the browser', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('a resident views the bill PDF and goes paperless (no JavaScript, phone)', async () => {
    const resident = await residentVisitor(e2e, 'resident@kilnford.example');
    await resident.goto('/account');
    await resident.follow('Council tax');
    assert.equal(await resident.heading(), 'Council tax 2026/27');
    const text = await resident.mainText();
    assert.match(text, /Band C/);
    assert.match(text, /Left to pay £795\.36/);
    assert.equal(await resident.page.locator('.kiln-barcode svg[role="img"]').count(), 1);

    const bill = (await resident.links()).find((l) => l.text === 'View your 2026/27 bill (PDF)');
    assert.ok(bill, 'the bill link');
    const pdf = await resident.page.request.get(bill.href);
    assert.equal(pdf.status(), 200);
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

    await resident.follow('Change how you get bills');
    assert.equal(await resident.heading(), 'How do you want to get your council tax bills?');
    await resident.choose('In my account (paperless)');
    await resident.submit('Save');
    assert.equal(await resident.heading(), 'Council tax 2026/27');
    assert.match(await resident.mainText(), /You have gone paperless/);
    await resident.goto('/account/documents');
    assert.ok((await resident.links()).some((l) => l.text === 'Council tax bill 2026/27 (PDF)'));
  });

  test('a resident pays part of the balance by card (JavaScript on, desktop)', async () => {
    const resident = await residentVisitor(e2e, 'resident@kilnford.example', {
      viewport: 'desktop',
      javaScript: true,
    });
    await resident.goto('/account/council-tax/40017123');
    // "Pay now" is a link drawn as a button: open its address.
    assert.equal(
      await resident.page.getByRole('button', { name: 'Pay now' }).getAttribute('href'),
      '/account/council-tax/40017123/pay',
    );
    await resident.goto('/account/council-tax/40017123/pay');
    assert.equal(await resident.heading(), 'How much do you want to pay?');
    await resident.submit('Continue to payment', { status: 400 });
    assert.deepEqual(await resident.errorSummary(), ['Select how much you want to pay']);
    await resident.choose('Another amount');
    await resident.fill('Amount in pounds', '25.00');
    await resident.submit('Continue to payment');
    assert.equal(await resident.heading(), 'Enter card details');
    await resident.fill('Card number', '4444 3333 2222 1111');
    await resident.fill('Month', '12');
    await resident.fill('Year', '2030');
    await resident.fill('Name on card', 'Alex Moreton');
    await resident.fill('Card security code', '123');
    await resident.submit('Continue');
    assert.equal(await resident.heading(), 'Payment received');
    await resident.goto('/account/council-tax/40017123');
    assert.match(await resident.mainText(), /Left to pay £770\.36/);
  });
});
