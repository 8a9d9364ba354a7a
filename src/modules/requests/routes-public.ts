import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Platform } from '../../platform/module.ts';
import { answerText, categories, categoryByCode } from './categories.ts';
import { text } from './form.ts';
import { wardByCode, wards } from './geography.ts';
import { ReportError, type RequestsService } from './service.ts';
import { mapSettings } from './settings.ts';

const PAGE_SIZE = 50;
const filterSchema = z.object({
  category: z
    .enum(categories.map((c) => c.code) as [string, ...string[]])
    .optional()
    .catch(undefined),
  status: z.enum(['open', 'closed']).optional().catch(undefined),
  ward: z
    .enum(wards.map((w) => w.code) as [string, ...string[]])
    .optional()
    .catch(undefined),
  page: z.coerce.number().int().min(1).max(10_000).optional().catch(undefined),
});
const emailSchema = z
  .email({ message: 'Enter an email address in the correct format, like name@example.com' })
  .max(254);

const statusWords: Record<string, string> = {
  received: 'Reported',
  in_progress: 'In progress',
  waiting_for_customer: 'In progress',
  resolved: 'Fixed',
  closed: 'Closed',
};

/** The public map and list of reports, each report's page with its history, and following a report. */
export function registerPublicReports(app: FastifyInstance, platform: Platform, service: RequestsService) {
  const { db } = platform;

  app.get('/reports', async (request, reply) => {
    const filter = filterSchema.parse(request.query ?? {});
    const page = filter.page ?? 1;
    const criteria = { category: filter.category, status: filter.status, ward: filter.ward };
    const [rows, total] = await Promise.all([
      service.search(db, criteria, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE }),
      service.count(db, criteria),
    ]);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const query = (p: number) =>
      '/reports?' +
      new URLSearchParams(
        Object.entries({ ...criteria, page: String(p) }).filter((e): e is [string, string] => Boolean(e[1])),
      ).toString();
    return reply.render('requests/views/reports.njk', {
      title: 'Problems reported in Kilnford',
      navSection: 'reports',
      filter,
      categories,
      wards,
      total,
      map: mapSettings(),
      reports: rows.map((r) => ({
        reference: r.reference,
        category: categoryByCode(r.category)?.name ?? r.category,
        street: r.street_name,
        ward: wardByCode(r.ward_code)?.name ?? '',
        status: statusWords[r.case_status] ?? r.status,
        open: r.status === 'open',
        requestedAt: r.requested_at,
        lat: r.lat,
        lng: r.lng,
      })),
      pagination:
        pages > 1
          ? {
              previous: page > 1 ? { href: query(page - 1) } : undefined,
              next: page < pages ? { href: query(page + 1) } : undefined,
              items: [{ number: page, href: query(page), current: true }],
            }
          : null,
    });
  });

  async function reportPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
  ) {
    const reference = (request.params as { reference: string }).reference;
    const report = /^KLN-[A-Z0-9-]{3,20}$/.test(reference)
      ? await service.findByReference(db, reference)
      : undefined;
    if (!report || !report.public) return reply.callNotFound();
    const category = categoryByCode(report.category);
    const [updates, photos, followers] = await Promise.all([
      service.listUpdates(db, report.case_id),
      service.listPhotos(db, report.case_id),
      service.countFollowers(db, report.case_id),
    ]);
    const errors = (extra.errors as unknown[]) ?? [];
    return reply.code(errors.length ? 400 : 200).render('requests/views/report.njk', {
      title: `${category?.name ?? report.category} on ${report.street_name}`,
      navSection: 'reports',
      backLink: '/reports',
      report,
      category,
      status: statusWords[report.case_status] ?? report.status,
      ward: wardByCode(report.ward_code)?.name,
      answers: (category?.questions ?? [])
        .filter((q) => (report.answers as Record<string, string>)[q.id])
        .map((q) => ({
          question: q.text,
          answer: answerText(category!, q.id, (report.answers as Record<string, string>)[q.id]!),
        })),
      updates,
      photos: photos.map((p) => ({
        ...p,
        url: `/reports/${report.reference}/photos/${p.kind}/${p.position}`,
      })),
      followers,
      map: mapSettings(),
      ...extra,
    });
  }

  app.get('/reports/:reference', (request, reply) => reportPage(request, reply));

  // Photos are public with their report; they were stripped of metadata when stored.
  app.get('/reports/:reference/photos/:kind/:n', async (request, reply) => {
    const { reference, kind, n } = request.params as { reference: string; kind: string; n: string };
    if (kind !== 'report' && kind !== 'fix') return reply.callNotFound();
    const report = await service.findByReference(db, reference);
    if (!report || !report.public) return reply.callNotFound();
    const photo = await service.findPhoto(db, report.case_id, kind, Number(n) || 0);
    const file = photo && (await platform.files.read(db, photo.file_id));
    if (!file) return reply.callNotFound();
    return reply.type(file.mediaType).header('Cache-Control', 'public, max-age=3600').send(file.content);
  });

  // From the link in a follower's email: a page with a button, so a mail scanner following links stops nothing.
  const stopParams = (request: FastifyRequest) => {
    const q = { ...(request.query as Record<string, string>), ...(request.body as Record<string, string>) };
    return { s: Number(text(q, 's')), t: text(q, 't') };
  };
  app.get('/reports/:reference/stop-updates', async (request, reply) => {
    const { s, t } = stopParams(request);
    return reply.render('requests/views/stop-updates.njk', {
      title: 'Stop updates on this report',
      reference: (request.params as { reference: string }).reference,
      s,
      t,
    });
  });
  app.post('/reports/:reference/stop-updates', async (request, reply) => {
    const { s, t } = stopParams(request);
    const reference = (request.params as { reference: string }).reference;
    const stopped =
      Number.isInteger(s) && s > 0 && (await service.stopUpdates({ reference, subscriberId: s, token: t }));
    return reply.render('requests/views/stop-updates.njk', {
      title: stopped ? 'You will not get more updates on this report' : 'This link does not work',
      reference,
      done: true,
      stopped,
    });
  });

  app.post(
    '/reports/:reference/follow',
    { config: { rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      const reference = (request.params as { reference: string }).reference;
      let email: string | null = null;
      if (!request.resident) {
        const given = text(request.body, 'email');
        const parsed = emailSchema.safeParse(given);
        if (!parsed.success)
          return reportPage(request, reply, {
            email: given,
            errors: [
              { field: 'email', text: given ? parsed.error.issues[0]!.message : 'Enter your email address' },
            ],
          });
        email = parsed.data;
      }
      try {
        const { added } = await service.follow({
          reference,
          residentId: request.resident?.id ?? null,
          email,
          reason: 'follow',
          actor: { type: 'resident', id: request.resident?.id ?? null },
        });
        request.session.set(
          'flash',
          added
            ? 'You will get an email when this report is updated'
            : 'You already get updates on this report',
        );
        return reply.redirect(`/reports/${reference}`, 303);
      } catch (error) {
        if (error instanceof ReportError) return reply.callNotFound();
        throw error;
      }
    },
  );
}
