import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A fresh database on the server, dropped afterwards, so a benchmark never touches real data. */
export async function createScratchDatabase(
  serverUrl: string,
  /** A word in the name (the module measured), so a database left by a killed run says whose it is. */
  label?: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `kiln_bench_${label ? `${label}_` : ''}${randomBytes(4).toString('hex')}`;
  await admin(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

async function admin(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Runs one query on a database and closes the connection. */
export async function queryOnce<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
