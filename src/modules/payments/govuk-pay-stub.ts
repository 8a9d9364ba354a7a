import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

// A stand-in for GOV.UK Pay on 127.0.0.1 for tests: every request Kiln sends and every response
// it serves is checked against the published OpenAPI description of the public API.
const specPath = resolve(import.meta.dirname, '../../../../shared/specs/govuk-pay/publicapi_spec.json');

interface Spec {
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

export function loadSpec(): Spec {
  return JSON.parse(readFileSync(specPath, 'utf8')) as Spec;
}

/** Validators for the spec's component schemas (OpenAPI 3.0 keywords such as `example` are ignored). */
export function specValidators() {
  const spec = loadSpec();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(spec, 'govuk-pay');
  const cache = new Map<string, ValidateFunction>();
  return {
    spec,
    validate(schema: string, value: unknown): string[] {
      let fn = cache.get(schema);
      if (!fn) {
        fn = ajv.compile({ $ref: `govuk-pay#/components/schemas/${schema}` });
        cache.set(schema, fn);
      }
      if (fn(value)) {
        // The spec allows extra properties; a client that sends unknown ones is still wrong.
        const known = Object.keys(spec.components.schemas[schema]?.properties ?? {});
        const extra = Object.keys(value as object).filter((k) => !known.includes(k));
        return extra.map((k) => `unknown property ${k}`);
      }
      return (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    },
  };
}

interface StubPayment {
  payment_id: string;
  amount: number;
  description: string;
  reference: string;
  return_url: string;
  email?: string;
  state: { status: string; finished: boolean; code?: string; message?: string };
  card?: { last: string; brand: string };
  refunded: number;
  created_date: string;
  settled_date?: string;
}

interface StubRefund {
  refund_id: string;
  payment_id: string;
  amount: number;
  status: 'submitted' | 'success' | 'error';
  created_date: string;
  settled_date?: string;
}

export interface GovukPayStub {
  url: string;
  apiKey: string;
  /** Every request received, with the schema problems found in it. */
  requests: Array<{
    method: string;
    path: string;
    body: unknown;
    problems: string[];
    idempotencyKey?: string;
  }>;
  /** Every response body sent, with the schema problems found in it. */
  responses: Array<{ schema: string; problems: string[] }>;
  payments: Map<string, StubPayment>;
  refunds: StubRefund[];
  /** The payment service provider paid a payment or refund out to the council on a day. */
  settle(id: string, day: string): void;
  /** The status new refunds answer with: GOV.UK Pay often answers `submitted` and finishes later. */
  refundStatus: 'submitted' | 'success';
  /** How many refund answers to lose: the refund is made, then the connection is dropped unanswered. */
  loseRefundAnswers: number;
  /** The card provider finished a submitted refund. */
  finishRefund(refundId: string, status: 'success' | 'error'): void;
  /** A webhook message as GOV.UK Pay posts it, about a payment's current state. */
  webhookMessage(paymentId: string, eventType: string): string;
  /** What the paying user did on the hosted page. */
  finish(
    paymentId: string,
    status: 'success' | 'failed' | 'cancelled' | 'error',
    card?: { last: string; brand: string },
  ): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startGovukPayStub(): Promise<GovukPayStub> {
  const v = specValidators();
  const apiKey = `api_test_${randomBytes(8).toString('hex')}`;
  const payments = new Map<string, StubPayment>();
  const byIdempotencyKey = new Map<string, string>();
  const refunds: StubRefund[] = [];
  const requests: GovukPayStub['requests'] = [];
  const responses: GovukPayStub['responses'] = [];
  let base = '';

  function paymentJson(p: StubPayment) {
    const links = {
      self: { href: `${base}/v1/payments/${p.payment_id}`, method: 'GET' },
      refunds: { href: `${base}/v1/payments/${p.payment_id}/refunds`, method: 'GET' },
      ...(p.state.finished
        ? {}
        : {
            next_url: { href: `${base}/secure/${p.payment_id}`, method: 'GET' },
            cancel: { href: `${base}/v1/payments/${p.payment_id}/cancel`, method: 'POST' },
          }),
    };
    return {
      payment_id: p.payment_id,
      amount: p.amount,
      description: p.description,
      reference: p.reference,
      return_url: p.return_url,
      language: 'en',
      ...(p.email ? { email: p.email } : {}),
      state: p.state,
      payment_provider: 'sandbox',
      created_date: p.created_date,
      delayed_capture: false,
      moto: false,
      ...(p.card
        ? {
            card_details: {
              last_digits_card_number: p.card.last,
              card_brand: p.card.brand,
              card_type: 'debit',
            },
          }
        : {}),
      refund_summary: {
        status:
          p.state.status === 'success' ? (p.amount - p.refunded > 0 ? 'available' : 'full') : 'unavailable',
        amount_available: p.state.status === 'success' ? p.amount - p.refunded : 0,
        amount_submitted: p.refunded,
      },
      _links: links,
    };
  }

  function refundJson(r: StubRefund) {
    return {
      refund_id: r.refund_id,
      payment_id: r.payment_id,
      amount: r.amount,
      status: r.status,
      created_date: r.created_date,
      _links: {
        self: { href: `${base}/v1/payments/${r.payment_id}/refunds/${r.refund_id}`, method: 'GET' },
        payment: { href: `${base}/v1/payments/${r.payment_id}`, method: 'GET' },
      },
    };
  }

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://stub');
    let body: unknown;
    try {
      body = await readBody(request);
    } catch {
      body = '(not JSON)';
    }
    const send = (status: number, schema: string | null, json?: unknown) => {
      if (schema) responses.push({ schema, problems: v.validate(schema, json) });
      response.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' });
      response.end(json === undefined ? undefined : JSON.stringify(json));
    };
    const entry = {
      method: request.method ?? '',
      path: url.pathname,
      body,
      problems: [] as string[],
      idempotencyKey: request.headers['idempotency-key'] as string | undefined,
    };
    requests.push(entry);
    if (request.headers.authorization !== `Bearer ${apiKey}`) return send(401, null);

    // Searches by settled date (GOV.UK Pay answers these for Stripe accounts), paged.
    if (request.method === 'GET' && (url.pathname === '/v1/payments' || url.pathname === '/v1/refunds')) {
      const q = url.searchParams;
      for (const name of ['from_settled_date', 'to_settled_date'])
        if (q.has(name) && !/^\d{4}-\d{2}-\d{2}$/.test(q.get(name)!))
          entry.problems.push(`${name} must be YYYY-MM-DD`);
      const known =
        url.pathname === '/v1/payments'
          ? [
              'reference',
              'email',
              'state',
              'card_brand',
              'from_date',
              'to_date',
              'page',
              'display_size',
              'cardholder_name',
              'first_digits_card_number',
              'last_digits_card_number',
              'from_settled_date',
              'to_settled_date',
              'agreement_id',
            ]
          : ['from_date', 'to_date', 'from_settled_date', 'to_settled_date', 'page', 'display_size'];
      for (const name of q.keys())
        if (!known.includes(name)) entry.problems.push(`unknown parameter ${name}`);
      if (entry.problems.length)
        return send(422, 'RequestError', { code: 'P0401', description: entry.problems.join('; ') });
      const from = q.get('from_settled_date') ?? '0000-00-00';
      const to = q.get('to_settled_date') ?? '9999-99-99';
      const size = Number(q.get('display_size') ?? '500');
      const pageNo = Number(q.get('page') ?? '1');
      const settledIn = (d?: string) => d !== undefined && d >= from && d < to;
      const all =
        url.pathname === '/v1/payments'
          ? [...payments.values()]
              .filter(
                (p) => settledIn(p.settled_date) && (!q.get('state') || p.state.status === q.get('state')),
              )
              .map((p) => ({
                ...paymentJson(p),
                settlement_summary: {
                  captured_date: p.created_date.slice(0, 10),
                  settled_date: p.settled_date,
                },
                _links: { self: { href: `${base}/v1/payments/${p.payment_id}`, method: 'GET' } },
              }))
          : refunds
              .filter((r) => settledIn(r.settled_date))
              .map((r) => ({
                refund_id: r.refund_id,
                payment_id: r.payment_id,
                amount: r.amount,
                status: 'success',
                created_date: r.created_date,
                settlement_summary: { settled_date: r.settled_date },
                _links: {
                  self: { href: `${base}/v1/payments/${r.payment_id}/refunds/${r.refund_id}`, method: 'GET' },
                  payment: { href: `${base}/v1/payments/${r.payment_id}`, method: 'GET' },
                },
              }));
      const results = all.slice((pageNo - 1) * size, pageNo * size);
      const pageLink = (n: number) => ({ href: `${base}${url.pathname}?page=${n}`, method: 'GET' });
      return send(200, url.pathname === '/v1/payments' ? 'PaymentSearchResults' : 'RefundSearchResults', {
        total: all.length,
        count: results.length,
        page: pageNo,
        results,
        _links: {
          self: pageLink(pageNo),
          first_page: pageLink(1),
          last_page: pageLink(Math.max(1, Math.ceil(all.length / size))),
          ...(pageNo * size < all.length ? { next_page: pageLink(pageNo + 1) } : {}),
          ...(pageNo > 1 ? { prev_page: pageLink(pageNo - 1) } : {}),
        },
      });
    }

    const match = /^\/v1\/payments(?:\/([^/]+))?(?:\/(refunds|cancel))?(?:\/([^/]+))?$/.exec(url.pathname);
    if (!match) return send(404, 'RequestError', { code: 'P0200', description: 'Not found' });
    const [, id, action, refundId] = match;
    if (request.method === 'GET' && action === 'refunds' && refundId) {
      const r = refunds.find((x) => x.refund_id === refundId && x.payment_id === id);
      if (!r) return send(404, 'RequestError', { code: 'P0700', description: 'Not found' });
      return send(200, 'Refund', refundJson(r));
    }
    if (request.method === 'GET' && action === 'refunds' && !refundId) {
      if (!id || !payments.has(id))
        return send(404, 'RequestError', { code: 'P0200', description: 'Not found' });
      return send(200, 'RefundForSearchResult', {
        payment_id: id,
        _links: {
          self: { href: `${base}/v1/payments/${id}/refunds`, method: 'GET' },
          payment: { href: `${base}/v1/payments/${id}`, method: 'GET' },
        },
        _embedded: { refunds: refunds.filter((r) => r.payment_id === id).map(refundJson) },
      });
    }
    if (request.method === 'POST' && !id) {
      entry.problems = v.validate('CreateCardPaymentRequest', body);
      if (entry.idempotencyKey && !/^$|^[a-zA-Z0-9-]+$/.test(entry.idempotencyKey))
        entry.problems.push('Idempotency-Key has characters the API refuses');
      if (entry.problems.length)
        return send(422, 'RequestError', { code: 'P0102', description: entry.problems.join('; ') });
      const known = entry.idempotencyKey && byIdempotencyKey.get(entry.idempotencyKey);
      if (known) return send(200, 'CreatePaymentResult', paymentJson(payments.get(known)!));
      const b = body as {
        amount: number;
        description: string;
        reference: string;
        return_url: string;
        email?: string;
      };
      const p: StubPayment = {
        payment_id: randomBytes(13).toString('hex').slice(0, 26),
        amount: b.amount,
        description: b.description,
        reference: b.reference,
        return_url: b.return_url,
        email: b.email,
        state: { status: 'created', finished: false },
        refunded: 0,
        created_date: new Date().toISOString(),
      };
      payments.set(p.payment_id, p);
      if (entry.idempotencyKey) byIdempotencyKey.set(entry.idempotencyKey, p.payment_id);
      return send(201, 'CreatePaymentResult', paymentJson(p));
    }
    const p = id ? payments.get(id) : undefined;
    if (!p) return send(404, 'RequestError', { code: 'P0200', description: 'Not found' });
    if (request.method === 'GET' && !action) return send(200, 'PaymentWithAllLinks', paymentJson(p));
    if (request.method === 'POST' && action === 'cancel') {
      if (p.state.finished)
        return send(400, 'RequestError', { code: 'P0501', description: 'Cancellation failed' });
      p.state = {
        status: 'cancelled',
        finished: true,
        code: 'P0040',
        message: 'Payment was cancelled by the service',
      };
      return send(204, null);
    }
    if (request.method === 'POST' && action === 'refunds') {
      entry.problems = v.validate('PaymentRefundRequest', body);
      if (entry.problems.length)
        return send(400, 'RequestError', { code: 'P0602', description: entry.problems.join('; ') });
      const b = body as { amount: number; refund_amount_available?: number };
      const available = p.state.status === 'success' ? p.amount - p.refunded : 0;
      if (b.refund_amount_available !== undefined && b.refund_amount_available !== available)
        return send(412, null);
      if (b.amount > available)
        return send(400, 'RequestError', { code: 'P0604', description: 'Refund amount not available' });
      p.refunded += b.amount;
      const refund: StubRefund = {
        refund_id: randomBytes(13).toString('hex').slice(0, 26),
        payment_id: p.payment_id,
        amount: b.amount,
        status: stub.refundStatus,
        created_date: new Date().toISOString(),
      };
      refunds.push(refund);
      if (stub.loseRefundAnswers > 0) {
        stub.loseRefundAnswers -= 1;
        return void response.socket?.destroy();
      }
      return send(200, 'Refund', refundJson(refund));
    }
    return send(404, 'RequestError', { code: 'P0200', description: 'Not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const stub: GovukPayStub = {
    url: base,
    apiKey,
    requests,
    responses,
    payments,
    refunds,
    settle(id, day) {
      const payment = payments.get(id);
      if (payment) payment.settled_date = day;
      const refund = refunds.find((r) => r.refund_id === id);
      if (refund) refund.settled_date = day;
      if (!payment && !refund) throw new Error(`No payment or refund ${id}`);
    },
    refundStatus: 'success',
    loseRefundAnswers: 0,
    finishRefund(refundId, status) {
      const r = refunds.find((x) => x.refund_id === refundId);
      if (!r) throw new Error(`No refund ${refundId}`);
      r.status = status;
    },
    webhookMessage(paymentId, eventType) {
      const p = payments.get(paymentId);
      if (!p) throw new Error(`No payment ${paymentId}`);
      // The fields GOV.UK Pay's webhooks documentation lists; the resource is the payment as GET returns it.
      return JSON.stringify({
        webhook_message_id: randomBytes(13).toString('hex').slice(0, 26),
        created_date: new Date().toISOString(),
        resource_id: p.payment_id,
        api_version: 1,
        resource_type: 'payment',
        event_type: eventType,
        resource: paymentJson(p),
      });
    },
    finish(paymentId, status, card) {
      const p = payments.get(paymentId)!;
      const failures = {
        failed: { code: 'P0010', message: 'Payment method rejected' },
        cancelled: { code: 'P0030', message: 'Payment was cancelled by the user' },
        error: { code: 'P0050', message: 'Payment provider returned an error' },
      } as const;
      p.state = { status, finished: true, ...(status === 'success' ? {} : failures[status]) };
      if (card) p.card = card;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return stub;
}
