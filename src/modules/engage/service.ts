import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import { UploadError } from '../../platform/files/index.ts';
import type { Platform } from '../../platform/module.ts';
import { formatLondon } from '../../platform/time.ts';
import type { CasesService, Channel } from '../cases/index.ts';
import type { CatalogueService } from '../catalogue/index.ts';
import { barChart } from './charts.ts';
import { cleanEquality, equalityQuestions } from './equality.ts';
import { isOpenAt, milesBetween, normalisePostcode, openingHoursRows, postcodePattern } from './finder.ts';
import type {
  DeviceKind,
  FibreStatus,
  PlaceOffer,
  QuestionKind,
  ResponseChannel,
  SiteKind,
} from './schema.ts';
import * as store from './store.ts';

/** A refusal with words fit to show the person; `field` names the input to link to. */
export class EngageError extends Error {
  constructor(
    readonly code:
      | 'invalid'
      | 'not_found'
      | 'not_open'
      | 'closed'
      | 'duplicate'
      | 'unknown_postcode'
      | 'unavailable'
      | 'state',
    message: string,
    readonly field?: string,
    readonly errors: Array<{ field: string; text: string }> = [],
  ) {
    super(message);
  }
}

export const LOAN_DAYS = 28;
const REMINDER_GAP_HOURS = 72;
export const scaleLabels = [
  'Strongly agree',
  'Agree',
  'Neither agree nor disagree',
  'Disagree',
  'Strongly disagree',
];
export const eligibilityReasons = [
  { value: 'universal_credit', text: 'Receives Universal Credit or another means-tested benefit' },
  { value: 'pension_credit', text: 'Receives Pension Credit' },
  { value: 'care_leaver', text: 'Care leaver' },
  { value: 'job_seeker', text: 'Looking for work with the Jobcentre or a council employment programme' },
  { value: 'referred', text: 'Referred by a support worker or partner organisation' },
] as const;
export const siteKindLabels: Record<SiteKind, string> = {
  office: 'Council office',
  library: 'Library',
  community_centre: 'Community centre',
  leisure_centre: 'Leisure centre',
  depot: 'Depot',
  school: 'School',
  care_home: 'Care home',
  gp_surgery: 'GP surgery',
};
export const fibreStatusLabels: Record<FibreStatus, string> = {
  not_planned: 'Not yet planned',
  planned: 'Planned',
  in_build: 'Being built',
  connected: 'Connected to full fibre',
};
export const offerLabels: Record<PlaceOffer, string> = {
  wifi: 'Free Wi-Fi',
  computers: 'Public computers',
  skills: 'Digital skills help',
  printing: 'Printing and scanning',
};
export const channelLabels: Record<ResponseChannel, string> = {
  web: 'Online',
  face_to_face: 'In person',
  phone: 'By phone',
  letter: 'Paper form or letter',
  email: 'Email',
};

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
// A signed-in resident is known by their account, anyone else by their browser or a resume link.
const hashesOf = (who: Respondent) => ({
  residentId: who.residentId,
  browserHash: who.residentId || !who.browserToken ? null : sha256(who.browserToken),
  resumeHash: who.resumeToken ? sha256(who.resumeToken) : null,
});
const token = () => randomBytes(24).toString('base64url');

export interface NewConsultation {
  title: string;
  slug: string;
  summary: string;
  background: string;
  opensAt: Date;
  closesAt: Date;
  onePerPerson: boolean;
  equalityMonitoring: boolean;
}

export interface NewQuestion {
  kind: QuestionKind;
  text: string;
  hint: string;
  options: string[];
  required: boolean;
}

export interface Respondent {
  residentId: string | null;
  /** The per-browser token of an anonymous respondent (from its cookie). */
  browserToken: string | null;
  /** The token of a "come back later" link, when they came back through one. */
  resumeToken?: string | null;
}

export interface EngageDependencies {
  cases: Pick<CasesService, 'createCase'>;
  catalogue: Pick<CatalogueService, 'liveService' | 'liveServices' | 'gazetteer'>;
}

