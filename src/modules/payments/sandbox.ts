import { randomBytes } from 'node:crypto';
import type { Db } from '../../platform/db/index.ts';
import { ProviderError, type PaymentProvider, type ProviderPayment } from './provider.ts';
import type { PaymentStatus } from './schema.ts';
import * as store from './store.ts';

/**
 * The sandbox's test cards: GOV.UK Pay's documented numbers, plus one that asks for a 3-D Secure
 * challenge. Any other number is refused, so nobody types a real card into a sandbox.
 */
export const testCards: Record<string, { outcome: CardOutcome; brand: string }> = {
  '4444333322221111': { outcome: 'success', brand: 'Visa' },
  '4242424242424242': { outcome: 'success', brand: 'Visa' },
  '4000000000000002': { outcome: 'declined', brand: 'Visa' },
  '4000000000000069': { outcome: 'expired', brand: 'Visa' },
  '4000000000000127': { outcome: 'invalid_cvc', brand: 'Visa' },
  '4000000000000119': { outcome: 'error', brand: 'Visa' },
  '4000000000003220': { outcome: 'challenge', brand: 'Visa' },
};
export type CardOutcome = 'success' | 'declined' | 'expired' | 'invalid_cvc' | 'error' | 'challenge';

/** The code the sandbox's 3-D Secure page accepts (shown on the page: it is a sandbox). */
export const SANDBOX_CHALLENGE_CODE = '123456';

const failures: Record<
  Exclude<CardOutcome, 'success' | 'challenge'>,
  { status: PaymentStatus; code: string; message: string }
> = {
  declined: { status: 'failed', code: 'P0010', message: 'Your card was declined' },
  expired: { status: 'failed', code: 'P0010', message: 'Your card has expired' },
  invalid_cvc: { status: 'failed', code: 'P0010', message: 'The card security code was not right' },
  error: { status: 'error', code: 'P0050', message: 'There was a problem with the card payment provider' },
};

function toProviderPayment(row: store.SandboxChargeRow): ProviderPayment {
  const open = row.state === 'created' || row.state === 'started' || row.state === 'submitted';
  return {
    providerId: row.provider_id,
    amount: row.amount,
    status: row.state,
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    cardBrand: row.card_brand,
    cardLastFour: row.card_last_four,
    nextUrl: open ? `/pay/card/${row.provider_id}` : null,
  };
}

