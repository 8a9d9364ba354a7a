import { londonDay } from '../../platform/time.ts';
import { addWorkingDays } from '../../platform/working-days.ts';
import { z } from 'zod';
import type { Actor } from '../../platform/actor.ts';
import { systemActor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { DomainEvent } from '../../platform/events/index.ts';
import type { Platform } from '../../platform/module.ts';
import { finalStatuses, movesForward, ProviderError, type PaymentProvider } from './provider.ts';
import { paymentMethods, type PaymentMethod, type PaymentStatus } from './schema.ts';
import * as store from './store.ts';
import { can, type StaffRole } from '../../platform/auth/permissions.ts';
import { receiptPdf } from './pdf.ts';

/** A payment as other modules and pages see it. */
export interface Payment {
  id: string;
  reference: string;
  amount: number;
  description: string;
  status: PaymentStatus;
  method: PaymentMethod;
  channel: string;
  paysFor: { type: string; id: string };
  payerResidentId: string | null;
  payerEmail: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  cardBrand: string | null;
  cardLastFour: string | null;
  returnUrl: string | null;
  provider: string | null;
  takenByStaff: string | null;
  createdAt: Date;
  succeededAt: Date | null;
}

export const newPaymentSchema = z
  .object({
    amount: z.number().int().positive().max(10_000_000),
    description: z.string().trim().min(1).max(255),
    payer: z.object({
      residentId: z.string().uuid().nullish(),
      email: z.string().email().max(254).nullish(),
    }),
    paysFor: z.object({ type: z.string().min(1).max(60), id: z.string().min(1).max(120) }),
    idempotencyKey: z.string().min(8).max(200),
    method: z.enum(paymentMethods).default('card'),
    channel: z.string().min(1).max(40).default('web'),
  })
  .refine((p) => p.payer.residentId || p.payer.email, {
    message: 'A payment needs a payer: a resident or an email address',
    path: ['payer'],
  });

export type NewPayment = z.input<typeof newPaymentSchema> & { actor: Actor };

/** What the `payment.succeeded` event carries. */
export interface PaymentSucceeded {
  paymentId: string;
  reference: string;
  amount: number;
  paysFor: { type: string; id: string };
  method: PaymentMethod;
}

/** A payment rule was broken; nothing changed. `message` is fit to show. */
export class PaymentError extends Error {
  constructor(
    message: string,
    readonly code:
      'not_found' | 'already_paid' | 'not_refundable' | 'refund_too_large' | 'provider' | 'invalid',
  ) {
    super(message);
  }
}

export function toPayment(row: store.PaymentRow): Payment {
  return {
    id: row.id,
    reference: row.reference,
    amount: row.amount,
    description: row.description,
    status: row.status,
    method: row.method,
    channel: row.channel,
    paysFor: { type: row.pays_for_type, id: row.pays_for_id },
    payerResidentId: row.payer_resident_id,
    payerEmail: row.payer_email,
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    cardBrand: row.card_brand,
    cardLastFour: row.card_last_four,
    returnUrl: row.return_url,
    provider: row.provider,
    takenByStaff: row.taken_by_staff,
    createdAt: row.created_at,
    succeededAt: row.succeeded_at,
  };
}

/** A path inside Kiln: residents are only ever sent back to our own pages. */
export function isLocalPath(url: string): boolean {
  return /^\/(?![/\\])[\w\-./?=&%~]*$/.test(url);
}

const methodNames: Record<PaymentMethod, string> = {
  card: 'Card',
  direct_debit: 'Direct Debit',
  paypoint_cash: 'Cash at a pay-point',
  cash_desk: 'Cash at a council office',
};

/** How a payment was paid, for people: "Visa card ending 1111", "Direct Debit". */
export function paidBy(p: { method: PaymentMethod; cardBrand: string | null; cardLastFour: string | null }) {
  return p.cardBrand && p.cardLastFour
    ? `${p.cardBrand} card ending ${p.cardLastFour}`
    : methodNames[p.method];
}

/** Calendar months (YYYY-MM) from `from` (inclusive) to `to` (exclusive), both YYYY-MM-DD. */
function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let [y, m] = [Number(from.slice(0, 4)), Number(from.slice(5, 7))];
  for (;;) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    if (`${month}-01` >= to || out.length >= 1200) break;
    out.push(month);
    [y, m] = m === 12 ? [y + 1, 1] : [y, m + 1];
  }
  return out;
}

function pounds(pence: number): string {
  return `£${(pence / 100).toFixed(2)}`;
}

