import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { collectTimeline, type TimelineItem } from './customer-timeline.ts';
import { CaseRuleError } from './handling.ts';
import { assistedChannelLabels, statusLabels, type AssistedChannel } from './labels.ts';
import { slaState } from './sla.ts';
import * as store from './store.ts';

export interface NewResident {
  name: string;
  email: string | null;
  phone: string | null;
  address: string | null;
}

/** The customer view: residents found by what a caller can tell us, and everything about one of them. */
export function createCustomers(platform: Platform) {
  const { events } = platform;

  return {
    /** Residents by name, email, phone, customer reference or case reference. */
    searchResidents: (db: Db, query: string) => store.searchResidents(db, query),
    findResidentByReference: (db: Db, reference: string) => store.findResidentByReference(db, reference),
    findResident: (db: Db, id: string) => store.findResident(db, id),

    /** One resident's details, cases, messages and a single timeline built from every module's sources. */
    async customerView(db: Db, reference: string) {
      const resident = await store.findResidentByReference(db, reference);
      if (!resident) return undefined;
      const cases = (await store.listCasesForResident(db, resident.id)).map((c) => ({
        ...c,
        sla: slaState(c),
      }));
      const messages = await store.listNotificationsForResident(db, resident.id);
      const own: TimelineItem[] = [];
      for (const c of cases) {
        own.push({
          at: c.created_at,
          title: `Case received: ${c.service_title}`,
          text: `${c.reference}, ${c.summary}`,
          href: `/staff/cases/${c.reference}`,
          source: 'cases',
        });
        for (const u of await store.listCaseUpdates(db, c.id, ['status_change', 'public_update'])) {
          const to = (u.detail as { to?: keyof typeof statusLabels }).to;
          own.push({
            at: u.created_at,
            title:
              u.kind === 'public_update'
                ? `Update sent on ${c.reference}`
                : `${c.reference} ${to ? statusLabels[to].toLowerCase() : 'status changed'}`,
            text: u.body ?? undefined,
            href: `/staff/cases/${c.reference}`,
            source: 'cases',
          });
        }
      }
      for (const m of messages) {
        own.push({
          at: m.created_at,
          title: m.channel === 'sms' ? 'Text message sent' : 'Email sent',
          text: m.subject ?? m.body.slice(0, 120),
          source: 'messages',
        });
      }
      const timeline = await collectTimeline(db, resident.id, own);
      return { resident, cases, messages, timeline: timeline.items, failedSources: timeline.failed };
    },

    /** Records a resident who contacted us without an account (assisted digital). */
    async createResident(tx: Db, input: NewResident & { actor: Actor }): Promise<store.ResidentRow> {
      if (input.email && (await store.findResidentByEmail(tx, input.email)))
        throw new CaseRuleError(
          'A resident with this email address already exists: search for them instead',
          'email',
        );
      const resident = await store.insertResident(tx, {
        reference: await freshReference(tx, 'residents', 'CU'),
        name: input.name,
        email: input.email,
        phone: input.phone,
        address: input.address,
        notify_by_sms: !input.email && Boolean(input.phone),
      });
      await events.publish(tx, {
        type: 'resident.recorded',
        subjectType: 'resident',
        subjectId: resident.id,
        actor: input.actor,
        payload: { reference: resident.reference, by: 'assisted-digital' },
      });
      await recordAudit(tx, {
        actor: input.actor,
        action: 'resident.recorded',
        subjectType: 'resident',
        subjectId: resident.id,
        detail: { reference: resident.reference },
      });
      return resident;
    },

    /** Audits the start or end of acting for a resident, with the channel they contacted us by. */
    async recordActing(
      tx: Db,
      input: { actor: Actor; residentId: string; channel: AssistedChannel | string; started: boolean },
    ) {
      await recordAudit(tx, {
        actor: input.actor,
        action: input.started ? 'assisted.started' : 'assisted.finished',
        subjectType: 'resident',
        subjectId: input.residentId,
        detail: { channel: input.channel },
      });
    },

    channelLabel: (channel: string) =>
      assistedChannelLabels[channel as AssistedChannel] ?? channel.replace(/_/g, ' '),
  };
}
