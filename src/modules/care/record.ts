import type { Actor } from '../../platform/actor.ts';
import { recordAudit, recordAudits, type AuditEntry } from '../../platform/audit/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { formatLondon } from '../../platform/time.ts';
import { isUuid } from './directory.ts';
import { formatNhsNumber, nhsNumberProblem, normaliseNhsNumber } from './nhs-number.ts';
import type { CareTables } from './schema.ts';
import type { CareSettings } from './settings.ts';
import * as store from './store.ts';

/** Who is looking: a member of staff in the back office, or a practitioner's API client. */
export type Viewer =
  | { kind: 'staff'; staffId: string; practitionerId: string; organisationId: string }
  | {
      kind: 'api';
      practitionerId: string;
      organisationId: string;
      clientId: string;
      /** The reason a client gave for reading outside the care team (break the glass), if it gave one. */
      breakGlassReason?: string;
      /** The client's token, remembered from an earlier request: confirmed by the statement that reads. */
      confirmToken?: store.TokenToConfirm;
    };

export type AccessVia = 'care_team' | 'break_glass';

/** Access refused, with words for the person refused and a reason code for the audit entry. */
export class AccessRefused extends Error {
  constructor(
    readonly reason: 'not_in_care_team' | 'objection' | 'break_glass_reason_too_short',
    message: string,
  ) {
    super(message);
  }
}
export class RecordNotFound extends Error {}
export class RecordRuleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export const BREAK_GLASS_MINUTES = 60;
export const BREAK_GLASS_REASON_MIN = 10;
/** How a FHIR client states its reason for breaking the glass (either). */
export const BREAK_GLASS_HEADER = 'X-Break-Glass-Reason';
export const BREAK_GLASS_PARAMETER = '_breakglass';
export const REPORT_BREAK_GLASS_JOB = 'care.report-break-glass';

export function actorOfViewer(viewer: Viewer): Actor {
  return viewer.kind === 'staff'
    ? { type: 'staff', id: viewer.staffId }
    : { type: 'api', id: viewer.practitionerId };
}

const teamRoles: Record<string, string> = {
  'adult-social-care': 'Social worker, adult social care',
  'childrens-social-care': 'Social worker, children’s social care',
  'care-technology': 'Care technology officer',
  'care-duty': 'Duty social worker',
};

export interface NewPerson {
  nhsNumber: string | null;
  givenName: string;
  familyName: string;
  dateOfBirth: string;
  gender: CareTables['care_people']['gender'];
  address: string | null;
  postcode: string | null;
  phone: string | null;
  residentId?: string | null;
}

/**
 * The shared care record. Every read and write goes through `access`, which lets a practitioner
 * in only through membership of the person's care team (or, for staff, a break-the-glass with a
 * reason), honours the person's objection to sharing, and audits what it allowed or refused.
 * No route reads the record's tables another way.
 */
