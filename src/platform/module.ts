import type { FastifyInstance } from 'fastify';
import type { Migration } from 'kysely';
import type { Config } from '../config.ts';
import type { StaffNavItem } from './auth/identity.ts';
import type { Database, Db } from './db/index.ts';
import type { Events } from './events/index.ts';
import type { Files } from './files/index.ts';
import type { Jobs } from './jobs/index.ts';
import type { Notify } from './notify/index.ts';
import type { PageCache } from './http/page-cache.ts';
import type { Ops } from './ops/registry.ts';

/** What every module stands on, built once by the composition root. */
export interface Platform {
  config: Config;
  database: Database;
  db: Db;
  jobs: Jobs;
  events: Events;
  notify: Notify;
  files: Files;
  /** Pages kept briefly for visitors without a session; clear it when published content changes. */
  pageCache: PageCache;
  /** Readiness checks and Prometheus metrics: modules add gauges with `ops.gauge(...)`. */
  ops: Ops;
  rateLimits: {
    /** Per-route options for public form submissions. */
    submissions: { max: number; timeWindow: string };
    api: { max: number; timeWindow: string };
  };
}

/** A module's static description: its tables and its place in the staff navigation. */
export interface ModuleDefinition {
  name: string;
  migrations: Record<string, Migration>;
  staffNavigation?: StaffNavItem[];
}

/** A module once built: it registers its routes, jobs, subscriptions and templates. */
export interface ModuleInstance {
  register(app: FastifyInstance): Promise<void> | void;
  /**
   * Adds the module's demo data (`npm start` with SEED_DEMO_DATA), once, after the demo council's
   * people exist. Called in the order of the services in the composition root.
   */
  seedDemoData?(demo: DemoPeople): Promise<void>;
}

/** The fictional council's demo people, for modules' demo data. */
export interface DemoPeople {
  resident: { id: string; email: string; name: string; reference: string };
  staff: ReadonlyArray<{ id: string; email: string; name: string; role: string; team: string }>;
}
