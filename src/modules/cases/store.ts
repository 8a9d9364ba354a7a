import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { IdentityTables } from '../../platform/auth/identity.ts';
import type { NotificationTables } from '../../platform/notify/index.ts';
import type { CaseStatus, CasesTables, Channel } from './schema.ts';
import type { SlaState } from './sla.ts';

export type CaseRow = CasesTables['cases'];
export type CaseUpdateRow = CasesTables['case_updates'];
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
  | 'contact_email'
> & { contact_email?: string | null };

interface Tables extends CasesTables {
  residents: IdentityTables['residents'];
  staff_users: IdentityTables['staff_users'];
  teams: IdentityTables['teams'];
  notifications: NotificationTables['notifications'];
}

const t = (db: Db) => tables<Tables>(db);

// The version a form carries: updated_at in whole milliseconds, compared in SQL so no driver rounds it.
const versionOf = sql<number>`floor(extract(epoch from cases.updated_at) * 1000)::bigint`;

type InsertedCase = Pick<CaseRow, 'id' | 'reference' | 'sla_due_at'>;

/** A write made with a case: a CTE of its statement, reading the new case from `c`. */
export type WrittenWithCase = RawBuilder<unknown>;

/**
 * Inserts a case with its first timeline entry, and what `alongside` adds for its reference (its
 * event, audit entry and acknowledgement), in one statement: atomic even outside a transaction,
 * and one round trip. A submission already made with the same idempotency key answers that case
 * (created: false) and writes nothing. A reference already taken (they are random and short, so
 * among millions of cases one in a thousand or so would clash) is replaced by `nextReference()`
 * and tried again: a conflict on either is skipped by the insert, not raised, so a caller's
 * transaction stays usable.
 */
export async function insertCase(
  db: Db,
  row: NewCaseRow,
  created: Pick<CaseUpdateRow, 'kind' | 'detail' | 'author_type' | 'author_id'>,
  nextReference: () => string,
  /** Writes made with the case, for its reference: CTEs of the statement that read `c`. */
  alongside: (reference: string) => Promise<WrittenWithCase[]> = async () => [],
): Promise<{ case: InsertedCase | CaseRow; created: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const inserted = await insertCaseOnce(db, row, created, await alongside(row.reference));
    if (inserted) return { case: inserted, created: true };
    if (row.idempotency_key) {
      const existing = await t(db)
        .selectFrom('cases')
        .selectAll()
        .where('idempotency_key', '=', row.idempotency_key)
        .executeTakeFirst();
      if (existing) return { case: existing, created: false };
    }
    if (attempt >= 5) throw new Error(`No free case reference after ${attempt} attempts`);
    row = { ...row, reference: nextReference() };
  }
}

// Named columns, never `*`: the statement is then prepared once per connection (db/prepared.ts).
async function insertCaseOnce(
  db: Db,
  row: NewCaseRow,
  created: Pick<CaseUpdateRow, 'kind' | 'detail' | 'author_type' | 'author_id'>,
  alongside: WrittenWithCase[],
): Promise<InsertedCase | undefined> {
  const insert = t(db)
    .insertInto('cases')
    .values({ ...row, answers: JSON.stringify(row.answers) } as never)
    // Any unique column: the idempotency key (a repeat) or the reference (a clash).
    .onConflict((oc) => oc.doNothing())
    .returning(['id', 'reference', 'sla_due_at']);
  const { rows } = await sql<InsertedCase>`
    with c as (${insert}),
    u as (
      insert into case_updates (case_id, kind, body, detail, author_type, author_id)
      select c.id, cast(${created.kind} as text), cast(null as text),
             cast(${JSON.stringify(created.detail ?? {})} as jsonb), cast(${created.author_type} as text),
             cast(${created.author_id} as text)
        from c)
    ${sql.join(
      alongside.map((cte) => sql`, ${cte}`),
      sql``,
    )}
    select c.id, c.reference, c.sla_due_at from c`.execute(db);
  return rows[0];
}

