import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { residentIdOf } from '../../../test/support/resident.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { PaymentError } from './service.ts';

// Random sequences of create / pay / fail / refund / retry / late returns against the real
// service and database. After every sequence the books must prove themselves.
type Command =
  | { kind: 'create'; amount: number; reuse: number | null }
  | { kind: 'pay'; target: number; card: string; returns: number }
  | { kind: 'refund'; target: number; amount: number; twice: boolean }
  | { kind: 'reconcileAll' };

const cards = [
  '4444333322221111',
  '4242424242424242',
  '4000000000000002',
  '4000000000000069',
  '4000000000000127',
  '4000000000000119',
];

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('create' as const),
    amount: fc.integer({ min: 1, max: 50_000 }),
    reuse: fc.option(fc.nat(20), { nil: null }),
  }),
  fc.record({
    kind: fc.constant('pay' as const),
    target: fc.nat(20),
    card: fc.constantFrom(...cards),
    returns: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('refund' as const),
    target: fc.nat(20),
    amount: fc.integer({ min: 1, max: 60_000 }),
    twice: fc.boolean(),
  }),
  fc.constant({ kind: 'reconcileAll' as const }),
);

describe('ledger properties', () => {
  let kiln: TestKiln;
  let residentId: string;
  before(async () => {
    // No background workers: their reconciler settling payments mid-sequence would race the
    // sequence's own steps. Reconciliation of abandoned payments has its own test.
    kiln = await startTestApp({ RUN_WORKERS: 'false' });
    residentId = await residentIdOf(kiln);
  });
  after(async () => kiln.close());

  async function checkBooks() {
    const db = kiln.platform.db;
    // A resident may pay and never come back: the reconciler (which the workers run before the
    // daily report) settles such payments from the provider. Run it as they would.
    await kiln.services.payments.service.reconcileUnfinished(0);
    const perPayment = await sql<{
      id: string;
      status: string;
      amount: number;
      taken: number;
      returned: number;
      takes: number;
      succeeded: number;
      refunds_booked: number;
    }>`
      select p.id, p.status, p.amount,
        coalesce((select sum(amount) from payment_ledger l where l.payment_id = p.id and l.amount > 0), 0)::int as taken,
        coalesce((select -sum(amount) from payment_ledger l where l.payment_id = p.id and l.amount < 0), 0)::int as returned,
        (select count(*) from payment_ledger l where l.payment_id = p.id and l.amount > 0)::int as takes,
        (select count(*) from domain_events e where e.subject_id = p.id::text and e.type = 'payment.succeeded')::int as succeeded,
        coalesce((select sum(amount) from payment_refunds r where r.payment_id = p.id and r.status = 'success'), 0)::int as refunds_booked
      from payments p`.execute(db);
    for (const p of perPayment.rows) {
      assert.ok(p.takes <= 1, `payment ${p.id} took money ${p.takes} times`);
      assert.ok(p.succeeded <= 1, `payment ${p.id} succeeded ${p.succeeded} times`);
      assert.equal(p.status === 'success', p.takes === 1, `status ${p.status} agrees with the ledger`);
      assert.ok(p.taken === 0 || p.taken === p.amount, 'took exactly the amount');
      assert.ok(p.returned <= p.taken, `refunds ${p.returned} exceed charges ${p.taken}`);
      assert.equal(
        p.returned,
        p.refunds_booked,
        'every successful refund is in the ledger, and nothing else',
      );
    }
    // The ledger matches the card provider's own settlement records, entry by entry.
    const report = await kiln.services.payments.service.reconciliationReport(db);
    assert.deepEqual(report.card.mismatches, []);
    assert.equal(report.card.ledgerNet, report.card.settlementNet);
  }

  test('the ledger always balances, no payment succeeds twice, refunds never exceed charges', async () => {
    const { service, sandbox } = kiln.services.payments;
    const db = kiln.platform.db;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (commands) => {
        const made: Array<{ id: string; reference: string; key: string; amount: number }> = [];
        const pick = (i: number) => (made.length ? made[i % made.length] : undefined);
        for (const c of commands) {
          if (c.kind === 'create') {
            const earlier = c.reuse === null ? undefined : pick(c.reuse);
            const key = earlier?.key ?? randomUUID();
            const p = await db.transaction().execute((tx) =>
              service.createPayment(tx, {
                amount: earlier?.amount ?? c.amount,
                description: 'Property test',
                payer: { residentId },
                paysFor: { type: 'property-test', id: key },
                idempotencyKey: key,
                actor: { type: 'resident', id: residentId },
              }),
            );
            if (earlier) assert.equal(p.id, earlier.id, 'a retried key returns the same payment');
            else made.push({ id: p.id, reference: p.reference, key, amount: p.amount });
          } else if (c.kind === 'pay') {
            const p = pick(c.target);
            if (!p) continue;
            try {
              const { nextUrl } = await service.startCardPayment(p, `/pay/${p.reference}/confirmation`);
              await sandbox!.submitCard(nextUrl.split('/').pop()!, { number: c.card });
            } catch (error) {
              assert.ok(error instanceof PaymentError && error.code === 'already_paid', String(error));
            }
            for (let i = 0; i < c.returns; i++) await service.reconcile(p.id);
          } else if (c.kind === 'refund') {
            const p = pick(c.target);
            if (!p) continue;
            const attempt = () =>
              service
                .refund({
                  payment: p.id,
                  amount: c.amount,
                  reason: 'Property test',
                  idempotencyKey: randomUUID(),
                  actor: { type: 'system', id: null },
                })
                .then(
                  () => 'refunded',
                  (error: unknown) => {
                    assert.ok(error instanceof PaymentError, String(error));
                    return error.code;
                  },
                );
            await Promise.all(c.twice ? [attempt(), attempt()] : [attempt()]);
          } else {
            await service.reconcileUnfinished(0);
          }
        }
        await checkBooks();
      }),
      { numRuns: 30 },
    );
  });
});
