import type { FastifyInstance } from 'fastify';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import { loadPaymentsConfig, type PaymentsConfig } from './config.ts';
import { govukPayProvider } from './govuk-pay.ts';
import type { PaymentProvider } from './provider.ts';
import { registerPaymentRoutes } from './routes.ts';
import { sandboxProvider, type SandboxBooks } from './sandbox.ts';
import { paymentsMigrations } from './schema.ts';
import { createPaymentsService } from './service.ts';
import { createCashService } from './cash-service.ts';
import { registerCashRoutes } from './cash-routes.ts';
import { createDirectDebitService } from './direct-debit.ts';
import { registerDirectDebitRoutes } from './direct-debit-routes.ts';

export type { Payment, PaymentsService, NewPayment, PaymentSucceeded } from './service.ts';
export { PaymentError } from './service.ts';
export { paymentStatuses, paymentMethods, type PaymentStatus, type PaymentMethod } from './schema.ts';

export const paymentsModule: ModuleDefinition = {
  name: 'payments',
  migrations: paymentsMigrations,
  staffNavigation: [
    { href: '/staff/payments', text: 'Payments', section: 'payments', permission: 'payments:read' },
  ],
};

/**
 * Builds the payments service and its pages. Other modules use the service:
 * `createPayment(tx, input)`, `getPayment(db, idOrReference)`, `startCardPayment(payment, returnUrl)`
 * (after commit) → `{ nextUrl }`, `refund(...)`, and `onPaymentSucceeded(name, handler)`.
 */
export function createPayments(
  platform: Platform,
  options: { config?: PaymentsConfig; provider?: PaymentProvider } = {},
) {
  const config = options.config ?? loadPaymentsConfig();
  const sandbox = sandboxProvider(() => platform.db);
  const provider =
    options.provider ??
    (config.PAYMENTS_PROVIDER === 'govuk-pay'
      ? govukPayProvider({ apiKey: config.GOVUK_PAY_API_KEY!, baseUrl: config.GOVUK_PAY_BASE_URL })
      : sandbox);
  const service = createPaymentsService(platform, provider);
  const cash = createCashService(platform, service);
  const directDebit = createDirectDebitService(platform, service, {
    sun: config.BACS_SERVICE_USER_NUMBER,
    sortCode: config.BACS_ORIGINATOR_SORT_CODE,
    accountNumber: config.BACS_ORIGINATOR_ACCOUNT,
    name: config.BACS_ORIGINATOR_NAME,
  });
  return {
    service,
    /** Pay-point cash: `issueReference(tx, …)` for a bill or account; its card is at `/pay/cash/<reference>`. */
    cash,
    /** Direct Debit: `setUpMandate`, `schedule` (instalments), `createSubmission` (Bacs Standard 18). */
    directDebit,
    /** The sandbox provider's books, when it is the provider (demo data pays through it). */
    sandbox: provider.name === 'sandbox' ? (sandbox as SandboxBooks) : null,
    register(app: FastifyInstance) {
      registerPaymentRoutes(
        app,
        platform,
        service,
        provider.name === 'sandbox' ? (sandbox as SandboxBooks) : null,
      );
      registerCashRoutes(app, platform, cash);
      registerDirectDebitRoutes(app, platform, directDebit);
      if (platform.config.RUN_WORKERS) {
        // Payments left open by a closed browser or a killed process are settled with the provider.
        const timer = setInterval(
          () => void service.reconcileUnfinished(config.PAYMENTS_RECONCILE_AFTER_MINUTES).catch(() => {}),
          60_000,
        );
        timer.unref();
        app.addHook('onClose', async () => clearInterval(timer));
      }
    },
  };
}
