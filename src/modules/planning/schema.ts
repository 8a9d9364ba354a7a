import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

/** The kinds of application Kiln takes online, keyed by the Open Digital Planning type value. */
export const applicationTypes = [
  'pp.full.householder',
  'pp.full.minor',
  'pp.full.major',
  'ldc.proposed',
  'pa.part1.classA',
  'wtt.consent',
  'wtt.notice',
] as const;
export type ApplicationType = (typeof applicationTypes)[number];

/**
 * Where an application is. A draft is the applicant's; from `submitted` it is the council's.
 * `invalid` goes back to the applicant, who fixes it and resubmits.
 */
export const applicationStatuses = [
  'draft',
  'awaiting_payment',
  'submitted',
  'invalid',
  'valid',
  'decided',
  'withdrawn',
] as const;
export type ApplicationStatus = (typeof applicationStatuses)[number];

export type Decision = 'granted' | 'refused';
export type Stance = 'support' | 'object' | 'neutral';

/** A day in Europe/London as YYYY-MM-DD (kept as text so both databases return the same value). */
export type Day = string;

export interface ApplicantDetails {
  type: 'individual' | 'company' | 'charity' | 'public' | 'parishCouncil';
  firstName: string;
  lastName: string;
  company?: string;
  email: string;
  phone: string;
  /** The applicant's own address when it is not the site. */
  address?: { line1: string; town: string; postcode: string } | null;
  ownership: 'a' | 'b';
  connection: 'none' | 'employee' | 'relation.employee' | 'electedMember' | 'relation.electedMember';
  connectionDescription?: string;
}

export interface AgentDetails {
  firstName: string;
  lastName: string;
  company?: string;
  email: string;
  phone: string;
  address: { line1: string; town: string; postcode: string };
}

export interface PlanningTables {
  planning_applications: {
    id: string;
    reference: string;
    application_type: ApplicationType | null;
    status: ApplicationStatus;
    /** The account that made the application: the applicant, or an agent applying for a client. */
    resident_id: string | null;
    user_role: 'applicant' | 'agent';
    applicant: ApplicantDetails | null;
    agent: AgentDetails | null;
    uprn: string | null;
    usrn: string | null;
    address_text: string | null;
    postcode: string | null;
    /** Lower-case forms for the register's prefix searches. */
    address_key: string | null;
    street_key: string | null;
    ward_code: string | null;
    lat: number | null;
    lng: number | null;
    /** The red line boundary, a GeoJSON Feature with a Polygon, drawn on the map. */
    site_boundary: unknown;
    site_area_m2: number | null;
    /** Without JavaScript, a location plan upload stands in for the drawn boundary. */
    location_plan_file_id: string | null;
    description: string | null;
    /** The branching answers of the chosen type (project types, sizes, trees). */
    answers: Record<string, unknown>;
    /** Fee questions: exemptions and concessions claimed. */
    fee_answers: Record<string, unknown>;
    fee_pence: number | null;
    payment_id: string | null;
    paid_at: Date | null;
    declared_at: Date | null;
    submitted_at: Date | null;
    /** First submission: the register's "received" date. */
    received_at: Date | null;
    invalid_reasons: string | null;
    validated_at: Date | null;
    valid_from: Day | null;
    determination_due: Day | null;
    extension_due: Day | null;
    extension_note: string | null;
    consultation_start: Day | null;
    consultation_end: Day | null;
    site_notice_on: Day | null;
    officer_id: string | null;
    officer_report: string | null;
    recommendation: Decision | null;
    decision: Decision | null;
    /** Conditions of a grant, or reasons for a refusal, in order. */
    decision_terms: string[] | null;
    decided_at: Date | null;
    decided_by: string | null;
    decision_notice_file_id: string | null;
    /** The neighbour notification letters printed when the consultation started, one page an address. */
    neighbour_letters_file_id: string | null;
    /** The Open Digital Planning application document, as last submitted. */
    odp: unknown;
    created_at: Date;
    updated_at: Date;
  };
  planning_documents: {
    id: string;
    application_id: string;
    file_id: string;
    /** An officer's copy with personal data blacked out; the public sees this one when set. */
    redacted_file_id: string | null;
    doc_type: string;
    name: string;
    published: boolean;
    uploaded_by_staff: string | null;
    created_at: Date;
  };
  planning_consultations: {
    id: string;
    application_id: string;
    kind: 'neighbour' | 'consultee';
    name: string;
    address_text: string | null;
    email: string | null;
    method: 'letter' | 'email';
    sent_at: Date;
    response: string | null;
    responded_at: Date | null;
  };
  planning_comments: {
    id: string;
    application_id: string;
    name: string;
    /** Never published: only the officer sees where a commenter lives. */
    address_text: string;
    email: string | null;
    stance: Stance;
    text: string;
    status: 'published' | 'withheld' | 'pending';
    moderation_note: string | null;
    moderated_by: string | null;
    created_at: Date;
  };
  /** Who has been told of which change of status: each person once for each change. */
  planning_status_notices: {
    application_id: string;
    event_id: number;
    email: string;
    sent_at: Date;
  };
  planning_events: {
    id: number;
    application_id: string;
    kind: string;
    description: string;
    public: boolean;
    at: Date;
  };
}

