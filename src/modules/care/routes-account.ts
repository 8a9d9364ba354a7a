import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { UploadError } from '../../platform/files/index.ts';
import type { Platform } from '../../platform/module.ts';
import { formatNhsNumber } from './nhs-number.ts';
import type { CareRecord } from './record.ts';
import type { Referrals } from './referrals.ts';
import { dateFrom, notFound } from './routes-public.ts';

type Fields = Record<string, unknown>;
const field = (body: Fields, key: string) => {
  const v = body?.[key];
  if (v && typeof v === 'object' && 'value' in (v as object))
    return String((v as { value: unknown }).value ?? '').trim();
  return typeof v === 'string' ? v.trim() : '';
};

async function requireResident(request: FastifyRequest, reply: FastifyReply) {
  if (request.resident) return;
  const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/sign-in${returnTo}`, 303);
}

const viaLabels: Record<string, string> = {
  care_team: 'as a member of your care team',
  break_glass:
    'without being in your care team (they gave a reason, and our privacy officer checks each one)',
};

/** My account: referrals, the personal budget with receipts, and who looked at the care record. */
export function registerAccountRoutes(
  app: FastifyInstance,
  _platform: Platform,
  deps: { referrals: Referrals; record: CareRecord },
) {
  const { referrals, record } = deps;
  const signedIn = { preHandler: requireResident };

  app.get('/account/care', signedIn, async (request, reply) => {
    const residentId = request.resident!.id;
    const [referralRows, people, budgets] = await Promise.all([
      referrals.referralsForResident(residentId),
      record.peopleForResident(residentId),
      record.budgetsForResident(residentId),
    ]);
    return reply.render('care/views/account-care.njk', {
      title: 'Your social care',
      navSection: 'account',
      backLink: '/account',
      referrals: referralRows,
      people: people.map((p) => ({ ...p, nhs: formatNhsNumber(p.nhs_number) })),
      budgets: budgets.map((b) => ({ ...b, balance: b.amount_pence - Number(b.spent_pence ?? 0) })),
    });
  });

  app.get('/account/care/record-access', signedIn, async (request, reply) => {
    const people = await record.peopleForResident(request.resident!.id);
    const logs = [];
    for (const p of people) {
      const rows = await record.accessLog(p.id);
      logs.push({
        person: p,
        rows: rows.map((r) => ({
          at: r.at,
          who: r.staff_name ?? r.practitioner_name ?? 'Someone unknown',
          organisation: r.organisation_name ?? '',
          what:
            r.action === 'care.record_access_refused'
              ? 'Tried to look, and was refused'
              : r.action === 'care.break_glass'
                ? `Asked to look without being in your care team: “${r.detail?.reason ?? ''}”`
                : `Looked at your record ${viaLabels[r.detail?.via ?? ''] ?? ''}${r.actor_type === 'api' ? ' through a connected system' : ''}`,
        })),
      });
    }
    return reply.render('care/views/account-record-access.njk', {
      title: 'Who has looked at your care record',
      navSection: 'account',
      backLink: '/account/care',
      logs,
    });
  });

  const sharingPage = (
    reply: FastifyReply,
    person: { id: string; sharing_objection: boolean },
    errors: Array<{ field: string; text: string }> = [],
  ) =>
    reply.code(errors.length ? 400 : 200).render('care/views/account-sharing.njk', {
      title: 'Who can see your care record',
      navSection: 'account',
      backLink: '/account/care',
      person,
      errors,
    });
  app.get('/account/care/sharing/:id', signedIn, async (request, reply) => {
    const person = (await record.peopleForResident(request.resident!.id)).find(
      (p) => p.id === (request.params as { id: string }).id,
    );
    if (!person) return notFound(reply);
    return sharingPage(reply, person);
  });
  app.post('/account/care/sharing/:id', signedIn, async (request, reply) => {
    const person = (await record.peopleForResident(request.resident!.id)).find(
      (p) => p.id === (request.params as { id: string }).id,
    );
    if (!person) return notFound(reply);
    const choice = field(request.body as Fields, 'objection');
    if (choice !== 'yes' && choice !== 'no')
      return sharingPage(reply, person, [
        { field: 'objection', text: 'Select who can see your care record' },
      ]);
    await record.setObjection(actorOf(request), person.id, choice === 'yes');
    request.session.set(
      'flash',
      choice === 'yes'
        ? 'Your record will not be shared outside the council'
        : 'Your care team can see your record',
    );
    return reply.redirect('/account/care', 303);
  });

  const budgetPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    values: Fields = {},
    errors: Array<{ field: string; text: string }> = [],
  ) => {
    const budget = await record.budgetForResident(
      request.resident!.id,
      (request.params as { id: string }).id,
    );
    if (!budget) return notFound(reply);
    return reply.code(errors.length ? 400 : 200).render('care/views/account-budget.njk', {
      title: 'Your personal budget',
      navSection: 'account',
      backLink: '/account/care',
      budget,
      values,
      errors,
    });
  };
  app.get('/account/care/budgets/:id', signedIn, (request, reply) => budgetPage(request, reply));
  app.post('/account/care/budgets/:id', signedIn, async (request, reply) => {
    const budget = await record.budgetForResident(
      request.resident!.id,
      (request.params as { id: string }).id,
    );
    if (!budget) return notFound(reply);
    const body = request.body as Fields;
    const plain = Object.fromEntries(Object.keys(body ?? {}).map((k) => [k, field(body, k)]));
    const errors: Array<{ field: string; text: string }> = [];
    const description = field(body, 'description');
    if (!description) errors.push({ field: 'description', text: 'Enter what you paid for' });
    else if (description.length > 200)
      errors.push({ field: 'description', text: 'What you paid for must be 200 characters or fewer' });
    const amountText = field(body, 'amount').replace(/[£,\s]/g, '');
    const m = amountText.match(/^(\d{1,6})(?:\.(\d{1,2}))?$/);
    const amount = m ? Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0')) : null;
    if (!amount) errors.push({ field: 'amount', text: 'Enter the amount in pounds and pence, like 45.50' });
    else if (amount > budget.balance)
      errors.push({ field: 'amount', text: 'The amount is more than what is left in your budget' });
    const spent = dateFrom(plain, 'spentOn', 'the date you paid', true);
    if (spent.error) errors.push({ field: 'spentOn-day', text: spent.error });
    const file = body?.receipt as { filename?: string; toBuffer?: () => Promise<Buffer> } | undefined;
    const content = file?.toBuffer ? await file.toBuffer() : null;
    if (errors.length) return budgetPage(request, reply, plain, errors);
    try {
      await record.addSpend(actorOf(request), budget.id, {
        spentOn: spent.value!,
        description,
        amountPence: amount!,
        receipt: content && content.length ? { name: file!.filename ?? 'receipt', content } : null,
      });
    } catch (error) {
      if (error instanceof UploadError)
        return budgetPage(request, reply, plain, [{ field: 'receipt', text: error.message }]);
      throw error;
    }
    request.session.set('flash', 'Payment recorded');
    return reply.redirect(`/account/care/budgets/${budget.id}`, 303);
  });

  app.get('/account/care/receipts/:id', signedIn, async (request, reply) => {
    const file = await record.receiptForResident(request.resident!.id, (request.params as { id: string }).id);
    if (!file) return notFound(reply);
    return reply
      .type(file.mediaType)
      .header('Content-Disposition', `inline; filename="${file.originalName.replace(/"/g, '')}"`)
      .header('Cache-Control', 'no-store')
      .send(file.content);
  });
}
