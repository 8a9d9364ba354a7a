import type { Actor } from '../../platform/actor.ts';
import { systemActor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import type { Address, Gazetteer } from '../catalogue/index.ts';
import type { PaymentsService } from '../payments/index.ts';
import { wardAt, wardByCode } from '../requests/index.ts';
import { isMajor, type FeeResult } from './fees.ts';
import { addressPoint, neighboursOf, parseBoundary } from './geo.ts';
import {
  applicationTypeNames,
  docTypeLabels,
  householderProjects,
  planningPostalAddress,
  projectTypeLabels,
  propertyTypeLabels,
  requiredDocuments,
  statutoryConsultees,
} from './labels.ts';
import { buildOdpDocument, feeFor } from './odp.ts';
import { decisionNoticePdf, neighbourLettersPdf } from './pdf.ts';
import type { AgentDetails, ApplicantDetails, ApplicationType, Decision, Stance } from './schema.ts';
import * as store from './store.ts';

export type FeePayments = Pick<PaymentsService, 'createPayment' | 'startCardPayment' | 'getPayment'>;

/** A planning rule was broken; nothing changed. `message` is fit to show; `field` names the input. */
export class PlanningError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'invalid' | 'closed' | 'state',
    readonly field = 'reference',
  ) {
    super(message);
  }
}

const DAY_MS = 86_400_000;

/** The changes of status people are told of, by their event. */
export const statusChanges = {
  'planning.application_validated': 'validated',
  'planning.application_decided': 'decided',
  'planning.application_withdrawn': 'withdrawn',
} as const;
const applicantTemplates = {
  validated: 'planning-valid',
  decided: 'planning-decided',
  withdrawn: 'planning-withdrawn',
} as const;

/** Neighbours and consultees have 21 days to comment (DMPO 2015 articles 15 and 18). */
export const CONSULTATION_DAYS = 21;

/** Adds days to a YYYY-MM-DD day. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T12:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The statutory period to decide: 13 weeks for major development, 8 weeks for other planning
 * applications and certificates (Town and Country Planning (Development Management Procedure)
 * (England) Order 2015, article 34); 42 days for a larger home extension (GPDO Part 1 A.4(10));
 * 6 weeks for notice of works to a tree in a conservation area (TCPA 1990 s.211).
 */
export function determinationDays(type: ApplicationType): number {
  switch (type) {
    case 'pp.full.major':
      return 13 * 7;
    case 'pa.part1.classA':
      return 42;
    case 'wtt.notice':
      return 42;
    default:
      return 8 * 7;
  }
}

// Words that hold a comment back for an officer to read before it is published.
const ABUSIVE = /\b(idiot|stupid|moron|scum|bastard|bloody|crap|shit|fuck\w*|hate you|kill)\b/i;

/** A submission's answers as the questions the applicant saw, for the ODP document and check page. */
export function responsesOf(row: store.ApplicationRow) {
  const a = row.answers ?? {};
  const out: Array<{ question: string; answer: string; section: string }> = [];
  const push = (question: string, answer: unknown, section: string) => {
    if (answer === undefined || answer === null || answer === '') return;
    out.push({ question, answer: String(answer), section });
  };
  push('Address of the site', row.address_text, 'The property');
  push('What type of property is it?', propertyTypeLabels[String(a.propertyType ?? '')], 'The property');
  push(
    'What do you want to do?',
    row.application_type ? applicationTypeNames[row.application_type] : '',
    'The project',
  );
  if (Array.isArray(a.projectTypes))
    push(
      'What works are you planning?',
      (a.projectTypes as string[]).map((p) => projectTypeLabels[p] ?? p).join('; '),
      'The project',
    );
  push('How deep is the extension from the rear wall, in metres?', a.extensionDepthM, 'The project');
  push('How tall is the extension, in metres?', a.extensionHeightM, 'The project');
  push('How much floor area does it add, in square metres?', a.extensionAreaM2, 'The project');
  push('How many new homes?', a.newDwellings, 'The project');
  push('How much new floor space for other uses, in square metres?', a.floorAreaM2, 'The project');
  push('Which tree or trees, and where?', a.treeDescription, 'The project');
  push('What work do you want to do to the trees?', a.treeWork, 'The project');
  push('Describe the project', row.description, 'The project');
  return out;
}

