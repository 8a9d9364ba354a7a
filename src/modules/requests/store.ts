import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import { degreesAround } from './geography.ts';
import type { OpenClosed, RequestsTables } from './schema.ts';

const t = (db: Db) => tables<RequestsTables>(db);

export type StreetReportRow = RequestsTables['street_reports'];
export type ReportUpdateRow = RequestsTables['street_report_updates'];
export type NewStreetReport = Omit<
  StreetReportRow,
  'requested_at' | 'updated_at' | 'status' | 'case_status' | 'public'
> &
  Partial<Pick<StreetReportRow, 'public'>>;

/** Inserts a report; a second insert for the same case or token changes nothing. */
export async function insertReport(db: Db, row: NewStreetReport): Promise<boolean> {
  const result = await t(db)
    .insertInto('street_reports')
    .values({ ...row, answers: JSON.stringify(row.answers) } as never)
    .onConflict((oc) => oc.doNothing())
    .returning('case_id')
    .executeTakeFirst();
  return result !== undefined;
}

export async function findByReference(db: Db, reference: string) {
  return t(db).selectFrom('street_reports').selectAll().where('reference', '=', reference).executeTakeFirst();
}

export async function findByCaseId(db: Db, caseId: string) {
  return t(db).selectFrom('street_reports').selectAll().where('case_id', '=', caseId).executeTakeFirst();
}

export async function findByToken(db: Db, token: string) {
  return t(db).selectFrom('street_reports').selectAll().where('token', '=', token).executeTakeFirst();
}

export async function listByCaseIds(db: Db, caseIds: string[]) {
  if (caseIds.length === 0) return [];
  return t(db).selectFrom('street_reports').selectAll().where('case_id', 'in', caseIds).execute();
}

/** Open reports of a category within `metres` of a point, nearest first (a bounding box, then the exact distance). */
export async function nearbyOpen(
  db: Db,
  input: { category: string; lat: number; lng: number; metres: number; limit?: number },
) {
  const { dLat, dLng } = degreesAround(input.lat, input.metres);
  const distance = sql<number>`6371000 * sqrt(power(radians(lat - ${input.lat}), 2) + power(radians(lng - ${input.lng}) * cos(radians(${input.lat})), 2))`;
  return t(db)
    .selectFrom('street_reports')
    .select([
      'case_id',
      'reference',
      'category',
      'street_name',
      'description',
      'requested_at',
      'case_status',
      'lat',
      'lng',
      distance.as('distance'),
    ])
    .where('status', '=', 'open')
    .where('public', '=', true)
    .where('category', '=', input.category)
    .where('lat', '>=', input.lat - dLat)
    .where('lat', '<=', input.lat + dLat)
    .where('lng', '>=', input.lng - dLng)
    .where('lng', '<=', input.lng + dLng)
    .where(distance, '<=', input.metres)
    .orderBy(distance)
    .limit(input.limit ?? 10)
    .execute();
}

export async function addPhotos(db: Db, caseId: string, fileIds: string[], kind: 'report' | 'fix') {
  if (fileIds.length === 0) return;
  const existing = await t(db)
    .selectFrom('street_report_photos')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('case_id', '=', caseId)
    .where('kind', '=', kind)
    .executeTakeFirstOrThrow();
  await t(db)
    .insertInto('street_report_photos')
    .values(
      fileIds.map((file_id, i) => ({
        case_id: caseId,
        file_id,
        kind,
        position: Number(existing.n) + i + 1,
      })) as never,
    )
    .execute();
}

export async function listPhotos(db: Db, caseId: string) {
  return t(db)
    .selectFrom('street_report_photos')
    .select(['file_id', 'kind', 'position'])
    .where('case_id', '=', caseId)
    .orderBy('kind', 'desc')
    .orderBy('position')
    .execute();
}

