import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from './config.ts';
import { sealAuditLog } from './platform/audit/index.ts';
import { registerIdentity, type StaffNavItem, type StaffRoute } from './platform/auth/identity.ts';
import { registerAuthRoutes } from './platform/auth/routes.ts';
import { apiKeysNavigation } from './platform/auth/api-keys-routes.ts';
import { oidcSettingsFrom } from './platform/auth/oidc.ts';
import { registerSessions } from './platform/auth/sessions.ts';
import { migrate, openDatabase, type Database } from './platform/db/index.ts';
import { platformMigrations } from './platform/db/platform-schema.ts';
import { Events } from './platform/events/index.ts';
import { Files } from './platform/files/index.ts';
import './platform/http/fastify-types.ts';
import { createServer } from './platform/http/server.ts';
import { PageCache } from './platform/http/page-cache.ts';
import { registerInputGuard } from './platform/http/input-guard.ts';
import { Jobs } from './platform/jobs/index.ts';
import { Ops } from './platform/ops/registry.ts';
import { sql } from 'kysely';
import type { ModuleDefinition, Platform } from './platform/module.ts';
import { govukNotifyAdapter, sandboxAdapter } from './platform/notify/adapters.ts';
import { Notify } from './platform/notify/index.ts';
import { registerPlatformPages } from './platform/pages.ts';
import { buildStylesheet, createViews } from './platform/views/index.ts';
import { casesModule, createCases } from './modules/cases/index.ts';
import { accountsModule, createAccounts } from './modules/accounts/index.ts';
import { createSigning, signingModule } from './modules/signing/index.ts';
import { catalogueModule, createCatalogue } from './modules/catalogue/index.ts';
import { createRequests, requestsModule, tileOrigin, wards } from './modules/requests/index.ts';
import { createEngage, engageModule } from './modules/engage/index.ts';
import { assistantModule, createAssistant } from './modules/assistant/index.ts';
import { createWellbeing, wellbeingModule } from './modules/wellbeing/index.ts';
import { registerApiDocs } from './platform/http/openapi.ts';
import { createInsights, insightsDependencies, insightsModule } from './modules/insights/index.ts';
import { careModule, createCare } from './modules/care/index.ts';
import { createCouncilTax, createPayments, paymentsModule } from './modules/payments/index.ts';
import { bookingsModule, createBookings } from './modules/bookings/index.ts';
import { createPlanning, planningModule } from './modules/planning/index.ts';

/** Every module, in the order their tables depend on one another. */
export const modules: ModuleDefinition[] = [
  casesModule,
  accountsModule,
  paymentsModule,
  signingModule,
  catalogueModule,
  requestsModule,
  engageModule,
  careModule,
  assistantModule,
  wellbeingModule,
  bookingsModule,
  planningModule,
  insightsModule,
];

export interface AppOptions {
  config?: Config;
  /** An already-open database (tests share a prepared one). */
  database?: Database;
  /** Job polling interval; tests use a short one. */
  jobPollingSeconds?: number;
  /** Apply pending migrations before starting (default true; `kiln web` and `kiln worker` leave it to `kiln migrate`). */
  migrate?: boolean;
  /** The kind of process, for metrics labels: all, web, worker or migrate. */
  processName?: string;
}

export interface Kiln {
  app: FastifyInstance;
  platform: Platform;
  services: Awaited<ReturnType<typeof buildServices>>;
  /** Every /staff route that requires a permission. */
  staffRoutes: StaffRoute[];
  close(): Promise<void>;
}

