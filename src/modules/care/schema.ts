import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

export const organisationKinds = [
  'council',
  'gp_practice',
  'hospital',
  'education',
  'voluntary',
  'community',
] as const;
export type OrganisationKind = (typeof organisationKinds)[number];

export const referralKinds = ['adult', 'carer', 'child'] as const;
export type ReferralKind = (typeof referralKinds)[number];

export const priorities = ['routine', 'priority', 'urgent'] as const;
export type Priority = (typeof priorities)[number];

export interface CareTables {
  care_organisations: {
    id: string;
    name: string;
    description: string;
    kind: OrganisationKind;
    /** NHS Organisation Data Service code, for GP practices and hospitals. */
    ods_code: string | null;
    email: string | null;
    url: string | null;
    phone: string | null;
    created_at: Date;
    updated_at: Date;
  };
  care_taxonomy_terms: {
    id: string;
    term: string;
    description: string;
    vocabulary: string;
  };
  care_services: {
    id: string;
    organisation_id: string;
    name: string;
    description: string;
    url: string | null;
    email: string | null;
    phone: string | null;
    status: 'active' | 'inactive';
    fees_description: string | null;
    eligibility_description: string | null;
    minimum_age: number | null;
    maximum_age: number | null;
    created_at: Date;
    updated_at: Date;
  };
  care_service_taxonomies: { service_id: string; term_id: string };
  care_locations: {
    id: string;
    organisation_id: string | null;
    name: string;
    address_1: string;
    city: string;
    postcode: string;
    latitude: number;
    longitude: number;
  };
  care_service_locations: { service_id: string; location_id: string };
  care_referral_drafts: { id: string; data: unknown; created_at: Date; updated_at: Date };
  care_referrals: {
    id: string;
    case_id: string;
    reference: string;
    resident_id: string | null;
    kind: ReferralKind;
    for_self: boolean;
    subject_name: string;
    subject_date_of_birth: string | null;
    contact_email: string | null;
    answers: unknown;
    triage_score: number;
    priority: Priority;
    team_code: string;
    safeguarding: boolean;
    immediate_risk: boolean;
    created_at: Date;
  };
  care_people: {
    id: string;
    nhs_number: string | null;
    given_name: string;
    family_name: string;
    date_of_birth: string;
    gender: 'male' | 'female' | 'other' | 'unknown';
    address: string | null;
    postcode: string | null;
    phone: string | null;
    resident_id: string | null;
    sharing_objection: boolean;
    objection_recorded_at: Date | null;
    created_at: Date;
    updated_at: Date;
    /** FHIR meta.versionId: 1 when made, one more at each change (older versions in care_resource_versions). */
    version_id: number;
  };
  care_practitioners: {
    id: string;
    staff_user_id: string | null;
    name: string;
    email: string | null;
    organisation_id: string;
    role: string;
    created_at: Date;
  };
  care_team_members: {
    person_id: string;
    practitioner_id: string;
    role: string;
    added_at: Date;
  };
  care_related_people: {
    id: string;
    person_id: string;
    name: string;
    relationship: string;
    phone: string | null;
    email: string | null;
    emergency_contact: boolean;
    created_at: Date;
  };
  care_conditions: {
    id: string;
    person_id: string;
    code: string | null;
    display: string;
    clinical_status: 'active' | 'inactive' | 'resolved';
    onset_date: string | null;
    recorded_by: string | null;
    recorded_at: Date;
  };
  care_medications: {
    id: string;
    person_id: string;
    code: string | null;
    display: string;
    dosage: string | null;
    status: 'active' | 'completed' | 'stopped';
    effective_from: string | null;
    recorded_by: string | null;
    recorded_at: Date;
  };
  care_plans: {
    id: string;
    person_id: string;
    title: string;
    description: string;
    status: 'draft' | 'active' | 'completed' | 'revoked';
    period_start: string | null;
    period_end: string | null;
    author_id: string | null;
    created_at: Date;
    updated_at: Date;
    version_id: number;
  };
  care_encounters: {
    id: string;
    person_id: string;
    practitioner_id: string | null;
    organisation_id: string | null;
    kind: string;
    status: 'planned' | 'in-progress' | 'finished' | 'cancelled';
    start_at: Date;
    end_at: Date | null;
    notes: string | null;
    created_at: Date;
    updated_at: Date;
    version_id: number;
  };
  care_observations: {
    id: number;
    person_id: string;
    code: string;
    display: string;
    value_text: string | null;
    value_quantity: number | null;
    unit: string | null;
    effective_at: Date;
    source: string;
    alert_id: string | null;
    created_at: Date;
  };
  care_flags: {
    id: string;
    person_id: string;
    code: string;
    display: string;
    category: string;
    status: 'active' | 'inactive';
    alert_id: string | null;
    period_start: Date;
    period_end: Date | null;
    created_at: Date;
    updated_at: Date;
    version_id: number;
  };
  care_documents: {
    id: string;
    person_id: string;
    title: string;
    file_id: string;
    media_type: string;
    author_id: string | null;
    created_at: Date;
  };
  care_break_glass: {
    id: string;
    person_id: string;
    /** Who broke the glass: a member of staff in the back office, or a practitioner through the FHIR API. */
    staff_user_id: string | null;
    practitioner_id: string | null;
    client_id: string | null;
    reason: string;
    vital_interest: boolean;
    expires_at: Date;
    created_at: Date;
    reported_at: Date | null;
  };
  care_budgets: {
    id: string;
    person_id: string;
    period_start: string;
    period_end: string;
    amount_pence: number;
    created_at: Date;
  };
  care_budget_spend: {
    id: string;
    budget_id: string;
    spent_on: string;
    description: string;
    amount_pence: number;
    receipt_file_id: string | null;
    recorded_by_type: string;
    recorded_by_id: string | null;
    created_at: Date;
  };
  /** Earlier versions of the record's changeable rows (FHIR history); the current one is in its table. */
  care_resource_versions: {
    table_name: 'care_people' | 'care_plans' | 'care_encounters' | 'care_flags';
    resource_id: string;
    version_id: number;
    person_id: string;
    row: Record<string, unknown>;
    replaced_at: Date;
  };
  care_api_clients: {
    id: string;
    client_id: string;
    secret_hash: string;
    name: string;
    practitioner_id: string;
    scopes: string[];
    created_by: string | null;
    created_at: Date;
    revoked_at: Date | null;
  };
  care_api_tokens: {
    token_hash: string;
    client_id: string;
    practitioner_id: string;
    scopes: string[];
    expires_at: Date;
    created_at: Date;
  };
}

