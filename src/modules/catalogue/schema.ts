import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

export type ServiceStatus = 'draft' | 'live' | 'retired';

export interface CatalogueTables {
  catalogue_services: {
    id: string;
    slug: string;
    status: ServiceStatus;
    /** The definition being edited; the live version is untouched until it is published. */
    draft: unknown;
    draft_changed: boolean;
    live_version: number | null;
    created_at: Date;
    updated_at: Date;
  };
  catalogue_service_versions: {
    service_id: string;
    version: number;
    /** Immutable once published: submissions record the version they were made against. */
    definition: unknown;
    published_at: Date;
    published_by: string | null;
  };
  form_drafts: {
    resident_id: string;
    service_slug: string;
    answers: unknown;
    updated_at: Date;
  };
}

export const catalogueMigrations: Record<string, Migration> = {
  '2026-11-25-0100-catalogue': sqlMigration(`
    create table catalogue_services (
      id uuid primary key default gen_random_uuid(),
      slug text not null unique,
      status text not null default 'draft' check (status in ('draft', 'live', 'retired')),
      draft jsonb not null,
      draft_changed boolean not null default true,
      live_version int,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table catalogue_service_versions (
      service_id uuid not null references catalogue_services (id) on delete cascade,
      version int not null,
      definition jsonb not null,
      published_at timestamptz not null default now(),
      published_by uuid references staff_users (id),
      primary key (service_id, version)
    );

    create table form_drafts (
      resident_id uuid not null references residents (id) on delete cascade,
      service_slug text not null,
      answers jsonb not null,
      updated_at timestamptz not null default now(),
      primary key (resident_id, service_slug)
    );
  `),
};