/** The default provider: a card page served by Kiln itself, with its own settlement records. */
export function sandboxProvider(db: () => Db): PaymentProvider & SandboxBooks {
  return {
    name: 'sandbox',
    async create(payment) {
      const row = await store.insertSandboxCharge(db(), {
        provider_id: `sbx${randomBytes(12).toString('hex')}`,
        amount: payment.amount,
        reference: payment.reference,
        description: payment.description,
        return_url: payment.returnUrl,
      });
      return toProviderPayment(row);
    },
    async get(providerId) {
      const row = await store.findSandboxCharge(db(), providerId);
      if (!row) throw new ProviderError('No such sandbox payment', 404);
      return toProviderPayment(row);
    },
    async cancel(providerId) {
      await db()
        .transaction()
        .execute(async (tx) => {
          const row = await store.findSandboxCharge(tx, providerId, true);
          if (!row || !['created', 'started', 'submitted'].includes(row.state)) return;
          await store.updateSandboxCharge(tx, providerId, {
            state: 'cancelled',
            failure_code: 'P0040',
            failure_message: 'Payment was cancelled by the service',
          });
        });
    },
    async refund(providerId, refund) {
      return db()
        .transaction()
        .execute(async (tx) => {
          const row = await store.findSandboxCharge(tx, providerId, true);
          if (!row || row.state !== 'success')
            throw new ProviderError('That payment cannot be refunded', 404);
          const available = await store.sandboxSettledTotal(tx, providerId);
          // As GOV.UK Pay does: the caller's idea of what is available must match ours (412 otherwise).
          if (refund.refundAmountAvailable !== available) {
            throw new ProviderError('Refund amount available mismatch', 412);
          }
          if (refund.amount > available) throw new ProviderError('Refund exceeds the amount available', 400);
          const refundId = `sbr${randomBytes(12).toString('hex')}`;
          await store.insertSandboxSettlement(tx, {
            provider_id: providerId,
            provider_reference: refundId,
            kind: 'refund',
            amount: -refund.amount,
          });
          return { refundId, status: 'success' as const };
        });
    },
    async getRefund(_providerId, refundId) {
      // Sandbox refunds finish when they are made.
      return { refundId, status: 'success' as const };
    },
    async listRefunds(providerId) {
      return (await store.sandboxRefundsOf(db(), providerId)).map((r) => ({
        refundId: r.provider_reference,
        status: 'success' as const,
        amount: -r.amount,
        createdAt: r.created_at,
      }));
    },
    async open(providerId) {
      const row = await store.findSandboxCharge(db(), providerId);
      if (row?.state === 'created') await store.updateSandboxCharge(db(), providerId, { state: 'started' });
      return row
        ? { ...toProviderPayment(row), description: row.description, returnUrl: row.return_url }
        : undefined;
    },
    async settlements(day) {
      return (await store.sandboxSettlementsOn(db(), day)).map((r) => ({
        kind: r.kind,
        providerReference: r.provider_reference,
        providerPaymentId: r.provider_id,
        amount: r.amount,
        settledOn: day,
      }));
    },
    async submitCard(providerId, card) {
      return db()
        .transaction()
        .execute(async (tx) => {
          const row = await store.findSandboxCharge(tx, providerId, true);
          if (!row || !['created', 'started'].includes(row.state)) return 'finished' as const;
          const test = testCards[card.number]!;
          const seen = { card_brand: test.brand, card_last_four: card.number.slice(-4) };
          if (test.outcome === 'success') {
            await settle(tx, row.provider_id, row.amount, seen);
            return 'success' as const;
          }
          if (test.outcome === 'challenge') {
            await store.updateSandboxCharge(tx, providerId, {
              state: 'submitted',
              challenge_code: SANDBOX_CHALLENGE_CODE,
              ...seen,
            });
            return 'challenge' as const;
          }
          const failure = failures[test.outcome];
          await store.updateSandboxCharge(tx, providerId, {
            state: failure.status,
            failure_code: failure.code,
            failure_message: failure.message,
            ...seen,
          });
          return test.outcome;
        });
    },
    async answerChallenge(providerId, code) {
      return db()
        .transaction()
        .execute(async (tx) => {
          const row = await store.findSandboxCharge(tx, providerId, true);
          if (!row || row.state !== 'submitted') return 'finished' as const;
          if (code === row.challenge_code) {
            await settle(tx, row.provider_id, row.amount, {});
            return 'success' as const;
          }
          await store.updateSandboxCharge(tx, providerId, {
            state: 'failed',
            failure_code: 'P0010',
            failure_message: 'Your bank could not confirm the payment (3-D Secure)',
            challenge_code: null,
          });
          return 'failed' as const;
        });
    },
    async cancelByUser(providerId) {
      const row = await store.findSandboxCharge(db(), providerId);
      if (!row || !['created', 'started', 'submitted'].includes(row.state)) return;
      await store.updateSandboxCharge(db(), providerId, {
        state: 'cancelled',
        failure_code: 'P0030',
        failure_message: 'You cancelled the payment',
      });
    },
  };
}

async function settle(tx: Db, providerId: string, amount: number, seen: Partial<store.SandboxChargeRow>) {
  await store.updateSandboxCharge(tx, providerId, { state: 'success', challenge_code: null, ...seen });
  await store.insertSandboxSettlement(tx, {
    provider_id: providerId,
    provider_reference: providerId,
    kind: 'charge',
    amount,
  });
}

/** What the sandbox's own card page does on the provider's side. */
export interface SandboxBooks {
  open(
    providerId: string,
  ): Promise<(ProviderPayment & { description: string; returnUrl: string }) | undefined>;
  submitCard(providerId: string, card: { number: string }): Promise<CardOutcome | 'failed' | 'finished'>;
  answerChallenge(providerId: string, code: string): Promise<'success' | 'failed' | 'finished'>;
  cancelByUser(providerId: string): Promise<void>;
}
