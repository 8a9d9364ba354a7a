import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

export const templateKinds = [
  'tenancy_agreement',
  'trade_waste_contract',
  'employment_contract',
  'letter',
] as const;
export type TemplateKind = (typeof templateKinds)[number];

export const envelopeStatuses = ['in_progress', 'completed', 'declined', 'voided', 'expired'] as const;
export type EnvelopeStatus = (typeof envelopeStatuses)[number];

export const signerStatuses = ['waiting', 'invited', 'signed', 'declined', 'locked'] as const;
export type SignerStatus = (typeof signerStatuses)[number];

export interface SigningTables {
  signing_templates: {
    id: string;
    slug: string;
    version: number;
    kind: TemplateKind;
    title: string;
    /** Text with ((merge_fields)); "# " starts a heading, a blank line a paragraph. */
    body: string;
    created_by: string | null;
    created_at: Date;
  };
  signing_envelopes: {
    id: string;
    reference: string;
    title: string;
    template_id: string | null;
    /** The resident the document is about, if any (shown on the customer view). */
    resident_id: string | null;
    status: EnvelopeStatus;
    document: Buffer;
    document_sha256: string;
    /** The filled text of a template document, shown as a web page beside the PDF. */
    document_text: string | null;
    /** What the document is for, set by the module that sent it (e.g. trade_waste_contract + TW-…). */
    subject_type: string | null;
    subject_reference: string | null;
    sealed_document: Buffer | null;
    sealed_sha256: string | null;
    created_by: string;
    expires_at: Date;
    status_reason: string | null;
    created_at: Date;
    completed_at: Date | null;
  };
  signing_signers: {
    id: string;
    envelope_id: string;
    position: number;
    name: string;
    role: string;
    email: string;
    phone: string | null;
    resident_id: string | null;
    status: SignerStatus;
    link_hash: string | null;
    link_expires_at: Date | null;
    link_used_at: Date | null;
    code_hash: string | null;
    code_expires_at: Date | null;
    code_attempts: number;
    code_sends: number;
    verified_at: Date | null;
    method: 'typed' | 'drawn' | null;
    typed_name: string | null;
    drawn_signature: Buffer | null;
    decline_reason: string | null;
    signed_at: Date | null;
    /** Long random token hashed: lets the signer download the sealed copy from the email. */
    copy_hash: string | null;
    reminded_at: Date | null;
  };
  signing_events: {
    id: number;
    envelope_id: string;
    signer_id: string | null;
    kind: string;
    description: string;
    at: Date;
  };
  signing_letters: {
    id: string;
    reference: string;
    resident_id: string;
    title: string;
    kind: 'letter' | 'sealed_document';
    envelope_id: string | null;
    pdf: Buffer;
    sha256: string;
    delivered_at: Date;
    read_at: Date | null;
  };
  signing_preferences: {
    resident_id: string;
    paperless: boolean;
    updated_at: Date;
  };
}

export const signingMigrations: Record<string, Migration> = {
  '2026-11-25-0600-signing': sqlMigration(`
    create table signing_templates (
      id uuid primary key default gen_random_uuid(),
      slug text not null,
      version int not null,
      kind text not null check (kind in ('tenancy_agreement', 'trade_waste_contract', 'employment_contract', 'letter')),
      title text not null,
      body text not null,
      created_by uuid references staff_users (id),
      created_at timestamptz not null default now(),
      unique (slug, version)
    );

    create table signing_envelopes (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      title text not null,
      template_id uuid references signing_templates (id),
      resident_id uuid references residents (id) on delete set null,
      status text not null default 'in_progress'
        check (status in ('in_progress', 'completed', 'declined', 'voided', 'expired')),
      document bytea not null,
      document_sha256 text not null,
      sealed_document bytea,
      sealed_sha256 text,
      created_by uuid not null references staff_users (id),
      expires_at timestamptz not null,
      status_reason text,
      created_at timestamptz not null default now(),
      completed_at timestamptz
    );
    create index signing_envelopes_status_idx on signing_envelopes (status, created_at desc);
    create index signing_envelopes_sealed_idx on signing_envelopes (sealed_sha256);
    create index signing_envelopes_resident_idx on signing_envelopes (resident_id);

    create table signing_signers (
      id uuid primary key default gen_random_uuid(),
      envelope_id uuid not null references signing_envelopes (id) on delete cascade,
      position int not null,
      name text not null,
      role text not null,
      email text not null,
      phone text,
      resident_id uuid references residents (id) on delete set null,
      status text not null default 'waiting'
        check (status in ('waiting', 'invited', 'signed', 'declined', 'locked')),
      link_hash text unique,
      link_expires_at timestamptz,
      link_used_at timestamptz,
      code_hash text,
      code_expires_at timestamptz,
      code_attempts int not null default 0,
      code_sends int not null default 0,
      verified_at timestamptz,
      method text check (method in ('typed', 'drawn')),
      typed_name text,
      drawn_signature bytea,
      decline_reason text,
      signed_at timestamptz,
      copy_hash text unique,
      reminded_at timestamptz,
      unique (envelope_id, position)
    );
    create index signing_signers_resident_idx on signing_signers (resident_id);

    create table signing_events (
      id bigserial primary key,
      envelope_id uuid not null references signing_envelopes (id) on delete cascade,
      signer_id uuid references signing_signers (id) on delete set null,
      kind text not null,
      description text not null,
      at timestamptz not null default now()
    );
    create index signing_events_envelope_idx on signing_events (envelope_id, id);

    create table signing_letters (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      resident_id uuid not null references residents (id) on delete cascade,
      title text not null,
      kind text not null check (kind in ('letter', 'sealed_document')),
      envelope_id uuid references signing_envelopes (id) on delete set null,
      pdf bytea not null,
      sha256 text not null,
      delivered_at timestamptz not null default now(),
      read_at timestamptz,
      unique (resident_id, envelope_id)
    );
    create index signing_letters_resident_idx on signing_letters (resident_id, delivered_at desc);

    create table signing_preferences (
      resident_id uuid primary key references residents (id) on delete cascade,
      paperless boolean not null default false,
      updated_at timestamptz not null default now()
    );
  `),
  '2026-11-25-0601-signing-document-text': sqlMigration(`
    alter table signing_envelopes add column document_text text;
  `),
  // What a document is for (a contract, a tenancy), so the module that sent it finds the signed
  // copy by its own reference instead of by words in the title.
  '2026-11-26-0200-signing-envelope-subject': sqlMigration(`
    alter table signing_envelopes add column subject_type text;
    alter table signing_envelopes add column subject_reference text;
    create index signing_envelopes_subject_idx on signing_envelopes (subject_type, subject_reference);
  `),
};
