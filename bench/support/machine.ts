import { PGlite } from '@electric-sql/pglite';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { rootDir } from './processes.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
}

/** The machine the figures were measured on: they mean little without it. */
export function describeMachine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: readOsName(),
  };
}

function readOsName(): string {
  try {
    return (
      readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1] ?? process.platform
    );
  } catch {
    return process.platform;
  }
}

/** The embedded database's version: the PGlite package and the PostgreSQL inside it. */
export async function embeddedDatabaseVersion(): Promise<string> {
  const pkg = JSON.parse(
    readFileSync(join(rootDir, 'node_modules/@electric-sql/pglite/package.json'), 'utf8'),
  ) as { version: string };
  const db = await PGlite.create();
  try {
    const { rows } = await db.query<{ server_version: string }>('show server_version');
    return `PGlite ${pkg.version} (PostgreSQL ${rows[0]?.server_version ?? '?'})`;
  } finally {
    await db.close();
  }
}

/** A PostgreSQL server's version. */
export async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return `PostgreSQL ${rows[0]?.server_version ?? '?'}`;
  } finally {
    await client.end();
  }
}
