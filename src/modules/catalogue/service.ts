import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { PaymentsService } from '../payments/index.ts';
import type { CasesService, Channel, NewCase } from '../cases/index.ts';
import {
  serviceDefinitionSchema,
  serviceDetailsSchema,
  topics,
  type Question,
  type ServiceDefinition,
  type ServiceDetails,
} from './definition.ts';
import { recordedAnswers, summarise, type Answers } from './form-engine.ts';
import { localGazetteer, type Gazetteer } from './gazetteer.ts';
import { SearchIndex, type SearchDocument } from './search.ts';
import * as store from './store.ts';

/** A published version of a service, parsed once and kept in memory. */
export interface LiveService {
  definition: ServiceDefinition;
  version: number;
}

/** A change refused for a reason the editor can fix; `field` names the input. */
export class CatalogueError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export interface Submission {
  live: LiveService;
  answers: Answers;
  residentId: string | null;
  channel: Channel;
  actor: Actor;
  idempotencyKey: string;
  contactEmail?: string | null;
  /** Extra record kept with the answers (API contact details). */
  extra?: Record<string, { question: string; answer: string }>;
}

// Other processes learn of a newly published version within this time.
const REFRESH_MS = 30_000;

/** The catalogue: services, their versions and forms, residents' drafts, search, and submissions. */
/** What the catalogue needs from payments to take a service's fee. */
export type FeePayments = Pick<PaymentsService, 'createPayment' | 'startCardPayment' | 'getPayment'>;

