import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { systemActor } from '../../platform/actor.ts';
import { sendProblem } from '../../platform/http/problem.ts';
import type { Platform } from '../../platform/module.ts';
import type { PaymentsService } from './service.ts';

export const GOVUK_PAY_WEBHOOK_PATH = '/api/v1/payments/govuk-pay/webhook';

/** The hex HMAC-SHA256 of the message body with the webhook's signing secret, as GOV.UK Pay signs it. */
export function webhookSignature(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function signedWith(secret: string, body: Buffer, given: unknown): boolean {
  if (typeof given !== 'string' || !/^[0-9a-f]{64}$/i.test(given)) return false;
  const expected = Buffer.from(webhookSignature(secret, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

const messageSchema = z.object({
  resource_type: z.string().max(40),
  resource_id: z.string().min(1).max(64),
  event_type: z.string().max(80),
});

/**
 * GOV.UK Pay's webhook: it posts when a payment succeeds, fails, expires or is refunded. The
 * message only says which payment to look at: Kiln checks the signature, then asks the API where
 * the payment and its refunds stand and applies that once, exactly as after a return.
 */
export function registerGovukPayWebhook(
  app: FastifyInstance,
  platform: Platform,
  service: PaymentsService,
  secret: string,
) {
  // Its own scope: the signature is over the exact bytes sent, so JSON is read here, not before.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    scope.post(
      GOVUK_PAY_WEBHOOK_PATH,
      { bodyLimit: 256 * 1024, config: { rateLimit: platform.rateLimits.api } },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (!signedWith(secret, body, request.headers['pay-signature'])) {
          request.log.warn('GOV.UK Pay webhook refused: the Pay-Signature header does not match');
          return sendProblem(reply, {
            title: 'Forbidden',
            status: 403,
            detail: 'The Pay-Signature header does not match the message; nothing was changed',
          });
        }
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          json = null;
        }
        const message = messageSchema.safeParse(json);
        if (!message.success)
          return sendProblem(reply, {
            title: 'Bad request',
            status: 400,
            detail: 'The message has no resource_type, resource_id and event_type',
          });
        const { resource_type: type, resource_id: providerId, event_type: event } = message.data;
        const payment = type === 'payment' ? await service.findByProviderId(providerId) : undefined;
        // Another service's payment on the same account, or another kind of resource: acknowledged.
        if (!payment) return reply.code(200).send({ received: true, applied: false });
        try {
          const after = await service.reconcile(payment.id, systemActor);
          await service.reconcileRefunds(payment.id, systemActor);
          request.log.info({ event, payment: payment.reference, status: after.status }, 'GOV.UK Pay webhook');
          return reply.code(200).send({ received: true, applied: true });
        } catch (error) {
          request.log.warn({ err: error, payment: payment.reference }, 'GOV.UK Pay webhook not applied');
          // GOV.UK Pay sends the message again later; the worker also reconciles open payments.
          reply.header('Retry-After', '60');
          return sendProblem(reply, {
            title: 'The service is unavailable',
            status: 503,
            detail: 'GOV.UK Pay could not be asked where the payment stands; send the message again later',
          });
        }
      },
    );
  });
}
