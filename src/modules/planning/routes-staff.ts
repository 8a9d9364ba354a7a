import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { UploadError } from '../../platform/files/index.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { wardByCode } from '../requests/index.ts';
import { dateFrom, formFields, many, one, uploadedFile } from './form.ts';
import { applicationTypeNames, docTypeLabels, publicStatus, statutoryConsultees } from './labels.ts';
import type { ApplicationStatus } from './schema.ts';
import { PlanningError, responsesOf, type PlanningService } from './service.ts';

const standardConditions = [
  'The development must be begun within three years of the date of this permission.',
  'The development must be carried out in accordance with the approved plans.',
].join('\n');

/** The back office: the planning queue, one application's case file, and performance figures. */
export function registerPlanningStaffRoutes(
  app: FastifyInstance,
  platform: Platform,
  service: PlanningService,
) {
  const read = { permission: 'planning:read' as const };
  const work = { permission: 'planning:work' as const };
  const decide = { permission: 'planning:decide' as const };

  app.get('/staff/planning', { config: read }, async (request, reply) => {
    const asked = String((request.query as Record<string, unknown>).status ?? 'live');
    const status = (
      ['live', 'submitted', 'invalid', 'valid', 'decided', 'awaiting_payment'].includes(asked)
        ? asked
        : 'live'
    ) as ApplicationStatus | 'live';
    const today = londonDay();
    const rows = await service.listForOfficers(status);
    return reply.render('planning/views/staff-list.njk', {
      title: 'Planning applications',
      navSection: 'planning',
      status,
      filters: [
        { value: 'live', text: 'Undecided' },
        { value: 'submitted', text: 'Waiting to be checked' },
        { value: 'invalid', text: 'Returned as invalid' },
        { value: 'valid', text: 'Valid, under consideration' },
        { value: 'decided', text: 'Decided' },
      ].map((f) => ({ ...f, current: f.value === status })),
      applications: rows.map((r) => {
        const due = r.extension_due ?? r.determination_due;
        return {
          ...r,
          statusText: publicStatus(r, today),
          typeName: r.application_type ? applicationTypeNames[r.application_type] : '',
          due,
          overdue: r.status === 'valid' && due !== null && due < today,
        };
      }),
    });
  });

  app.get('/staff/planning/performance', { config: read }, async (_request, reply) =>
    reply.render('planning/views/staff-performance.njk', {
      title: 'Planning performance',
      navSection: 'planning',
      backLink: '/staff/planning',
      groups: await service.performance(365),
      quarter: await service.performance(91),
    }),
  );

  async function casePage(reply: FastifyReply, reference: string, extra: Record<string, unknown> = {}) {
    let view;
    try {
      view = await service.officerView(reference);
    } catch (error) {
      if (error instanceof PlanningError && error.code === 'not_found')
        return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
      throw error;
    }
    const { row } = view;
    const today = londonDay();
    // After a refused form, the neighbours the officer had ticked stay ticked.
    const sent = (extra.values ?? {}) as Record<string, string | string[]>;
    const chosen = one(sent, 'neighboursChosen') ? new Set(many(sent, 'neighbours')) : null;
    return reply.render('planning/views/staff-application.njk', {
      title: `${row.reference}: ${row.address_text}`,
      navSection: 'planning',
      backLink: '/staff/planning',
      application: row,
      statusText: publicStatus(row, today),
      typeName: row.application_type ? applicationTypeNames[row.application_type] : '',
      wardName: wardByCode(row.ward_code ?? '')?.name ?? '',
      responses: responsesOf(row),
      documents: view.documents.map((d) => ({ ...d, typeName: docTypeLabels[d.doc_type] ?? d.doc_type })),
      consultations: view.consultations,
      neighbours:
        row.status === 'valid' && !row.consultation_start
          ? service.neighbourChoices(row).map((n) => ({
              ...n,
              checked: chosen ? chosen.has(n.uprn) : n.near,
            }))
          : [],
      nearCount: row.status === 'valid' && !row.consultation_start ? service.neighbours(row).length : 0,
      consultees: statutoryConsultees,
      comments: view.comments,
      history: view.history,
      consultationOpen: Boolean(row.consultation_end && today <= row.consultation_end),
      due: row.extension_due ?? row.determination_due,
      values: { conditions: standardConditions, ...(extra.values as object) },
      errors: [],
      ...extra,
    });
  }

  const reference = (request: FastifyRequest) => (request.params as { reference: string }).reference;
  const back = (reply: FastifyReply, ref: string, anchor = '') =>
    reply.redirect(`/staff/planning/applications/${ref}${anchor}`, 303);
  async function attempt(
    request: FastifyRequest,
    reply: FastifyReply,
    action: () => Promise<unknown>,
    flash: string | (() => string),
    field: string,
    anchor = '',
  ) {
    try {
      await action();
    } catch (error) {
      if (error instanceof PlanningError) {
        if (error.code === 'not_found')
          return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
        return casePage(reply.code(400), reference(request), {
          errors: [{ field: error.field === 'reference' ? field : error.field, text: error.message }],
          values: formFields(request.body),
        });
      }
      throw error;
    }
    request.session.set('flash', typeof flash === 'function' ? flash() : flash);
    return back(reply, reference(request), anchor);
  }

  app.get('/staff/planning/applications/:reference', { config: read }, async (request, reply) =>
    casePage(reply, reference(request)),
  );

  app.get('/staff/planning/applications/:reference/odp.json', { config: read }, async (request, reply) => {
    const row = await service.findByReference(platform.db, reference(request));
    if (!row?.odp) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply
      .type('application/json')
      .header('Content-Disposition', `attachment; filename="${row.reference}-odp.json"`)
      .send(JSON.stringify(row.odp, null, 2));
  });

  app.get('/staff/planning/documents/:id', { config: read }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const file = /^[0-9a-f-]{36}$/i.test(id) ? await service.anyDocument(id) : null;
    if (!file) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply.type(file.mediaType).header('X-Content-Type-Options', 'nosniff').send(file.content);
  });

  app.post('/staff/planning/applications/:reference/validation', { config: work }, async (request, reply) => {
    const f = formFields(request.body);
    const outcome = one(f, 'outcome');
    if (outcome !== 'valid' && outcome !== 'invalid')
      return casePage(reply.code(400), reference(request), {
        errors: [{ field: 'outcome', text: 'Choose valid or not valid' }],
        values: f,
      });
    return attempt(
      request,
      reply,
      () => service.validate(reference(request), outcome, one(f, 'reasons'), actorOf(request)),
      outcome === 'valid'
        ? 'Marked valid. The applicant has been told.'
        : 'Returned to the applicant with your reasons.',
      outcome === 'invalid' ? 'reasons' : 'outcome',
    );
  });

  app.post(
    '/staff/planning/applications/:reference/consultation',
    { config: work },
    async (request, reply) => {
      const f = formFields(request.body);
      let result = { neighbours: 0, consultees: 0, end: '' };
      return attempt(
        request,
        reply,
        async () => {
          // The form lists the addresses to write to; without that list, those within 40 m.
          result = await service.startConsultation(
            reference(request),
            many(f, 'consultees'),
            actorOf(request),
            one(f, 'neighboursChosen') ? many(f, 'neighbours') : undefined,
          );
        },
        () =>
          `Consultation started: ${result.neighbours} neighbour letters to print, ${result.consultees} consultees emailed. Comments until ${result.end}.`,
        'consultees',
      );
    },
  );

  app.get(
    '/staff/planning/applications/:reference/neighbour-letters.pdf',
    { config: work },
    async (request, reply) => {
      let file;
      try {
        file = await service.neighbourLetters(reference(request), actorOf(request));
      } catch (error) {
        if (!(error instanceof PlanningError)) throw error;
      }
      if (!file) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
      return reply
        .type('application/pdf')
        .header('Content-Disposition', `attachment; filename="${file.originalName}"`)
        .header('Cache-Control', 'no-store')
        .send(file.content);
    },
  );

  app.post('/staff/planning/applications/:reference/withdrawal', { config: work }, async (request, reply) => {
    const f = formFields(request.body);
    const note = one(f, 'withdrawalNote');
    if (!note)
      return casePage(reply.code(400), reference(request), {
        errors: [{ field: 'withdrawalNote', text: 'Say how the applicant asked to withdraw it' }],
        values: f,
      });
    if (note.length > 2000)
      return casePage(reply.code(400), reference(request), {
        errors: [{ field: 'withdrawalNote', text: 'The note must be 2,000 characters or fewer' }],
        values: f,
      });
    return attempt(
      request,
      reply,
      () => service.withdraw(reference(request), note, actorOf(request)),
      'Withdrawn. The applicant and anyone who commented will be told.',
      'withdrawalNote',
    );
  });

  app.post(
    '/staff/planning/applications/:reference/site-notice',
    { config: work },
    async (request, reply) => {
      const f = formFields(request.body);
      const day = dateFrom(f, 'siteNotice');
      if (!day)
        return casePage(reply.code(400), reference(request), {
          errors: [{ field: 'siteNotice-day', text: 'Enter the date the notice was put up' }],
          values: f,
        });
      return attempt(
        request,
        reply,
        () => service.recordSiteNotice(reference(request), day, actorOf(request)),
        'Site notice recorded.',
        'siteNotice-day',
      );
    },
  );

  app.post(
    '/staff/planning/applications/:reference/comments/:id',
    { config: work },
    async (request, reply) => {
      const f = formFields(request.body);
      const { id } = request.params as { id: string };
      const outcome = one(f, 'outcome') === 'published' ? 'published' : 'withheld';
      if (!/^[0-9a-f-]{36}$/i.test(id))
        return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
      return attempt(
        request,
        reply,
        () => service.moderate(reference(request), id, outcome, one(f, 'note'), actorOf(request)),
        outcome === 'published' ? 'Comment published.' : 'Comment withheld from the public.',
        'comments',
        '#comments',
      );
    },
  );

  app.post('/staff/planning/applications/:reference/report', { config: work }, async (request, reply) => {
    const f = formFields(request.body);
    const report = one(f, 'report');
    const recommendation = one(f, 'recommendation');
    const errors = [];
    if (!report) errors.push({ field: 'report', text: 'Write the officer report' });
    else if (report.length > 50_000)
      errors.push({ field: 'report', text: 'The report must be 50,000 characters or fewer' });
    if (recommendation !== 'granted' && recommendation !== 'refused')
      errors.push({ field: 'recommendation', text: 'Choose a recommendation' });
    if (errors.length) return casePage(reply.code(400), reference(request), { errors, values: f });
    return attempt(
      request,
      reply,
      () =>
        service.saveReport(
          reference(request),
          report,
          recommendation as 'granted' | 'refused',
          actorOf(request),
        ),
      'Report saved.',
      'report',
    );
  });

  app.post('/staff/planning/applications/:reference/extension', { config: work }, async (request, reply) => {
    const f = formFields(request.body);
    const day = dateFrom(f, 'extension');
    if (!day)
      return casePage(reply.code(400), reference(request), {
        errors: [{ field: 'extension-day', text: 'Enter the date agreed with the applicant' }],
        values: f,
      });
    return attempt(
      request,
      reply,
      () => service.agreeExtension(reference(request), day, one(f, 'extensionNote'), actorOf(request)),
      'Extension of time recorded.',
      'extension-day',
    );
  });

  app.post('/staff/planning/applications/:reference/decision', { config: decide }, async (request, reply) => {
    const f = formFields(request.body);
    const decision = one(f, 'decision');
    if (decision !== 'granted' && decision !== 'refused')
      return casePage(reply.code(400), reference(request), {
        errors: [{ field: 'decision', text: 'Choose grant or refuse' }],
        values: f,
      });
    const terms = (decision === 'granted' ? one(f, 'conditions') : one(f, 'reasons')).split(/\r?\n/);
    return attempt(
      request,
      reply,
      () => service.decide(reference(request), decision, terms, actorOf(request)),
      'Decided. The decision notice has been sent to the applicant and published.',
      decision === 'granted' ? 'conditions' : 'reasons',
    );
  });

  app.post(
    '/staff/planning/applications/:reference/documents/:id',
    { config: work },
    async (request, reply) => {
      const f = formFields(request.body);
      const { id } = request.params as { id: string };
      if (!/^[0-9a-f-]{36}$/i.test(id))
        return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
      const redacted = await uploadedFile(request.body, 'redacted');
      const action = one(f, 'action');
      try {
        await service.setDocumentPublication(
          reference(request),
          id,
          redacted ? { redacted } : { published: action === 'publish' },
          actorOf(request),
        );
      } catch (error) {
        if (error instanceof UploadError)
          return casePage(reply.code(400), reference(request), {
            errors: [{ field: `redacted-${id}`, text: error.message }],
          });
        if (error instanceof PlanningError)
          return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
        throw error;
      }
      request.session.set(
        'flash',
        redacted
          ? 'Redacted copy published in place of the original.'
          : action === 'publish'
            ? 'Document published.'
            : 'Document withheld from the public.',
      );
      return back(reply, reference(request), '#documents');
    },
  );
}
