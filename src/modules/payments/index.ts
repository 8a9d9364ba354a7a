import type { FastifyInstance } from 'fastify';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import { formatLondon } from '../../platform/time.ts';
import { loadPaymentsConfig, type PaymentsConfig } from './config.ts';
import { govukPayProvider } from './govuk-pay.ts';
import type { PaymentProvider } from './provider.ts';
import { registerPaymentRoutes } from './routes.ts';
import { registerGovukPayWebhook } from './webhook-routes.ts';
import { sandboxProvider, type SandboxBooks } from './sandbox.ts';
import { paymentsMigrations } from './schema.ts';
import { createPaymentsService } from './service.ts';
import { createCashService } from './cash-service.ts';
import { registerCashRoutes } from './cash-routes.ts';
import { createDirectDebitService } from './direct-debit.ts';
import { registerDirectDebitRoutes } from './direct-debit-routes.ts';
import type { AccountsService } from '../accounts/index.ts';
import type { DemoPeople } from '../../platform/module.ts';
import { createCouncilTaxService, type LetterBox } from './council-tax.ts';
import { registerCouncilTaxRoutes } from './council-tax-routes.ts';
import { seedCouncilTaxDemo } from './demo.ts';

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
      if (provider.name === 'govuk-pay' && config.GOVUK_PAY_WEBHOOK_SECRET)
        registerGovukPayWebhook(app, platform, service, config.GOVUK_PAY_WEBHOOK_SECRET);
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

export type PaymentsInstance = ReturnType<typeof createPayments>;

/**
 * Council Tax in My account (band, bill PDF with the pay-point barcode, instalments, balance, pay
 * now, Direct Debit, paperless bills) and the resident's payments and receipts. Built after My
 * account and the letters service, which it uses.
 */
export function createCouncilTax(
  platform: Platform,
  deps: {
    payments: PaymentsInstance;
    accounts: Pick<AccountsService, 'addLink' | 'personalData'>;
    letters: LetterBox;
  },
) {
  const { payments } = deps;
  const service = createCouncilTaxService(platform, {
    payments: payments.service,
    cash: payments.cash,
    directDebit: payments.directDebit,
    letters: deps.letters,
  });
  deps.accounts.addLink({ href: '/account/council-tax', text: 'Council tax' });
  deps.accounts.addLink({ href: '/account/payments', text: 'Your payments and receipts' });
  // Council tax records are kept by law (they are not erased with the account); they are exported.
  deps.accounts.personalData.add({
    name: 'councilTax',
    async export(db, residentId) {
      const accounts = await service.listForResident(db, residentId);
      return accounts.map((a) => ({
        account: a.reference,
        property: a.property_address,
        band: a.band,
        year: a.year_label,
        annualCharge: a.annual_charge,
        paperless: a.paperless,
      }));
    },
  });
  deps.accounts.personalData.add({
    name: 'payments',
    async export(db, residentId) {
      return (await payments.service.list(db, { residentId, limit: 1000 })).map((p) => ({
        reference: p.reference,
        description: p.description,
        amount: p.amount,
        status: p.status,
        method: p.method,
        createdAt: p.createdAt,
        succeededAt: p.succeededAt,
      }));
    },
  });
  // A Direct Debit set up from the council tax account takes the rest of the year's balance.
  payments.directDebit.purposes.set('council-tax', async (tx, input) => {
    const result = await service.scheduleDirectDebit(tx, input);
    if (!result.instalments) return 'Your Direct Debit is set up: there is nothing left to pay this year';
    return (
      `Your council tax will be paid by Direct Debit: ${result.instalments} monthly ` +
      `payment${result.instalments === 1 ? '' : 's'}, the first on ${formatLondon(result.firstDate, false)}`
    );
  });
  return {
    service,
    register(app: FastifyInstance) {
      registerCouncilTaxRoutes(app, platform, service, payments.service);
    },
    async seedDemoData(demo: DemoPeople) {
      await seedCouncilTaxDemo(platform, service, payments, demo);
    },
  };
}
