import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

export const channels = [
  'web',
  'app',
  'chatbot',
  'sms',
  'voice',
  'phone',
  'face_to_face',
  'email',
  'letter',
  'api',
] as const;
export type Channel = (typeof channels)[number];

export const caseStatuses = [
  'received',
  'in_progress',
  'waiting_for_customer',
  'resolved',
  'closed',
] as const;
export type CaseStatus = (typeof caseStatuses)[number];

export interface CasesTables {
  cases: {
    id: string;
    reference: string;
    service_slug: string;
    service_title: string;
    service_version: number;
    team_code: string;
    resident_id: string | null;
    channel: Channel;
    status: CaseStatus;
    status_reason: string | null;
    assigned_to: string | null;
    answers: unknown;
    summary: string;
    sla_due_at: Date | null;
    idempotency_key: string | null;
    created_by_staff: string | null;
    created_at: Date;
    updated_at: Date;
    resolved_at: Date | null;
    closed_at: Date | null;
    /** Where to send updates when the case has no resident account (anonymous reports). */
    contact_email: string | null;
  };
  case_updates: {
    id: number;
    case_id: string;
    kind: 'note' | 'public_update' | 'status_change' | 'assignment' | 'created';
    body: string | null;
    detail: unknown;
    author_type: string;
    author_id: string | null;
    created_at: Date;
  };
}

export const casesMigrations: Record<string, Migration> = {
  '2026-11-25-0200-cases': sqlMigration(`
    create table cases (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      service_slug text not null,
      service_title text not null,
      service_version int not null,
      team_code text not null references teams (code),
      resident_id uuid references residents (id) on delete set null,
      channel text not null check (channel in ('web', 'app', 'chatbot', 'phone', 'face_to_face', 'email', 'letter', 'api')),
      status text not null default 'received'
        check (status in ('received', 'in_progress', 'waiting_for_customer', 'resolved', 'closed')),
      status_reason text,
      assigned_to uuid references staff_users (id),
      answers jsonb not null default '{}',
      summary text not null default '',
      sla_due_at timestamptz,
      idempotency_key text unique,
      created_by_staff uuid references staff_users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      resolved_at timestamptz,
      closed_at timestamptz
    );
    create index cases_queue_idx on cases (team_code, status, sla_due_at);
    create index cases_assignee_idx on cases (assigned_to, status);
    create index cases_resident_idx on cases (resident_id, created_at desc);

    create table case_updates (
      id bigserial primary key,
      case_id uuid not null references cases (id) on delete cascade,
      kind text not null check (kind in ('note', 'public_update', 'status_change', 'assignment', 'created')),
      body text,
      detail jsonb not null default '{}',
      author_type text not null,
      author_id text,
      created_at timestamptz not null default now()
    );
    create index case_updates_case_idx on case_updates (case_id, id);
  `),
  '2026-11-25-0201-case-handling': sqlMigration(`
    alter table cases add column contact_email text;
    create index cases_team_updated_idx on cases (team_code, updated_at desc);
    create index cases_team_created_idx on cases (team_code, created_at desc);
    create index cases_service_idx on cases (service_slug);
  `),
};
