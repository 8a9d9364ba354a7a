import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestKiln } from '../../../test/support/app.ts';
import { page, type Client } from '../../../test/support/http.ts';
import type { Payment } from './service.ts';

/**
 * A new card payment owed by a resident, made as a service would (one key, one payment), for
 * tests: `key` defaults to a fresh one, so each call is a new payment.
 */
export function residentPayment(
  kiln: TestKiln,
  residentId: string,
  amount: number,
  options: { key?: string; description?: string } = {},
): Promise<Payment & { created: boolean }> {
  const key = options.key ?? randomUUID();
  return kiln.platform.db.transaction().execute((tx) =>
    kiln.services.payments.service.createPayment(tx, {
      amount,
      description: options.description ?? 'Bulky waste collection',
      payer: { residentId },
      paysFor: { type: 'test', id: key },
      idempotencyKey: key,
      actor: { type: 'resident', id: residentId },
    }),
  );
}

/**
 * Fills in the sandbox's card page as a cardholder would (a future expiry date, a name, a
 * security code) and returns its answer: a redirect back to Kiln, or to a 3-D Secure challenge.
 */
export async function submitSandboxCard(client: Client, cardPage: string, cardNumber: string) {
  const form = await client.get(cardPage);
  assert.equal(page(form.body).heading(), 'Enter card details');
  const submitted = await client.post(cardPage, {
    cardNumber,
    expiryMonth: '12',
    expiryYear: '2031',
    cardholderName: 'A Moreton',
    cvc: '123',
  });
  assert.equal(submitted.statusCode, 303, page(submitted.body).errorSummary().join());
  return submitted;
}
