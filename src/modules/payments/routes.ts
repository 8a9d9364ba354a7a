import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { can } from '../../platform/auth/permissions.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { refundLimits } from './config.ts';
import { registerSandboxCardPage } from './sandbox-routes.ts';
import type { SandboxBooks } from './sandbox.ts';
import { PaymentError, type Payment, type PaymentsService } from './service.ts';
import { registerStaffPaymentRoutes } from './staff-routes.ts';

const RETURNED = 'payments.returned';
const referencePattern = /^PAY-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$/;

/** References this browser came back from paying: lets people without an account see their receipt. */
function returnedHere(request: FastifyRequest): string[] {
  const list = request.session.data[RETURNED];
  return Array.isArray(list) ? (list as string[]) : [];
}

/** Whether this visitor may see a payment: its payer, the browser that paid it, or staff who may read payments. */
function mayView(request: FastifyRequest, payment: Payment): boolean {
  if (request.staff && can(request.staff.role, 'payments:read')) return true;
  if (request.resident && payment.payerResidentId === request.resident.id) return true;
  return returnedHere(request).includes(payment.reference);
}

export function registerPaymentRoutes(
  app: FastifyInstance,
  platform: Platform,
  service: PaymentsService,
  sandbox: SandboxBooks | null,
) {
  if (sandbox) registerSandboxCardPage(app, sandbox);

  async function find(reference: string): Promise<Payment> {
    if (!referencePattern.test(reference)) throw new HttpError(404, 'Page not found');
    const payment = await service.getPayment(platform.db, reference);
    if (!payment) throw new HttpError(404, 'Page not found');
    return payment;
  }

  // Where the provider sends the resident back. Arriving twice, late or out of order changes
  // nothing: Kiln asks the provider and applies only a move forward.
  app.get('/pay/return/:reference', async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const payment = await find(reference);
    let after = payment;
    try {
      after = await service.reconcile(payment.id, actorOf(request));
    } catch {
      // The provider is unreachable: the confirmation page says we are checking.
    }
    request.session.set(
      RETURNED,
      [reference, ...returnedHere(request).filter((r) => r !== reference)].slice(0, 20),
    );
    return reply.redirect(after.returnUrl ?? `/pay/${reference}/confirmation`, 303);
  });

  app.get('/pay/:reference/confirmation', async (request, reply) => {
    const payment = await find((request.params as { reference: string }).reference);
    if (!mayView(request, payment)) throw new HttpError(404, 'Page not found');
    const title =
      payment.status === 'success'
        ? 'Payment received'
        : payment.status === 'failed' || payment.status === 'error' || payment.status === 'cancelled'
          ? 'Your payment was not taken'
          : 'We are checking your payment';
    return reply.render('payments/views/confirmation.njk', { title, payment });
  });

  // A PDF receipt for a payment that succeeded: for its payer, the browser that paid, or staff.
  app.get('/pay/:reference/receipt.pdf', async (request, reply) => {
    const payment = await find((request.params as { reference: string }).reference);
    if (!mayView(request, payment) || payment.status !== 'success')
      throw new HttpError(404, 'Page not found');
    const pdf = await service.receiptPdf(platform.db, payment);
    return reply
      .type('application/pdf')
      .header('content-disposition', `inline; filename="receipt-${payment.reference}.pdf"`)
      .header('cache-control', 'private, no-store')
      .send(pdf);
  });

  // Try again after a declined or cancelled card: a new attempt for the same payment.
  app.post(
    '/pay/:reference/retry',
    { config: { rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      const payment = await find((request.params as { reference: string }).reference);
      if (!mayView(request, payment)) throw new HttpError(404, 'Page not found');
      try {
        const { nextUrl } = await service.startCardPayment(
          payment,
          payment.returnUrl ?? `/pay/${payment.reference}/confirmation`,
          actorOf(request),
        );
        return reply.redirect(nextUrl, 303);
      } catch (error) {
        if (error instanceof PaymentError && error.code === 'already_paid')
          return reply.redirect(`/pay/${payment.reference}/confirmation`, 303);
        throw error;
      }
    },
  );

  registerStaffPaymentRoutes(app, platform, service, { refundLimits, newKey: randomUUID });
}
