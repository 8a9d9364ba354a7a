import { tables, type Db } from '../../platform/db/index.ts';
import type { CasesTables } from './schema.ts';

export type CaseRow = CasesTables['cases'];
export type NewCaseRow = Omit<
  CaseRow,
  | 'id'
  | 'created_at'
  | 'updated_at'
  | 'resolved_at'
  | 'closed_at'
  | 'status'
  | 'status_reason'
  | 'assigned_to'
>;

const t = (db: Db) => tables<CasesTables>(db);

/** Inserts a case unless one with the same idempotency key exists; returns the case either way. */
export async function insertCase(db: Db, row: NewCaseRow): Promise<{ case: CaseRow; created: boolean }> {
  const inserted = await t(db)
    .insertInto('cases')
    .values({ ...row, answers: JSON.stringify(row.answers) } as never)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { case: inserted, created: true };
  const existing = await t(db)
    .selectFrom('cases')
    .selectAll()
    .where('idempotency_key', '=', row.idempotency_key!)
    .executeTakeFirstOrThrow();
  return { case: existing, created: false };
}

export async function insertCaseUpdate(
  db: Db,
  update: Omit<CasesTables['case_updates'], 'id' | 'created_at'>,
): Promise<void> {
  await t(db)
    .insertInto('case_updates')
    .values({ ...update, detail: JSON.stringify(update.detail ?? {}) } as never)
    .execute();
}

export async function findCaseByReference(db: Db, reference: string): Promise<CaseRow | undefined> {
  return t(db).selectFrom('cases').selectAll().where('reference', '=', reference).executeTakeFirst();
}

export async function findCase(db: Db, id: string): Promise<CaseRow | undefined> {
  return t(db).selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listCasesForResident(db: Db, residentId: string): Promise<CaseRow[]> {
  return t(db)
    .selectFrom('cases')
    .selectAll()
    .where('resident_id', '=', residentId)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function listCaseUpdates(db: Db, caseId: string) {
  return t(db).selectFrom('case_updates').selectAll().where('case_id', '=', caseId).orderBy('id').execute();
}
