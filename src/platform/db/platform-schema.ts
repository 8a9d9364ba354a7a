import type { Migration } from 'kysely';
import { sqlMigration } from './index.ts';

// The platform's own tables. Modules add theirs through their own schema.ts migrations.
export const platformMigrations: Record<string, Migration> = {
  '2026-11-25-0001-platform': sqlMigration(`
    create table teams (
      code text primary key,
      name text not null
    );

    create table residents (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      email text unique,
      name text not null,
      phone text,
      address text,
      notify_by_email boolean not null default true,
      notify_by_sms boolean not null default false,
      has_account boolean not null default false,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index residents_name_idx on residents (lower(name));

    create table staff_users (
      id uuid primary key default gen_random_uuid(),
      email text not null unique,
      name text not null,
      role text not null check (role in ('agent', 'officer', 'team_lead', 'admin')),
      team_code text references teams (code),
      password_hash text,
      totp_secret text,
      oidc_subject text unique,
      active boolean not null default true,
      created_at timestamptz not null default now()
    );

    create table sessions (
      id_hash text primary key,
      data jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      expires_at timestamptz not null
    );
    create index sessions_expires_idx on sessions (expires_at);

    create table magic_links (
      token_hash text primary key,
      email text not null,
      return_to text,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      used_at timestamptz
    );

    create table passkeys (
      credential_id text primary key,
      resident_id uuid not null references residents (id) on delete cascade,
      public_key bytea not null,
      counter bigint not null default 0,
      transports text[] not null default '{}',
      label text not null default 'Passkey',
      created_at timestamptz not null default now(),
      last_used_at timestamptz
    );

    create table api_keys (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      prefix text not null unique,
      key_hash text not null,
      scopes text[] not null default '{}',
      created_by uuid references staff_users (id),
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    );

    create table audit_log (
      id bigserial primary key,
      xid xid8 not null default pg_current_xact_id(),
      at timestamptz not null default date_trunc('milliseconds', clock_timestamp()),
      actor_type text not null,
      actor_id text,
      action text not null,
      subject_type text,
      subject_id text,
      detail jsonb not null default '{}',
      chain_position bigint unique,
      prev_hash text,
      hash text
    );
    create index audit_log_unsealed_idx on audit_log (id) where hash is null;
    create index audit_log_subject_idx on audit_log (subject_type, subject_id);

    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        raise exception 'audit_log is append-only';
      end if;
      if old.hash is not null
         or new.action is distinct from old.action or new.actor_id is distinct from old.actor_id
         or new.detail is distinct from old.detail or new.at is distinct from old.at
         or new.subject_id is distinct from old.subject_id then
        raise exception 'audit_log is append-only';
      end if;
      return new;
    end $$;
    create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function audit_log_append_only();

    create table domain_events (
      id bigserial primary key,
      type text not null,
      subject_type text not null,
      subject_id text not null,
      actor_type text not null,
      actor_id text,
      payload jsonb not null default '{}',
      occurred_at timestamptz not null default now()
    );
    create index domain_events_subject_idx on domain_events (subject_type, subject_id);
    create index domain_events_type_idx on domain_events (type, occurred_at);

    create table notifications (
      id uuid primary key default gen_random_uuid(),
      channel text not null check (channel in ('email', 'sms')),
      recipient text not null,
      resident_id uuid references residents (id) on delete set null,
      template text not null,
      personalisation jsonb not null default '{}',
      subject text,
      body text not null,
      status text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
      adapter text,
      provider_reference text,
      attempts int not null default 0,
      last_error text,
      created_at timestamptz not null default now(),
      sent_at timestamptz
    );
    create index notifications_recipient_idx on notifications (recipient, created_at desc);
    create index notifications_resident_idx on notifications (resident_id, created_at desc);

    create table files (
      id uuid primary key default gen_random_uuid(),
      original_name text not null,
      media_type text not null,
      size_bytes int not null,
      sha256 text not null,
      storage_key text not null,
      uploaded_by text,
      created_at timestamptz not null default now()
    );

    create table idempotency_keys (
      key text primary key,
      scope text not null,
      result jsonb not null,
      created_at timestamptz not null default now()
    );
  `),
  // Messages are their own queue (decisions/platform-notifications-queue.md): a message is due
  // from send_after, which a sender also moves on to lease the message while it sends it.
  '2026-11-26-1100-notifications-queue': sqlMigration(`
    alter table notifications add column send_after timestamptz not null default now();
    create index notifications_due_idx on notifications (send_after) where status = 'queued';
  `),
};
