import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/actor.ts';
import { can } from '../../platform/auth/permissions.ts';
import type { Platform } from '../../platform/module.ts';
import type { CasesService } from '../cases/index.ts';
import { answerText, categoryByCode } from './categories.ts';
import { text, uploads } from './form.ts';
import { distanceMetres, isCoordinate } from './geography.ts';
import { PhotoError } from './photos.ts';
import type { RequestsService } from './service.ts';
import { mapSettings } from './settings.ts';

const openStatuses = ['received', 'in_progress', 'waiting_for_customer'] as const;
type Errors = Array<{ field: string; text: string }>;

/** Field working: an officer's street jobs on a phone, nearest first; start work, resolve with a photo and a public note. */
export function registerFieldWork(
  app: FastifyInstance,
  platform: Platform,
  service: RequestsService,
  cases: CasesService,
) {
  const { db } = platform;
  const permission = { permission: 'field:work' as const };

  async function myJobs(staffId: string) {
    const queue = await cases.queue(
      db,
      {
        team: null,
        statuses: [...openStatuses],
        assignee: { kind: 'staff', id: staffId },
        sla: null,
        service: null,
        channel: null,
        sort: 'due',
      },
      { offset: 0, limit: 500 },
    );
    const reports = await service.listByCaseIds(
      db,
      queue.rows.map((c) => c.id),
    );
    const byCase = new Map(reports.map((r) => [r.case_id, r]));
    return queue.rows.flatMap((c) => {
      const report = byCase.get(c.id);
      return report ? [{ case: c, report }] : [];
    });
  }

  app.get('/staff/field', { config: permission }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const lat = Number(query.lat);
    const lng = Number(query.lng);
    const here = query.lat && query.lng && isCoordinate(lat, lng) ? { lat, lng } : null;
    const jobs = (await myJobs(request.staff!.id)).map((j) => ({
      ...j,
      category: categoryByCode(j.report.category)?.name ?? j.report.category,
      distance: here ? Math.round(distanceMetres(here, j.report)) : null,
    }));
    if (here) jobs.sort((a, b) => a.distance! - b.distance!);
    return reply.render('requests/views/field-jobs.njk', {
      title: 'Your field jobs',
      navSection: 'field',
      jobs,
      here,
      map: mapSettings(),
    });
  });

  async function loadJob(request: FastifyRequest) {
    const reference = (request.params as { reference: string }).reference;
    const report = await service.findByReference(db, reference);
    const c = report && (await cases.findForHandling(db, reference));
    if (!report || !c) return null;
    // Officers work their own jobs; leads and admins may act on any street job.
    const staff = request.staff!;
    if (c.assigned_to !== staff.id && !can(staff.role, 'cases:assign')) return null;
    return { report, c };
  }

  async function jobPage(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: Errors = [],
    values: Record<string, string> = {},
  ) {
    const job = await loadJob(request);
    if (!job) return reply.callNotFound();
    const category = categoryByCode(job.report.category);
    const photos = await service.listPhotos(db, job.report.case_id);
    return reply.code(errors.length ? 400 : 200).render('requests/views/field-job.njk', {
      title: `${category?.name ?? job.report.category} on ${job.report.street_name}`,
      navSection: 'field',
      backLink: '/staff/field',
      report: job.report,
      c: job.c,
      category,
      answers: (category?.questions ?? [])
        .filter((q) => (job.report.answers as Record<string, string>)[q.id])
        .map((q) => ({
          question: q.text,
          answer: answerText(category!, q.id, (job.report.answers as Record<string, string>)[q.id]!),
        })),
      photos: photos.map((p) => ({
        ...p,
        url: `/reports/${job.report.reference}/photos/${p.kind}/${p.position}`,
      })),
      finished: job.c.status === 'resolved' || job.c.status === 'closed',
      map: mapSettings(),
      errors,
      values,
    });
  }

  app.get('/staff/field/:reference', { config: permission }, (request, reply) => jobPage(request, reply));

  const actorOf = (request: FastifyRequest): Actor => ({ type: 'staff', id: request.staff!.id });

  app.post('/staff/field/:reference/start', { config: permission }, async (request, reply) => {
    const job = await loadJob(request);
    if (!job) return reply.callNotFound();
    if (job.c.status !== 'in_progress') {
      await db.transaction().execute(async (tx) => {
        await cases.changeStatus(tx, { caseId: job.c.id, status: 'in_progress', actor: actorOf(request) });
        await service.syncFromCase(tx, job.c.id);
      });
    }
    request.session.set('flash', 'Job marked as in progress');
    return reply.redirect(`/staff/field/${job.report.reference}`, 303);
  });

  app.post(
    '/staff/field/:reference/resolve',
    {
      config: permission,
      errorHandler: (error, request, reply) => {
        if (/FST_(REQ_FILE_TOO_LARGE|FILES_LIMIT)/.test((error as { code?: string }).code ?? ''))
          return jobPage(request, reply, [
            { field: 'photo', text: 'The selected file must be smaller than 10MB' },
          ]);
        throw error;
      },
    },
    async (request, reply) => {
      const job = await loadJob(request);
      if (!job) return reply.callNotFound();
      const note = text(request.body, 'note');
      const errors: Errors = [];
      if (!note) errors.push({ field: 'note', text: 'Enter what was done, for the public report' });
      else if (note.length > 1000)
        errors.push({ field: 'note', text: 'What was done must be 1,000 characters or fewer' });
      if (job.c.status === 'resolved' || job.c.status === 'closed')
        errors.push({ field: 'note', text: 'This job is already finished' });
      const files = await uploads(request.body, 'photo');
      if (files.length > 1) errors.push({ field: 'photo', text: 'Select one photo of the repair' });
      if (errors.length) return jobPage(request, reply, errors, { note });
      let fileIds: string[] = [];
      try {
        fileIds = await Promise.all(files.map((f) => service.storePhoto(db, f.content, f.filename)));
      } catch (error) {
        if (error instanceof PhotoError)
          return jobPage(request, reply, [{ field: 'photo', text: error.message }], { note });
        throw error;
      }
      await db.transaction().execute(async (tx) => {
        const actor = actorOf(request);
        await cases.changeStatus(tx, { caseId: job.c.id, status: 'resolved', reason: note, actor });
        // The public update is what tells the resident; the cases service sends it.
        await cases.postPublicUpdate(tx, { caseId: job.c.id, message: note, actor });
        await service.addFixPhotos(tx, job.c.id, fileIds);
        await service.syncFromCase(tx, job.c.id);
      });
      request.session.set(
        'flash',
        `${job.report.reference} resolved. The people who reported it have been told.`,
      );
      return reply.redirect('/staff/field', 303);
    },
  );
}
