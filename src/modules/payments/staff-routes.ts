import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { can, type StaffRole } from '../../platform/auth/permissions.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { paymentStatuses } from './schema.ts';
import { PaymentError, ProviderError, type PaymentsService } from './service.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays } from '../../platform/working-days.ts';

const referencePattern = /^PAY-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$/;

/** "12.50", "£12.50" or "12" in pounds to pence; null when it is not an amount of money. */
export function parsePounds(text: string): number | null {
  const match = /^£?\s*(\d{1,6})(?:\.(\d{1,2}))?$/.exec(text.trim().replace(/,/g, ''));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0'));
}

const refundForm = z.object({
  amount: z.string().default(''),
  reason: z.string().default(''),
  refundKey: z.string().uuid(),
});

const takeForm = z.object({
  amount: z.string().default(''),
  description: z.string().default(''),
  takeKey: z.string().uuid(),
});

const cashDeskForm = z.object({
  amount: z.string().default(''),
  description: z.string().default(''),
  tillReceipt: z.string().default(''),
  cashKey: z.string().uuid(),
});

/** Back-office pages: payments list, one payment with its ledger and refunds, reconciliation, assisted card payments. */
export function registerStaffPaymentRoutes(
  app: FastifyInstance,
  platform: Platform,
  service: PaymentsService,
  options: { refundLimits: Record<StaffRole, number>; newKey: () => string },
) {
  const { db } = platform;

  app.get('/staff/payments', { config: { permission: 'payments:read' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const reference = String(query.reference ?? '')
      .trim()
      .toUpperCase();
    const status = paymentStatuses.find((s) => s === query.status);
    const payments = await service.list(db, { reference: reference || undefined, status, limit: 200 });
    return reply.render('payments/views/staff-list.njk', {
      title: 'Payments',
      navSection: 'payments',
      payments,
      reference,
      status: status ?? '',
      statuses: paymentStatuses,
      mayReconcile: can(request.staff!.role, 'payments:reconcile'),
      mayTake: can(request.staff!.role, 'payments:take') && Boolean(request.session.data.actingFor),
    });
  });

  app.get(
    '/staff/payments/reconciliation',
    { config: { permission: 'payments:reconcile' } },
    async (request, reply) => {
      const day = String((request.query as Record<string, unknown>).day ?? '');
      const valid = /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(day));
      const report = await service.reconciliationReport(db, valid ? day : undefined);
      return reply.render('payments/views/staff-reconciliation.njk', {
        title: 'Daily reconciliation',
        navSection: 'payments',
        report,
        errors: day && !valid ? [{ field: 'day', text: 'Enter a real date, for example 2026-11-25' }] : [],
      });
    },
  );

  // The card provider's settlement (what it paid out on a day) against the ledger.
  async function showSettlement(
    reply: FastifyReply,
    day: string,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const report = await service.settlementReport(db, day);
    return reply.code(errors.length ? 400 : 200).render('payments/views/staff-settlement.njk', {
      title: `${errors.length ? 'Error: ' : ''}Card settlement`,
      navSection: 'payments',
      report,
      day,
      errors,
    });
  }

  const realDay = (day: string) => /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(day));

  app.get(
    '/staff/payments/settlement',
    { config: { permission: 'payments:reconcile' } },
    async (request, reply) => {
      const day = String((request.query as Record<string, unknown>).day ?? '');
      if (!day) return showSettlement(reply, addWorkingDays(londonDay(), -1));
      if (!realDay(day))
        return showSettlement(reply, addWorkingDays(londonDay(), -1), [
          { field: 'day', text: 'Enter a real date, for example 2026-11-24' },
        ]);
      return showSettlement(reply, day);
    },
  );

  app.post(
    '/staff/payments/settlement',
    { config: { permission: 'payments:reconcile' } },
    async (request, reply) => {
      const day = String((request.body as Record<string, unknown> | null)?.day ?? '').trim();
      if (!realDay(day))
        return showSettlement(reply, addWorkingDays(londonDay(), -1), [
          { field: 'day', text: 'Enter a real date, for example 2026-11-24' },
        ]);
      try {
        const result = await service.fetchSettlement(day, actorOf(request));
        request.session.set(
          'flash',
          `${result.fetched} settled items fetched (${result.added} new): ` +
            (result.report.balanced
              ? 'the settlement matches the ledger'
              : `${result.report.mismatches.length} do not match the ledger`),
        );
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        return showSettlement(reply, day, [
          { field: 'day', text: 'The card provider could not be asked for its settlement: try again later' },
        ]);
      }
      return reply.redirect(`/staff/payments/settlement?day=${day}`, 303);
    },
  );

  function showTake(reply: FastifyReply, values: Record<string, string>, errors: unknown[] = []) {
    return reply.code(errors.length ? 400 : 200).render('payments/views/staff-take.njk', {
      title: `${errors.length ? 'Error: ' : ''}Take a card payment`,
      navSection: 'payments',
      values,
      errors,
      takeKey: values.takeKey ?? options.newKey(),
    });
  }

  // An agent takes a card payment for the resident they are acting for (the channel is recorded).
  app.get('/staff/payments/take', { config: { permission: 'payments:take' } }, async (request, reply) => {
    if (!request.session.data.actingFor)
      throw new HttpError(
        400,
        'Start acting for a resident first',
        'Find the resident and choose to act for them, then take the payment.',
      );
    return showTake(reply, {});
  });

  app.post('/staff/payments/take', { config: { permission: 'payments:take' } }, async (request, reply) => {
    const acting = request.session.data.actingFor;
    if (!acting) throw new HttpError(400, 'Start acting for a resident first');
    const parsed = takeForm.safeParse(request.body ?? {});
    if (!parsed.success) throw new HttpError(400, 'The form was not sent properly', 'Go back and try again.');
    const amount = parsePounds(parsed.data.amount);
    const errors = [];
    if (!parsed.data.amount.trim()) errors.push({ field: 'amount', text: 'Enter the amount to pay' });
    else if (amount === null || amount < 1)
      errors.push({ field: 'amount', text: 'Enter an amount in pounds and pence, like 25.00' });
    if (!parsed.data.description.trim())
      errors.push({ field: 'description', text: 'Enter what the payment is for' });
    else if (parsed.data.description.length > 255)
      errors.push({ field: 'description', text: 'What the payment is for must be 255 characters or fewer' });
    if (errors.length) return showTake(reply, parsed.data, errors);
    const actor = actorOf(request);
    const payment = await db.transaction().execute((tx) =>
      service.createPayment(tx, {
        amount: amount!,
        description: parsed.data.description.trim(),
        payer: { residentId: acting.residentId },
        paysFor: { type: 'assisted-payment', id: parsed.data.takeKey },
        idempotencyKey: `staff:${request.staff!.id}:${parsed.data.takeKey}`,
        channel: acting.channel,
        actor,
      }),
    );
    const { nextUrl } = await service.startCardPayment(
      payment,
      `/staff/payments/${payment.reference}`,
      actor,
    );
    return reply.redirect(nextUrl, 303);
  });

  // Cash paid at a council office, for the resident being acted for: measured as its own method
  // so the council can see cash at its desks fall away.
  function showCashDesk(reply: FastifyReply, values: Record<string, string>, errors: unknown[] = []) {
    return reply.code(errors.length ? 400 : 200).render('payments/views/staff-cash-desk.njk', {
      title: `${errors.length ? 'Error: ' : ''}Record cash taken at the desk`,
      navSection: 'payments',
      values,
      errors,
      cashKey: values.cashKey ?? options.newKey(),
    });
  }

  app.get(
    '/staff/payments/cash-desk',
    { config: { permission: 'payments:take' } },
    async (request, reply) => {
      if (!request.session.data.actingFor)
        throw new HttpError(
          400,
          'Start acting for a resident first',
          'Find the resident and choose to act for them, then record the cash.',
        );
      return showCashDesk(reply, {});
    },
  );

  app.post(
    '/staff/payments/cash-desk',
    { config: { permission: 'payments:take' } },
    async (request, reply) => {
      const acting = request.session.data.actingFor;
      if (!acting) throw new HttpError(400, 'Start acting for a resident first');
      const parsed = cashDeskForm.safeParse(request.body ?? {});
      if (!parsed.success)
        throw new HttpError(400, 'The form was not sent properly', 'Go back and try again.');
      const { description, tillReceipt } = parsed.data;
      const amount = parsePounds(parsed.data.amount);
      const errors = [];
      if (!parsed.data.amount.trim()) errors.push({ field: 'amount', text: 'Enter the amount paid' });
      else if (amount === null || amount < 1 || amount > 10_000_000)
        errors.push({ field: 'amount', text: 'Enter an amount in pounds and pence, like 25.00' });
      if (!description.trim()) errors.push({ field: 'description', text: 'Enter what the payment is for' });
      else if (description.length > 255)
        errors.push({
          field: 'description',
          text: 'What the payment is for must be 255 characters or fewer',
        });
      if (!/^[A-Za-z0-9-]{1,40}$/.test(tillReceipt.trim()))
        errors.push({
          field: 'tillReceipt',
          text: 'Enter the till receipt number: 1 to 40 letters, digits or dashes',
        });
      if (errors.length) return showCashDesk(reply, parsed.data, errors);
      const payment = await db.transaction().execute((tx) =>
        service.takeCashAtDesk(tx, {
          amount: amount!,
          description: description.trim(),
          residentId: acting.residentId,
          tillReceipt: tillReceipt.trim(),
          key: parsed.data.cashKey,
          channel: acting.channel,
          actor: actorOf(request),
        }),
      );
      request.session.set(
        'flash',
        `Cash of £${(payment.amount / 100).toFixed(2)} recorded: ${payment.reference}`,
      );
      return reply.redirect(`/staff/payments/${payment.reference}`, 303);
    },
  );

  async function showPayment(
    reply: FastifyReply,
    reference: string,
    role: StaffRole,
    extra: Record<string, unknown> = {},
  ) {
    if (!referencePattern.test(reference)) throw new HttpError(404, 'Page not found');
    const payment = await service.getPayment(db, reference);
    if (!payment) throw new HttpError(404, 'Page not found');
    const [balance, ledger, refunds] = await Promise.all([
      service.balance(db, payment.id),
      service.ledger(db, payment.id),
      service.refunds(db, payment.id),
    ]);
    const limit = options.refundLimits[role];
    return reply.code(extra.errors ? 400 : 200).render('payments/views/staff-payment.njk', {
      title: `${extra.errors ? 'Error: ' : ''}Payment ${payment.reference}`,
      navSection: 'payments',
      payment,
      balance,
      ledger,
      refunds,
      mayRefund: can(role, 'payments:refund') && payment.status === 'success' && balance.balance > 0,
      refundLimit: Number.isFinite(limit) ? limit : null,
      refundKey: options.newKey(),
      values: {},
      ...extra,
    });
  }

  app.get('/staff/payments/:reference', { config: { permission: 'payments:read' } }, async (request, reply) =>
    showPayment(reply, (request.params as { reference: string }).reference, request.staff!.role),
  );

  app.post(
    '/staff/payments/:reference/refund',
    { config: { permission: 'payments:refund' } },
    async (request, reply) => {
      const { reference } = request.params as { reference: string };
      const role = request.staff!.role;
      const parsed = refundForm.safeParse(request.body ?? {});
      if (!parsed.success)
        throw new HttpError(400, 'The form was not sent properly', 'Go back and try again.');
      const amount = parsePounds(parsed.data.amount);
      const errors = [];
      if (!parsed.data.amount.trim()) errors.push({ field: 'amount', text: 'Enter the amount to refund' });
      else if (amount === null || amount < 1)
        errors.push({ field: 'amount', text: 'Enter an amount in pounds and pence, like 12.50' });
      if (!parsed.data.reason.trim())
        errors.push({ field: 'reason', text: 'Enter why you are refunding this payment' });
      if (errors.length) return showPayment(reply, reference, role, { errors, values: parsed.data });
      if (!referencePattern.test(reference)) throw new HttpError(404, 'Page not found');
      try {
        const refund = await service.refund({
          payment: reference,
          amount: amount!,
          reason: parsed.data.reason.trim(),
          // Keyed per person, so a double click refunds once and nobody can replay another's key.
          idempotencyKey: `staff:${request.staff!.id}:${parsed.data.refundKey}`,
          actor: actorOf(request),
          limit: options.refundLimits[role],
        });
        request.session.set(
          'flash',
          refund.status === 'success'
            ? `Refund ${refund.reference} of £${(refund.amount / 100).toFixed(2)} made`
            : refund.status === 'submitted'
              ? `Refund ${refund.reference} is with the card provider; it is booked when the provider confirms it`
              : `Refund ${refund.reference} is ${refund.status}`,
        );
        return reply.redirect(`/staff/payments/${reference}`, 303);
      } catch (error) {
        if (error instanceof PaymentError) {
          if (error.code === 'not_found') throw new HttpError(404, 'Page not found');
          return showPayment(reply, reference, role, {
            errors: [{ field: 'amount', text: error.message }],
            values: parsed.data,
          });
        }
        throw error;
      }
    },
  );
}
