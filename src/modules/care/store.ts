import { sql, type AliasedRawBuilder, type Expression, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { auditEachRow, type AuditEntry } from '../../platform/audit/index.ts';
import { tables, type Db } from '../../platform/db/index.ts';
import type { CareTables } from './schema.ts';

type T = CareTables;
const t = (db: Db) => tables<CareTables>(db);
const day = (column: string) => sql<string>`to_char(${sql.ref(column)}, 'YYYY-MM-DD')`;

/**
 * Every column of a table's row, named. A statement that selects `*` is never prepared (see
 * platform-prepared-statements.md), so the reads made on every record view name their columns;
 * the compiler refuses a list that leaves one of the row's columns out.
 */
const everyColumn =
  <Row>() =>
  <const C extends ReadonlyArray<keyof Row & string>>(
    columns: C &
      (Exclude<keyof Row, C[number]> extends never ? unknown : { missing: Exclude<keyof Row, C[number]> }),
  ) =>
    columns;
const relatedPersonColumns = everyColumn<T['care_related_people']>()([
  'id',
  'person_id',
  'name',
  'relationship',
  'phone',
  'email',
  'emergency_contact',
  'created_at',
]);
const encounterColumns = everyColumn<T['care_encounters']>()([
  'id',
  'person_id',
  'practitioner_id',
  'organisation_id',
  'kind',
  'status',
  'start_at',
  'end_at',
  'notes',
  'created_at',
  'version_id',
  'updated_at',
]);
const observationColumns = everyColumn<T['care_observations']>()([
  'id',
  'person_id',
  'code',
  'display',
  'value_text',
  'value_quantity',
  'unit',
  'effective_at',
  'source',
  'alert_id',
  'created_at',
]);
const flagColumns = everyColumn<T['care_flags']>()([
  'id',
  'person_id',
  'code',
  'display',
  'category',
  'status',
  'alert_id',
  'period_start',
  'period_end',
  'created_at',
  'version_id',
  'updated_at',
]);
const practitionerColumns = everyColumn<T['care_practitioners']>()([
  'id',
  'staff_user_id',
  'name',
  'email',
  'organisation_id',
  'role',
  'created_at',
]).map((c) => `pr.${c}` as const);
const documentColumns = everyColumn<T['care_documents']>()([
  'id',
  'person_id',
  'title',
  'file_id',
  'media_type',
  'author_id',
  'created_at',
]);
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export type OrganisationRow = T['care_organisations'];
export type ServiceRow = T['care_services'];
export type LocationRow = T['care_locations'];
export type PersonRow = T['care_people'];
export type PractitionerRow = T['care_practitioners'];

// ---------------------------------------------------------------- directory (Open Referral UK)

export async function findOrganisationByName(db: Db, name: string) {
  return t(db)
    .selectFrom('care_organisations')
    .selectAll()
    .where(sql`lower(name)`, '=', name.trim().toLowerCase())
    .executeTakeFirst();
}

export async function insertOrganisation(
  db: Db,
  row: Pick<OrganisationRow, 'name' | 'kind'> & Partial<OrganisationRow>,
): Promise<OrganisationRow> {
  return t(db)
    .insertInto('care_organisations')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findOrganisation(db: Db, id: string) {
  return t(db).selectFrom('care_organisations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listOrganisations(
  db: Db,
  filter: { name?: string; kind?: string; offset?: number; limit?: number } = {},
) {
  let q = t(db).selectFrom('care_organisations');
  if (filter.name) q = q.where(sql`lower(name)`, 'like', `%${escapeLike(filter.name.toLowerCase())}%`);
  if (filter.kind) q = q.where('kind', '=', filter.kind as never);
  const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const rows = await q
    .selectAll()
    .orderBy('name')
    .offset(filter.offset ?? 0)
    .limit(filter.limit ?? 50)
    .execute();
  return { total: Number(total.n), rows };
}

export async function upsertTaxonomyTerms(db: Db, terms: Array<T['care_taxonomy_terms']>) {
  if (!terms.length) return;
  await t(db)
    .insertInto('care_taxonomy_terms')
    .values(terms)
    .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ term: eb.ref('excluded.term') })))
    .execute();
}

export async function listTaxonomyTerms(db: Db) {
  return t(db).selectFrom('care_taxonomy_terms').selectAll().orderBy('term').execute();
}

export interface ServiceFilter {
  text?: string;
  termIds?: string[];
  age?: number;
  organisationId?: string;
  status?: 'active' | 'inactive';
}

function serviceQuery(db: Db, filter: ServiceFilter) {
  let q = t(db)
    .selectFrom('care_services as s')
    .innerJoin('care_organisations as o', 'o.id', 's.organisation_id');
  if (filter.status) q = q.where('s.status', '=', filter.status);
  if (filter.organisationId) q = q.where('s.organisation_id', '=', filter.organisationId);
  if (filter.text) {
    const like = `%${escapeLike(filter.text.toLowerCase())}%`;
    q = q.where((eb) =>
      eb.or([
        eb(sql`lower(s.name)`, 'like', like),
        eb(sql`lower(s.description)`, 'like', like),
        eb(sql`lower(o.name)`, 'like', like),
      ]),
    );
  }
  if (filter.age !== undefined) {
    const age = filter.age;
    q = q
      .where((eb) => eb.or([eb('s.minimum_age', 'is', null), eb('s.minimum_age', '<=', age)]))
      .where((eb) => eb.or([eb('s.maximum_age', 'is', null), eb('s.maximum_age', '>=', age)]));
  }
  if (filter.termIds?.length) {
    const ids = filter.termIds;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('care_service_taxonomies as st')
          .select('st.service_id')
          .whereRef('st.service_id', '=', 's.id')
          .where('st.term_id', 'in', ids),
      ),
    );
  }
  return q;
}

