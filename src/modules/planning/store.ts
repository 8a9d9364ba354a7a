import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { ApplicationStatus, ApplicationType, PlanningTables } from './schema.ts';

export type ApplicationRow = PlanningTables['planning_applications'];
export type DocumentRow = PlanningTables['planning_documents'];
export type ConsultationRow = PlanningTables['planning_consultations'];
export type CommentRow = PlanningTables['planning_comments'];
export type EventRow = PlanningTables['planning_events'];

interface Tables extends PlanningTables {
  residents: { id: string; email: string | null; name: string };
  staff_users: { id: string; name: string; email: string };
}

const t = (db: Db) => tables<Tables>(db);

// jsonb columns go in as JSON text; both drivers return them parsed.
const JSON_COLUMNS = [
  'applicant',
  'agent',
  'site_boundary',
  'answers',
  'fee_answers',
  'decision_terms',
  'odp',
];

function encode(patch: Partial<ApplicationRow>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    out[k] = JSON_COLUMNS.includes(k) && v !== null && v !== undefined ? JSON.stringify(v) : v;
  }
  return out;
}

export async function nextReference(db: Db, year: string): Promise<string> {
  const { rows } = await sql<{ n: number }>`select nextval('planning_reference_seq')::int as n`.execute(db);
  return `KF-${year}-${String(rows[0]!.n).padStart(5, '0')}`;
}

