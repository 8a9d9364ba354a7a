import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * Server-side prepared statements for the statements Kiln repeats: each connection parses a
 * statement's text once and then only binds and executes it. Unnamed statements are parsed and
 * analysed on every call; for the short inserts of a submission that was a third of PostgreSQL's
 * time, and for the job queue's insert more than its execution.
 *
 * Named only when the text has parameters (begin/commit stay on the simple protocol), has been
 * seen twice (one-off statements such as migrations are never kept), and selects no `*`: a
 * prepared `select *` fails with "cached plan must not change result type" once a migration
 * adds a column, and a rolling deploy runs old processes against the new schema. A statement
 * that still fails that way is never named again.
 */
export class PreparedStatements {
  private readonly names = new Map<string, string>();
  private readonly seen = new Map<string, number>();
  private readonly refused = new Set<string>();

  constructor(private readonly maxStatements = 1000) {}

  /** The query config for pg: named when the text is worth preparing. */
  config(text: string, values: readonly unknown[] | undefined): pg.QueryConfig {
    const name = values && values.length > 0 ? this.nameFor(text) : undefined;
    const list = values ? [...values] : undefined;
    return name ? { name, text, values: list } : { text, values: list };
  }

  private nameFor(text: string): string | undefined {
    const known = this.names.get(text);
    if (known) return known;
    if (this.refused.has(text) || this.names.size >= this.maxStatements) return undefined;
    const count = (this.seen.get(text) ?? 0) + 1;
    if (count < 2) {
      if (this.seen.size < this.maxStatements * 4) this.seen.set(text, count);
      return undefined;
    }
    this.seen.delete(text);
    if (selectsStar(text)) {
      this.refused.add(text);
      return undefined;
    }
    const name = `kiln_${this.names.size + 1}`;
    this.names.set(text, name);
    return name;
  }

  /** After a failure: a prepared statement whose result changed shape is not prepared again. */
  failed(text: string, error: unknown): void {
    if ((error as { code?: string }).code === '0A000' && this.names.delete(text)) this.refused.add(text);
  }

  /** A pool whose clients prepare repeated statements; the same wrapper for the same client. */
  wrap(pool: pg.Pool): PostgresPool {
    const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
    const query = (client: pg.PoolClient, text: unknown, values?: readonly unknown[]) => {
      // Kysely's streaming passes a Cursor object: that goes through untouched.
      if (typeof text !== 'string') return client.query(text as pg.QueryConfig);
      return client.query(this.config(text, values)).catch((error: unknown) => {
        this.failed(text, error);
        throw error;
      });
    };
    const wrapClient = (client: pg.PoolClient): PostgresPoolClient => ({
      query: ((text: unknown, values?: readonly unknown[]) =>
        query(client, text, values)) as unknown as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy),
    });
    return {
      connect: async () => {
        const client = await pool.connect();
        let wrapper = wrappers.get(client);
        if (!wrapper) {
          wrapper = wrapClient(client);
          wrappers.set(client, wrapper);
        }
        return wrapper;
      },
      end: () => pool.end(),
    };
  }
}

/**
 * Whether a statement returns a whole table's columns: a `*` straight after `select`, `returning`,
 * `distinct`, a comma or a table name (`t.*`). A multiplication follows a value, not one of those.
 */
export function selectsStar(text: string): boolean {
  return /(?:\bselect|\breturning|\bdistinct|,|\.)\s*\*/i.test(text);
}
