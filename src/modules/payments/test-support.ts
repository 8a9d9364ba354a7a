import { randomUUID } from 'node:crypto';
import type { TestKiln } from '../../../test/support/app.ts';
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
