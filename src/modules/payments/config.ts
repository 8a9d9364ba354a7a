import { z } from 'zod';

// The payments module's settings, read from the environment (listed in docs/payments.md).
const schema = z.object({
  PAYMENTS_PROVIDER: z.enum(['sandbox', 'govuk-pay']).default('sandbox'),
  GOVUK_PAY_API_KEY: z.string().optional(),
  GOVUK_PAY_BASE_URL: z.string().url().default('https://publicapi.payments.service.gov.uk'),
  /** The signing secret of the GOV.UK Pay webhook; without it Kiln offers no webhook and relies on returns and the worker. */
  GOVUK_PAY_WEBHOOK_SECRET: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.string().min(16, 'the webhook signing secret is at least 16 characters').optional(),
  ),
  /** Minutes a card payment may stay open before Kiln asks the provider where it stands. */
  PAYMENTS_RECONCILE_AFTER_MINUTES: z.coerce.number().int().min(1).default(15),
  /** The council's Bacs service user number and the account Direct Debits are collected into. */
  BACS_SERVICE_USER_NUMBER: z
    .string()
    .regex(/^\d{6}$/)
    .default('999123'),
  BACS_ORIGINATOR_SORT_CODE: z
    .string()
    .regex(/^\d{6}$/)
    .default('309634'),
  BACS_ORIGINATOR_ACCOUNT: z
    .string()
    .regex(/^\d{8}$/)
    .default('12345678'),
  BACS_ORIGINATOR_NAME: z.string().min(1).max(18).default('KILNFORD CC'),
});

export type PaymentsConfig = z.infer<typeof schema>;

export function loadPaymentsConfig(env: NodeJS.ProcessEnv = process.env): PaymentsConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (parsed.data.PAYMENTS_PROVIDER === 'govuk-pay' && !parsed.data.GOVUK_PAY_API_KEY) {
    throw new Error('Invalid configuration:\n  GOVUK_PAY_API_KEY: required when PAYMENTS_PROVIDER=govuk-pay');
  }
  return parsed.data;
}

/** The most each role may refund in one go, in pence (Infinity: no limit). */
export const refundLimits = {
  agent: 0,
  officer: 100_00,
  team_lead: 1_000_00,
  admin: Number.POSITIVE_INFINITY,
} as const;
