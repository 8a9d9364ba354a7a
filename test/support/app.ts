import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { createApp, type Kiln } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/platform/db/index.ts';
import { seedDemoData } from '../../src/seed/index.ts';

const root = resolve(import.meta.dirname, '../..');

export interface TestKiln extends Kiln {
  /** Waits until a condition holds (jobs run in the background), or fails after `ms`. */
  eventually<T>(check: () => Promise<T | undefined | null | false>, ms?: number): Promise<T>;
}

/**
 * The real Kiln for a test file: the same createApp as production, on a fresh database. Embedded
 * PGlite by default (started from a cached, migrated template), or a fresh database on the
 * PostgreSQL server named by DATABASE_URL (`npm run test:pg`).
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestKiln> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-test-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    PUBLIC_URL: 'http://localhost:3000',
    SESSION_SECRET: randomBytes(24).toString('hex'),
    RATE_LIMIT_SIGN_IN_PER_MINUTE: '1000',
    RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '1000',
    ...env,
  });
  const { database, drop } = process.env.DATABASE_URL
    ? await freshServerDatabase(process.env.DATABASE_URL)
    : { database: await openDatabase({ loadDataDir: await embeddedTemplate() }), drop: async () => {} };
  const kiln = await createApp({ config, database, jobPollingSeconds: 0.5 });
  await seedDemoData(kiln);
  return {
    ...kiln,
    async close() {
      await kiln.close();
      await database.close();
      await drop();
    },
    eventually: (check, ms = 15_000) => eventually(check, ms),
  };
}

export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freshServerDatabase(url: string): Promise<{ database: Database; drop: () => Promise<void> }> {
  const name = `kiln_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const testUrl = new URL(url);
  testUrl.pathname = `/${name}`;
  const database = await openDatabase({ url: testUrl.toString(), poolSize: 5 });
  return {
    database,
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      // On a busy machine the job queue's pool may still be closing: forcing the drop then kills a
      // connection whose error surfaces in the next test. Give it a moment to leave first.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const { rows } = await c.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where datname = $1',
          [name],
        );
        if (rows[0]?.n === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

// A migrated embedded database, dumped once per change of the schema and reused by every test file.
async function embeddedTemplate(): Promise<Blob> {
  const hash = createHash('sha256');
  for (const file of schemaFiles(join(root, 'src'))) hash.update(readFileSync(file));
  hash.update(readFileSync(join(root, 'node_modules/pg-boss/package.json')));
  const dir = join(root, '.cache/test-db');
  const file = join(dir, `template-${hash.digest('hex').slice(0, 16)}.tar.gz`);
  if (!existsSync(file)) {
    const database = await openDatabase({});
    const kiln = await createApp({
      config: loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'kiln-t-')),
      }),
      database,
    });
    await kiln.close();
    const dump = await database.dump!();
    mkdirSync(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, Buffer.from(await dump.arrayBuffer()));
    renameSync(temp, file);
    await database.close();
  }
  return new Blob([readFileSync(file)]);
}

function schemaFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...schemaFiles(path));
    else if (/schema\.ts$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}