function buildServices(platform: Platform) {
  const payments = createPayments(platform);
  const cases = createCases(platform);
  const catalogue = createCatalogue(platform, { cases, payments: payments.service });
  const accounts = createAccounts(platform, { cases: cases.service, drafts: catalogue.service });
  const signing = createSigning(platform, { accounts: accounts.service });
  const councilTax = createCouncilTax(platform, {
    payments,
    accounts: accounts.service,
    letters: signing.service,
  });
  const requests = createRequests(platform, { cases: cases.service });
  const planning = createPlanning(platform, { payments: payments.service, accounts: accounts.service });
  const wellbeing = createWellbeing(platform, { accounts: accounts.service });
  const bookings = createBookings(platform, {
    payments: payments.service,
    accounts: accounts.service,
    directDebit: payments.directDebit,
    signing: signing.service,
  });
  const care = createCare(platform, {
    cases: cases.service,
    accounts: accounts.service,
    bookings: bookings.service,
  });
  const assistant = createAssistant(platform, {
    catalogue: catalogue.service,
    requests: requests.service,
    cases: cases.service,
    accounts: accounts.service,
    bookings: bookings.service,
  });
  const engage = createEngage(platform, {
    cases: cases.service,
    catalogue: catalogue.service,
    accounts: accounts.service,
    bookings: bookings.service,
  });
  const insights = createInsights(
    platform,
    insightsDependencies({ cases, catalogue, signing, engage, wards }),
  );
  return {
    cases,
    accounts,
    payments,
    signing,
    catalogue,
    requests,
    assistant,
    wellbeing,
    care,
    bookings,
    councilTax,
    planning,
    insights,
    engage,
  };
}

/** The composition root: config, then platform, then modules' services, then the HTTP app. */
export async function createApp(options: AppOptions = {}): Promise<Kiln> {
  const config = options.config ?? loadConfig();
  const database =
    options.database ??
    (await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolSize: config.DATABASE_POOL_SIZE,
      preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
    }));
  if (options.migrate !== false) await migrate(database.db, allMigrations());

  const stylesheetPath = await buildStylesheet();
  const views = createViews({
    councilName: config.COUNCIL_NAME,
    demoMode: config.DEMO_MODE,
    watch: config.NODE_ENV === 'development',
  });
  const pageCache = new PageCache();
  const ops = new Ops({ processName: options.processName });
  const app = await createServer({
    ops,
    metricsToken: config.METRICS_TOKEN,
    pageCache,
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    uploadLimit: config.UPLOAD_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    secureCookies: config.secureCookies,
    secret: config.sessionSecret,
    views,
    stylesheetPath,
    imgSources: [tileOrigin()],
  });
  registerInputGuard(app);

  const jobs = new Jobs(database, {
    runWorkers: config.RUN_WORKERS,
    pollingIntervalSeconds: options.jobPollingSeconds ?? 1,
    log: (message, error) => (error ? app.log.error({ err: error }, message) : app.log.info(message)),
    onDone: (name, id, ms) => app.log.debug({ ms }, 'job %s %s done', name, id),
  });
  const events = new Events(jobs);
  events.bind(database.db);
  const adapter =
    config.NOTIFY_ADAPTER === 'govuk-notify'
      ? govukNotifyAdapter(
          requireSetting(config.NOTIFY_API_KEY, 'NOTIFY_API_KEY'),
          JSON.parse(config.NOTIFY_TEMPLATE_IDS),
        )
      : sandboxAdapter();
  const notify = new Notify(jobs, adapter, () => database.db);
  const platform: Platform = {
    config,
    database,
    db: database.db,
    jobs,
    events,
    notify,
    pageCache,
    ops,
    files: new Files(config.uploadDir, config.UPLOAD_LIMIT_BYTES),
    rateLimits: {
      submissions: { max: config.RATE_LIMIT_SUBMISSIONS_PER_MINUTE, timeWindow: '1 minute' },
      api: { max: config.RATE_LIMIT_API_PER_MINUTE, timeWindow: '1 minute' },
    },
  };

  const services = buildServices(platform);
  registerOperations(platform, services);
  const staffNavigation: StaffNavItem[] = [
    ...modules.flatMap((m) => m.staffNavigation ?? []),
    apiKeysNavigation,
  ];
  registerSessions(app, database.db, {
    ttlHours: config.SESSION_TTL_HOURS,
    secureCookies: config.secureCookies,
  });
  const staffRoutes = registerIdentity(app, database.db, staffNavigation);
  registerAuthRoutes(app, {
    db: database.db,
    notify,
    publicUrl: config.PUBLIC_URL,
    signInRateLimit: config.RATE_LIMIT_SIGN_IN_PER_MINUTE,
    councilName: config.COUNCIL_NAME,
    oidcEnabled: Boolean(oidcSettingsFrom(config)),
    oidc: oidcSettingsFrom(config),
  });
  registerPlatformPages(app, platform);
  registerApiDocs(app, { title: `${config.COUNCIL_NAME} API`, version: '1.0.0' });
  for (const service of Object.values(services)) await service.register(app);
  await app.ready();
  await jobs.start();
  if (config.RUN_WORKERS) await notify.startDispatching();

  let sealer: NodeJS.Timeout | undefined;
  if (config.RUN_WORKERS) {
    sealer = setInterval(() => {
      sealAuditLog(database.db).catch((error) => app.log.error({ err: error }, 'audit sealing failed'));
    }, 2000);
    sealer.unref();
  }

  return {
    app,
    platform,
    services,
    staffRoutes,
    async close() {
      if (sealer) clearInterval(sealer);
      await app.close();
      await jobs.stop();
      if (!options.database) await database.close();
    },
  };
}

