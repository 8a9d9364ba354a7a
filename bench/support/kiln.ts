import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { childProcesses, freePort, rootDir, startServer, type Server } from './processes.ts';

export interface KilnOptions {
  /** Unset: the embedded database in a fresh temporary folder, as `npm start` uses it. */
  databaseUrl?: string;
  /** Start through `npm start` (the real command) rather than node directly. */
  viaNpm?: boolean;
  /** Write a CPU profile (node --cpu-prof) into this folder when the server stops. */
  cpuProfileDir?: string;
  env?: Record<string, string>;
}

/** Settings of a Kiln serving on `port` as in production, with the demo data, logging only warnings. */
function productionEnv(port: number): Record<string, string> {
  return {
    NODE_ENV: 'production',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    SEED_DEMO_DATA: 'true',
  };
}

/**
 * Starts Kiln as a production would run it, in its own process: NODE_ENV=production (templates
 * compiled once and cached), workers on, demo data seeded, logging at warn so logging is not measured.
 */
export async function startKiln(options: KilnOptions = {}): Promise<Server> {
  const port = await freePort();
  const dataDir = options.databaseUrl ? undefined : mkdtempSync(join(tmpdir(), 'kiln-bench-'));
  const env: Record<string, string> = {
    ...productionEnv(port),
    RUN_WORKERS: 'true',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : { DATA_DIR: dataDir! }),
    ...options.env,
  };
  const nodeArgs = [
    ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
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

/**
 * Kiln laid out as production runs it on a server database (docs/operations.md): `kiln migrate`
 * once (with the demo data), then `kiln web` with WEB_PROCESSES copies sharing one port, and one
 * `kiln worker` for the jobs. The returned server names every process, so CPU is counted for all.
 */
export async function startKilnLayout(options: {
  databaseUrl: string;
  webProcesses: number;
  env?: Record<string, string>;
}): Promise<Server> {
  const [port, workerPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    ...productionEnv(port),
    DATABASE_URL: options.databaseUrl,
    ...options.env,
  };
  const cli = ['--import', 'tsx', 'src/cli.ts'];
  const migrated = spawnSync(process.execPath, [...cli, 'migrate'], {
    cwd: rootDir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (migrated.status !== 0) throw new Error(`kiln migrate failed:\n${migrated.stdout}${migrated.stderr}`);
  const worker = await startServer({
    name: 'Kiln worker',
    command: process.execPath,
    args: [...cli, 'worker'],
    env: { ...env, WORKER_HEALTH_PORT: String(workerPort) },
    port: workerPort,
    marker: 'src/cli.ts',
    healthPath: '/healthz',
  });
  const web = await startServer({
    name: `Kiln web x${options.webProcesses}`,
    command: process.execPath,
    args: [...cli, 'web'],
    env: { ...env, WEB_PROCESSES: String(options.webProcesses) },
    port,
    marker: 'src/cli.ts',
  }).catch(async (error) => {
    await worker.stop();
    throw error;
  });
  // Until every copy listens, the first takes every connection (and keeps it alive).
  for (
    let waited = 0;
    options.webProcesses > 1 && !web.output().includes('web processes are listening');
    waited += 250
  ) {
    if (waited > 120_000) {
      await Promise.all([web.stop(), worker.stop()]);
      throw new Error(`Not every web process started:\n${web.output()}`);
    }
    await new Promise((ok) => setTimeout(ok, 250));
  }
  return {
    ...web,
    name: `Kiln (kiln web x${options.webProcesses} and kiln worker)`,
    pids: () => [web.pid, ...childProcesses(web.pid), worker.pid],
    output: () => `${web.output()}\n${worker.output()}`,
    async stop() {
      await web.stop();
      await worker.stop();
    },
  };
}