/** The rules of taking and returning money. */
export function createPaymentsService(platform: Platform, provider: PaymentProvider) {
  const { events, notify, config } = platform;
  const db = () => platform.db;

  notify.defineTemplate('payment-receipt', {
    subject: 'Payment received: ((reference))',
    body:
      'Thank you. We have received your payment of ((amount)) for ((description)).\n\n' +
      'Payment reference: ((reference))\nDate: ((date))\nPaid by: ((paid_by))\n\n' +
      'Keep this email as your receipt. You can view it at ((link))\n\n' +
      'Download a PDF receipt: ((receipt_link))',
  });
  notify.defineTemplate('payment-settlement-mismatch', {
    subject: 'Card settlement for ((day)) does not match the ledger',
    body:
      '((count)) items that ((provider)) settled on ((day)) do not match what Kiln booked.\n\n' +
      'Check them before the day is closed: ((link))',
  });
  notify.defineTemplate('payment-refunded', {
    subject: 'Refund of ((amount)): ((reference))',
    body:
      'We have refunded ((amount)) of your payment ((reference)) for ((description)).\n\n' +
      'Reason: ((reason))\n\nIt can take up to 5 working days to reach your account.',
  });

  async function tell(
    tx: Db,
    row: store.PaymentRow,
    message: { template: string; personalisation: Record<string, string> },
  ) {
    if (row.payer_resident_id) await notify.toResident(tx, row.payer_resident_id, message);
    else if (row.payer_email)
      await notify.send(tx, { channel: 'email', recipient: row.payer_email }, message);
  }

  async function mustFind(dbOrTx: Db, idOrReference: string): Promise<store.PaymentRow> {
    const row = /^[0-9a-f-]{36}$/i.test(idOrReference)
      ? await store.findPayment(dbOrTx, idOrReference)
      : await store.findPaymentByReference(dbOrTx, idOrReference);
    if (!row) throw new PaymentError('There is no payment with that reference', 'not_found');
    return row;
  }

  /** Books money in: one ledger entry, the success event, an audit entry and a receipt. */
  async function bookSuccess(
    tx: Db,
    row: store.PaymentRow,
    entry: {
      kind: 'charge' | 'cash_receipt' | 'dd_collection';
      providerReference: string | null;
      actor: Actor;
      /** The settlement day, when the money arrived on another day than today. */
      entryDate?: string;
    },
    patch: Partial<store.PaymentRow> = {},
  ): Promise<store.PaymentRow> {
    const now = new Date();
    const updated = await store.updatePayment(tx, row.id, {
      ...patch,
      status: 'success',
      succeeded_at: now,
      failure_code: null,
      failure_message: null,
      next_url: null,
    });
    await store.insertLedgerEntry(tx, {
      payment_id: row.id,
      kind: entry.kind,
      method: row.method,
      amount: row.amount,
      provider: patch.provider ?? row.provider,
      provider_reference: entry.providerReference,
      ...(entry.entryDate ? { entry_date: entry.entryDate } : {}),
    });
    const payload: PaymentSucceeded = {
      paymentId: row.id,
      reference: row.reference,
      amount: row.amount,
      paysFor: { type: row.pays_for_type, id: row.pays_for_id },
      method: row.method,
    };
    await events.publish(tx, {
      type: 'payment.succeeded',
      subjectType: 'payment',
      subjectId: row.id,
      actor: entry.actor,
      payload: { ...payload },
    });
    await recordAudit(tx, {
      actor: entry.actor,
      action: 'payment.succeeded',
      subjectType: 'payment',
      subjectId: row.id,
      detail: { reference: row.reference, amount: row.amount, method: row.method, channel: row.channel },
    });
    await tell(tx, updated, {
      template: 'payment-receipt',
      personalisation: {
        reference: row.reference,
        amount: pounds(row.amount),
        description: row.description,
        date: now.toLocaleString('en-GB', {
          timeZone: 'Europe/London',
          dateStyle: 'long',
          timeStyle: 'short',
        }),
        paid_by: paidBy({
          method: row.method,
          cardBrand: updated.card_brand,
          cardLastFour: updated.card_last_four,
        }),
        link: `${config.PUBLIC_URL}/pay/${row.reference}/confirmation`,
        receipt_link: `${config.PUBLIC_URL}/pay/${row.reference}/receipt.pdf`,
      },
    });
    return updated;
  }

  /** Makes an unanswered refund again, asking the provider to refuse it if its books moved. */
  async function retryRefund(row: store.PaymentRow, refund: store.RefundRow, actor: Actor): Promise<number> {
    const atProvider = await db()
      .transaction()
      .execute(async (tx) => {
        await store.lockPayment(tx, row.id);
        const { balance } = await store.balanceOf(tx, row.id);
        return balance - (await store.refundsAtProvider(tx, row.id));
      });
    let outcome: { refundId: string; status: 'submitted' | 'success' | 'error' };
    try {
      outcome = await provider.refund(row.provider_id!, {
        amount: refund.amount,
        refundAmountAvailable: atProvider,
        idempotencyKey: refund.id,
      });
    } catch (error) {
      // Unanswered again: the next run lists the provider's refunds once more.
      if (!(error instanceof ProviderError) || error.outcomeUnknown) throw error;
      return markForAttention(row, refund, `The card provider refused it again: ${error.message}`, actor);
    }
    return settleWithAnswer(row, refund, outcome, actor, 'payment.refund_retried');
  }

  /** Runs `apply` on a refund only while it is still unanswered, with its payment locked: once, whoever asks. */
  function whileUnanswered(
    row: store.PaymentRow,
    refund: store.RefundRow,
    apply: (tx: Db, current: store.RefundRow) => Promise<void>,
  ): Promise<number> {
    return db()
      .transaction()
      .execute(async (tx) => {
        await store.lockPayment(tx, row.id);
        const current = await store.findRefund(tx, refund.id);
        if (current?.status !== 'submitted' || current.provider_refund_id) return 0;
        await apply(tx, current);
        return 1;
      });
  }

  /** The provider's answer to an unanswered refund (found by listing, or to a retry), applied once. */
  function settleWithAnswer(
    row: store.PaymentRow,
    refund: store.RefundRow,
    answer: { refundId: string; status: 'submitted' | 'success' | 'error' },
    actor: Actor,
    action: 'payment.refund_found' | 'payment.refund_retried',
  ): Promise<number> {
    return whileUnanswered(row, refund, async (tx, current) => {
      await recordAudit(tx, {
        actor,
        action,
        subjectType: 'payment',
        subjectId: row.id,
        detail: { refund: refund.reference, providerRefund: answer.refundId, status: answer.status },
      });
      if (answer.status === 'success') await bookRefund(tx, row, current, answer.refundId, actor);
      else
        await store.updateRefund(tx, refund.id, {
          status: answer.status,
          provider_refund_id: answer.refundId,
        });
    });
  }

  /** Neither a retry nor a look-up can prove where the refund stands: staff check it with the provider. */
  function markForAttention(row: store.PaymentRow, refund: store.RefundRow, why: string, actor: Actor) {
    return whileUnanswered(row, refund, async (tx) => {
      await store.updateRefund(tx, refund.id, { status: 'attention' });
      await recordAudit(tx, {
        actor,
        action: 'payment.refund_needs_attention',
        subjectType: 'payment',
        subjectId: row.id,
        detail: { reference: row.reference, refund: refund.reference, amount: refund.amount, why },
      });
    });
  }

  /** Books a refund the provider has paid: money out in the ledger, the event, audit and the payer told. */
  async function bookRefund(
    tx: Db,
    row: store.PaymentRow,
    refund: store.RefundRow,
    providerRefundId: string | null,
    actor: Actor,
  ): Promise<store.RefundRow> {
    await store.insertLedgerEntry(tx, {
      payment_id: row.id,
      kind: 'refund',
      method: row.method,
      amount: -refund.amount,
      provider: row.provider,
      provider_reference: providerRefundId,
    });
    const done = await store.updateRefund(tx, refund.id, {
      status: 'success',
      provider_refund_id: providerRefundId,
    });
    await events.publish(tx, {
      type: 'payment.refunded',
      subjectType: 'payment',
      subjectId: row.id,
      actor,
      payload: { reference: row.reference, refund: done.reference, amount: refund.amount },
    });
    await recordAudit(tx, {
      actor,
      action: 'payment.refunded',
      subjectType: 'payment',
      subjectId: row.id,
      detail: { reference: row.reference, refund: done.reference, amount: refund.amount },
    });
    await tell(tx, row, {
      template: 'payment-refunded',
      personalisation: {
        reference: row.reference,
        amount: pounds(refund.amount),
        description: row.description,
        reason: refund.reason || 'Refund',
      },
    });
    return done;
  }

  const service = {
    provider,

    /** Creates a payment in the caller's transaction; the same idempotency key returns the same payment. */
    async createPayment(tx: Db, input: NewPayment): Promise<Payment & { created: boolean }> {
      const parsed = newPaymentSchema.safeParse(input);
      if (!parsed.success)
        throw new PaymentError(parsed.error.issues.map((i) => i.message).join('; '), 'invalid');
      const p = parsed.data;
      const { payment, created } = await store.insertPayment(tx, {
        reference: await freshReference(tx, 'payments', 'PAY'),
        idempotency_key: p.idempotencyKey,
        amount: p.amount,
        description: p.description,
        payer_resident_id: p.payer.residentId ?? null,
        payer_email: p.payer.email?.toLowerCase() ?? null,
        pays_for_type: p.paysFor.type,
        pays_for_id: p.paysFor.id,
        method: p.method,
        channel: p.channel,
        taken_by_staff: input.actor.type === 'staff' ? input.actor.id : null,
      });
      if (created) {
        await events.publish(tx, {
          type: 'payment.created',
          subjectType: 'payment',
          subjectId: payment.id,
          actor: input.actor,
          payload: {
            reference: payment.reference,
            amount: payment.amount,
            paysFor: p.paysFor,
            method: p.method,
          },
        });
        await recordAudit(tx, {
          actor: input.actor,
          action: 'payment.created',
          subjectType: 'payment',
          subjectId: payment.id,
          detail: { reference: payment.reference, amount: payment.amount, channel: p.channel },
        });
      }
      return { ...toPayment(payment), created };
    },

    /** A payment by id or reference, or undefined. */
    async getPayment(dbOrTx: Db, idOrReference: string): Promise<Payment | undefined> {
      const row = /^[0-9a-f-]{36}$/i.test(idOrReference)
        ? await store.findPayment(dbOrTx, idOrReference)
        : await store.findPaymentByReference(dbOrTx, idOrReference);
      return row && toPayment(row);
    },

    /** The payment the card provider knows by its own id, or undefined. */
    async findByProviderId(providerId: string): Promise<Payment | undefined> {
      const row = await store.findPaymentByProviderId(db(), providerId);
      return row && toPayment(row);
    },

    /**
     * Starts (or resumes) a card payment and gives the URL to send the resident to. Call it after
     * the transaction that created the payment has committed: it talks to the provider.
     * `returnUrl` is a Kiln path the resident lands on when the payment is finished.
     */
    async startCardPayment(
      payment: { id: string },
      returnUrl: string,
      actor: Actor = systemActor,
    ): Promise<{ nextUrl: string }> {
      if (!isLocalPath(returnUrl))
        throw new PaymentError('The return address must be a path in Kiln', 'invalid');
      const row = await mustFind(db(), payment.id);
      if (row.status === 'success') throw new PaymentError('This has already been paid', 'already_paid');
      if (row.method !== 'card') throw new PaymentError('This payment is not a card payment', 'invalid');
      if (row.provider_id && !finalStatuses.includes(row.status)) {
        const remote = await provider.get(row.provider_id);
        if (remote.nextUrl && !finalStatuses.includes(remote.status)) {
          if (row.return_url !== returnUrl)
            await db()
              .transaction()
              .execute((tx) => store.updatePayment(tx, row.id, { return_url: returnUrl }));
          return { nextUrl: remote.nextUrl };
        }
        // The earlier attempt is no longer payable (or finished): bring Kiln up to date first.
        const now = await service.reconcile(row.id);
        if (now.status === 'success') throw new PaymentError('This has already been paid', 'already_paid');
      }
      const created = await provider.create({
        amount: row.amount,
        reference: row.reference,
        description: row.description,
        returnUrl: `${config.PUBLIC_URL}/pay/return/${row.reference}`,
        idempotencyKey: `${row.id}-${Date.now()}`,
        email: row.payer_email,
      });
      return db()
        .transaction()
        .execute(async (tx) => {
          const locked = (await store.lockPayment(tx, row.id))!;
          if (locked.status === 'success')
            throw new PaymentError('This has already been paid', 'already_paid');
          const previous = locked.provider_id;
          await store.updatePayment(tx, row.id, {
            status: created.status,
            provider: provider.name,
            provider_id: created.providerId,
            next_url: created.nextUrl,
            return_url: returnUrl,
            failure_code: null,
            failure_message: null,
          });
          await events.publish(tx, {
            type: 'payment.started',
            subjectType: 'payment',
            subjectId: row.id,
            actor,
            payload: { reference: row.reference, provider: provider.name, previousAttempt: previous },
          });
          await recordAudit(tx, {
            actor,
            action: 'payment.started',
            subjectType: 'payment',
            subjectId: row.id,
            detail: { reference: row.reference, provider: provider.name },
          });
          if (!created.nextUrl) throw new PaymentError('The card provider gave no payment page', 'provider');
          return { nextUrl: created.nextUrl };
        });
    },

    /**
     * Asks the provider where a payment stands and applies it. Safe to call any number of times,
     * in any order: a finished payment never changes and money is booked once.
     */
    async reconcile(idOrReference: string, actor: Actor = systemActor): Promise<Payment> {
      const row = await mustFind(db(), idOrReference);
      if (!row.provider_id || finalStatuses.includes(row.status) || row.provider !== provider.name)
        return toPayment(row);
      const remote = await provider.get(row.provider_id);
      return db()
        .transaction()
        .execute(async (tx) => {
          const locked = (await store.lockPayment(tx, row.id))!;
          if (locked.provider_id !== remote.providerId || !movesForward(locked.status, remote.status)) {
            return toPayment(locked);
          }
          const seen = { card_brand: remote.cardBrand, card_last_four: remote.cardLastFour };
          if (remote.status === 'success') {
            if (remote.amount !== locked.amount) {
              const updated = await store.updatePayment(tx, locked.id, {
                status: 'error',
                failure_code: 'KLN-AMOUNT',
                failure_message: 'The provider took a different amount; staff will check it',
              });
              await recordAudit(tx, {
                actor,
                action: 'payment.amount_mismatch',
                subjectType: 'payment',
                subjectId: locked.id,
                detail: { expected: locked.amount, provider: remote.amount },
              });
              return toPayment(updated);
            }
            return toPayment(
              await bookSuccess(
                tx,
                locked,
                { kind: 'charge', providerReference: remote.providerId, actor },
                seen,
              ),
            );
          }
          const updated = await store.updatePayment(tx, locked.id, {
            status: remote.status,
            failure_code: remote.failureCode,
            failure_message: remote.failureMessage,
            ...seen,
          });
          if (finalStatuses.includes(remote.status)) {
            await events.publish(tx, {
              type: `payment.${remote.status}`,
              subjectType: 'payment',
              subjectId: locked.id,
              actor,
              payload: { reference: locked.reference, code: remote.failureCode },
            });
          }
          await recordAudit(tx, {
            actor,
            action: `payment.${remote.status}`,
            subjectType: 'payment',
            subjectId: locked.id,
            detail: { reference: locked.reference, code: remote.failureCode },
          });
          return toPayment(updated);
        });
    },

    /**
     * Reconciles card payments left open (a closed browser, a process killed mid-payment) and
     * refunds the provider accepted but had not finished.
     */
    async reconcileUnfinished(olderThanMinutes = 15): Promise<number> {
      const before = new Date(Date.now() - olderThanMinutes * 60_000);
      const rows = await store.listUnfinished(db(), before);
      let changed = 0;
      for (const row of rows) {
        try {
          const after = await service.reconcile(row.id);
          if (after.status !== row.status) changed += 1;
        } catch {
          // The provider is unreachable: the next run tries again.
        }
      }
      for (const paymentId of await store.paymentsWithSubmittedRefunds(db(), before)) {
        changed += await service.reconcileRefunds(paymentId).catch(() => 0);
      }
      for (const paymentId of await store.paymentsWithUnansweredRefunds(db(), before)) {
        changed += await service.settleUnansweredRefunds(paymentId, before).catch(() => 0);
      }
      return changed;
    },

    /**
     * Settles card refunds saved as submitted that never got the provider's answer (the process
     * stopped before or during the call), last touched before `before`. Kiln lists the payment's
     * refunds at the provider. None it does not know: the call never arrived, so it is made again
     * with `refund_amount_available` from Kiln's books (the provider refuses it, 412, if its books
     * differ). Exactly one it does not know, for one unanswered refund, of the same amount and made
     * after it: that is the lost answer, adopted. Anything else cannot be proven either way and is
     * marked `attention` for staff. Never refunds twice; a refund whose retry goes unanswered again
     * is left for the next run.
     */
    async settleUnansweredRefunds(
      idOrReference: string,
      before: Date,
      actor: Actor = systemActor,
    ): Promise<number> {
      const row = await mustFind(db(), idOrReference);
      const providerId = row.provider_id;
      if (row.method !== 'card' || !providerId || row.provider !== provider.name) return 0;
      let changed = 0;
      const retried = new Set<string>();
      for (;;) {
        const refunds = await store.listRefunds(db(), row.id);
        const unanswered = refunds.filter(
          (r) =>
            r.status === 'submitted' && !r.provider_refund_id && r.updated_at < before && !retried.has(r.id),
        );
        const oldest = unanswered[0];
        if (!oldest) return changed;
        const known = new Set(refunds.map((r) => r.provider_refund_id));
        const unknown = (await provider.listRefunds(providerId)).filter((r) => !known.has(r.refundId));
        if (unknown.length === 0) {
          retried.add(oldest.id);
          if (!(await store.claimUnansweredRefund(db(), oldest.id, before))) continue;
          changed += await retryRefund(row, oldest, actor);
          continue;
        }
        const [lost] = unknown;
        // Clocks differ: the provider's record may look a little older than Kiln's row.
        const madeAfter = lost!.createdAt.getTime() >= oldest.created_at.getTime() - 5 * 60_000;
        if (unknown.length === 1 && unanswered.length === 1 && lost!.amount === oldest.amount && madeAfter) {
          changed += await settleWithAnswer(row, oldest, lost!, actor, 'payment.refund_found');
          continue;
        }
        const why = `The card provider holds ${unknown.length} refund(s) of this payment that Kiln cannot match`;
        for (const refund of unanswered) changed += await markForAttention(row, refund, why, actor);
        return changed;
      }
    },

    /**
     * Refunds all or part of a payment. Never more than the ledger says is left (less any refund
     * still in flight); the database refuses it too. Same idempotency key, same refund.
     */
    async refund(input: {
      payment: string;
      amount: number;
      reason: string;
      idempotencyKey: string;
      actor: Actor;
      /** The most this person may refund in one go, in pence. */
      limit?: number;
    }) {
      if (!Number.isInteger(input.amount) || input.amount <= 0)
        throw new PaymentError('Enter a refund amount of at least 1p', 'invalid');
      if (input.limit !== undefined && input.amount > input.limit)
        throw new PaymentError(
          `You can refund up to ${pounds(input.limit)}; ask a team leader for more`,
          'refund_too_large',
        );
      const row = await mustFind(db(), input.payment);
      const prepared = await db()
        .transaction()
        .execute(async (tx) => {
          const locked = (await store.lockPayment(tx, row.id))!;
          if (locked.status !== 'success')
            throw new PaymentError('Only a payment that succeeded can be refunded', 'not_refundable');
          const { balance } = await store.balanceOf(tx, locked.id);
          const available = balance - (await store.refundsInFlight(tx, locked.id));
          // What the provider's books say is left: a refund whose answer was lost may or may not be there,
          // so the provider refuses this one (412) if it is, and nothing is refunded twice.
          const atProvider = balance - (await store.refundsAtProvider(tx, locked.id));
          const { refund, created } = await store.insertRefund(tx, {
            reference: await freshReference(tx, 'payment_refunds', 'RFD'),
            payment_id: locked.id,
            idempotency_key: input.idempotencyKey,
            amount: input.amount,
            reason: input.reason.slice(0, 500),
            requested_by_type: input.actor.type,
            requested_by_id: input.actor.id,
          });
          if (!created) return { refund, atProvider, created };
          if (input.amount > available)
            throw new PaymentError(
              `The refund cannot be more than ${pounds(available)}, the amount left to refund`,
              'refund_too_large',
            );
          await recordAudit(tx, {
            actor: input.actor,
            action: 'payment.refund_requested',
            subjectType: 'payment',
            subjectId: locked.id,
            detail: {
              reference: locked.reference,
              refund: refund.reference,
              amount: input.amount,
              reason: input.reason,
            },
          });
          return { refund, atProvider, created };
        });
      if (!prepared.created) return prepared.refund;

      let outcome: { refundId: string | null; status: 'submitted' | 'success' | 'error' };
      if (row.method === 'card' && row.provider_id) {
        try {
          outcome = await provider.refund(row.provider_id, {
            amount: input.amount,
            refundAmountAvailable: prepared.atProvider,
            idempotencyKey: prepared.refund.id,
          });
        } catch (error) {
          if (!(error instanceof ProviderError) || error.outcomeUnknown) {
            // No answer: the refund may have been made. It stays submitted, without a provider id,
            // for the worker's sweep to find out (settleUnansweredRefunds).
            await recordAudit(db(), {
              actor: input.actor,
              action: 'payment.refund_unanswered',
              subjectType: 'payment',
              subjectId: row.id,
              detail: { refund: prepared.refund.reference, error: String(error).slice(0, 300) },
            });
            return prepared.refund;
          }
          await db()
            .transaction()
            .execute(async (tx) => {
              await store.updateRefund(tx, prepared.refund.id, { status: 'error' });
              await recordAudit(tx, {
                actor: input.actor,
                action: 'payment.refund_failed',
                subjectType: 'payment',
                subjectId: row.id,
                detail: { refund: prepared.refund.reference, error: String(error).slice(0, 300) },
              });
            });
          throw new PaymentError(
            'The card provider did not accept the refund; no money has moved',
            'provider',
          );
        }
      } else {
        // Cash and Direct Debit refunds are paid by the council's finance system: booked here directly.
        outcome = { refundId: null, status: 'success' };
      }
      return db()
        .transaction()
        .execute(async (tx) => {
          if (outcome.status !== 'success') {
            return store.updateRefund(tx, prepared.refund.id, {
              status: outcome.status,
              provider_refund_id: outcome.refundId,
            });
          }
          return bookRefund(tx, row, prepared.refund, outcome.refundId, input.actor);
        });
    },

    /**
     * Asks the provider where the payment's submitted refunds stand and books those that finished:
     * money out once, however many times it is called or in whatever order.
     */
    async reconcileRefunds(idOrReference: string, actor: Actor = systemActor): Promise<number> {
      const row = await mustFind(db(), idOrReference);
      if (!row.provider_id || row.provider !== provider.name) return 0;
      let changed = 0;
      for (const refund of await store.listRefunds(db(), row.id)) {
        if (refund.status !== 'submitted' || !refund.provider_refund_id) continue;
        const remote = await provider.getRefund(row.provider_id, refund.provider_refund_id);
        if (remote.status === 'submitted') continue;
        changed += await db()
          .transaction()
          .execute(async (tx) => {
            await store.lockPayment(tx, row.id);
            const current = await store.findRefund(tx, refund.id);
            if (current?.status !== 'submitted') return 0;
            if (remote.status === 'success') {
              await bookRefund(tx, row, current, remote.refundId, actor);
            } else {
              await store.updateRefund(tx, refund.id, { status: 'error' });
              await recordAudit(tx, {
                actor,
                action: 'payment.refund_failed',
                subjectType: 'payment',
                subjectId: row.id,
                detail: { refund: refund.reference, error: 'The card provider could not pay the refund' },
              });
            }
            return 1;
          });
      }
      return changed;
    },

    /** Records money received outside the card provider (cash at a pay-point or desk, Direct Debit). */
    async recordReceipt(
      tx: Db,
      input: {
        payment: string;
        kind: 'cash_receipt' | 'dd_collection';
        /** Who holds the money's record: 'paypoint', 'bacs', 'cash_desk'. */
        provider?: string;
        providerReference: string;
        entryDate?: string;
        actor: Actor;
      },
    ): Promise<Payment> {
      const found = await mustFind(tx, input.payment);
      const locked = (await store.lockPayment(tx, found.id))!;
      if (locked.status === 'success') throw new PaymentError('This has already been paid', 'already_paid');
      const entry = {
        kind: input.kind,
        providerReference: input.providerReference,
        actor: input.actor,
        entryDate: input.entryDate,
      };
      return toPayment(
        await bookSuccess(tx, locked, entry, input.provider ? { provider: input.provider } : {}),
      );
    },

    /** Books a Direct Debit collection returned unpaid (ARUDD): money out, never more than came in. */
    async recordReturn(
      tx: Db,
      input: { payment: string; amount: number; providerReference: string; reason: string; actor: Actor },
    ): Promise<void> {
      const found = await mustFind(tx, input.payment);
      const locked = (await store.lockPayment(tx, found.id))!;
      await store.insertLedgerEntry(tx, {
        payment_id: locked.id,
        kind: 'dd_returned',
        method: locked.method,
        amount: -input.amount,
        provider: 'bacs',
        provider_reference: input.providerReference,
      });
      await events.publish(tx, {
        type: 'payment.returned',
        subjectType: 'payment',
        subjectId: locked.id,
        actor: input.actor,
        payload: { reference: locked.reference, amount: input.amount, reason: input.reason },
      });
      await recordAudit(tx, {
        actor: input.actor,
        action: 'payment.returned',
        subjectType: 'payment',
        subjectId: locked.id,
        detail: { reference: locked.reference, amount: input.amount, reason: input.reason },
      });
    },

    /** A PDF receipt for a payment that succeeded. */
    async receiptPdf(dbOrTx: Db, payment: Payment): Promise<Buffer> {
      if (payment.status !== 'success' || !payment.succeededAt)
        throw new PaymentError('Only a payment that succeeded has a receipt', 'invalid');
      const [{ returned }, payer] = await Promise.all([
        store.balanceOf(dbOrTx, payment.id),
        payment.payerResidentId ? store.residentName(dbOrTx, payment.payerResidentId) : null,
      ]);
      return receiptPdf({
        councilName: config.COUNCIL_NAME,
        payment: {
          reference: payment.reference,
          description: payment.description,
          amount: payment.amount,
          method: payment.method,
          paidBy: paidBy(payment),
          succeededAt: payment.succeededAt,
        },
        refunded: returned,
        payerName: payer ?? null,
      });
    },

    /** Money in and out of one payment, from the ledger. */
    balance: (dbOrTx: Db, paymentId: string) => store.balanceOf(dbOrTx, paymentId),
    ledger: (dbOrTx: Db, paymentId: string) => store.listLedger(dbOrTx, paymentId),
    refunds: (dbOrTx: Db, paymentId: string) => store.listRefunds(dbOrTx, paymentId),
    list: async (dbOrTx: Db, filter: store.PaymentFilter = {}) =>
      (await store.listPayments(dbOrTx, filter)).map(toPayment),

    /** Measures for insights: money received per method per month (`from` inclusive, `to` exclusive, YYYY-MM-DD). */
    // Every method in every month, with zeros, so a method nobody used (cash at the desk, once the
    // offices stop taking it) shows as none rather than missing.
    async paymentsByMethodPerMonth(dbOrTx: Db, from: string, to: string) {
      const found = await store.totalsByMethodAndMonth(dbOrTx, from, to);
      const rows = [];
      for (const month of monthsBetween(from, to))
        for (const method of paymentMethods)
          rows.push(
            found.find((r) => r.month === month && r.method === method) ?? {
              month,
              method,
              payments: 0,
              received: 0,
              refunded: 0,
            },
          );
      return rows;
    },

    /**
     * Cash taken at a council office for the resident a member of staff is acting for: the payment
     * and its receipt in one go, keyed so a double click records it once.
     */
    async takeCashAtDesk(
      tx: Db,
      input: {
        amount: number;
        description: string;
        residentId: string;
        tillReceipt: string;
        key: string;
        channel: string;
        actor: Actor;
      },
    ): Promise<Payment> {
      const payment = await service.createPayment(tx, {
        amount: input.amount,
        description: input.description,
        payer: { residentId: input.residentId },
        paysFor: { type: 'cash-desk', id: input.key },
        idempotencyKey: `cash-desk:${input.actor.id}:${input.key}`,
        method: 'cash_desk',
        channel: input.channel,
        actor: input.actor,
      });
      if (!payment.created) return payment;
      return service.recordReceipt(tx, {
        payment: payment.id,
        kind: 'cash_receipt',
        provider: 'cash_desk',
        providerReference: input.tillReceipt,
        actor: input.actor,
      });
    },

    /**
     * The day's reconciliation, per method: the ledger against the provider's settlement records.
     * Card payments through the sandbox are checked entry by entry; other sources say so.
     */
    async reconciliationReport(dbOrTx: Db, day = londonDay()) {
      // Independent reads: on a server they run side by side.
      const [ledger, settlement, mismatches] = await Promise.all([
        store.ledgerTotalsForDay(dbOrTx, day),
        store.sandboxSettlementTotals(dbOrTx, day),
        store.sandboxMismatches(dbOrTx, day),
      ]);
      const rows = paymentMethods.map((method) => {
        const lines = ledger.filter((l) => l.method === method);
        return {
          method,
          entries: lines.reduce((s, l) => s + l.entries, 0),
          net: lines.reduce((s, l) => s + l.net, 0),
        };
      });
      const sandboxLedger = ledger.filter((l) => l.provider === 'sandbox');
      const ledgerNet = sandboxLedger.reduce((s, l) => s + l.net, 0);
      return {
        day,
        methods: rows,
        card: {
          provider: 'sandbox',
          ledgerEntries: sandboxLedger.reduce((s, l) => s + l.entries, 0),
          ledgerNet,
          settlementEntries: settlement.entries,
          settlementNet: settlement.net,
          balanced: mismatches.length === 0 && ledgerNet === settlement.net,
          mismatches,
        },
      };
    },

    /**
     * Fetches what the card provider settled (paid out) on a day and stores it; when there are
     * new items that disagree with the ledger, staff who reconcile are emailed. Safe to repeat.
     */
    async fetchSettlement(day: string, actor: Actor = systemActor) {
      const items = await provider.settlements(day);
      return db()
        .transaction()
        .execute(async (tx) => {
          const added = await store.saveProviderSettlements(tx, provider.name, items);
          const report = await service.settlementReport(tx, day);
          await recordAudit(tx, {
            actor,
            action: 'payment.settlement_fetched',
            detail: {
              provider: provider.name,
              day,
              items: items.length,
              added,
              mismatches: report.mismatches.length,
            },
          });
          if (added > 0 && report.mismatches.length) {
            const staff = (await store.activeStaff(tx)).filter((p) =>
              can(p.role as StaffRole, 'payments:reconcile'),
            );
            for (const person of staff) {
              await notify.send(
                tx,
                { channel: 'email', recipient: person.email },
                {
                  template: 'payment-settlement-mismatch',
                  personalisation: {
                    day,
                    provider: provider.name,
                    count: String(report.mismatches.length),
                    link: `${config.PUBLIC_URL}/staff/payments/settlement?day=${day}`,
                  },
                },
              );
            }
          }
          return { fetched: items.length, added, report };
        });
    },

    /**
     * One settlement day against the ledger: every item the provider paid out matched to its
     * ledger entry by the provider's reference; items missing from the ledger or with another
     * amount are mismatches. Also lists money the ledger took from the provider 3 to 30 working
     * days before that no settlement has covered yet.
     */
    async settlementReport(dbOrTx: Db, day: string) {
      const items = await store.settlementAgainstLedger(dbOrTx, provider.name, day);
      const mismatches = items
        .filter((i) => i.ledger !== i.settled)
        .map((i) => ({
          ...i,
          problem:
            i.ledger === null
              ? `Settled by the provider but not in Kiln's ledger`
              : `The ledger has ${pounds(i.ledger)}, the provider settled ${pounds(i.settled)}`,
        }));
      const unsettled = await store.unsettledLedgerEntries(
        dbOrTx,
        provider.name,
        addWorkingDays(day, -30),
        addWorkingDays(day, -3),
      );
      const net = items.reduce((s, i) => s + i.settled, 0);
      return {
        day,
        provider: provider.name,
        items: items.length,
        charges: items.filter((i) => i.kind === 'charge').length,
        refunds: items.filter((i) => i.kind === 'refund').length,
        net,
        matchedNet: items.filter((i) => i.ledger === i.settled).reduce((s, i) => s + i.settled, 0),
        mismatches,
        unsettled,
        balanced: mismatches.length === 0,
      };
    },

    /** Subscribes a named handler to `payment.succeeded` (delivered at least once: be idempotent). */
    onPaymentSucceeded(subscriber: string, handler: (event: DomainEvent<PaymentSucceeded>) => Promise<void>) {
      events.subscribe('payment.succeeded', subscriber, (event) =>
        handler(event as unknown as DomainEvent<PaymentSucceeded>),
      );
    },
  };
  return service;
}

export type PaymentsService = ReturnType<typeof createPaymentsService>;
export { ProviderError };
