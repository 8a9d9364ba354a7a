import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

export const questionKinds = ['single', 'multiple', 'text', 'scale'] as const;
export type QuestionKind = (typeof questionKinds)[number];

export const consultationStatuses = ['draft', 'published', 'closed'] as const;
export type ConsultationStatus = (typeof consultationStatuses)[number];

/** How a response reached the council: online, or entered by staff from an in-person session. */
export const responseChannels = ['web', 'face_to_face', 'phone', 'letter', 'email'] as const;
export type ResponseChannel = (typeof responseChannels)[number];

export const placeKinds = ['library', 'community_lounge', 'partner'] as const;
export type PlaceKind = (typeof placeKinds)[number];
export const placeOffers = ['wifi', 'computers', 'skills', 'printing'] as const;
export type PlaceOffer = (typeof placeOffers)[number];

export const deviceKinds = ['laptop', 'tablet', 'hotspot'] as const;
export type DeviceKind = (typeof deviceKinds)[number];
export const deviceStatuses = ['available', 'on_loan', 'repair', 'retired'] as const;
export type DeviceStatus = (typeof deviceStatuses)[number];

export const siteKinds = [
  'office',
  'library',
  'community_centre',
  'leisure_centre',
  'depot',
  'school',
  'care_home',
  'gp_surgery',
] as const;
export type SiteKind = (typeof siteKinds)[number];
export const fibreStatuses = ['not_planned', 'planned', 'in_build', 'connected'] as const;
export type FibreStatus = (typeof fibreStatuses)[number];

/** One day's opening hours; day 1 is Monday, times are London wall-clock "HH:MM". */
export interface OpeningHours {
  day: number;
  opens: string;
  closes: string;
}

export interface EngageTables {
  engage_consultations: {
    id: string;
    reference: string;
    slug: string;
    title: string;
    summary: string;
    background: string;
    status: ConsultationStatus;
    opens_at: Date | null;
    closes_at: Date | null;
    closed_at: Date | null;
    one_per_person: boolean;
    equality_monitoring: boolean;
    you_said: string | null;
    we_did: string | null;
    decision_title: string | null;
    decision_url: string | null;
    changed_service_slug: string | null;
    outcome_published_at: Date | null;
    created_by: string | null;
    created_at: Date;
    updated_at: Date;
  };
  engage_questions: {
    id: string;
    consultation_id: string;
    position: number;
    kind: QuestionKind;
    text: string;
    hint: string;
    options: string[];
    required: boolean;
  };
  engage_documents: {
    id: string;
    consultation_id: string;
    file_id: string;
    title: string;
    media_type: string;
    size_bytes: number;
    created_at: Date;
  };
  engage_events: {
    id: string;
    consultation_id: string;
    title: string;
    place: string;
    starts_at: Date;
    ends_at: Date;
    /** What the bookings module calls the bookable thing, when places are booked through it. */
    booking_reference: string | null;
  };
  engage_responses: {
    id: string;
    reference: string;
    consultation_id: string;
    status: 'draft' | 'submitted';
    channel: ResponseChannel;
    resident_id: string | null;
    /** Hash of the per-browser token for anonymous respondents (one per person, save and return). */
    browser_hash: string | null;
    /** Hash of the token in a "come back later" link. */
    resume_hash: string | null;
    answers: Record<string, string | string[]>;
    equality: Record<string, string>;
    email: string | null;
    entered_by: string | null;
    submitted_at: Date | null;
    created_at: Date;
    updated_at: Date;
  };
  engage_themes: {
    id: string;
    consultation_id: string;
    question_id: string;
    name: string;
  };
  engage_response_themes: {
    response_id: string;
    theme_id: string;
  };
  engage_places: {
    id: string;
    slug: string;
    name: string;
    kind: PlaceKind;
    address: string;
    postcode: string;
    lat: number;
    lng: number;
    offers: PlaceOffer[];
    opening_hours: OpeningHours[];
    phone: string | null;
    description: string;
    /** What the bookings module calls this place's bookable PCs or classes, if any. */
    booking_reference: string | null;
  };
  engage_devices: {
    id: string;
    asset_tag: string;
    kind: DeviceKind;
    model: string;
    status: DeviceStatus;
    notes: string;
    created_at: Date;
  };
  engage_loans: {
    id: string;
    reference: string;
    device_id: string;
    resident_id: string | null;
    borrower_name: string;
    borrower_email: string | null;
    borrower_phone: string | null;
    eligibility: string;
    lent_at: Date;
    due_at: Date;
    returned_at: Date | null;
    return_condition: string | null;
    lent_by: string;
    returned_to: string | null;
    reminders_sent: number;
    last_reminded_at: Date | null;
  };
  engage_sites: {
    id: string;
    code: string;
    name: string;
    kind: SiteKind;
    /** Council-run, or a partner (school, care home, surgery) served by the municipal network. */
    council_owned: boolean;
    postcode: string;
    fibre_status: FibreStatus;
    planned_date: string | null;
    connected_date: string | null;
    bandwidth_mbps: number | null;
    updated_at: Date;
  };
}