export function createRecord(platform: Platform, settings: CareSettings) {
  const { db, notify, jobs, events } = platform;
  let councilId: string | null = null;

  notify.defineTemplate('care-break-glass', {
    subject: 'Care record opened by breaking the glass: ((person))',
    body:
      '((staff)) opened the care record of ((person)) without being in their care team, on ((at)).\n\n' +
      'Reason given: ((reason))\n((vital))\n\nReview it in the back office: ((link))',
  });

  async function councilOrganisationId(tx: Db = db): Promise<string> {
    if (councilId) return councilId;
    const name = platform.config.COUNCIL_NAME;
    const found = await store.findOrganisationByName(tx, name);
    councilId = (found ?? (await store.insertOrganisation(tx, { name, kind: 'council' }))).id;
    return councilId;
  }

  async function person(tx: Db, personId: string) {
    const row = isUuid(personId) ? await store.findPerson(tx, personId) : undefined;
    if (!row) throw new RecordNotFound('No such person');
    return row;
  }

  /**
   * The one access decision: whether a viewer may see or change a person's record, from the facts
   * read with the person (care team membership, a break-the-glass open now, the objection to sharing).
   * It reads and writes nothing itself (but the council's id, once) and refuses by returning the refusal.
   */
  async function decide(
    viewer: Viewer,
    p: store.PersonForAccess,
    purpose: 'read' | 'write',
  ): Promise<{ via: AccessVia; reason?: string } | AccessRefused> {
    if (p.facts_for !== viewer.practitionerId)
      throw new Error('The access facts were read for another practitioner');
    let via: AccessVia | null = null;
    if (p.in_care_team) via = 'care_team';
    else if (viewer.kind === 'staff' && p.glass_open) via = 'break_glass';
    // A FHIR client breaks the glass by stating a reason with the request; reads only.
    else if (viewer.kind === 'api' && viewer.breakGlassReason !== undefined && purpose === 'read')
      via = 'break_glass';
    if (p.sharing_objection && via && viewer.organisationId !== (await councilOrganisationId()))
      return new AccessRefused(
        'objection',
        `This person has objected to their record being shared outside ${platform.config.COUNCIL_NAME}`,
      );
    if (!via)
      return new AccessRefused(
        'not_in_care_team',
        viewer.kind === 'api'
          ? `You are not in this person’s care team. To read their record in an emergency, state why in the ${BREAK_GLASS_HEADER} header (or the ${BREAK_GLASS_PARAMETER} parameter): it is audited and reported to the privacy officer.`
          : 'You are not in this person’s care team. Break the glass with a reason to see their record.',
      );
    if (via === 'break_glass' && viewer.kind === 'api') {
      const stated = (viewer.breakGlassReason ?? '').trim();
      if (stated.length < BREAK_GLASS_REASON_MIN)
        return new AccessRefused(
          'break_glass_reason_too_short',
          `State why you need to read this record outside the care team, in at least ${BREAK_GLASS_REASON_MIN} characters (${BREAK_GLASS_HEADER})`,
        );
      return { via, reason: stated };
    }
    return { via };
  }

  const onlookerOf = (viewer: Viewer): store.Onlooker =>
    viewer.kind === 'staff'
      ? { practitionerId: viewer.practitionerId, staffUserId: viewer.staffId }
      : { practitionerId: viewer.practitionerId };

  /**
   * Lets a viewer into the records of people read with their access facts (`store.*ForAccess`),
   * all or none: a read writes one `care.record_read` entry per person, all in one statement; a
   * refusal writes `care.record_access_refused`, outside any transaction of the caller (which is
   * about to roll back), and is thrown.
   */
  async function admit(
    viewer: Viewer,
    people: Array<store.PersonForAccess & { read_audited?: boolean }>,
    purpose: 'read' | 'write',
    resource: string,
  ): Promise<Array<{ person: store.Person; via: AccessVia }>> {
    const actor = actorOfViewer(viewer);
    const client = viewer.kind === 'api' ? { client: viewer.clientId } : {};
    const admitted: Array<{ person: store.Person; via: AccessVia; reason?: string }> = [];
    const auditedAlready = new Set<string>();
    for (const found of people) {
      const {
        facts_for: _for,
        in_care_team: _team,
        glass_open: _glass,
        read_audited: audited,
        ...person
      } = found;
      const decision = await decide(viewer, found, purpose);
      if (audited) {
        // The statement that found them wrote careTeamRead's entry: it must be what was decided.
        if (purpose !== 'read' || decision instanceof AccessRefused || decision.via !== 'care_team')
          throw new Error('A person was audited as read through the care team but decided otherwise');
        auditedAlready.add(person.id);
      }
      if (decision instanceof AccessRefused) {
        await recordAudit(db, {
          actor,
          action: 'care.record_access_refused',
          subjectType: 'care_person',
          subjectId: person.id,
          detail: { resource, purpose, reason: decision.reason, ...client },
        });
        throw decision;
      }
      admitted.push({ person, ...decision });
    }
    for (const a of admitted)
      if (a.via === 'break_glass' && viewer.kind === 'api')
        await apiBreakGlass(viewer, a.person.id, a.reason!);
    if (purpose === 'read')
      await recordAudits(
        db,
        admitted
          .filter((a) => !auditedAlready.has(a.person.id))
          .map((a) => ({
            actor,
            action: 'care.record_read',
            subjectType: 'care_person',
            subjectId: a.person.id,
            detail: { resource, via: a.via, ...client, ...(a.reason ? { reason: a.reason } : {}) },
          })),
      );
    return admitted.map(({ person, via }) => ({ person, via }));
  }

  /**
   * The entry `admit` writes for a read through the care team, for a statement that reads people
   * and audits those the care team lets in at once (see `store.searchPeopleForAccess`).
   */
  const careTeamRead = (viewer: Viewer, resource: string): Omit<AuditEntry, 'subjectId'> => ({
    actor: actorOfViewer(viewer),
    action: 'care.record_read',
    subjectType: 'care_person',
    detail: { resource, via: 'care_team', ...(viewer.kind === 'api' ? { client: viewer.clientId } : {}) },
  });

  /** Decides whether a viewer may see or change a person's record; audits both outcomes of a read. */
  async function access(
    viewer: Viewer,
    personId: string,
    purpose: 'read' | 'write',
    resource: string,
  ): Promise<{ person: store.Person; via: AccessVia }> {
    const found = isUuid(personId)
      ? await store.findPersonForAccess(db, personId, onlookerOf(viewer), new Date())
      : undefined;
    if (!found) throw new RecordNotFound('No such person');
    return (await admit(viewer, [found], purpose, resource))[0]!;
  }

  /**
   * A FHIR client's break-the-glass: the first read of a record in an hour opens it (audited and
   * reported to the privacy officer, as for staff); each read after is audited with its reason.
   */
  async function apiBreakGlass(viewer: Extract<Viewer, { kind: 'api' }>, personId: string, reason: string) {
    const who = { practitionerId: viewer.practitionerId };
    if (await store.activeBreakGlass(db, personId, who, new Date())) return;
    await db.transaction().execute(async (tx) => {
      const row = await store.insertBreakGlass(tx, {
        person_id: personId,
        practitioner_id: viewer.practitionerId,
        client_id: viewer.clientId,
        reason,
        vital_interest: false,
        expires_at: new Date(Date.now() + BREAK_GLASS_MINUTES * 60_000),
      });
      await recordAudit(tx, {
        actor: actorOfViewer(viewer),
        action: 'care.break_glass',
        subjectType: 'care_person',
        subjectId: personId,
        detail: { reason, via: 'api', client: viewer.clientId, until: row.expires_at.toISOString() },
      });
      await jobs.send(tx, REPORT_BREAK_GLASS_JOB, { id: row.id });
    });
  }

  async function changed(
    tx: Db,
    viewer: Viewer,
    personId: string,
    part: string,
    detail: Record<string, unknown>,
  ) {
    const actor = actorOfViewer(viewer);
    await recordAudit(tx, {
      actor,
      action: 'care.record_updated',
      subjectType: 'care_person',
      subjectId: personId,
      detail: { part, ...detail },
    });
    await events.publish(tx, {
      type: 'care.record_updated',
      subjectType: 'care_person',
      subjectId: personId,
      actor,
      payload: { part, ...detail },
    });
  }

  // The access decision is taken before the transaction: a refusal's audit entry must be kept,
  // and the embedded database has one connection, which the transaction would hold.
  const write = async <R>(viewer: Viewer, personId: string, part: string, fn: (tx: Db) => Promise<R>) => {
    await access(viewer, personId, 'write', part);
    return db.transaction().execute(async (tx) => {
      const result = await fn(tx);
      await changed(tx, viewer, personId, part, {});
      return result;
    });
  };

  jobs.define<{ id: string }>({
    name: REPORT_BREAK_GLASS_JOB,
    retryLimit: 10,
    handler: ({ id }) => reportBreakGlass(id),
  });
  // The same day, whatever happened to a single report's job.
  jobs.define({
    name: 'care.break-glass-sweep',
    cron: '0 * * * *',
    handler: async () => {
      for (const row of await store.unreportedBreakGlass(db)) await reportBreakGlass(row.id);
    },
  });

  async function reportBreakGlass(id: string) {
    await db.transaction().execute(async (tx) => {
      const row = await store.breakGlassForReport(tx, id);
      if (!row || row.reported_at) return;
      if (!(await store.markBreakGlassReported(tx, id, new Date()))) return;
      await notify.send(
        tx,
        { channel: 'email', recipient: settings.CARE_PRIVACY_OFFICER_EMAIL },
        {
          template: 'care-break-glass',
          personalisation: {
            staff: `${row.staff_name} (${row.staff_email})`,
            person: `${row.given_name} ${row.family_name}${row.nhs_number ? `, NHS number ${formatNhsNumber(row.nhs_number)}` : ''}`,
            at: formatLondon(row.created_at, true),
            reason: row.reason,
            vital: row.vital_interest ? 'They said there was an immediate risk to life or safety.' : '',
            link: `${platform.config.PUBLIC_URL}/staff/care/break-glass`,
          },
        },
      );
      await recordAudit(tx, {
        actor: { type: 'system', id: null },
        action: 'care.break_glass_reported',
        subjectType: 'care_person',
        subjectId: row.person_id,
        detail: { breakGlassId: id, to: settings.CARE_PRIVACY_OFFICER_EMAIL },
      });
    });
  }

  return {
    councilOrganisationId: () => councilOrganisationId(),
    access,
    onlookerOf,
    /** Lets a viewer into the records of people a search found with their access facts; see `admit`. */
    admit,
    /** The audit entry of a read through the care team, for a search that writes it as it reads. */
    careTeamRead,

    /** The practitioner a member of staff acts as (created on first use, in the council). */
    async viewerForStaff(staff: {
      id: string;
      name: string;
      email: string;
      teamCode: string | null;
    }): Promise<Viewer> {
      let practitioner = await store.practitionerForStaff(db, staff.id);
      if (!practitioner) {
        practitioner = await store.insertPractitioner(db, {
          staff_user_id: staff.id,
          name: staff.name,
          email: staff.email,
          organisation_id: await councilOrganisationId(),
          role: teamRoles[staff.teamCode ?? ''] ?? 'Council officer',
        });
        practitioner ??= await store.practitionerForStaff(db, staff.id);
      }
      return {
        kind: 'staff',
        staffId: staff.id,
        practitionerId: practitioner!.id,
        organisationId: practitioner!.organisation_id,
      };
    },

    /** A person's whole record for one screen: one access decision, one audit entry. */
    async fullRecord(viewer: Viewer, personId: string) {
      const { person: p, via } = await access(viewer, personId, 'read', 'record');
      const tx = db;
      const w = { personIds: [p.id], offset: 0, limit: 50 };
      const [
        team,
        related,
        conditions,
        medications,
        plans,
        encounters,
        observations,
        flags,
        documents,
        budgets,
      ] = await Promise.all([
        store.teamOf(tx, [p.id]),
        store.relatedPeople(tx, w),
        store.conditions(tx, w),
        store.medications(tx, w),
        store.carePlans(tx, w),
        store.encounters(tx, { ...w, limit: 20 }),
        store.latestObservations(tx, p.id, 20),
        store.flags(tx, w),
        store.documents(tx, w),
        store.budgetsFor(tx, [p.id]),
      ]);
      return {
        person: p,
        via,
        team,
        related: related.rows,
        conditions: conditions.rows,
        medications: medications.rows,
        plans: plans.rows,
        encounters: encounters.rows,
        observations,
        flags: flags.rows,
        documents: documents.rows,
        budgets,
      };
    },

    /** Finds people by NHS number or by name and date of birth; audited, shows only who they are. */
    async findPeople(viewer: Viewer, query: { nhsNumber?: string; name?: string; dateOfBirth?: string }) {
      const nhsNumber = query.nhsNumber ? normaliseNhsNumber(query.nhsNumber) : undefined;
      const result = await store.searchPeople(db, {
        nhsNumber,
        name: nhsNumber ? undefined : query.name,
        birthdate: query.dateOfBirth ? [['=', query.dateOfBirth]] : undefined,
        offset: 0,
        limit: 50,
      });
      await recordAudit(db, {
        actor: actorOfViewer(viewer),
        action: 'care.people_searched',
        detail: { nhsNumber: Boolean(nhsNumber), name: query.name ?? null, found: result.total },
      });
      const team = await store.teamOf(
        db,
        result.rows.map((r) => r.id),
      );
      return result.rows.map((r) => ({
        ...r,
        inCareTeam: team.some((m) => m.person_id === r.id && m.practitioner_id === viewer.practitionerId),
      }));
    },

    /** Registers a person; the practitioner who does becomes the first member of their care team. */
    async registerPerson(
      viewer: Viewer,
      input: NewPerson,
      role = 'Lead professional',
    ): Promise<store.Person> {
      if (input.nhsNumber) {
        const problem = nhsNumberProblem(input.nhsNumber);
        if (problem) throw new RecordRuleError('nhsNumber', problem);
      }
      const nhsNumber = input.nhsNumber ? normaliseNhsNumber(input.nhsNumber) : null;
      return db.transaction().execute(async (tx) => {
        if (nhsNumber && (await store.findPersonByNhsNumber(tx, nhsNumber)))
          throw new RecordRuleError('nhsNumber', 'A person with this NHS number already has a care record');
        const p = await store.insertPerson(tx, {
          nhs_number: nhsNumber,
          given_name: input.givenName,
          family_name: input.familyName,
          date_of_birth: input.dateOfBirth,
          gender: input.gender,
          address: input.address,
          postcode: input.postcode,
          phone: input.phone,
          resident_id: input.residentId ?? null,
        });
        await store.addTeamMember(tx, p.id, viewer.practitionerId, role);
        await changed(tx, viewer, p.id, 'person', { created: true });
        return p;
      });
    },

    /** Changes who the person is (not their NHS number, which identifies them). */
    updatePerson: (viewer: Viewer, personId: string, set: Partial<CareTables['care_people']>) =>
      write(viewer, personId, 'person', (tx) => store.updatePerson(tx, personId, set)),

    addTeamMember: (viewer: Viewer, personId: string, practitionerId: string, role: string) =>
      write(viewer, personId, 'care_team', async (tx) => {
        if (!(await store.findPractitioner(tx, practitionerId)))
          throw new RecordRuleError('practitioner', 'Choose a practitioner from the list');
        await store.addTeamMember(tx, personId, practitionerId, role);
      }),
    removeTeamMember: (viewer: Viewer, personId: string, practitionerId: string) =>
      write(viewer, personId, 'care_team', (tx) => store.removeTeamMember(tx, personId, practitionerId)),

    addRelatedPerson: (
      viewer: Viewer,
      personId: string,
      row: Omit<CareTables['care_related_people'], 'id' | 'created_at' | 'person_id'>,
    ) =>
      write(viewer, personId, 'related_person', (tx) =>
        store.insertRelatedPerson(tx, { ...row, person_id: personId }),
      ),

    addCondition: (
      viewer: Viewer,
      personId: string,
      row: {
        code: string | null;
        display: string;
        clinicalStatus: 'active' | 'inactive' | 'resolved';
        onsetDate: string | null;
      },
    ) =>
      write(viewer, personId, 'condition', (tx) =>
        store.insertCondition(tx, {
          person_id: personId,
          code: row.code,
          display: row.display,
          clinical_status: row.clinicalStatus,
          onset_date: row.onsetDate,
          recorded_by: viewer.practitionerId,
        }),
      ),

    addMedication: (
      viewer: Viewer,
      personId: string,
      row: {
        code: string | null;
        display: string;
        dosage: string | null;
        status: 'active' | 'completed' | 'stopped';
        effectiveFrom: string | null;
      },
    ) =>
      write(viewer, personId, 'medication', (tx) =>
        store.insertMedication(tx, {
          person_id: personId,
          code: row.code,
          display: row.display,
          dosage: row.dosage,
          status: row.status,
          effective_from: row.effectiveFrom,
          recorded_by: viewer.practitionerId,
        }),
      ),

    addCarePlan: (
      viewer: Viewer,
      personId: string,
      row: {
        title: string;
        description: string;
        status: CareTables['care_plans']['status'];
        periodStart: string | null;
        periodEnd: string | null;
      },
    ) =>
      write(viewer, personId, 'care_plan', (tx) =>
        store.insertCarePlan(tx, {
          person_id: personId,
          title: row.title,
          description: row.description,
          status: row.status,
          period_start: row.periodStart,
          period_end: row.periodEnd,
          author_id: viewer.practitionerId,
        }),
      ),
    updateCarePlan: (
      viewer: Viewer,
      personId: string,
      planId: string,
      set: Partial<CareTables['care_plans']>,
    ) => write(viewer, personId, 'care_plan', (tx) => store.updateCarePlan(tx, planId, set)),

    addEncounter: (
      viewer: Viewer,
      personId: string,
      row: {
        kind: string;
        status: CareTables['care_encounters']['status'];
        startAt: Date;
        endAt: Date | null;
        notes: string | null;
      },
    ) =>
      write(viewer, personId, 'encounter', async (tx) => {
        const practitioner = await store.findPractitioner(tx, viewer.practitionerId);
        return store.insertEncounter(tx, {
          person_id: personId,
          practitioner_id: viewer.practitionerId,
          organisation_id: practitioner?.organisation_id ?? null,
          kind: row.kind,
          status: row.status,
          start_at: row.startAt,
          end_at: row.endAt,
          notes: row.notes,
        });
      }),
    updateEncounter: (
      viewer: Viewer,
      personId: string,
      id: string,
      set: Partial<CareTables['care_encounters']>,
    ) => write(viewer, personId, 'encounter', (tx) => store.updateEncounter(tx, id, set)),

    addObservation: (
      viewer: Viewer,
      personId: string,
      row: Omit<CareTables['care_observations'], 'id' | 'created_at' | 'person_id'>,
    ) =>
      write(viewer, personId, 'observation', (tx) =>
        store.insertObservation(tx, { ...row, person_id: personId }),
      ),

    addFlag: (viewer: Viewer, personId: string, row: { code: string; display: string; category: string }) =>
      write(viewer, personId, 'flag', (tx) => store.insertFlag(tx, { person_id: personId, ...row })),
    updateFlag: (viewer: Viewer, personId: string, id: string, set: Partial<CareTables['care_flags']>) =>
      write(viewer, personId, 'flag', (tx) => store.updateFlag(tx, id, set)),

    addDocument: (viewer: Viewer, personId: string, file: { name: string; content: Buffer }, title: string) =>
      write(viewer, personId, 'document', async (tx) => {
        const stored = await platform.files.store(tx, {
          name: file.name,
          content: file.content,
          accept: ['application/pdf', 'image/jpeg', 'image/png'],
          uploadedBy: `${viewer.kind}:${viewer.practitionerId}`,
        });
        return store.insertDocument(tx, {
          person_id: personId,
          title,
          file_id: stored.id,
          media_type: stored.mediaType,
          author_id: viewer.practitionerId,
        });
      }),

    /** A document's content, for someone allowed to read the record. */
    async readDocument(viewer: Viewer, documentId: string) {
      const doc = isUuid(documentId) ? await store.findDocument(db, documentId) : undefined;
      if (!doc) throw new RecordNotFound('No such document');
      await access(viewer, doc.person_id, 'read', `DocumentReference/${doc.id}`);
      const file = await platform.files.read(db, doc.file_id);
      if (!file) throw new RecordNotFound('No such document');
      return { ...doc, content: file.content, name: file.originalName };
    },

    addBudget: (
      viewer: Viewer,
      personId: string,
      row: { periodStart: string; periodEnd: string; amountPence: number },
    ) =>
      write(viewer, personId, 'budget', (tx) =>
        store.insertBudget(tx, {
          person_id: personId,
          period_start: row.periodStart,
          period_end: row.periodEnd,
          amount_pence: row.amountPence,
        }),
      ),

    /** The person's objection to sharing, recorded by staff or by the person in My account. */
    async setObjection(actor: Actor, personId: string, objection: boolean, viewer?: Viewer) {
      if (viewer) await access(viewer, personId, 'write', 'consent');
      await db.transaction().execute(async (tx) => {
        await store.updatePerson(tx, personId, {
          sharing_objection: objection,
          objection_recorded_at: objection ? new Date() : null,
        });
        await recordAudit(tx, {
          actor,
          action: objection ? 'care.sharing_objection_recorded' : 'care.sharing_objection_withdrawn',
          subjectType: 'care_person',
          subjectId: personId,
        });
        await events.publish(tx, {
          type: 'care.record_updated',
          subjectType: 'care_person',
          subjectId: personId,
          actor,
          payload: { part: 'consent', objection },
        });
      });
    },

    /**
     * Opens a record outside the care team for an hour, with a stated reason: audited, and
     * reported to the privacy officer by a job in the same transaction.
     */
    async breakGlass(viewer: Viewer, personId: string, reason: string, vitalInterest: boolean) {
      if (viewer.kind !== 'staff')
        throw new AccessRefused('not_in_care_team', 'Only staff can break the glass');
      const trimmed = reason.trim();
      if (trimmed.length < BREAK_GLASS_REASON_MIN)
        throw new RecordRuleError(
          'reason',
          'Enter why you need to see this record, in at least 10 characters',
        );
      return db.transaction().execute(async (tx) => {
        const p = await person(tx, personId);
        if (
          p.sharing_objection &&
          !vitalInterest &&
          viewer.organisationId !== (await councilOrganisationId(tx))
        )
          throw new RecordRuleError('vitalInterest', 'This person has objected to sharing their record');
        const row = await store.insertBreakGlass(tx, {
          person_id: p.id,
          staff_user_id: viewer.staffId,
          reason: trimmed,
          vital_interest: vitalInterest,
          expires_at: new Date(Date.now() + BREAK_GLASS_MINUTES * 60_000),
        });
        await recordAudit(tx, {
          actor: actorOfViewer(viewer),
          action: 'care.break_glass',
          subjectType: 'care_person',
          subjectId: p.id,
          detail: { reason: trimmed, vitalInterest, until: row.expires_at.toISOString() },
        });
        await jobs.send(tx, REPORT_BREAK_GLASS_JOB, { id: row.id });
        return row;
      });
    },
    listBreakGlass: () => store.listBreakGlass(db),
    reportBreakGlass,

    /** The person record(s) linked to a resident's account, for My account. */
    peopleForResident: (residentId: string) => store.peopleForResident(db, residentId),
    /** Who read (or tried to read) a person's record: shown to the person. */
    accessLog: (personId: string) => store.accessLog(db, personId),

    budgetsForResident: async (residentId: string) => {
      const people = await store.peopleForResident(db, residentId);
      return store.budgetsFor(
        db,
        people.map((p) => p.id),
      );
    },
    async budgetForResident(residentId: string, budgetId: string) {
      if (!isUuid(budgetId)) return undefined;
      const budget = await store.findBudget(db, budgetId);
      if (!budget) return undefined;
      const p = await store.findPerson(db, budget.person_id);
      if (!p || p.resident_id !== residentId) return undefined;
      const spend = await store.spendOf(db, budget.id);
      const spent = spend.reduce((sum, s) => sum + s.amount_pence, 0);
      return { ...budget, spend, spent, balance: budget.amount_pence - spent };
    },
    /** A resident records what they spent from their budget, with a receipt. */
    async addSpend(
      actor: Actor,
      budgetId: string,
      row: {
        spentOn: string;
        description: string;
        amountPence: number;
        receipt: { name: string; content: Buffer } | null;
      },
    ) {
      return db.transaction().execute(async (tx) => {
        const receipt = row.receipt
          ? await platform.files.store(tx, {
              name: row.receipt.name,
              content: row.receipt.content,
              accept: ['application/pdf', 'image/jpeg', 'image/png', 'image/heic'],
              uploadedBy: `${actor.type}:${actor.id}`,
            })
          : null;
        const spend = await store.insertSpend(tx, {
          budget_id: budgetId,
          spent_on: row.spentOn,
          description: row.description,
          amount_pence: row.amountPence,
          receipt_file_id: receipt?.id ?? null,
          recorded_by_type: actor.type,
          recorded_by_id: actor.id,
        });
        await recordAudit(tx, {
          actor,
          action: 'care.budget_spend_recorded',
          subjectType: 'care_budget',
          subjectId: budgetId,
          detail: { amountPence: row.amountPence, receipt: Boolean(receipt) },
        });
        return spend;
      });
    },
    async receiptForResident(residentId: string, spendId: string) {
      if (!isUuid(spendId)) return null;
      const spend = await store.findSpend(db, spendId);
      if (!spend?.receipt_file_id) return null;
      const budget = await this.budgetForResident(residentId, spend.budget_id);
      if (!budget) return null;
      return platform.files.read(db, spend.receipt_file_id);
    },

    /** A wellbeing alert about a resident becomes an Observation and a Flag on each linked record. */
    async recordWellbeingAlert(payload: WellbeingAlert) {
      await db.transaction().execute(async (tx) => {
        for (const p of await store.peopleLinkedToResident(tx, payload.residentId)) {
          const key = `${payload.alertId}/${p.id}`;
          const at = new Date(payload.raisedAt);
          await store.insertObservation(tx, {
            person_id: p.id,
            code: `wellbeing-${payload.type}`,
            display: `Home sensor alert: ${payload.type.replace(/[_-]/g, ' ')}`,
            value_text: `${payload.severity}: ${payload.explanation}`,
            value_quantity: null,
            unit: null,
            effective_at: at,
            source: 'wellbeing',
            alert_id: key,
          });
          await store.insertFlag(tx, {
            person_id: p.id,
            code: `wellbeing-${payload.type}`,
            display: payload.explanation,
            category: 'safety',
            alert_id: key,
            period_start: at,
          });
        }
      });
    },
    async resolveWellbeingAlert(payload: { alertId: string; residentId: string; resolvedAt?: string }) {
      await db.transaction().execute(async (tx) => {
        for (const p of await store.peopleLinkedToResident(tx, payload.residentId))
          await store.closeFlagsForAlert(
            tx,
            `${payload.alertId}/${p.id}`,
            new Date(payload.resolvedAt ?? Date.now()),
          );
      });
    },

    practitioners: (filter: Parameters<typeof store.listPractitioners>[1]) =>
      store.listPractitioners(db, filter),
    practitioner: (id: string) => (isUuid(id) ? store.findPractitioner(db, id) : Promise.resolve(undefined)),
    /** An outside practitioner (GP, hospital, school) the council shares a record with. */
    async addPractitioner(
      actor: Actor,
      input: {
        name: string;
        email: string | null;
        role: string;
        organisationName: string;
        organisationKind: CareTables['care_organisations']['kind'];
        odsCode?: string | null;
      },
    ) {
      return db.transaction().execute(async (tx) => {
        const organisation =
          (await store.findOrganisationByName(tx, input.organisationName)) ??
          (await store.insertOrganisation(tx, {
            name: input.organisationName,
            kind: input.organisationKind,
            ods_code: input.odsCode ?? null,
          }));
        const row = await store.insertPractitioner(tx, {
          name: input.name,
          email: input.email,
          role: input.role,
          organisation_id: organisation.id,
        });
        await recordAudit(tx, {
          actor,
          action: 'care.practitioner_added',
          subjectType: 'care_practitioner',
          subjectId: row.id,
        });
        return row;
      });
    },
  };
}

export interface WellbeingAlert {
  alertId: string;
  residentId: string;
  homeId?: string;
  type: string;
  severity: string;
  explanation: string;
  raisedAt: string;
}

export type CareRecord = ReturnType<typeof createRecord>;