/** Services matching a filter, with their organisation's name; the caller sorts by distance. */
export async function searchServices(db: Db, filter: ServiceFilter) {
  return serviceQuery(db, filter)
    .selectAll('s')
    .select(['o.name as organisation_name'])
    .orderBy('s.name')
    .limit(2000)
    .execute();
}

export async function findService(db: Db, id: string) {
  return t(db)
    .selectFrom('care_services as s')
    .innerJoin('care_organisations as o', 'o.id', 's.organisation_id')
    .selectAll('s')
    .select(['o.name as organisation_name'])
    .where('s.id', '=', id)
    .executeTakeFirst();
}

export async function insertService(
  db: Db,
  row: Omit<ServiceRow, 'id' | 'created_at' | 'updated_at'>,
): Promise<ServiceRow> {
  return t(db)
    .insertInto('care_services')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateService(db: Db, id: string, set: Partial<ServiceRow>) {
  await t(db)
    .updateTable('care_services')
    .set({ ...set, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export async function setServiceTaxonomies(db: Db, serviceId: string, termIds: string[]) {
  await t(db).deleteFrom('care_service_taxonomies').where('service_id', '=', serviceId).execute();
  if (termIds.length)
    await t(db)
      .insertInto('care_service_taxonomies')
      .values(termIds.map((term_id) => ({ service_id: serviceId, term_id })))
      .execute();
}

export async function taxonomiesOf(db: Db, serviceIds: string[]) {
  if (!serviceIds.length) return [];
  return t(db)
    .selectFrom('care_service_taxonomies as st')
    .innerJoin('care_taxonomy_terms as tt', 'tt.id', 'st.term_id')
    .select(['st.service_id', 'tt.id', 'tt.term', 'tt.description', 'tt.vocabulary'])
    .where('st.service_id', 'in', serviceIds)
    .execute();
}

export async function locationsOf(db: Db, serviceIds: string[]) {
  if (!serviceIds.length) return [];
  return t(db)
    .selectFrom('care_service_locations as sl')
    .innerJoin('care_locations as l', 'l.id', 'sl.location_id')
    .selectAll('l')
    .select('sl.service_id')
    .where('sl.service_id', 'in', serviceIds)
    .execute();
}

export async function insertLocation(db: Db, row: Omit<LocationRow, 'id'>): Promise<LocationRow> {
  return t(db)
    .insertInto('care_locations')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function replaceServiceLocation(db: Db, serviceId: string, locationId: string | null) {
  await t(db).deleteFrom('care_service_locations').where('service_id', '=', serviceId).execute();
  if (locationId)
    await t(db)
      .insertInto('care_service_locations')
      .values({ service_id: serviceId, location_id: locationId })
      .execute();
}

// ---------------------------------------------------------------- referrals

export async function saveDraft(db: Db, id: string | null, data: unknown): Promise<string> {
  if (id) {
    const updated = await t(db)
      .updateTable('care_referral_drafts')
      .set({ data: JSON.stringify(data), updated_at: new Date() } as never)
      .where('id', '=', id)
      .returning('id')
      .executeTakeFirst();
    if (updated) return updated.id;
  }
  const row = await t(db)
    .insertInto('care_referral_drafts')
    .values({ data: JSON.stringify(data) } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findDraft(db: Db, id: string) {
  return t(db).selectFrom('care_referral_drafts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function deleteDraft(db: Db, id: string) {
  await t(db).deleteFrom('care_referral_drafts').where('id', '=', id).execute();
}

export async function purgeDrafts(db: Db, olderThan: Date) {
  const result = await t(db).deleteFrom('care_referral_drafts').where('updated_at', '<', olderThan).execute();
  return Number(result[0]?.numDeletedRows ?? 0);
}

export async function insertReferral(db: Db, row: Omit<T['care_referrals'], 'id' | 'created_at'>) {
  return t(db)
    .insertInto('care_referrals')
    .values({ ...row, answers: JSON.stringify(row.answers) } as never)
    .onConflict((oc) => oc.column('case_id').doNothing())
    .returning(['id', 'reference'])
    .executeTakeFirst();
}

export async function findReferral(db: Db, reference: string) {
  return t(db).selectFrom('care_referrals').selectAll().where('reference', '=', reference).executeTakeFirst();
}

export async function referralsForResident(db: Db, residentId: string) {
  return t(db)
    .selectFrom('care_referrals')
    .select(['reference', 'kind', 'for_self', 'subject_name', 'priority', 'created_at'])
    .where('resident_id', '=', residentId)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function eraseResidentReferrals(db: Db, residentId: string) {
  await t(db)
    .updateTable('care_referrals')
    .set({ resident_id: null })
    .where('resident_id', '=', residentId)
    .execute();
  await t(db)
    .updateTable('care_people')
    .set({ resident_id: null })
    .where('resident_id', '=', residentId)
    .execute();
}

// ---------------------------------------------------------------- people and practitioners

const personColumns = [
  'p.id',
  'p.nhs_number',
  'p.given_name',
  'p.family_name',
  'p.gender',
  'p.address',
  'p.postcode',
  'p.phone',
  'p.resident_id',
  'p.sharing_objection',
  'p.objection_recorded_at',
  'p.created_at',
  'p.updated_at',
  'p.version_id',
] as const;

export type Person = Omit<PersonRow, 'date_of_birth'> & { date_of_birth: string };

function people(db: Db) {
  return t(db)
    .selectFrom('care_people as p')
    .select(personColumns)
    .select(day('p.date_of_birth').as('date_of_birth'));
}

export async function findPerson(db: Db, id: string): Promise<Person | undefined> {
  return people(db).where('p.id', '=', id).executeTakeFirst();
}

/** Who asks to see a record: the practitioner, and the member of staff when it is one. */
export interface Onlooker {
  practitionerId: string;
  staffUserId?: string;
}

/**
 * What the access decision needs besides the person, read in the same statement: whether the
 * onlooker is in the person's care team, and whether a member of staff has the glass broken now.
 */
export interface AccessFacts {
  /** The practitioner the facts were read for. */
  facts_for: string;
  in_care_team: boolean;
  glass_open: boolean;
}
export type PersonForAccess = Person & AccessFacts;

// Raw SQL on the alias `p` (care_people), which every person query here uses.
const accessFacts = (who: Onlooker, now: Date) => [
  sql<string>`${who.practitionerId}::text`.as('facts_for'),
  sql<boolean>`exists (select 1 from care_team_members m
                        where m.person_id = p.id and m.practitioner_id = ${who.practitionerId})`.as(
    'in_care_team',
  ),
  (who.staffUserId
    ? sql<boolean>`exists (select 1 from care_break_glass g
                            where g.person_id = p.id and g.staff_user_id = ${who.staffUserId} and g.expires_at > ${now})`
    : sql<boolean>`false`
  ).as('glass_open'),
];

/** A person with the facts that decide whether this onlooker may see them, in one statement. */
export async function findPersonForAccess(
  db: Db,
  id: string,
  who: Onlooker,
  now: Date,
): Promise<PersonForAccess | undefined> {
  const row = await people(db).select(accessFacts(who, now)).where('p.id', '=', id).executeTakeFirst();
  return row as PersonForAccess | undefined;
}

export async function findPersonByNhsNumber(db: Db, nhsNumber: string): Promise<Person | undefined> {
  return people(db).where('p.nhs_number', '=', nhsNumber).executeTakeFirst();
}

export async function peopleForResident(db: Db, residentId: string): Promise<Person[]> {
  return people(db).where('p.resident_id', '=', residentId).orderBy('p.created_at').execute();
}

export interface PersonSearch {
  ids?: string[];
  nhsNumber?: string;
  name?: string;
  /** [operator, YYYY-MM-DD] pairs, all of which must hold. */
  birthdate?: Array<[string, string]>;
  /** Only people in this practitioner's care teams. */
  practitionerId?: string;
  /** Leave out people who objected to sharing (for practitioners of other organisations). */
  excludeObjections?: boolean;
  /**
   * Find anybody only while this bearer token is still good (not expired, its client not revoked,
   * its practitioner still of this organisation): for a holder remembered from an earlier request.
   */
  confirmToken?: TokenToConfirm;
  offset: number;
  limit: number;
}

export interface TokenToConfirm {
  hash: string;
  practitionerId: string;
  organisationId: string;
}

function personSearchQuery(db: Db, s: PersonSearch) {
  let q = t(db).selectFrom('care_people as p');
  if (s.ids) q = q.where('p.id', 'in', s.ids.length ? s.ids : ['00000000-0000-0000-0000-000000000000']);
  if (s.nhsNumber !== undefined) q = q.where('p.nhs_number', '=', s.nhsNumber);
  if (s.name) {
    const like = `${escapeLike(s.name.toLowerCase())}%`;
    q = q.where((eb) =>
      eb.or([eb(sql`lower(p.family_name)`, 'like', like), eb(sql`lower(p.given_name)`, 'like', like)]),
    );
  }
  for (const [op, value] of s.birthdate ?? []) q = q.where('p.date_of_birth', op as '=', value);
  if (s.practitionerId) {
    const id = s.practitionerId;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('care_team_members as m')
          .select('m.person_id')
          .whereRef('m.person_id', '=', 'p.id')
          .where('m.practitioner_id', '=', id),
      ),
    );
  }
  if (s.excludeObjections) q = q.where('p.sharing_objection', '=', false);
  if (s.confirmToken) {
    const token = s.confirmToken;
    // No reference to p: PostgreSQL checks it once per statement (a one-time filter).
    q = q.where(
      sql<boolean>`exists (select 1 from care_api_tokens k
                             join care_api_clients c on c.id = k.client_id
                             join care_practitioners pr on pr.id = k.practitioner_id
                            where k.token_hash = ${token.hash} and k.expires_at > now()
                              and c.revoked_at is null and k.practitioner_id = ${token.practitionerId}
                              and pr.organisation_id = ${token.organisationId})`,
    );
  }
  return q;
}

export async function searchPeople(db: Db, s: PersonSearch): Promise<{ total: number; rows: Person[] }> {
  return pageOfPeople(db, s, undefined, []);
}

/** A person's GPs in their care team: what a FHIR Patient shows of the team (`generalPractitioner`). */
export interface GeneralPractitioner {
  person_id: string;
  organisation_kind: 'gp_practice';
  practitioner_id: string;
  name: string;
}

/**
 * A search for people with, on each one found, the facts that decide this onlooker's access and
 * their GPs: all a FHIR Patient search needs, in one statement.
 */
export async function searchPeopleForAccess(
  db: Db,
  s: PersonSearch,
  who: Onlooker,
  now: Date,
  /** Write this entry for each person found that the care team lets in, in the same statement. */
  auditRead?: Omit<AuditEntry, 'subjectId'>,
): Promise<{
  total: number;
  rows: Array<PersonForAccess & { general_practitioners: GeneralPractitioner[]; read_audited: boolean }>;
}> {
  const found = await pageOfPeople(db, s, auditRead, [
    ...accessFacts(who, now),
    sql<GeneralPractitioner[]>`(select coalesce(json_agg(json_build_object(
        'person_id', m.person_id, 'organisation_kind', o.kind, 'practitioner_id', pr.id, 'name', pr.name)
        order by o.name, pr.name), '[]')
        from care_team_members m
        join care_practitioners pr on pr.id = m.practitioner_id
        join care_organisations o on o.id = pr.organisation_id
       where m.person_id = p.id and o.kind = 'gp_practice')`.as('general_practitioners'),
  ]);
  return found as {
    total: number;
    rows: Array<PersonForAccess & { general_practitioners: GeneralPractitioner[]; read_audited: boolean }>;
  };
}

const PERSON_ORDER = ['family_name', 'given_name', 'id'] as const;

/**
 * One page of a person search and the number of matches, in one statement (the count is a window
 * over the matches); an empty page past the end (or of size 0) has no row to carry the count, so
 * only then is it counted apart.
 */
async function pageOfPeople(
  db: Db,
  s: PersonSearch,
  auditRead: Omit<AuditEntry, 'subjectId'> | undefined,
  extra: Array<AliasedRawBuilder<unknown, string>>,
): Promise<{ total: number; rows: Person[] }> {
  const q = personSearchQuery(db, s);
  const page = q
    .select(personColumns)
    .select(day('p.date_of_birth').as('date_of_birth'))
    .select(sql<string>`count(*) over ()`.as('total'))
    .select(extra)
    .orderBy(sql.join(PERSON_ORDER.map((c) => sql.ref(`p.${c}`))))
    .offset(s.offset)
    .limit(s.limit);
  let found: Array<Person & { total: string }>;
  if (auditRead) {
    // The rule of record.decide() for a care-team read, so no one is audited as read who is then refused.
    const readable = sql<boolean>`found.in_care_team and not (found.sharing_objection and ${Boolean(s.excludeObjections)})`;
    const order = PERSON_ORDER.map((c) => `found.${c}`);
    // Named, not `found.*`: a statement that selects `*` is never prepared, and this one runs on
    // every Patient search (parsed and planned anew each time, it cost PostgreSQL four times the CPU).
    const columns = [
      ...personColumns.map((c) => c.slice('p.'.length)),
      'date_of_birth',
      'total',
      ...extra.map((e) => e.alias as string),
    ].map((c) => sql.ref(`found.${c}`));
    found = (
      await sql<Person & { total: string }>`with found as (${page}),
           audited as (${auditEachRow(auditRead, { from: 'found', subjectId: 'found.id', where: readable, orderBy: order })})
         select ${sql.join(columns)}, ${readable} as read_audited from found order by ${sql.join(order.map((c) => sql.ref(c)))}`.execute(
        db,
      )
    ).rows;
  } else found = await page.execute();
  const total = found[0]
    ? Number(found[0].total)
    : s.offset > 0 || s.limit === 0
      ? Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
      : 0;
  return { total, rows: found.map(({ total: _total, ...row }) => row) };
}

export async function insertPerson(
  db: Db,
  row: Pick<PersonRow, 'given_name' | 'family_name' | 'date_of_birth' | 'gender'> & Partial<PersonRow>,
): Promise<Person> {
  const inserted = await t(db)
    .insertInto('care_people')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return (await findPerson(db, inserted.id))!;
}

export async function updatePerson(db: Db, id: string, set: Partial<PersonRow>) {
  await updateVersioned(db, 'care_people', { id }, set);
}

export async function practitionerForStaff(db: Db, staffUserId: string) {
  return t(db)
    .selectFrom('care_practitioners as pr')
    .select(practitionerColumns)
    .where('pr.staff_user_id', '=', staffUserId)
    .executeTakeFirst();
}

export async function staffUser(db: Db, id: string) {
  return tables<{ staff_users: { id: string; name: string; email: string; team_code: string | null } }>(db)
    .selectFrom('staff_users')
    .select(['id', 'name', 'email', 'team_code'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function insertPractitioner(
  db: Db,
  row: Pick<PractitionerRow, 'name' | 'organisation_id' | 'role'> & Partial<PractitionerRow>,
): Promise<PractitionerRow> {
  return t(db)
    .insertInto('care_practitioners')
    .values(row as never)
    .onConflict((oc) => oc.column('staff_user_id').doNothing())
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findPractitioner(db: Db, id: string) {
  return t(db)
    .selectFrom('care_practitioners as pr')
    .innerJoin('care_organisations as o', 'o.id', 'pr.organisation_id')
    .select(practitionerColumns)
    .select(['o.name as organisation_name', 'o.kind as organisation_kind'])
    .where('pr.id', '=', id)
    .executeTakeFirst();
}

export async function listPractitioners(
  db: Db,
  filter: { name?: string; offset?: number; limit?: number } = {},
) {
  let q = t(db)
    .selectFrom('care_practitioners as pr')
    .innerJoin('care_organisations as o', 'o.id', 'pr.organisation_id');
  if (filter.name) q = q.where(sql`lower(pr.name)`, 'like', `%${escapeLike(filter.name.toLowerCase())}%`);
  const offset = filter.offset ?? 0;
  const limit = filter.limit ?? 200;
  // The count is a window over the matches, so the list is one prepared statement (a count on its
  // own had no parameter and was parsed on every record page); an empty page is counted apart.
  const found = await q
    .select(practitionerColumns)
    .select(['o.name as organisation_name', 'o.kind as organisation_kind'])
    .select(sql<string>`count(*) over ()`.as('total'))
    .orderBy('pr.name')
    .offset(offset)
    .limit(limit)
    .execute();
  const total = found[0]
    ? Number(found[0].total)
    : offset > 0 || limit === 0
      ? Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
      : 0;
  return { total, rows: found.map(({ total: _total, ...row }) => row) };
}

export async function isTeamMember(db: Db, personId: string, practitionerId: string): Promise<boolean> {
  const row = await t(db)
    .selectFrom('care_team_members')
    .select('person_id')
    .where('person_id', '=', personId)
    .where('practitioner_id', '=', practitionerId)
    .executeTakeFirst();
  return Boolean(row);
}

export async function addTeamMember(db: Db, personId: string, practitionerId: string, role: string) {
  await t(db)
    .insertInto('care_team_members')
    .values({ person_id: personId, practitioner_id: practitionerId, role } as never)
    .onConflict((oc) => oc.columns(['person_id', 'practitioner_id']).doUpdateSet({ role }))
    .execute();
}

export async function removeTeamMember(db: Db, personId: string, practitionerId: string) {
  await t(db)
    .deleteFrom('care_team_members')
    .where('person_id', '=', personId)
    .where('practitioner_id', '=', practitionerId)
    .execute();
}

export async function teamOf(db: Db, personIds: string[]) {
  if (!personIds.length) return [];
  return t(db)
    .selectFrom('care_team_members as m')
    .innerJoin('care_practitioners as pr', 'pr.id', 'm.practitioner_id')
    .innerJoin('care_organisations as o', 'o.id', 'pr.organisation_id')
    .select([
      'm.person_id',
      'm.role',
      'm.added_at',
      'pr.id as practitioner_id',
      'pr.name',
      'pr.email',
      'pr.role as practitioner_role',
      'o.id as organisation_id',
      'o.name as organisation_name',
      'o.kind as organisation_kind',
    ])
    .where('m.person_id', 'in', personIds)
    .orderBy('o.name')
    .orderBy('pr.name')
    .execute();
}

// ---------------------------------------------------------------- the record's parts

export interface Window {
  personIds: string[];
  /** One row by its id (FHIR `_id` and reads). */
  id?: string;
  /** [operator, ISO date or instant] pairs on the part's own date. */
  date?: Array<[string, string]>;
  offset: number;
  limit: number;
}

async function paged<R>(
  count: { executeTakeFirstOrThrow(): Promise<{ n: number | string | bigint }> },
  rows: { execute(): Promise<R[]> },
): Promise<{ total: number; rows: R[] }> {
  const [c, r] = await Promise.all([count.executeTakeFirstOrThrow(), rows.execute()]);
  return { total: Number(c.n), rows: r };
}

/** A window of one part of the record: how many rows match in all, and the rows in the window. */
function inWindow<DB, TB extends keyof DB, O, R>(
  base: SelectQueryBuilder<DB, TB, O>,
  w: Window,
  rows: (q: SelectQueryBuilder<DB, TB, O>) => SelectQueryBuilder<DB, TB, R>,
) {
  return paged(
    base.select((eb) => eb.fn.countAll<number>().as('n')).$castTo<{ n: number }>(),
    rows(base).offset(w.offset).limit(w.limit),
  );
}

function dated<Q extends { where(...args: never[]): Q }>(q: Q, column: string, w: Window): Q {
  let out = q;
  if (w.id !== undefined)
    out = (out as unknown as { where(c: Expression<SqlBool>): Q }).where(sql<SqlBool>`id = ${w.id}`);
  for (const [op, value] of w.date ?? [])
    out = (out as unknown as { where(c: Expression<SqlBool>): Q }).where(
      sql<SqlBool>`${sql.ref(column)} ${sql.raw(op)} ${value}`,
    );
  return out;
}

export async function relatedPeople(db: Db, w: Window) {
  const base = dated(
    t(db).selectFrom('care_related_people').where('person_id', 'in', w.personIds),
    'created_at',
    w,
  );
  return inWindow(base, w, (q) => q.select(relatedPersonColumns).orderBy('created_at').orderBy('id'));
}

export async function insertRelatedPerson(db: Db, row: Omit<T['care_related_people'], 'id' | 'created_at'>) {
  return t(db)
    .insertInto('care_related_people')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function conditions(db: Db, w: Window) {
  const base = dated(
    t(db).selectFrom('care_conditions').where('person_id', 'in', w.personIds),
    'recorded_at',
    w,
  );
  return inWindow(base, w, (q) =>
    q
      .select(['id', 'person_id', 'code', 'display', 'clinical_status', 'recorded_by', 'recorded_at'])
      .select(day('onset_date').as('onset_date'))
      .orderBy('recorded_at', 'desc')
      .orderBy('id'),
  );
}

export async function insertCondition(
  db: Db,
  row: Pick<T['care_conditions'], 'person_id' | 'display' | 'clinical_status'> &
    Partial<T['care_conditions']>,
) {
  return t(db)
    .insertInto('care_conditions')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function medications(db: Db, w: Window) {
  const base = dated(
    t(db).selectFrom('care_medications').where('person_id', 'in', w.personIds),
    'recorded_at',
    w,
  );
  return inWindow(base, w, (q) =>
    q
      .select(['id', 'person_id', 'code', 'display', 'dosage', 'status', 'recorded_by', 'recorded_at'])
      .select(day('effective_from').as('effective_from'))
      .orderBy('recorded_at', 'desc')
      .orderBy('id'),
  );
}

export async function insertMedication(
  db: Db,
  row: Pick<T['care_medications'], 'person_id' | 'display' | 'status'> & Partial<T['care_medications']>,
) {
  return t(db)
    .insertInto('care_medications')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function carePlans(db: Db, w: Window) {
  const base = dated(t(db).selectFrom('care_plans').where('person_id', 'in', w.personIds), 'created_at', w);
  return inWindow(base, w, (q) =>
    q
      .select([
        'id',
        'person_id',
        'title',
        'description',
        'status',
        'author_id',
        'created_at',
        'updated_at',
        'version_id',
      ])
      .select([day('period_start').as('period_start'), day('period_end').as('period_end')])
      .orderBy('created_at', 'desc')
      .orderBy('id'),
  );
}

export async function insertCarePlan(
  db: Db,
  row: Pick<T['care_plans'], 'person_id' | 'title' | 'status'> & Partial<T['care_plans']>,
) {
  return t(db)
    .insertInto('care_plans')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function updateCarePlan(db: Db, id: string, set: Partial<T['care_plans']>) {
  await updateVersioned(db, 'care_plans', { id }, set);
}

export async function encounters(db: Db, w: Window) {
  const base = dated(
    t(db).selectFrom('care_encounters').where('person_id', 'in', w.personIds),
    'start_at',
    w,
  );
  return inWindow(base, w, (q) => q.select(encounterColumns).orderBy('start_at', 'desc').orderBy('id'));
}

export async function insertEncounter(
  db: Db,
  row: Omit<T['care_encounters'], 'id' | 'created_at' | 'updated_at' | 'version_id'>,
) {
  return t(db)
    .insertInto('care_encounters')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function updateEncounter(db: Db, id: string, set: Partial<T['care_encounters']>) {
  await updateVersioned(db, 'care_encounters', { id }, set);
}

export async function observations(db: Db, w: Window) {
  const base = dated(
    t(db).selectFrom('care_observations').where('person_id', 'in', w.personIds),
    'effective_at',
    w,
  );
  return inWindow(base, w, (q) =>
    q.select(observationColumns).orderBy('effective_at', 'desc').orderBy('id', 'desc'),
  );
}

/** The newest observations of one person without counting them all (a person may have thousands). */
export async function latestObservations(db: Db, personId: string, limit: number) {
  return t(db)
    .selectFrom('care_observations')
    .select(observationColumns)
    .where('person_id', '=', personId)
    .orderBy('effective_at', 'desc')
    .limit(limit)
    .execute();
}

export async function insertObservation(
  db: Db,
  row: Omit<T['care_observations'], 'id' | 'created_at'>,
): Promise<number | undefined> {
  const inserted = await t(db)
    .insertInto('care_observations')
    .values(row as never)
    .onConflict((oc) => oc.column('alert_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted?.id;
}

export async function flags(db: Db, w: Window) {
  const base = dated(t(db).selectFrom('care_flags').where('person_id', 'in', w.personIds), 'period_start', w);
  return inWindow(base, w, (q) => q.select(flagColumns).orderBy('period_start', 'desc').orderBy('id'));
}

export async function insertFlag(
  db: Db,
  row: Pick<T['care_flags'], 'person_id' | 'code' | 'display' | 'category'> & Partial<T['care_flags']>,
) {
  return t(db)
    .insertInto('care_flags')
    .values(row as never)
    .onConflict((oc) => oc.column('alert_id').doNothing())
    .returning('id')
    .executeTakeFirst();
}

export async function closeFlagsForAlert(db: Db, alertId: string, at: Date) {
  await updateVersioned(
    db,
    'care_flags',
    { alert_id: alertId, status: 'active' },
    { status: 'inactive', period_end: at },
  );
}

export async function updateFlag(db: Db, id: string, set: Partial<T['care_flags']>) {
  await updateVersioned(db, 'care_flags', { id }, set);
}

// ---------------------------------------------------------------- versions (FHIR history)

export type VersionedTable = T['care_resource_versions']['table_name'];

/**
 * Changes rows as a new version: in one statement the rows as they were are kept in
 * care_resource_versions, and each row's version_id goes up by one with updated_at now.
 */
export async function updateVersioned<K extends VersionedTable>(
  db: Db,
  table: K,
  where: Partial<Record<keyof T[K], unknown>>,
  set: Partial<T[K]>,
) {
  const matches = sql.join(
    Object.entries(where).map(([column, value]) => sql`t.${sql.ref(column)} = ${value}`),
    sql` and `,
  );
  const changes = Object.entries(set)
    .filter(([column, value]) => value !== undefined && !['version_id', 'updated_at'].includes(column))
    .map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
  const owner = table === 'care_people' ? sql.ref('old.id') : sql.ref('old.person_id');
  await sql`
    with old as (select t.* from ${sql.table(table)} t where ${matches} for update),
    kept as (
      insert into care_resource_versions (table_name, resource_id, version_id, person_id, row)
      select ${table}, old.id, old.version_id, ${owner}, to_jsonb(old) from old
    )
    update ${sql.table(table)} t
       set ${sql.join([...changes, sql`version_id = t.version_id + 1`, sql`updated_at = now()`])}
      from old where t.id = old.id`.execute(db);
}

/** The earlier versions of one row, newest first, as they were stored (JSON). */
export async function earlierVersions(db: Db, table: VersionedTable, id: string) {
  return t(db)
    .selectFrom('care_resource_versions')
    .select(['version_id', 'row', 'replaced_at'])
    .where('table_name', '=', table)
    .where('resource_id', '=', id)
    .orderBy('version_id', 'desc')
    .execute();
}

export async function documents(db: Db, w: Window) {
  const base = dated(
    t(db).selectFrom('care_documents').where('person_id', 'in', w.personIds),
    'created_at',
    w,
  );
  return inWindow(base, w, (q) => q.select(documentColumns).orderBy('created_at', 'desc').orderBy('id'));
}

export async function insertDocument(db: Db, row: Omit<T['care_documents'], 'id' | 'created_at'>) {
  return t(db)
    .insertInto('care_documents')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function findDocument(db: Db, id: string) {
  return t(db).selectFrom('care_documents').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Which person a part of the record belongs to, by table and id (for reads by id). */
export async function ownerOf(db: Db, table: keyof CareTables, id: string): Promise<string | undefined> {
  const row = await t(db)
    .selectFrom(table as 'care_conditions')
    .select('person_id')
    .where('id', '=', id as never)
    .executeTakeFirst();
  return row?.person_id;
}

// ---------------------------------------------------------------- break the glass and access

export async function insertBreakGlass(
  db: Db,
  row: Pick<T['care_break_glass'], 'person_id' | 'reason' | 'vital_interest' | 'expires_at'> &
    Partial<Pick<T['care_break_glass'], 'staff_user_id' | 'practitioner_id' | 'client_id'>>,
) {
  return t(db)
    .insertInto('care_break_glass')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The glass a member of staff (or, through the API, a practitioner) broke on a record and that is still open. */
export async function activeBreakGlass(
  db: Db,
  personId: string,
  who: { staffUserId: string } | { practitionerId: string },
  now: Date,
) {
  return t(db)
    .selectFrom('care_break_glass')
    .selectAll()
    .where('person_id', '=', personId)
    .where((eb) =>
      'staffUserId' in who
        ? eb('staff_user_id', '=', who.staffUserId)
        : eb('practitioner_id', '=', who.practitionerId),
    )
    .where('expires_at', '>', now)
    .orderBy('expires_at', 'desc')
    .executeTakeFirst();
}

export async function unreportedBreakGlass(db: Db) {
  return t(db)
    .selectFrom('care_break_glass')
    .select('id')
    .where('reported_at', 'is', null)
    .orderBy('created_at')
    .execute();
}

/** Break-the-glass rows with the person and who broke it (staff by name; a practitioner's API client marked so). */
function breakGlassRows(db: Db) {
  return t(db)
    .selectFrom('care_break_glass as b')
    .innerJoin('care_people as p', 'p.id', 'b.person_id')
    .leftJoin('staff_users as s' as 'care_people as s', 's.id', 'b.staff_user_id')
    .leftJoin('care_practitioners as pr', 'pr.id', 'b.practitioner_id')
    .select([
      'b.id',
      'b.reason',
      'b.vital_interest',
      'b.created_at',
      'b.reported_at',
      'b.person_id',
      'b.client_id',
      'p.given_name',
      'p.family_name',
      sql<string>`coalesce(s.name, pr.name || ' (FHIR API)')`.as('staff_name'),
    ]);
}

export async function breakGlassForReport(db: Db, id: string) {
  return breakGlassRows(db)
    .select(['p.nhs_number', sql<string>`coalesce(s.email, pr.email, 'no email')`.as('staff_email')])
    .where('b.id', '=', id)
    .executeTakeFirst();
}

export async function markBreakGlassReported(db: Db, id: string, at: Date) {
  const result = await t(db)
    .updateTable('care_break_glass')
    .set({ reported_at: at })
    .where('id', '=', id)
    .where('reported_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function listBreakGlass(db: Db, limit = 200) {
  return breakGlassRows(db).orderBy('b.created_at', 'desc').limit(limit).execute();
}

/** Who read or was refused a person's record, newest first, from the audit log. */
export async function accessLog(db: Db, personId: string, limit = 200) {
  const { rows } = await sql<{
    at: Date;
    action: string;
    actor_type: string;
    detail: { via?: string; resource?: string; reason?: string };
    staff_name: string | null;
    practitioner_name: string | null;
    organisation_name: string | null;
  }>`
    select a.at, a.action, a.actor_type, a.detail,
           s.name as staff_name,
           coalesce(pr.name, spr.name) as practitioner_name,
           coalesce(o.name, so.name) as organisation_name
      from audit_log a
      left join staff_users s on a.actor_type = 'staff' and s.id::text = a.actor_id
      left join care_practitioners spr on spr.staff_user_id = s.id
      left join care_organisations so on so.id = spr.organisation_id
      left join care_practitioners pr on a.actor_type = 'api' and pr.id::text = a.actor_id
      left join care_organisations o on o.id = pr.organisation_id
     where a.subject_type = 'care_person' and a.subject_id = ${personId}
       and a.action in ('care.record_read', 'care.record_access_refused', 'care.break_glass')
     order by a.id desc
     limit ${limit}`.execute(db);
  return rows;
}

// ---------------------------------------------------------------- personal budgets

export async function insertBudget(db: Db, row: Omit<T['care_budgets'], 'id' | 'created_at'>) {
  return t(db)
    .insertInto('care_budgets')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function budgetsFor(db: Db, personIds: string[]) {
  if (!personIds.length) return [];
  return t(db)
    .selectFrom('care_budgets as b')
    .select(['b.id', 'b.person_id', 'b.amount_pence', 'b.created_at'])
    .select([day('b.period_start').as('period_start'), day('b.period_end').as('period_end')])
    .select((eb) =>
      eb
        .selectFrom('care_budget_spend as s')
        .select(sql<number>`coalesce(sum(s.amount_pence), 0)::int`.as('spent'))
        .whereRef('s.budget_id', '=', 'b.id')
        .as('spent_pence'),
    )
    .where('b.person_id', 'in', personIds)
    .orderBy('b.period_start', 'desc')
    .execute();
}

export async function findBudget(db: Db, id: string) {
  return t(db)
    .selectFrom('care_budgets as b')
    .select(['b.id', 'b.person_id', 'b.amount_pence'])
    .select([day('b.period_start').as('period_start'), day('b.period_end').as('period_end')])
    .where('b.id', '=', id)
    .executeTakeFirst();
}

export async function spendOf(db: Db, budgetId: string) {
  return t(db)
    .selectFrom('care_budget_spend')
    .select(['id', 'description', 'amount_pence', 'receipt_file_id', 'recorded_by_type', 'created_at'])
    .select(day('spent_on').as('spent_on'))
    .where('budget_id', '=', budgetId)
    .orderBy('spent_on', 'desc')
    .orderBy('created_at', 'desc')
    .execute();
}

export async function insertSpend(db: Db, row: Omit<T['care_budget_spend'], 'id' | 'created_at'>) {
  return t(db)
    .insertInto('care_budget_spend')
    .values(row as never)
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function findSpend(db: Db, id: string) {
  return t(db).selectFrom('care_budget_spend').selectAll().where('id', '=', id).executeTakeFirst();
}

// ---------------------------------------------------------------- API clients and tokens

export async function insertApiClient(
  db: Db,
  row: Omit<T['care_api_clients'], 'id' | 'created_at' | 'revoked_at'>,
) {
  return t(db)
    .insertInto('care_api_clients')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findApiClient(db: Db, clientId: string) {
  return t(db)
    .selectFrom('care_api_clients')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function apiClientsOf(db: Db, practitionerId: string) {
  return t(db)
    .selectFrom('care_api_clients')
    .selectAll()
    .where('practitioner_id', '=', practitionerId)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function revokeApiClient(db: Db, id: string, practitionerId: string) {
  const result = await t(db)
    .updateTable('care_api_clients')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('practitioner_id', '=', practitionerId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  await t(db).deleteFrom('care_api_tokens').where('client_id', '=', id).execute();
  return Number(result.numUpdatedRows) > 0;
}

export async function insertToken(db: Db, row: Omit<T['care_api_tokens'], 'created_at'>) {
  await t(db)
    .insertInto('care_api_tokens')
    .values(row as never)
    .execute();
}

export async function findToken(db: Db, tokenHash: string, now: Date) {
  return t(db)
    .selectFrom('care_api_tokens as k')
    .innerJoin('care_api_clients as c', 'c.id', 'k.client_id')
    .innerJoin('care_practitioners as pr', 'pr.id', 'k.practitioner_id')
    .select(['k.practitioner_id', 'k.scopes', 'k.expires_at', 'c.client_id', 'pr.organisation_id', 'pr.name'])
    .where('k.token_hash', '=', tokenHash)
    .where('k.expires_at', '>', now)
    .where('c.revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function purgeTokens(db: Db, now: Date) {
  await t(db).deleteFrom('care_api_tokens').where('expires_at', '<', now).execute();
}

// ---------------------------------------------------------------- wellbeing alerts

export async function peopleLinkedToResident(db: Db, residentId: string) {
  return t(db).selectFrom('care_people').select('id').where('resident_id', '=', residentId).execute();
}