export const careMigrations: Record<string, Migration> = {
  '2026-11-25-0800-care': sqlMigration(`
    insert into teams (code, name) values
      ('adult-social-care', 'Adult social care'),
      ('childrens-social-care', 'Children''s social care'),
      ('care-duty', 'Social care duty team')
    on conflict (code) do nothing;

    create table care_organisations (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      description text not null default '',
      kind text not null default 'community'
        check (kind in ('council', 'gp_practice', 'hospital', 'education', 'voluntary', 'community')),
      ods_code text,
      email text,
      url text,
      phone text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index care_organisations_name_idx on care_organisations (lower(name));

    create table care_taxonomy_terms (
      id text primary key,
      term text not null,
      description text not null default '',
      vocabulary text not null default 'kiln-needs'
    );

    create table care_services (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references care_organisations (id) on delete cascade,
      name text not null,
      description text not null default '',
      url text,
      email text,
      phone text,
      status text not null default 'active' check (status in ('active', 'inactive')),
      fees_description text,
      eligibility_description text,
      minimum_age int,
      maximum_age int,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index care_services_org_idx on care_services (organisation_id);

    create table care_service_taxonomies (
      service_id uuid not null references care_services (id) on delete cascade,
      term_id text not null references care_taxonomy_terms (id) on delete cascade,
      primary key (service_id, term_id)
    );
    create index care_service_taxonomies_term_idx on care_service_taxonomies (term_id);

    create table care_locations (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid references care_organisations (id) on delete cascade,
      name text not null,
      address_1 text not null,
      city text not null,
      postcode text not null,
      latitude double precision not null,
      longitude double precision not null
    );

    create table care_service_locations (
      service_id uuid not null references care_services (id) on delete cascade,
      location_id uuid not null references care_locations (id) on delete cascade,
      primary key (service_id, location_id)
    );

    create table care_referral_drafts (
      id uuid primary key default gen_random_uuid(),
      data jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table care_referrals (
      id uuid primary key default gen_random_uuid(),
      case_id uuid not null unique references cases (id) on delete cascade,
      reference text not null unique,
      resident_id uuid references residents (id) on delete set null,
      kind text not null check (kind in ('adult', 'carer', 'child')),
      for_self boolean not null,
      subject_name text not null,
      subject_date_of_birth date,
      contact_email text,
      answers jsonb not null default '{}',
      triage_score int not null,
      priority text not null check (priority in ('routine', 'priority', 'urgent')),
      team_code text not null references teams (code),
      safeguarding boolean not null default false,
      immediate_risk boolean not null default false,
      created_at timestamptz not null default now()
    );
    create index care_referrals_resident_idx on care_referrals (resident_id, created_at desc);

    create table care_people (
      id uuid primary key default gen_random_uuid(),
      nhs_number text unique,
      given_name text not null,
      family_name text not null,
      date_of_birth date not null,
      gender text not null default 'unknown' check (gender in ('male', 'female', 'other', 'unknown')),
      address text,
      postcode text,
      phone text,
      resident_id uuid references residents (id) on delete set null,
      sharing_objection boolean not null default false,
      objection_recorded_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index care_people_family_idx on care_people (lower(family_name), lower(given_name));
    create index care_people_dob_idx on care_people (date_of_birth);
    create index care_people_resident_idx on care_people (resident_id);

    create table care_practitioners (
      id uuid primary key default gen_random_uuid(),
      staff_user_id uuid unique references staff_users (id),
      name text not null,
      email text,
      organisation_id uuid not null references care_organisations (id),
      role text not null default '',
      created_at timestamptz not null default now()
    );

    create table care_team_members (
      person_id uuid not null references care_people (id) on delete cascade,
      practitioner_id uuid not null references care_practitioners (id) on delete cascade,
      role text not null default '',
      added_at timestamptz not null default now(),
      primary key (person_id, practitioner_id)
    );
    create index care_team_members_practitioner_idx on care_team_members (practitioner_id);

    create table care_related_people (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      name text not null,
      relationship text not null,
      phone text,
      email text,
      emergency_contact boolean not null default false,
      created_at timestamptz not null default now()
    );
    create index care_related_people_person_idx on care_related_people (person_id);

    create table care_conditions (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      code text,
      display text not null,
      clinical_status text not null default 'active' check (clinical_status in ('active', 'inactive', 'resolved')),
      onset_date date,
      recorded_by uuid references care_practitioners (id),
      recorded_at timestamptz not null default now()
    );
    create index care_conditions_person_idx on care_conditions (person_id);

    create table care_medications (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      code text,
      display text not null,
      dosage text,
      status text not null default 'active' check (status in ('active', 'completed', 'stopped')),
      effective_from date,
      recorded_by uuid references care_practitioners (id),
      recorded_at timestamptz not null default now()
    );
    create index care_medications_person_idx on care_medications (person_id);

    create table care_plans (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      title text not null,
      description text not null default '',
      status text not null default 'active' check (status in ('draft', 'active', 'completed', 'revoked')),
      period_start date,
      period_end date,
      author_id uuid references care_practitioners (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index care_plans_person_idx on care_plans (person_id);

    create table care_encounters (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      practitioner_id uuid references care_practitioners (id),
      organisation_id uuid references care_organisations (id),
      kind text not null,
      status text not null default 'finished' check (status in ('planned', 'in-progress', 'finished', 'cancelled')),
      start_at timestamptz not null,
      end_at timestamptz,
      notes text,
      created_at timestamptz not null default now()
    );
    create index care_encounters_person_idx on care_encounters (person_id, start_at desc);

    create table care_observations (
      id bigint generated always as identity primary key,
      person_id uuid not null references care_people (id) on delete cascade,
      code text not null,
      display text not null,
      value_text text,
      value_quantity double precision,
      unit text,
      effective_at timestamptz not null,
      source text not null default 'manual',
      alert_id text unique,
      created_at timestamptz not null default now()
    );
    create index care_observations_person_idx on care_observations (person_id, effective_at desc);

    create table care_flags (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      code text not null,
      display text not null,
      category text not null default 'safety',
      status text not null default 'active' check (status in ('active', 'inactive')),
      alert_id text unique,
      period_start timestamptz not null default now(),
      period_end timestamptz,
      created_at timestamptz not null default now()
    );
    create index care_flags_person_idx on care_flags (person_id, status);

    create table care_documents (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      title text not null,
      file_id uuid not null references files (id),
      media_type text not null,
      author_id uuid references care_practitioners (id),
      created_at timestamptz not null default now()
    );
    create index care_documents_person_idx on care_documents (person_id);

    create table care_break_glass (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      staff_user_id uuid not null references staff_users (id),
      reason text not null,
      vital_interest boolean not null default false,
      expires_at timestamptz not null,
      created_at timestamptz not null default now(),
      reported_at timestamptz
    );
    create index care_break_glass_staff_idx on care_break_glass (staff_user_id, person_id, expires_at desc);

    create table care_budgets (
      id uuid primary key default gen_random_uuid(),
      person_id uuid not null references care_people (id) on delete cascade,
      period_start date not null,
      period_end date not null,
      amount_pence int not null check (amount_pence >= 0),
      created_at timestamptz not null default now()
    );
    create index care_budgets_person_idx on care_budgets (person_id);

    create table care_budget_spend (
      id uuid primary key default gen_random_uuid(),
      budget_id uuid not null references care_budgets (id) on delete cascade,
      spent_on date not null,
      description text not null,
      amount_pence int not null check (amount_pence > 0),
      receipt_file_id uuid references files (id),
      recorded_by_type text not null,
      recorded_by_id text,
      created_at timestamptz not null default now()
    );
    create index care_budget_spend_budget_idx on care_budget_spend (budget_id, spent_on desc);

    create table care_api_clients (
      id uuid primary key default gen_random_uuid(),
      client_id text not null unique,
      secret_hash text not null,
      name text not null,
      practitioner_id uuid not null references care_practitioners (id),
      scopes text[] not null,
      created_by uuid references staff_users (id),
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    );

    create table care_api_tokens (
      token_hash text primary key,
      client_id uuid not null references care_api_clients (id) on delete cascade,
      practitioner_id uuid not null references care_practitioners (id),
      scopes text[] not null,
      expires_at timestamptz not null,
      created_at timestamptz not null default now()
    );
    create index care_api_tokens_expires_idx on care_api_tokens (expires_at);
  `),
  // FHIR history: a version number and a change time on each row that can change, the earlier
  // versions kept whole; break the glass through the FHIR API, by a practitioner's client.
  '2026-11-25-2200-care-history-and-api-break-glass': sqlMigration(`
    alter table care_people add column version_id integer not null default 1;
    alter table care_plans add column version_id integer not null default 1;
    alter table care_encounters add column version_id integer not null default 1;
    alter table care_encounters add column updated_at timestamptz not null default now();
    update care_encounters set updated_at = created_at;
    alter table care_flags add column version_id integer not null default 1;
    alter table care_flags add column updated_at timestamptz not null default now();
    update care_flags set updated_at = created_at;

    create table care_resource_versions (
      table_name text not null check (table_name in ('care_people', 'care_plans', 'care_encounters', 'care_flags')),
      resource_id uuid not null,
      version_id integer not null,
      person_id uuid not null references care_people (id) on delete cascade,
      row jsonb not null,
      replaced_at timestamptz not null default now(),
      primary key (table_name, resource_id, version_id)
    );
    create index care_resource_versions_person_idx on care_resource_versions (person_id);

    alter table care_break_glass alter column staff_user_id drop not null;
    alter table care_break_glass add column practitioner_id uuid references care_practitioners (id);
    alter table care_break_glass add column client_id text;
    alter table care_break_glass add constraint care_break_glass_who
      check ((staff_user_id is null) <> (practitioner_id is null));
    create index care_break_glass_practitioner_idx on care_break_glass (practitioner_id, person_id, expires_at desc)
      where practitioner_id is not null;
  `),
};