export function createCatalogueService(
  platform: Platform,
  deps: { cases: CasesService; payments?: FeePayments },
) {
  const { db } = platform;
  const gazetteer: Gazetteer = localGazetteer();
  const index = new SearchIndex();
  let live = new Map<string, LiveService>();
  const parsed = new Map<string, LiveService>();
  let loadedAt = 0;
  let loading: Promise<void> | null = null;

  async function refresh(): Promise<void> {
    const rows = await store.listLiveVersions(db);
    const next = new Map<string, LiveService>();
    for (const row of rows) {
      const key = `${row.slug}@${row.version}`;
      let entry = parsed.get(key);
      if (!entry) {
        // Versions are immutable, so each is parsed once per process.
        entry = { definition: serviceDefinitionSchema.parse(row.definition), version: row.version };
        parsed.set(key, entry);
      }
      next.set(row.slug, entry);
    }
    live = next;
    loadedAt = Date.now();
    index.replace(searchDocuments([...next.values()]));
    // Pages kept for visitors show services: after a publish they must show the new version.
    platform.pageCache.clear();
  }

  async function ensureFresh(): Promise<void> {
    if (Date.now() - loadedAt < REFRESH_MS) return;
    loading ??= refresh().finally(() => (loading = null));
    // Once loaded, requests never wait for a refresh: they use what is there while it runs.
    if (loadedAt === 0) await loading;
    else loading.catch(() => {}); // a failed refresh is tried again by the next request
  }

  /** Runs a change to a service's draft in a transaction, validating the result. */
  async function changeDraft(
    slug: string,
    actor: Actor,
    action: string,
    change: (draft: ServiceDefinition) => ServiceDefinition,
  ): Promise<ServiceDefinition> {
    return db.transaction().execute(async (tx) => {
      const row = await store.findServiceForUpdate(tx, slug);
      if (!row) throw new CatalogueError('There is no such service', 'slug');
      const next = change(serviceDefinitionSchema.parse(row.draft));
      const checked = serviceDefinitionSchema.safeParse(next);
      if (!checked.success) {
        const issue = checked.error.issues[0]!;
        throw new CatalogueError(issue.message, issue.path.join('.'));
      }
      await store.saveDraft(tx, row.id, checked.data);
      await recordAudit(tx, { actor, action, subjectType: 'service', subjectId: row.id, detail: { slug } });
      return checked.data;
    });
  }

  return {
    gazetteer,

    /** The live version of a service, or undefined when it is not live. */
    async liveService(slug: string): Promise<LiveService | undefined> {
      await ensureFresh();
      return live.get(slug);
    },

    /** Every live service, by title. */
    async liveServices(): Promise<LiveService[]> {
      await ensureFresh();
      return [...live.values()].sort((a, b) => a.definition.title.localeCompare(b.definition.title));
    },

    /** Re-reads the live versions now (after a publish, and in tests). */
    refresh,

    async search(query: string) {
      await ensureFresh();
      return index.search(query);
    },

    /** Every service with its status, for the form builder. */
    async listForEditing(conn: Db = db) {
      const rows = await store.listServices(conn);
      return rows.map((row) => ({ row, draft: serviceDefinitionSchema.parse(row.draft) }));
    },

    async findForEditing(slug: string, conn: Db = db) {
      const row = await store.findService(conn, slug);
      return row ? { row, draft: serviceDefinitionSchema.parse(row.draft) } : undefined;
    },

    /** Creates a draft service (details and, when seeding, questions too). */
    async createService(input: ServiceDetails & { questions?: Question[] }, actor: Actor) {
      const definition = serviceDefinitionSchema.parse({ ...input, questions: input.questions ?? [] });
      return db.transaction().execute(async (tx) => {
        const row = await store.insertService(tx, definition.slug, definition);
        if (!row) throw new CatalogueError('A service with this web address already exists', 'slug');
        await recordAudit(tx, {
          actor,
          action: 'service.created',
          subjectType: 'service',
          subjectId: row.id,
          detail: { slug: definition.slug },
        });
        return definition;
      });
    },

    async updateDetails(slug: string, details: Omit<ServiceDetails, 'slug'>, actor: Actor) {
      const checked = serviceDetailsSchema.omit({ slug: true }).parse(details);
      return changeDraft(slug, actor, 'service.details_changed', (d) => ({ ...d, ...checked }));
    },

    /** Adds a question, or replaces the one with id `originalId`. */
    async saveQuestion(slug: string, question: Question, originalId: string | null, actor: Actor) {
      return changeDraft(slug, actor, 'service.question_saved', (d) => {
        const others = d.questions.filter((q) => q.id !== originalId);
        if (others.some((q) => q.id === question.id))
          throw new CatalogueError('Another question already uses this id', 'id');
        if (originalId === null) return { ...d, questions: [...d.questions, question] };
        if (originalId !== question.id && d.questions.some((q) => q.showWhen?.question === originalId))
          throw new CatalogueError('Other questions depend on this one, so its id cannot change', 'id');
        return { ...d, questions: d.questions.map((q) => (q.id === originalId ? question : q)) };
      });
    },

    async moveQuestion(slug: string, questionId: string, direction: 'up' | 'down', actor: Actor) {
      return changeDraft(slug, actor, 'service.question_moved', (d) => {
        const questions = [...d.questions];
        const i = questions.findIndex((q) => q.id === questionId);
        const j = direction === 'up' ? i - 1 : i + 1;
        if (i < 0 || j < 0 || j >= questions.length) return d;
        [questions[i], questions[j]] = [questions[j]!, questions[i]!];
        return { ...d, questions };
      });
    },

    async removeQuestion(slug: string, questionId: string, actor: Actor) {
      return changeDraft(slug, actor, 'service.question_removed', (d) => {
        const dependant = d.questions.find((q) => q.showWhen?.question === questionId);
        if (dependant)
          throw new CatalogueError(
            `Remove or change “${dependant.label}” first: it depends on this question`,
            'questions',
          );
        return { ...d, questions: d.questions.filter((q) => q.id !== questionId) };
      });
    },

    /** Publishes the draft as a new immutable version; submissions from then on use it. */
    async publish(slug: string, actor: Actor): Promise<number> {
      const version = await db.transaction().execute(async (tx) => {
        const row = await store.findServiceForUpdate(tx, slug);
        if (!row) throw new CatalogueError('There is no such service', 'slug');
        const definition = serviceDefinitionSchema.parse(row.draft);
        if (definition.questions.length === 0)
          throw new CatalogueError('Add at least one question before publishing', 'questions');
        const version = await store.insertVersion(
          tx,
          row.id,
          definition,
          actor.type === 'staff' ? actor.id : null,
        );
        await platform.events.publish(tx, {
          type: 'service.published',
          subjectType: 'service',
          subjectId: row.id,
          actor,
          payload: { slug, version },
        });
        await recordAudit(tx, {
          actor,
          action: 'service.published',
          subjectType: 'service',
          subjectId: row.id,
          detail: { slug, version },
        });
        return version;
      });
      await refresh();
      return version;
    },

    async retire(slug: string, actor: Actor): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const row = await store.findServiceForUpdate(tx, slug);
        if (!row) throw new CatalogueError('There is no such service', 'slug');
        await store.setStatus(tx, row.id, 'retired');
        await platform.events.publish(tx, {
          type: 'service.retired',
          subjectType: 'service',
          subjectId: row.id,
          actor,
          payload: { slug },
        });
        await recordAudit(tx, {
          actor,
          action: 'service.retired',
          subjectType: 'service',
          subjectId: row.id,
          detail: { slug },
        });
      });
      await refresh();
    },

    /** Turns checked answers into a case, in one transaction; the same idempotency key gives the same case. */
    async submit(s: Submission) {
      const def = s.live.definition;
      const newCase: NewCase = {
        service: {
          slug: def.slug,
          title: def.title,
          version: s.live.version,
          teamCode: def.teamCode,
          sla: def.sla,
        },
        residentId: s.residentId,
        channel: s.channel,
        answers: { ...recordedAnswers(def, s.answers), ...s.extra },
        summary: summarise(def, s.answers),
        idempotencyKey: s.idempotencyKey,
        actor: s.actor,
        contactEmail: s.residentId ? null : (s.contactEmail ?? null),
      };
      const payments = deps.payments;
      const fee = def.feePence && payments && (s.residentId || s.contactEmail) ? def.feePence : 0;
      // Nothing but the case to write: its one statement is the transaction.
      if (!s.residentId && !fee) return { ...(await deps.cases.createCase(db, newCase)), payment: null };
      return db.transaction().execute(async (tx) => {
        const created = await deps.cases.createCase(tx, newCase);
        if (s.residentId && created.created) await store.deleteDraftAnswers(tx, s.residentId, def.slug);
        // A service with a fee is paid for with the request: the payment is made with the case,
        // keyed by it, so sending the form twice still asks for one payment.
        const payment =
          fee && payments
            ? await payments.createPayment(tx, {
                amount: fee,
                description: `${def.title} (${created.reference})`,
                payer: s.residentId ? { residentId: s.residentId } : { email: s.contactEmail },
                paysFor: { type: 'case', id: created.id },
                idempotencyKey: `catalogue:${created.id}`,
                channel: s.channel,
                actor: s.actor,
              })
            : null;
        return { ...created, payment: payment && { id: payment.id, status: payment.status } };
      });
    },

    /** Where to send the resident to pay a request's fee, or null when nothing is owed. */
    async paymentStep(payment: { id: string; status: string } | null, returnUrl: string) {
      if (!payment || !deps.payments || payment.status === 'success') return null;
      return (await deps.payments.startCardPayment(payment, returnUrl)).nextUrl;
    },

    /** The fee payment of a request, for its confirmation page. */
    async feePaymentOf(payment: { id: string } | undefined) {
      if (!payment || !deps.payments) return undefined;
      return deps.payments.getPayment(db, payment.id);
    },

    /** Saves a signed-in resident's answers so far, to offer back when they return. */
    saveDraftAnswers: (residentId: string, slug: string, answers: Answers) =>
      store.upsertDraftAnswers(db, residentId, slug, answers),

    async findDraftAnswers(residentId: string, slug: string): Promise<Answers | undefined> {
      const row = await store.findDraftAnswers(db, residentId, slug);
      return row ? (row.answers as Answers) : undefined;
    },

    discardDraftAnswers: (residentId: string, slug: string) => store.deleteDraftAnswers(db, residentId, slug),

    /**
     * A resident's unfinished forms, for My account: title, when last saved, and where to carry on.
     * Uses only `conn`, so it is safe inside the caller's transaction.
     */
    async listDrafts(conn: Db, residentId: string) {
      const rows = await store.listDraftAnswers(conn, residentId);
      return rows.map((r) => ({
        slug: r.service_slug,
        title: r.title,
        updatedAt: r.updated_at,
        href: `/services/${r.service_slug}/resume`,
      }));
    },
  };
}

export type CatalogueService = ReturnType<typeof createCatalogueService>;

function searchDocuments(services: LiveService[]): SearchDocument[] {
  const docs: SearchDocument[] = services.map(({ definition: d }) => {
    const topic = topics.find((t) => t.code === d.topic)!;
    return {
      kind: 'service',
      title: d.title,
      summary: d.summary,
      href: `/services/${d.slug}`,
      fields: [
        { text: d.title, weight: 3 },
        { text: d.summary, weight: 2 },
        { text: topic.name, weight: 2 },
        { text: d.description, weight: 1 },
      ],
    };
  });
  for (const topic of topics)
    docs.push({
      kind: 'topic',
      title: topic.name,
      summary: topic.description,
      href: `/services#${topic.code}`,
      fields: [
        { text: topic.name, weight: 3 },
        { text: topic.description, weight: 1.5 },
      ],
    });
  return docs;
}
