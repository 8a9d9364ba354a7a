import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { topics } from './definition.ts';
import type { CatalogueService } from './service.ts';

const locationScript = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), 'views/assets/location.js'),
);

// Shown on the home page when they are live; the rest are a click away under their topic.
const popular = [
  'report-a-street-problem',
  'missed-bin-collection',
  'apply-for-a-garden-waste-permit',
  'request-a-council-tax-single-person-discount',
  'report-a-housing-repair',
  'join-the-library',
];

/** Home page, services by topic, search, and the catalogue's one script. */
export function registerBrowsing(app: FastifyInstance, catalogue: CatalogueService): void {
  app.get('/', { config: { pageCache: true } }, async (_request, reply) => {
    const services = await catalogue.liveServices();
    const bySlug = new Map(services.map((s) => [s.definition.slug, s.definition]));
    const featured = popular.flatMap((slug) => (bySlug.has(slug) ? [bySlug.get(slug)!] : []));
    return reply.render('catalogue/views/home.njk', {
      title: 'Council services',
      topics,
      popular: featured.length ? featured : services.slice(0, 6).map((s) => s.definition),
    });
  });

  app.get('/services', { config: { pageCache: true } }, async (_request, reply) => {
    const services = (await catalogue.liveServices()).map((s) => s.definition);
    const groups = topics
      .map((topic) => ({ topic, services: services.filter((s) => s.topic === topic.code) }))
      .filter((g) => g.services.length > 0);
    return reply.render('catalogue/views/services.njk', {
      title: 'Services',
      navSection: 'services',
      groups,
    });
  });

  app.get<{ Querystring: { q?: string } }>('/search', async (request, reply) => {
    const q = typeof request.query.q === 'string' ? request.query.q.trim().slice(0, 200) : '';
    const results = q ? await catalogue.search(q) : [];
    return reply.render('catalogue/views/search.njk', {
      title: q ? `Search results for ${q}` : 'Search',
      navSection: 'search',
      q,
      results: results.map((r) => r.document),
    });
  });

  app.get('/catalogue/assets/location.js', async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('Cache-Control', 'public, max-age=3600')
      .send(locationScript),
  );
}
