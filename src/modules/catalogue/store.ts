import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { CatalogueTables, ServiceStatus } from './schema.ts';

const t = (db: Db) => tables<CatalogueTables>(db);

export type ServiceRow = CatalogueTables['catalogue_services'];

export async function listServices(db: Db): Promise<ServiceRow[]> {
  return t(db).selectFrom('catalogue_services').selectAll().orderBy('slug').execute();
}

export async function findService(db: Db, slug: string): Promise<ServiceRow | undefined> {
  return t(db).selectFrom('catalogue_services').selectAll().where('slug', '=', slug).executeTakeFirst();
}

export async function insertService(db: Db, slug: string, draft: unknown): Promise<ServiceRow | undefined> {
  return t(db)
    .insertInto('catalogue_services')
    .values({ slug, draft: JSON.stringify(draft) } as never)
    .onConflict((oc) => oc.column('slug').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function saveDraft(db: Db, id: string, draft: unknown): Promise<void> {
  await t(db)
    .updateTable('catalogue_services')
    .set({ draft: JSON.stringify(draft), draft_changed: true, updated_at: new Date() } as never)
    .where('id', '=', id)
    .execute();
}

/** Records a new immutable version and makes it the live one. */
export async function insertVersion(
  db: Db,
  serviceId: string,
  definition: unknown,
  publishedBy: string | null,
): Promise<number> {
  const latest = await t(db)
    .selectFrom('catalogue_service_versions')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('service_id', '=', serviceId)
    .executeTakeFirst();
  const version = Number(latest?.version ?? 0) + 1;
  await t(db)
    .insertInto('catalogue_service_versions')
    .values({
      service_id: serviceId,
      version,
      definition: JSON.stringify(definition),
      published_by: publishedBy,
    } as never)
    .execute();
  await t(db)
    .updateTable('catalogue_services')
    .set({ status: 'live', live_version: version, draft_changed: false, updated_at: new Date() })
    .where('id', '=', serviceId)
    .execute();
  return version;
}

export async function setStatus(db: Db, id: string, status: ServiceStatus): Promise<void> {
  await t(db)
    .updateTable('catalogue_services')
    .set({ status, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/** Every live service's current version: what residents and API clients see. */
export async function listLiveVersions(db: Db) {
  return t(db)
    .selectFrom('catalogue_services as s')
    .innerJoin('catalogue_service_versions as v', (j) =>
      j.onRef('v.service_id', '=', 's.id').onRef('v.version', '=', 's.live_version'),
    )
    .select(['s.slug', 'v.version', 'v.definition'])
    .where('s.status', '=', 'live')
    .execute();
}

export async function findDraftAnswers(db: Db, residentId: string, slug: string) {
  return t(db)
    .selectFrom('form_drafts')
    .selectAll()
    .where('resident_id', '=', residentId)
    .where('service_slug', '=', slug)
    .executeTakeFirst();
}

/** A resident's drafts for services that are still live, with the live title. */
export async function listDraftAnswers(db: Db, residentId: string) {
  return t(db)
    .selectFrom('form_drafts as d')
    .innerJoin('catalogue_services as s', 's.slug', 'd.service_slug')
    .innerJoin('catalogue_service_versions as v', (j) =>
      j.onRef('v.service_id', '=', 's.id').onRef('v.version', '=', 's.live_version'),
    )
    .select(['d.service_slug', 'd.updated_at', sql<string>`v.definition->>'title'`.as('title')])
    .where('d.resident_id', '=', residentId)
    .where('s.status', '=', 'live')
    .orderBy('d.updated_at', 'desc')
    .execute();
}

export async function upsertDraftAnswers(db: Db, residentId: string, slug: string, answers: unknown) {
  const json = JSON.stringify(answers);
  await t(db)
    .insertInto('form_drafts')
    .values({ resident_id: residentId, service_slug: slug, answers: json } as never)
    .onConflict((oc) =>
      oc
        .columns(['resident_id', 'service_slug'])
        .doUpdateSet({ answers: json, updated_at: new Date() } as never),
    )
    .execute();
}

export async function deleteDraftAnswers(db: Db, residentId: string, slug: string) {
  await t(db)
    .deleteFrom('form_drafts')
    .where('resident_id', '=', residentId)
    .where('service_slug', '=', slug)
    .execute();
}

/** The service row, locked until the transaction ends, so two editors cannot lose each other's changes. */
export async function findServiceForUpdate(db: Db, slug: string): Promise<ServiceRow | undefined> {
  return t(db)
    .selectFrom('catalogue_services')
    .selectAll()
    .where('slug', '=', slug)
    .forUpdate()
    .executeTakeFirst();
}

/** The council's teams (a platform table), for choosing where a service's cases go. */
export async function listTeams(db: Db): Promise<Array<{ code: string; name: string }>> {
  return tables<{ teams: { code: string; name: string } }>(db)
    .selectFrom('teams')
    .select(['code', 'name'])
    .orderBy('name')
    .execute();
}
