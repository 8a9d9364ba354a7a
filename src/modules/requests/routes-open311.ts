import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { apiKeyFrom, authenticateApiKey } from '../../platform/auth/api-keys.ts';
import type { Platform } from '../../platform/module.ts';
import { categories, categoryByCode, checkAnswers, type Category } from './categories.ts';
import { findStreets, streetByUsrn, streets } from './geography.ts';
import { contentType, definitionOf, serialise, serviceOf, type Format } from './open311-format.ts';
import {
  locatePoint,
  locateStreet,
  ReportError,
  type ReportLocation,
  type RequestsService,
} from './service.ts';
import { jurisdictionId } from './settings.ts';
import { searchForOpen311, type ReportFilter, type StreetReportRow } from './store.ts';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../../platform/http/errors.ts';
import { PageCache } from '../../platform/http/page-cache.ts';

/** An Open311 error: its HTTP status is also its code. */
class Open311Error extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_DAYS = 90;
const LIMIT = 1000;
const LIST_CACHE_MS = 5000;
const w3cDate = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const formatOf = (request: FastifyRequest): Format => (/\.xml(\?|$)/.test(request.url) ? 'xml' : 'json');

function send(
  reply: FastifyReply,
  format: Format,
  root: Parameters<typeof serialise>[1],
  value: unknown,
  status = 200,
) {
  return reply
    .code(status)
    .type(contentType(format))
    .header('Cache-Control', 'no-store')
    .send(serialise(format, root, value as never));
}

function sendSerialised(reply: FastifyReply, format: Format, body: string) {
  return reply.type(contentType(format)).header('Cache-Control', 'no-store').send(body);
}

function sendError(reply: FastifyReply, format: Format, status: number, description: string) {
  return send(reply, format, 'errors', [{ code: status, description }], status);
}

// Query strings and form bodies alike: repeated keys arrive as arrays, the first counts.
function param(source: unknown, name: string): string | undefined {
  if (!source || typeof source !== 'object') return undefined;
  let value = (source as Record<string, unknown>)[name];
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value.trim() : undefined;
}

function checkJurisdiction(request: FastifyRequest) {
  const given = param(request.query, 'jurisdiction_id') ?? param(request.body, 'jurisdiction_id');
  if (given !== undefined && given !== '' && given !== jurisdictionId())
    throw new Open311Error(404, `jurisdiction_id ${given.slice(0, 60)} not found`);
}

function categoryFor(code: string | undefined): Category {
  if (!code) throw new Open311Error(400, 'service_code was not provided');
  const category = categoryByCode(code);
  if (!category) throw new Open311Error(404, `service_code ${code.slice(0, 60)} not found`);
  return category;
}

function parseDate(name: string, value: string | undefined): Date | null {
  if (value === undefined || value === '') return null;
  const date = new Date(value);
  if (!w3cDate.test(value) || Number.isNaN(date.getTime()))
    throw new Open311Error(400, `${name} must be a date and time in W3C format, like 2026-11-25T09:30:00Z`);
  return date;
}

/** The date window of a search: at most 90 days, the last 90 by default. */
function window(query: unknown): { start: Date; end: Date } {
  const start = parseDate('start_date', param(query, 'start_date'));
  const end = parseDate('end_date', param(query, 'end_date'));
  const day = 86_400_000;
  const to = end ?? (start ? new Date(Math.min(start.getTime() + MAX_DAYS * day, Date.now())) : new Date());
  const from = start ?? new Date(to.getTime() - MAX_DAYS * day);
  if (from > to) throw new Open311Error(400, 'end_date must be after start_date');
  if (to.getTime() - from.getTime() > MAX_DAYS * day)
    throw new Open311Error(400, `The span of start_date and end_date must be ${MAX_DAYS} days or fewer`);
  return { start: from, end: to };
}