export const planningMigrations: Record<string, Migration> = {
  '2026-11-25-0700-planning': sqlMigration(`
    create sequence planning_reference_seq;

    create table planning_applications (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      application_type text check (application_type in
        ('pp.full.householder', 'pp.full.minor', 'pp.full.major', 'ldc.proposed', 'pa.part1.classA', 'wtt.consent', 'wtt.notice')),
      status text not null default 'draft' check (status in
        ('draft', 'awaiting_payment', 'submitted', 'invalid', 'valid', 'decided', 'withdrawn')),
      resident_id uuid references residents (id) on delete set null,
      user_role text not null default 'applicant' check (user_role in ('applicant', 'agent')),
      applicant jsonb,
      agent jsonb,
      uprn text,
      usrn text,
      address_text text,
      postcode text,
      address_key text,
      street_key text,
      ward_code text,
      lat double precision,
      lng double precision,
      site_boundary jsonb,
      site_area_m2 double precision,
      location_plan_file_id uuid references files (id),
      description text,
      answers jsonb not null default '{}',
      fee_answers jsonb not null default '{}',
      fee_pence int check (fee_pence >= 0),
      payment_id uuid,
      paid_at timestamptz,
      declared_at timestamptz,
      submitted_at timestamptz,
      received_at timestamptz,
      invalid_reasons text,
      validated_at timestamptz,
      valid_from text check (valid_from ~ '^\\d{4}-\\d{2}-\\d{2}$'),
      determination_due text check (determination_due ~ '^\\d{4}-\\d{2}-\\d{2}$'),
      extension_due text check (extension_due ~ '^\\d{4}-\\d{2}-\\d{2}$'),
      extension_note text,
      consultation_start text check (consultation_start ~ '^\\d{4}-\\d{2}-\\d{2}$'),
      consultation_end text check (consultation_end ~ '^\\d{4}-\\d{2}-\\d{2}$'),
      site_notice_on text check (site_notice_on ~ '^\\d{4}-\\d{2}-\\d{2}$'),
      officer_id uuid references staff_users (id),
      officer_report text,
      recommendation text check (recommendation in ('granted', 'refused')),
      decision text check (decision in ('granted', 'refused')),
      decision_terms jsonb,
      decided_at timestamptz,
      decided_by uuid references staff_users (id),
      decision_notice_file_id uuid references files (id),
      odp jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index planning_applications_resident_idx on planning_applications (resident_id, updated_at desc);
    create index planning_applications_status_idx on planning_applications (status, received_at);
    -- The register: address and street prefixes, and ward with a date range.
    create index planning_applications_address_idx on planning_applications (address_key text_pattern_ops)
      where received_at is not null;
    create index planning_applications_street_idx on planning_applications (street_key text_pattern_ops, received_at desc)
      where received_at is not null;
    create index planning_applications_postcode_idx on planning_applications (postcode, received_at desc)
      where received_at is not null;
    create index planning_applications_ward_idx on planning_applications (ward_code, received_at desc)
      where received_at is not null;
    create index planning_applications_received_idx on planning_applications (received_at desc)
      where received_at is not null;
    create index planning_applications_decided_idx on planning_applications (decided_at desc)
      where decided_at is not null;

    create table planning_documents (
      id uuid primary key default gen_random_uuid(),
      application_id uuid not null references planning_applications (id) on delete cascade,
      file_id uuid not null references files (id),
      redacted_file_id uuid references files (id),
      doc_type text not null,
      name text not null,
      published boolean not null default true,
      uploaded_by_staff uuid references staff_users (id),
      created_at timestamptz not null default now()
    );
    create index planning_documents_application_idx on planning_documents (application_id, created_at);

    create table planning_consultations (
      id uuid primary key default gen_random_uuid(),
      application_id uuid not null references planning_applications (id) on delete cascade,
      kind text not null check (kind in ('neighbour', 'consultee')),
      name text not null,
      address_text text,
      email text,
      method text not null check (method in ('letter', 'email')),
      sent_at timestamptz not null default now(),
      response text,
      responded_at timestamptz
    );
    create index planning_consultations_application_idx on planning_consultations (application_id);

    create table planning_comments (
      id uuid primary key default gen_random_uuid(),
      application_id uuid not null references planning_applications (id) on delete cascade,
      name text not null,
      address_text text not null,
      email text,
      stance text not null check (stance in ('support', 'object', 'neutral')),
      text text not null,
      status text not null check (status in ('published', 'withheld', 'pending')),
      moderation_note text,
      moderated_by uuid references staff_users (id),
      created_at timestamptz not null default now()
    );
    create index planning_comments_application_idx on planning_comments (application_id, created_at);

    create table planning_events (
      id bigserial primary key,
      application_id uuid not null references planning_applications (id) on delete cascade,
      kind text not null,
      description text not null,
      public boolean not null default true,
      at timestamptz not null default now()
    );
    create index planning_events_application_idx on planning_events (application_id, id);
  `),
  '2026-11-26-0900-planning-letters-and-notices': sqlMigration(`
    alter table planning_applications add column neighbour_letters_file_id uuid references files (id);

    create table planning_status_notices (
      application_id uuid not null references planning_applications (id) on delete cascade,
      event_id bigint not null,
      email text not null,
      sent_at timestamptz not null default now(),
      primary key (application_id, event_id, email)
    );
  `),
};
