import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, rootDir, startServer, type Server } from './processes.ts';

export interface KilnOptions {
  /** Unset: the embedded database in a fresh temporary folder, as `npm start` uses it. */
  databaseUrl?: string;
  /** Start through `npm start` (the real command) rather than node directly. */
  viaNpm?: boolean;
  /** Write a CPU profile (node --cpu-prof) into this folder when the server stops. */
  cpuProfileDir?: string;
  env?: Record<string, string>;
}

/**
 * Starts Kiln as a production would run it, in its own process: NODE_ENV=production (templates
 * compiled once and cached), workers on, demo data seeded, logging at warn so logging is not measured.
 */
export async function startKiln(options: KilnOptions = {}): Promise<Server> {
  const port = await freePort();
  const dataDir = options.databaseUrl ? undefined : mkdtempSync(join(tmpdir(), 'kiln-bench-'));
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    RUN_WORKERS: 'true',
    SEED_DEMO_DATA: 'true',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : { DATA_DIR: dataDir! }),
    ...options.env,
  };
  const nodeArgs = [
    ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    '--import',
    'tsx',
    'src/main.ts',
  ];
  const viaNpm = options.viaNpm && !options.cpuProfileDir;
  const server = await startServer({
    name: `Kiln (${options.databaseUrl ? 'PostgreSQL' : 'embedded'})`,
    command: viaNpm ? 'npm' : process.execPath,
    args: viaNpm ? ['start', '--silent'] : nodeArgs,
    env,
    unsetEnv: options.databaseUrl ? [] : ['DATABASE_URL'],
    port,
    marker: 'src/main.ts',
  });
  return {
    ...server,
    async stop() {
      await server.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The bare Fastify hello-world baseline, in its own process like Kiln. */
export async function startBaseline(): Promise<Server> {
  const port = await freePort();
  return startServer({
    name: 'Bare Fastify',
    command: process.execPath,
    args: ['--import', 'tsx', join(rootDir, 'bench/support/hello-fastify.ts')],
    env: { PORT: String(port), NODE_ENV: 'production' },
    port,
    marker: 'hello-fastify.ts',
  });
}