const postSchema = z.object({
  email: z.email('email must be a valid email address').max(254).optional(),
  description: z.string().max(2000, 'description must be 2000 characters or fewer').optional(),
  media_url: z
    .url({ protocol: /^https?$/, message: 'media_url must be an http or https URL' })
    .max(2000)
    .optional(),
});

/** Open311 GeoReport v2 under /open311/v2, in JSON and XML, with the standard's own error format. */
export function registerOpen311(app: FastifyInstance, platform: Platform, service: RequestsService) {
  const { db } = platform;
  const base = platform.config.PUBLIC_URL;
  // Lists are public and clients poll the same windows: an answer is kept for a few seconds, so a
  // burst of polls costs one query. A POST here clears them; a change made elsewhere shows within
  // LIST_CACHE_MS.
  const lists = new PageCache<string[]>(LIST_CACHE_MS, 1000);

  type ListedReport = Pick<
    StreetReportRow,
    | 'reference'
    | 'status'
    | 'category'
    | 'description'
    | 'service_notice'
    | 'requested_at'
    | 'updated_at'
    | 'expected_at'
    | 'street_name'
    | 'usrn'
    | 'lat'
    | 'lng'
  >;

  function requestOf(r: ListedReport, hasPhoto: boolean, notes: string | null) {
    const category = categoryByCode(r.category);
    const street = streetByUsrn(r.usrn);
    return {
      service_request_id: r.reference,
      status: r.status,
      status_notes: notes,
      service_name: category?.name ?? r.category,
      service_code: r.category,
      description: r.description,
      agency_responsible: 'Kilnford City Council',
      service_notice: r.service_notice,
      requested_datetime: r.requested_at.toISOString(),
      updated_datetime: r.updated_at.toISOString(),
      expected_datetime: r.expected_at?.toISOString() ?? null,
      address: street ? `${street.name}, ${street.locality}` : r.street_name,
      address_id: r.usrn,
      zipcode: street?.postcode ?? null,
      lat: r.lat,
      long: r.lng,
      media_url: hasPhoto ? `${base}/reports/${r.reference}/photos/report/1` : null,
    };
  }

  async function requestsOf(filter: ReportFilter) {
    const rows = await searchForOpen311(db, filter, LIMIT);
    return rows.map((r) => requestOf(r, Boolean(r.has_photo), null));
  }

  // Where a POST says the problem is: a point, a known address_id (USRN), or an address string.
  function locationOf(body: unknown, category: Category): { location: ReportLocation; house: string | null } {
    const lat = param(body, 'lat');
    const lng = param(body, 'long');
    const addressId = param(body, 'address_id');
    const addressString = param(body, 'address_string');
    let house: string | null = null;
    let location: ReportLocation | undefined;
    if (addressString) {
      const matched = streets.find((s) => addressString.toLowerCase().includes(s.name.toLowerCase()));
      if (matched)
        house =
          addressString
            .slice(0, addressString.toLowerCase().indexOf(matched.name.toLowerCase()))
            .replace(/[,\s]+$/, '') || null;
    }
    if ((lat !== undefined && lat !== '') || (lng !== undefined && lng !== '')) {
      if (!lat || !lng || !/^-?\d+(\.\d+)?$/.test(lat) || !/^-?\d+(\.\d+)?$/.test(lng))
        throw new Open311Error(400, 'lat and long must both be given as decimal degrees (WGS84)');
      const placed = locatePoint(Number(lat), Number(lng));
      if (!placed.ok) throw new Open311Error(400, placed.message);
      location = placed.location;
    } else if (addressId) {
      const street = streetByUsrn(addressId);
      if (!street)
        throw new Open311Error(
          400,
          `address_id ${addressId.slice(0, 30)} is not a street (USRN) in Kilnford`,
        );
      location = locateStreet(street);
    } else if (addressString) {
      const street =
        streets.find((s) => addressString.toLowerCase().includes(s.name.toLowerCase())) ??
        findStreets(addressString)[0];
      if (!street) throw new Open311Error(400, `address_string does not name a street in Kilnford`);
      location = locateStreet(street);
    } else {
      throw new Open311Error(400, 'A location is required: lat and long, address_string or address_id');
    }
    if (category.addressBased && !house)
      throw new Open311Error(
        400,
        `address_string with the house number or name and the street is required for ${category.code}`,
      );
    return { location, house: category.addressBased ? house : null };
  }

  return app.register(
    async (scope) => {
      scope.setErrorHandler((error: FastifyError, request, reply) => {
        const format = formatOf(request);
        if (error instanceof Open311Error) return sendError(reply, format, error.status, error.message);
        if (isDatabaseUnavailable(error)) {
          request.log.error({ err: { message: error.message, code: error.code } }, 'database unavailable');
          reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
          return sendError(
            reply,
            format,
            503,
            'The service is unavailable for a moment. Try again in a few seconds.',
          );
        }
        const status =
          error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) {
          request.log.error({ err: error }, 'open311 request failed');
          return sendError(reply, format, 500, 'The service could not process the request. Try again later.');
        }
        return sendError(
          reply,
          format,
          status,
          status === 429 ? 'Too many requests for this API key. Try again in a minute.' : error.message,
        );
      });
      scope.setNotFoundHandler((request, reply) =>
        sendError(
          reply,
          formatOf(request),
          404,
          `No Open311 resource at ${request.url.split('?')[0]!.slice(0, 100)}`,
        ),
      );

      for (const format of ['json', 'xml'] as const) {
        scope.get(`/services.${format}`, async (request, reply) => {
          checkJurisdiction(request);
          return send(reply, format, 'services', categories.map(serviceOf));
        });

        scope.get(`/services/:code.${format}`, async (request, reply) => {
          checkJurisdiction(request);
          const category = categoryFor((request.params as { code: string }).code);
          return send(reply, format, 'service_definition', definitionOf(category));
        });

        scope.get(`/requests.${format}`, async (request, reply) => {
          checkJurisdiction(request);
          const kept = lists.get(request.url);
          if (kept) return sendSerialised(reply, format, kept[0]!);
          const body = await listRequests(request.query, format);
          lists.set(request.url, [body]);
          return sendSerialised(reply, format, body);
        });

        async function listRequests(query: unknown, format: Format): Promise<string> {
          const ids = param(query, 'service_request_id');
          if (ids) {
            const references = ids
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
              .slice(0, LIMIT);
            return serialise(format, 'service_requests', (await requestsOf({ references })) as never);
          }
          const code = param(query, 'service_code');
          const codes = code ? code.split(',').map((c) => categoryFor(c.trim()).code) : [];
          const statusParam = param(query, 'status');
          const statuses = statusParam ? statusParam.split(',').map((s) => s.trim().toLowerCase()) : [];
          if (statuses.some((s) => s !== 'open' && s !== 'closed'))
            throw new Open311Error(400, 'status must be open or closed');
          const { start, end } = window(query);
          const found = await requestsOf({
            category: codes.length === 1 ? codes[0] : null,
            status: statuses.length === 1 ? (statuses[0] as 'open' | 'closed') : null,
            start,
            end,
          });
          const listed = codes.length > 1 ? found.filter((r) => codes.includes(r.service_code)) : found;
          return serialise(format, 'service_requests', listed as never);
        }

        const one = async (request: FastifyRequest, reply: FastifyReply) => {
          checkJurisdiction(request);
          const id = (request.params as { id: string }).id;
          const row = await service.findByReference(db, id);
          if (!row || !row.public)
            throw new Open311Error(404, `service_request_id ${id.slice(0, 60)} not found`);
          return send(reply, format, 'service_requests', await requestsOf({ references: [row.reference] }));
        };
        scope.get(`/requests/:id.${format}`, one);
        // The published swagger document spells this path in the singular.
        scope.get(`/request/:id.${format}`, one);

        scope.get(`/tokens/:token.${format}`, async (request, reply) => {
          checkJurisdiction(request);
          const token = (request.params as { token: string }).token;
          const row = /^[\w-]{8,64}$/.test(token) ? await service.findByToken(db, token) : undefined;
          if (!row) throw new Open311Error(404, `token ${token.slice(0, 64)} not found`);
          return send(reply, format, 'service_requests', [{ service_request_id: row.reference, token }]);
        });

        // FixMyStreet's extension: status changes and public notes since a time.
        scope.get(`/servicerequestupdates.${format}`, async (request, reply) => {
          checkJurisdiction(request);
          const { start, end } = window(request.query);
          const rows = await service.updatesBetween(db, start, end, LIMIT);
          return send(
            reply,
            format,
            'service_request_updates',
            rows.map((u) => ({
              update_id: String(u.id),
              service_request_id: u.reference,
              status: fmsStatus(u.case_status ?? 'received'),
              updated_datetime: u.happened_at.toISOString(),
              description: u.text ?? u.title,
              media_url: null,
            })),
          );
        });

        scope.post(
          `/requests.${format}`,
          {
            config: {
              rateLimit: {
                max: platform.rateLimits.api.max,
                timeWindow: platform.rateLimits.api.timeWindow,
                keyGenerator: (request: FastifyRequest) => apiKeyFrom(request) ?? request.ip,
              },
            },
          },
          async (request, reply) => {
            checkJurisdiction(request);
            const body = request.body;
            const client = await authenticateApiKey(db, apiKeyFrom(request));
            if (!client) throw new Open311Error(403, 'api_key is missing, not valid or revoked');
            if (!client.scopes.includes('open311') && !client.scopes.includes('*'))
              throw new Open311Error(403, 'This api_key may not post Open311 requests');
            const category = categoryFor(param(body, 'service_code'));
            const given: Record<string, string> = {};
            for (const q of category.questions) given[q.id] = param(body, `attribute[${q.id}]`) ?? '';
            const { answers, errors } = checkAnswers(category, given);
            if (errors.length) {
              const q = category.questions.find((x) => x.id === errors[0]!.field)!;
              throw new Open311Error(400, `attribute[${q.id}] is not valid: ${errors[0]!.text}`);
            }
            const extra = postSchema.safeParse({
              email: param(body, 'email') || undefined,
              description: param(body, 'description') || undefined,
              media_url: param(body, 'media_url') || undefined,
            });
            if (!extra.success) throw new Open311Error(400, extra.error.issues[0]!.message);
            const { location, house } = locationOf(body, category);
            const token = service.newIdempotencyKey();
            const key = request.headers['idempotency-key'];
            try {
              const submitted = await service.submit({
                category: category.code,
                answers,
                description: extra.data.description ?? null,
                location,
                address: house,
                locationNote: null,
                photoFileIds: [],
                channel: 'api',
                residentId: null,
                email: extra.data.email ?? null,
                idempotencyKey:
                  typeof key === 'string' && /^[\w-]{8,100}$/.test(key) ? `${client.id}:${key}` : token,
                token,
                mediaUrl: extra.data.media_url ?? null,
                actor: { type: 'api', id: client.id },
              });
              lists.clear();
              return send(reply, format, 'service_requests', [
                { service_request_id: submitted.reference, token, service_notice: submitted.notice },
              ]);
            } catch (error) {
              if (error instanceof ReportError) throw new Open311Error(400, error.message);
              throw error;
            }
          },
        );
      }
    },
    { prefix: '/open311/v2' },
  );
}

const fmsStatuses: Record<string, string> = {
  received: 'OPEN',
  in_progress: 'IN_PROGRESS',
  waiting_for_customer: 'ACTION_SCHEDULED',
  resolved: 'FIXED',
  closed: 'CLOSED',
};
const fmsStatus = (s: string) => fmsStatuses[s] ?? 'OPEN';