export const engageMigrations: Record<string, Migration> = {
  '2026-11-25-1200-engage': sqlMigration(`
    create table engage_consultations (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      slug text not null unique,
      title text not null,
      summary text not null default '',
      background text not null default '',
      status text not null default 'draft' check (status in ('draft', 'published', 'closed')),
      opens_at timestamptz,
      closes_at timestamptz,
      closed_at timestamptz,
      one_per_person boolean not null default true,
      equality_monitoring boolean not null default false,
      you_said text,
      we_did text,
      decision_title text,
      decision_url text,
      changed_service_slug text,
      outcome_published_at timestamptz,
      created_by uuid references staff_users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index engage_consultations_status_idx on engage_consultations (status, closes_at);

    create table engage_questions (
      id uuid primary key default gen_random_uuid(),
      consultation_id uuid not null references engage_consultations (id) on delete cascade,
      position int not null,
      kind text not null check (kind in ('single', 'multiple', 'text', 'scale')),
      text text not null,
      hint text not null default '',
      options jsonb not null default '[]',
      required boolean not null default false
    );
    create index engage_questions_consultation_idx on engage_questions (consultation_id, position);

    create table engage_documents (
      id uuid primary key default gen_random_uuid(),
      consultation_id uuid not null references engage_consultations (id) on delete cascade,
      file_id uuid not null references files (id),
      title text not null,
      media_type text not null,
      size_bytes int not null,
      created_at timestamptz not null default now()
    );
    create index engage_documents_consultation_idx on engage_documents (consultation_id);

    create table engage_events (
      id uuid primary key default gen_random_uuid(),
      consultation_id uuid not null references engage_consultations (id) on delete cascade,
      title text not null,
      place text not null,
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      booking_reference text
    );
    create index engage_events_consultation_idx on engage_events (consultation_id, starts_at);

    create table engage_responses (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      consultation_id uuid not null references engage_consultations (id) on delete cascade,
      status text not null default 'draft' check (status in ('draft', 'submitted')),
      channel text not null check (channel in ('web', 'face_to_face', 'phone', 'letter', 'email')),
      resident_id uuid references residents (id) on delete set null,
      browser_hash text,
      resume_hash text unique,
      answers jsonb not null default '{}',
      equality jsonb not null default '{}',
      email text,
      entered_by uuid references staff_users (id),
      submitted_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    -- "One per person" is checked with the consultation row locked, since some allow several.
    create index engage_responses_resident_idx on engage_responses (consultation_id, resident_id)
      where resident_id is not null;
    create index engage_responses_browser_idx on engage_responses (consultation_id, browser_hash)
      where browser_hash is not null;
    create index engage_responses_submitted_idx on engage_responses (consultation_id, status, submitted_at);

    create table engage_themes (
      id uuid primary key default gen_random_uuid(),
      consultation_id uuid not null references engage_consultations (id) on delete cascade,
      question_id uuid not null references engage_questions (id) on delete cascade,
      name text not null,
      unique (question_id, name)
    );

    create table engage_response_themes (
      response_id uuid not null references engage_responses (id) on delete cascade,
      theme_id uuid not null references engage_themes (id) on delete cascade,
      primary key (response_id, theme_id)
    );

    create table engage_places (
      id uuid primary key default gen_random_uuid(),
      slug text not null unique,
      name text not null,
      kind text not null check (kind in ('library', 'community_lounge', 'partner')),
      address text not null,
      postcode text not null,
      lat double precision not null,
      lng double precision not null,
      offers jsonb not null default '[]',
      opening_hours jsonb not null default '[]',
      phone text,
      description text not null default '',
      booking_reference text
    );

    create table engage_devices (
      id uuid primary key default gen_random_uuid(),
      asset_tag text not null unique,
      kind text not null check (kind in ('laptop', 'tablet', 'hotspot')),
      model text not null,
      status text not null default 'available' check (status in ('available', 'on_loan', 'repair', 'retired')),
      notes text not null default '',
      created_at timestamptz not null default now()
    );

    create table engage_loans (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      device_id uuid not null references engage_devices (id),
      resident_id uuid references residents (id) on delete set null,
      borrower_name text not null,
      borrower_email text,
      borrower_phone text,
      eligibility text not null,
      lent_at timestamptz not null default now(),
      due_at timestamptz not null,
      returned_at timestamptz,
      return_condition text,
      lent_by uuid not null references staff_users (id),
      returned_to uuid references staff_users (id),
      reminders_sent int not null default 0,
      last_reminded_at timestamptz
    );
    -- A device is on one loan at a time.
    create unique index engage_loans_open_idx on engage_loans (device_id) where returned_at is null;
    create index engage_loans_due_idx on engage_loans (due_at) where returned_at is null;

    create table engage_sites (
      id uuid primary key default gen_random_uuid(),
      code text not null unique,
      name text not null,
      kind text not null check (kind in ('office', 'library', 'community_centre', 'leisure_centre', 'depot', 'school', 'care_home', 'gp_surgery')),
      council_owned boolean not null,
      postcode text not null,
      fibre_status text not null default 'not_planned' check (fibre_status in ('not_planned', 'planned', 'in_build', 'connected')),
      -- Calendar days as YYYY-MM-DD text: the same on PGlite and node-postgres, no time zone.
      planned_date text check (planned_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
      connected_date text check (connected_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
      bandwidth_mbps int,
      updated_at timestamptz not null default now()
    );
  `),
};
