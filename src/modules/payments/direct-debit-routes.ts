import { londonDay } from '../../platform/time.ts';
import { nextWorkingDay } from '../../platform/working-days.ts';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { checkBankDetails, formatSortCode, maskAccount, type BankDetails } from './bank-details.ts';
import { DirectDebitError, type DirectDebitService } from './direct-debit.ts';

const JOURNEY = 'payments.directDebit';

interface Journey {
  bank?: BankDetails;
  key: string;
  /** What the mandate is for, when the journey started from, say, a council tax account. */
  purpose?: { name: string; reference: string; dayOfMonth: number; backLink: string };
}

/** Starts the Direct Debit journey for something (a council tax account): the mandate is then put to that use. */
export function startDirectDebitFor(request: FastifyRequest, purpose: NonNullable<Journey['purpose']>) {
  request.session.set(JOURNEY, { key: randomUUID(), purpose } satisfies Journey);
}

const field = (body: unknown, name: string) => {
  const value = (body as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' ? value : '';
};

/** The resident's Direct Debit set-up journey, and the back-office Bacs submissions. */
export function registerDirectDebitRoutes(app: FastifyInstance, platform: Platform, dd: DirectDebitService) {
  const { db } = platform;

  function residentOrSignIn(request: FastifyRequest, reply: FastifyReply) {
    if (request.resident) return request.resident;
    void reply.redirect(`/sign-in?returnTo=${encodeURIComponent('/direct-debit/set-up')}`, 303);
    return null;
  }

  function journey(request: FastifyRequest): Journey {
    const existing = request.session.data[JOURNEY] as Journey | undefined;
    return existing ?? { key: randomUUID() };
  }

  function showBankDetails(reply: FastifyReply, values: Record<string, string>, errors: unknown[] = []) {
    return reply.code(errors.length ? 400 : 200).render('payments/views/dd-bank-details.njk', {
      title: `${errors.length ? 'Error: ' : ''}Set up a Direct Debit`,
      navSection: 'account',
      values,
      errors,
    });
  }

  app.get('/direct-debit/set-up', async (request, reply) => {
    if (!residentOrSignIn(request, reply)) return reply;
    const bank = journey(request).bank;
    return showBankDetails(reply, bank ? { ...bank, onlySignatory: 'yes' } : {});
  });

  app.post(
    '/direct-debit/set-up',
    { config: { rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      if (!residentOrSignIn(request, reply)) return reply;
      const form = {
        accountHolder: field(request.body, 'accountHolder'),
        sortCode: field(request.body, 'sortCode'),
        accountNumber: field(request.body, 'accountNumber'),
        onlySignatory: field(request.body, 'onlySignatory'),
      };
      const { errors, details } = checkBankDetails(form);
      if (errors.length) return showBankDetails(reply, form, errors);
      request.session.set(JOURNEY, { ...journey(request), bank: details });
      return reply.redirect('/direct-debit/check', 303);
    },
  );

  app.get('/direct-debit/check', async (request, reply) => {
    if (!residentOrSignIn(request, reply)) return reply;
    const bank = journey(request).bank;
    if (!bank) return reply.redirect('/direct-debit/set-up', 303);
    return reply.render('payments/views/dd-check.njk', {
      title: 'Check your Direct Debit details',
      navSection: 'account',
      bank: { ...bank, sortCode: formatSortCode(bank.sortCode) },
      councilName: platform.config.COUNCIL_NAME,
    });
  });

  app.post('/direct-debit/check', async (request, reply) => {
    const resident = residentOrSignIn(request, reply);
    if (!resident) return reply;
    const state = journey(request);
    if (!state.bank) return reply.redirect('/direct-debit/set-up', 303);
    // The details were checked when entered; check again, since a session is not a trusted store.
    const { errors } = checkBankDetails({ ...state.bank, onlySignatory: 'yes' });
    if (errors.length) return reply.redirect('/direct-debit/set-up', 303);
    const { mandate, message } = await db.transaction().execute(async (tx) => {
      const made = await dd.setUpMandate(tx, {
        residentId: resident.id,
        bank: state.bank!,
        idempotencyKey: `resident:${resident.id}:${state.key}`,
        actor: actorOf(request),
      });
      const use = state.purpose && dd.purposes.get(state.purpose.name);
      const told = use
        ? await use(tx, {
            mandate: made,
            residentId: resident.id,
            reference: state.purpose!.reference,
            dayOfMonth: state.purpose!.dayOfMonth,
            actor: actorOf(request),
          })
        : undefined;
      return { mandate: made, message: told };
    });
    request.session.set(JOURNEY, undefined);
    if (message) request.session.set('flash', message);
    return reply.redirect(`/direct-debit/${mandate.reference}/confirmation`, 303);
  });

  app.get('/direct-debit/:reference/confirmation', async (request, reply) => {
    const resident = residentOrSignIn(request, reply);
    if (!resident) return reply;
    const { reference } = request.params as { reference: string };
    const mandate = /^DD-[A-Z0-9]{4}-[A-Z0-9]{2}$/.test(reference)
      ? await dd.findMandate(db, reference)
      : undefined;
    if (!mandate || mandate.resident_id !== resident.id) throw new HttpError(404, 'Page not found');
    return reply.render('payments/views/dd-confirmation.njk', {
      title: 'Direct Debit set up',
      navSection: 'account',
      mandate,
      account: maskAccount(mandate.account_number),
      sortCode: formatSortCode(mandate.sort_code),
    });
  });

  // The staff Direct Debit page: mandates (accounts masked) and Bacs files, with any errors.
  async function renderStaffPage(
    reply: FastifyReply,
    form: { today?: string; errors?: Array<{ field: string; text: string }> } = {},
  ) {
    const [mandates, files] = await Promise.all([dd.listMandates(db), dd.listFiles(db)]);
    return reply.render('payments/views/staff-direct-debit.njk', {
      title: 'Direct Debit',
      navSection: 'payments',
      mandates: mandates.map((m) => ({
        ...m,
        account: maskAccount(m.account_number),
        sortCode: formatSortCode(m.sort_code),
      })),
      files,
      // Bacs processes on working days: offer the next one.
      today: form.today ?? nextWorkingDay(londonDay()),
      errors: form.errors,
    });
  }

  app.get(
    '/staff/payments/direct-debit',
    { config: { permission: 'payments:reconcile' } },
    async (_request, reply) => renderStaffPage(reply),
  );

  app.post(
    '/staff/payments/direct-debit/submissions',
    { config: { permission: 'payments:reconcile' } },
    async (request, reply) => {
      const day = field(request.body, 'processingDate').trim();
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(day))) {
        return renderStaffPage(reply.code(400), {
          today: day,
          errors: [{ field: 'processingDate', text: 'Enter the processing date like 2026-12-01' }],
        });
      }
      let file;
      try {
        file = await dd.createSubmission({ processingDate: day, actor: actorOf(request) });
      } catch (error) {
        if (!(error instanceof DirectDebitError)) throw error;
        return renderStaffPage(reply.code(400), {
          today: day,
          errors: [{ field: 'processingDate', text: error.message }],
        });
      }
      request.session.set(
        'flash',
        `Bacs file made: ${file.instructions} new instructions, ${file.collections} collections`,
      );
      return reply.redirect('/staff/payments/direct-debit', 303);
    },
  );

  // ARUDD and ADDACS reports from Bacs: all of a report is applied, or none of it.
  app.post(
    '/staff/payments/direct-debit/reports',
    { config: { permission: 'payments:reconcile' } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const kind = (body.kind as { value?: string } | undefined)?.value;
      const file = body.file as { type?: string; filename?: string; toBuffer(): Promise<Buffer> } | undefined;
      const errors: Array<{ field: string; text: string }> = [];
      if (kind !== 'arudd' && kind !== 'addacs')
        errors.push({ field: 'kind', text: 'Select which Bacs report this is' });
      if (!file || file.type !== 'file' || !file.filename)
        errors.push({ field: 'file', text: 'Choose the Bacs report file' });
      if (!errors.length) {
        const xml = (await file!.toBuffer()).toString('utf8');
        const result =
          kind === 'arudd'
            ? await dd.importArudd(xml, actorOf(request))
            : await dd.importAddacs(xml, actorOf(request));
        if (!result.ok) for (const text of result.errors.slice(0, 50)) errors.push({ field: 'file', text });
      }
      if (errors.length) {
        return renderStaffPage(reply.code(400), { errors });
      }
      request.session.set(
        'flash',
        kind === 'arudd' ? 'ARUDD report applied: returned collections reversed' : 'ADDACS report applied',
      );
      return reply.redirect('/staff/payments/direct-debit', 303);
    },
  );

  app.get(
    '/staff/payments/direct-debit/files/:id',
    { config: { permission: 'payments:reconcile' } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const file = /^[0-9a-f-]{36}$/.test(id) ? await dd.findFile(db, id) : undefined;
      if (!file) throw new HttpError(404, 'Page not found');
      return reply
        .type('text/plain; charset=us-ascii')
        .header('content-disposition', `attachment; filename="${file.file_name}"`)
        .send(file.content);
    },
  );
}