/** How many photos of the problem each report has, for many reports in one query. */
export async function countReportPhotos(db: Db, caseIds: string[]): Promise<Map<string, number>> {
  if (caseIds.length === 0) return new Map();
  const rows = await t(db)
    .selectFrom('street_report_photos')
    .select(['case_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('case_id', 'in', caseIds)
    .where('kind', '=', 'report')
    .groupBy('case_id')
    .execute();
  return new Map(rows.map((r) => [r.case_id, Number(r.n)]));
}

export async function findPhoto(db: Db, caseId: string, kind: 'report' | 'fix', position: number) {
  return t(db)
    .selectFrom('street_report_photos')
    .select(['file_id'])
    .where('case_id', '=', caseId)
    .where('kind', '=', kind)
    .where('position', '=', position)
    .executeTakeFirst();
}

/** Adds a subscriber; returns false when they already follow the report. */
export async function addSubscriber(
  db: Db,
  input: {
    caseId: string;
    residentId: string | null;
    email: string | null;
    reason: 'reporter' | 'me_too' | 'follow';
  },
): Promise<boolean> {
  const result = await t(db)
    .insertInto('street_report_subscribers')
    .values({
      case_id: input.caseId,
      resident_id: input.residentId,
      email: input.residentId ? null : input.email,
      reason: input.reason,
    } as never)
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return result !== undefined;
}

export async function listSubscribers(db: Db, caseId: string) {
  return t(db)
    .selectFrom('street_report_subscribers')
    .select(['id', 'resident_id', 'email', 'reason'])
    .where('case_id', '=', caseId)
    .execute();
}

/** Removes a follower (not the reporter, whom the case itself keeps informed); returns whether one was removed. */
export async function removeSubscriber(db: Db, caseId: string, id: number): Promise<boolean> {
  const row = await t(db)
    .deleteFrom('street_report_subscribers')
    .where('case_id', '=', caseId)
    .where('id', '=', id)
    .where('reason', '!=', 'reporter')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function countSubscribers(db: Db, caseId: string, reason: 'me_too' | 'follow') {
  const row = await t(db)
    .selectFrom('street_report_subscribers')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('case_id', '=', caseId)
    .where('reason', '=', reason)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function setStatus(db: Db, caseId: string, status: OpenClosed, caseStatus: string) {
  await t(db)
    .updateTable('street_reports')
    .set({ status, case_status: caseStatus, updated_at: new Date() })
    .where('case_id', '=', caseId)
    .execute();
}

/** Records public history items; returns the ones not seen before. */
export async function insertUpdates(db: Db, rows: Array<Omit<ReportUpdateRow, 'id'>>) {
  if (rows.length === 0) return [];
  return t(db)
    .insertInto('street_report_updates')
    .values(rows as never)
    .onConflict((oc) => oc.columns(['case_id', 'happened_at', 'kind']).doNothing())
    .returningAll()
    .execute();
}

export async function listUpdates(db: Db, caseId: string) {
  return t(db)
    .selectFrom('street_report_updates')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('happened_at')
    .orderBy('id')
    .execute();
}

/** Updates in a time window, for Open311's servicerequestupdates. */
export async function updatesBetween(db: Db, start: Date, end: Date, limit: number) {
  return t(db)
    .selectFrom('street_report_updates')
    .innerJoin('street_reports', 'street_reports.case_id', 'street_report_updates.case_id')
    .select([
      'street_report_updates.id',
      'street_reports.reference',
      'street_report_updates.status',
      'street_report_updates.case_status',
      'street_report_updates.happened_at',
      'street_report_updates.text',
      'street_report_updates.title',
      'street_report_updates.kind',
    ])
    .where('street_reports.public', '=', true)
    .where('street_report_updates.kind', '!=', 'received')
    .where('street_report_updates.happened_at', '>=', start)
    .where('street_report_updates.happened_at', '<=', end)
    .orderBy('street_report_updates.happened_at')
    .limit(limit)
    .execute();
}

export interface ReportFilter {
  references?: string[];
  category?: string | null;
  status?: OpenClosed | null;
  ward?: string | null;
  start?: Date | null;
  end?: Date | null;
}

function publicReports(db: Db, filter: ReportFilter) {
  let q = t(db).selectFrom('street_reports').where('public', '=', true);
  if (filter.references) q = q.where('reference', 'in', filter.references.length ? filter.references : ['']);
  if (filter.category) q = q.where('category', '=', filter.category);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.ward) q = q.where('ward_code', '=', filter.ward);
  if (filter.start) q = q.where('requested_at', '>=', filter.start);
  if (filter.end) q = q.where('requested_at', '<=', filter.end);
  return q.orderBy('requested_at', 'desc').orderBy('reference');
}

/** Public reports, newest first. */
export async function search(db: Db, filter: ReportFilter, page: { offset: number; limit: number }) {
  return publicReports(db, filter).selectAll().offset(page.offset).limit(page.limit).execute();
}

/** Public reports, newest first, with just what an Open311 list shows: one query, photos included. */
export async function searchForOpen311(db: Db, filter: ReportFilter, limit: number) {
  return publicReports(db, filter)
    .select([
      'reference',
      'status',
      'category',
      'description',
      'service_notice',
      'requested_at',
      'updated_at',
      'expected_at',
      'street_name',
      'usrn',
      'lat',
      'lng',
      (eb) =>
        eb
          .exists(
            eb
              .selectFrom('street_report_photos as p')
              .select('p.case_id')
              .whereRef('p.case_id', '=', 'street_reports.case_id')
              .where('p.kind', '=', 'report'),
          )
          .as('has_photo'),
    ])
    .limit(limit)
    .execute();
}

export async function count(db: Db, filter: ReportFilter) {
  let q = t(db).selectFrom('street_reports').where('public', '=', true);
  if (filter.category) q = q.where('category', '=', filter.category);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.ward) q = q.where('ward_code', '=', filter.ward);
  const row = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Reports a resident made or follows, newest first. */
export async function listForResident(db: Db, residentId: string) {
  return t(db)
    .selectFrom('street_reports')
    .innerJoin('street_report_subscribers', 'street_report_subscribers.case_id', 'street_reports.case_id')
    .selectAll('street_reports')
    .select('street_report_subscribers.reason')
    .where('street_report_subscribers.resident_id', '=', residentId)
    .orderBy('street_reports.requested_at', 'desc')
    .limit(200)
    .execute();
}
