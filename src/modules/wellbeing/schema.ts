import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';
import type { AlertType, DayFeatures, Room, RoutineModel, SensorKind, Severity } from './routine.ts';

export const alertStatuses = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof alertStatuses)[number];

export const outcomes = [
  'well_no_action',
  'visited_helped',
  'gp_or_111',
  'ambulance',
  'family_informed',
  'sensor_fixed',
  'false_alarm',
] as const;
export type Outcome = (typeof outcomes)[number];

export interface WellbeingTables {
  wellbeing_homes: {
    id: string;
    reference: string;
    resident_id: string;
    address: string;
    status: 'active' | 'away' | 'closed';
    /** Who recorded the person's consent, when and how: monitoring starts only with it. */
    consent_recorded_at: Date;
    consent_recorded_by: string;
    consent_method: string;
    family_view_consent: boolean;
    escalation_minutes: number;
    installed_at: Date | null;
    created_at: Date;
  };
  wellbeing_devices: {
    id: string;
    home_id: string;
    /** Public identifier used in topics and as the hub's MQTT user name. */
    device_ref: string;
    role: 'hub' | 'sensor';
    kind: SensorKind | 'hub';
    room: Room | null;
    label: string;
    /** SHA-256 of the hub's key (hubs only); the key itself is shown once at installation. */
    key_hash: string | null;
    key_version: number;
    battery: number | null;
    last_seen_at: Date | null;
    active: boolean;
    created_at: Date;
  };
  wellbeing_events: {
    id: string;
    home_id: string;
    device_id: string;
    seq: string;
    type: string;
    value: number;
    battery: number | null;
    occurred_at: Date;
    received_at: Date;
  };
  wellbeing_days: {
    home_id: string;
    day: string;
    features: DayFeatures;
    computed_at: Date;
  };
  wellbeing_routines: {
    home_id: string;
    model: RoutineModel;
    learnt_at: Date;
  };
  wellbeing_alerts: {
    id: string;
    reference: string;
    home_id: string;
    resident_id: string;
    type: AlertType;
    severity: Severity;
    status: AlertStatus;
    sensor_ref: string | null;
    day: string;
    explanation: string;
    evidence: unknown;
    raised_at: Date;
    acknowledged_at: Date | null;
    acknowledged_by: string | null;
    escalated_at: Date | null;
    resolved_at: Date | null;
    resolved_by: string | null;
    outcome: Outcome | null;
    false_alarm: boolean;
  };
  wellbeing_alert_actions: {
    id: string;
    alert_id: string;
    action: 'raised' | 'acknowledged' | 'called' | 'visited' | 'resolved' | 'escalated' | 'note';
    note: string | null;
    staff_id: string | null;
    at: Date;
  };
  wellbeing_family: {
    id: string;
    home_id: string;
    name: string;
    relationship: string;
    email: string;
    token_hash: string;
    consent_recorded_at: Date;
    revoked_at: Date | null;
    created_at: Date;
  };
  wellbeing_reminders: {
    id: string;
    home_id: string;
    kind: 'medication' | 'hydration';
    label: string;
    /** Local time, HH:MM. */
    time_of_day: string;
    channel: 'sms' | 'voice';
    phone: string;
    active: boolean;
    created_at: Date;
  };
  wellbeing_prompts: {
    id: string;
    reminder_id: string;
    home_id: string;
    due_at: Date;
    status: 'sent' | 'confirmed' | 'missed';
    token_hash: string;
    answered_at: Date | null;
    created_at: Date;
  };
}

