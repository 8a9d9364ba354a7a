import type { FastifyInstance } from 'fastify';
import type { Db } from '../../platform/db/index.ts';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import type { CasesService } from '../cases/index.ts';
import type { CatalogueService } from '../catalogue/index.ts';
import type { SigningService } from '../signing/index.ts';
import type { EngageService } from '../engage/index.ts';
import { registerPublicRoutes } from './routes-public.ts';
import { registerStaffRoutes } from './routes-staff.ts';
import { insightsMigrations } from './schema.ts';
import {
  createInsightsService,
  defaultSettings,
  type InsightsDependencies,
  type InsightsSettings,
} from './service.ts';

export type { InsightsService, InsightsDependencies, Panel, Filters } from './service.ts';
export { forecastWeekly } from './forecast.ts';
export { checkQuery } from './explorer.ts';

export const insightsModule: ModuleDefinition = {
  name: 'insights',
  migrations: insightsMigrations,
  staffNavigation: [
    { href: '/staff/insights', text: 'Insights', section: 'insights', permission: 'insights:read' },
  ],
};

/** What insights takes from the other modules' services: SLA dates, staff names, services, wards. */
export function insightsDependencies(built: {
  cases?: { service: Pick<CasesService, 'findByReference' | 'listCaseWorkers'> };
  catalogue?: { service: Pick<CatalogueService, 'liveServices'> };
  signing?: { service: Pick<SigningService, 'paperlessShare'> };
  engage?: { service: { connectivity: Pick<EngageService['connectivity'], 'fibreDates'> } };
  /** The council's wards (code, name and boundary ring of [lng, lat] points), for the open data. */
  wards?: ReadonlyArray<{ code: string; name: string; ring: ReadonlyArray<readonly [number, number]> }>;
}): InsightsDependencies {
  const cases = built.cases?.service;
  const catalogue = built.catalogue?.service;
  const signing = built.signing?.service;
  return {
    caseDueAt: cases
      ? async (db: Db, reference: string) => (await cases.findByReference(db, reference))?.sla_due_at ?? null
      : undefined,
    caseWorkers: cases ? (db: Db) => cases.listCaseWorkers(db) : undefined,
    services: catalogue
      ? async () =>
          (await catalogue.liveServices()).map(({ definition: d }) => ({
            slug: d.slug,
            title: d.title,
            team: d.teamCode,
            topic: d.topic,
            feePence: d.feePence,
          }))
      : undefined,
    wards: built.wards?.map((w) => ({
      code: w.code,
      name: w.name,
      centre: w.ring.length
        ? ([
            Math.round((w.ring.reduce((a, p) => a + p[0], 0) / w.ring.length) * 1e5) / 1e5,
            Math.round((w.ring.reduce((a, p) => a + p[1], 0) / w.ring.length) * 1e5) / 1e5,
          ] as [number, number])
        : null,
    })),
    paperlessShare: signing ? (db: Db) => signing.paperlessShare(db) : undefined,
    fibre: built.engage ? (db: Db) => built.engage!.service.connectivity.fibreDates(db) : undefined,
  };
}

/** Seconds between incremental loads of new events into the warehouse. */
const LOAD_EVERY_SECONDS = 5;

/** Builds the warehouse, the success-measures dashboard, forecasts, the explorer and open data. */
export function createInsights(
  platform: Platform,
  deps: InsightsDependencies = {},
  settings: Partial<InsightsSettings> = {},
) {
  const service = createInsightsService(platform, deps, { ...defaultSettings, ...settings });
  // A load every few seconds: each run queues the next; the minute cron restarts the chain if a
  // process stopped while holding it. Loads are serialised by an advisory lock, so two at once
  // cannot interleave.
  platform.jobs.define({
    name: 'insights.load',
    cron: '* * * * *',
    retryLimit: 2,
    handler: async () => {
      await service.load();
      await platform.jobs.send(
        null,
        'insights.load',
        {},
        {
          startAfter: LOAD_EVERY_SECONDS,
          singletonKey: 'insights.load',
        },
      );
    },
  });
  platform.jobs.define({
    name: 'insights.open-data',
    cron: '7 * * * *',
    handler: () => service.refreshOpenData(),
  });
  return {
    service,
    register(app: FastifyInstance) {
      app.addHook('onClose', () => service.close());
      registerStaffRoutes(app, service);
      registerPublicRoutes(app, service, {
        name: platform.config.COUNCIL_NAME,
        url: platform.config.PUBLIC_URL,
      });
    },
    /** The demo council's warehouse and open data, from the events the other modules' demo data made. */
    async seedDemoData() {
      await service.refreshOpenData();
    },
  };
}
