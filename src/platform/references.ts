import { sql } from 'kysely';
import type { Db } from './db/index.ts';

/** A short reference people can read aloud: no 0/O or 1/I, grouped. */
export function shortReference(prefix: string, length = 6): string {
  const alphabet = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return `${prefix}-${chars.slice(0, 4)}-${chars.slice(4)}`;
}

const ATTEMPTS = 5;

/**
 * A short reference not yet used in `table`. Six characters of 32 make about a billion, so once a
 * table holds a million rows about one new reference in a thousand is already taken, and its
 * insert would fail on the unique index: a taken one is drawn again. (Two inserts drawing the same
 * new reference at the same moment is left to that index.) Cases, created far more often, skip a
 * taken reference in their insert instead (cases/store.ts).
 */
export async function freshReference(
  db: Db,
  table: string,
  prefix: string,
  options: { column?: string; draw?: (prefix: string) => string } = {},
): Promise<string> {
  const draw = options.draw ?? shortReference;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const reference = draw(prefix);
    const { rows } = await sql`select 1 from ${sql.table(table)}
                                where ${sql.ref(options.column ?? 'reference')} = ${reference}`.execute(db);
    if (rows.length === 0) return reference;
  }
  throw new Error(`No free ${prefix} reference in ${table} after ${ATTEMPTS} attempts`);
}
