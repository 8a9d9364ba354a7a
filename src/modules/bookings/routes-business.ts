import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays } from '../../platform/working-days.ts';
import {
  binStreams,
  businessSchema,
  changeStatusText,
  frequencies,
  liftPrices,
  NOTICE_DAYS,
  quoteTradeWaste,
  type BusinessService,
} from './business.ts';
import type { BookingsConfig } from './config.ts';
import { wasteTransferNote } from './pdf.ts';
import { BookingError, pounds } from './service.ts';
import { addDays, dayString, formatDay, weekdayOf } from './times.ts';

type Body = Record<string, unknown>;
type Errors = Array<{ field: string; text: string }>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

async function requireResident(request: FastifyRequest, reply: FastifyReply) {
  if (request.resident) return;
  const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/sign-in${returnTo}`, 303);
}

function zodErrors(error: ZodError, fields: Record<string, string> = {}): Errors {
  return error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    return { field: fields[key] ?? key, text: i.message };
  });
}

function quoteQuery(q: { stream: string; size: number; bins: number; frequency: string }) {
  return new URLSearchParams({
    stream: q.stream,
    size: String(q.size),
    bins: String(q.bins),
    frequency: q.frequency,
  }).toString();
}

/** The signed copy in My account's documents, where signing delivered it. */
const signedLink = (copy: { reference: string; title: string } | undefined) =>
  copy && { href: `/account/documents/${copy.reference}`, title: copy.title };

const contractStatusText = (c: { status: string; ends_on: unknown }) =>
  c.status === 'active'
    ? 'Active'
    : c.status === 'ending'
      ? `Ending on ${formatDay(dayString(c.ends_on))}`
      : 'Ended';

/** The business services marketplace: instant trade waste quotes, contracts, invoices, transfer notes. */
export function registerBusinessRoutes(
  app: FastifyInstance,
  platform: Platform,
  business: BusinessService,
  config: BookingsConfig,
) {
  const { db } = platform;
  const signedIn = { preHandler: requireResident };

  app.get('/business', async (request, reply) =>
    reply.render('bookings/views/business-home.njk', {
      title: 'Services for businesses',
      navSection: 'services',
      contracts: request.resident ? await business.contractsFor(db, request.resident.id) : [],
    }),
  );

  function quoteForm(reply: FastifyReply, values: Record<string, string>, errors: Errors = []) {
    return reply.code(errors.length ? 400 : 200).render('bookings/views/trade-waste-form.njk', {
      title: 'Get a trade waste quote',
      navSection: 'services',
      backLink: '/business',
      streamItems: Object.entries(binStreams).map(([value, s]) => ({
        value,
        text: s.name,
        checked: values.stream === value,
      })),
      sizeItems: Object.keys(liftPrices).map((value) => ({
        value,
        text: `${value} litres`,
        checked: values.size === value,
      })),
      frequencyItems: Object.entries(frequencies).map(([value, f]) => ({
        value,
        text: f.name,
        checked: values.frequency === value,
      })),
      values,
      errors,
    });
  }

  app.get('/business/trade-waste', async (request, reply) => quoteForm(reply, {}));

  // The quote is a GET: a page anyone can reload, bookmark or send to a colleague.
  app.get('/business/trade-waste/quote', async (request, reply) => {
    const q = request.query as Record<string, string>;
    const values = {
      stream: str(q.stream),
      size: str(q.size),
      bins: str(q.bins),
      frequency: str(q.frequency),
    };
    try {
      const quote = quoteTradeWaste(values);
      return reply.render('bookings/views/trade-waste-quote.njk', {
        title: 'Your trade waste quote',
        navSection: 'services',
        backLink: `/business/trade-waste`,
        quote,
        monthly: pounds(quote.monthlyPence),
        acceptHref: `/business/trade-waste/accept?${quoteQuery(quote.request)}`,
      });
    } catch (error) {
      if (error instanceof ZodError) return quoteForm(reply, values, zodErrors(error));
      if (error instanceof BookingError)
        return quoteForm(reply, values, [{ field: 'size', text: error.message }]);
      throw error;
    }
  });

  function startDates(): Array<{ value: string; text: string }> {
    const earliest = addWorkingDays(londonDay(), 5);
    const out: Array<{ value: string; text: string }> = [];
    for (let d = earliest; out.length < 4; d = addDays(d, 1))
      if (weekdayOf(d) === 1) out.push({ value: d, text: `Week starting ${formatDay(d)}` });
    return out;
  }

  async function acceptForm(
    request: FastifyRequest,
    reply: FastifyReply,
    values: Record<string, string>,
    errors: Errors = [],
  ) {
    const q = {
      stream: values.stream ?? '',
      size: values.size ?? '',
      bins: values.bins ?? '',
      frequency: values.frequency ?? '',
    };
    let quote;
    try {
      quote = quoteTradeWaste(q);
    } catch {
      return reply.redirect('/business/trade-waste', 303);
    }
    const businesses = await business.businessesOf(db, request.resident!.id);
    return reply.code(errors.length ? 400 : 200).render('bookings/views/trade-waste-accept.njk', {
      title: 'Accept the quote',
      navSection: 'services',
      backLink: `/business/trade-waste/quote?${quoteQuery(quote.request)}`,
      quote,
      monthly: pounds(quote.monthlyPence),
      businessItems: businesses.map((b) => ({
        value: b.id,
        text: b.name,
        checked: values.businessId === b.id,
      })),
      startItems: startDates().map((s) => ({ ...s, checked: values.startsOn === s.value })),
      payItems: [
        {
          value: 'direct_debit',
          text: 'Direct Debit',
          hint: { text: 'Collected monthly from the business bank account' },
          checked: values.payBy === 'direct_debit',
        },
        {
          value: 'invoice',
          text: 'Invoice each month',
          hint: { text: 'Pay each invoice online by card within 30 days' },
          checked: values.payBy === 'invoice',
        },
      ],
      values,
      errors,
    });
  }

  app.get('/business/trade-waste/accept', signedIn, async (request, reply) =>
    acceptForm(request, reply, request.query as Record<string, string>),
  );

  app.post(
    '/business/trade-waste/accept',
    { ...signedIn, config: { rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Body;
      const values = Object.fromEntries(
        [
          'stream',
          'size',
          'bins',
          'frequency',
          'businessId',
          'name',
          'companyNumber',
          'billingAddress',
          'role',
          'payBy',
          'startsOn',
          'agree',
        ].map((k) => [k, str(body[k])]),
      );
      const existing = values.businessId && values.businessId !== 'new' ? values.businessId : undefined;
      const details = {
        name: existing ? 'existing' : values.name,
        companyNumber: existing ? '' : values.companyNumber,
        billingAddress: existing ? 'existing' : values.billingAddress,
        role: existing ? 'existing' : values.role,
        payBy: values.payBy,
        startsOn: values.startsOn,
      };
      const checked = businessSchema.safeParse(details);
      const errors: Errors = checked.success ? [] : zodErrors(checked.error);
      if (values.agree !== 'yes')
        errors.push({ field: 'agree', text: 'Confirm you agree to the terms and can sign for the business' });
      if (errors.length) return acceptForm(request, reply, values, errors);
      try {
        const { contract } = await business.acceptQuote({
          residentId: request.resident!.id,
          quote: { stream: values.stream, size: values.size, bins: values.bins, frequency: values.frequency },
          business: checked.data!,
          existingBusinessId: existing,
          actor: actorOf(request),
        });
        request.session.set(
          'flash',
          'Contract agreed. We have emailed you a copy and the waste transfer note.',
        );
        return reply.redirect(`/business/contracts/${contract.reference}`, 303);
      } catch (error) {
        if (error instanceof BookingError)
          return acceptForm(request, reply, values, [{ field: 'startsOn', text: error.message }]);
        throw error;
      }
    },
  );

  async function myContract(request: FastifyRequest) {
    const { reference } = request.params as { reference: string };
    const contract = await business.contractFor(db, request.resident!.id, reference);
    if (!contract) throw new HttpError(404, 'Page not found');
    return contract;
  }

  async function contractPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { errors?: Errors; values?: Record<string, string> } = {},
  ) {
    const contract = await myContract(request);
    const terms = contract.terms as { lines?: Array<{ text: string; amount: string }> };
    const [signed, changes] = await Promise.all([
      business.signedCopies(db, request.resident!.id, [contract.reference]),
      business.changesOf(db, [contract.id]),
    ]);
    return reply.code(extra.errors?.length ? 400 : 200).render('bookings/views/contract.njk', {
      title: `Trade waste contract ${contract.reference}`,
      navSection: 'account',
      backLink: '/account/contracts',
      contract,
      lines: terms.lines ?? [],
      monthly: pounds(contract.monthly_pence),
      statusText: contractStatusText(contract),
      startsText: formatDay(dayString(contract.starts_on)),
      invoices: contract.invoices.map((i) => ({ ...i, amount: pounds(i.amount_pence) })),
      signed: signedLink(signed.get(contract.reference)),
      changes: changes.get(contract.id) ?? [],
      errors: extra.errors ?? [],
      values: extra.values ?? {},
    });
  }

  app.get('/business/contracts/:reference', signedIn, (request, reply) => contractPage(request, reply));

  app.post('/business/contracts/:reference/change', signedIn, async (request, reply) => {
    const contract = await myContract(request);
    const details = str((request.body as Body)?.details);
    try {
      await business.requestChange(request.resident!.id, contract.reference, details, actorOf(request));
    } catch (error) {
      if (error instanceof ZodError)
        return contractPage(request, reply, {
          errors: zodErrors(error, { '': 'details' }),
          values: { details },
        });
      if (!(error instanceof BookingError)) throw error;
      return contractPage(request, reply, {
        errors: [{ field: 'details', text: error.message }],
        values: { details },
      });
    }
    request.session.set(
      'flash',
      'We have your request to change the contract. We will reply within 5 working days.',
    );
    return reply.redirect(`/business/contracts/${contract.reference}`, 303);
  });

  // ---- My account: every contract of the businesses the resident acts for ----

  app.get('/account/contracts', signedIn, async (request, reply) => {
    const residentId = request.resident!.id;
    const contracts = await business.contractsFor(db, residentId);
    const [signed, changes] = await Promise.all([
      business.signedCopies(
        db,
        residentId,
        contracts.map((c) => c.reference),
      ),
      business.changesOf(
        db,
        contracts.map((c) => c.id),
      ),
    ]);
    return reply.render('bookings/views/account-contracts.njk', {
      title: 'Your business contracts',
      navSection: 'account',
      backLink: '/account',
      noticeDays: NOTICE_DAYS,
      contracts: contracts.map((c) => {
        const terms = c.terms as { lines?: Array<{ text: string }> };
        return {
          reference: c.reference,
          business: c.business,
          what: terms.lines?.[0]?.text ?? 'Trade waste collections',
          monthly: pounds(c.monthly_pence),
          payBy: c.pay_by === 'direct_debit' ? 'Direct Debit' : 'Invoice each month',
          startsText: formatDay(dayString(c.starts_on)),
          statusText: contractStatusText(c),
          active: c.status === 'active',
          signed: signedLink(signed.get(c.reference)),
          changes: changes.get(c.id) ?? [],
        };
      }),
    });
  });

  app.post('/business/contracts/:reference/notice', signedIn, async (request, reply) => {
    const contract = await myContract(request);
    try {
      const updated = await business.giveNotice(request.resident!.id, contract.reference, actorOf(request));
      request.session.set(
        'flash',
        `Notice given: the contract ends on ${formatDay(dayString(updated.ends_on))}`,
      );
    } catch (error) {
      if (!(error instanceof BookingError)) throw error;
      request.session.set('flash', error.message);
    }
    return reply.redirect(`/business/contracts/${contract.reference}`, 303);
  });

  app.post('/business/contracts/:reference/invoices/:invoice/pay', signedIn, async (request, reply) => {
    const contract = await myContract(request);
    const { invoice } = request.params as { invoice: string };
    const found = contract.invoices.find((i) => i.reference === invoice);
    if (!found) throw new HttpError(404, 'Page not found');
    const next = await business.invoicePaymentLink(found.id, `/business/contracts/${contract.reference}`);
    return reply.redirect(next ?? `/business/contracts/${contract.reference}`, 303);
  });

  app.get('/business/contracts/:reference/waste-transfer-note.pdf', signedIn, async (request, reply) => {
    const contract = await myContract(request);
    const pdf = await wasteTransferNote({
      councilName: platform.config.COUNCIL_NAME,
      carrierRegistration: config.BOOKINGS_WASTE_CARRIER_REGISTRATION,
      contract: {
        reference: contract.reference,
        starts_on: dayString(contract.starts_on),
        terms: contract.terms,
      },
      business: contract.business,
    });
    return reply
      .type('application/pdf')
      .header('Content-Disposition', `inline; filename="waste-transfer-note-${contract.reference}.pdf"`)
      .header('Cache-Control', 'no-store')
      .send(Buffer.from(pdf));
  });

  // ---- Staff ----

  app.get(
    '/staff/bookings/contracts',
    { config: { permission: 'bookings:manage' as const } },
    async (_request, reply) => {
      const contracts = await business.listContracts(db);
      const changes = await business.changesOf(
        db,
        contracts.map((c) => c.id),
      );
      return reply.render('bookings/views/staff-contracts.njk', {
        title: 'Business contracts',
        navSection: 'bookings',
        contracts: contracts.map((c) => ({
          ...c,
          monthly: pounds(c.monthly_pence),
          changes: changes.get(c.id) ?? [],
        })),
        period: londonDay().slice(0, 7),
      });
    },
  );

  const manage = { config: { permission: 'bookings:manage' as const } };

  app.post('/staff/bookings/contracts/:reference/signature', manage, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    try {
      const sent = await business.sendForSignature(
        reference,
        actorOf(request) as { type: 'staff'; id: string },
      );
      request.session.set('flash', `Contract ${reference} sent for signature (${sent.reference})`);
    } catch (error) {
      if (!(error instanceof BookingError)) throw error;
      if (error.code === 'not_found') throw new HttpError(404, 'Page not found');
      request.session.set('flash', error.message);
    }
    return reply.redirect('/staff/bookings/contracts', 303);
  });

  async function changePage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { errors?: Errors; values?: Record<string, string> } = {},
  ) {
    const found = await business.changeForStaff(db, (request.params as { id: string }).id);
    if (!found) throw new HttpError(404, 'Page not found');
    return reply.code(extra.errors?.length ? 400 : 200).render('bookings/views/staff-contract-change.njk', {
      title: `Change to contract ${found.contract.reference}`,
      navSection: 'bookings',
      backLink: '/staff/bookings/contracts',
      ...found,
      statusText: changeStatusText[found.change.status],
      errors: extra.errors ?? [],
      values: extra.values ?? {},
    });
  }

  app.get('/staff/bookings/contracts/changes/:id', manage, (request, reply) => changePage(request, reply));

  app.post('/staff/bookings/contracts/changes/:id', manage, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const values = { decision: str(body.decision), reason: str(body.reason) };
    const found = await business.changeForStaff(db, (request.params as { id: string }).id);
    if (!found) throw new HttpError(404, 'Page not found');
    try {
      await business.decideChange(
        found.change.id,
        { decision: values.decision || undefined, reason: values.reason || undefined },
        actorOf(request) as { type: 'staff'; id: string },
      );
    } catch (error) {
      if (error instanceof ZodError) return changePage(request, reply, { errors: zodErrors(error), values });
      if (!(error instanceof BookingError)) throw error;
      return changePage(request, reply, { errors: [{ field: 'decision', text: error.message }], values });
    }
    request.session.set(
      'flash',
      `Change to ${found.contract.reference} marked ${values.decision === 'done' ? 'done' : 'declined'}; we have emailed the business`,
    );
    return reply.redirect('/staff/bookings/contracts', 303);
  });

  app.post(
    '/staff/bookings/contracts/invoices',
    { config: { permission: 'bookings:manage' as const } },
    async (request, reply) => {
      const period = str((request.body as Body)?.period);
      try {
        const n = await business.invoiceMonth(period, actorOf(request));
        request.session.set('flash', `${n} invoices raised for ${period}`);
      } catch (error) {
        if (!(error instanceof BookingError)) throw error;
        request.session.set('flash', error.message);
      }
      return reply.redirect('/staff/bookings/contracts', 303);
    },
  );
}
