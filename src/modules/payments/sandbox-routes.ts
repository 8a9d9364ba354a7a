import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError } from '../../platform/http/errors.ts';
import { checkCard, type CardForm } from './card-details.ts';
import { SANDBOX_CHALLENGE_CODE, testCards, type SandboxBooks } from './sandbox.ts';

const field = (body: unknown, name: string) => {
  const value = (body as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' ? value : '';
};

const testCardList = Object.entries(testCards).map(([number, card]) => ({
  number: number.replace(/(\d{4})(?=\d)/g, '$1 '),
  outcome: {
    success: 'payment succeeds',
    declined: 'card declined',
    expired: 'card expired',
    invalid_cvc: 'security code refused',
    error: 'provider error',
    challenge: `3-D Secure check (code ${SANDBOX_CHALLENGE_CODE})`,
  }[card.outcome],
}));

/**
 * The sandbox provider's hosted card page, served by Kiln: the page a resident would see on
 * GOV.UK Pay. It works without JavaScript and never keeps the card number.
 */
export function registerSandboxCardPage(app: FastifyInstance, books: SandboxBooks) {
  async function load(id: string) {
    if (!/^sbx[0-9a-f]{24}$/.test(id)) throw new HttpError(404, 'Page not found');
    const charge = await books.open(id);
    if (!charge) throw new HttpError(404, 'Page not found');
    return charge;
  }

  function showCard(
    reply: FastifyReply,
    charge: Awaited<ReturnType<typeof load>>,
    form: Partial<CardForm> = {},
    errors: unknown[] = [],
  ) {
    return reply.code(errors.length ? 400 : 200).render('payments/views/card.njk', {
      title: `${errors.length ? 'Error: ' : ''}Enter card details`,
      charge,
      form,
      errors,
      testCards: testCardList,
    });
  }

  app.get('/pay/card/:id', async (request, reply) => {
    const charge = await load((request.params as { id: string }).id);
    if (!charge.nextUrl) return reply.redirect(charge.returnUrl, 303);
    if (charge.status === 'submitted') return reply.redirect(`/pay/card/${charge.providerId}/3ds`, 303);
    return showCard(reply, charge);
  });

  app.post('/pay/card/:id', async (request, reply) => {
    const charge = await load((request.params as { id: string }).id);
    if (!charge.nextUrl) return reply.redirect(charge.returnUrl, 303);
    const form: CardForm = {
      cardNumber: field(request.body, 'cardNumber'),
      expiryMonth: field(request.body, 'expiryMonth'),
      expiryYear: field(request.body, 'expiryYear'),
      cardholderName: field(request.body, 'cardholderName'),
      cvc: field(request.body, 'cvc'),
    };
    const { errors, number } = checkCard(form);
    // The card number and security code are never echoed back into the page.
    if (errors.length) return showCard(reply, charge, { ...form, cardNumber: '', cvc: '' }, errors);
    const outcome = await books.submitCard(charge.providerId, { number });
    if (outcome === 'challenge') return reply.redirect(`/pay/card/${charge.providerId}/3ds`, 303);
    return reply.redirect(charge.returnUrl, 303);
  });

  app.get('/pay/card/:id/3ds', async (request, reply) => {
    const charge = await load((request.params as { id: string }).id);
    if (charge.status !== 'submitted') return reply.redirect(`/pay/card/${charge.providerId}`, 303);
    return reply.render('payments/views/challenge.njk', {
      title: 'Confirm your payment',
      charge,
      code: SANDBOX_CHALLENGE_CODE,
    });
  });

  app.post('/pay/card/:id/3ds', async (request, reply) => {
    const charge = await load((request.params as { id: string }).id);
    const code = field(request.body, 'code').trim();
    if (charge.status === 'submitted' && !/^\d{6}$/.test(code)) {
      return reply.code(400).render('payments/views/challenge.njk', {
        title: 'Error: Confirm your payment',
        charge,
        code: SANDBOX_CHALLENGE_CODE,
        errors: [{ field: 'code', text: 'Enter the 6-digit code from your bank' }],
      });
    }
    await books.answerChallenge(charge.providerId, code);
    return reply.redirect(charge.returnUrl, 303);
  });

  app.post('/pay/card/:id/cancel', async (request, reply) => {
    const charge = await load((request.params as { id: string }).id);
    await books.cancelByUser(charge.providerId);
    return reply.redirect(charge.returnUrl, 303);
  });
}
