import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { listPasskeys, removeAllPasskeys } from '../../platform/auth/passkeys.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { CasesService } from '../cases/index.ts';
import { residentRequests } from './case-history.ts';
import { PersonalDataRegistry } from './personal-data.ts';
import * as store from './store.ts';
import { isMobile, type DetailsInput } from './validation.ts';

/** A form a resident started and has not sent yet. */
export interface DraftSummary {
  slug: string;
  title: string;
  updatedAt: Date;
  /** Where the resident carries on with it. */
  href: string;
}

/** Forms in progress, which the catalogue module keeps. */
export interface DraftsSource {
  listDrafts(db: Db, residentId: string): Promise<DraftSummary[]>;
  findDraftAnswers?(residentId: string, slug: string): Promise<unknown>;
  discardDraftAnswers(residentId: string, slug: string): Promise<unknown>;
}

/** A page another module adds to My account. */
export interface AccountLink {
  href: string;
  text: string;
}

export interface AccountsDependencies {
  cases: CasesService;
  /** Without it My account has no "Forms you have started" section; with it, drafts are shown, downloaded and deleted. */
  drafts?: DraftsSource;
}

/** What My account does for a signed-in resident. Every method acts on that resident only. */
export function createAccountsService(platform: Platform, deps: AccountsDependencies) {
  const { db, events } = platform;
  const requests = residentRequests(deps.cases);
  const drafts = deps.drafts;
  const personalData = new PersonalDataRegistry();

  personalData.add({
    name: 'account',
    export: async (d, residentId) => {
      const r = await store.findResident(d, residentId);
      return r
        ? {
            reference: r.reference,
            name: r.name,
            email: r.email,
            phone: r.phone,
            address: r.address,
            contactBy: { email: r.notify_by_email, textMessage: r.notify_by_sms },
            createdAt: r.created_at,
            updatedAt: r.updated_at,
          }
        : null;
    },
  });
  personalData.add({
    name: 'requests',
    export: async (d, residentId) => {
      const out = [];
      for (const summary of await requests.list(d, residentId)) {
        const found = await requests.find(d, residentId, summary.reference);
        if (!found) continue;
        out.push({
          reference: summary.reference,
          service: summary.service,
          status: summary.statusLabel,
          createdAt: summary.createdAt,
          updatedAt: summary.updatedAt,
          answers: found.answers,
          history: found.history,
        });
      }
      return out;
    },
    // Records of services provided are kept (public task); the cases module may unlink them further.
    erase: async (tx, residentId) => {
      const anonymise = (
        deps.cases as Partial<{ anonymiseResident: (tx: Db, id: string) => Promise<unknown> }>
      ).anonymiseResident;
      if (anonymise) await anonymise.call(deps.cases, tx, residentId);
    },
  });
  personalData.add({
    name: 'messages',
    export: async (d, residentId) =>
      (await store.listMessages(d, residentId, 10_000)).map((m) => ({
        channel: m.channel,
        to: m.recipient,
        subject: m.subject,
        body: m.body,
        status: m.status,
        createdAt: m.created_at,
        sentAt: m.sent_at,
      })),
  });
  personalData.add({
    name: 'passkeys',
    export: async (d, residentId) =>
      (await listPasskeys(d, residentId)).map((p) => ({
        name: p.label,
        createdAt: p.createdAt,
        lastUsedAt: p.lastUsedAt,
      })),
    erase: async (tx, residentId) => {
      await removeAllPasskeys(tx, residentId);
    },
  });
  if (drafts) {
    // Drafts are deleted after the account (see deleteAccount): the catalogue works on its own connection.
    personalData.add({
      name: 'drafts',
      export: async (d, residentId) => {
        const out = [];
        for (const draft of await drafts.listDrafts(d, residentId)) {
          const answers = drafts.findDraftAnswers
            ? await drafts.findDraftAnswers(residentId, draft.slug)
            : undefined;
          out.push({ service: draft.title, savedAt: draft.updatedAt, answers });
        }
        return out;
      },
    });
  }

  const links: AccountLink[] = [];

  return {
    /** Where other modules add what they hold about residents, for download and deletion. */
    personalData,
    /** Adds a page of another module to "Manage your account", e.g. { href: '/account/documents', text: 'Your documents' }. */
    addLink(link: AccountLink): void {
      if (!link.href.startsWith('/account/'))
        throw new Error(`Account links stay under /account/: ${link.href}`);
      links.push(link);
    },
    requests,

    async overview(residentId: string) {
      return {
        requests: await requests.list(db, residentId),
        messages: await store.listMessages(db, residentId, 5),
        // null, not [], when no module keeps drafts: the page then leaves the section out.
        drafts: drafts ? await drafts.listDrafts(db, residentId) : null,
        links,
      };
    },

    findResident: (residentId: string) => store.findResident(db, residentId),

    async updateDetails(residentId: string, input: DetailsInput, actor: Actor): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const before = await store.findResident(tx, residentId);
        if (!before) throw new Error('Resident not found');
        // Text messages need a mobile number; without one they would silently never arrive.
        const smsStillPossible = isMobile(input.phone);
        await store.updateResident(tx, residentId, {
          name: input.name,
          phone: input.phone,
          address: input.address,
          ...(before.notify_by_sms && !smsStillPossible
            ? { notify_by_sms: false, notify_by_email: true }
            : {}),
        });
        const changed = (['name', 'phone', 'address'] as const).filter((k) => before[k] !== input[k]);
        await recordAudit(tx, {
          actor,
          action: 'resident.details_changed',
          subjectType: 'resident',
          subjectId: residentId,
          detail: { changed },
        });
        await events.publish(tx, {
          type: 'resident.details_changed',
          subjectType: 'resident',
          subjectId: residentId,
          actor,
          payload: { changed },
        });
      });
    },

    /** Sets how the resident is told about their requests; text messages need a mobile number. */
    async updateContactPreferences(
      residentId: string,
      channels: Array<'email' | 'sms'>,
      actor: Actor,
    ): Promise<{ ok: true } | { ok: false; reason: 'no-phone' | 'not-mobile' }> {
      return db.transaction().execute(async (tx) => {
        const resident = await store.findResident(tx, residentId);
        if (!resident) throw new Error('Resident not found');
        if (channels.includes('sms') && !isMobile(resident.phone)) {
          return { ok: false, reason: resident.phone ? 'not-mobile' : 'no-phone' } as const;
        }
        const prefs = {
          notify_by_email: channels.includes('email'),
          notify_by_sms: channels.includes('sms'),
        };
        await store.updateResident(tx, residentId, prefs);
        await recordAudit(tx, {
          actor,
          action: 'resident.contact_preferences_changed',
          subjectType: 'resident',
          subjectId: residentId,
          detail: { channels },
        });
        return { ok: true } as const;
      });
    },

    /** Everything Kiln holds about the resident, as one document; the download is audited. */
    async exportData(residentId: string, actor: Actor) {
      const sections = await personalData.exportAll(db, residentId);
      await recordAudit(db, {
        actor,
        action: 'resident.data_downloaded',
        subjectType: 'resident',
        subjectId: residentId,
        detail: { sections: Object.keys(sections) },
      });
      return {
        about: `Everything ${platform.config.COUNCIL_NAME} holds about you in Kiln, as of this download.`,
        generatedAt: new Date().toISOString(),
        ...sections,
      };
    },

    /**
     * Deletes the account: sign-in, contact details, preferences, passkeys, drafts and sessions go;
     * records of services provided stay, linked only to an anonymous record.
     */
    async deleteAccount(residentId: string, actor: Actor): Promise<void> {
      const unsent = drafts ? await drafts.listDrafts(db, residentId) : [];
      await db.transaction().execute(async (tx) => {
        const resident = await store.findResident(tx, residentId);
        if (!resident) return;
        const erased = await personalData.eraseAll(tx, residentId);
        if (resident.email) await store.deleteSignInLinks(tx, resident.email);
        await store.anonymiseResident(tx, residentId);
        const sessions = await store.deleteSessionsOf(tx, residentId);
        await recordAudit(tx, {
          actor,
          action: 'resident.account_deleted',
          subjectType: 'resident',
          subjectId: residentId,
          detail: { erased, sessionsEnded: sessions },
        });
        await events.publish(tx, {
          type: 'resident.account_deleted',
          subjectType: 'resident',
          subjectId: residentId,
          actor,
        });
      });
      for (const draft of unsent) await drafts!.discardDraftAnswers(residentId, draft.slug);
    },
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;
