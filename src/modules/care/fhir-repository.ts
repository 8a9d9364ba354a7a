import type { Platform } from '../../platform/module.ts';
import { isUuid } from './directory.ts';
import * as fhir from './fhir-resources.ts';
import type { Resource } from './fhir-resources.ts';
import type { FhirType, TokenHolder } from './fhir-tokens.ts';
import { NHS_NUMBER_SYSTEM, normaliseNhsNumber } from './nhs-number.ts';
import { AccessRefused, RecordNotFound, type CareRecord, type Viewer } from './record.ts';
import * as store from './store.ts';

/** A search the API refuses, with the OperationOutcome issue code and words that say why. */
export class FhirSearchError extends Error {
  constructor(
    readonly code: fhir.IssueCode,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type ParamKind = 'token' | 'string' | 'date' | 'reference';

interface Part {
  table?: keyof import('./schema.ts').CareTables;
  /** The search parameter `date` (or its own name) maps to this column. */
  dateParam?: string;
  list?: (db: Platform['db'], w: store.Window) => Promise<{ total: number; rows: unknown[] }>;
  toResource?: (row: never, base: string) => Resource;
  idIsNumber?: boolean;
}

/** The patient-compartment resources: each row belongs to one person, read through `access`. */
const compartment: Partial<Record<FhirType, Part>> = {
  RelatedPerson: {
    table: 'care_related_people',
    list: store.relatedPeople,
    toResource: fhir.relatedPerson as never,
  },
  Condition: {
    table: 'care_conditions',
    dateParam: 'recorded-date',
    list: store.conditions,
    toResource: fhir.condition as never,
  },
  MedicationStatement: {
    table: 'care_medications',
    list: store.medications,
    toResource: fhir.medicationStatement as never,
  },
  CarePlan: { table: 'care_plans', list: store.carePlans, toResource: fhir.carePlan as never },
  Encounter: {
    table: 'care_encounters',
    dateParam: 'date',
    list: store.encounters,
    toResource: fhir.encounter as never,
  },
  Observation: {
    table: 'care_observations',
    dateParam: 'date',
    list: store.observations,
    toResource: fhir.observation as never,
    idIsNumber: true,
  },
  Flag: { table: 'care_flags', dateParam: 'date', list: store.flags, toResource: fhir.flag as never },
  DocumentReference: {
    table: 'care_documents',
    dateParam: 'date',
    list: store.documents,
    toResource: fhir.documentReference as never,
  },
};
const personScoped = new Set<string>(['CareTeam', 'Consent']);

/** The rows that change, whose earlier versions are kept (the others only ever have version 1). */
const versionedTables: Partial<Record<FhirType, store.VersionedTable>> = {
  Patient: 'care_people',
  CarePlan: 'care_plans',
  Encounter: 'care_encounters',
  Flag: 'care_flags',
};
/** The types with history (`_history`, `_history/<vid>`): the patient and the parts of their record. */
export const historyTypes: FhirType[] = ['Patient', ...(Object.keys(compartment) as FhirType[])];

/** At most this many resources of each type come back with `_revinclude`; more is said in the Bundle. */
export const REVINCLUDE_LIMIT = 200;

/** The search parameters each type takes, beyond _id, _count, _offset, _include and _format. */
export function searchParameters(type: FhirType): Record<string, ParamKind> {
  if (type === 'Patient')
    return { identifier: 'token', name: 'string', family: 'string', given: 'string', birthdate: 'date' };
  if (type === 'Practitioner') return { name: 'string' };
  if (type === 'Organization') return { name: 'string', identifier: 'token' };
  const params: Record<string, ParamKind> = { patient: 'reference' };
  if (type !== 'RelatedPerson' && type !== 'Consent') params.subject = 'reference';
  if (compartment[type]?.dateParam) params[compartment[type]!.dateParam!] = 'date';
  return params;
}

// Worked out once: every Patient search checks what it asks for against them.
const patientRevIncludes: readonly string[] = [...Object.keys(compartment), ...personScoped].flatMap((t) =>
  Object.keys(searchParameters(t as FhirType))
    .filter((p) => p === 'patient' || p === 'subject')
    .map((p) => `${t}:${p}`),
);

/** The _revinclude values each type takes: on a Patient search, the parts of their record. */
export function revIncludesOf(type: FhirType): readonly string[] {
  return type === 'Patient' ? patientRevIncludes : [];
}

/** The _include values each type takes. */
export function includesOf(type: FhirType): string[] {
  if (type === 'Patient') return ['Patient:general-practitioner', 'Patient:organization'];
  if (type === 'Practitioner' || type === 'Organization') return [];
  const out = Object.keys(searchParameters(type))
    .filter((p) => p === 'patient' || p === 'subject')
    .map((p) => `${type}:${p}`);
  if (type === 'CareTeam') out.push('CareTeam:participant');
  if (type === 'Encounter') out.push('Encounter:practitioner');
  return out;
}

export const dateTableColumn: Record<string, string> = {
  Condition: 'recorded_at',
  Encounter: 'start_at',
  Observation: 'effective_at',
  Flag: 'period_start',
  DocumentReference: 'created_at',
};

/**
 * A FHIR date search value as conditions on a column: `ge2026-01-01` becomes `>= 2026-01-01`,
 * and a date without a prefix matches the whole day (or month, or year) it names.
 */
export function dateConditions(raw: string, forDateColumn: boolean): Array<[string, string]> {
  const m = /^(eq|ge|gt|le|lt)?(\d{4})(?:-(\d{2})(?:-(\d{2})(T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))?)?)?$/.exec(raw);
  if (!m)
    throw new FhirSearchError(
      'invalid',
      `'${raw}' is not a FHIR date: use YYYY, YYYY-MM, YYYY-MM-DD or an instant, with an optional prefix eq, ge, gt, le or lt`,
    );
  const [, prefix = 'eq', y, mo, d, time] = m;
  let start: Date;
  let end: Date;
  if (time) {
    start = new Date(`${y}-${mo}-${d}${time}`);
    if (Number.isNaN(start.getTime())) throw new FhirSearchError('invalid', `'${raw}' is not a real instant`);
    end = new Date(start.getTime() + 1000);
  } else {
    start = new Date(Date.UTC(Number(y), mo ? Number(mo) - 1 : 0, d ? Number(d) : 1));
    end = new Date(start);
    if (d) end.setUTCDate(end.getUTCDate() + 1);
    else if (mo) end.setUTCMonth(end.getUTCMonth() + 1);
    else end.setUTCFullYear(end.getUTCFullYear() + 1);
    if (d && start.getUTCDate() !== Number(d))
      throw new FhirSearchError('invalid', `'${raw}' is not a real date`);
  }
  const v = (x: Date) => (forDateColumn ? x.toISOString().slice(0, 10) : x.toISOString());
  switch (prefix) {
    case 'ge':
      return [['>=', v(start)]];
    case 'gt':
      return [['>=', v(end)]];
    case 'le':
      return [['<', v(end)]];
    case 'lt':
      return [['<', v(start)]];
    default:
      return [
        ['>=', v(start)],
        ['<', v(end)],
      ];
  }
}

export interface SearchRequest {
  params: Record<string, string[]>;
  offset: number;
  count: number;
  includes: string[];
  revIncludes?: string[];
}

export interface SearchResult {
  total: number;
  matches: Resource[];
  included: Resource[];
  /** Said in the Bundle as an OperationOutcome (search mode `outcome`). */
  warnings?: string[];
}

/**
 * A search made with a token remembered from an earlier request found nobody: the token may have
 * been revoked or have expired since, so it is verified again and the search made again.
 */
export class TokenUnconfirmed extends Error {}

export function viewerOfToken(holder: TokenHolder, breakGlassReason?: string): Viewer {
  return {
    kind: 'api',
    practitionerId: holder.practitionerId,
    organisationId: holder.organisationId,
    clientId: holder.clientId,
    ...(breakGlassReason !== undefined ? { breakGlassReason } : {}),
    ...(holder.toConfirm ? { confirmToken: holder.toConfirm } : {}),
  };
}

const patientRef = (value: string) => {
  const id = value.replace(/^(.*\/)?Patient\//, '');
  if (!isUuid(id))
    throw new FhirSearchError('invalid', `'${value}' is not a Patient reference, like Patient/<id>`);
  return id;
};

/**
 * FHIR reads and searches over the shared care record. Every person's data is reached through
 * `record.access`, so the care-team rule, the objection to sharing and the audit apply to the
 * API exactly as to the back office.
 */
export function createFhirRepository(platform: Platform, record: CareRecord) {
  const { db } = platform;

  async function patientResources(people: store.Person[]) {
    const [team, councilId] = await Promise.all([
      store.teamOf(
        db,
        people.map((p) => p.id),
      ),
      record.councilOrganisationId(),
    ]);
    return people.map((p) => fhir.patient(p, team, councilId));
  }

  async function practitionersById(ids: string[]) {
    const out: Resource[] = [];
    for (const id of [...new Set(ids)]) {
      const p = await store.findPractitioner(db, id);
      if (p) out.push(fhir.practitioner(p));
    }
    return out;
  }

  async function personResource(type: 'CareTeam' | 'Consent', p: store.Person) {
    const councilId = await record.councilOrganisationId();
    if (type === 'Consent') return fhir.consent(p, councilId);
    return fhir.careTeam(p, await store.teamOf(db, [p.id]), councilId);
  }

  /** A resource as it is now (with, for a Patient, their care team), read through `access`. */
  async function current(
    viewer: Viewer,
    type: FhirType,
    id: string,
    base: string,
    audited: string,
  ): Promise<{
    resource: Resource;
    team?: Awaited<ReturnType<typeof store.teamOf>>;
    councilId?: string;
  }> {
    const missing = () => new FhirSearchError('not-found', `${type}/${id} is not known`, 404);
    if (type === 'Practitioner') {
      const p = isUuid(id) ? await store.findPractitioner(db, id) : undefined;
      if (!p) throw missing();
      return { resource: fhir.practitioner(p) };
    }
    if (type === 'Organization') {
      const o = isUuid(id) ? await store.findOrganisation(db, id) : undefined;
      if (!o) throw missing();
      return { resource: fhir.organisation(o) };
    }
    if (type === 'Patient' || personScoped.has(type)) {
      if (!isUuid(id)) throw missing();
      const { person } = await guard(() => record.access(viewer, id, 'read', audited), missing);
      if (type !== 'Patient')
        return { resource: await personResource(type as 'CareTeam' | 'Consent', person) };
      const [team, councilId] = await Promise.all([
        store.teamOf(db, [person.id]),
        record.councilOrganisationId(),
      ]);
      return { resource: fhir.patient(person, team, councilId), team, councilId };
    }
    const part = compartment[type]!;
    if (part.idIsNumber ? !/^\d{1,18}$/.test(id) : !isUuid(id)) throw missing();
    const owner = await store.ownerOf(db, part.table!, id);
    if (!owner) throw missing();
    await guard(() => record.access(viewer, owner, 'read', audited), missing);
    const { rows } = await part.list!(db, { personIds: [owner], id, offset: 0, limit: 1 });
    if (!rows[0]) throw missing();
    return { resource: part.toResource!(rows[0] as never, base) };
  }

  return {
    async read(
      viewer: Viewer,
      type: FhirType,
      id: string,
      base: string,
      audited = `${type}/${id}`,
    ): Promise<Resource> {
      return (await current(viewer, type, id, base, audited)).resource;
    },

    /** Every version of a resource, newest first (the current one, then those it replaced). */
    async history(viewer: Viewer, type: FhirType, id: string, base: string): Promise<Resource[]> {
      if (!historyTypes.includes(type))
        throw new FhirSearchError(
          'not-supported',
          `${type} has no history here: history is kept for ${historyTypes.join(', ')}`,
        );
      const now = await current(viewer, type, id, base, `${type}/${id}/_history`);
      const table = versionedTables[type];
      if (!table) return [now.resource];
      const older = await store.earlierVersions(db, table, id);
      return [
        now.resource,
        ...older.map((v) =>
          type === 'Patient'
            ? fhir.patient(v.row as never, now.team ?? [], now.councilId ?? '')
            : compartment[type]!.toResource!(v.row as never, base),
        ),
      ];
    },

    async search(viewer: Viewer, type: FhirType, req: SearchRequest, base: string): Promise<SearchResult> {
      const one = (name: string) => req.params[name]?.[0];
      const ids = req.params._id?.flatMap((v) => v.split(','));
      if (type === 'Patient') {
        const confirmToken = viewer.kind === 'api' ? viewer.confirmToken : undefined;
        // Nobody is found without a statement to confirm a remembered token: it is verified first.
        const nobody = () => {
          if (confirmToken) throw new TokenUnconfirmed();
          return { total: 0, matches: [], included: [] };
        };
        const identifier = one('identifier');
        let nhsNumber: string | undefined;
        if (identifier !== undefined) {
          const [system, value] = identifier.includes('|')
            ? identifier.split('|', 2)
            : [NHS_NUMBER_SYSTEM, identifier];
          // Another identifier system matches nobody: Kiln knows people by NHS number only.
          if (system !== NHS_NUMBER_SYSTEM && system !== '') return nobody();
          nhsNumber = normaliseNhsNumber(value!);
        }
        const birthdate = (req.params.birthdate ?? []).flatMap((v) => dateConditions(v, true));
        const name = one('name') ?? one('family') ?? one('given');
        if (ids && ids.some((i) => !isUuid(i))) return nobody();
        const councilId = await record.councilOrganisationId();
        const revIncludes = req.revIncludes ?? [];
        const audited = revIncludes.length ? `Patient?_revinclude=${revIncludes.join(',')}` : 'Patient';
        // The people found come with the facts that decide access and with their GPs, and those
        // the care team lets in are audited as read, all in one statement (which also confirms a
        // remembered token); `admit` then takes the decision, and checks it is what was audited.
        const result = await store.searchPeopleForAccess(
          db,
          {
            ids,
            nhsNumber,
            name,
            birthdate,
            practitionerId: viewer.practitionerId,
            excludeObjections: viewer.organisationId !== councilId,
            ...(confirmToken ? { confirmToken } : {}),
            offset: req.offset,
            limit: req.count,
          },
          record.onlookerOf(viewer),
          new Date(),
          record.careTeamRead(viewer, audited),
        );
        if (result.rows.length === 0 && confirmToken) return nobody();
        let found: { total: number; rows: store.Person[] };
        let gps: fhir.TeamForPatient;
        if (result.total === 0 && nhsNumber) {
          // Someone outside the care team looked for a person by NHS number: the refusal is audited,
          // unless they broke the glass with a reason, which finds that one person.
          found = { total: 0, rows: [] };
          const existing = await store.findPersonByNhsNumber(db, nhsNumber);
          if (existing) {
            const opened = await record
              .access(viewer, existing.id, 'read', 'Patient?identifier')
              .catch(() => undefined);
            if (opened && req.offset === 0 && (!ids || ids.includes(existing.id)) && req.count > 0)
              found = { total: 1, rows: [opened.person] };
          }
          gps = await store.teamOf(
            db,
            found.rows.map((p) => p.id),
          );
        } else {
          const admitted = await record.admit(viewer, result.rows, 'read', audited);
          found = { total: result.total, rows: admitted.map((a) => a.person) };
          gps = result.rows.flatMap((p) => p.general_practitioners);
        }
        const matches = found.rows.map((p) => fhir.patient(p, gps, councilId));
        const included: Resource[] = [];
        const warnings: string[] = [];
        // The parts of each found person's record (their access was decided, and audited, just above).
        const personIds = found.rows.map((p) => p.id);
        for (const rev of personIds.length ? revIncludes : []) {
          const revType = rev.split(':')[0] as FhirType;
          if (personScoped.has(revType)) {
            for (const p of found.rows)
              included.push(await personResource(revType as 'CareTeam' | 'Consent', p));
            continue;
          }
          const part = compartment[revType]!;
          const { total, rows } = await part.list!(db, { personIds, offset: 0, limit: REVINCLUDE_LIMIT });
          included.push(...rows.map((row) => part.toResource!(row as never, base)));
          if (total > rows.length)
            warnings.push(
              `_revinclude=${rev} gave the newest ${rows.length} of ${total}: search ${revType}?patient=<id> to page through them all`,
            );
        }
        if (req.includes.includes('Patient:general-practitioner')) {
          const team = await store.teamOf(db, personIds);
          included.push(
            ...(await practitionersById(
              team.filter((m) => m.organisation_kind === 'gp_practice').map((m) => m.practitioner_id),
            )),
          );
        }
        if (req.includes.includes('Patient:organization') && found.rows.length) {
          const council = await store.findOrganisation(db, councilId);
          if (council) included.push(fhir.organisation(council));
        }
        return { total: found.total, matches, included, ...(warnings.length ? { warnings } : {}) };
      }
      if (type === 'Practitioner') {
        const { total, rows } = await store.listPractitioners(db, {
          name: one('name'),
          offset: req.offset,
          limit: req.count,
        });
        return {
          total,
          matches: rows.filter((r) => !ids || ids.includes(r.id)).map(fhir.practitioner),
          included: [],
        };
      }
      if (type === 'Organization') {
        const { total, rows } = await store.listOrganisations(db, {
          name: one('name'),
          offset: req.offset,
          limit: req.count,
        });
        const identifier = one('identifier')?.split('|').pop();
        const matches = rows.filter(
          (r) => (!identifier || r.ods_code === identifier) && (!ids || ids.includes(r.id)),
        );
        return {
          total: identifier || ids ? matches.length : total,
          matches: matches.map(fhir.organisation),
          included: [],
        };
      }
      const ref = one('patient') ?? one('subject');
      if (!ref)
        throw new FhirSearchError(
          'not-supported',
          `Searching ${type} needs a patient (or subject) parameter, like ?patient=Patient/<id>`,
        );
      const personId = patientRef(ref);
      let person: store.Person;
      try {
        ({ person } = await record.access(viewer, personId, 'read', `${type}?patient`));
      } catch (error) {
        if (error instanceof RecordNotFound) return { total: 0, matches: [], included: [] };
        throw error;
      }
      const includePatient = req.includes.some((i) => i === `${type}:patient` || i === `${type}:subject`);
      if (personScoped.has(type)) {
        const resource = await personResource(type as 'CareTeam' | 'Consent', person);
        const included: Resource[] = [];
        if (includePatient) included.push(...(await patientResources([person])));
        if (type === 'CareTeam' && req.includes.includes('CareTeam:participant'))
          included.push(
            ...(await practitionersById((await store.teamOf(db, [person.id])).map((m) => m.practitioner_id))),
          );
        const matches = ids && !ids.includes(person.id) ? [] : req.offset === 0 ? [resource] : [];
        return { total: matches.length ? 1 : 0, matches, included };
      }
      const part = compartment[type]!;
      const date = part.dateParam
        ? (req.params[part.dateParam] ?? []).flatMap((v) => dateConditions(v, false))
        : [];
      if (ids && ids.length > 1)
        throw new FhirSearchError('not-supported', '_id takes one id in this server');
      if (ids && (part.idIsNumber ? !/^\d{1,18}$/.test(ids[0]!) : !isUuid(ids[0]!)))
        return { total: 0, matches: [], included: [] };
      const { total, rows } = await part.list!(db, {
        personIds: [person.id],
        id: ids?.[0],
        date,
        offset: req.offset,
        limit: req.count,
      });
      const matches = rows.map((row) => part.toResource!(row as never, base));
      const included: Resource[] = [];
      if (includePatient && matches.length) included.push(...(await patientResources([person])));
      if (type === 'Encounter' && req.includes.includes('Encounter:practitioner'))
        included.push(
          ...(await practitionersById(
            (rows as Array<{ practitioner_id: string | null }>)
              .map((r) => r.practitioner_id)
              .filter((x): x is string => Boolean(x)),
          )),
        );
      return { total, matches, included };
    },

    /** The person a compartment resource belongs to, or undefined. */
    async owner(type: FhirType, id: string): Promise<string | undefined> {
      const part = compartment[type];
      if (!part?.table || (part.idIsNumber ? !/^\d{1,18}$/.test(id) : !isUuid(id))) return undefined;
      return store.ownerOf(db, part.table, id);
    },

    /** A document's bytes (the attachment of a DocumentReference). */
    binary: (viewer: Viewer, id: string) => record.readDocument(viewer, id),
  };
}

async function guard<T>(fn: () => Promise<T>, missing: () => Error): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RecordNotFound) throw missing();
    if (error instanceof AccessRefused) throw error;
    throw error;
  }
}

export type FhirRepository = ReturnType<typeof createFhirRepository>;
