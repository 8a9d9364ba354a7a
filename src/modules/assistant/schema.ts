import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

/** How a resident reaches the assistant. */
export const assistantChannels = ['web', 'sms', 'voice', 'alexa'] as const;
export type AssistantChannel = (typeof assistantChannels)[number];

/** Who the conversation is with: the bot, waiting for an adviser, an adviser, or over. */
export const conversationStatuses = ['bot', 'waiting', 'agent', 'closed'] as const;
export type ConversationStatus = (typeof conversationStatuses)[number];

export const messageAuthors = ['resident', 'bot', 'agent', 'system'] as const;
export type MessageAuthor = (typeof messageAuthors)[number];

export interface AssistantTables {
  assistant_conversations: {
    id: string;
    channel: AssistantChannel;
    /** The channel's own address of the person: a phone number, a call id, an Alexa user id; null on the web. */
    external_id: string | null;
    resident_id: string | null;
    status: ConversationStatus;
    agent_id: string | null;
    /** The dialogue state: what the bot is in the middle of. */
    state: unknown;
    created_at: Date;
    updated_at: Date;
    closed_at: Date | null;
  };
  assistant_messages: {
    id: number;
    conversation_id: string;
    author: MessageAuthor;
    agent_id: string | null;
    body: string;
    /** What the NLU made of a resident's message (intent, score), for review. */
    meta: unknown;
    created_at: Date;
  };
  /** Requests made in a conversation: the same person on the same channel may ask about them later. */
  assistant_requests: {
    reference: string;
    conversation_id: string;
    channel: AssistantChannel;
    external_id: string | null;
    created_at: Date;
  };
}

export const assistantMigrations: Record<string, Migration> = {
  '2026-11-25-1000-assistant': sqlMigration(`
    create table assistant_conversations (
      id uuid primary key default gen_random_uuid(),
      channel text not null check (channel in ('web', 'sms', 'voice', 'alexa')),
      external_id text,
      resident_id uuid references residents (id) on delete set null,
      status text not null default 'bot' check (status in ('bot', 'waiting', 'agent', 'closed')),
      agent_id uuid references staff_users (id),
      state jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      closed_at timestamptz
    );
    create index assistant_conversations_open_idx on assistant_conversations (channel, external_id)
      where status <> 'closed';
    create index assistant_conversations_status_idx on assistant_conversations (status, updated_at);
    create index assistant_conversations_resident_idx on assistant_conversations (resident_id);

    create table assistant_messages (
      id bigserial primary key,
      conversation_id uuid not null references assistant_conversations (id) on delete cascade,
      author text not null check (author in ('resident', 'bot', 'agent', 'system')),
      agent_id uuid references staff_users (id),
      body text not null,
      meta jsonb,
      created_at timestamptz not null default now()
    );
    create index assistant_messages_conversation_idx on assistant_messages (conversation_id, id);

    create table assistant_requests (
      reference text primary key,
      conversation_id uuid not null references assistant_conversations (id) on delete cascade,
      channel text not null,
      external_id text,
      created_at timestamptz not null default now()
    );
  `),
  // Cases from the assistant carry the channel they came by: text message or voice (phone line, smart speaker).
  '2026-11-25-1001-assistant-case-channels': sqlMigration(`
    alter table cases drop constraint if exists cases_channel_check;
    alter table cases add constraint cases_channel_check check (channel in
      ('web', 'app', 'chatbot', 'sms', 'voice', 'phone', 'face_to_face', 'email', 'letter', 'api'));
  `),
};
