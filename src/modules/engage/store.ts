import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { EngageTables, FibreStatus } from './schema.ts';

type T = EngageTables;
export type ConsultationRow = T['engage_consultations'];
export type QuestionRow = T['engage_questions'];
export type DocumentRow = T['engage_documents'];
export type EventRow = T['engage_events'];
export type ResponseRow = T['engage_responses'];
export type ThemeRow = T['engage_themes'];
export type PlaceRow = T['engage_places'];
export type DeviceRow = T['engage_devices'];
export type LoanRow = T['engage_loans'];
export type SiteRow = T['engage_sites'];

const t = (db: Db) => tables<EngageTables>(db);
const json = (value: unknown) => JSON.stringify(value) as never;

// Consultations

export async function insertConsultation(
  db: Db,
  row: Pick<
    ConsultationRow,
    | 'reference'
    | 'slug'
    | 'title'
    | 'summary'
    | 'background'
    | 'opens_at'
    | 'closes_at'
    | 'one_per_person'
    | 'equality_monitoring'
    | 'created_by'
  >,
) {
  return t(db)
    .insertInto('engage_consultations')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateConsultation(db: Db, id: string, change: Partial<ConsultationRow>) {
  return t(db)
    .updateTable('engage_consultations')
    .set({ ...change, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function consultationByReference(db: Db, reference: string) {
  return t(db)
    .selectFrom('engage_consultations')
    .selectAll()
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export function consultationBySlug(db: Db, slug: string) {
  return t(db).selectFrom('engage_consultations').selectAll().where('slug', '=', slug).executeTakeFirst();
}

/** Locks the consultation row for the rest of the transaction (closing races a response). */
export function lockConsultation(db: Db, id: string) {
  return t(db)
    .selectFrom('engage_consultations')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

export async function listConsultations(db: Db) {
  const rows = await t(db)
    .selectFrom('engage_consultations as c')
    .selectAll('c')
    .select((eb) =>
      eb
        .selectFrom('engage_responses as r')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('r.consultation_id', '=', 'c.id')
        .where('r.status', '=', 'submitted')
        .as('responses'),
    )
    .orderBy('c.created_at', 'desc')
    .execute();
  return rows.map((r) => ({ ...r, responses: Number(r.responses ?? 0) }));
}

export function publishedConsultations(db: Db) {
  return t(db)
    .selectFrom('engage_consultations')
    .selectAll()
    .where('status', 'in', ['published', 'closed'])
    .orderBy('closes_at', 'desc')
    .execute();
}

/** Published consultations whose closing date has passed: the housekeeping job closes them. */
export function consultationsPastClosing(db: Db, now: Date) {
  return t(db)
    .selectFrom('engage_consultations')
    .selectAll()
    .where('status', '=', 'published')
    .where('closes_at', '<=', now)
    .execute();
}

// Questions

export function questionsOf(db: Db, consultationId: string) {
  return t(db)
    .selectFrom('engage_questions')
    .selectAll()
    .where('consultation_id', '=', consultationId)
    .orderBy('position')
    .execute();
}

export async function insertQuestion(db: Db, row: Omit<QuestionRow, 'id' | 'position'>) {
  const last = await t(db)
    .selectFrom('engage_questions')
    .select((eb) => eb.fn.max('position').as('position'))
    .where('consultation_id', '=', row.consultation_id)
    .executeTakeFirst();
  return t(db)
    .insertInto('engage_questions')
    .values({ ...row, options: json(row.options), position: Number(last?.position ?? 0) + 1 } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteQuestion(db: Db, consultationId: string, questionId: string) {
  const result = await t(db)
    .deleteFrom('engage_questions')
    .where('consultation_id', '=', consultationId)
    .where('id', '=', questionId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

// Documents and events

export function documentsOf(db: Db, consultationId: string) {
  return t(db)
    .selectFrom('engage_documents')
    .selectAll()
    .where('consultation_id', '=', consultationId)
    .orderBy('created_at')
    .execute();
}

export function insertDocument(db: Db, row: Omit<DocumentRow, 'id' | 'created_at'>) {
  return t(db)
    .insertInto('engage_documents')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function documentById(db: Db, id: string) {
  return t(db)
    .selectFrom('engage_documents as d')
    .innerJoin('engage_consultations as c', 'c.id', 'd.consultation_id')
    .selectAll('d')
    .select(['c.status as consultation_status'])
    .where('d.id', '=', id)
    .executeTakeFirst();
}

export function eventsOf(db: Db, consultationId: string) {
  return t(db)
    .selectFrom('engage_events')
    .selectAll()
    .where('consultation_id', '=', consultationId)
    .orderBy('starts_at')
    .execute();
}

export function insertEvent(db: Db, row: Omit<EventRow, 'id'>) {
  return t(db)
    .insertInto('engage_events')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

// Responses

export function insertResponse(
  db: Db,
  row: Omit<ResponseRow, 'id' | 'created_at' | 'updated_at' | 'answers' | 'equality'> & {
    answers: ResponseRow['answers'];
    equality: ResponseRow['equality'];
  },
) {
  return t(db)
    .insertInto('engage_responses')
    .values({ ...row, answers: json(row.answers), equality: json(row.equality) } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function updateResponse(
  db: Db,
  id: string,
  change: Partial<Omit<ResponseRow, 'id' | 'answers' | 'equality'>> & {
    answers?: ResponseRow['answers'];
    equality?: ResponseRow['equality'];
  },
) {
  const { answers, equality, ...rest } = change;
  return t(db)
    .updateTable('engage_responses')
    .set({
      ...rest,
      ...(answers ? { answers: json(answers) } : {}),
      ...(equality ? { equality: json(equality) } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The respondent's own responses (drafts and sent): by resident, by browser, or by a resume link. */
export function findOwnResponses(
  db: Db,
  consultationId: string,
  who: { residentId?: string | null; browserHash?: string | null; resumeHash?: string | null },
): Promise<ResponseRow[]> {
  const clauses: Array<ReturnType<typeof sql<boolean>>> = [];
  if (who.residentId) clauses.push(sql<boolean>`resident_id = ${who.residentId}`);
  if (who.browserHash) clauses.push(sql<boolean>`browser_hash = ${who.browserHash}`);
  if (who.resumeHash) clauses.push(sql<boolean>`resume_hash = ${who.resumeHash}`);
  if (clauses.length === 0) return Promise.resolve([]);
  return t(db)
    .selectFrom('engage_responses')
    .selectAll()
    .where('consultation_id', '=', consultationId)
    .where(sql<boolean>`(${sql.join(clauses, sql` or `)})`)
    .orderBy('created_at', 'desc')
    .limit(50)
    .execute();
}

export function responseByResume(db: Db, resumeHash: string) {
  return t(db)
    .selectFrom('engage_responses')
    .selectAll()
    .where('resume_hash', '=', resumeHash)
    .executeTakeFirst();
}

export function submittedResponses(db: Db, consultationId: string) {
  return t(db)
    .selectFrom('engage_responses')
    .selectAll()
    .where('consultation_id', '=', consultationId)
    .where('status', '=', 'submitted')
    .orderBy('submitted_at')
    .execute();
}

export async function countSubmitted(db: Db, consultationId: string) {
  const row = await t(db)
    .selectFrom('engage_responses')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('consultation_id', '=', consultationId)
    .where('status', '=', 'submitted')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Distinct addresses of respondents who left one (or have an account), for the outcome message. */
export async function respondentContacts(db: Db, consultationId: string) {
  return t(db)
    .selectFrom('engage_responses')
    .select(['email', 'resident_id'])
    .where('consultation_id', '=', consultationId)
    .where('status', '=', 'submitted')
    .where((eb) => eb.or([eb('email', 'is not', null), eb('resident_id', 'is not', null)]))
    .execute();
}

export function responsesOfResident(db: Db, residentId: string) {
  return t(db)
    .selectFrom('engage_responses as r')
    .innerJoin('engage_consultations as c', 'c.id', 'r.consultation_id')
    .select([
      'r.reference',
      'r.status',
      'r.answers',
      'r.equality',
      'r.submitted_at',
      'r.created_at',
      'c.title',
      'c.slug',
    ])
    .where('r.resident_id', '=', residentId)
    .orderBy('r.created_at', 'desc')
    .execute();
}

/** UK GDPR erasure: the answers stay in the results, no longer linked to the person. */
export async function detachResident(db: Db, residentId: string) {
  await t(db)
    .updateTable('engage_responses')
    .set({ resident_id: null, email: null, equality: json({}) })
    .where('resident_id', '=', residentId)
    .execute();
  await t(db)
    .updateTable('engage_loans')
    .set({ resident_id: null })
    .where('resident_id', '=', residentId)
    .execute();
}

// Themes

export function themesOf(db: Db, consultationId: string) {
  return t(db)
    .selectFrom('engage_themes')
    .selectAll()
    .where('consultation_id', '=', consultationId)
    .orderBy('name')
    .execute();
}

export function insertTheme(db: Db, row: Omit<ThemeRow, 'id'>) {
  return t(db)
    .insertInto('engage_themes')
    .values(row as never)
    .onConflict((oc) => oc.columns(['question_id', 'name']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export function themeTags(db: Db, consultationId: string) {
  return t(db)
    .selectFrom('engage_response_themes as rt')
    .innerJoin('engage_themes as th', 'th.id', 'rt.theme_id')
    .select(['rt.response_id', 'rt.theme_id', 'th.question_id', 'th.name'])
    .where('th.consultation_id', '=', consultationId)
    .execute();
}

/** Replaces a response's themes for one question. */
export async function setResponseThemes(db: Db, responseId: string, questionId: string, themeIds: string[]) {
  await t(db)
    .deleteFrom('engage_response_themes')
    .where('response_id', '=', responseId)
    .where('theme_id', 'in', (eb) =>
      eb.selectFrom('engage_themes').select('id').where('question_id', '=', questionId),
    )
    .execute();
  if (themeIds.length === 0) return;
  await t(db)
    .insertInto('engage_response_themes')
    .values(themeIds.map((theme_id) => ({ response_id: responseId, theme_id })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

// Places

export function listPlaces(db: Db) {
  return t(db).selectFrom('engage_places').selectAll().orderBy('name').execute();
}

export function placeBySlug(db: Db, slug: string) {
  return t(db).selectFrom('engage_places').selectAll().where('slug', '=', slug).executeTakeFirst();
}

export function insertPlace(db: Db, row: Omit<PlaceRow, 'id'>) {
  return t(db)
    .insertInto('engage_places')
    .values({ ...row, offers: json(row.offers), opening_hours: json(row.opening_hours) } as never)
    .onConflict((oc) => oc.column('slug').doNothing())
    .execute();
}

// Devices and loans

export function listDevices(db: Db) {
  return t(db)
    .selectFrom('engage_devices as d')
    .leftJoin('engage_loans as l', (join) =>
      join.onRef('l.device_id', '=', 'd.id').on('l.returned_at', 'is', null),
    )
    .selectAll('d')
    .select(['l.reference as loan_reference', 'l.due_at', 'l.borrower_name'])
    .orderBy('d.asset_tag')
    .execute();
}

export function insertDevice(db: Db, row: Pick<DeviceRow, 'asset_tag' | 'kind' | 'model' | 'notes'>) {
  return t(db)
    .insertInto('engage_devices')
    .values(row as never)
    .onConflict((oc) => oc.column('asset_tag').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export function deviceByTag(db: Db, assetTag: string) {
  return t(db)
    .selectFrom('engage_devices')
    .selectAll()
    .where('asset_tag', '=', assetTag)
    .forUpdate()
    .executeTakeFirst();
}

export function setDeviceStatus(db: Db, id: string, status: DeviceRow['status']) {
  return t(db).updateTable('engage_devices').set({ status }).where('id', '=', id).execute();
}

export function insertLoan(
  db: Db,
  row: Omit<
    LoanRow,
    'id' | 'returned_at' | 'return_condition' | 'returned_to' | 'reminders_sent' | 'last_reminded_at'
  >,
) {
  return t(db)
    .insertInto('engage_loans')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function loanByReference(db: Db, reference: string, forUpdate = false) {
  let q = t(db)
    .selectFrom('engage_loans as l')
    .innerJoin('engage_devices as d', 'd.id', 'l.device_id')
    .selectAll('l')
    .select(['d.asset_tag', 'd.kind', 'd.model'])
    .where('l.reference', '=', reference);
  if (forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

export function updateLoan(db: Db, id: string, change: Partial<LoanRow>) {
  return t(db)
    .updateTable('engage_loans')
    .set(change)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listLoans(db: Db, filter: { open?: boolean } = {}) {
  let q = t(db)
    .selectFrom('engage_loans as l')
    .innerJoin('engage_devices as d', 'd.id', 'l.device_id')
    .selectAll('l')
    .select(['d.asset_tag', 'd.kind', 'd.model'])
    .orderBy('l.due_at');
  if (filter.open) q = q.where('l.returned_at', 'is', null);
  return q.execute();
}

/** Open loans past their due date that were not reminded in the last `gapHours`. */
export function overdueLoans(db: Db, now: Date, gapHours: number) {
  return t(db)
    .selectFrom('engage_loans as l')
    .innerJoin('engage_devices as d', 'd.id', 'l.device_id')
    .selectAll('l')
    .select(['d.asset_tag', 'd.kind', 'd.model'])
    .where('l.returned_at', 'is', null)
    .where('l.due_at', '<', now)
    .where((eb) =>
      eb.or([
        eb('l.last_reminded_at', 'is', null),
        eb('l.last_reminded_at', '<', new Date(now.getTime() - gapHours * 3_600_000)),
      ]),
    )
    .forUpdate()
    .skipLocked()
    .execute();
}

// Connectivity register

export function listSites(db: Db) {
  return t(db)
    .selectFrom('engage_sites')
    .selectAll()
    .orderBy('council_owned', 'desc')
    .orderBy('name')
    .execute();
}

export function siteByCode(db: Db, code: string) {
  return t(db).selectFrom('engage_sites').selectAll().where('code', '=', code).forUpdate().executeTakeFirst();
}

export function insertSite(db: Db, row: Omit<SiteRow, 'id' | 'updated_at'>) {
  return t(db)
    .insertInto('engage_sites')
    .values(row as never)
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
}

export function updateSite(
  db: Db,
  id: string,
  change: {
    fibre_status: FibreStatus;
    planned_date: string | null;
    connected_date: string | null;
    bandwidth_mbps: number | null;
  },
) {
  return t(db)
    .updateTable('engage_sites')
    .set({ ...change, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Sites by ownership and status: the measure of how much of the estate is on full fibre. */
export async function connectivityCounts(db: Db) {
  const rows = await t(db)
    .selectFrom('engage_sites')
    .select(['council_owned', 'kind', 'fibre_status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['council_owned', 'kind', 'fibre_status'])
    .execute();
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}
