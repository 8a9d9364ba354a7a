import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import { rootDir } from '../../platform/views/index.ts';
import type { CasesService } from '../cases/index.ts';
import { registerApp } from './routes-app.ts';
import { registerFieldWork } from './routes-field.ts';
import { registerOpen311 } from './routes-open311.ts';
import { registerPublicReports } from './routes-public.ts';
import { registerReportJourney } from './routes-report.ts';
import { requestsMigrations } from './schema.ts';
import { createRequestsService } from './service.ts';

export type { RequestsService } from './service.ts';
export { categories } from './categories.ts';
export { tileOrigin, mapSettings } from './settings.ts';
/** The council's boundary and wards, read-only, for modules that place things on the map. */
export {
  boundary,
  wards,
  insideBoundary,
  wardAt,
  wardByCode,
  distanceMetres,
  type Point,
  type Ward,
} from './geography.ts';

export const requestsModule: ModuleDefinition = {
  name: 'requests',
  migrations: requestsMigrations,
  staffNavigation: [{ href: '/staff/field', text: 'Field jobs', section: 'field', permission: 'field:work' }],
};

const assetsDir = join(rootDir, 'src/modules/requests/assets');
const leafletDir = join(rootDir, 'node_modules/leaflet/dist');

/** Builds street reporting: the /report journey, public reports, field working and Open311. */
export function createRequests(platform: Platform, deps: { cases: CasesService }) {
  const service = createRequestsService(platform, deps);

  // Back-office changes to a report's case reach its public page and its followers.
  for (const type of ['case.status_changed', 'case.public_update_posted']) {
    platform.events.subscribe(type, `requests.sync.${type.split('.')[1]}`, async (event) => {
      await platform.db.transaction().execute((tx) => service.syncFromCase(tx, event.subjectId));
    });
  }

  return {
    service,
    async register(app: FastifyInstance) {
      app.get('/report-assets/leaflet/*', (request, reply) => {
        const path = (request.params as { '*': string })['*'];
        if (!/^(leaflet\.(js|css)|leaflet-src\.esm\.js|images\/[\w-]+\.png)$/.test(path))
          return reply.callNotFound();
        return reply.header('Cache-Control', 'public, max-age=86400').sendFile(path, leafletDir);
      });
      app.get('/report-assets/:file', (request, reply) => {
        const file = (request.params as { file: string }).file;
        if (!/^[\w-]+\.(js|css|svg|png|webmanifest)$/.test(file)) return reply.callNotFound();
        return reply.header('Cache-Control', 'public, max-age=3600').sendFile(file, assetsDir);
      });
      registerReportJourney(app, platform, service);
      registerPublicReports(app, platform, service);
      registerFieldWork(app, platform, service, deps.cases);
      registerApp(app, platform, service);
      await registerOpen311(app, platform, service);
    },
  };
}
