import { createHash } from 'node:crypto';
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import { sql, type RawBuilder } from 'kysely';
import type { Actor } from '../actor.ts';
import { tables, type Db } from '../db/index.ts';

interface AuditRow {
  id: number;
  at: Date;
  actor_type: string;
  actor_id: string | null;
  action: string;
  subject_type: string | null;
  subject_id: string | null;
  detail: unknown;
  chain_position: number | null;
  prev_hash: string | null;
  hash: string | null;
}
interface AuditTables {
  audit_log: AuditRow;
}

export interface AuditEntry {
  actor: Actor;
  /** What happened, as `noun.verb`: `case.assigned`, `staff.signed_in`. */
  action: string;
  subjectType?: string;
  subjectId?: string;
  detail?: Record<string, unknown>;
}

/** Appends an entry in the caller's transaction. It is sealed into the hash chain shortly after commit. */
export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await recordAudits(db, [entry]);
}

const detailOf = (entry: Omit<AuditEntry, 'subjectId'>) =>
  JSON.stringify(
    (entry.actor.onBehalfOf ? { ...entry.detail, onBehalfOf: entry.actor.onBehalfOf } : entry.detail) ?? {},
  );

/** Appends several entries in one statement (one round trip), in the order given. */
export async function recordAudits(db: Db, entries: AuditEntry[]): Promise<void> {
  if (!entries.length) return;
  await tables<AuditTables>(db)
    .insertInto('audit_log')
    .values(
      entries.map(
        (entry) =>
          ({
            actor_type: entry.actor.type,
            actor_id: entry.actor.id,
            action: entry.action,
            subject_type: entry.subjectType ?? null,
            subject_id: entry.subjectId ?? null,
            detail: detailOf(entry),
          }) as never,
      ),
    )
    .execute();
}

/** An insert of one entry, to run inside another statement (a CTE of it): one round trip for both. */
export function auditInsert(entry: AuditEntry): RawBuilder<unknown> {
  return sql`insert into audit_log (actor_type, actor_id, action, subject_type, subject_id, detail)
    values (${entry.actor.type}, ${entry.actor.id}, ${entry.action}, ${entry.subjectType ?? null},
            ${entry.subjectId ?? null}, ${detailOf(entry)}::jsonb)`;
}

/**
 * An insert of one entry for each row of a CTE earlier in the same statement (`with found as
 * (...), audited as (<this>) select ... from found`), its subject id taken from a column of the
 * row: what is read and the entries saying it was read then commit together, in one round trip.
 */
export function auditEachRow(
  entry: Omit<AuditEntry, 'subjectId'>,
  rows: { from: string; subjectId: string; where: RawBuilder<boolean>; orderBy: string[] },
): RawBuilder<unknown> {
  return sql`insert into audit_log (actor_type, actor_id, action, subject_type, subject_id, detail)
    select ${entry.actor.type}, ${entry.actor.id}, ${entry.action}, ${entry.subjectType ?? null},
           ${sql.ref(rows.subjectId)}::text, ${detailOf(entry)}::jsonb
      from ${sql.table(rows.from)}
     where ${rows.where}
     order by ${sql.join(rows.orderBy.map((c) => sql.ref(c)))}`;
}

const GENESIS = '0'.repeat(64);
const HASHES_BETWEEN_YIELDS = 100;
const SEAL_LOCK = 715_001;

/**
 * Seals committed entries into the chain. Entries are written without a hash so that audited
 * writes never queue behind one another; the sealer takes only rows whose transactions are all
 * finished (xid below the snapshot's xmin), so no earlier row can still appear behind them.
 */
export async function sealAuditLog(db: Db, batch = 1000): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const { rows: lock } = await sql<{
      ok: boolean;
    }>`select pg_try_advisory_xact_lock(${SEAL_LOCK}) as ok`.execute(tx);
    if (!lock[0]?.ok) return 0;
    const t = tables<AuditTables>(tx);
    const last = await t
      .selectFrom('audit_log')
      .select(['chain_position', 'hash'])
      .where('chain_position', 'is not', null)
      .orderBy('chain_position', 'desc')
      .limit(1)
      .executeTakeFirst();
    const pending = await t
      .selectFrom('audit_log')
      .selectAll()
      .where('hash', 'is', null)
      .where(sql<boolean>`xid < pg_snapshot_xmin(pg_current_snapshot())`)
      .orderBy('id')
      .limit(batch)
      .execute();
    let position = last?.chain_position ?? 0;
    let prev = last?.hash ?? GENESIS;
    const sealed: Array<{ id: number; position: number; prev: string; hash: string }> = [];
    for (const row of pending) {
      position += 1;
      const hash = entryHash(prev, row);
      sealed.push({ id: row.id, position, prev, hash });
      prev = hash;
      // Hashing a thousand entries takes some 10 ms: let requests in between, so the sealer in a
      // process that also serves pages does not hold them up.
      if (sealed.length % HASHES_BETWEEN_YIELDS === 0) await yieldToRequests();
    }
    // One statement per batch: a row at a time cost a round trip per audited write.
    for (let i = 0; i < sealed.length; i += 500) {
      const part = sealed.slice(i, i + 500);
      await sql`
        update audit_log as a
           set chain_position = v.position, prev_hash = v.prev, hash = v.hash
          from (select * from unnest(
                 ${sql.val(part.map((r) => r.id))}::bigint[],
                 ${sql.val(part.map((r) => r.position))}::bigint[],
                 ${sql.val(part.map((r) => r.prev))}::text[],
                 ${sql.val(part.map((r) => r.hash))}::text[]
               ) as u(id, position, prev, hash)) as v
         where a.id = v.id`.execute(tx);
    }
    return pending.length;
  });
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  unsealed: number;
  firstBroken?: { id: number; chainPosition: number; reason: string };
}

/** Recomputes the chain from the start and names the first entry that does not match. */
export async function verifyAuditChain(db: Db): Promise<ChainReport> {
  const t = tables<AuditTables>(db);
  let prev = GENESIS;
  let expectedPosition = 1;
  let checked = 0;
  let after = 0;
  for (;;) {
    const rows = await t
      .selectFrom('audit_log')
      .selectAll()
      .where('chain_position', '>=', after + 1)
      .orderBy('chain_position')
      .limit(5000)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const position = row.chain_position!;
      const broken = (reason: string): ChainReport => ({
        ok: false,
        checked,
        unsealed: 0,
        firstBroken: { id: row.id, chainPosition: position, reason },
      });
      if (position !== expectedPosition) return broken(`entry ${expectedPosition} of the chain is missing`);
      if (row.prev_hash !== prev) return broken('its previous-hash does not match the entry before it');
      if (row.hash !== entryHash(prev, row)) return broken('its contents do not match its hash');
      prev = row.hash!;
      expectedPosition += 1;
      checked += 1;
      after = position;
    }
  }
  const unsealed = await t
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('hash', 'is', null)
    .executeTakeFirstOrThrow();
  return { ok: true, checked, unsealed: Number(unsealed.n) };
}

function entryHash(prev: string, row: AuditRow): string {
  const body = canonicalJson({
    id: row.id,
    at: row.at.toISOString(),
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    detail: row.detail,
  });
  return createHash('sha256').update(`${prev}\n${body}`).digest('hex');
}

/** JSON with object keys sorted at every depth, so equal data always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
