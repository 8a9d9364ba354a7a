import type { FastifyInstance } from 'fastify';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import { casesMigrations } from './schema.ts';
import { createCasesService } from './service.ts';

export type { CasesService, NewCase, CreatedCase } from './service.ts';
export { channels, caseStatuses, type Channel, type CaseStatus } from './schema.ts';
export type { SlaTarget } from './sla.ts';

export const casesModule: ModuleDefinition = {
  name: 'cases',
  migrations: casesMigrations,
  staffNavigation: [{ href: '/staff/cases', text: 'Cases', section: 'cases', permission: 'cases:read' }],
};

/** Builds the cases service and its back-office routes. */
export function createCases(platform: Platform) {
  const service = createCasesService(platform);
  return {
    service,
    register(_app: FastifyInstance) {
      // Back-office routes: see routes.ts.
    },
  };
}
