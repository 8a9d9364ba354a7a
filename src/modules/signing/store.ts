import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { SigningTables } from './schema.ts';

type T = SigningTables;
export type TemplateRow = T['signing_templates'];
export type EnvelopeRow = T['signing_envelopes'];
export type SignerRow = T['signing_signers'];
export type EventRow = T['signing_events'];
export type LetterRow = T['signing_letters'];

const t = (db: Db) => tables<SigningTables>(db);

// Templates: each save is a new version; the latest version of a slug is the one used.
export async function insertTemplate(db: Db, row: Omit<TemplateRow, 'id' | 'created_at' | 'version'>) {
  const latest = await t(db)
    .selectFrom('signing_templates')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('slug', '=', row.slug)
    .executeTakeFirst();
  return t(db)
    .insertInto('signing_templates')
    .values({ ...row, version: Number(latest?.version ?? 0) + 1 } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function latestTemplates(db: Db): Promise<TemplateRow[]> {
  return t(db)
    .selectFrom('signing_templates as a')
    .selectAll('a')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('signing_templates as b')
            .select('b.id')
            .whereRef('b.slug', '=', 'a.slug')
            .whereRef('b.version', '>', 'a.version'),
        ),
      ),
    )
    .orderBy('a.title')
    .execute();
}

