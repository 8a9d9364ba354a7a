import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { AssistantChannel, AssistantTables, ConversationStatus, MessageAuthor } from './schema.ts';

const t = (db: Db) => tables<AssistantTables>(db);

export type ConversationRow = AssistantTables['assistant_conversations'];
export type MessageRow = AssistantTables['assistant_messages'];

export async function insertConversation(
  db: Db,
  input: { channel: AssistantChannel; externalId: string | null; residentId: string | null },
): Promise<ConversationRow> {
  return t(db)
    .insertInto('assistant_conversations')
    .values({
      channel: input.channel,
      external_id: input.externalId,
      resident_id: input.residentId,
      state: JSON.stringify({}),
    } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findConversation(db: Db, id: string): Promise<ConversationRow | undefined> {
  return t(db).selectFrom('assistant_conversations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The open conversation of a channel address (a phone number, a call), newest first. */
export function findOpenByExternalId(
  db: Db,
  channel: AssistantChannel,
  externalId: string,
): Promise<ConversationRow | undefined> {
  return t(db)
    .selectFrom('assistant_conversations')
    .selectAll()
    .where('channel', '=', channel)
    .where('external_id', '=', externalId)
    .where('status', '<>', 'closed')
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

type ConversationChange = Partial<{
  state: unknown;
  status: ConversationStatus;
  agent_id: string | null;
  resident_id: string | null;
  closed_at: Date | null;
}>;
type NewMessage = { author: MessageAuthor; body: string; agentId?: string | null; meta?: unknown };

/** A conversation change as columns: the state stored as JSON, the time of the change. */
function conversationValues(change: ConversationChange) {
  const values: Record<string, unknown> = { ...change, updated_at: new Date() };
  if ('state' in change) values.state = JSON.stringify(change.state ?? {});
  return values as never;
}

function messageValues(conversationId: string, messages: NewMessage[]) {
  return messages.map((m) => ({
    conversation_id: conversationId,
    author: m.author,
    body: m.body,
    agent_id: m.agentId ?? null,
    meta: m.meta === undefined ? null : JSON.stringify(m.meta),
  })) as never;
}

export async function saveConversation(db: Db, id: string, change: ConversationChange): Promise<void> {
  await t(db)
    .updateTable('assistant_conversations')
    .set(conversationValues(change))
    .where('id', '=', id)
    .execute();
}

export async function insertMessages(
  db: Db,
  conversationId: string,
  messages: NewMessage[],
): Promise<MessageRow[]> {
  if (messages.length === 0) return [];
  return t(db)
    .insertInto('assistant_messages')
    .values(messageValues(conversationId, messages))
    .returningAll()
    .execute();
}

/**
 * One turn's messages written and the conversation changed in a single statement (one round trip,
 * atomic without a transaction): the inserted messages come back in order.
 */
export async function recordTurn(
  db: Db,
  conversationId: string,
  messages: NewMessage[],
  change: ConversationChange,
): Promise<MessageRow[]> {
  if (messages.length === 0) {
    await saveConversation(db, conversationId, change);
    return [];
  }
  return t(db)
    .with('changed', (q) =>
      q
        .updateTable('assistant_conversations')
        .set(conversationValues(change))
        .where('id', '=', conversationId)
        .returning('id'),
    )
    .insertInto('assistant_messages')
    .values(messageValues(conversationId, messages))
    .returningAll()
    .execute()
    .then((rows) => rows.sort((a, b) => Number(a.id) - Number(b.id)));
}

export function listMessages(db: Db, conversationId: string, afterId = 0): Promise<MessageRow[]> {
  return t(db)
    .selectFrom('assistant_messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('id', '>', afterId)
    .orderBy('id')
    .execute();
}

/** Conversations for the advisers' console, with their last message. */
export async function listForConsole(db: Db, statuses: ConversationStatus[], limit = 50) {
  return t(db)
    .selectFrom('assistant_conversations as c')
    .select([
      'c.id',
      'c.channel',
      'c.status',
      'c.agent_id',
      'c.resident_id',
      'c.created_at',
      'c.updated_at',
      sql<string | null>`(select name from staff_users s where s.id = c.agent_id)`.as('agent_name'),
      sql<string | null>`(select body from assistant_messages m where m.conversation_id = c.id
        and m.author = 'resident' order by m.id desc limit 1)`.as('last_message'),
    ])
    .where('c.status', 'in', statuses)
    .orderBy('c.updated_at', statuses.includes('closed') ? 'desc' : 'asc')
    .limit(limit)
    .execute();
}

export async function recordRequest(
  db: Db,
  input: { reference: string; conversationId: string; channel: AssistantChannel; externalId: string | null },
): Promise<void> {
  await t(db)
    .insertInto('assistant_requests')
    .values({
      reference: input.reference,
      conversation_id: input.conversationId,
      channel: input.channel,
      external_id: input.externalId,
    } as never)
    .onConflict((oc) => oc.column('reference').doNothing())
    .execute();
}

export function findRequest(db: Db, reference: string) {
  return t(db)
    .selectFrom('assistant_requests')
    .selectAll()
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export function conversationsForResident(db: Db, residentId: string) {
  return t(db)
    .selectFrom('assistant_conversations')
    .selectAll()
    .where('resident_id', '=', residentId)
    .orderBy('created_at', 'desc')
    .execute();
}

/** UK GDPR erasure: the resident's transcripts go; nothing else refers to them. */
export async function eraseResident(db: Db, residentId: string): Promise<void> {
  await t(db).deleteFrom('assistant_conversations').where('resident_id', '=', residentId).execute();
}

/** Conversations left idle are closed, and their unfinished forms dropped: nothing half-submitted. */
export async function closeIdle(db: Db, before: Date): Promise<number> {
  const rows = await t(db)
    .updateTable('assistant_conversations')
    .set({ status: 'closed', closed_at: new Date(), state: JSON.stringify({}) } as never)
    .where('status', 'in', ['bot'])
    .where('updated_at', '<', before)
    .returning('id')
    .execute();
  return rows.length;
}