export async function insertCaseUpdate(
  db: Db,
  update: Omit<CaseUpdateRow, 'id' | 'created_at'>,
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

/** Locks a case for a change and returns it with its current version. */
export async function lockCase(db: Db, id: string): Promise<(CaseRow & { version: number }) | undefined> {
  const row = await t(db)
    .selectFrom('cases')
    .selectAll()
    .select(versionOf.as('version'))
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row && { ...row, version: Number(row.version) };
}

export async function findCaseWithVersion(
  db: Db,
  reference: string,
): Promise<(CaseRow & { version: number }) | undefined> {
  const row = await t(db)
    .selectFrom('cases')
    .selectAll()
    .select(versionOf.as('version'))
    .where('reference', '=', reference)
    .executeTakeFirst();
  return row && { ...row, version: Number(row.version) };
}

export type CasePatch = Partial<
  Pick<CaseRow, 'status' | 'status_reason' | 'assigned_to' | 'resolved_at' | 'closed_at'>
>;

/** Applies a change and moves updated_at strictly forward, so every change gives a new version. */
export async function updateCase(db: Db, id: string, patch: CasePatch): Promise<CaseRow> {
  return t(db)
    .updateTable('cases')
    .set({
      ...patch,
      updated_at: sql<Date>`greatest(clock_timestamp(), updated_at + interval '1 millisecond')`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listCasesForResident(db: Db, residentId: string): Promise<CaseRow[]> {
  return t(db)
    .selectFrom('cases')
    .selectAll()
    .where('resident_id', '=', residentId)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function listCaseUpdates(db: Db, caseId: string, kinds?: CaseUpdateRow['kind'][]) {
  let q = t(db)
    .selectFrom('case_updates')
    .leftJoin('staff_users', (j) =>
      j.on(
        sql<SqlBool>`staff_users.id::text = case_updates.author_id and case_updates.author_type = 'staff'`,
      ),
    )
    .selectAll('case_updates')
    .select('staff_users.name as author_name')
    .where('case_id', '=', caseId);
  if (kinds) q = q.where('kind', 'in', kinds);
  return q.orderBy('case_updates.id').execute();
}

// ---- Queues ----

export interface QueueFilter {
  /** A team code, or null for every team. */
  team: string | null;
  statuses: CaseStatus[] | null;
  assignee: { kind: 'anyone' } | { kind: 'unassigned' } | { kind: 'staff'; id: string };
  sla: SlaState | null;
  service: string | null;
  channel: Channel | null;
  sort: 'due' | 'received' | 'updated';
}

// The SLA states of slaState() in SQL, so a queue can be filtered by them before paging.
function slaCondition(state: SlaState): Expression<SqlBool> {
  const end = sql`coalesce(cases.resolved_at, cases.closed_at)`;
  const slack = sql`greatest((cases.sla_due_at - cases.created_at) / 5, interval '4 hours')`;
  switch (state) {
    case 'none':
      return sql<SqlBool>`cases.sla_due_at is null`;
    case 'breached':
      return sql<SqlBool>`cases.sla_due_at < coalesce(${end}, now())`;
    case 'met':
      return sql<SqlBool>`${end} is not null and ${end} <= cases.sla_due_at`;
    case 'at_risk':
      return sql<SqlBool>`${end} is null and cases.sla_due_at >= now() and cases.sla_due_at - now() < ${slack}`;
    case 'on_track':
      return sql<SqlBool>`${end} is null and cases.sla_due_at - now() >= ${slack}`;
  }
}

function filtered(db: Db, filter: Omit<QueueFilter, 'sort'>, options: { withStatus: boolean }) {
  let q = t(db).selectFrom('cases');
  if (filter.team) q = q.where('cases.team_code', '=', filter.team);
  if (options.withStatus && filter.statuses) q = q.where('cases.status', 'in', filter.statuses);
  if (filter.assignee.kind === 'unassigned') q = q.where('cases.assigned_to', 'is', null);
  if (filter.assignee.kind === 'staff') q = q.where('cases.assigned_to', '=', filter.assignee.id);
  if (filter.sla) q = q.where(slaCondition(filter.sla));
  if (filter.service) q = q.where('cases.service_slug', '=', filter.service);
  if (filter.channel) q = q.where('cases.channel', '=', filter.channel);
  return q;
}

export type QueueRow = CaseRow & { assignee_name: string | null; team_name: string | null };

/** One page of a queue, the number of cases that match, and counts by status for the other filters. */
export async function listQueue(
  db: Db,
  filter: QueueFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: QueueRow[]; total: number; byStatus: Record<string, number> }> {
  let q = filtered(db, filter, { withStatus: true })
    .leftJoin('staff_users', 'staff_users.id', 'cases.assigned_to')
    .leftJoin('teams', 'teams.code', 'cases.team_code')
    .selectAll('cases')
    .select(['staff_users.name as assignee_name', 'teams.name as team_name']);
  if (filter.sort === 'due')
    q = q.orderBy(sql`cases.sla_due_at asc nulls last`).orderBy('cases.created_at', 'asc');
  else if (filter.sort === 'received') q = q.orderBy('cases.created_at', 'desc');
  else q = q.orderBy('cases.updated_at', 'desc');
  const rows = await q.orderBy('cases.reference').offset(page.offset).limit(page.limit).execute();
  const total = await filtered(db, filter, { withStatus: true })
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  const counts = await filtered(db, filter, { withStatus: false })
    .select(['cases.status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('cases.status')
    .execute();
  return {
    rows,
    total: Number(total.n),
    byStatus: Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])),
  };
}

export async function listServicesInCases(db: Db) {
  return t(db)
    .selectFrom('cases')
    .select(['service_slug', sql<string>`max(service_title)`.as('service_title')])
    .groupBy('service_slug')
    .orderBy('service_title')
    .execute();
}

export async function listTeams(db: Db) {
  return t(db).selectFrom('teams').select(['code', 'name']).orderBy('name').execute();
}

export async function listActiveStaff(db: Db) {
  return t(db)
    .selectFrom('staff_users')
    .select(['id', 'name', 'email', 'role', 'team_code'])
    .where('active', '=', true)
    .orderBy('name')
    .execute();
}

export async function findStaff(db: Db, id: string) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  return t(db)
    .selectFrom('staff_users')
    .select(['id', 'name', 'role', 'team_code'])
    .where('id', '=', id)
    .where('active', '=', true)
    .executeTakeFirst();
}

export async function findCasesByReferences(db: Db, references: string[]): Promise<CaseRow[]> {
  if (references.length === 0) return [];
  return t(db).selectFrom('cases').selectAll().where('reference', 'in', references).execute();
}

// ---- Residents (the platform's table: read, and created for assisted digital) ----

export type ResidentRow = IdentityTables['residents'];

/** Residents matching a name, email, phone, customer reference or case reference. */
export async function searchResidents(db: Db, query: string, limit = 50): Promise<ResidentRow[]> {
  const q = query.trim();
  const lower = q.toLowerCase();
  const digits = q.replace(/\D/g, '');
  const upper = q.toUpperCase();
  return t(db)
    .selectFrom('residents')
    .selectAll()
    .where((eb) => {
      const or = [
        eb(sql`lower(residents.name)`, 'like', `%${escapeLike(lower)}%`),
        eb(sql`lower(residents.email)`, '=', lower),
        eb('residents.reference', '=', upper),
        eb(
          'residents.id',
          'in',
          eb.selectFrom('cases').select('cases.resident_id').where('cases.reference', '=', upper),
        ),
      ];
      if (q.includes('@') === false && lower.length >= 3)
        or.push(eb(sql`lower(residents.email)`, 'like', `${escapeLike(lower)}%`));
      if (digits.length >= 6)
        or.push(
          eb(sql`regexp_replace(coalesce(residents.phone, ''), '\\D', '', 'g')`, 'like', `%${digits}%`),
        );
      return eb.or(or);
    })
    .orderBy('residents.name')
    .limit(limit)
    .execute();
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function findResidentByReference(db: Db, reference: string): Promise<ResidentRow | undefined> {
  return t(db).selectFrom('residents').selectAll().where('reference', '=', reference).executeTakeFirst();
}

export async function findResident(db: Db, id: string): Promise<ResidentRow | undefined> {
  return t(db).selectFrom('residents').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findResidentByEmail(db: Db, email: string): Promise<ResidentRow | undefined> {
  return t(db).selectFrom('residents').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function insertResident(
  db: Db,
  row: Pick<ResidentRow, 'reference' | 'name' | 'email' | 'phone' | 'address'> & { notify_by_sms: boolean },
): Promise<ResidentRow> {
  return t(db)
    .insertInto('residents')
    .values({ ...row, has_account: false } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Messages sent to a resident, newest first. */
export async function listNotificationsForResident(db: Db, residentId: string, limit = 200) {
  return t(db)
    .selectFrom('notifications')
    .select(['id', 'channel', 'recipient', 'template', 'subject', 'body', 'status', 'created_at', 'sent_at'])
    .where('resident_id', '=', residentId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/** Demo data only: moves a new case back in time, as if it had been received `createdAt`. */
export async function backdateCase(
  db: Db,
  id: string,
  createdAt: Date,
  slaDueAt: Date | null,
): Promise<void> {
  await t(db)
    .updateTable('cases')
    .set({ created_at: createdAt, updated_at: createdAt, sla_due_at: slaDueAt })
    .where('id', '=', id)
    .execute();
  await t(db)
    .updateTable('case_updates')
    .set({ created_at: createdAt })
    .where('case_id', '=', id)
    .where('kind', '=', 'created')
    .execute();
}

/** Demo data only: dates a case's latest updates (and resolution) to when they happened. */
export async function backdateLatestChanges(db: Db, id: string, at: Date): Promise<void> {
  await t(db)
    .updateTable('cases')
    .set({
      updated_at: at,
      resolved_at: sql<Date | null>`case when resolved_at is null then null else ${at}::timestamptz end`,
      closed_at: sql<Date | null>`case when closed_at is null then null else ${at}::timestamptz end`,
    })
    .where('id', '=', id)
    .execute();
  await t(db)
    .updateTable('case_updates')
    .set({ created_at: at })
    .where('case_id', '=', id)
    .where('kind', '!=', 'created')
    .execute();
}

export async function countCases(db: Db): Promise<number> {
  const row = await t(db)
    .selectFrom('cases')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