export async function insertApplication(
  db: Db,
  values: { reference: string; resident_id: string | null; user_role: 'applicant' | 'agent' },
): Promise<ApplicationRow> {
  return t(db)
    .insertInto('planning_applications')
    .values(values as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Inserts a whole application at once (demo data and the benchmark's bulk load). */
export async function insertFullApplication(
  db: Db,
  values: Partial<ApplicationRow>,
): Promise<ApplicationRow> {
  return t(db)
    .insertInto('planning_applications')
    .values(encode(values) as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateApplication(db: Db, id: string, patch: Partial<ApplicationRow>): Promise<void> {
  await t(db)
    .updateTable('planning_applications')
    .set({ ...encode(patch), updated_at: new Date() } as never)
    .where('id', '=', id)
    .execute();
}

export async function findByReference(db: Db, reference: string): Promise<ApplicationRow | undefined> {
  return t(db)
    .selectFrom('planning_applications')
    .selectAll()
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export async function findById(db: Db, id: string): Promise<ApplicationRow | undefined> {
  return t(db).selectFrom('planning_applications').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function lockById(db: Db, id: string): Promise<ApplicationRow | undefined> {
  return t(db)
    .selectFrom('planning_applications')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function listForResident(db: Db, residentId: string): Promise<ApplicationRow[]> {
  return t(db)
    .selectFrom('planning_applications')
    .selectAll()
    .where('resident_id', '=', residentId)
    .orderBy('updated_at', 'desc')
    .execute();
}

export async function listForOfficers(
  db: Db,
  filter: { status?: ApplicationStatus | 'live' },
): Promise<ApplicationRow[]> {
  let q = t(db).selectFrom('planning_applications').selectAll().where('received_at', 'is not', null);
  if (filter.status === 'live') q = q.where('status', 'in', ['submitted', 'invalid', 'valid']);
  else if (filter.status) q = q.where('status', '=', filter.status);
  return q.orderBy('received_at', 'asc').limit(500).execute();
}

export interface RegisterFilter {
  /** A reference, or the start of an address, street or postcode. */
  query?: string;
  ward?: string;
  status?: 'undecided' | 'granted' | 'refused';
  type?: ApplicationType;
  from?: Date;
  to?: Date;
  limit: number;
  offset: number;
}

const PUBLIC_STATUSES: ApplicationStatus[] = ['submitted', 'invalid', 'valid', 'decided', 'withdrawn'];

/** The public register: received applications matching a search, newest first. */
export async function searchRegister(db: Db, f: RegisterFilter) {
  let q = t(db)
    .selectFrom('planning_applications')
    .select([
      'id',
      'reference',
      'application_type',
      'status',
      'decision',
      'address_text',
      'ward_code',
      'description',
      'received_at',
      'decided_at',
      'lat',
      'lng',
      'consultation_start',
      'consultation_end',
      'site_boundary',
      'uprn',
      'valid_from',
      'determination_due',
      'extension_due',
    ])
    .where('received_at', 'is not', null)
    .where('status', 'in', PUBLIC_STATUSES);
  const query = f.query?.trim().toLowerCase();
  if (query) {
    const reference = query.toUpperCase();
    if (/^KF-\d{2}-\d{5}$/.test(reference)) q = q.where('reference', '=', reference);
    else {
      const prefix = `${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const postcode = query.toUpperCase().replace(/\s+/g, ' ');
      q = q.where((eb) =>
        eb.or([
          eb('address_key', 'like', prefix),
          eb('street_key', 'like', prefix),
          eb('postcode', '=', postcode),
        ]),
      );
    }
  }
  if (f.ward) q = q.where('ward_code', '=', f.ward);
  if (f.type) q = q.where('application_type', '=', f.type);
  if (f.status === 'undecided') q = q.where('status', 'in', ['submitted', 'invalid', 'valid']);
  else if (f.status) q = q.where('decision', '=', f.status);
  if (f.from) q = q.where('received_at', '>=', f.from);
  if (f.to) q = q.where('received_at', '<', f.to);
  return q
    .orderBy('received_at', 'desc')
    .orderBy('reference', 'desc')
    .limit(f.limit)
    .offset(f.offset)
    .execute();
}

/** Applications received or decided in a period (the weekly list, the feeds, open data). */
export async function receivedOrDecidedBetween(db: Db, from: Date, to: Date, ward?: string) {
  let q = t(db)
    .selectFrom('planning_applications')
    .selectAll()
    .where('status', 'in', PUBLIC_STATUSES)
    .where((eb) =>
      eb.or([
        eb.and([eb('received_at', '>=', from), eb('received_at', '<', to)]),
        eb.and([eb('decided_at', '>=', from), eb('decided_at', '<', to)]),
      ]),
    );
  if (ward) q = q.where('ward_code', '=', ward);
  return q.orderBy('received_at', 'desc').limit(1000).execute();
}

export async function publicApplications(db: Db, limit: number, offset: number) {
  return t(db)
    .selectFrom('planning_applications')
    .selectAll()
    .where('received_at', 'is not', null)
    .where('status', 'in', PUBLIC_STATUSES)
    .orderBy('received_at', 'desc')
    .orderBy('reference')
    .limit(limit)
    .offset(offset)
    .execute();
}

export async function decidedSince(db: Db, since: Date) {
  return t(db)
    .selectFrom('planning_applications')
    .select([
      'application_type',
      'decided_at',
      'determination_due',
      'extension_due',
      'valid_from',
      'decision',
    ])
    .where('status', '=', 'decided')
    .where('decided_at', '>=', since)
    .execute();
}

// Documents

export async function insertDocument(
  db: Db,
  values: Omit<DocumentRow, 'id' | 'created_at' | 'redacted_file_id' | 'published'> & { published?: boolean },
) {
  return t(db)
    .insertInto('planning_documents')
    .values(values as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function documentsOf(db: Db, applicationId: string): Promise<DocumentRow[]> {
  return t(db)
    .selectFrom('planning_documents')
    .selectAll()
    .where('application_id', '=', applicationId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function findDocument(db: Db, id: string): Promise<DocumentRow | undefined> {
  return t(db).selectFrom('planning_documents').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateDocument(db: Db, id: string, patch: Partial<DocumentRow>): Promise<void> {
  await t(db).updateTable('planning_documents').set(patch).where('id', '=', id).execute();
}

export async function deleteDocument(db: Db, id: string, applicationId: string): Promise<void> {
  await t(db)
    .deleteFrom('planning_documents')
    .where('id', '=', id)
    .where('application_id', '=', applicationId)
    .execute();
}

// Consultation and comments

export async function insertConsultations(
  db: Db,
  rows: Array<Omit<ConsultationRow, 'id' | 'sent_at' | 'response' | 'responded_at'>>,
) {
  if (!rows.length) return;
  await t(db)
    .insertInto('planning_consultations')
    .values(rows as never)
    .execute();
}

export async function consultationsOf(db: Db, applicationId: string): Promise<ConsultationRow[]> {
  return t(db)
    .selectFrom('planning_consultations')
    .selectAll()
    .where('application_id', '=', applicationId)
    .orderBy('kind')
    .orderBy('name')
    .execute();
}

export async function insertComment(
  db: Db,
  values: Omit<CommentRow, 'id' | 'created_at' | 'moderated_by' | 'moderation_note'> & {
    moderation_note?: string | null;
  },
) {
  return t(db)
    .insertInto('planning_comments')
    .values(values as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function commentsOf(
  db: Db,
  applicationId: string,
  onlyPublished: boolean,
): Promise<CommentRow[]> {
  let q = t(db).selectFrom('planning_comments').selectAll().where('application_id', '=', applicationId);
  if (onlyPublished) q = q.where('status', '=', 'published');
  return q.orderBy('created_at').execute();
}

export async function updateComment(db: Db, id: string, applicationId: string, patch: Partial<CommentRow>) {
  const result = await t(db)
    .updateTable('planning_comments')
    .set(patch)
    .where('id', '=', id)
    .where('application_id', '=', applicationId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

// History

export async function addEvent(
  db: Db,
  applicationId: string,
  kind: string,
  description: string,
  isPublic = true,
) {
  await t(db)
    .insertInto('planning_events')
    .values({ application_id: applicationId, kind, description, public: isPublic } as never)
    .execute();
}

export async function eventsOf(db: Db, applicationId: string, onlyPublic: boolean): Promise<EventRow[]> {
  let q = t(db).selectFrom('planning_events').selectAll().where('application_id', '=', applicationId);
  if (onlyPublic) q = q.where('public', '=', true);
  return q.orderBy('id').execute();
}

export async function residentContact(db: Db, residentId: string) {
  return t(db)
    .selectFrom('residents')
    .select(['id', 'email', 'name'])
    .where('id', '=', residentId)
    .executeTakeFirst();
}

export async function staffName(db: Db, staffId: string) {
  return (await t(db).selectFrom('staff_users').select('name').where('id', '=', staffId).executeTakeFirst())
    ?.name;
}

export async function staffIdByEmail(db: Db, email: string) {
  return (await t(db).selectFrom('staff_users').select('id').where('email', '=', email).executeTakeFirst())
    ?.id;
}

/** UK GDPR: a resident's applications lose the link to their account; the public record stays. */
export async function detachResident(db: Db, residentId: string) {
  await t(db)
    .updateTable('planning_applications')
    .set({ resident_id: null })
    .where('resident_id', '=', residentId)
    .where('status', 'not in', ['draft', 'awaiting_payment'])
    .execute();
  await t(db)
    .deleteFrom('planning_applications')
    .where('resident_id', '=', residentId)
    .where('status', 'in', ['draft', 'awaiting_payment'])
    .execute();
}

/** Everyone who gave an email address with a comment, once each (lower-cased). */
export async function commenterEmails(db: Db, applicationId: string): Promise<string[]> {
  const rows = await t(db)
    .selectFrom('planning_comments')
    .select(sql<string>`lower(trim(email))`.as('email'))
    .where('application_id', '=', applicationId)
    .where('email', 'is not', null)
    .where('email', '<>', '')
    .groupBy(sql`lower(trim(email))`)
    .orderBy(sql`lower(trim(email))`)
    .execute();
  return rows.map((r) => r.email);
}

/** Claims the right to tell `email` of one status change; false when they have been told already. */
export async function claimStatusNotice(
  db: Db,
  applicationId: string,
  eventId: number,
  email: string,
): Promise<boolean> {
  const row = await t(db)
    .insertInto('planning_status_notices')
    .values({ application_id: applicationId, event_id: eventId, email } as never)
    .onConflict((oc) => oc.doNothing())
    .returning('email')
    .executeTakeFirst();
  return row !== undefined;
}
