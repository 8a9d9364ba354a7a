import { z } from 'zod';
import { paymentStatuses } from './schema.ts';
import {
  ProviderError,
  type PaymentProvider,
  type ProviderPayment,
  type ProviderSettlement,
} from './provider.ts';

export interface GovukPayOptions {
  apiKey: string;
  /** https://publicapi.payments.service.gov.uk in production; a stub in tests. */
  baseUrl: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

// Only the fields Kiln reads; GOV.UK Pay sends many more, which are ignored.
const paymentBody = z.object({
  payment_id: z.string(),
  amount: z.number().int(),
  state: z.object({
    status: z.enum(paymentStatuses),
    finished: z.boolean().optional(),
    code: z.string().optional(),
    message: z.string().optional(),
  }),
  card_details: z
    .object({ card_brand: z.string().optional(), last_digits_card_number: z.string().optional() })
    .nullish(),
  _links: z
    .object({ next_url: z.object({ href: z.string() }).nullish() })
    .partial()
    .optional(),
});

// Search results, for settlement: only the fields reconciliation reads.
const settled = z.object({
  payment_id: z.string(),
  amount: z.number().int(),
  settlement_summary: z.object({ settled_date: z.string().optional() }).partial().optional(),
});
const searchPage = <Item extends z.ZodType>(item: Item) =>
  z.object({
    results: z.array(item),
    _links: z
      .object({ next_page: z.object({ href: z.string() }).nullish() })
      .partial()
      .optional(),
  });
const settledPayments = searchPage(settled);
const settledRefunds = searchPage(settled.extend({ refund_id: z.string() }));

const refundBody = z.object({
  refund_id: z.string(),
  status: z.enum(['submitted', 'success', 'error']),
});
const paymentRefunds = z.object({
  _embedded: z.object({
    refunds: z.array(refundBody.extend({ amount: z.number().int(), created_date: z.string() })),
  }),
});

/** GOV.UK Pay's public REST API (create, get, cancel, refund), authenticated by API key. */
export function govukPayProvider(options: GovukPayOptions): PaymentProvider {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/$/, '');

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new ProviderError(`GOV.UK Pay could not be reached: ${String(error)}`);
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!response.ok) {
      const error = json as { code?: string; description?: string } | null;
      throw new ProviderError(
        `GOV.UK Pay refused ${method} ${path}: ${response.status} ${error?.description ?? ''}`.trim(),
        response.status,
        error?.code ?? null,
      );
    }
    return json;
  }

  function toPayment(json: unknown): ProviderPayment {
    const parsed = paymentBody.safeParse(json);
    if (!parsed.success) throw new ProviderError('GOV.UK Pay sent a payment Kiln cannot read');
    const p = parsed.data;
    return {
      providerId: p.payment_id,
      amount: p.amount,
      status: p.state.status,
      failureCode: p.state.code ?? null,
      failureMessage: p.state.message ?? null,
      cardBrand: p.card_details?.card_brand ?? null,
      cardLastFour: p.card_details?.last_digits_card_number ?? null,
      nextUrl: p._links?.next_url?.href ?? null,
    };
  }

  return {
    name: 'govuk-pay',
    async create(payment) {
      const json = await call(
        'POST',
        '/v1/payments',
        {
          amount: payment.amount,
          reference: payment.reference,
          description: payment.description,
          return_url: payment.returnUrl,
          language: 'en',
          ...(payment.email ? { email: payment.email } : {}),
        },
        // GOV.UK Pay's key must be letters, digits and dashes.
        { 'Idempotency-Key': payment.idempotencyKey.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 255) },
      );
      return toPayment(json);
    },
    async get(providerId) {
      return toPayment(await call('GET', `/v1/payments/${encodeURIComponent(providerId)}`));
    },
    async cancel(providerId) {
      try {
        await call('POST', `/v1/payments/${encodeURIComponent(providerId)}/cancel`);
      } catch (error) {
        // 400/409: already finished, so nothing left to cancel.
        if (error instanceof ProviderError && (error.status === 400 || error.status === 409)) return;
        throw error;
      }
    },
    /**
     * What GOV.UK Pay settled into the council's account on a day: searches of payments and
     * refunds by settled date (GOV.UK Pay answers these for services whose provider is Stripe),
     * every page of them.
     */
    async settlements(day) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new ProviderError(`Not a day: ${day}`);
      const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const query = (page: number, extra: Record<string, string> = {}) =>
        new URLSearchParams({
          from_settled_date: day,
          to_settled_date: next,
          display_size: '500',
          page: String(page),
          ...extra,
        }).toString();
      /** Every result of a search, page by page, that was settled on the day. */
      async function settledOnDay<Item extends z.infer<typeof settled>>(
        path: string,
        schema: z.ZodType<{ results: Item[]; _links?: { next_page?: unknown } }>,
        extra: Record<string, string> = {},
      ): Promise<Item[]> {
        const found: Item[] = [];
        for (let page = 1; page <= 1000; page += 1) {
          const parsed = schema.safeParse(await call('GET', `${path}?${query(page, extra)}`));
          if (!parsed.success) throw new ProviderError('GOV.UK Pay sent search results Kiln cannot read');
          found.push(...parsed.data.results.filter((r) => r.settlement_summary?.settled_date === day));
          if (!parsed.data._links?.next_page || parsed.data.results.length === 0) break;
        }
        return found;
      }
      const charges = await settledOnDay('/v1/payments', settledPayments, { state: 'success' });
      const refunds = await settledOnDay('/v1/refunds', settledRefunds);
      return [
        ...charges.map((p): ProviderSettlement => ({
          kind: 'charge',
          providerReference: p.payment_id,
          providerPaymentId: p.payment_id,
          amount: p.amount,
          settledOn: day,
        })),
        ...refunds.map((r): ProviderSettlement => ({
          kind: 'refund',
          providerReference: r.refund_id,
          providerPaymentId: r.payment_id,
          amount: -r.amount,
          settledOn: day,
        })),
      ];
    },
    async getRefund(providerId, refundId) {
      const json = await call(
        'GET',
        `/v1/payments/${encodeURIComponent(providerId)}/refunds/${encodeURIComponent(refundId)}`,
      );
      const parsed = refundBody.safeParse(json);
      if (!parsed.success) throw new ProviderError('GOV.UK Pay sent a refund Kiln cannot read');
      return { refundId: parsed.data.refund_id, status: parsed.data.status };
    },
    async listRefunds(providerId) {
      const json = await call('GET', `/v1/payments/${encodeURIComponent(providerId)}/refunds`);
      const parsed = paymentRefunds.safeParse(json);
      if (!parsed.success) throw new ProviderError('GOV.UK Pay sent refunds Kiln cannot read');
      return parsed.data._embedded.refunds.map((r) => ({
        refundId: r.refund_id,
        status: r.status,
        amount: r.amount,
        createdAt: new Date(r.created_date),
      }));
    },
    async refund(providerId, refund) {
      const json = await call('POST', `/v1/payments/${encodeURIComponent(providerId)}/refunds`, {
        amount: refund.amount,
        refund_amount_available: refund.refundAmountAvailable,
      });
      const parsed = refundBody.safeParse(json);
      if (!parsed.success) throw new ProviderError('GOV.UK Pay sent a refund Kiln cannot read');
      return { refundId: parsed.data.refund_id, status: parsed.data.status };
    },
  };
}
