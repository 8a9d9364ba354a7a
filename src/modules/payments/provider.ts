import type { PaymentStatus } from './schema.ts';

/** A card payment as the provider sees it. */
export interface ProviderPayment {
  providerId: string;
  /** Pence, as the provider holds it: checked against Kiln's own amount. */
  amount: number;
  status: PaymentStatus;
  /** GOV.UK Pay error code (P0010 rejected, P0030 cancelled by user, P0050 provider error …). */
  failureCode: string | null;
  failureMessage: string | null;
  cardBrand: string | null;
  cardLastFour: string | null;
  /** Where to send the resident to pay; only while the payment can still be paid. */
  nextUrl: string | null;
}

export interface NewProviderPayment {
  amount: number;
  reference: string;
  description: string;
  /** Where the provider sends the resident back to (Kiln's own return route). */
  returnUrl: string;
  idempotencyKey: string;
  email?: string | null;
}

/** A payment or refund the provider says it paid out (settled) to the council's bank account. */
export interface ProviderSettlement {
  kind: 'charge' | 'refund';
  /** The payment id for a charge, the refund id for a refund: what the ledger holds as its reference. */
  providerReference: string;
  providerPaymentId: string;
  /** Pence: positive for a charge, negative for a refund. */
  amount: number;
  /** YYYY-MM-DD */
  settledOn: string;
}

export interface ProviderRefund {
  refundId: string;
  status: 'submitted' | 'success' | 'error';
}

/** A refund as the provider lists it for a payment. */
export interface ListedRefund extends ProviderRefund {
  amount: number;
  createdAt: Date;
}

/**
 * A card payment provider. Kiln never trusts what the browser says about a payment: after every
 * return it asks the provider, so every method here is safe to call twice.
 */
export interface PaymentProvider {
  readonly name: 'sandbox' | 'govuk-pay';
  create(payment: NewProviderPayment): Promise<ProviderPayment>;
  get(providerId: string): Promise<ProviderPayment>;
  cancel(providerId: string): Promise<void>;
  refund(
    providerId: string,
    refund: { amount: number; refundAmountAvailable: number; idempotencyKey: string },
  ): Promise<ProviderRefund>;
  /** Where a refund stands: a card refund can be `submitted` first and finish later. */
  getRefund(providerId: string, refundId: string): Promise<ProviderRefund>;
  /** Every refund the provider holds for a payment: how a refund whose answer was lost is found. */
  listRefunds(providerId: string): Promise<ListedRefund[]>;
  /** Payments and refunds settled on one day (YYYY-MM-DD), for reconciling the ledger. */
  settlements(day: string): Promise<ProviderSettlement[]>;
}

/**
 * Raised when the provider refuses (a 4xx status: money has not moved) or when its answer is
 * missing, unreadable or a 5xx (`outcomeUnknown`: the request may have been carried out).
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  get outcomeUnknown(): boolean {
    return this.status === null || this.status >= 500;
  }
}

const rank: Record<PaymentStatus, number> = {
  created: 0,
  started: 1,
  submitted: 2,
  success: 3,
  failed: 3,
  cancelled: 3,
  error: 3,
};

export const finalStatuses: readonly PaymentStatus[] = ['success', 'failed', 'cancelled', 'error'];

/** Whether moving from one state to another goes forward: returns out of order never go back. */
export function movesForward(from: PaymentStatus, to: PaymentStatus): boolean {
  if (finalStatuses.includes(from)) return false;
  return rank[to] > rank[from];
}
