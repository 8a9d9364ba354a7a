import cluster from 'node:cluster';
import { pathToFileURL } from 'node:url';
import { allMigrations, createApp, type Kiln } from './app.ts';
import { loadConfig, type Config } from './config.ts';
import { backupCommand, backupUsage, restoreCommand, restoreUsage } from './platform/backup/cli.ts';
import { migrate, openDatabase } from './platform/db/index.ts';
import { startHealthServer } from './platform/ops/health-server.ts';
import { runCopies } from './platform/ops/web-copies.ts';
import { seedDemoData } from './seed/index.ts';

/**
 * Kiln's command line: `kiln <command>` (npm run kiln -- <command>). Each command takes the
 * validated configuration and its own arguments and resolves with the process's exit code;
 * the long-running ones (all, web, worker) resolve once they have shut down.
 */
export interface Command {
  summary: string;
  usage?: string;
  run(config: Config, argv: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  all: {
    summary: 'web server and workers in one process, demo data added (what npm start runs)',
    run: (_config, argv) => serve('all', argv),
  },
  web: {
    summary: 'the web server only: no job workers, no sensor consumers (run any number)',
    run: (config, argv) =>
      config.WEB_PROCESSES > 1 && cluster.isPrimary ? serveCopies(config) : serve('web', argv),
  },
  worker: {
    summary: 'jobs, scheduled tasks and sensor consumers; no pages (run any number)',
    run: (_config, argv) => serve('worker', argv),
  },
  migrate: {
    summary: 'applies pending migrations (and the demo data when SEED_DEMO_DATA=true), then exits',
    run: migrateCommand,
  },
  // Backups and restores: src/platform/backup.
  backup: {
    summary: 'writes a checksummed backup of the database and uploaded files',
    usage: backupUsage,
    run: backupCommand,
  },
  restore: {
    summary: 'rebuilds Kiln from a backup, checking its checksums and the audit chain',
    usage: restoreUsage,
    run: restoreCommand,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    'Usage: kiln <command> [options]',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Settings come from the environment (see .env.example).',
  ].join('\n');
}

/** Runs one command; resolves with its exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
  return command.run(config, rest);
}

type ProcessKind = 'all' | 'web' | 'worker';

/** `kiln web` with WEB_PROCESSES above 1: that many web servers sharing PORT, one per core. */
async function serveCopies(config: Config): Promise<number> {
  if (!config.DATABASE_URL) {
    console.error(
      'WEB_PROCESSES above 1 needs DATABASE_URL: only one process can open the embedded database',
    );
    return 1;
  }
  console.log(`Kiln starting ${config.WEB_PROCESSES} web processes on port ${config.PORT}`);
  return runCopies({ count: config.WEB_PROCESSES, log: (message) => console.log(message) });
}

/** Starts a long-running process and resolves with its exit code once SIGTERM or SIGINT has stopped it. */
async function serve(kind: ProcessKind, _argv: string[]): Promise<number> {
  if (kind === 'web') {
    // No job handlers, schedules or sensor consumers here, whatever the environment says.
    process.env.RUN_WORKERS = 'false';
    process.env.WELLBEING_INGEST = 'false';
  } else if (kind === 'worker') {
    process.env.RUN_WORKERS = 'true';
  }
  const config = loadConfig();
  const migrateOnStart = config.MIGRATE_ON_START ?? kind === 'all';
  const kiln = await createApp({ config, migrate: migrateOnStart, processName: kind });
  const log = kiln.app.log;
  if (kind !== 'all' && kiln.platform.database.kind === 'embedded') {
    log.warn(
      'kiln %s is using the embedded database in %s: only one process can open it; set DATABASE_URL to run web and worker apart',
      kind,
      config.DATA_DIR,
    );
  }
  if (kind === 'all' && config.SEED_DEMO_DATA) {
    const seeded = await seedDemoData(kiln);
    if (seeded) log.info('Demo data for %s added', config.COUNCIL_NAME);
  }

  let health: Awaited<ReturnType<typeof startHealthServer>> | null = null;
  if (kind === 'worker') {
    if (config.WORKER_HEALTH_PORT !== undefined) {
      health = await startHealthServer(kiln.platform.ops, {
        host: config.HOST,
        port: config.WORKER_HEALTH_PORT,
        metricsToken: config.METRICS_TOKEN,
      });
      log.info('Kiln worker health at http://%s:%d/healthz', config.HOST, config.WORKER_HEALTH_PORT);
    }
    log.info(
      'Kiln worker running jobs for %s (%s database)',
      config.COUNCIL_NAME,
      kiln.platform.database.kind,
    );
  } else {
    await kiln.app.listen({ host: config.HOST, port: config.PORT });
    log.info(
      'Kiln is serving %s at %s (%s database%s)',
      config.COUNCIL_NAME,
      config.PUBLIC_URL,
      kiln.platform.database.kind,
      kind === 'web' ? ', web only' : '',
    );
  }
  return waitForStop(kiln, health, config.SHUTDOWN_TIMEOUT_SECONDS);
}

/** On SIGTERM or SIGINT: stop accepting, drain requests, let running jobs finish, close pools. */
function waitForStop(
  kiln: Kiln,
  health: { close(): Promise<unknown> } | null,
  timeoutSeconds: number,
): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      kiln.app.log.info('Stopping on %s', signal);
      const timer = setTimeout(() => {
        kiln.app.log.error('Still stopping after %d s; exiting anyway', timeoutSeconds);
        resolve(1);
      }, timeoutSeconds * 1000);
      timer.unref();
      // The health listener goes last, so orchestrators see the process alive while it drains.
      kiln
        .close()
        .then(() => health?.close())
        .then(
          () => {
            clearTimeout(timer);
            kiln.app.log.info('Stopped');
            resolve(0);
          },
          (error: unknown) => {
            clearTimeout(timer);
            kiln.app.log.error({ err: error }, 'Error while stopping');
            resolve(1);
          },
        );
    };
    // Kept for repeated signals too: a second one while draining must not end the process before
    // the database is closed (the timeout above bounds the wait).
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** `kiln migrate`: the database's migrations, the job queue's tables and queues, and demo data if wanted. */
async function migrateCommand(config: Config, argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log('kiln migrate\n  ' + commands.migrate!.summary);
    return 0;
  }
  const started = Date.now();
  try {
    const database = await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolSize: 2,
    });
    let applied: string[];
    try {
      applied = await migrate(database.db, allMigrations());
    } finally {
      await database.close();
    }
    console.log(applied.length ? `Applied ${applied.length} migrations` : 'No migrations to apply');
    // The job queue creates its own tables and each job's queue when it starts: do it now, once,
    // rather than in every process of a deploy at the same moment.
    process.env.RUN_WORKERS = 'false';
    process.env.WELLBEING_INGEST = 'false';
    const kiln = await createApp({
      config: { ...config, RUN_WORKERS: false, LOG_LEVEL: 'warn' },
      migrate: false,
      processName: 'migrate',
    });
    try {
      if (config.SEED_DEMO_DATA && (await seedDemoData(kiln))) {
        console.log(`Demo data for ${config.COUNCIL_NAME} added`);
      }
    } finally {
      await kiln.close();
    }
    console.log(`Database ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // migrate() names the migration that failed; a connection error names none.
    console.error(
      message.startsWith('Migration ') && !message.startsWith('Migration (unknown)')
        ? message
        : `Migration failed: ${error instanceof Error && error.cause instanceof Error ? error.cause.message : message}`,
    );
    return 1;
  }
}

// Run as a script (node --import tsx src/cli.ts <command>); bin/kiln.js and src/main.ts call main().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await main(process.argv.slice(2)));
}
