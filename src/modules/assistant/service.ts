import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { tables, type Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { CasesService } from '../cases/index.ts';
import type { CatalogueService } from '../catalogue/index.ts';
import type { RequestsService } from '../requests/index.ts';
import { streets as requestStreets } from '../requests/geography.ts';
import { outOfHoursText } from './content.ts';
import { createEngine, type BulkyBookings, type DialogueState, type Party, type Reply } from './engine.ts';
import { createEntityExtractor } from './entities.ts';
import { Nlu, trainingSet } from './nlu.ts';
import { createRephraser } from './rephrase.ts';
import type { AssistantChannel, ConversationStatus } from './schema.ts';
import { withinHours, type AssistantSettings } from './settings.ts';
import * as store from './store.ts';

export class AssistantError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** What a channel gets back for one message. */
export interface Turn {
  conversationId: string;
  status: ConversationStatus;
  replies: Reply[];
  /** The resident asked for a person and an adviser will answer (in hours). */
  handedOver: boolean;
  /** The resident asked for a person out of hours. */
  outOfHours: boolean;
  end: boolean;
  submitted?: { reference: string };
  /** The transcript's new rows: the resident's message and the bot's replies, in order. */
  messages: store.MessageRow[];
}

export interface AssistantDeps {
  catalogue: CatalogueService;
  requests: RequestsService;
  cases: CasesService;
  bookings?: BulkyBookings;
}

/** The assistant: conversations on every channel through one engine, kept with their transcripts, and handover to advisers. */
export function createAssistantService(platform: Platform, deps: AssistantDeps, settings: AssistantSettings) {
  const { db, notify } = platform;
  const nlu = new Nlu(settings.ASSISTANT_NLU_THRESHOLD);
  const gazetteer = deps.catalogue.gazetteer;
  const entities = createEntityExtractor(requestStreets, gazetteer);
  const rephrase = createRephraser(settings);

  notify.defineTemplate('assistant-reply', {
    subject: 'Message from Kilnford City Council',
    body: '((text))',
  });

  let training: Promise<void> | null = null;
  async function ensureTrained(): Promise<void> {
    const services = await deps.catalogue.liveServices();
    const signature = services.map((s) => `${s.definition.slug}@${s.version}`).join(',');
    if (nlu.trained && nlu.trainedOn === signature) return;
    // A newly published service is learnt in the background; the first training is awaited.
    training ??= nlu
      .train(trainingSet(services))
      .then(() => void (nlu.trainedOn = signature))
      .finally(() => (training = null));
    if (!nlu.trained) await training;
  }

  const engine = createEngine({
    db,
    nlu,
    entities,
    catalogue: deps.catalogue,
    requests: deps.requests,
    cases: deps.cases,
    gazetteer,
    publicUrl: platform.config.PUBLIC_URL,
    bookings: deps.bookings,
    async mayDisclose(party, reference, row) {
      if (party.residentId && row.resident_id === party.residentId) return true;
      const made = await store.findRequest(db, reference);
      if (!made) return false;
      if (made.conversation_id === party.conversationId) return true;
      // The same phone number (text messages) made it.
      return party.channel === 'sms' && made.channel === 'sms' && made.external_id === party.externalId;
    },
    async residentEmail(residentId) {
      const row = await tables<{ residents: { id: string; email: string | null } }>(db)
        .selectFrom('residents')
        .select('email')
        .where('id', '=', residentId)
        .executeTakeFirst();
      return row?.email ?? null;
    },
    async recordRequest(party, reference) {
      await store.recordRequest(db, {
        reference,
        conversationId: party.conversationId,
        channel: party.channel,
        externalId: party.externalId,
      });
    },
  });

  // One message at a time per conversation in this process; idempotency keys cover the rest.
  const queues = new Map<string, Promise<unknown>>();
  function serialised<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => {});
    queues.set(id, settled);
    void settled.then(() => {
      if (queues.get(id) === settled) queues.delete(id);
    });
    return next;
  }

  /** Sends the bot's or an adviser's words to a text message conversation. */
  const textsBack = (conversation: store.ConversationRow, replies: Reply[]) =>
    conversation.channel === 'sms' && Boolean(conversation.external_id) && replies.length > 0;
  async function textBack(tx: Db, conversation: store.ConversationRow, replies: Reply[]): Promise<void> {
    if (!textsBack(conversation, replies) || !conversation.external_id) return;
    await notify.send(
      tx,
      { channel: 'sms', recipient: conversation.external_id, residentId: conversation.resident_id },
      {
        template: 'assistant-reply',
        personalisation: { text: smsText(replies, platform.config.PUBLIC_URL) },
      },
    );
  }

  const service = {
    nlu,
    entities,
    ensureTrained,
    settings,

    /** A new conversation on the web, or the open one of a phone number, call or Alexa user. */
    async open(channel: AssistantChannel, externalId: string | null, residentId: string | null) {
      if (externalId) {
        const existing = await store.findOpenByExternalId(db, channel, externalId);
        if (existing) return existing;
      }
      return store.insertConversation(db, { channel, externalId, residentId });
    },

    find: (id: string) => store.findConversation(db, id),
    messages: (id: string, afterId = 0) => store.listMessages(db, id, afterId),

    /** What the resident said, and what the bot (or the wait for an adviser) says back. */
    async message(
      conversationId: string,
      text: unknown,
      options: { residentId?: string | null } = {},
    ): Promise<Turn> {
      await ensureTrained();
      return serialised(conversationId, async () => {
        const conversation = await store.findConversation(db, conversationId);
        if (!conversation) throw new AssistantError('There is no such conversation', 404);
        if (conversation.status === 'closed') throw new AssistantError('This conversation has ended', 409);
        const residentId = conversation.resident_id ?? options.residentId ?? null;
        const said = typeof text === 'string' ? text.slice(0, 2000) : '';
        const base = { conversationId, handedOver: false, outOfHours: false, end: false };
        if (conversation.status === 'waiting' || conversation.status === 'agent') {
          // With (or waiting for) an adviser: the message is for them.
          const written = await store.recordTurn(
            db,
            conversationId,
            [{ author: 'resident', body: cleanForStore(said) || '(empty message)' }],
            {},
          );
          return { ...base, status: conversation.status, replies: [], messages: written };
        }
        const party: Party = {
          conversationId,
          channel: conversation.channel,
          externalId: conversation.external_id,
          residentId,
        };
        const outcome = await engine.respond(party, (conversation.state ?? {}) as DialogueState, said);
        let status: ConversationStatus = 'bot';
        let replies = outcome.replies;
        let handedOver = false;
        let outOfHours = false;
        if (outcome.handover) {
          if (withinHours(settings.ASSISTANT_AGENT_HOURS)) {
            handedOver = true;
            status = conversation.channel === 'web' || conversation.channel === 'sms' ? 'waiting' : 'bot';
            replies = [
              {
                text:
                  status === 'waiting'
                    ? 'I am passing you to an adviser. Please wait: they will reply here. Your conversation so far goes with you, so you will not need to repeat yourself.'
                    : 'I am putting you through to an adviser.',
              },
            ];
          } else {
            outOfHours = true;
            replies = [
              { text: outOfHoursText, link: { href: '/services', text: 'Council services online' } },
            ];
          }
        }
        replies = await Promise.all(replies.map(async (r) => ({ ...r, text: await rephrase(r.text) })));
        const understanding = outcome.understanding
          ? { intent: outcome.understanding.intent, score: Number(outcome.understanding.score.toFixed(3)) }
          : undefined;
        const turn = [
          {
            author: 'resident' as const,
            body: cleanForStore(said) || '(empty message)',
            meta: understanding,
          },
          ...replies.map((r) => ({
            author: 'bot' as const,
            body: r.text,
            meta: r.options || r.link ? { options: r.options, link: r.link } : undefined,
          })),
        ];
        const change = {
          state: outcome.state,
          status,
          ...(residentId && !conversation.resident_id ? { resident_id: residentId } : {}),
        };
        // A text message conversation sends the replies in the same transaction; any other
        // channel's turn is one statement, as atomic and one round trip instead of four.
        const written = textsBack(conversation, replies)
          ? await db.transaction().execute(async (tx) => {
              const rows = await store.recordTurn(tx, conversationId, turn, change);
              await textBack(tx, conversation, replies);
              return rows;
            })
          : await store.recordTurn(db, conversationId, turn, change);
        return {
          ...base,
          messages: written,
          status,
          replies,
          handedOver,
          outOfHours,
          end: Boolean(outcome.end),
          submitted: outcome.submitted,
        };
      });
    },

    /** The line went quiet or the caller hung up: the conversation ends and an unfinished form is dropped. */
    async hangUp(conversationId: string, why: string): Promise<void> {
      await serialised(conversationId, async () => {
        const conversation = await store.findConversation(db, conversationId);
        if (!conversation || conversation.status === 'closed') return;
        const unfinished = Boolean((conversation.state as DialogueState | null)?.flow);
        await db.transaction().execute(async (tx) => {
          await store.insertMessages(tx, conversationId, [
            {
              author: 'system',
              body: unfinished ? `${why}. The unfinished request was not sent.` : `${why}.`,
            },
          ]);
          await store.saveConversation(tx, conversationId, {
            state: {},
            status: 'closed',
            closed_at: new Date(),
          });
        });
      });
    },

    /** Resident ends a web chat. */
    async end(conversationId: string): Promise<void> {
      await service.hangUp(conversationId, 'The resident ended the chat');
    },

    // ---- Advisers ----

    console: {
      waiting: () => store.listForConsole(db, ['waiting']),
      active: () => store.listForConsole(db, ['agent']),
      recent: () => store.listForConsole(db, ['closed', 'bot'], 20),
    },

    async accept(conversationId: string, staffId: string): Promise<void> {
      await changeByAgent(
        conversationId,
        staffId,
        'assistant.accepted',
        ['waiting', 'agent'],
        async (tx, c) => {
          if (c.status === 'agent' && c.agent_id && c.agent_id !== staffId)
            throw new AssistantError('Another adviser has already taken this conversation', 409);
          await store.saveConversation(tx, conversationId, { status: 'agent', agent_id: staffId });
          const words = [{ text: 'An adviser has joined the conversation.' }];
          await store.insertMessages(tx, conversationId, [
            { author: 'system', body: words[0]!.text, agentId: staffId },
          ]);
          await textBack(tx, c, words);
        },
      );
    },

    async reply(conversationId: string, staffId: string, text: string): Promise<void> {
      const body = text.trim().slice(0, 2000);
      if (!body) throw new AssistantError('Enter a reply');
      await changeByAgent(conversationId, staffId, 'assistant.replied', ['agent'], async (tx, c) => {
        if (c.agent_id !== staffId) throw new AssistantError('Accept the conversation before replying', 409);
        await store.insertMessages(tx, conversationId, [{ author: 'agent', body, agentId: staffId }]);
        await store.saveConversation(tx, conversationId, {});
        await textBack(tx, c, [{ text: body }]);
      });
    },

    async returnToBot(conversationId: string, staffId: string): Promise<void> {
      await changeByAgent(
        conversationId,
        staffId,
        'assistant.returned_to_bot',
        ['waiting', 'agent'],
        async (tx, c) => {
          await store.saveConversation(tx, conversationId, { status: 'bot', agent_id: null, state: {} });
          const words = [
            { text: 'The adviser has handed you back to the assistant. What else can I help with?' },
          ];
          await store.insertMessages(tx, conversationId, [
            { author: 'system', body: words[0]!.text, agentId: staffId },
          ]);
          await textBack(tx, c, words);
        },
      );
    },

    async close(conversationId: string, staffId: string): Promise<void> {
      await changeByAgent(
        conversationId,
        staffId,
        'assistant.closed',
        ['waiting', 'agent', 'bot'],
        async (tx, c) => {
          await store.saveConversation(tx, conversationId, {
            status: 'closed',
            state: {},
            closed_at: new Date(),
          });
          const words = [
            {
              text: 'The adviser has closed this conversation. Thank you for contacting Kilnford City Council.',
            },
          ];
          await store.insertMessages(tx, conversationId, [
            { author: 'system', body: words[0]!.text, agentId: staffId },
          ]);
          await textBack(tx, c, words);
        },
      );
    },

    conversationsForResident: (conn: Db, residentId: string) =>
      store.conversationsForResident(conn, residentId),
    eraseResident: (conn: Db, residentId: string) => store.eraseResident(conn, residentId),
    closeIdle: () => store.closeIdle(db, new Date(Date.now() - settings.ASSISTANT_IDLE_MINUTES * 60_000)),
  };

  async function changeByAgent(
    conversationId: string,
    staffId: string,
    action: string,
    allowed: ConversationStatus[],
    change: (tx: Db, c: store.ConversationRow) => Promise<void>,
  ): Promise<void> {
    await serialised(conversationId, () =>
      db.transaction().execute(async (tx) => {
        const c = await store.findConversation(tx, conversationId);
        if (!c) throw new AssistantError('There is no such conversation', 404);
        if (!allowed.includes(c.status))
          throw new AssistantError('This conversation has moved on: refresh the page', 409);
        await change(tx, c);
        const actor: Actor = { type: 'staff', id: staffId };
        await recordAudit(tx, {
          actor,
          action,
          subjectType: 'assistant_conversation',
          subjectId: conversationId,
        });
      }),
    );
  }

  return service;
}

export type AssistantService = ReturnType<typeof createAssistantService>;

/** Keeps what residents send readable in a transcript: no control characters. */
function cleanForStore(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim();
}

/** Replies as one text message: choices numbered, links in full. */
export function smsText(replies: Reply[], publicUrl: string): string {
  return replies
    .map((r) => {
      let text = r.text;
      if (r.options?.length) text += `\n${r.options.map((o, i) => `${i + 1} ${o}`).join('\n')}`;
      if (r.link) text += `\n${r.link.href.startsWith('http') ? r.link.href : publicUrl + r.link.href}`;
      return text;
    })
    .join('\n\n');
}

/** Replies as speech: choices read out, links left for the web. */
export function speechText(replies: Reply[]): string {
  return replies
    .map((r) => {
      const options = r.options?.length
        ? ` You can say: ${r.options.slice(0, -1).join(', ')}${r.options.length > 1 ? ' or ' : ''}${r.options.at(-1)}.`
        : '';
      return `${r.text}${options}`;
    })
    .join(' ');
}
