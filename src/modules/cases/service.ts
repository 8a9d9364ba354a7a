import { formatLondon } from '../../platform/time.ts';
import type { Actor } from '../../platform/actor.ts';
import { shortReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { Channel } from './schema.ts';
import { slaDueAt, slaState, type SlaTarget } from './sla.ts';
import { can } from '../../platform/auth/permissions.ts';
import { createCustomers } from './customers.ts';
import * as store from './store.ts';
import { createCaseHandling } from './handling.ts';

export interface NewCase {
  service: { slug: string; title: string; version: number; teamCode: string; sla: SlaTarget | null };
  residentId: string | null;
  channel: Channel;
  /** The answers as submitted, keyed by question id, with the question text, for the record. */
  answers: Record<string, unknown>;
  /** One line for queues and lists, e.g. the first answers. */
  summary: string;
  /** One per form submission: a refresh or double click returns the same case. */
  idempotencyKey: string;
  actor: Actor;
  /** Email to acknowledge to when the resident has no account (anonymous reports). */
  contactEmail?: string | null;
}

export interface CreatedCase {
  id: string;
  reference: string;
  created: boolean;
  /** When the service standard says the case should be done, if it has one. */
  slaDueAt: Date | null;
}

/** The rules of cases: every submission from every channel becomes one. */
export function createCasesService(platform: Platform) {
  const { events, notify } = platform;

  notify.defineTemplate('case-received', {
    subject: 'We have received your request: ((reference))',
    body:
      'Thank you. We have received your request for ((service)).\n\n' +
      'Your reference is ((reference)).\n\n((next_steps))\n\n' +
      'You can follow it in your account: ((link))',
  });
  notify.defineTemplate('case-updated', {
    subject: 'An update on your request ((reference))',
    body: 'There is an update on your request for ((service)) (((reference))):\n\n((update))\n\nStatus: ((status))\n\n((link))',
  });

  return {
    /**
     * Creates a case with its timeline entry, event, audit entry and acknowledgement in one
     * statement (a resident's channels are read first): atomic inside the caller's transaction or
     * on its own, and one round trip for a submission that needs nothing else.
     */
    async createCase(conn: Db, input: NewCase): Promise<CreatedCase> {
      const now = new Date();
      const slaDue = input.service.sla ? slaDueAt(now, input.service.sla) : null;
      const recipients = input.residentId
        ? await notify.recipientsOf(conn, input.residentId)
        : input.contactEmail
          ? [{ channel: 'email' as const, recipient: input.contactEmail }]
          : [];
      // Built again for each reference tried: the event and the message name it.
      const alongside = async (reference: string): Promise<store.WrittenWithCase[]> => {
        const published = await events.publishSql(
          {
            type: 'case.created',
            subjectType: 'case',
            actor: input.actor,
            payload: {
              reference,
              service: input.service.slug,
              channel: input.channel,
              team: input.service.teamCode,
              slaDueAt: slaDue?.toISOString() ?? null,
            },
          },
          {
            name: 'published',
            from: { cte: 'c', subjectId: 'c.id' },
            audit: {
              actor: input.actor,
              action: 'case.created',
              subjectType: 'case',
              detail: { reference, service: input.service.slug, channel: input.channel },
            },
          },
        );
        const message = {
          template: 'case-received',
          personalisation: {
            reference,
            service: input.service.title,
            next_steps: slaDue
              ? `We aim to deal with it by ${formatLondon(slaDue, false)}.`
              : 'We will be in touch if we need anything else.',
            link: `${platform.config.PUBLIC_URL}/account/requests/${reference}`,
          },
        };
        const messages = recipients.map(
          (to, i) => notify.queueSql(to, message, { name: `message_${i}`, from: 'c' }).ctes,
        );
        return [published, ...messages];
      };
      const { case: row, created } = await store.insertCase(
        conn,
        {
          reference: shortReference('KLN'),
          service_slug: input.service.slug,
          service_title: input.service.title,
          service_version: input.service.version,
          team_code: input.service.teamCode,
          resident_id: input.residentId,
          channel: input.channel,
          answers: input.answers,
          summary: input.summary.slice(0, 300),
          sla_due_at: slaDue,
          idempotency_key: input.idempotencyKey,
          created_by_staff: input.actor.type === 'staff' ? input.actor.id : null,
          contact_email: input.residentId ? null : input.contactEmail?.trim().toLowerCase() || null,
        },
        {
          kind: 'created',
          detail: { channel: input.channel },
          author_type: input.actor.type,
          author_id: input.actor.id,
        },
        () => shortReference('KLN'),
        alongside,
      );
      return { id: row.id, reference: row.reference, created, slaDueAt: row.sla_due_at };
    },

    /** A case by its reference, or undefined. */
    findByReference: (db: Db, reference: string) => store.findCaseByReference(db, reference),
    /** A resident's cases, newest first. */
    listForResident: (db: Db, residentId: string) => store.listCasesForResident(db, residentId),
    /** Every update of a case, internal notes included: staff only. */
    listUpdates: (db: Db, caseId: string) => store.listCaseUpdates(db, caseId),
    /** A case with the version its forms carry, for the case page. */
    findForHandling: (db: Db, reference: string) => store.findCaseWithVersion(db, reference),
    /** One page of a queue, with each case's SLA state. */
    async queue(db: Db, filter: store.QueueFilter, page: { offset: number; limit: number }) {
      const result = await store.listQueue(db, filter, page);
      const now = new Date();
      return { ...result, rows: result.rows.map((c) => ({ ...c, sla: slaState(c, now) })) };
    },
    listTeams: (db: Db) => store.listTeams(db),
    listServices: (db: Db) => store.listServicesInCases(db),
    /** Active colleagues who can work on cases: the people a case may be assigned to. */
    async listCaseWorkers(db: Db) {
      return (await store.listActiveStaff(db)).filter((s) => can(s.role, 'cases:work'));
    },
    ...createCaseHandling(platform),
    ...createCustomers(platform),
  };
}

export type CasesService = ReturnType<typeof createCasesService>;
