import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../platform/http/errors.ts';
import { toCsv } from './charts.ts';
import type { InsightsService } from './service.ts';

export const OGL = {
  name: 'Open Government Licence v3.0',
  url: 'https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/',
};

/** The published datasets: what each holds and, as importantly, what it leaves out. */
export const datasets = [
  {
    slug: 'service-requests',
    title: 'Service requests',
    description:
      'Requests residents made to the council: the service, the channel, the ward, the team, the day received and resolved, and whether the request was resolved within its target. Names, contact details, addresses, descriptions and exact times are left out.',
    keywords: ['service requests', 'street reports', 'performance'],
    columns: [
      'reference',
      'service',
      'channel',
      'ward',
      'team',
      'received_on',
      'status',
      'resolved_on',
      'resolved_within_target',
    ],
  },
  {
    slug: 'planning-applications',
    title: 'Planning applications',
    description:
      'Planning applications by reference and ward, with their latest status and whether they were determined within time. Applicants and comments are left out.',
    keywords: ['planning', 'development management'],
    columns: ['reference', 'ward', 'first_event_on', 'latest_status', 'determined_within_time'],
  },
  {
    slug: 'services',
    title: 'Council services',
    description:
      'Services residents can request, pay for or book online, with the team responsible and any fee.',
    keywords: ['services', 'catalogue'],
    columns: ['slug', 'title', 'team', 'topic', 'fee_pence'],
  },
  {
    slug: 'locations',
    title: 'Wards',
    description: 'The council’s wards with their ONS-style codes and a central point for each.',
    keywords: ['wards', 'locations', 'boundaries'],
    columns: ['ward_code', 'ward_name', 'latitude', 'longitude'],
  },
] as const;

/** The public open data catalogue: /open-data, each dataset as CSV and JSON, and DCAT JSON-LD. */
export function registerPublicRoutes(
  app: FastifyInstance,
  service: InsightsService,
  council: { name: string; url: string },
) {
  async function entries() {
    const stored = new Map((await service.listOpenData()).map((d) => [d.slug, d.refreshed_at]));
    return datasets.map((d) => ({ ...d, refreshedAt: stored.get(d.slug) ?? null }));
  }

  function dcat(d: (typeof datasets)[number], refreshedAt: Date | null, rows: number | null) {
    const base = `${council.url}/open-data/${d.slug}`;
    return {
      '@type': 'dcat:Dataset',
      '@id': base,
      'dct:identifier': d.slug,
      'dct:title': d.title,
      'dct:description': d.description,
      'dcat:keyword': d.keywords,
      'dct:publisher': { '@type': 'foaf:Organization', 'foaf:name': council.name },
      'dct:license': { '@id': OGL.url },
      'dct:modified': refreshedAt ? refreshedAt.toISOString() : null,
      'dcat:landingPage': { '@id': base },
      'dct:accrualPeriodicity': { '@id': 'http://purl.org/cld/freq/hourly' },
      ...(rows === null ? {} : { 'kiln:rows': rows }),
      'dcat:distribution': [
        {
          '@type': 'dcat:Distribution',
          'dcat:downloadURL': { '@id': `${base}.csv` },
          'dcat:mediaType': 'text/csv',
          'dct:license': { '@id': OGL.url },
        },
        {
          '@type': 'dcat:Distribution',
          'dcat:downloadURL': { '@id': `${base}.json` },
          'dcat:mediaType': 'application/json',
          'dct:license': { '@id': OGL.url },
        },
      ],
    };
  }

  const context = {
    dcat: 'http://www.w3.org/ns/dcat#',
    dct: 'http://purl.org/dc/terms/',
    foaf: 'http://xmlns.com/foaf/0.1/',
    kiln: `${council.url}/open-data/terms#`,
  };

  app.get('/open-data', async (_request, reply) => {
    const list = await entries();
    return reply.render('insights/views/open-data.njk', {
      title: 'Open data',
      datasets: list,
      licence: OGL,
      jsonLd: JSON.stringify({
        '@context': context,
        '@type': 'dcat:Catalog',
        'dct:title': `${council.name} open data`,
        'dcat:dataset': list.map((d) => dcat(d, d.refreshedAt, null)),
      }).replace(/</g, '\\u003c'),
    });
  });

  app.get('/open-data/catalog.jsonld', async (_request, reply) => {
    const list = await entries();
    return reply.type('application/ld+json; charset=utf-8').send({
      '@context': context,
      '@type': 'dcat:Catalog',
      '@id': `${council.url}/open-data`,
      'dct:title': `${council.name} open data`,
      'dct:publisher': { '@type': 'foaf:Organization', 'foaf:name': council.name },
      'dct:license': { '@id': OGL.url },
      'dcat:dataset': list.map((d) => dcat(d, d.refreshedAt, null)),
    });
  });

  app.get<{ Params: { slug: string } }>('/open-data/:slug', async (request, reply) => {
    const match = /^([a-z-]+?)(?:\.(csv|json|jsonld))?$/.exec(request.params.slug);
    const d = match && datasets.find((x) => x.slug === match[1]);
    if (!match || !d) throw new HttpError(404, 'Page not found');
    const stored = await service.openData(d.slug);
    // Stored as jsonb, which does not keep the order of keys: put each row back in column order.
    const rows = ((stored?.rows as Array<Record<string, unknown>> | undefined) ?? []).map((r) =>
      Object.fromEntries(d.columns.map((c) => [c, r[c] ?? null])),
    );
    const format = match[2];
    if (format === 'csv')
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${d.slug}.csv"`)
        .send(toCsv([...d.columns], rows));
    if (format === 'json')
      return reply.type('application/json; charset=utf-8').send({
        dataset: d.slug,
        licence: OGL,
        refreshedAt: stored?.refreshed_at ?? null,
        rows,
      });
    if (format === 'jsonld')
      return reply
        .type('application/ld+json; charset=utf-8')
        .send({ '@context': context, ...dcat(d, stored?.refreshed_at ?? null, rows.length) });
    return reply.render('insights/views/open-dataset.njk', {
      title: d.title,
      dataset: d,
      licence: OGL,
      refreshedAt: stored?.refreshed_at ?? null,
      count: rows.length,
      columns: d.columns,
      preview: rows.slice(0, 10),
    });
  });
}
