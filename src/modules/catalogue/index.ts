import type { FastifyInstance } from 'fastify';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import type { CasesService } from '../cases/index.ts';
import { registerServicesApi } from './api.ts';
import { registerBuilder } from './builder.ts';
import { serviceDefinitionSchema } from './definition.ts';
import { registerJourney } from './journey.ts';
import { registerBrowsing } from './routes.ts';
import { catalogueMigrations } from './schema.ts';
import { createCatalogueService, type FeePayments } from './service.ts';

export type { CatalogueService, LiveService } from './service.ts';
export type { ServiceDefinition, Question, QuestionType } from './definition.ts';
export { topics } from './definition.ts';
export { seedCatalogue } from './seed.ts';
/** The address gazetteer (UPRNs), for modules that look up a property. */
export { localGazetteer, type Gazetteer, type Address } from './gazetteer.ts';

export const catalogueModule: ModuleDefinition = {
  name: 'catalogue',
  migrations: catalogueMigrations,
  staffNavigation: [
    {
      href: '/staff/catalogue',
      text: 'Service catalogue',
      section: 'catalogue',
      permission: 'catalogue:edit',
    },
  ],
};

/** Builds the catalogue: resident journeys, the form builder, search and the services API. */
export function createCatalogue(
  platform: Platform,
  deps: { cases: { service: CasesService }; payments?: FeePayments },
) {
  const service = createCatalogueService(platform, { cases: deps.cases.service, payments: deps.payments });
  return {
    service,
    register(app: FastifyInstance) {
      registerBrowsing(app, service);
      registerJourney(app, platform, service, {
        prefix: '/services',
        preview: false,
        sessionKey: 'catalogue',
        load: (slug) => service.liveService(slug),
      });
      // The preview runs the same pages over the draft, under /staff so only editors reach it.
      registerJourney(app, platform, service, {
        prefix: '/staff/preview',
        preview: true,
        sessionKey: 'cataloguePreview',
        permission: 'catalogue:edit',
        load: async (slug) => {
          const found = await service.findForEditing(slug);
          if (!found) return undefined;
          const checked = serviceDefinitionSchema.safeParse(found.draft);
          return checked.success ? { definition: checked.data, version: 0 } : undefined;
        },
      });
      registerBuilder(app, platform, service);
      registerServicesApi(app, platform, service, deps.cases.service);
    },
  };
}
