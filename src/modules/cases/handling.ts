import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { can } from '../../platform/auth/permissions.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { statusLabels } from './labels.ts';
import type { CaseStatus } from './schema.ts';
import * as store from './store.ts';

/** The case changed after the form was opened: the change is refused so nobody's work is overwritten. */
export class CaseChangedError extends Error {
  constructor() {
    super('This case changed since you opened it. Check the latest details and try again.');
  }
}

/** A change the rules do not allow; `field` names the form field at fault. */
export class CaseRuleError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export class CaseNotFoundError extends Error {
  constructor() {
    super('There is no case with that reference');
  }
}

interface Change {
  caseId: string;
  actor: Actor;
  /** The version the person saw (updated_at in milliseconds); omit for changes made by the system. */
  expectedVersion?: number;
}

const finished: CaseStatus[] = ['resolved', 'closed'];

/** What a resident may read about their case: status changes and public updates, in plain words. */
export interface PublicHistoryItem {
  at: Date;
  kind: 'status' | 'update' | 'received';
  title: string;
  text: string | null;
  status: CaseStatus | null;
}

const residentStatusWords: Record<CaseStatus, string> = {
  received: 'We have received your request',
  in_progress: 'We are working on your request',
  waiting_for_customer: 'We need more information from you',
  resolved: 'We have dealt with your request',
  closed: 'Your request is closed',
};