/** Planning: applications, their journey to a decision, the register and the open data. */
export function createPlanningService(
  platform: Platform,
  deps: { gazetteer: Gazetteer; payments?: FeePayments },
) {
  const { db, events, notify, files, config } = platform;
  const { gazetteer } = deps;

  async function mustFind(conn: Db, reference: string) {
    const row = await store.findByReference(conn, reference);
    if (!row) throw new PlanningError('No application has that reference', 'not_found');
    return row;
  }

  async function event(
    tx: Db,
    row: store.ApplicationRow,
    type: string,
    actor: Actor,
    payload: Record<string, unknown>,
    history?: { text: string; public?: boolean },
  ) {
    await events.publish(tx, {
      type,
      subjectType: 'planning_application',
      subjectId: row.id,
      actor,
      payload: {
        reference: row.reference,
        applicationType: row.application_type,
        wardCode: row.ward_code,
        ...payload,
      },
    });
    await recordAudit(tx, {
      actor,
      action: type,
      subjectType: 'planning_application',
      subjectId: row.id,
      detail: { reference: row.reference, ...payload },
    });
    if (history) await store.addEvent(tx, row.id, type.split('.')[1]!, history.text, history.public ?? true);
  }

  /** Emails whoever made the application (the applicant, or their agent). */
  async function tellApplicant(
    tx: Db,
    row: store.ApplicationRow,
    template: string,
    values: Record<string, string>,
  ) {
    const email = row.user_role === 'agent' ? row.agent?.email : row.applicant?.email;
    if (!email) return;
    await notify.send(
      tx,
      { channel: 'email', recipient: email, residentId: row.resident_id },
      {
        template,
        personalisation: {
          reference: row.reference,
          address: row.address_text ?? '',
          link: `${config.PUBLIC_URL}/planning/applications/${row.reference}`,
          ...values,
        },
      },
    );
  }

  async function completeSubmission(tx: Db, id: string, actor: Actor) {
    const row = (await store.lockById(tx, id))!;
    if (row.status !== 'awaiting_payment' && row.status !== 'draft' && row.status !== 'invalid') return row;
    const resubmitted = row.status === 'invalid';
    const now = new Date();
    const documents = await store.documentsOf(tx, row.id);
    const payment =
      row.payment_id && deps.payments ? await deps.payments.getPayment(tx, row.payment_id) : undefined;
    const next = {
      ...row,
      status: 'submitted' as const,
      submitted_at: now,
      received_at: row.received_at ?? now,
    };
    const odp = buildOdpDocument(next, {
      publicUrl: config.PUBLIC_URL,
      organisation: 'KLN',
      councilName:
        config.COUNCIL_NAME.replace(/ (City|Borough|District)? ?Council$/, '') || config.COUNCIL_NAME,
      region: 'West Midlands',
      wardName: wardByCode(row.ward_code ?? '')?.name ?? '',
      paymentReference: payment?.reference ?? null,
      documents,
      responses: responsesOf(row),
    });
    await store.updateApplication(tx, row.id, {
      status: 'submitted',
      submitted_at: now,
      received_at: next.received_at,
      invalid_reasons: resubmitted ? row.invalid_reasons : null,
      odp,
    });
    await event(
      tx,
      next,
      resubmitted ? 'planning.application_resubmitted' : 'planning.application_submitted',
      actor,
      { feePence: row.fee_pence ?? 0 },
      { text: resubmitted ? 'Changes sent by the applicant' : 'Application received' },
    );
    await tellApplicant(tx, next, 'planning-received', {});
    return { ...next, odp };
  }

  const service = {
    gazetteer,

    findByReference: (conn: Db, reference: string) => store.findByReference(conn, reference),

    /** Starts an application for a signed-in resident (for themself, or as an agent for a client). */
    async startApplication(residentId: string, role: 'applicant' | 'agent') {
      return db.transaction().execute(async (tx) => {
        const reference = await store.nextReference(tx, londonDay().slice(2, 4));
        const row = await store.insertApplication(tx, {
          reference,
          resident_id: residentId,
          user_role: role,
        });
        await store.addEvent(tx, row.id, 'started', 'Application started', false);
        return row;
      });
    },

    /** An application its maker may still change (a draft, or one sent back as invalid). */
    async editable(reference: string, residentId: string) {
      const row = await store.findByReference(db, reference);
      if (!row || row.resident_id !== residentId) return undefined;
      return row;
    },

    listForResident: (residentId: string) => store.listForResident(db, residentId),

    findAddresses: (query: string) => gazetteer.findAddresses(query).slice(0, 50),

    async setAddress(row: store.ApplicationRow, uprn: string) {
      const address: Address | undefined = gazetteer.address(uprn);
      if (!address) throw new PlanningError('Choose the address of the site', 'invalid', 'uprn');
      const point = addressPoint(gazetteer, address)!;
      const ward = wardAt(point);
      const street = gazetteer.street(address.usrn)!;
      await store.updateApplication(db, row.id, {
        uprn: address.uprn,
        usrn: address.usrn,
        address_text: address.text,
        postcode: address.postcode,
        address_key: address.text.toLowerCase(),
        street_key: street.name.toLowerCase(),
        ward_code: ward?.code ?? null,
        lat: point.lat,
        lng: point.lng,
      });
    },

    async setType(row: store.ApplicationRow, type: ApplicationType) {
      const changed = row.application_type !== type;
      await store.updateApplication(db, row.id, {
        application_type: type,
        ...(changed ? { answers: {} } : {}),
      });
    },

    /** Saves the type's questions. Full planning becomes minor or major by its size. */
    async setDetails(row: store.ApplicationRow, answers: Record<string, unknown>, description: string) {
      let type = row.application_type;
      if (type === 'pp.full.minor' || type === 'pp.full.major')
        type = isMajor(Number(answers.newDwellings ?? 0), Number(answers.floorAreaM2 ?? 0))
          ? 'pp.full.major'
          : 'pp.full.minor';
      if (type === 'wtt.consent' || type === 'wtt.notice')
        type = answers.treeProtection === 'conservationArea' ? 'wtt.notice' : 'wtt.consent';
      await store.updateApplication(db, row.id, { answers, description, application_type: type });
    },

    async setBoundary(row: store.ApplicationRow, geojson: string) {
      const { feature, areaM2 } = parseBoundary(geojson);
      await store.updateApplication(db, row.id, { site_boundary: feature, site_area_m2: areaM2 });
    },

    async setLocationPlan(row: store.ApplicationRow, upload: { name: string; content: Buffer }) {
      const stored = await files.store(db, {
        ...upload,
        accept: ['application/pdf', 'image/jpeg', 'image/png'],
      });
      await db.transaction().execute(async (tx) => {
        await store.updateApplication(tx, row.id, { location_plan_file_id: stored.id });
        await store.insertDocument(tx, {
          application_id: row.id,
          file_id: stored.id,
          doc_type: 'locationPlan',
          name: stored.originalName,
          uploaded_by_staff: null,
        });
      });
    },

    async addDocument(row: store.ApplicationRow, docType: string, upload: { name: string; content: Buffer }) {
      if (!docTypeLabels[docType])
        throw new PlanningError('Choose what the document shows', 'invalid', 'docType');
      const stored = await files.store(db, {
        ...upload,
        accept: ['application/pdf', 'image/jpeg', 'image/png'],
      });
      return store.insertDocument(db, {
        application_id: row.id,
        file_id: stored.id,
        doc_type: docType,
        name: stored.originalName,
        uploaded_by_staff: null,
      });
    },

    removeDocument: (row: store.ApplicationRow, documentId: string) =>
      store.deleteDocument(db, documentId, row.id),

    documentsOf: (applicationId: string) => store.documentsOf(db, applicationId),

    async setApplicant(row: store.ApplicationRow, applicant: ApplicantDetails, agent: AgentDetails | null) {
      await store.updateApplication(db, row.id, { applicant, agent });
    },

    async setFeeAnswers(row: store.ApplicationRow, feeAnswers: Record<string, unknown>) {
      await store.updateApplication(db, row.id, { fee_answers: feeAnswers });
    },

    /** The fee today, with the reasons. */
    feeOf: (row: store.ApplicationRow): FeeResult => feeFor(row, londonDay()),

    /** What is still missing before the application can be sent, as [field, message]. */
    async missing(row: store.ApplicationRow): Promise<Array<{ field: string; text: string; href: string }>> {
      const base = `/planning/apply/${row.reference}`;
      const out: Array<{ field: string; text: string; href: string }> = [];
      if (!row.uprn)
        out.push({ field: 'address', text: 'Find the address of the site', href: `${base}/address` });
      if (!row.application_type)
        out.push({ field: 'type', text: 'Say what you want to do', href: `${base}/type` });
      if (!row.description)
        out.push({
          field: 'details',
          text: 'Answer the questions about the project',
          href: `${base}/details`,
        });
      if (!row.site_boundary && !row.location_plan_file_id)
        out.push({
          field: 'boundary',
          text: 'Mark the site boundary on the map, or upload a location plan',
          href: `${base}/boundary`,
        });
      const docs = await store.documentsOf(db, row.id);
      for (const need of requiredDocuments(row.application_type)) {
        if (!docs.some((d) => need.anyOf.includes(d.doc_type)))
          out.push({
            field: 'documents',
            text: `Upload ${need.text.toLowerCase()}`,
            href: `${base}/documents`,
          });
      }
      if (!row.applicant)
        out.push({ field: 'applicant', text: 'Give the applicant’s details', href: `${base}/applicant` });
      return out;
    },

    /**
     * Declares and sends the application. With a fee to pay, it waits for the payment and gives the
     * payment to start; otherwise (or when resubmitting after an invalid check) it is received now.
     */
    async submit(row: store.ApplicationRow, actor: Actor) {
      const missing = await service.missing(row);
      if (missing.length) throw new PlanningError(missing[0]!.text, 'invalid', 'declaration');
      if (!['draft', 'awaiting_payment', 'invalid'].includes(row.status))
        throw new PlanningError('This application has already been sent', 'state');
      const fee = service.feeOf(row);
      return db.transaction().execute(async (tx) => {
        const locked = (await store.lockById(tx, row.id))!;
        if (locked.status === 'invalid' || fee.payable === 0 || locked.paid_at) {
          await store.updateApplication(tx, row.id, {
            declared_at: new Date(),
            fee_pence: locked.status === 'invalid' ? locked.fee_pence : fee.payable,
          });
          const done = await completeSubmission(tx, row.id, actor);
          return { payment: null, row: done };
        }
        if (!deps.payments) throw new PlanningError('Payments are not available', 'state');
        const payer = locked.user_role === 'agent' ? locked.agent?.email : locked.applicant?.email;
        const payment = await deps.payments.createPayment(tx, {
          amount: fee.payable,
          description: `Planning application fee (${locked.reference})`,
          payer: locked.resident_id ? { residentId: locked.resident_id } : { email: payer },
          paysFor: { type: 'planning_application', id: locked.id },
          idempotencyKey: `planning:${locked.id}:${fee.payable}`,
          channel: 'web',
          actor,
        });
        await store.updateApplication(tx, row.id, {
          status: 'awaiting_payment',
          declared_at: new Date(),
          fee_pence: fee.payable,
          payment_id: payment.id,
        });
        return { payment: { id: payment.id, status: payment.status }, row: locked };
      });
    },

    /** Where to pay, after `submit` committed. */
    async paymentUrl(payment: { id: string }, reference: string) {
      if (!deps.payments) return null;
      return (await deps.payments.startCardPayment(payment, `/planning/apply/${reference}/paid`)).nextUrl;
    },

    /** Brings an application up to date with its payment: received once the fee is paid. */
    async settlePayment(applicationId: string, actor: Actor = systemActor) {
      const row = await store.findById(db, applicationId);
      if (!row || row.status !== 'awaiting_payment' || !row.payment_id || !deps.payments) return row;
      const payment = await deps.payments.getPayment(db, row.payment_id);
      if (payment?.status !== 'success') return row;
      return db.transaction().execute(async (tx) => {
        await store.updateApplication(tx, row.id, { paid_at: payment.succeededAt ?? new Date() });
        return completeSubmission(tx, row.id, actor);
      });
    },

    async paymentOf(row: store.ApplicationRow) {
      if (!row.payment_id || !deps.payments) return undefined;
      return deps.payments.getPayment(db, row.payment_id);
    },

    // The back office

    listForOfficers: (status?: Parameters<typeof store.listForOfficers>[1]['status']) =>
      store.listForOfficers(db, { status }),

    async officerView(reference: string) {
      const row = await mustFind(db, reference);
      const [documents, consultations, comments, history] = await Promise.all([
        store.documentsOf(db, row.id),
        store.consultationsOf(db, row.id),
        store.commentsOf(db, row.id, false),
        store.eventsOf(db, row.id, false),
      ]);
      return { row, documents, consultations, comments, history };
    },

    /** The officer's check: valid starts the clock; invalid goes back to the applicant with reasons. */
    async validate(reference: string, outcome: 'valid' | 'invalid', reasons: string, actor: Actor) {
      return db.transaction().execute(async (tx) => {
        const row = (await store.lockById(tx, (await mustFind(tx, reference)).id))!;
        if (row.status !== 'submitted')
          throw new PlanningError('Only an application waiting to be checked can be checked', 'state');
        if (outcome === 'invalid') {
          if (!reasons.trim())
            throw new PlanningError('Say why the application is not valid', 'invalid', 'reasons');
          await store.updateApplication(tx, row.id, { status: 'invalid', invalid_reasons: reasons.trim() });
          await event(
            tx,
            row,
            'planning.application_invalidated',
            actor,
            { reasons: reasons.trim() },
            {
              text: 'Found not valid: changes asked of the applicant',
            },
          );
          await tellApplicant(tx, row, 'planning-invalid', { reasons: reasons.trim() });
          return;
        }
        // The clock runs from the day a valid application was received.
        const validFrom = londonDay(row.submitted_at ?? new Date());
        const due = addDays(validFrom, determinationDays(row.application_type!));
        await store.updateApplication(tx, row.id, {
          status: 'valid',
          validated_at: new Date(),
          valid_from: validFrom,
          determination_due: due,
          invalid_reasons: null,
          officer_id: actor.id,
        });
        await event(
          tx,
          row,
          'planning.application_validated',
          actor,
          { validFrom, determinationDue: due },
          {
            text: `Valid. To be decided by ${due}`,
          },
        );
        // The applicant (and any commenter) is told by a job once this commits: tellOfStatus.
      });
    },

    /** Neighbours within 40 m of the site: the addresses written to unless the officer chooses. */
    neighbours(row: store.ApplicationRow, metres = 40) {
      if (!row.uprn || !row.usrn || row.lat === null || row.lng === null) return [];
      return neighboursOf(
        gazetteer,
        { uprn: row.uprn, usrn: row.usrn, point: { lat: row.lat, lng: row.lng } },
        metres,
      );
    },

    /** Addresses the officer may choose from: within 100 m, those within 40 m chosen to begin with. */
    neighbourChoices(row: store.ApplicationRow) {
      const near = new Set(service.neighbours(row).map((a) => a.uprn));
      return service.neighbours(row, 100).map((a) => ({ ...a, near: near.has(a.uprn) }));
    },

    /**
     * Writes to neighbours (those within 40 m, or the addresses the officer chose by UPRN) and
     * emails consultees; comments are open for 21 days. The letters are printed as one PDF.
     */
    async startConsultation(reference: string, consulteeIds: string[], actor: Actor, chosenUprns?: string[]) {
      return db.transaction().execute(async (tx) => {
        const row = (await store.lockById(tx, (await mustFind(tx, reference)).id))!;
        if (row.status !== 'valid')
          throw new PlanningError('Check the application is valid before consulting', 'state');
        if (row.consultation_start) throw new PlanningError('The consultation has already started', 'state');
        const start = londonDay();
        const end = addDays(start, CONSULTATION_DAYS);
        let neighbours: Address[];
        if (chosenUprns) {
          neighbours = [];
          for (const uprn of new Set(chosenUprns)) {
            const address = gazetteer.address(uprn);
            if (!address || uprn === row.uprn)
              throw new PlanningError(
                'Choose neighbours from the list of addresses',
                'invalid',
                'neighbours',
              );
            neighbours.push(address);
          }
        } else neighbours = service.neighbours(row);
        const letters = neighbours.length
          ? await files.store(tx, {
              name: `neighbour-letters-${row.reference}.pdf`,
              content: Buffer.from(
                await neighbourLettersPdf({
                  councilName: config.COUNCIL_NAME,
                  postalAddress: `${config.COUNCIL_NAME}, ${planningPostalAddress}`,
                  reference: row.reference,
                  site: row.address_text ?? '',
                  type: row.application_type ? applicationTypeNames[row.application_type] : '',
                  description: row.description ?? '',
                  sent: start,
                  closes: end,
                  commentUrl: `${config.PUBLIC_URL}/planning/applications/${row.reference}`,
                  addresses: neighbours.map((n) => n.text),
                }),
              ),
              accept: ['application/pdf'],
              ...(actor.id && actor.type === 'staff' ? { uploadedBy: actor.id } : {}),
            })
          : null;
        const consultees = statutoryConsultees.filter((c) => consulteeIds.includes(c.id));
        await store.insertConsultations(tx, [
          ...neighbours.map((n) => ({
            application_id: row.id,
            kind: 'neighbour' as const,
            name: 'The occupier',
            address_text: n.text,
            email: null,
            method: 'letter' as const,
          })),
          ...consultees.map((c) => ({
            application_id: row.id,
            kind: 'consultee' as const,
            name: c.name,
            address_text: null,
            email: c.email,
            method: 'email' as const,
          })),
        ]);
        for (const c of consultees) {
          await notify.send(
            tx,
            { channel: 'email', recipient: c.email },
            {
              template: 'planning-consultee',
              personalisation: {
                name: c.name,
                reference: row.reference,
                address: row.address_text ?? '',
                description: row.description ?? '',
                end,
                link: `${config.PUBLIC_URL}/planning/applications/${row.reference}`,
              },
            },
          );
        }
        await store.updateApplication(tx, row.id, {
          consultation_start: start,
          consultation_end: end,
          neighbour_letters_file_id: letters?.id ?? null,
        });
        await event(
          tx,
          row,
          'planning.consultation_started',
          actor,
          {
            neighbours: neighbours.length,
            chosenByOfficer: Boolean(chosenUprns),
            consultees: consultees.map((c) => c.id),
            ends: end,
          },
          { text: `Consultation started: comments until ${end}` },
        );
        return { neighbours: neighbours.length, consultees: consultees.length, end };
      });
    },

    /** The neighbour letters to print; each download is audited (the PDF holds addresses). */
    async neighbourLetters(reference: string, actor: Actor) {
      const row = await mustFind(db, reference);
      if (!row.neighbour_letters_file_id) return null;
      const file = await files.read(db, row.neighbour_letters_file_id);
      if (!file) return null;
      await recordAudit(db, {
        actor,
        action: 'planning.neighbour_letters_downloaded',
        subjectType: 'planning_application',
        subjectId: row.id,
        detail: { reference: row.reference, fileId: file.id },
      });
      return file;
    },

    async recordSiteNotice(reference: string, day: string, actor: Actor) {
      await db.transaction().execute(async (tx) => {
        const row = await mustFind(tx, reference);
        if (row.status !== 'valid')
          throw new PlanningError('A site notice is for a valid application', 'state');
        await store.updateApplication(tx, row.id, { site_notice_on: day });
        await event(
          tx,
          row,
          'planning.site_notice_posted',
          actor,
          { day },
          { text: `Site notice put up on ${day}` },
        );
      });
    },

    /** A comment from the public; held for an officer when it reads as abusive. */
    async comment(
      reference: string,
      input: { name: string; address: string; email: string | null; stance: Stance; text: string },
      actor: Actor,
    ) {
      return db.transaction().execute(async (tx) => {
        const row = await mustFind(tx, reference);
        const today = londonDay();
        if (row.status !== 'valid' || !row.consultation_end)
          throw new PlanningError('This application is not open for comments', 'closed');
        if (today > row.consultation_end)
          throw new PlanningError(`The time to comment ended on ${row.consultation_end}`, 'closed');
        const held = ABUSIVE.test(input.text) || ABUSIVE.test(input.name);
        const comment = await store.insertComment(tx, {
          application_id: row.id,
          name: input.name,
          address_text: input.address,
          email: input.email,
          stance: input.stance,
          text: input.text,
          status: held ? 'pending' : 'published',
          moderation_note: held ? 'Held automatically: possibly abusive words' : null,
        });
        await event(
          tx,
          row,
          'planning.comment_received',
          actor,
          { stance: input.stance, held },
          {
            text: `Comment received (${input.stance})`,
            public: false,
          },
        );
        return { held, id: comment.id };
      });
    },

    async moderate(
      reference: string,
      commentId: string,
      outcome: 'published' | 'withheld',
      note: string,
      actor: Actor,
    ) {
      await db.transaction().execute(async (tx) => {
        const row = await mustFind(tx, reference);
        const ok = await store.updateComment(tx, commentId, row.id, {
          status: outcome,
          moderation_note: note || null,
          moderated_by: actor.id,
        });
        if (!ok) throw new PlanningError('No such comment on this application', 'not_found');
        await recordAudit(tx, {
          actor,
          action: `planning.comment_${outcome}`,
          subjectType: 'planning_application',
          subjectId: row.id,
          detail: { commentId, note },
        });
      });
    },

    async saveReport(reference: string, report: string, recommendation: Decision, actor: Actor) {
      await db.transaction().execute(async (tx) => {
        const row = await mustFind(tx, reference);
        if (row.status !== 'valid')
          throw new PlanningError('Only a valid, undecided application has a report', 'state');
        await store.updateApplication(tx, row.id, { officer_report: report, recommendation });
        await event(
          tx,
          row,
          'planning.report_written',
          actor,
          { recommendation },
          {
            text: 'Officer report written',
            public: false,
          },
        );
      });
    },

    /** An extension of time agreed with the applicant moves the date the decision is due. */
    async agreeExtension(reference: string, day: string, note: string, actor: Actor) {
      await db.transaction().execute(async (tx) => {
        const row = await mustFind(tx, reference);
        if (row.status !== 'valid')
          throw new PlanningError('Only an undecided application can be extended', 'state');
        if (!row.determination_due || day <= (row.extension_due ?? row.determination_due))
          throw new PlanningError(
            'The agreed date must be after the current date the decision is due',
            'invalid',
            'extension-day',
          );
        await store.updateApplication(tx, row.id, { extension_due: day, extension_note: note });
        await event(
          tx,
          row,
          'planning.extension_agreed',
          actor,
          { until: day },
          {
            text: `Extension of time agreed with the applicant until ${day}`,
          },
        );
      });
    },

    /** The decision: granted with conditions, or refused with reasons; the notice is made and sent. */
    async decide(reference: string, decision: Decision, terms: string[], actor: Actor & { name?: string }) {
      const cleaned = terms.map((t) => t.trim()).filter(Boolean);
      const row0 = await mustFind(db, reference);
      if (row0.status !== 'valid')
        throw new PlanningError('Only a valid, undecided application can be decided', 'state');
      if (!row0.officer_report)
        throw new PlanningError('Write the officer report before deciding', 'invalid', 'report');
      if (!cleaned.length)
        throw new PlanningError(
          decision === 'refused' ? 'Give at least one reason for refusal' : 'Give at least one condition',
          'invalid',
          decision === 'refused' ? 'reasons' : 'conditions',
        );
      const today = londonDay();
      if (row0.consultation_end && today <= row0.consultation_end)
        throw new PlanningError(
          `The consultation runs until ${row0.consultation_end}: decide after it ends`,
          'invalid',
          'decision',
        );
      const officerName = actor.id
        ? ((await store.staffName(db, actor.id)) ?? 'Planning officer')
        : 'Planning officer';
      const decidedAt = new Date();
      const pdf = await decisionNoticePdf({
        councilName: config.COUNCIL_NAME,
        reference: row0.reference,
        address: row0.address_text ?? '',
        applicant: row0.applicant ? `${row0.applicant.firstName} ${row0.applicant.lastName}` : '',
        type: row0.application_type ? applicationTypeNames[row0.application_type] : '',
        description: row0.description ?? '',
        received: londonDay(row0.received_at ?? decidedAt),
        decided: londonDay(decidedAt),
        decision,
        terms: cleaned,
        officer: officerName,
      });
      const stored = await files.store(db, {
        name: `decision-notice-${row0.reference}.pdf`,
        content: Buffer.from(pdf),
        accept: ['application/pdf'],
        ...(actor.id ? { uploadedBy: actor.id } : {}),
      });
      await db.transaction().execute(async (tx) => {
        const row = (await store.lockById(tx, row0.id))!;
        if (row.status !== 'valid')
          throw new PlanningError('This application has already been decided', 'state');
        const due = row.extension_due ?? row.determination_due;
        await store.updateApplication(tx, row.id, {
          status: 'decided',
          decision,
          decision_terms: cleaned,
          decided_at: decidedAt,
          decided_by: actor.id,
          decision_notice_file_id: stored.id,
        });
        await event(
          tx,
          row,
          'planning.application_decided',
          actor,
          { decision, terms: cleaned.length, inTime: due ? londonDay(decidedAt) <= due : null },
          { text: decision === 'granted' ? 'Granted' : 'Refused' },
        );
      });
    },

    /**
     * An application withdrawn at the applicant's request (in writing to the officer): it leaves the
     * queue, stays on the register as withdrawn, and the applicant and commenters are told.
     */
    async withdraw(reference: string, note: string, actor: Actor) {
      await db.transaction().execute(async (tx) => {
        const row = (await store.lockById(tx, (await mustFind(tx, reference)).id))!;
        if (!['submitted', 'invalid', 'valid'].includes(row.status))
          throw new PlanningError('Only an undecided application can be withdrawn', 'state');
        await store.updateApplication(tx, row.id, { status: 'withdrawn' });
        await event(
          tx,
          row,
          'planning.application_withdrawn',
          actor,
          { note },
          { text: 'Withdrawn by the applicant' },
        );
      });
    },

    /**
     * Tells the applicant (or their agent) and everyone who commented with an email address that an
     * application was validated, decided or withdrawn. Run as a job once the change has committed;
     * each person is told of each change once, however often the job runs.
     */
    async tellOfStatus(change: {
      id: number;
      type: string;
      subjectId: string;
      payload: Record<string, unknown>;
    }) {
      const kind = statusChanges[change.type as keyof typeof statusChanges];
      if (!kind) return;
      await db.transaction().execute(async (tx) => {
        const row = await store.findById(tx, change.subjectId);
        if (!row) return;
        const link = `${config.PUBLIC_URL}/planning/applications/${row.reference}`;
        const common = { reference: row.reference, address: row.address_text ?? '', link };
        const maker = (row.user_role === 'agent' ? row.agent?.email : row.applicant?.email)
          ?.trim()
          .toLowerCase();
        if (maker && (await store.claimStatusNotice(tx, row.id, change.id, maker))) {
          const values: Record<string, string> =
            kind === 'validated'
              ? { due: String(change.payload.determinationDue ?? row.determination_due ?? '') }
              : kind === 'decided'
                ? { decision: String(change.payload.decision ?? row.decision) }
                : {};
          await notify.send(
            tx,
            { channel: 'email', recipient: maker, residentId: row.resident_id },
            { template: applicantTemplates[kind], personalisation: { ...common, ...values } },
          );
        }
        const news =
          kind === 'validated'
            ? 'It has been checked and is valid. We will now consider it.'
            : kind === 'decided'
              ? `It has been ${change.payload.decision === 'refused' ? 'refused' : 'granted'}. The decision notice is on the application page.`
              : 'The applicant has withdrawn it. It will not be decided.';
        for (const email of await store.commenterEmails(tx, row.id)) {
          if (email === maker || !(await store.claimStatusNotice(tx, row.id, change.id, email))) continue;
          await notify.send(
            tx,
            { channel: 'email', recipient: email },
            { template: 'planning-commenter-update', personalisation: { ...common, news } },
          );
        }
      });
    },

    async decisionNotice(reference: string) {
      const row = await store.findByReference(db, reference);
      if (!row?.decision_notice_file_id) return null;
      return files.read(db, row.decision_notice_file_id);
    },

    /** Publish or withhold a document, or replace its public copy with a redacted one. */
    async setDocumentPublication(
      reference: string,
      documentId: string,
      change: { published?: boolean; redacted?: { name: string; content: Buffer } },
      actor: Actor,
    ) {
      const row = await mustFind(db, reference);
      const doc = await store.findDocument(db, documentId);
      if (!doc || doc.application_id !== row.id) throw new PlanningError('No such document', 'not_found');
      const redacted = change.redacted
        ? await files.store(db, {
            ...change.redacted,
            accept: ['application/pdf', 'image/jpeg', 'image/png'],
            ...(actor.id ? { uploadedBy: actor.id } : {}),
          })
        : null;
      await db.transaction().execute(async (tx) => {
        await store.updateDocument(tx, doc.id, {
          ...(change.published !== undefined ? { published: change.published } : {}),
          ...(redacted ? { redacted_file_id: redacted.id, published: true } : {}),
        });
        await recordAudit(tx, {
          actor,
          action: redacted ? 'planning.document_redacted' : 'planning.document_publication_changed',
          subjectType: 'planning_application',
          subjectId: row.id,
          detail: { documentId, published: change.published ?? true },
        });
      });
    },

    /** A document as the public may see it: published, and the redacted copy when there is one. */
    async publicDocument(documentId: string) {
      const doc = await store.findDocument(db, documentId);
      if (!doc || !doc.published) return null;
      const row = await store.findById(db, doc.application_id);
      if (!row || !row.received_at || ['draft', 'awaiting_payment'].includes(row.status)) return null;
      return files.read(db, doc.redacted_file_id ?? doc.file_id);
    },

    /** Any document, for officers and the applicant. */
    async anyDocument(documentId: string) {
      const doc = await store.findDocument(db, documentId);
      if (!doc) return null;
      const file = await files.read(db, doc.file_id);
      return file && { ...file, applicationId: doc.application_id };
    },

    /**
     * Performance against the statutory periods over the last `days` days, by the government's
     * groups (major, minor, other): decided, decided in time (including agreed extensions), and %.
     */
    async performance(days = 365) {
      const since = new Date(Date.now() - days * DAY_MS);
      const rows = await store.decidedSince(db, since);
      const group = (type: string | null) =>
        type === 'pp.full.major'
          ? 'Major'
          : type === 'pp.full.minor'
            ? 'Minor'
            : 'Other (householder, certificates, prior approvals, trees)';
      const out = new Map<string, { group: string; decided: number; inTime: number; granted: number }>();
      for (const name of ['Major', 'Minor', 'Other (householder, certificates, prior approvals, trees)'])
        out.set(name, { group: name, decided: 0, inTime: 0, granted: 0 });
      for (const r of rows) {
        const g = out.get(group(r.application_type))!;
        g.decided += 1;
        const due = r.extension_due ?? r.determination_due;
        if (due && r.decided_at && londonDay(r.decided_at) <= due) g.inTime += 1;
        if (r.decision === 'granted') g.granted += 1;
      }
      return [...out.values()].map((g) => ({
        ...g,
        percentInTime: g.decided ? Math.round((g.inTime / g.decided) * 1000) / 10 : null,
      }));
    },

    // The public register

    search: (filter: store.RegisterFilter) => store.searchRegister(db, filter),

    async publicView(reference: string) {
      const row = await store.findByReference(db, reference);
      if (!row || !row.received_at || ['draft', 'awaiting_payment'].includes(row.status)) return undefined;
      const [documents, comments, history] = await Promise.all([
        store.documentsOf(db, row.id),
        store.commentsOf(db, row.id, true),
        store.eventsOf(db, row.id, true),
      ]);
      return { row, documents: documents.filter((d) => d.published), comments, history };
    },

    receivedOrDecidedBetween: (from: Date, to: Date, ward?: string) =>
      store.receivedOrDecidedBetween(db, from, to, ward),

    publicApplications: (limit: number, offset: number) => store.publicApplications(db, limit, offset),

    /** Demo data: a few applications at each stage, made through the same steps as a real one. */
    async seedDemo(residentId: string) {
      const existing = await store.listForResident(db, residentId);
      if (existing.length) return;
      const officerId = await store.staffIdByEmail(db, 'planner@kilnford.example');
      const officer: Actor = { type: 'staff', id: officerId ?? null };
      const resident: Actor = { type: 'resident', id: residentId };
      const make = async (
        uprn: string,
        type: ApplicationType,
        description: string,
        answers: Record<string, unknown>,
      ) => {
        const row = await service.startApplication(residentId, 'applicant');
        await service.setAddress(row, uprn);
        await service.setType(row, type);
        const withType = (await store.findById(db, row.id))!;
        await service.setDetails(withType, answers, description);
        const point = (await store.findById(db, row.id))!;
        const d = 0.00008;
        await service.setBoundary(
          point,
          JSON.stringify({
            type: 'Polygon',
            coordinates: [
              [
                [point.lng! - d, point.lat! - d],
                [point.lng! + d, point.lat! - d],
                [point.lng! + d, point.lat! + d],
                [point.lng! - d, point.lat! + d],
                [point.lng! - d, point.lat! - d],
              ],
            ],
          }),
        );
        await service.setApplicant(
          point,
          {
            type: 'individual',
            firstName: 'Alex',
            lastName: 'Moreton',
            email: 'resident@kilnford.example',
            phone: '07700 900 123',
            ownership: 'a',
            connection: 'none',
          },
          null,
        );
        // Demo documents are one-page PDFs made on the spot.
        const plan = Buffer.from(
          await decisionNoticePdf({
            councilName: 'Demo drawing',
            reference: row.reference,
            address: point.address_text ?? '',
            applicant: '',
            type: 'Plans',
            description: 'Existing and proposed plans and elevations (demonstration drawing)',
            received: londonDay(),
            decided: londonDay(),
            decision: 'granted',
            terms: ['Drawing 01'],
            officer: '',
          }),
        );
        for (const t of type.startsWith('wtt')
          ? ['photographs.existing']
          : type.startsWith('pp.full.m')
            ? ['floorPlan.proposed', 'elevations.proposed', 'designAndAccessStatement']
            : ['floorPlan.proposed', 'elevations.proposed'])
          await service.addDocument(point, t, { name: `${t}.pdf`, content: plan });
        await db.transaction().execute(async (tx) => {
          await store.updateApplication(tx, row.id, {
            fee_pence: 0,
            declared_at: new Date(),
            paid_at: new Date(),
          });
          await completeSubmission(tx, row.id, resident);
        });
        return (await store.findById(db, row.id))!;
      };
      const a = await make(
        '100090001005',
        'pp.full.householder',
        'Single-storey rear extension with a flat roof and roof light',
        {
          propertyType: 'residential.house.semiDetached',
          projectTypes: ['extend.rear.rear'],
          dwellingsAltered: 1,
          extensionDepthM: 4,
          extensionAreaM2: 18,
        },
      );
      const b = await make(
        '100090011012',
        'pp.full.householder',
        'Rear dormer roof extension to form a loft bedroom',
        {
          propertyType: 'residential.house.terrace',
          projectTypes: ['extend.roof.dormer'],
          dwellingsAltered: 1,
        },
      );
      await make('100090004007', 'wtt.consent', 'Reduce the crown of an oak tree by 2 metres', {
        treeProtection: 'tpo',
        projectTypes: ['alter.trees.tree.prune'],
        treeDescription: 'Oak in the front garden',
        treeWork: 'Crown reduction of 2 metres',
      });
      if (officerId) {
        await service.validate(a.reference, 'valid', '', officer);
        await service.startConsultation(a.reference, ['highways'], officer);
        await service.validate(b.reference, 'valid', '', officer);
        await service.saveReport(
          b.reference,
          'The dormer is set back from the eaves and in keeping with the terrace. No objections were received.',
          'granted',
          officer,
        );
        // The demo decision is made as if the consultation had ended.
        await store.updateApplication(db, b.id, { consultation_start: null, consultation_end: null });
        await service.decide(
          b.reference,
          'granted',
          [
            'The development must be begun within three years of the date of this permission.',
            'The development must be carried out in accordance with the approved plans.',
            'The materials of the dormer must match those of the existing roof.',
          ],
          officer,
        );
      }
    },
  };
  return service;
}

export type PlanningService = ReturnType<typeof createPlanningService>;

export { householderProjects };