/** Every migration, platform's and modules', keyed by name. */
export function allMigrations() {
  return Object.assign({}, platformMigrations, ...modules.map((m) => m.migrations));
}

/** Readiness checks and metrics for what the platform runs (database, queue, broker, ingestion). */
function registerOperations(platform: Platform, services: ReturnType<typeof buildServices>): void {
  const { ops, jobs } = platform;
  ops.readiness('database', async () => {
    await sql`select 1`.execute(platform.db);
  });
  ops.readiness('job queue', () => jobs.ping());
  // The broker counts only where this process consumes readings from it.
  ops.readiness('mqtt broker', async () => {
    const mqtt = services.wellbeing.mqtt();
    return mqtt ? mqtt.status().connected : true;
  });
  // Both gauges of each pair come from one query per scrape.
  const queueStats = sharedForAScrape(() => jobs.queueStats());
  ops.gauge(
    'kiln_job_queue_depth',
    'Jobs waiting to run, per queue',
    async () => new Map((await queueStats()).map((q) => [q.name, q.waiting])),
    'queue',
  );
  ops.gauge(
    'kiln_job_queue_oldest_seconds',
    'Age of the oldest job waiting, per queue',
    async () => new Map((await queueStats()).map((q) => [q.name, q.oldestSeconds])),
    'queue',
  );
  // Messages are their own queue, not jobs: their backlog is read from the notifications table.
  const notificationBacklog = sharedForAScrape(() => platform.notify.backlog());
  ops.gauge(
    'kiln_notifications_due',
    'Messages due to be sent and not yet sent',
    async () => (await notificationBacklog()).due,
  );
  ops.gauge(
    'kiln_notifications_oldest_due_seconds',
    'Age of the oldest message due to be sent and not yet sent',
    async () => (await notificationBacklog()).oldestSeconds,
  );
  const ingest = () => services.wellbeing.ingestor.metrics;
  ops.counter('kiln_wellbeing_readings_received_total', 'Sensor readings received', () => ingest().received);
  ops.counter('kiln_wellbeing_readings_stored_total', 'Sensor readings stored', () => ingest().stored);
  ops.counter(
    'kiln_wellbeing_readings_duplicate_total',
    'Sensor readings received again and not stored twice',
    () => ingest().duplicates,
  );
  ops.gauge('kiln_wellbeing_readings_buffered', 'Sensor readings held in memory', () => ingest().buffered);
}

/** One answer shared by every caller within half a second: the gauges of one scrape, one query. */
function sharedForAScrape<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => (pending ??= load().finally(() => setTimeout(() => (pending = null), 500).unref()));
}

function requireSetting(value: string | undefined, name: string): string {
  if (!value) throw new Error(`Invalid configuration:\n  ${name}: required by the chosen adapter`);
  return value;
}
