import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

/** The role the explorer's queries run as: it may read the analytics schema and nothing else. */
export const READER_ROLE = 'kiln_insights_reader';

export interface InsightsTables {
  insights_load_state: {
    source: string;
    high_id: number;
    loaded_at: Date | null;
    rebuilt_at: Date | null;
  };
  insights_load_gaps: { source: string; id: number; seen_at: Date };
  insights_saved_queries: {
    id: string;
    title: string;
    query: string;
    chart: string | null;
    created_by: string;
    created_at: Date;
  };
  insights_open_data: {
    slug: string;
    refreshed_at: Date;
    rows: unknown;
  };
}

/**
 * The warehouse lives in its own schema, `analytics`, shaped for analysis: one generic fact per
 * domain event (so a new module's events appear without code), accumulating facts for cases and
 * payments derived from them, sign-ins from the audit log, and small dimensions. It holds codes,
 * counts, amounts and pseudonymous ids only: never names, addresses, contact details or free text.
 */
export const insightsMigrations: Record<string, Migration> = {
  '2026-11-25-1100-insights': sqlMigration(`
    create schema if not exists analytics;

    create table analytics.dim_date (
      day date primary key,
      week_start date not null,
      iso_year int not null,
      iso_week int not null,
      month text not null,
      weekday int not null
    );
    create table analytics.dim_service (code text primary key, first_seen date not null);
    create table analytics.dim_channel (code text primary key, digital boolean not null);
    create table analytics.dim_ward (code text primary key);
    create table analytics.dim_method (code text primary key);
    create table analytics.dim_team (code text primary key);

    create table analytics.fact_event (
      event_id bigint primary key,
      type text not null,
      module text not null,
      subject_type text not null,
      subject_id text not null,
      actor_type text not null,
      actor_id text,
      occurred_at timestamptz not null,
      day date not null,
      service text,
      channel text,
      ward text,
      method text,
      team text,
      amount bigint,
      detail text,
      within_time boolean,
      reference text
    );
    create index fact_event_type_day_idx on analytics.fact_event (type, day);
    create index fact_event_module_day_idx on analytics.fact_event (module, day);
    create index fact_event_subject_idx on analytics.fact_event (subject_type, subject_id);

    create table analytics.fact_case (
      case_id text primary key,
      reference text,
      service text,
      channel text,
      ward text,
      team text,
      created_at timestamptz not null,
      day date not null,
      sla_due_at timestamptz,
      status text not null,
      assigned_to text,
      resolved_at timestamptz,
      closed_at timestamptz
    );
    create index fact_case_day_idx on analytics.fact_case (day);
    create index fact_case_open_idx on analytics.fact_case (team) where status not in ('resolved', 'closed');

    create table analytics.fact_payment (
      payment_id text primary key,
      reference text,
      amount bigint not null,
      method text,
      pays_for text,
      taken_by text not null,
      created_at timestamptz not null,
      day date not null,
      status text not null,
      settled_at timestamptz,
      refunded bigint not null default 0,
      returned bigint not null default 0
    );
    create index fact_payment_day_idx on analytics.fact_payment (day);

    create table analytics.fact_sign_in (
      audit_id bigint primary key,
      at timestamptz not null,
      day date not null,
      who text not null,
      method text
    );
    create index fact_sign_in_day_idx on analytics.fact_sign_in (day);

    -- SLA due dates come from the case itself (events do not carry them); kept apart so a case's
    -- fact can be recomputed from its events at any time.
    create table analytics.case_sla (case_id text primary key, due_at timestamptz);

    create table insights_load_state (
      source text primary key,
      high_id bigint not null default 0,
      loaded_at timestamptz,
      rebuilt_at timestamptz
    );
    create table insights_load_gaps (
      source text not null,
      id bigint not null,
      seen_at timestamptz not null default now(),
      primary key (source, id)
    );
    create table insights_saved_queries (
      id uuid primary key default gen_random_uuid(),
      title text not null,
      query text not null,
      chart text,
      created_by uuid not null,
      created_at timestamptz not null default now()
    );
    create table insights_open_data (
      slug text primary key,
      refreshed_at timestamptz not null,
      rows jsonb not null
    );

    -- The explorer's role. Creating a role needs CREATEROLE; where the database user lacks it the
    -- explorer still runs read-only with its parser checks (see docs/decisions/insights-explorer.md).
    do $$
    begin
      if not exists (select 1 from pg_roles where rolname = '${READER_ROLE}') then
        create role ${READER_ROLE} nologin;
      end if;
    exception when others then null;
    end $$;
    do $$
    begin
      grant usage on schema analytics to ${READER_ROLE};
      grant select on all tables in schema analytics to ${READER_ROLE};
      alter default privileges in schema analytics grant select on tables to ${READER_ROLE};
      grant ${READER_ROLE} to current_user;
    exception when others then null;
    end $$;
  `),
  // Daily rollups the success-measures page reads instead of the facts: one row per measure per day
  // per combination of the codes its filters use. The loader keeps them in step with the facts in
  // the same transaction; rebuildRollups() recomputes them from the facts.
  '2026-11-25-2130-insights-rollups': sqlMigration(`
    create table analytics.rollup_case_day (
      day date not null, service text, channel text, ward text, team text,
      received int not null,
      constraint rollup_case_day_key unique nulls not distinct (day, service, channel, ward, team)
    );
    create table analytics.rollup_resolved_day (
      day date not null, service text, ward text, team text,
      resolved int not null, with_sla int not null, within_sla int not null,
      constraint rollup_resolved_day_key unique nulls not distinct (day, service, ward, team)
    );
    create table analytics.rollup_payment_day (
      day date not null, pays_for text, method text, taken_by text not null,
      payments int not null, amount bigint not null,
      constraint rollup_payment_day_key unique nulls not distinct (day, pays_for, method, taken_by)
    );
    create table analytics.rollup_event_day (
      day date not null, type text not null, service text, ward text, team text,
      events int not null, within_time int not null,
      constraint rollup_event_day_key unique nulls not distinct (day, type, service, ward, team)
    );
    create table analytics.rollup_booking_day (
      day date not null, bookable text, service text, ward text, team text,
      confirmed int not null,
      constraint rollup_booking_day_key unique nulls not distinct (day, bookable, service, ward, team)
    );
    create table analytics.rollup_paperless_day (day date primary key, change int not null);
    create table analytics.rollup_sensor_home (subject_id text primary key, first_day date not null);

    create index fact_event_paperless_idx on analytics.fact_event (subject_id, occurred_at, event_id)
      where type = 'signing.paperless_changed';
    create index fact_case_resolved_idx on analytics.fact_case (resolved_at) where resolved_at is not null;

    do $$
    begin
      grant select on all tables in schema analytics to ${READER_ROLE};
    exception when others then null;
    end $$;
  `),
  // The case.created event a case's SLA due date came from: the latest by id wins, in any load order.
  '2026-11-25-2215-insights-case-sla-event': sqlMigration(`
    alter table analytics.case_sla add column event_id bigint not null default 0;
  `),
  // The days a batch's booking confirmations fall on, found by subject: without it the loader read
  // every confirmation in the warehouse once a batch (half a second at ten million events).
  '2026-11-26-0200-insights-booking-confirmed-idx': sqlMigration(`
    create index fact_event_booking_confirmed_idx on analytics.fact_event (subject_id, day)
      where type = 'booking.confirmed';
  `),
  // Only the loader reads facts by subject, and only the events of cases and payments (to recompute
  // their facts) and booking holds: an index of every event by subject, whose keys are random, grew
  // past the server's buffers and cost a page read for each event loaded. One index per kind, keyed
  // by the subject alone, holds only what those reads need.
  '2026-11-26-0430-insights-subject-indexes': sqlMigration(`
    create index fact_event_case_idx on analytics.fact_event (subject_id) where subject_type = 'case';
    create index fact_event_payment_idx on analytics.fact_event (subject_id) where subject_type = 'payment';
    create index fact_event_booking_held_idx on analytics.fact_event (subject_id, event_id)
      where type = 'booking.held';
    drop index analytics.fact_event_subject_idx;
  `),
};
