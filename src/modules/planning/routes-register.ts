import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { mapSettings, wardByCode, wards } from '../requests/index.ts';
import { formFields, one } from './form.ts';
import { applicationTypeNames, docTypeLabels, publicStatus } from './labels.ts';
import { atomFeed, licence } from './records.ts';
import { applicationTypes, type ApplicationType } from './schema.ts';
import { PlanningError, addDays, type PlanningService } from './service.ts';
import type { RegisterFilter } from './store.ts';

const PAGE_SIZE = 20;

const commentSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, { error: 'Enter your name' })
    .max(100, { error: 'Your name must be 100 characters or fewer' }),
  address: z
    .string()
    .trim()
    .min(1, { error: 'Enter your address. It is not published' })
    .max(200, { error: 'Your address must be 200 characters or fewer' }),
  email: z
    .email({ error: 'Enter an email address in the correct format, like name@example.com' })
    .max(200)
    .or(z.literal('')),
  stance: z.enum(['support', 'object', 'neutral'], {
    error: 'Say whether you support, object or are neutral',
  }),
  text: z
    .string()
    .trim()
    .min(1, { error: 'Enter your comment' })
    .max(5000, { error: 'Your comment must be 5,000 characters or fewer' }),
});

/** Parses the register's search (the same for pages and the API); errors name the field. */
export function registerFilter(query: Record<string, unknown>): {
  filter: RegisterFilter;
  errors: Array<{ field: string; text: string }>;
  values: Record<string, string>;
} {
  const values: Record<string, string> = {};
  for (const key of ['q', 'ward', 'status', 'type', 'from', 'to', 'page']) {
    const v = query[key];
    values[key] = typeof v === 'string' ? v.trim().slice(0, 100) : '';
  }
  const errors: Array<{ field: string; text: string }> = [];
  const day = (field: 'from' | 'to') => {
    const v = values[field]!;
    if (!v) return undefined;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) {
      errors.push({
        field,
        text: `Enter the ${field === 'from' ? 'start' : 'end'} date as year-month-day, like 2026-11-02`,
      });
      return undefined;
    }
    return v;
  };
  const from = day('from');
  const to = day('to');
  if (from && to && to < from)
    errors.push({ field: 'to', text: 'The end date must be on or after the start date' });
  if (values.ward && !wardByCode(values.ward))
    errors.push({ field: 'ward', text: 'Choose a ward from the list' });
  if (values.type && !applicationTypes.includes(values.type as ApplicationType))
    errors.push({ field: 'type', text: 'Choose a type from the list' });
  if (values.status && !['undecided', 'granted', 'refused'].includes(values.status))
    errors.push({ field: 'status', text: 'Choose a status from the list' });
  const page = Math.max(1, Math.min(500, Number(values.page) || 1));
  return {
    filter: {
      query: values.q || undefined,
      ward: values.ward && wardByCode(values.ward) ? values.ward : undefined,
      type: applicationTypes.includes(values.type as ApplicationType)
        ? (values.type as ApplicationType)
        : undefined,
      status: ['undecided', 'granted', 'refused'].includes(values.status!)
        ? (values.status as RegisterFilter['status'])
        : undefined,
      // Days are London days: from midnight to midnight, whatever the clocks.
      from: from ? londonMidnight(from) : undefined,
      to: to ? londonMidnight(addDays(to, 1)) : undefined,
      limit: PAGE_SIZE + 1,
      offset: (page - 1) * PAGE_SIZE,
    },
    errors,
    values: { ...values, page: String(page) },
  };
}

/** The instant a London day starts. */
export function londonMidnight(day: string): Date {
  const utc = new Date(`${day}T00:00:00Z`);
  // The offset at noon that day is the offset at midnight, except on the two change-over nights.
  const hour = Number(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: 'numeric', hourCycle: 'h23' }).format(
      new Date(`${day}T12:00:00Z`),
    ),
  );
  return new Date(utc.getTime() - (hour - 12) * 3_600_000);
}

