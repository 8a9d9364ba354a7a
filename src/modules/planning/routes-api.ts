import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../../platform/http/errors.ts';
import { registerOperation } from '../../platform/http/openapi.ts';
import { sendProblem, sendValidationProblem } from '../../platform/http/problem.ts';
import type { Platform } from '../../platform/module.ts';
import { licence, planningRecord, toCsv, toGeoJson } from './records.ts';
import { registerFilter } from './routes-register.ts';
import type { PlanningService } from './service.ts';

const BULK_PAGE = 5000;
const MAX_BULK_PAGE = 10_000;
const bulkQuery = z.object({
  page: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(1).max(MAX_BULK_PAGE).default(1),
  ),
});

const filterParameters = [
  {
    name: 'q',
    in: 'query' as const,
    description: 'A reference, or the start of an address, street or postcode',
  },
  { name: 'ward', in: 'query' as const, description: 'Ward code (ONS GSS), e.g. E05099001' },
  {
    name: 'type',
    in: 'query' as const,
    description: 'Application type (Open Digital Planning value), e.g. pp.full.householder',
  },
  { name: 'status', in: 'query' as const, description: 'undecided, granted or refused' },
  { name: 'from', in: 'query' as const, description: 'Received on or after (YYYY-MM-DD)' },
  { name: 'to', in: 'query' as const, description: 'Received on or before (YYYY-MM-DD)' },
  { name: 'page', in: 'query' as const, description: 'Page of 20, from 1' },
];

/** Open data: planning.data.gov.uk-style planning-application records as JSON, CSV and GeoJSON. */
export function registerPlanningApi(app: FastifyInstance, platform: Platform, service: PlanningService) {
  const publicUrl = platform.config.PUBLIC_URL;
  const rateLimit = platform.rateLimits.api;
  const licenceHeader = `<${licence.url}>; rel="license"`;

  registerOperation({
    method: 'get',
    path: '/api/v1/planning/applications',
    summary: 'Search planning applications (the public register)',
    tags: ['Planning'],
    parameters: filterParameters,
    responses: {
      '200': { description: 'planning-application records, 20 a page' },
      '400': { description: 'A filter is not valid' },
    },
  });
  registerOperation({
    method: 'get',
    path: '/api/v1/planning/applications/{reference}',
    summary: 'One planning application',
    tags: ['Planning'],
    parameters: [{ name: 'reference', in: 'path', required: true }],
    responses: {
      '200': { description: 'A planning-application record' },
      '404': { description: 'No such application' },
    },
  });
  for (const format of ['json', 'csv', 'geojson'])
    registerOperation({
      method: 'get',
      path: `/api/v1/planning/applications.${format}`,
      summary: `Every planning application on the register, as ${format.toUpperCase()}`,
      tags: ['Planning'],
      parameters: [{ name: 'page', in: 'query', description: `Page of ${BULK_PAGE}, from 1` }],
      responses: { '200': { description: `planning-application records (${licence.name})` } },
    });

  app.get('/api/v1/planning/applications', { config: { rateLimit } }, async (request, reply) => {
    const { filter, errors, values } = registerFilter(request.query as Record<string, unknown>);
    if (errors.length)
      return sendValidationProblem(
        reply,
        errors.map((e) => ({ pointer: `/${e.field}`, detail: e.text })),
      );
    const rows = await service.search(filter);
    const page = Number(values.page);
    const more = rows.length > filter.limit - 1;
    reply.header('Link', licenceHeader);
    return {
      licence,
      page,
      next: more
        ? `/api/v1/planning/applications?${new URLSearchParams({ ...Object.fromEntries(Object.entries(values).filter(([, v]) => v)), page: String(page + 1) })}`
        : null,
      entities: rows.slice(0, filter.limit - 1).map((r) => planningRecord(r, publicUrl)),
    };
  });

  async function bulk(request: FastifyRequest) {
    const parsed = bulkQuery.safeParse(request.query ?? {});
    if (!parsed.success)
      throw new HttpError(
        400,
        'Your request is not valid',
        `page must be a whole number from 1 to ${MAX_BULK_PAGE}`,
      );
    const page = parsed.data.page;
    const rows = await service.publicApplications(BULK_PAGE + 1, (page - 1) * BULK_PAGE);
    return { page, more: rows.length > BULK_PAGE, rows: rows.slice(0, BULK_PAGE) };
  }
  const nextLink = (reply: FastifyReply, format: string, page: number, more: boolean) => {
    reply.header(
      'Link',
      more
        ? `${licenceHeader}, </api/v1/planning/applications.${format}?page=${page + 1}>; rel="next"`
        : licenceHeader,
    );
  };

  app.get('/api/v1/planning/applications.json', { config: { rateLimit } }, async (request, reply) => {
    const { page, more, rows } = await bulk(request);
    nextLink(reply, 'json', page, more);
    return { licence, page, entities: rows.map((r) => planningRecord(r, publicUrl)) };
  });

  app.get('/api/v1/planning/applications.csv', { config: { rateLimit } }, async (request, reply) => {
    const { page, more, rows } = await bulk(request);
    nextLink(reply, 'csv', page, more);
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', 'inline; filename="planning-application.csv"')
      .send(toCsv(rows.map((r) => planningRecord(r, publicUrl))));
  });

  app.get('/api/v1/planning/applications.geojson', { config: { rateLimit } }, async (request, reply) => {
    const { page, more, rows } = await bulk(request);
    nextLink(reply, 'geojson', page, more);
    return reply.type('application/geo+json').send(JSON.stringify(toGeoJson(rows, publicUrl)));
  });

  app.get('/api/v1/planning/applications/:reference', { config: { rateLimit } }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const view = await service.publicView(reference);
    if (!view) return sendProblem(reply, { title: 'There is no such planning application', status: 404 });
    reply.header('Link', licenceHeader);
    return {
      licence,
      ...planningRecord(view.row, publicUrl),
      documents: view.documents.map((d) => ({
        type: d.doc_type,
        url: `${publicUrl}/planning/documents/${d.id}`,
      })),
      'decision-notice-url': view.row.decision_notice_file_id
        ? `${publicUrl}/planning/applications/${view.row.reference}/decision-notice.pdf`
        : '',
      conditions: view.row.decision === 'granted' ? view.row.decision_terms : [],
      'refusal-reasons': view.row.decision === 'refused' ? view.row.decision_terms : [],
      comments: {
        support: view.comments.filter((c) => c.stance === 'support').length,
        object: view.comments.filter((c) => c.stance === 'object').length,
        neutral: view.comments.filter((c) => c.stance === 'neutral').length,
      },
    };
  });
}