export async function latestTemplate(db: Db, slug: string): Promise<TemplateRow | undefined> {
  return t(db)
    .selectFrom('signing_templates')
    .selectAll()
    .where('slug', '=', slug)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function templateVersions(db: Db, slug: string) {
  return t(db)
    .selectFrom('signing_templates')
    .select(['version', 'created_at', 'title'])
    .where('slug', '=', slug)
    .orderBy('version', 'desc')
    .execute();
}

export async function insertEnvelope(
  db: Db,
  row: Pick<
    EnvelopeRow,
    | 'reference'
    | 'title'
    | 'template_id'
    | 'resident_id'
    | 'document'
    | 'document_sha256'
    | 'document_text'
    | 'subject_type'
    | 'subject_reference'
    | 'created_by'
    | 'expires_at'
  >,
): Promise<EnvelopeRow> {
  return t(db)
    .insertInto('signing_envelopes')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertSigner(
  db: Db,
  row: Pick<SignerRow, 'envelope_id' | 'position' | 'name' | 'role' | 'email' | 'phone' | 'resident_id'>,
): Promise<SignerRow> {
  return t(db)
    .insertInto('signing_signers')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findEnvelope(db: Db, by: { id?: string; reference?: string }, forUpdate = false) {
  let q = t(db).selectFrom('signing_envelopes').selectAll();
  if (by.id) q = q.where('id', '=', by.id);
  else q = q.where('reference', '=', by.reference ?? '');
  if (forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function findEnvelopeBySealedHash(db: Db, sha256: string) {
  return t(db)
    .selectFrom('signing_envelopes')
    .selectAll()
    .where('sealed_sha256', '=', sha256)
    .executeTakeFirst();
}

export async function listEnvelopes(db: Db, limit = 200) {
  return t(db)
    .selectFrom('signing_envelopes')
    .select(['id', 'reference', 'title', 'status', 'created_at', 'completed_at', 'expires_at'])
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

export async function updateEnvelope(db: Db, id: string, set: Partial<EnvelopeRow>) {
  await t(db).updateTable('signing_envelopes').set(set).where('id', '=', id).execute();
}

export async function signersOf(db: Db, envelopeId: string): Promise<SignerRow[]> {
  return t(db)
    .selectFrom('signing_signers')
    .selectAll()
    .where('envelope_id', '=', envelopeId)
    .orderBy('position')
    .execute();
}

export async function findSigner(
  db: Db,
  by: { id?: string; linkHash?: string; copyHash?: string },
  forUpdate = false,
) {
  let q = t(db).selectFrom('signing_signers').selectAll();
  if (by.id) q = q.where('id', '=', by.id);
  else if (by.linkHash) q = q.where('link_hash', '=', by.linkHash);
  else q = q.where('copy_hash', '=', by.copyHash ?? '');
  if (forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function updateSigner(db: Db, id: string, set: Partial<SignerRow>) {
  await t(db).updateTable('signing_signers').set(set).where('id', '=', id).execute();
}

export async function insertEvent(
  db: Db,
  row: Pick<EventRow, 'envelope_id' | 'signer_id' | 'kind' | 'description'> & { at?: Date },
) {
  await t(db)
    .insertInto('signing_events')
    .values(row as never)
    .execute();
}

export async function eventsOf(db: Db, envelopeId: string): Promise<EventRow[]> {
  return t(db)
    .selectFrom('signing_events')
    .selectAll()
    .where('envelope_id', '=', envelopeId)
    .orderBy('id')
    .execute();
}

export async function envelopesDueReminder(db: Db, before: Date) {
  return t(db)
    .selectFrom('signing_signers as s')
    .innerJoin('signing_envelopes as e', 'e.id', 's.envelope_id')
    .select(['s.id as signerId', 'e.id as envelopeId'])
    .where('e.status', '=', 'in_progress')
    .where('s.status', '=', 'invited')
    .where(sql<boolean>`coalesce(s.reminded_at, s.link_expires_at - interval '7 days') < ${before}`)
    .execute();
}

export async function envelopesPastExpiry(db: Db, now: Date) {
  return t(db)
    .selectFrom('signing_envelopes')
    .select('id')
    .where('status', '=', 'in_progress')
    .where('expires_at', '<', now)
    .execute();
}

export async function insertLetter(
  db: Db,
  row: Pick<LetterRow, 'reference' | 'resident_id' | 'title' | 'kind' | 'envelope_id' | 'pdf' | 'sha256'>,
) {
  return t(db)
    .insertInto('signing_letters')
    .values(row as never)
    .onConflict((oc) => oc.columns(['resident_id', 'envelope_id']).doNothing())
    .returning(['id', 'reference'])
    .executeTakeFirst();
}

export async function lettersFor(db: Db, residentId: string) {
  return t(db)
    .selectFrom('signing_letters')
    .select(['id', 'reference', 'title', 'kind', 'delivered_at', 'read_at', 'sha256'])
    .where('resident_id', '=', residentId)
    .orderBy('delivered_at', 'desc')
    .execute();
}

/** A resident's sealed copies of documents sent for a subject (e.g. some contracts), newest first. */
export async function sealedLettersAbout(
  db: Db,
  residentId: string,
  subject: { type: string; references: string[] },
) {
  if (!subject.references.length) return [];
  return t(db)
    .selectFrom('signing_letters as l')
    .innerJoin('signing_envelopes as e', 'e.id', 'l.envelope_id')
    .select(['l.reference', 'l.title', 'l.delivered_at', 'e.subject_reference'])
    .where('l.resident_id', '=', residentId)
    .where('l.kind', '=', 'sealed_document')
    .where('e.subject_type', '=', subject.type)
    .where('e.subject_reference', 'in', subject.references)
    .orderBy('l.delivered_at', 'desc')
    .execute();
}

export async function findLetter(db: Db, residentId: string, reference: string) {
  return t(db)
    .selectFrom('signing_letters')
    .selectAll()
    .where('resident_id', '=', residentId)
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export async function markLetterRead(db: Db, id: string) {
  await t(db)
    .updateTable('signing_letters')
    .set({ read_at: new Date() })
    .where('id', '=', id)
    .where('read_at', 'is', null)
    .execute();
}

export async function paperlessOf(db: Db, residentId: string): Promise<boolean> {
  const row = await t(db)
    .selectFrom('signing_preferences')
    .select('paperless')
    .where('resident_id', '=', residentId)
    .executeTakeFirst();
  return row?.paperless ?? false;
}

export async function setPaperless(db: Db, residentId: string, paperless: boolean) {
  await t(db)
    .insertInto('signing_preferences')
    .values({ resident_id: residentId, paperless, updated_at: new Date() })
    .onConflict((oc) => oc.column('resident_id').doUpdateSet({ paperless, updated_at: new Date() }))
    .execute();
}

export async function paperlessCounts(db: Db) {
  const row = await t(db)
    .selectFrom('signing_preferences')
    .select((eb) => [
      eb.fn.countAll<number>().as('chosen'),
      eb.fn.sum<number>(sql`case when paperless then 1 else 0 end`).as('paperless'),
    ])
    .executeTakeFirst();
  return { chosen: Number(row?.chosen ?? 0), paperless: Number(row?.paperless ?? 0) };
}

interface ResidentLookup {
  residents: { id: string; email: string | null; has_account: boolean };
}

/** The resident account with this email, if any: their sealed copy then also appears in My account. */
export async function residentByEmail(db: Db, email: string): Promise<string | null> {
  const row = await tables<ResidentLookup>(db)
    .selectFrom('residents')
    .select('id')
    .where('email', '=', email.toLowerCase())
    .where('has_account', '=', true)
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function countResidents(db: Db): Promise<number> {
  const row = await tables<ResidentLookup>(db)
    .selectFrom('residents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('has_account', '=', true)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Account deletion: the resident's copies and preference go; the council's signed record stays, unlinked. */
export async function eraseResident(db: Db, residentId: string) {
  await t(db).deleteFrom('signing_letters').where('resident_id', '=', residentId).execute();
  await t(db).deleteFrom('signing_preferences').where('resident_id', '=', residentId).execute();
  await t(db)
    .updateTable('signing_signers')
    .set({ resident_id: null })
    .where('resident_id', '=', residentId)
    .execute();
  await t(db)
    .updateTable('signing_envelopes')
    .set({ resident_id: null })
    .where('resident_id', '=', residentId)
    .execute();
}

/** Envelopes a resident is a party to, for the customer view. */
export async function envelopesForResident(db: Db, residentId: string) {
  return t(db)
    .selectFrom('signing_envelopes as e')
    .select(['e.reference', 'e.title', 'e.status', 'e.created_at', 'e.completed_at'])
    .where((eb) =>
      eb.or([
        eb('e.resident_id', '=', residentId),
        eb.exists(
          eb
            .selectFrom('signing_signers as s')
            .select('s.id')
            .whereRef('s.envelope_id', '=', 'e.id')
            .where('s.resident_id', '=', residentId),
        ),
      ]),
    )
    .orderBy('e.created_at', 'desc')
    .execute();
}

interface StaffLookup {
  staff_users: { id: string; email: string };
}

export async function staffIdByEmail(db: Db, email: string): Promise<string | null> {
  const row = await tables<StaffLookup>(db)
    .selectFrom('staff_users')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirst();
  return row?.id ?? null;
}
