import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { actingForm, formErrors, residentForm, type FormErrors } from './forms.ts';
import { CaseRuleError } from './handling.ts';
import { assistedChannelLabels, assistedChannels } from './labels.ts';
import type { CasesService } from './service.ts';

/**
 * Assisted digital: an agent finds or records a resident, says how they got in touch, and then
 * uses the resident's own pages for them. Everything submitted meanwhile is done on their behalf.
 */
export function registerAssistedRoutes(app: FastifyInstance, platform: Platform, cases: CasesService) {
  const { db } = platform;

  // Every page shows who the agent is acting for, so nobody forgets to stop.
  app.addHook('preHandler', async (request, reply) => {
    const acting = request.session?.data.actingFor;
    if (!request.staff || !acting) return;
    const resident = await cases.findResident(db, acting.residentId);
    if (!resident) return;
    reply.locals.actingFor = {
      name: resident.name,
      reference: resident.reference,
      channelLabel: cases.channelLabel(acting.channel),
    };
  });

  app.get('/staff/assisted', { config: { permission: 'assisted:act' } }, async (request, reply) => {
    const q = String((request.query as Record<string, unknown>).q ?? '')
      .trim()
      .slice(0, 200);
    const tooShort = q.length > 0 && q.length < 2;
    return reply.code(tooShort ? 400 : 200).render('cases/views/assisted.njk', {
      title: 'Help a resident',
      navSection: 'assisted',
      q,
      searched: Boolean(q) && !tooShort,
      results: q && !tooShort ? await cases.searchResidents(db, q) : [],
      errors: tooShort ? [{ field: 'q', text: 'Enter at least 2 characters to search' }] : undefined,
    });
  });

  const renderNew = (reply: FastifyReply, values: Record<string, unknown> = {}, errors?: FormErrors) =>
    reply.code(errors ? 400 : 200).render('cases/views/assisted-new.njk', {
      title: 'Record a new resident',
      navSection: 'assisted',
      backLink: '/staff/assisted',
      values,
      errors,
    });

  app.get('/staff/assisted/new', { config: { permission: 'assisted:act' } }, async (_request, reply) =>
    renderNew(reply),
  );

  app.post('/staff/assisted/new', { config: { permission: 'assisted:act' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = residentForm.safeParse(body);
    if (!parsed.success) return renderNew(reply, body, formErrors(parsed.error));
    try {
      const resident = await db
        .transaction()
        .execute((tx) => cases.createResident(tx, { ...parsed.data, actor: actorOf(request) }));
      return reply.redirect(`/staff/assisted/${resident.reference}`, 303);
    } catch (error) {
      if (error instanceof CaseRuleError)
        return renderNew(reply, body, [{ field: error.field, text: error.message }]);
      throw error;
    }
  });

  // Only finishing is allowed without assisted:act's other pages: any staff member acting may stop.
  app.post('/staff/assisted/finish', { config: { permission: 'assisted:act' } }, async (request, reply) => {
    const acting = request.session.data.actingFor;
    if (!acting) return reply.redirect('/staff/assisted', 303);
    const resident = await cases.findResident(db, acting.residentId);
    await db.transaction().execute((tx) =>
      cases.recordActing(tx, {
        actor: { type: 'staff', id: request.staff!.id },
        residentId: acting.residentId,
        channel: acting.channel,
        started: false,
      }),
    );
    request.session.set('actingFor', undefined);
    request.session.set(
      'flash',
      resident ? `You have stopped acting for ${resident.name}` : 'You have stopped acting for the resident',
    );
    return reply.redirect(resident ? `/staff/customers/${resident.reference}` : '/staff/assisted', 303);
  });

  async function residentOr404(reference: string) {
    const resident = /^[A-Z0-9-]{3,30}$/.test(reference)
      ? await cases.findResidentByReference(db, reference)
      : undefined;
    if (!resident)
      throw new HttpError(404, 'Resident not found', `There is no resident with the reference ${reference}.`);
    return resident;
  }

  const renderChannel = async (
    request: FastifyRequest<{ Params: { reference: string } }>,
    reply: FastifyReply,
    errors?: FormErrors,
    channel?: unknown,
  ) => {
    const resident = await residentOr404(request.params.reference);
    return reply.code(errors ? 400 : 200).render('cases/views/assisted-channel.njk', {
      title: `How did ${resident.name} contact the council?`,
      navSection: 'assisted',
      backLink: '/staff/assisted',
      resident,
      channelItems: assistedChannels.map((c) => ({
        value: c,
        text: assistedChannelLabels[c][0]!.toUpperCase() + assistedChannelLabels[c].slice(1),
        checked: c === channel,
      })),
      errors,
    });
  };

  app.get<{ Params: { reference: string } }>(
    '/staff/assisted/:reference',
    { config: { permission: 'assisted:act' } },
    (request, reply) => renderChannel(request, reply),
  );

  app.post<{ Params: { reference: string } }>(
    '/staff/assisted/:reference',
    { config: { permission: 'assisted:act' } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const parsed = actingForm.safeParse(body);
      if (!parsed.success) return renderChannel(request, reply, formErrors(parsed.error), body.channel);
      const resident = await residentOr404(request.params.reference);
      const previous = request.session.data.actingFor;
      const actor = { type: 'staff' as const, id: request.staff!.id };
      await db.transaction().execute(async (tx) => {
        // Starting for someone new ends acting for the last one, so the audit trail has no open ends.
        if (previous)
          await cases.recordActing(tx, {
            actor,
            residentId: previous.residentId,
            channel: previous.channel,
            started: false,
          });
        await cases.recordActing(tx, {
          actor,
          residentId: resident.id,
          channel: parsed.data.channel,
          started: true,
        });
      });
      request.session.set('actingFor', { residentId: resident.id, channel: parsed.data.channel });
      return reply.redirect('/services', 303);
    },
  );
}
