import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

/** Open311's two states; the case keeps the finer status. */
export type OpenClosed = 'open' | 'closed';

export interface RequestsTables {
  street_reports: {
    case_id: string;
    reference: string;
    category: string;
    description: string | null;
    answers: unknown;
    lat: number;
    lng: number;
    usrn: string;
    street_name: string;
    ward_code: string;
    /** Only for address-based reports (missed bins); never shown publicly. */
    address: string | null;
    location_note: string | null;
    status: OpenClosed;
    case_status: string;
    channel: string;
    /** Open311 token or the app's idempotency key: one report per key. */
    token: string | null;
    service_notice: string;
    expected_at: Date | null;
    public: boolean;
    requested_at: Date;
    updated_at: Date;
  };
  street_report_photos: {
    id: number;
    case_id: string;
    file_id: string;
    kind: 'report' | 'fix';
    position: number;
    created_at: Date;
  };
  street_report_subscribers: {
    id: number;
    case_id: string;
    resident_id: string | null;
    email: string | null;
    /** A "me too" from someone who saw the same problem, or a follower. */
    reason: 'reporter' | 'me_too' | 'follow';
    created_at: Date;
  };
  street_report_updates: {
    id: number;
    case_id: string;
    happened_at: Date;
    kind: 'received' | 'status' | 'update';
    status: OpenClosed;
    case_status: string | null;
    title: string;
    text: string | null;
  };
}

export const requestsMigrations: Record<string, Migration> = {
  '2026-11-25-0300-street-reports': sqlMigration(`
    create table street_reports (
      case_id uuid primary key references cases (id) on delete cascade,
      reference text not null unique,
      category text not null,
      description text,
      answers jsonb not null default '{}',
      lat double precision not null check (lat between -90 and 90),
      lng double precision not null check (lng between -180 and 180),
      usrn text not null,
      street_name text not null,
      ward_code text not null,
      address text,
      location_note text,
      status text not null default 'open' check (status in ('open', 'closed')),
      case_status text not null default 'received',
      channel text not null,
      token text unique,
      service_notice text not null default '',
      expected_at timestamptz,
      public boolean not null default true,
      requested_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index street_reports_requested_idx on street_reports (requested_at desc);
    create index street_reports_status_requested_idx on street_reports (status, requested_at desc);
    create index street_reports_open_near_idx on street_reports (category, lat, lng) where status = 'open';
    create index street_reports_ward_idx on street_reports (ward_code, requested_at desc);

    create table street_report_photos (
      id bigint generated always as identity primary key,
      case_id uuid not null references street_reports (case_id) on delete cascade,
      file_id uuid not null references files (id),
      kind text not null check (kind in ('report', 'fix')),
      position int not null,
      created_at timestamptz not null default now()
    );
    create index street_report_photos_case_idx on street_report_photos (case_id, kind, position);

    create table street_report_subscribers (
      id bigint generated always as identity primary key,
      case_id uuid not null references street_reports (case_id) on delete cascade,
      resident_id uuid references residents (id) on delete cascade,
      email text,
      reason text not null check (reason in ('reporter', 'me_too', 'follow')),
      created_at timestamptz not null default now(),
      check (resident_id is not null or email is not null)
    );
    create unique index street_report_subscribers_resident_idx on street_report_subscribers (case_id, resident_id)
      where resident_id is not null;
    create unique index street_report_subscribers_email_idx on street_report_subscribers (case_id, lower(email))
      where email is not null;

    create table street_report_updates (
      id bigint generated always as identity primary key,
      case_id uuid not null references street_reports (case_id) on delete cascade,
      happened_at timestamptz not null,
      kind text not null check (kind in ('received', 'status', 'update')),
      status text not null check (status in ('open', 'closed')),
      case_status text,
      title text not null,
      text text,
      unique (case_id, happened_at, kind)
    );
    create index street_report_updates_time_idx on street_report_updates (happened_at);
  `),
};