/** Assigning, status changes, notes and public updates: each locked, checked, recorded, audited and published. */
export function createCaseHandling(platform: Platform) {
  const { events, notify } = platform;

  async function begin(tx: Db, change: Change) {
    const row = await store.lockCase(tx, change.caseId);
    if (!row) throw new CaseNotFoundError();
    if (change.expectedVersion !== undefined && change.expectedVersion !== row.version)
      throw new CaseChangedError();
    return row;
  }

  async function record(
    tx: Db,
    c: store.CaseRow,
    actor: Actor,
    type: string,
    update: { kind: store.CaseUpdateRow['kind']; body: string | null; detail: Record<string, unknown> },
  ) {
    await store.insertCaseUpdate(tx, {
      case_id: c.id,
      kind: update.kind,
      body: update.body,
      detail: update.detail,
      author_type: actor.type,
      author_id: actor.id,
    });
    // A status change carries its reason (the why); notes and public updates are recorded by
    // length only, so their text stays in the case and out of the event stream and audit log.
    const detail =
      update.kind === 'status_change'
        ? { reference: c.reference, ...update.detail, reason: update.body }
        : update.body === null
          ? { reference: c.reference, ...update.detail }
          : { reference: c.reference, ...update.detail, length: update.body.length };
    await events.publish(tx, { type, subjectType: 'case', subjectId: c.id, actor, payload: detail });
    await recordAudit(tx, { actor, action: type, subjectType: 'case', subjectId: c.id, detail });
  }

  const handling = {
    /** Assigns a case to a colleague who can work on cases, or to nobody (assigneeId null). */
    async assign(tx: Db, input: Change & { assigneeId: string | null }): Promise<store.CaseRow> {
      const c = await begin(tx, input);
      let assigneeName: string | null = null;
      if (input.assigneeId) {
        const assignee = await store.findStaff(tx, input.assigneeId);
        if (!assignee || !can(assignee.role, 'cases:work'))
          throw new CaseRuleError('Choose a colleague who can work on cases', 'assignee');
        assigneeName = assignee.name;
      }
      if (c.assigned_to === input.assigneeId)
        throw new CaseRuleError(
          assigneeName ? `The case is already assigned to ${assigneeName}` : 'The case is already unassigned',
          'assignee',
        );
      const updated = await store.updateCase(tx, c.id, { assigned_to: input.assigneeId });
      await record(tx, c, input.actor, 'case.assigned', {
        kind: 'assignment',
        body: null,
        detail: { from: c.assigned_to, to: input.assigneeId, toName: assigneeName },
      });
      return updated;
    },

    /** Moves a case to a status; resolving, closing and reopening need a reason. */
    async changeStatus(
      tx: Db,
      input: Change & { status: CaseStatus; reason?: string | null },
    ): Promise<store.CaseRow> {
      const c = await begin(tx, input);
      const reason = input.reason?.trim() || null;
      if (c.status === input.status)
        throw new CaseRuleError(`The case is already ${statusLabels[c.status].toLowerCase()}`, 'status');
      const reopening = finished.includes(c.status) && !finished.includes(input.status);
      if (!reason && (finished.includes(input.status) || reopening))
        throw new CaseRuleError(
          reopening
            ? 'Enter a reason for reopening the case'
            : `Enter a reason for ${input.status === 'resolved' ? 'resolving' : 'closing'} the case`,
          'reason',
        );
      if (reason && reason.length > 1000)
        throw new CaseRuleError('The reason must be 1,000 characters or fewer', 'reason');
      const now = new Date();
      const patch: store.CasePatch = { status: input.status, status_reason: reason };
      if (input.status === 'resolved') patch.resolved_at = now;
      if (input.status === 'closed') patch.closed_at = now;
      if (reopening) Object.assign(patch, { resolved_at: null, closed_at: null });
      const updated = await store.updateCase(tx, c.id, patch);
      await record(tx, c, input.actor, 'case.status_changed', {
        kind: 'status_change',
        body: reason,
        detail: { from: c.status, to: input.status, reopened: reopening },
      });
      return updated;
    },

    /** An internal note: staff read it, the resident never does. */
    async addNote(tx: Db, input: Change & { body: string }): Promise<store.CaseRow> {
      const c = await begin(tx, input);
      const updated = await store.updateCase(tx, c.id, {});
      await record(tx, c, input.actor, 'case.note_added', { kind: 'note', body: input.body, detail: {} });
      return updated;
    },

    /** Text the resident reads in their account and receives by email or text message. */
    async postPublicUpdate(
      tx: Db,
      input: Change & { message: string },
    ): Promise<{ case: store.CaseRow; notified: number }> {
      const c = await begin(tx, input);
      const updated = await store.updateCase(tx, c.id, {});
      const message = {
        template: 'case-updated',
        personalisation: {
          reference: c.reference,
          service: c.service_title,
          update: input.message,
          status: statusLabels[c.status],
          link: `${platform.config.PUBLIC_URL}/account/requests/${c.reference}`,
        },
      };
      let notified = 0;
      if (c.resident_id) notified = (await notify.toResident(tx, c.resident_id, message)).length;
      else {
        const email = contactEmailOf(c);
        if (email) {
          await notify.send(tx, { channel: 'email', recipient: email }, message);
          notified = 1;
        }
      }
      await record(tx, c, input.actor, 'case.public_update_posted', {
        kind: 'public_update',
        body: input.message,
        detail: { notified },
      });
      return { case: updated, notified };
    },

    /** Status changes and public updates of a case, in plain words: what the resident may see. */
    async listPublicHistory(db: Db, caseId: string): Promise<PublicHistoryItem[]> {
      const updates = await store.listCaseUpdates(db, caseId, ['created', 'status_change', 'public_update']);
      return updates.map((u): PublicHistoryItem => {
        const detail = (u.detail ?? {}) as { to?: CaseStatus; reopened?: boolean };
        if (u.kind === 'created')
          return {
            at: u.created_at,
            kind: 'received',
            title: 'Request received',
            text: null,
            status: 'received',
          };
        if (u.kind === 'status_change' && detail.to)
          return {
            at: u.created_at,
            kind: 'status',
            title: detail.reopened ? 'We have reopened your request' : residentStatusWords[detail.to],
            text: u.body,
            status: detail.to,
          };
        return {
          at: u.created_at,
          kind: 'update',
          title: 'Update from the council',
          text: u.body,
          status: null,
        };
      });
    },

    /** Assigns each case in turn; each is audited on its own. Returns what was done and what was not. */
    async bulkAssign(tx: Db, input: { references: string[]; assigneeId: string; actor: Actor }) {
      return each(tx, input.references, (c) =>
        handling.assign(tx, { caseId: c.id, assigneeId: input.assigneeId, actor: input.actor }),
      );
    },

    /** Closes each case with the same reason; closed cases are skipped. */
    async bulkClose(tx: Db, input: { references: string[]; reason: string; actor: Actor }) {
      return each(tx, input.references, (c) =>
        handling.changeStatus(tx, {
          caseId: c.id,
          status: 'closed',
          reason: input.reason,
          actor: input.actor,
        }),
      );
    },
  };
  return handling;
}

async function each(tx: Db, references: string[], act: (c: store.CaseRow) => Promise<unknown>) {
  const cases = await store.findCasesByReferences(tx, [...new Set(references)]);
  const done: string[] = [];
  const skipped: Array<{ reference: string; why: string }> = [];
  for (const reference of references.filter((r, i) => references.indexOf(r) === i)) {
    const c = cases.find((x) => x.reference === reference);
    if (!c) {
      skipped.push({ reference, why: 'not found' });
      continue;
    }
    try {
      await act(c);
      done.push(reference);
    } catch (error) {
      if (!(error instanceof CaseRuleError)) throw error;
      skipped.push({ reference, why: error.message });
    }
  }
  return { done, skipped };
}

/** The email an anonymous reporter gave: stored with the case, or found among the answers. */
export function contactEmailOf(c: Pick<store.CaseRow, 'contact_email' | 'answers'>): string | null {
  if (c.contact_email) return c.contact_email;
  const answers = (c.answers ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(answers)) {
    const answer =
      value && typeof value === 'object' && 'answer' in value ? (value as { answer: unknown }).answer : value;
    if (/email/i.test(key) && typeof answer === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(answer.trim()))
      return answer.trim().toLowerCase();
  }
  return null;
}