/** The public register: search, an application's page, comments, documents, the weekly list and feeds. */
export function registerRegisterRoutes(app: FastifyInstance, platform: Platform, service: PlanningService) {
  const publicUrl = platform.config.PUBLIC_URL;
  const submissions = { config: { rateLimit: platform.rateLimits.submissions } };

  app.get('/planning', async (_request, reply) =>
    reply.render('planning/views/planning-home.njk', { title: 'Planning', navSection: 'services' }),
  );

  app.get('/planning/register', async (request, reply) => {
    const { filter, errors, values } = registerFilter(request.query as Record<string, unknown>);
    const searched = Object.entries(values).some(([k, v]) => k !== 'page' && v);
    const rows = errors.length ? [] : await service.search(filter);
    const today = londonDay();
    const page = Number(values.page);
    const more = rows.length > PAGE_SIZE;
    const shown = rows.slice(0, PAGE_SIZE).map((r) => ({
      ...r,
      statusText: publicStatus(r, today),
      typeName: r.application_type ? applicationTypeNames[r.application_type] : '',
      wardName: wardByCode(r.ward_code ?? '')?.name ?? '',
    }));
    const qs = (p: number) => {
      const params = new URLSearchParams(Object.entries({ ...values, page: String(p) }).filter(([, v]) => v));
      return `/planning/register?${params.toString()}`;
    };
    return reply.code(errors.length ? 400 : 200).render('planning/views/register.njk', {
      title: 'Search planning applications',
      navSection: 'services',
      values,
      errors,
      searched,
      results: shown,
      pins: JSON.stringify(
        shown
          .filter((r) => r.lat !== null)
          .map((r) => ({ lat: r.lat, lng: r.lng, reference: r.reference, address: r.address_text })),
      ),
      map: mapSettings(),
      previous: page > 1 ? qs(page - 1) : null,
      next: more ? qs(page + 1) : null,
      page,
      wards: [
        { value: '', text: 'Any ward' },
        ...wards.map((w) => ({ value: w.code, text: w.name, selected: values.ward === w.code })),
      ],
      types: [
        { value: '', text: 'Any type' },
        ...applicationTypes.map((t) => ({
          value: t,
          text: applicationTypeNames[t],
          selected: values.type === t,
        })),
      ],
      statuses: [
        { value: '', text: 'Any status' },
        { value: 'undecided', text: 'Not decided yet', selected: values.status === 'undecided' },
        { value: 'granted', text: 'Granted', selected: values.status === 'granted' },
        { value: 'refused', text: 'Refused', selected: values.status === 'refused' },
      ],
    });
  });

  async function applicationPage(
    reply: FastifyReply,
    reference: string,
    mine: boolean,
    extra: Record<string, unknown> = {},
  ) {
    const view = await service.publicView(reference);
    if (!view) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    const { row } = view;
    const today = londonDay();
    const open = row.status === 'valid' && Boolean(row.consultation_end) && today <= row.consultation_end!;
    return reply.render('planning/views/application.njk', {
      title: `${row.address_text}`,
      navSection: 'services',
      backLink: '/planning/register',
      application: row,
      statusText: publicStatus(row, today),
      typeName: row.application_type ? applicationTypeNames[row.application_type] : '',
      wardName: wardByCode(row.ward_code ?? '')?.name ?? '',
      documents: view.documents.map((d) => ({ ...d, typeName: docTypeLabels[d.doc_type] ?? d.doc_type })),
      comments: view.comments,
      counts: {
        support: view.comments.filter((c) => c.stance === 'support').length,
        object: view.comments.filter((c) => c.stance === 'object').length,
        neutral: view.comments.filter((c) => c.stance === 'neutral').length,
      },
      history: view.history,
      open,
      mine,
      map: mapSettings(),
      boundary: row.site_boundary ? JSON.stringify(row.site_boundary) : '',
      values: {},
      errors: [],
      ...extra,
    });
  }

  app.get('/planning/applications/:reference', async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const row = await service.findByReference(platform.db, reference);
    const mine = Boolean(row && request.resident && row.resident_id === request.resident.id);
    // The applicant follows an unsent or returned application in their own journey.
    if (row && mine && ['draft', 'awaiting_payment', 'invalid'].includes(row.status))
      return reply.redirect(`/planning/apply/${row.reference}`, 303);
    return applicationPage(reply, reference, mine);
  });

  app.post('/planning/applications/:reference/comments', submissions, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const f = formFields(request.body);
    const values = {
      name: one(f, 'name'),
      address: one(f, 'address'),
      email: one(f, 'email'),
      stance: one(f, 'stance'),
      text: one(f, 'text'),
    };
    const parsed = commentSchema.safeParse(values);
    if (!parsed.success)
      return applicationPage(reply.code(400), reference, false, {
        values,
        errors: parsed.error.issues.map((i) => ({ field: String(i.path[0]), text: i.message })),
      });
    try {
      const { held } = await service.comment(
        reference,
        { ...parsed.data, email: parsed.data.email || null },
        actorOf(request),
      );
      return reply.redirect(`/planning/applications/${reference}/comment-sent${held ? '?held=1' : ''}`, 303);
    } catch (error) {
      if (error instanceof PlanningError && error.code === 'closed')
        return applicationPage(reply.code(400), reference, false, {
          values,
          errors: [{ field: 'text', text: error.message }],
        });
      if (error instanceof PlanningError && error.code === 'not_found')
        return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
      throw error;
    }
  });

  app.get('/planning/applications/:reference/comment-sent', async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const held = (request.query as Record<string, unknown>).held === '1';
    return reply.render('planning/views/comment-sent.njk', {
      title: 'Comment sent',
      navSection: 'services',
      reference,
      message: held
        ? 'Thank you. Your comment will be published when an officer has read it.'
        : 'Thank you. Your comment has been published.',
    });
  });

  app.get('/planning/applications/:reference/decision-notice.pdf', async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const file = await service.decisionNotice(reference);
    if (!file) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply
      .type('application/pdf')
      .header('Content-Disposition', `inline; filename="decision-notice-${reference}.pdf"`)
      .send(file.content);
  });

  app.get('/planning/documents/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!/^[0-9a-f-]{36}$/i.test(id))
      return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    const file = await service.publicDocument(id);
    if (!file) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply
      .type(file.mediaType)
      .header('Content-Disposition', `inline; filename="${file.originalName.replace(/"/g, '')}"`)
      .header('X-Content-Type-Options', 'nosniff')
      .send(file.content);
  });

  // The weekly list: applications received and decided in a week (Monday to Sunday).
  app.get('/planning/weekly-list', async (request, reply) => {
    const asked = String((request.query as Record<string, unknown>).week ?? '');
    const today = londonDay();
    const pick = /^\d{4}-\d{2}-\d{2}$/.test(asked) && !Number.isNaN(Date.parse(asked)) ? asked : today;
    const weekday = (new Date(`${pick}T12:00:00Z`).getUTCDay() + 6) % 7;
    const monday = addDays(pick, -weekday);
    const rows = await service.receivedOrDecidedBetween(
      londonMidnight(monday),
      londonMidnight(addDays(monday, 7)),
    );
    const inWeek = (d: Date | null) =>
      d !== null && londonDay(d) >= monday && londonDay(d) < addDays(monday, 7);
    const map = (r: (typeof rows)[number]) => ({
      ...r,
      typeName: r.application_type ? applicationTypeNames[r.application_type] : '',
      wardName: wardByCode(r.ward_code ?? '')?.name ?? '',
    });
    return reply.render('planning/views/weekly-list.njk', {
      title: `Weekly list: week beginning ${monday}`,
      navSection: 'services',
      monday,
      received: rows.filter((r) => inWeek(r.received_at)).map(map),
      decided: rows.filter((r) => inWeek(r.decided_at)).map(map),
      previous: addDays(monday, -7),
      next: addDays(monday, 7) <= today ? addDays(monday, 7) : null,
      wards,
    });
  });

  const feed = async (reply: FastifyReply, ward?: string) => {
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - 90 * 86_400_000);
    const rows = (await service.receivedOrDecidedBetween(from, to, ward)).slice(0, 100);
    const wardName = ward ? wardByCode(ward)?.name : undefined;
    return reply.type('application/atom+xml; charset=utf-8').send(
      atomFeed({
        title: `${platform.config.COUNCIL_NAME}: planning applications${wardName ? ` in ${wardName} ward` : ''}`,
        selfUrl: `${publicUrl}/planning/${ward ? `wards/${ward}/` : ''}feed.atom`,
        publicUrl,
        rows,
      }),
    );
  };
  app.get('/planning/feed.atom', async (_request, reply) => feed(reply));
  app.get('/planning/wards/:code/feed.atom', async (request, reply) => {
    const { code } = request.params as { code: string };
    if (!wardByCode(code)) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return feed(reply, code);
  });

  app.get('/planning/data', async (_request, reply) =>
    reply.render('planning/views/open-data.njk', {
      title: 'Planning data',
      navSection: 'services',
      licence,
      wards,
      publicUrl,
    }),
  );
}