export const wellbeingMigrations: Record<string, Migration> = {
  '2026-11-25-0900-wellbeing': sqlMigration(`
    create table wellbeing_homes (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      resident_id uuid not null references residents (id),
      address text not null,
      status text not null default 'active' check (status in ('active', 'away', 'closed')),
      consent_recorded_at timestamptz not null,
      consent_recorded_by uuid not null references staff_users (id),
      consent_method text not null,
      family_view_consent boolean not null default false,
      escalation_minutes integer not null default 30,
      installed_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index wellbeing_homes_resident_idx on wellbeing_homes (resident_id);

    create table wellbeing_devices (
      id uuid primary key default gen_random_uuid(),
      home_id uuid not null references wellbeing_homes (id),
      device_ref text not null unique,
      role text not null check (role in ('hub', 'sensor')),
      kind text not null,
      room text,
      label text not null,
      key_hash text,
      key_version integer not null default 1,
      battery integer,
      last_seen_at timestamptz,
      active boolean not null default true,
      created_at timestamptz not null default now()
    );
    create index wellbeing_devices_home_idx on wellbeing_devices (home_id);

    -- Append-only: rows are inserted and never updated; (device, seq) keeps a resent reading out.
    create table wellbeing_events (
      id bigint generated always as identity primary key,
      home_id uuid not null,
      device_id uuid not null,
      seq bigint not null,
      type text not null,
      value double precision not null,
      battery smallint,
      occurred_at timestamptz not null,
      received_at timestamptz not null default now(),
      unique (device_id, seq)
    );
    create index wellbeing_events_home_time_idx on wellbeing_events (home_id, occurred_at);

    create table wellbeing_days (
      home_id uuid not null references wellbeing_homes (id),
      day date not null,
      features jsonb not null,
      computed_at timestamptz not null default now(),
      primary key (home_id, day)
    );

    create table wellbeing_routines (
      home_id uuid primary key references wellbeing_homes (id),
      model jsonb not null,
      learnt_at timestamptz not null default now()
    );

    create table wellbeing_alerts (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      home_id uuid not null references wellbeing_homes (id),
      resident_id uuid not null references residents (id),
      type text not null,
      severity text not null,
      status text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
      sensor_ref text,
      day date not null,
      explanation text not null,
      evidence jsonb not null default '{}',
      raised_at timestamptz not null default now(),
      acknowledged_at timestamptz,
      acknowledged_by uuid references staff_users (id),
      escalated_at timestamptz,
      resolved_at timestamptz,
      resolved_by uuid references staff_users (id),
      outcome text,
      false_alarm boolean not null default false
    );
    create index wellbeing_alerts_open_idx on wellbeing_alerts (status, raised_at);
    create index wellbeing_alerts_home_idx on wellbeing_alerts (home_id, type, day);

    create table wellbeing_alert_actions (
      id uuid primary key default gen_random_uuid(),
      alert_id uuid not null references wellbeing_alerts (id),
      action text not null,
      note text,
      staff_id uuid references staff_users (id),
      at timestamptz not null default now()
    );
    create index wellbeing_alert_actions_alert_idx on wellbeing_alert_actions (alert_id, at);

    create table wellbeing_family (
      id uuid primary key default gen_random_uuid(),
      home_id uuid not null references wellbeing_homes (id),
      name text not null,
      relationship text not null,
      email text not null,
      token_hash text not null unique,
      consent_recorded_at timestamptz not null,
      revoked_at timestamptz,
      created_at timestamptz not null default now()
    );

    create table wellbeing_reminders (
      id uuid primary key default gen_random_uuid(),
      home_id uuid not null references wellbeing_homes (id),
      kind text not null check (kind in ('medication', 'hydration')),
      label text not null,
      time_of_day text not null,
      channel text not null check (channel in ('sms', 'voice')),
      phone text not null,
      active boolean not null default true,
      created_at timestamptz not null default now()
    );

    create table wellbeing_prompts (
      id uuid primary key default gen_random_uuid(),
      reminder_id uuid not null references wellbeing_reminders (id),
      home_id uuid not null references wellbeing_homes (id),
      due_at timestamptz not null,
      status text not null default 'sent' check (status in ('sent', 'confirmed', 'missed')),
      token_hash text not null unique,
      answered_at timestamptz,
      created_at timestamptz not null default now(),
      unique (reminder_id, due_at)
    );
  `),
};
