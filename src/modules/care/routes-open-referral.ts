import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { fieldProblems, sendProblem, sendValidationProblem } from '../../platform/http/problem.ts';
import type { Platform } from '../../platform/module.ts';
import { locatePostcode, type Directory, type DirectoryService } from './directory.ts';
import type { OrganisationRow } from './store.ts';

const BASE = '/api/v1/open-referral';

const pageQuery = {
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(200).default(50),
};
const servicesQuery = z.object({
  ...pageQuery,
  text: z.string().trim().max(200).optional(),
  taxonomy_term_id: z.string().trim().max(500).optional(),
  organization_id: z.uuid().optional(),
  age: z.coerce.number().int().min(0).max(120).optional(),
  postcode: z.string().trim().max(10).optional(),
  proximity: z.coerce.number().int().min(1).max(200_000).optional(),
});

function organisation(
  o: Pick<OrganisationRow, 'id' | 'name' | 'description' | 'email' | 'url'> & Partial<OrganisationRow>,
) {
  return {
    id: o.id,
    name: o.name,
    description: o.description ?? '',
    email: o.email ?? null,
    website: o.url ?? null,
    ...(o.phone ? { phones: [{ id: `${o.id}-phone`, number: o.phone }] } : {}),
  };
}

/** A service in the Open Referral UK (HSDS 3.0) shape. */
export function openReferralService(s: DirectoryService) {
  return {
    id: s.id,
    organization: { id: s.organisation_id, name: s.organisation_name },
    name: s.name,
    description: s.description,
    url: s.url,
    email: s.email,
    status: s.status,
    fees_description: s.fees_description,
    eligibility_description: s.eligibility_description,
    minimum_age: s.minimum_age,
    maximum_age: s.maximum_age,
    last_modified: new Date(s.updated_at).toISOString(),
    phones: s.phone ? [{ id: `${s.id}-phone`, number: s.phone }] : [],
    attributes: s.taxonomy.map((t) => ({
      id: `${s.id}-${t.id}`,
      link_id: s.id,
      link_type: 'service',
      taxonomy_term_id: t.id,
      taxonomy_term: { id: t.id, name: t.term, description: t.description, vocabulary: t.vocabulary },
    })),
    service_at_locations: s.locations.map((l) => ({
      id: `${s.id}-${l.id}`,
      service_id: s.id,
      location_id: l.id,
      location: {
        id: l.id,
        location_type: 'physical',
        name: l.name,
        latitude: l.latitude,
        longitude: l.longitude,
        addresses: [
          {
            id: `${l.id}-address`,
            address_type: 'physical',
            address_1: l.address_1,
            city: l.city,
            state_province: '',
            postal_code: l.postcode,
            country: 'GB',
          },
        ],
      },
    })),
    ...(s.distanceMetres !== null ? { distance: Math.round(s.distanceMetres) } : {}),
  };
}

function paginated<T>(all: T[], page: number, perPage: number) {
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const contents = all.slice((page - 1) * perPage, page * perPage);
  return {
    total_items: all.length,
    total_pages: totalPages,
    page_number: page,
    size: contents.length,
    first_page: page === 1,
    last_page: page >= totalPages,
    empty: contents.length === 0,
    contents,
  };
}

/** The directory as an Open Referral UK API (read only; staff maintain entries in the back office). */
export function registerOpenReferralRoutes(app: FastifyInstance, platform: Platform, directory: Directory) {
  const options = { config: { rateLimit: platform.rateLimits.api } };
  const invalid = (reply: FastifyReply, error: z.ZodError) =>
    sendValidationProblem(reply, fieldProblems(error, ''));
  const notFound = (reply: FastifyReply, what: string) =>
    sendProblem(reply, { title: 'Not found', status: 404, detail: `No ${what} with that id` });

  app.get(BASE, options, async () => ({
    version: '3.0',
    profile: 'https://openreferraluk.org/',
    openapi_url: `${platform.config.PUBLIC_URL}/api/docs`,
  }));

  app.get(`${BASE}/services`, options, async (request, reply) => {
    const parsed = servicesQuery.safeParse(request.query);
    if (!parsed.success) return invalid(reply, parsed.error);
    const q = parsed.data;
    const near = q.postcode ? locatePostcode(q.postcode) : null;
    if (q.postcode && !near)
      return sendValidationProblem(reply, [
        { pointer: '/postcode', detail: 'Not a postcode this directory can place' },
      ]);
    const services = await directory.search({
      text: q.text,
      termIds: q.taxonomy_term_id
        ? q.taxonomy_term_id
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
      age: q.age,
      organisationId: q.organization_id,
      near: near ?? undefined,
      withinMetres: near ? q.proximity : undefined,
    });
    return paginated(services.map(openReferralService), q.page, q.per_page);
  });

  app.get(`${BASE}/services/:id`, options, async (request, reply) => {
    const service = await directory.service((request.params as { id: string }).id);
    if (!service || service.status !== 'active') return notFound(reply, 'service');
    return openReferralService(service);
  });

  app.get(`${BASE}/taxonomy_terms`, options, async (request, reply) => {
    const parsed = z.object(pageQuery).safeParse(request.query);
    if (!parsed.success) return invalid(reply, parsed.error);
    const terms = (await directory.terms()).map((t) => ({
      id: t.id,
      name: t.term,
      description: t.description,
      vocabulary: t.vocabulary,
    }));
    return paginated(terms, parsed.data.page, parsed.data.per_page);
  });

  app.get(`${BASE}/organizations`, options, async (request, reply) => {
    const parsed = z
      .object({ ...pageQuery, text: z.string().trim().max(200).optional() })
      .safeParse(request.query);
    if (!parsed.success) return invalid(reply, parsed.error);
    const { page, per_page, text } = parsed.data;
    const { total, rows } = await directory.organisations({
      name: text,
      offset: (page - 1) * per_page,
      limit: per_page,
    });
    const totalPages = Math.max(1, Math.ceil(total / per_page));
    return {
      total_items: total,
      total_pages: totalPages,
      page_number: page,
      size: rows.length,
      first_page: page === 1,
      last_page: page >= totalPages,
      empty: rows.length === 0,
      contents: rows.map(organisation),
    };
  });

  app.get(`${BASE}/organizations/:id`, options, async (request, reply) => {
    const row = await directory.organisation((request.params as { id: string }).id);
    if (!row) return notFound(reply, 'organization');
    const services = await directory.search({ organisationId: row.id });
    return { ...organisation(row), services: services.map(openReferralService) };
  });
}
