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

    const match = /^\/v1\/payments(?:\/([^/]+))?(?:\/(refunds|cancel))?$/.exec(url.pathname);
    if (!match) return send(404, 'RequestError', { code: 'P0200', description: 'Not found' });
    const [, id, action] = match;
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
      return send(200, 'Refund', {
        refund_id: randomBytes(13).toString('hex').slice(0, 26),
        payment_id: p.payment_id,
        amount: b.amount,
        status: 'success',
        created_date: new Date().toISOString(),
        _links: { self: { href: `${base}/v1/payments/${p.payment_id}/refunds/x`, method: 'GET' } },
      });
    }
    return send(404, 'RequestError', { code: 'P0200', description: 'Not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiKey,
    requests,
    responses,
    payments,
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
}