/** The rules of consultations, the get-online finder, device lending and the connectivity register. */
export function createEngageService(platform: Platform, deps: EngageDependencies) {
  const { db, events, notify, config } = platform;
  const url = (path: string) => `${config.PUBLIC_URL}${path}`;

  notify.defineTemplate('engage-outcome', {
    subject: 'What happened after the consultation: ((title))',
    body:
      'Thank you for taking part in our consultation "((title))".\n\n' +
      'We have published what you said and what we did as a result:\n\n((link))',
  });
  notify.defineTemplate('engage-resume', {
    subject: 'Your answers to "((title))" are saved',
    body:
      'Your answers to the consultation "((title))" are saved.\n\n' +
      'Use this link to come back and finish before it closes on ((closes)):\n\n((link))\n\n' +
      'Anyone with the link can see and change your answers, so do not share it.',
  });
  notify.defineTemplate('engage-loan-overdue', {
    subject: 'Please return the ((device)) you borrowed',
    body:
      'The ((device)) you borrowed from Kilnford libraries (loan ((reference))) was due back on ((due)).\n\n' +
      'Please bring it to any library, or call us if you need it for longer and we can extend the loan.',
  });

  async function audited(
    tx: Db,
    actor: Actor,
    action: string,
    subject: { type: string; id: string },
    detail: Record<string, unknown>,
    event = true,
  ) {
    await recordAudit(tx, { actor, action, subjectType: subject.type, subjectId: subject.id, detail });
    if (event) {
      await events.publish(tx, {
        type: action,
        subjectType: subject.type,
        subjectId: subject.id,
        actor,
        payload: detail,
      });
    }
  }

  function isOpen(c: store.ConsultationRow, now = new Date()) {
    return (
      c.status === 'published' &&
      !!c.opens_at &&
      !!c.closes_at &&
      c.opens_at.getTime() <= now.getTime() &&
      now.getTime() < c.closes_at.getTime()
    );
  }

  /** Words for where a consultation stands, for residents and staff alike. */
  function stateOf(c: store.ConsultationRow, now = new Date()) {
    if (c.status === 'draft') return { key: 'draft', text: 'Draft' } as const;
    if (c.outcome_published_at) return { key: 'outcome', text: 'Closed: outcome published' } as const;
    if (isOpen(c, now)) return { key: 'open', text: 'Open' } as const;
    if (c.status === 'published' && c.opens_at && c.opens_at > now)
      return { key: 'upcoming', text: `Opens ${formatLondon(c.opens_at, false)}` } as const;
    return { key: 'closed', text: 'Closed' } as const;
  }

  function checkAnswers(questions: store.QuestionRow[], input: Record<string, unknown>, requireAll: boolean) {
    const answers: Record<string, string | string[]> = {};
    const errors: Array<{ field: string; text: string }> = [];
    for (const q of questions) {
      const field = `q-${q.id}`;
      const raw = input[field];
      if (q.kind === 'multiple') {
        const values = (Array.isArray(raw) ? raw : raw === undefined || raw === '' ? [] : [raw]).map(String);
        const valid = values.filter((v) => q.options.includes(v));
        if (valid.length) answers[q.id] = [...new Set(valid)];
        if (requireAll && q.required && !valid.length)
          errors.push({ field, text: `Select at least one answer to: ${q.text}` });
      } else if (q.kind === 'text') {
        const value = typeof raw === 'string' ? raw.trim() : '';
        if (value.length > 5000)
          errors.push({ field, text: `Your answer to "${q.text}" must be 5,000 characters or fewer` });
        else if (value) answers[q.id] = value;
        if (requireAll && q.required && !value)
          errors.push({ field, text: `Enter your answer to: ${q.text}` });
      } else {
        const value = typeof raw === 'string' ? raw : '';
        if (value && q.options.includes(value)) answers[q.id] = value;
        if (requireAll && q.required && !answers[q.id])
          errors.push({ field, text: `Select an answer to: ${q.text}` });
      }
    }
    return { answers, errors };
  }

  function optionsFor(kind: QuestionKind, options: string[]) {
    return kind === 'scale' ? scaleLabels : kind === 'text' ? [] : options;
  }

  const consultations = {
    isOpen,
    stateOf,

    async create(actor: Actor, input: NewConsultation) {
      if (input.closesAt <= input.opensAt)
        throw new EngageError('invalid', 'The closing date must be after the opening date', 'closesAt');
      return db.transaction().execute(async (tx) => {
        if (await store.consultationBySlug(tx, input.slug))
          throw new EngageError('invalid', 'A consultation with this web address already exists', 'slug');
        const row = await store.insertConsultation(tx, {
          reference: await freshReference(tx, 'engage_consultations', 'CN'),
          slug: input.slug,
          title: input.title,
          summary: input.summary,
          background: input.background,
          opens_at: input.opensAt,
          closes_at: input.closesAt,
          one_per_person: input.onePerPerson,
          equality_monitoring: input.equalityMonitoring,
          created_by: actor.type === 'staff' ? actor.id : null,
        });
        await audited(
          tx,
          actor,
          'engage.consultation_created',
          { type: 'engage_consultation', id: row.id },
          {
            reference: row.reference,
            title: row.title,
          },
          false,
        );
        return row;
      });
    },

    async updateDetails(actor: Actor, reference: string, input: Omit<NewConsultation, 'slug'>) {
      if (input.closesAt <= input.opensAt)
        throw new EngageError('invalid', 'The closing date must be after the opening date', 'closesAt');
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationByReference(tx, reference);
        if (!c) throw new EngageError('not_found', 'No such consultation');
        if (c.status === 'closed') throw new EngageError('state', 'A closed consultation cannot be changed');
        const row = await store.updateConsultation(tx, c.id, {
          title: input.title,
          summary: input.summary,
          background: input.background,
          opens_at: input.opensAt,
          closes_at: input.closesAt,
          one_per_person: input.onePerPerson,
          equality_monitoring: input.equalityMonitoring,
        });
        await audited(
          tx,
          actor,
          'engage.consultation_updated',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
          },
          false,
        );
        platform.pageCache.clear();
        return row;
      });
    },

    async addQuestion(actor: Actor, reference: string, input: NewQuestion) {
      const options = optionsFor(input.kind, input.options.map((o) => o.trim()).filter(Boolean));
      if ((input.kind === 'single' || input.kind === 'multiple') && options.length < 2)
        throw new EngageError(
          'invalid',
          'Enter at least two answers to choose from, one on each line',
          'options',
        );
      if (new Set(options).size !== options.length)
        throw new EngageError('invalid', 'Each answer to choose from must be different', 'options');
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationByReference(tx, reference);
        if (!c) throw new EngageError('not_found', 'No such consultation');
        if (c.status !== 'draft')
          throw new EngageError('state', 'Questions cannot change once the consultation is published');
        const q = await store.insertQuestion(tx, {
          consultation_id: c.id,
          kind: input.kind,
          text: input.text,
          hint: input.hint,
          options,
          required: input.required,
        });
        await audited(
          tx,
          actor,
          'engage.question_added',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
            question: q.id,
            kind: q.kind,
          },
          false,
        );
        return q;
      });
    },

    async removeQuestion(actor: Actor, reference: string, questionId: string) {
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationByReference(tx, reference);
        if (!c) throw new EngageError('not_found', 'No such consultation');
        if (c.status !== 'draft')
          throw new EngageError('state', 'Questions cannot change once the consultation is published');
        if (!(await store.deleteQuestion(tx, c.id, questionId)))
          throw new EngageError('not_found', 'No such question');
        await audited(
          tx,
          actor,
          'engage.question_removed',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
            question: questionId,
          },
          false,
        );
      });
    },

    async addDocument(
      actor: Actor,
      reference: string,
      input: { title: string; name: string; content: Buffer },
    ) {
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationByReference(tx, reference);
        if (!c) throw new EngageError('not_found', 'No such consultation');
        let stored;
        try {
          stored = await platform.files.store(tx, {
            name: input.name,
            content: input.content,
            accept: ['application/pdf', 'image/png', 'image/jpeg'],
            uploadedBy: actor.id ?? undefined,
          });
        } catch (error) {
          if (error instanceof UploadError) throw new EngageError('invalid', error.message, 'document');
          throw error;
        }
        const doc = await store.insertDocument(tx, {
          consultation_id: c.id,
          file_id: stored.id,
          title: input.title,
          media_type: stored.mediaType,
          size_bytes: stored.sizeBytes,
        });
        await audited(
          tx,
          actor,
          'engage.document_added',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
            document: doc.id,
          },
          false,
        );
        platform.pageCache.clear();
        return doc;
      });
    },

    /** A document and its bytes, only once the consultation is public (or for staff). */
    async document(id: string, forStaff: boolean) {
      if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
      const doc = await store.documentById(db, id);
      if (!doc || (!forStaff && doc.consultation_status === 'draft')) return undefined;
      const file = await platform.files.read(db, doc.file_id);
      return file ? { ...doc, content: file.content } : undefined;
    },

    async addEvent(
      actor: Actor,
      reference: string,
      input: { title: string; place: string; startsAt: Date; endsAt: Date; bookingReference: string | null },
    ) {
      if (input.endsAt <= input.startsAt)
        throw new EngageError('invalid', 'The end time must be after the start time', 'endsAt');
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationByReference(tx, reference);
        if (!c) throw new EngageError('not_found', 'No such consultation');
        const event = await store.insertEvent(tx, {
          consultation_id: c.id,
          title: input.title,
          place: input.place,
          starts_at: input.startsAt,
          ends_at: input.endsAt,
          booking_reference: input.bookingReference,
        });
        await audited(
          tx,
          actor,
          'engage.event_added',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
            event: event.id,
          },
          false,
        );
        platform.pageCache.clear();
        return event;
      });
    },

    async publish(actor: Actor, reference: string) {
      return db.transaction().execute(async (tx) => {
        const found = await store.consultationByReference(tx, reference);
        if (!found) throw new EngageError('not_found', 'No such consultation');
        const c = await store.lockConsultation(tx, found.id);
        if (c.status !== 'draft') throw new EngageError('state', 'This consultation is already published');
        const questions = await store.questionsOf(tx, c.id);
        if (questions.length === 0)
          throw new EngageError('state', 'Add at least one question before publishing');
        if (!c.closes_at || c.closes_at <= new Date())
          throw new EngageError('state', 'Set a closing date in the future before publishing');
        const row = await store.updateConsultation(tx, c.id, { status: 'published' });
        await audited(
          tx,
          actor,
          'engage.consultation_published',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
            title: c.title,
            opensAt: c.opens_at?.toISOString(),
            closesAt: c.closes_at.toISOString(),
            questions: questions.length,
          },
        );
        platform.pageCache.clear();
        return row;
      });
    },

    /** Closes now (staff), or at the closing date (the housekeeping job); later responses are refused. */
    async close(actor: Actor, reference: string) {
      return db.transaction().execute(async (tx) => {
        const found = await store.consultationByReference(tx, reference);
        if (!found) throw new EngageError('not_found', 'No such consultation');
        const c = await store.lockConsultation(tx, found.id);
        if (c.status !== 'published')
          throw new EngageError('state', 'Only a published consultation can be closed');
        const now = new Date();
        const row = await store.updateConsultation(tx, c.id, {
          status: 'closed',
          closed_at: now,
          closes_at: c.closes_at && c.closes_at < now ? c.closes_at : now,
        });
        await audited(
          tx,
          actor,
          'engage.consultation_closed',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
            responses: await store.countSubmitted(tx, c.id),
          },
        );
        platform.pageCache.clear();
        return row;
      });
    },

    list: () => store.listConsultations(db),
    /** Published and closed consultations, for residents. */
    async listPublic(now = new Date()) {
      const rows = await store.publishedConsultations(db);
      return rows.map((c) => ({ ...c, state: stateOf(c, now) }));
    },
    byReference: (reference: string) => store.consultationByReference(db, reference),
    bySlug: (slug: string) => store.consultationBySlug(db, slug),
    questions: (consultationId: string) => store.questionsOf(db, consultationId),
    documents: (consultationId: string) => store.documentsOf(db, consultationId),
    events: (consultationId: string) => store.eventsOf(db, consultationId),
    equalityQuestions,
  };

  const responses = {
    /** The respondent's own response to a consultation: the draft they are writing, else the one they sent. */
    async own(consultationId: string, who: Respondent) {
      const rows = await store.findOwnResponses(db, consultationId, hashesOf(who));
      return rows.find((r) => r.status === 'draft') ?? rows.find((r) => r.status === 'submitted');
    },

    /** A draft reached through a "come back later" link. */
    async byResumeToken(resumeToken: string) {
      return store.responseByResume(db, sha256(resumeToken));
    },

    /**
     * Saves (`submit: false`) or sends a resident's response. Every refusal is an EngageError
     * with words for the person; answers to a closed consultation are kept as a draft, not lost.
     */
    async respond(
      slug: string,
      who: Respondent,
      input: Record<string, unknown>,
      options: { submit: boolean },
    ): Promise<{ reference: string; resumeToken: string | null; status: 'draft' | 'submitted' }> {
      const result = await db.transaction().execute(async (tx) => {
        const found = await store.consultationBySlug(tx, slug);
        if (!found || found.status === 'draft') throw new EngageError('not_found', 'No such consultation');
        const c = await store.lockConsultation(tx, found.id);
        const questions = await store.questionsOf(tx, c.id);
        const { answers, errors } = checkAnswers(questions, input, options.submit);
        const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
        if (email && (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254))
          errors.push({
            field: 'email',
            text: 'Enter an email address in the correct format, like name@example.com',
          });
        const equality = c.equality_monitoring ? cleanEquality(input) : {};
        const hashes = hashesOf(who);
        const own = await store.findOwnResponses(tx, c.id, hashes);
        const sent = own.find((r) => r.status === 'submitted');
        if (sent && c.one_per_person) {
          throw new EngageError(
            'duplicate',
            `You have already responded to this consultation (reference ${sent.reference}). Only one response per person is counted.`,
          );
        }
        const existing = own.find((r) => r.status === 'draft');
        const open = isOpen(c);
        if (errors.length && (open || !options.submit))
          throw new EngageError('invalid', errors[0]!.text, errors[0]!.field, errors);

        // Anyone coming back without an account needs a link to do so; a resident has their account.
        const newResume = !who.residentId && !options.submit ? token() : null;
        const fields = {
          answers,
          equality,
          email: email || null,
          ...(newResume ? { resume_hash: sha256(newResume) } : {}),
        };
        let row: store.ResponseRow;
        if (existing) {
          row = await store.updateResponse(tx, existing.id, {
            ...fields,
            ...(existing.resident_id || !who.residentId ? {} : { resident_id: who.residentId }),
          });
        } else {
          row = await store.insertResponse(tx, {
            reference: await freshReference(tx, 'engage_responses', 'RS'),
            consultation_id: c.id,
            status: 'draft',
            channel: 'web',
            resident_id: who.residentId,
            browser_hash: hashes.browserHash,
            resume_hash: newResume ? sha256(newResume) : null,
            entered_by: null,
            submitted_at: null,
            ...fields,
          });
        }
        // Keep what they wrote (as an uncounted draft); the refusal is raised once it is stored.
        if (!open) return { reference: row.reference, resumeToken: newResume, status: 'late' as const };
        if (!options.submit) {
          await recordAudit(tx, {
            actor: { type: 'resident', id: who.residentId },
            action: 'engage.response_saved',
            subjectType: 'engage_response',
            subjectId: row.id,
            detail: { consultation: c.reference, reference: row.reference },
          });
          return { reference: row.reference, resumeToken: newResume, status: 'draft' as const };
        }
        // The browser that sends it is the one that may not send another.
        const done = await store.updateResponse(tx, row.id, {
          status: 'submitted',
          submitted_at: new Date(),
          resume_hash: null,
          ...(hashes.browserHash ? { browser_hash: hashes.browserHash } : {}),
        });
        await audited(
          tx,
          { type: 'resident', id: who.residentId },
          'engage.consultation_response_received',
          { type: 'engage_consultation', id: c.id },
          { consultation: c.reference, response: done.reference, channel: 'web', signedIn: !!who.residentId },
        );
        return { reference: done.reference, resumeToken: null, status: 'submitted' as const };
      });
      if (result.status === 'late') {
        const c = await store.consultationBySlug(db, slug);
        throw new EngageError(
          'closed',
          c?.closes_at && c.closes_at <= new Date()
            ? `This consultation closed on ${formatLondon(c.closes_at, true)}. Your answers were kept but not counted.`
            : 'This consultation is not open for responses yet. Your answers were kept but not counted.',
        );
      }
      return { ...result, status: result.status };
    },

    /** Emails a "come back later" link to the address the respondent gives. */
    async emailResumeLink(slug: string, resumeToken: string, email: string) {
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationBySlug(tx, slug);
        const response = await store.responseByResume(tx, sha256(resumeToken));
        if (!c || !response || response.consultation_id !== c.id || response.status !== 'draft')
          throw new EngageError('not_found', 'That link has expired. Start your response again.');
        await notify.send(
          tx,
          { channel: 'email', recipient: email },
          {
            template: 'engage-resume',
            personalisation: {
              title: c.title,
              closes: formatLondon(c.closes_at, true),
              link: url(`/consultations/${c.slug}/resume/${resumeToken}`),
            },
          },
        );
      });
    },

    /** Staff enter a response collected in person, by phone or on paper; the channel is recorded. */
    async enterOnBehalf(
      actor: Actor,
      reference: string,
      channel: Exclude<ResponseChannel, 'web'>,
      input: Record<string, unknown>,
    ) {
      return db.transaction().execute(async (tx) => {
        const found = await store.consultationByReference(tx, reference);
        if (!found) throw new EngageError('not_found', 'No such consultation');
        const c = await store.lockConsultation(tx, found.id);
        if (c.status === 'draft')
          throw new EngageError('state', 'Publish the consultation before entering responses');
        if (c.outcome_published_at)
          throw new EngageError('state', 'The outcome is published: no more responses can be added');
        const questions = await store.questionsOf(tx, c.id);
        const { answers, errors } = checkAnswers(questions, input, true);
        const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
        if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
          errors.push({
            field: 'email',
            text: 'Enter an email address in the correct format, like name@example.com',
          });
        if (errors.length) throw new EngageError('invalid', errors[0]!.text, errors[0]!.field, errors);
        const row = await store.insertResponse(tx, {
          reference: await freshReference(tx, 'engage_responses', 'RS'),
          consultation_id: c.id,
          status: 'submitted',
          channel,
          resident_id: null,
          browser_hash: null,
          resume_hash: null,
          answers,
          equality: c.equality_monitoring ? cleanEquality(input) : {},
          email: email || null,
          entered_by: actor.id,
          submitted_at: new Date(),
        });
        await audited(
          tx,
          actor,
          'engage.consultation_response_received',
          { type: 'engage_consultation', id: c.id },
          {
            consultation: c.reference,
            response: row.reference,
            channel,
            signedIn: false,
          },
        );
        return row;
      });
    },
  };

  const results = {
    /** Counts and charts for every question, free-text answers with their themes, channels, equality. */
    async of(reference: string) {
      const c = await store.consultationByReference(db, reference);
      if (!c) return undefined;
      const [questions, rows, themes, tags] = await Promise.all([
        store.questionsOf(db, c.id),
        store.submittedResponses(db, c.id),
        store.themesOf(db, c.id),
        store.themeTags(db, c.id),
      ]);
      const tagsByResponse = new Map<string, Set<string>>();
      for (const t of tags) {
        const set = tagsByResponse.get(t.response_id) ?? new Set();
        set.add(t.theme_id);
        tagsByResponse.set(t.response_id, set);
      }
      const perQuestion = questions.map((q, index) => {
        const answered = rows.filter((r) => r.answers[q.id] !== undefined);
        if (q.kind === 'text') {
          const qThemes = themes.filter((t) => t.question_id === q.id);
          const counts = qThemes.map((t) => ({
            label: t.name,
            count: answered.filter((r) => tagsByResponse.get(r.id)?.has(t.id)).length,
          }));
          return {
            question: q,
            number: index + 1,
            answered: answered.length,
            chart: counts.length
              ? barChart(
                  `chart-${index + 1}`,
                  `Themes in answers to question ${index + 1}`,
                  answered.length,
                  counts,
                )
              : null,
            themes: qThemes,
            texts: answered.map((r) => ({
              responseId: r.id,
              reference: r.reference,
              text: String(r.answers[q.id]),
              themeIds: [...(tagsByResponse.get(r.id) ?? [])],
            })),
          };
        }
        const counts = q.options.map((option) => ({
          label: option,
          count: answered.filter((r) => [r.answers[q.id]].flat().includes(option)).length,
        }));
        return {
          question: q,
          number: index + 1,
          answered: answered.length,
          chart: barChart(
            `chart-${index + 1}`,
            `Answers to question ${index + 1}: ${q.text}`,
            answered.length,
            counts,
          ),
          themes: [],
          texts: [],
        };
      });
      const channels = (Object.keys(channelLabels) as ResponseChannel[])
        .map((ch) => ({ label: channelLabels[ch], count: rows.filter((r) => r.channel === ch).length }))
        .filter((x) => x.count > 0);
      const equality = c.equality_monitoring
        ? equalityQuestions.map((eq) => {
            const counts = eq.options.map((o) => ({
              label: o,
              count: rows.filter((r) => r.equality[eq.key] === o).length,
            }));
            return {
              key: eq.key,
              text: eq.text,
              chart: barChart(`chart-eq-${eq.key}`, eq.text, rows.length, counts),
              notAnswered: rows.filter((r) => !r.equality[eq.key]).length,
            };
          })
        : [];
      return {
        consultation: c,
        total: rows.length,
        perQuestion,
        channels: barChart('chart-channels', 'Responses by channel', rows.length, channels),
        equality,
      };
    },

    async addTheme(actor: Actor, reference: string, questionId: string, name: string) {
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationByReference(tx, reference);
        if (!c) throw new EngageError('not_found', 'No such consultation');
        const q = (await store.questionsOf(tx, c.id)).find((x) => x.id === questionId && x.kind === 'text');
        if (!q) throw new EngageError('not_found', 'No such free-text question');
        const theme = await store.insertTheme(tx, { consultation_id: c.id, question_id: q.id, name });
        if (!theme)
          throw new EngageError('invalid', `There is already a theme called "${name}"`, `theme-${q.id}`);
        await audited(
          tx,
          actor,
          'engage.theme_added',
          { type: 'engage_consultation', id: c.id },
          {
            reference,
            theme: name,
          },
          false,
        );
        return theme;
      });
    },

    async tag(actor: Actor, reference: string, responseId: string, questionId: string, themeIds: string[]) {
      return db.transaction().execute(async (tx) => {
        const c = await store.consultationByReference(tx, reference);
        if (!c) throw new EngageError('not_found', 'No such consultation');
        const known = new Set(
          (await store.themesOf(tx, c.id)).filter((t) => t.question_id === questionId).map((t) => t.id),
        );
        const response = (await store.submittedResponses(tx, c.id)).find((r) => r.id === responseId);
        if (!response) throw new EngageError('not_found', 'No such response');
        await store.setResponseThemes(
          tx,
          responseId,
          questionId,
          themeIds.filter((id) => known.has(id)),
        );
        await audited(
          tx,
          actor,
          'engage.response_tagged',
          { type: 'engage_response', id: responseId },
          {
            reference,
            response: response.reference,
            themes: themeIds.length,
          },
          false,
        );
      });
    },

    /** Every response as CSV: one row each, one column per question, equality and themes at the end. */
    async csv(reference: string): Promise<string | undefined> {
      const c = await store.consultationByReference(db, reference);
      if (!c) return undefined;
      const [questions, rows, themes, tags] = await Promise.all([
        store.questionsOf(db, c.id),
        store.submittedResponses(db, c.id),
        store.themesOf(db, c.id),
        store.themeTags(db, c.id),
      ]);
      const themeName = new Map(themes.map((t) => [t.id, t.name]));
      const header = [
        'Reference',
        'Channel',
        'Received',
        ...questions.map((q, i) => `Q${i + 1} ${q.text}`),
        ...(c.equality_monitoring ? equalityQuestions.map((e) => e.text) : []),
        'Themes',
      ];
      const lines = [header];
      for (const r of rows) {
        lines.push([
          r.reference,
          channelLabels[r.channel],
          r.submitted_at ? r.submitted_at.toISOString() : '',
          ...questions.map((q) => [r.answers[q.id] ?? ''].flat().join('; ')),
          ...(c.equality_monitoring ? equalityQuestions.map((e) => r.equality[e.key] ?? '') : []),
          tags
            .filter((t) => t.response_id === r.id)
            .map((t) => themeName.get(t.theme_id) ?? '')
            .sort()
            .join('; '),
        ]);
      }
      return lines.map((cells) => cells.map(csvCell).join(',')).join('\r\n') + '\r\n';
    },

    /**
     * Publishes "you said, we did": what people said, what the council decided and did, the
     * decision it links to and any service that changed. Everyone who responded and left an
     * address (or has an account) is told.
     */
    async publishOutcome(
      actor: Actor,
      reference: string,
      input: {
        youSaid: string;
        weDid: string;
        decisionTitle: string;
        decisionUrl: string;
        changedServiceSlug: string | null;
      },
    ) {
      if (input.changedServiceSlug && !(await deps.catalogue.liveService(input.changedServiceSlug)))
        throw new EngageError('invalid', 'Choose a service from the list', 'changedServiceSlug');
      return db.transaction().execute(async (tx) => {
        const found = await store.consultationByReference(tx, reference);
        if (!found) throw new EngageError('not_found', 'No such consultation');
        const c = await store.lockConsultation(tx, found.id);
        if (c.status === 'draft' || isOpen(c))
          throw new EngageError('state', 'Close the consultation before publishing what you did');
        const first = !c.outcome_published_at;
        const row = await store.updateConsultation(tx, c.id, {
          status: 'closed',
          closed_at: c.closed_at ?? new Date(),
          you_said: input.youSaid,
          we_did: input.weDid,
          decision_title: input.decisionTitle,
          decision_url: input.decisionUrl,
          changed_service_slug: input.changedServiceSlug,
          outcome_published_at: c.outcome_published_at ?? new Date(),
        });
        let told = 0;
        if (first) {
          const message = {
            template: 'engage-outcome',
            personalisation: { title: c.title, link: url(`/consultations/${c.slug}/outcome`) },
          };
          const residents = new Set<string>();
          const emails = new Set<string>();
          for (const contact of await store.respondentContacts(tx, c.id)) {
            if (contact.resident_id) residents.add(contact.resident_id);
            else if (contact.email) emails.add(contact.email);
          }
          for (const id of residents) told += (await notify.toResident(tx, id, message)).length > 0 ? 1 : 0;
          for (const email of emails) {
            await notify.send(tx, { channel: 'email', recipient: email }, message);
            told += 1;
          }
        }
        await audited(
          tx,
          actor,
          first ? 'engage.outcome_published' : 'engage.outcome_updated',
          {
            type: 'engage_consultation',
            id: c.id,
          },
          {
            reference,
            decision: input.decisionTitle,
            changedService: input.changedServiceSlug,
            told,
          },
        );
        platform.pageCache.clear();
        return { consultation: row, told };
      });
    },
  };

  const places = {
    list: () => store.listPlaces(db),
    bySlug: (slug: string) => store.placeBySlug(db, slug),
    openingHoursRows,

    /** Where a postcode is, from the gazetteer; refuses one it does not know. */
    locate(input: string) {
      const postcode = normalisePostcode(input.trim());
      if (!postcode) throw new EngageError('invalid', 'Enter a postcode', 'postcode');
      if (!postcodePattern.test(postcode))
        throw new EngageError('invalid', 'Enter a real postcode, like KF1 2AB', 'postcode');
      const address = deps.catalogue.gazetteer.findAddresses(postcode)[0];
      const street = address && deps.catalogue.gazetteer.street(address.usrn);
      if (!street)
        throw new EngageError(
          'unknown_postcode',
          `We cannot find ${postcode} in Kilnford. Check the postcode, or search by a Kilnford postcode near you`,
          'postcode',
        );
      return { postcode, lat: street.lat, lng: street.lng };
    },

    /** Places near a postcode offering what the person needs, nearest first. */
    async near(postcode: string, needs: PlaceOffer[], now = new Date()) {
      const from = this.locate(postcode);
      const all = await store.listPlaces(db);
      const matches = all
        .filter((p) => needs.every((n) => p.offers.includes(n)))
        .map((p) => ({
          ...p,
          miles: Math.round(milesBetween(from, p) * 10) / 10,
          openNow: isOpenAt(p.opening_hours, now),
          hours: openingHoursRows(p.opening_hours),
          offerTexts: p.offers.map((o) => offerLabels[o]),
        }))
        .sort((a, b) => a.miles - b.miles);
      return { from, places: matches };
    },
  };

  async function requestCase(
    actor: Actor,
    service: { slug: string; title: string; teamCode: string; days: number },
    input: {
      residentId: string | null;
      channel: Channel;
      answers: Record<string, unknown>;
      summary: string;
      email: string | null;
      idempotencyKey: string;
    },
  ) {
    return db.transaction().execute(async (tx) => {
      const created = await deps.cases.createCase(tx, {
        service: {
          slug: service.slug,
          title: service.title,
          version: 1,
          teamCode: service.teamCode,
          sla: { value: service.days, unit: 'working_days' },
        },
        residentId: input.residentId,
        channel: input.channel,
        answers: input.answers,
        summary: input.summary,
        idempotencyKey: input.idempotencyKey,
        actor,
        contactEmail: input.email,
      });
      return created;
    });
  }

  const help = {
    /** "Help me do this online": an assisted-digital case for the libraries team or a volunteer. */
    async requestHelp(
      actor: Actor,
      input: {
        residentId: string | null;
        name: string;
        email: string | null;
        phone: string | null;
        task: string;
        contactBy: string;
        placeSlug: string | null;
        idempotencyKey: string;
      },
    ) {
      const place = input.placeSlug ? await store.placeBySlug(db, input.placeSlug) : undefined;
      return requestCase(
        actor,
        { slug: 'help-me-do-this-online', title: 'Help me do this online', teamCode: 'libraries', days: 3 },
        {
          residentId: input.residentId,
          channel: 'web',
          email: input.email,
          idempotencyKey: input.idempotencyKey,
          summary: `${input.name}: ${input.task}`.slice(0, 300),
          answers: {
            name: { question: 'Name', answer: input.name },
            task: { question: 'What do you need to do online?', answer: input.task },
            contactBy: { question: 'How should we contact you?', answer: input.contactBy },
            ...(input.email ? { email: { question: 'Email', answer: input.email } } : {}),
            ...(input.phone ? { phone: { question: 'Phone', answer: input.phone } } : {}),
            ...(place ? { place: { question: 'Preferred place', answer: place.name } } : {}),
          },
        },
      );
    },

    /** An enquiry to lease dark fibre from the municipal network, handled as a case by the digital team. */
    async darkFibreEnquiry(
      actor: Actor,
      input: {
        organisation: string;
        name: string;
        email: string;
        phone: string | null;
        route: string;
        purpose: string;
        idempotencyKey: string;
      },
    ) {
      return requestCase(
        actor,
        {
          slug: 'dark-fibre-lease-enquiry',
          title: 'Dark fibre lease enquiry',
          teamCode: 'digital',
          days: 10,
        },
        {
          residentId: null,
          channel: 'web',
          email: input.email,
          idempotencyKey: input.idempotencyKey,
          summary: `${input.organisation}: ${input.route}`.slice(0, 300),
          answers: {
            organisation: { question: 'Organisation', answer: input.organisation },
            name: { question: 'Contact name', answer: input.name },
            email: { question: 'Email', answer: input.email },
            ...(input.phone ? { phone: { question: 'Phone', answer: input.phone } } : {}),
            route: { question: 'Route or sites to connect', answer: input.route },
            purpose: { question: 'What the fibre is for', answer: input.purpose },
          },
        },
      );
    },
  };

  const devices = {
    list: () => store.listDevices(db),
    loans: (filter: { open?: boolean } = {}) => store.listLoans(db, filter),
    loan: (reference: string) => store.loanByReference(db, reference),

    async add(actor: Actor, input: { assetTag: string; kind: DeviceKind; model: string; notes: string }) {
      return db.transaction().execute(async (tx) => {
        const row = await store.insertDevice(tx, {
          asset_tag: input.assetTag,
          kind: input.kind,
          model: input.model,
          notes: input.notes,
        });
        if (!row)
          throw new EngageError('invalid', 'A device with this asset tag is already in stock', 'assetTag');
        await audited(
          tx,
          actor,
          'engage.device_added',
          { type: 'engage_device', id: row.id },
          {
            assetTag: row.asset_tag,
            kind: row.kind,
          },
        );
        return row;
      });
    },

    /** Lends an available device to an eligible resident for LOAN_DAYS days. */
    async lend(
      actor: Actor,
      input: {
        assetTag: string;
        borrowerName: string;
        borrowerEmail: string | null;
        borrowerPhone: string | null;
        residentId: string | null;
        eligibility: string;
        days?: number;
      },
      now = new Date(),
    ) {
      if (!eligibilityReasons.some((r) => r.value === input.eligibility))
        throw new EngageError('invalid', 'Select why the borrower is eligible', 'eligibility');
      if (!input.borrowerEmail && !input.borrowerPhone)
        throw new EngageError(
          'invalid',
          'Enter an email address or a phone number so we can remind them',
          'borrowerEmail',
        );
      return db.transaction().execute(async (tx) => {
        const device = await store.deviceByTag(tx, input.assetTag);
        if (!device) throw new EngageError('not_found', 'No device with that asset tag', 'assetTag');
        if (device.status !== 'available')
          throw new EngageError(
            'unavailable',
            `${device.asset_tag} is not available to lend (${device.status.replace('_', ' ')})`,
            'assetTag',
          );
        const loan = await store.insertLoan(tx, {
          reference: await freshReference(tx, 'engage_loans', 'LN'),
          device_id: device.id,
          resident_id: input.residentId,
          borrower_name: input.borrowerName,
          borrower_email: input.borrowerEmail,
          borrower_phone: input.borrowerPhone,
          eligibility: input.eligibility,
          lent_at: now,
          due_at: new Date(now.getTime() + (input.days ?? LOAN_DAYS) * 86_400_000),
          lent_by: actor.id!,
        });
        await store.setDeviceStatus(tx, device.id, 'on_loan');
        await audited(
          tx,
          actor,
          'engage.device_loaned',
          { type: 'engage_device', id: device.id },
          {
            loan: loan.reference,
            assetTag: device.asset_tag,
            eligibility: input.eligibility,
            dueAt: loan.due_at.toISOString(),
          },
        );
        return loan;
      });
    },

    /** Takes a device back; a damaged one goes for repair instead of back on the shelf. */
    async return(actor: Actor, reference: string, condition: 'good' | 'damaged', note: string) {
      return db.transaction().execute(async (tx) => {
        const loan = await store.loanByReference(tx, reference, true);
        if (!loan) throw new EngageError('not_found', 'No such loan');
        if (loan.returned_at) throw new EngageError('state', 'This device has already been returned');
        const row = await store.updateLoan(tx, loan.id, {
          returned_at: new Date(),
          return_condition: note ? `${condition}: ${note}` : condition,
          returned_to: actor.id,
        });
        await store.setDeviceStatus(tx, loan.device_id, condition === 'good' ? 'available' : 'repair');
        await audited(
          tx,
          actor,
          'engage.device_returned',
          { type: 'engage_device', id: loan.device_id },
          {
            loan: loan.reference,
            assetTag: loan.asset_tag,
            condition,
            late: loan.due_at < new Date(),
          },
        );
        return row;
      });
    },

    /** The overdue-loan job: one reminder per overdue loan every three days. */
    async remindOverdue(now = new Date()) {
      return db.transaction().execute(async (tx) => {
        const loans = await store.overdueLoans(tx, now, REMINDER_GAP_HOURS);
        for (const loan of loans) {
          const message = {
            template: 'engage-loan-overdue',
            personalisation: {
              device: `${loan.kind} (${loan.asset_tag})`,
              reference: loan.reference,
              due: formatLondon(loan.due_at, false),
            },
          };
          if (loan.borrower_email)
            await notify.send(
              tx,
              { channel: 'email', recipient: loan.borrower_email, residentId: loan.resident_id },
              message,
            );
          else if (loan.borrower_phone)
            await notify.send(
              tx,
              { channel: 'sms', recipient: loan.borrower_phone, residentId: loan.resident_id },
              message,
            );
          await store.updateLoan(tx, loan.id, {
            reminders_sent: loan.reminders_sent + 1,
            last_reminded_at: now,
          });
          await audited(
            tx,
            { type: 'system', id: null },
            'engage.loan_reminded',
            { type: 'engage_device', id: loan.device_id },
            {
              loan: loan.reference,
              reminder: loan.reminders_sent + 1,
            },
            false,
          );
        }
        return loans.length;
      });
    },
  };

  const connectivity = {
    sites: () => store.listSites(db),

    /** Share of council buildings (and of partner sites) on full fibre: the measure insights reads. */
    async measures() {
      const counts = await store.connectivityCounts(db);
      const sum = (filter: (c: (typeof counts)[number]) => boolean) =>
        counts.filter(filter).reduce((n, c) => n + c.n, 0);
      const councilTotal = sum((c) => c.council_owned);
      const councilConnected = sum((c) => c.council_owned && c.fibre_status === 'connected');
      const partnerKinds: SiteKind[] = ['school', 'care_home', 'gp_surgery'];
      return {
        councilBuildings: councilTotal,
        councilConnected,
        councilShare: councilTotal ? Math.round((councilConnected / councilTotal) * 1000) / 10 : 0,
        network: partnerKinds.map((kind) => ({
          kind,
          label: siteKindLabels[kind],
          total: sum((c) => c.kind === kind),
          connected: sum((c) => c.kind === kind && c.fibre_status === 'connected'),
        })),
      };
    },

    /** Council buildings and the day each council building was connected: insights charts the share over time. */
    async fibreDates(dbOrTx: Db = db) {
      const sites = await store.listSites(dbOrTx);
      const council = sites.filter((site) => site.council_owned);
      return {
        councilBuildings: council.length,
        connectedOn: council
          .filter((site) => site.fibre_status === 'connected' && site.connected_date)
          .map((site) => site.connected_date!),
      };
    },

    /** Records a site's fibre status; the event carries the new share so insights can chart it. */
    async update(
      actor: Actor,
      code: string,
      input: {
        status: FibreStatus;
        plannedDate: string | null;
        connectedDate: string | null;
        bandwidthMbps: number | null;
      },
    ) {
      if (input.status === 'connected' && !input.connectedDate)
        throw new EngageError('invalid', 'Enter the date it was connected', 'connectedDate');
      if (input.status === 'planned' && !input.plannedDate)
        throw new EngageError('invalid', 'Enter the date it is planned for', 'plannedDate');
      const result = await db.transaction().execute(async (tx) => {
        const site = await store.siteByCode(tx, code);
        if (!site) throw new EngageError('not_found', 'No such site');
        const row = await store.updateSite(tx, site.id, {
          fibre_status: input.status,
          planned_date: input.plannedDate,
          connected_date: input.status === 'connected' ? input.connectedDate : null,
          bandwidth_mbps: input.bandwidthMbps,
        });
        const counts = await store.connectivityCounts(tx);
        const total = counts.filter((c) => c.council_owned).reduce((n, c) => n + c.n, 0);
        const connected = counts
          .filter((c) => c.council_owned && c.fibre_status === 'connected')
          .reduce((n, c) => n + c.n, 0);
        await audited(
          tx,
          actor,
          'engage.building_connectivity_changed',
          { type: 'engage_site', id: site.id },
          {
            code: site.code,
            kind: site.kind,
            councilOwned: site.council_owned,
            from: site.fibre_status,
            to: input.status,
            connectedDate: row.connected_date,
            councilBuildings: total,
            councilConnected: connected,
          },
        );
        return row;
      });
      platform.pageCache.clear();
      return result;
    },
  };

  /** Closes consultations past their date and reminds borrowers of overdue devices. */
  async function runHousekeeping(now = new Date()) {
    for (const c of await store.consultationsPastClosing(db, now)) {
      await consultations.close({ type: 'system', id: null }, c.reference).catch((error) => {
        if (!(error instanceof EngageError)) throw error;
      });
    }
    await devices.remindOverdue(now);
  }

  /** A live service of the catalogue a consultation changed, for the "you said, we did" link. */
  async function changedService(slug: string) {
    const live = await deps.catalogue.liveService(slug);
    return live ? { slug, title: live.definition.title } : undefined;
  }
  /** The catalogue's live services, to choose the one a consultation changed. */
  async function serviceOptions() {
    return (await deps.catalogue.liveServices()).map((s) => ({
      slug: s.definition.slug,
      title: s.definition.title,
    }));
  }

  return {
    consultations,
    responses,
    results,
    places,
    help,
    devices,
    connectivity,
    runHousekeeping,
    changedService,
    serviceOptions,
  };
}

export type EngageService = ReturnType<typeof createEngageService>;

// Spreadsheets run a cell that starts with = + - @ as a formula: prefix it so it stays text.
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
