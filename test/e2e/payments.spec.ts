import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { E2e } from './support/journey.ts';
import { signInStaff, residentVisitor } from './support/people.ts';

// Pay for a bulky waste collection with a sandbox test card (JavaScript off, on a phone), then
// refund it from the back office; Direct Debit set-up and the staff payment pages. Every page
// passes axe.
describe('Payments in the browser', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('a resident pays with a test card and an officer refunds it', async () => {
    const { kiln } = e2e;
    const { rows } = await sql<{
      id: string;
    }>`select id from residents where email = 'resident@kilnford.example'`.execute(kiln.platform.db);
    const residentId = rows[0]!.id;
    const { service } = kiln.services.payments;
    const key = randomUUID();
    const payment = await kiln.platform.db.transaction().execute((tx) =>
      service.createPayment(tx, {
        amount: 3500,
        description: 'Bulky waste collection: 3 items',
        payer: { residentId },
        paysFor: { type: 'e2e', id: key },
        idempotencyKey: key,
        actor: { type: 'resident', id: residentId },
      }),
    );
    const { nextUrl } = await service.startCardPayment(payment, `/pay/${payment.reference}/confirmation`);

    const resident = await residentVisitor(e2e, 'resident@kilnford.example');
    await resident.goto(nextUrl);
    assert.equal(await resident.heading(), 'Enter card details');
    await resident.submit('Continue', { status: 400 });
    assert.deepEqual(await resident.errorSummary(), [
      'Enter your card number',
      'Enter the expiry date',
      'Enter the name as it appears on the card',
      'Enter the card security code',
    ]);
    await resident.fill('Card number', '4444 3333 2222 1111');
    await resident.fill('Month', '12');
    await resident.fill('Year', '2030');
    await resident.fill('Name on card', 'Alex Moreton');
    await resident.fill('Card security code', '123');
    await resident.submit('Continue');
    assert.equal(await resident.heading(), 'Payment received');
    assert.match(await resident.mainText(), new RegExp(payment.reference));

    const officer = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(officer, 'officer@kilnford.example');
    await officer.goto('/staff/payments');
    await officer.follow(payment.reference);
    assert.equal(await officer.heading(), `Payment ${payment.reference}`);
    await officer.fill('Amount to refund, in pounds', '40');
    await officer.fill('Reason for the refund', 'Collection cancelled');
    await officer.submit('Refund', { status: 400 });
    assert.deepEqual(await officer.errorSummary(), [
      'The refund cannot be more than £35.00, the amount left to refund',
    ]);
    await officer.fill('Amount to refund, in pounds', '35.00');
    await officer.fill('Reason for the refund', 'Collection cancelled');
    await officer.submit('Refund');
    assert.match(await officer.mainText(), /Refund RFD-\w{4}-\w{2} of £35\.00 made/);
    assert.equal((await service.balance(kiln.platform.db, payment.id)).balance, 0);
  });

  test('a resident sets up a Direct Debit; team leaders see payments, reconciliation, pay-point and Bacs pages', async () => {
    const resident = await residentVisitor(e2e, 'resident@kilnford.example');
    await resident.goto('/direct-debit/set-up');
    await resident.fill('Name on the account', 'Alex Moreton');
    await resident.fill('Sort code', '10-79-99');
    await resident.fill('Account number', '88837493');
    await resident.choose('Yes');
    await resident.submit('Continue', { status: 400 });
    assert.deepEqual(await resident.errorSummary(), [
      'The sort code and account number do not match: check them and try again',
    ]);
    await resident.fill('Account number', '88837491');
    await resident.submit('Continue');
    assert.equal(await resident.heading(), 'Check your Direct Debit details');
    await resident.submit('Confirm and set up Direct Debit');
    assert.equal(await resident.heading(), 'Direct Debit set up');

    const lead = await e2e.visitor({ viewport: 'desktop', javaScript: false });
    await signInStaff(lead, 'lead@kilnford.example');
    await lead.goto('/staff/payments/reconciliation');
    assert.equal(await lead.heading(), 'Daily reconciliation');
    await lead.goto('/staff/payments/paypoint');
    await lead.submit('Import', { status: 400 });
    assert.deepEqual(await lead.errorSummary(), ['Choose the pay-point transaction file']);
    await lead.goto('/staff/payments/direct-debit');
    await lead.submit('Make Bacs file');
    assert.match(await lead.mainText(), /Bacs file made: \d+ new instructions/);
    const { rows } = await sql<{
      reference: string;
    }>`select reference from payment_paypoint_references limit 1`.execute(e2e.kiln.platform.db);
    const ref = rows[0];
    await lead.goto(`/pay/cash/${ref!.reference}`);
    assert.equal(await lead.heading(), 'Pay in cash at a shop');
  });
});
