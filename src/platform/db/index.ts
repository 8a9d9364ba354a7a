import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, sql, type Migration, Migrator } from 'kysely';
import pg from 'pg';
import { Mutex } from './mutex.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { PreparedStatements } from './prepared.ts';

/** The query builder over Kysely's untyped root; modules narrow it with `tables<T>()`. */
export type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Views a database handle (or transaction) through a module's own table types. */
export function tables<T>(db: Db): Kysely<T> {
  return db as Kysely<T>;
}

/** What pg-boss needs to run SQL on a connection it does not own. */
export interface SqlExecutor {
  executeSql(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface Database {
  db: Db;
  kind: 'embedded' | 'postgres';
  /** How the job queue reaches the database: its own pool on a server, the shared connection when embedded. */
  jobConnection: { connectionString: string } | { db: SqlExecutor };
  close(): Promise<void>;
  /** Embedded only: the whole database as a tarball, to start other instances from. */
  dump?: () => Promise<Blob>;
}

export interface DatabaseOptions {
  url?: string;
  /** Folder for the embedded database; omit for an in-memory one. */
  dataDir?: string;
  poolSize?: number;
  /** PostgreSQL server only: prepare repeated statements once per connection (default true). */
  preparedStatements?: boolean;
  /** A dump of a migrated embedded database to start from (tests use one to skip migrations). */
  loadDataDir?: Blob;
}

// node-postgres returns int8 (counts, bigserial ids) as strings; PGlite returns numbers. Make them agree.
pg.types.setTypeParser(20, (v) => Number(v));

/** Opens the database: a PostgreSQL server when a URL is given, otherwise embedded PGlite. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // A server that does not answer fails the request (503, try again) rather than hanging it.
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection dropped by a restarting server is discarded; the pool opens a new one
    // on the next query. Unhandled, this event would stop the process.
    pool.on('error', () => {});
    // A connection ended while a query holds it errors that query (503, try again) and also emits
    // 'error' on the client, which the pool only listens for while the client is idle.
    pool.on('connect', (client) => client.on('error', () => {}));
    const dialectPool = options.preparedStatements === false ? pool : new PreparedStatements().wrap(pool);
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: dialectPool }) }); // eslint-disable-line @typescript-eslint/no-explicit-any
    return {
      db,
      kind: 'postgres',
      jobConnection: { connectionString: options.url },
      close: () => db.destroy(),
    };
  }
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pglite = await PGlite.create(options.dataDir ? `file://${options.dataDir}` : undefined, {
    loadDataDir: options.loadDataDir,
  });
  const mutex = new Mutex();
  const db = new Kysely<any>({ dialect: new PGliteDialect(pglite, mutex) }); // eslint-disable-line @typescript-eslint/no-explicit-any
  const executor: SqlExecutor = {
    // pg-boss's installer sends several statements in one string without parameters: PGlite's exec runs those.
    executeSql: (text, values) =>
      mutex.runExclusive(async () => {
        if (values && values.length > 0) return { rows: (await pglite.query(text, values)).rows };
        const results = await pglite.exec(text);
        return { rows: results.at(-1)?.rows ?? [] };
      }),
  };
  return {
    db,
    kind: 'embedded',
    jobConnection: { db: executor },
    close: () => db.destroy(),
    dump: () => mutex.runExclusive(async () => (await pglite.dumpDataDir('gzip')) as Blob),
  };
}

/** Lets the job queue write inside the caller's transaction, so a job exists only if the change commits. */
export function executorFor(tx: Db): SqlExecutor {
  return {
    executeSql: async (text, values) => {
      const result = await tx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

/** Applies every pending migration, in name order, and fails on the first error. */
export async function migrate(db: Db, migrations: Record<string, Migration>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'kiln_migrations',
    migrationLockTableName: 'kiln_migrations_lock',
    // Modules number their migrations in their own ranges, so a new module's first migration may
    // sort before another module's latest: order is by name, and each runs once.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(error)}`, {
      cause: error,
    });
  }
  return (results ?? []).map((r) => r.migrationName);
}

/** A migration written as plain SQL, run statement by statement (the same on PGlite and PostgreSQL). */
export function sqlMigration(up: string): Migration {
  return {
    up: async (db) => {
      for (const statement of splitStatements(up)) await sql.raw(statement).execute(db);
    },
  };
}

// Splits on semicolons outside dollar-quoted bodies, string literals and -- comments.
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let current = '';
  let inDollar = false;
  let inString = false;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i];
    if (!inString && script.startsWith('$$', i)) {
      inDollar = !inDollar;
      current += '$$';
      i++;
      continue;
    }
    if (!inDollar && !inString && script.startsWith('--', i)) {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end;
      current += '\n';
      continue;
    }
    if (!inDollar && ch === "'") inString = !inString;
    if (ch === ';' && !inDollar && !inString) {
      if (current.trim()) out.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}
