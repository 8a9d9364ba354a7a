import type { FastifyInstance } from 'fastify';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import { registerAssistedRoutes } from './assisted-routes.ts';
import { registerCaseRoutes } from './case-routes.ts';
import { registerCustomerRoutes } from './customer-routes.ts';
import { registerQueueRoutes } from './queue-routes.ts';
import { casesMigrations } from './schema.ts';
import { createCasesService } from './service.ts';

export type { CasesService, NewCase, CreatedCase } from './service.ts';
export { channels, caseStatuses, type Channel, type CaseStatus } from './schema.ts';
export type { SlaTarget, SlaState } from './sla.ts';
export { slaState, slaDueAt } from './sla.ts';
export { statusLabels, channelLabels, slaTags } from './labels.ts';
export { CaseChangedError, CaseNotFoundError, CaseRuleError, type PublicHistoryItem } from './handling.ts';
export {
  customerViewSources,
  registerCustomerTimelineSource,
  type TimelineItem,
  type TimelineSource,
} from './customer-timeline.ts';
export { seedDemoCases } from './seed.ts';

export const casesModule: ModuleDefinition = {
  name: 'cases',
  migrations: casesMigrations,
  staffNavigation: [
    { href: '/staff/cases', text: 'Cases', section: 'cases', permission: 'cases:read' },
    { href: '/staff/customers', text: 'Residents', section: 'customers', permission: 'customers:read' },
    { href: '/staff/assisted', text: 'Help a resident', section: 'assisted', permission: 'assisted:act' },
  ],
};

/** Builds the cases service and its back-office routes: queues, case pages, customer view, assisted digital. */
export function createCases(platform: Platform) {
  const service = createCasesService(platform);
  return {
    service,
    register(app: FastifyInstance) {
      registerQueueRoutes(app, platform, service);
      registerCaseRoutes(app, platform, service);
      registerCustomerRoutes(app, platform, service);
      registerAssistedRoutes(app, platform, service);
    },
  };
}
