import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Platform } from '../../platform/module.ts';
import { code128Svg } from './barcode.ts';
import type { CouncilTaxAccountRow, CouncilTaxService } from './council-tax.ts';
import { startDirectDebitFor } from './direct-debit-routes.ts';
import { groupedReference } from './paypoint.ts';
import { PaymentError, type PaymentsService } from './service.ts';
import { parsePounds } from './staff-routes.ts';

async function requireResident(request: FastifyRequest, reply: FastifyReply) {
  if (request.resident) return;
  const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/sign-in${returnTo}`, 303);
}

const payForm = z.object({
  choice: z.string().default(''),
  other: z.string().default(''),
  payKey: z.string().uuid(),
});

const collectionDays = ['1', '15', '28'] as const;

/** My account: the council tax account, its bill, paying it, Direct Debit and paperless bills; the payments list. */
export function registerCouncilTaxRoutes(
  app: FastifyInstance,
  platform: Platform,
  councilTax: CouncilTaxService,
  payments: PaymentsService,
) {
  const { db } = platform;
  const signedIn = { preHandler: requireResident };

  function notFound(reply: FastifyReply) {
    return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
  }

  async function accountOf(request: FastifyRequest): Promise<CouncilTaxAccountRow | undefined> {
    const { reference } = request.params as { reference: string };
    if (!/^\d{8}$/.test(reference)) return undefined;
    return councilTax.findForResident(db, request.resident!.id, reference);
  }

  app.get('/account/council-tax', signedIn, async (request, reply) => {
    const accounts = await councilTax.listForResident(db, request.resident!.id);
    if (accounts.length === 1) return reply.redirect(`/account/council-tax/${accounts[0]!.reference}`, 303);
    return reply.render('payments/views/council-tax-accounts.njk', {
      title: 'Council tax',
      navSection: 'account',
      backLink: '/account',
      accounts,
    });
  });

  app.get('/account/council-tax/:reference', signedIn, async (request, reply) => {
    const account = await accountOf(request);
    if (!account) return notFound(reply);
    const summary = await councilTax.summary(db, account);
    return reply.render('payments/views/council-tax-account.njk', {
      title: `Council tax ${account.year_label}`,
      navSection: 'account',
      backLink: '/account',
      ...summary,
      barcode: summary.paypointReference ? code128Svg(summary.paypointReference) : null,
      groupedPaypoint: summary.paypointReference ? groupedReference(summary.paypointReference) : null,
    });
  });

  app.get('/account/council-tax/:reference/bill.pdf', signedIn, async (request, reply) => {
    const account = await accountOf(request);
    if (!account) return notFound(reply);
    const pdf = await councilTax.billPdf(db, account);
    return reply
      .type('application/pdf')
      .header(
        'content-disposition',
        `inline; filename="council-tax-bill-${account.year_label.replace('/', '-')}-${account.reference}.pdf"`,
      )
      .header('cache-control', 'no-store')
      .send(pdf);
  });

  // Pay now by card: the next instalment, the whole balance or another amount.
  async function showPay(
    reply: FastifyReply,
    account: CouncilTaxAccountRow,
    values: Record<string, string> = {},
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const summary = await councilTax.summary(db, account);
    return reply.code(errors.length ? 400 : 200).render('payments/views/council-tax-pay.njk', {
      title: `${errors.length ? 'Error: ' : ''}Pay your council tax`,
      navSection: 'account',
      backLink: `/account/council-tax/${account.reference}`,
      account,
      outstanding: summary.outstanding,
      nextAmount: summary.nextAmount,
      values,
      errors,
      payKey: values.payKey ?? randomUUID(),
    });
  }

  app.get('/account/council-tax/:reference/pay', signedIn, async (request, reply) => {
    const account = await accountOf(request);
    if (!account) return notFound(reply);
    return showPay(reply, account);
  });

  app.post(
    '/account/council-tax/:reference/pay',
    { ...signedIn, config: { rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      const account = await accountOf(request);
      if (!account) return notFound(reply);
      const parsed = payForm.safeParse(request.body ?? {});
      if (!parsed.success) return showPay(reply, account);
      const form = parsed.data;
      const summary = await councilTax.summary(db, account);
      let amount: number | null = null;
      const errors: Array<{ field: string; text: string }> = [];
      if (form.choice === 'next') amount = summary.nextAmount;
      else if (form.choice === 'all') amount = summary.outstanding;
      else if (form.choice === 'other') {
        amount = parsePounds(form.other);
        if (!form.other.trim()) errors.push({ field: 'other', text: 'Enter the amount you want to pay' });
        else if (amount === null || amount < 1)
          errors.push({ field: 'other', text: 'Enter an amount in pounds and pence, like 150.00' });
        else if (amount > summary.outstanding)
          errors.push({
            field: 'other',
            text: `Enter an amount no more than £${(summary.outstanding / 100).toFixed(2)}, what is left to pay`,
          });
      } else errors.push({ field: 'choice', text: 'Select how much you want to pay' });
      if (!errors.length && (!amount || amount < 1))
        errors.push({ field: 'choice', text: 'There is nothing left to pay on this account' });
      if (errors.length) return showPay(reply, account, form, errors);
      try {
        const { nextUrl } = await councilTax.startCardPayment(account, {
          amount: amount!,
          key: form.payKey,
          actor: actorOf(request),
        });
        return reply.redirect(nextUrl, 303);
      } catch (error) {
        if (error instanceof PaymentError && error.code !== 'provider')
          return showPay(reply, account, form, [{ field: 'choice', text: error.message }]);
        throw error;
      }
    },
  );

  // Switch to Direct Debit: choose the day, then the Direct Debit set-up journey.
  function showDirectDebit(
    reply: FastifyReply,
    account: CouncilTaxAccountRow,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    return reply.code(errors.length ? 400 : 200).render('payments/views/council-tax-direct-debit.njk', {
      title: `${errors.length ? 'Error: ' : ''}Pay your council tax by Direct Debit`,
      navSection: 'account',
      backLink: `/account/council-tax/${account.reference}`,
      account,
      days: collectionDays.map((day) => ({ day, first: councilTax.firstCollection(Number(day)).firstDate })),
      errors,
    });
  }

  app.get('/account/council-tax/:reference/direct-debit', signedIn, async (request, reply) => {
    const account = await accountOf(request);
    if (!account) return notFound(reply);
    return showDirectDebit(reply, account);
  });

  app.post('/account/council-tax/:reference/direct-debit', signedIn, async (request, reply) => {
    const account = await accountOf(request);
    if (!account) return notFound(reply);
    const day = String((request.body as Record<string, unknown> | null)?.day ?? '');
    if (!(collectionDays as readonly string[]).includes(day))
      return showDirectDebit(reply, account, [
        { field: 'day', text: 'Select the day of the month you want to pay on' },
      ]);
    startDirectDebitFor(request, {
      name: 'council-tax',
      reference: account.reference,
      dayOfMonth: Number(day),
      backLink: `/account/council-tax/${account.reference}`,
    });
    return reply.redirect('/direct-debit/set-up', 303);
  });

  // Paperless bills: delivered to "Your documents and letters" instead of by post.
  function showPaperless(
    reply: FastifyReply,
    account: CouncilTaxAccountRow,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    return reply.code(errors.length ? 400 : 200).render('payments/views/council-tax-paperless.njk', {
      title: `${errors.length ? 'Error: ' : ''}How do you want to get your council tax bills?`,
      navSection: 'account',
      backLink: `/account/council-tax/${account.reference}`,
      account,
      errors,
    });
  }

  app.get('/account/council-tax/:reference/paperless', signedIn, async (request, reply) => {
    const account = await accountOf(request);
    if (!account) return notFound(reply);
    return showPaperless(reply, account);
  });

  app.post('/account/council-tax/:reference/paperless', signedIn, async (request, reply) => {
    const account = await accountOf(request);
    if (!account) return notFound(reply);
    const choice = String((request.body as Record<string, unknown> | null)?.paperless ?? '');
    if (choice !== 'yes' && choice !== 'no')
      return showPaperless(reply, account, [
        { field: 'paperless', text: 'Select how you want to get your council tax bills' },
      ]);
    const { delivered } = await councilTax.setPaperless(account, choice === 'yes', actorOf(request));
    request.session.set(
      'flash',
      choice === 'yes'
        ? delivered
          ? 'You have gone paperless. Your bill is in your documents and letters, and we have emailed you'
          : 'You have gone paperless: we will put your bills in your documents and letters'
        : 'We will send your council tax bills by post',
    );
    return reply.redirect(`/account/council-tax/${account.reference}`, 303);
  });

  // Every payment the resident has made, with receipts.
  app.get('/account/payments', signedIn, async (request, reply) => {
    const list = await payments.list(db, { residentId: request.resident!.id, limit: 200 });
    return reply.render('payments/views/account-payments.njk', {
      title: 'Your payments and receipts',
      navSection: 'account',
      backLink: '/account',
      payments: list.filter((p) => p.status === 'success' || p.method === 'card'),
    });
  });
}
