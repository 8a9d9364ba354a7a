import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

/** GOV.UK Pay's payment states; success, failed, cancelled and error are final for one attempt. */
export const paymentStatuses = [
  'created',
  'started',
  'submitted',
  'success',
  'failed',
  'cancelled',
  'error',
] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/** How the money reached the council: the measure the cashless programme tracks. */
export const paymentMethods = ['card', 'direct_debit', 'paypoint_cash', 'cash_desk'] as const;
export type PaymentMethod = (typeof paymentMethods)[number];

export const ledgerKinds = [
  'charge',
  'refund',
  'dd_collection',
  'dd_returned',
  'cash_receipt',
  'write_off',
] as const;
export type LedgerKind = (typeof ledgerKinds)[number];

export const councilTaxBands = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] as const;
export type CouncilTaxBand = (typeof councilTaxBands)[number];

export interface PaymentsTables {
  payments: {
    id: string;
    reference: string;
    idempotency_key: string;
    amount: number;
    description: string;
    payer_resident_id: string | null;
    payer_email: string | null;
    pays_for_type: string;
    pays_for_id: string;
    method: PaymentMethod;
    channel: string;
    status: PaymentStatus;
    failure_code: string | null;
    failure_message: string | null;
    provider: string | null;
    provider_id: string | null;
    next_url: string | null;
    return_url: string | null;
    card_brand: string | null;
    card_last_four: string | null;
    taken_by_staff: string | null;
    created_at: Date;
    updated_at: Date;
    succeeded_at: Date | null;
  };
  payment_ledger: {
    id: number;
    payment_id: string;
    kind: LedgerKind;
    method: PaymentMethod;
    /** Signed pence: money in is positive, money out (refunds, write-offs) negative. */
    amount: number;
    provider: string | null;
    provider_reference: string | null;
    /** The settlement day (Europe/London) the entry belongs to. */
    entry_date: string;
    created_at: Date;
  };
  payment_refunds: {
    id: string;
    reference: string;
    payment_id: string;
    idempotency_key: string;
    amount: number;
    reason: string;
    /** `attention`: the provider's answer was lost and could not be proven either way; staff settle it. */
    status: 'submitted' | 'success' | 'error' | 'attention';
    provider_refund_id: string | null;
    requested_by_type: string;
    requested_by_id: string | null;
    created_at: Date;
    updated_at: Date;
  };
  payment_sandbox_charges: {
    provider_id: string;
    amount: number;
    reference: string;
    description: string;
    return_url: string;
    state: PaymentStatus;
    failure_code: string | null;
    failure_message: string | null;
    card_brand: string | null;
    card_last_four: string | null;
    challenge_code: string | null;
    created_at: Date;
    updated_at: Date;
  };
  payment_paypoint_references: {
    reference: string;
    pays_for_type: string;
    pays_for_id: string;
    description: string;
    payer_resident_id: string | null;
    payer_email: string | null;
    created_at: Date;
  };
  payment_paypoint_imports: {
    id: string;
    file_name: string;
    file_sha256: string;
    transactions: number;
    total: number;
    imported_by: string | null;
    created_at: Date;
  };
  payment_mandates: {
    id: string;
    reference: string;
    resident_id: string;
    account_holder: string;
    sort_code: string;
    account_number: string;
    status: 'pending_submission' | 'submitted' | 'active' | 'cancelled';
    idempotency_key: string;
    created_at: Date;
    submitted_at: Date | null;
    cancelled_at: Date | null;
    cancel_reason: string | null;
  };
  payment_dd_instalments: {
    id: string;
    mandate_id: string;
    pays_for_type: string;
    pays_for_id: string;
    description: string;
    sequence: number;
    due_date: string;
    amount: number;
    status: 'scheduled' | 'collected' | 'failed' | 'cancelled';
    payment_id: string | null;
    created_at: Date;
  };
  payment_bacs_files: {
    id: string;
    file_name: string;
    processing_date: string;
    content: string;
    instructions: number;
    collections: number;
    total: number;
    created_by: string | null;
    created_at: Date;
  };
  payment_council_tax_accounts: {
    id: string;
    reference: string;
    resident_id: string;
    property_address: string;
    band: CouncilTaxBand;
    year_label: string;
    year_start: string;
    gross_charge: number;
    discount_text: string | null;
    annual_charge: number;
    instalments: number;
    paperless: boolean;
    mandate_id: string | null;
    created_at: Date;
  };
  payment_council_tax_bills: {
    id: string;
    account_id: string;
    issued_on: string;
    delivery: 'post' | 'account';
    letter_reference: string | null;
    created_at: Date;
  };
  payment_provider_settlements: {
    id: number;
    provider: string;
    kind: 'charge' | 'refund';
    provider_reference: string;
    provider_payment_id: string;
    amount: number;
    settled_on: string;
    fetched_at: Date;
  };
  payment_sandbox_settlements: {
    id: number;
    provider_id: string;
    provider_reference: string;
    kind: 'charge' | 'refund';
    amount: number;
    settled_on: string;
    created_at: Date;
  };
}

export const paymentsMigrations: Record<string, Migration> = {
  '2026-11-25-0400-payments': sqlMigration(`
    create table payments (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      idempotency_key text not null,
      amount integer not null check (amount > 0),
      description text not null check (length(description) between 1 and 255),
      payer_resident_id uuid references residents (id) on delete set null,
      payer_email text,
      pays_for_type text not null,
      pays_for_id text not null,
      method text not null check (method in ('card', 'direct_debit', 'paypoint_cash', 'cash_desk')),
      channel text not null,
      status text not null default 'created'
        check (status in ('created', 'started', 'submitted', 'success', 'failed', 'cancelled', 'error')),
      failure_code text,
      failure_message text,
      provider text,
      provider_id text unique,
      next_url text,
      return_url text,
      card_brand text,
      card_last_four text check (card_last_four ~ '^[0-9]{4}$'),
      taken_by_staff uuid references staff_users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      succeeded_at timestamptz,
      check ((status = 'success') = (succeeded_at is not null))
    );
    create unique index payments_idempotency_idx on payments (idempotency_key);
    create index payments_pays_for_idx on payments (pays_for_type, pays_for_id);
    create index payments_resident_idx on payments (payer_resident_id, created_at desc);
    create index payments_pending_idx on payments (status, updated_at) where status in ('created', 'started', 'submitted');

    create table payment_ledger (
      id bigserial primary key,
      payment_id uuid not null references payments (id),
      kind text not null check (kind in ('charge', 'refund', 'dd_collection', 'cash_receipt', 'write_off')),
      method text not null check (method in ('card', 'direct_debit', 'paypoint_cash', 'cash_desk')),
      amount integer not null check (amount <> 0),
      provider text,
      provider_reference text,
      entry_date date not null default (now() at time zone 'Europe/London')::date,
      created_at timestamptz not null default now(),
      check ((kind in ('charge', 'dd_collection', 'cash_receipt')) = (amount > 0))
    );
    -- Money comes in for a payment once: a second success can never be booked.
    create unique index payment_ledger_one_take_idx on payment_ledger (payment_id)
      where kind in ('charge', 'dd_collection', 'cash_receipt');
    create unique index payment_ledger_provider_ref_idx on payment_ledger (provider, provider_reference)
      where provider_reference is not null;
    create index payment_ledger_day_idx on payment_ledger (entry_date, method);
    create index payment_ledger_payment_idx on payment_ledger (payment_id);

    create function payment_ledger_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'payment_ledger is append-only: % refused', tg_op;
    end
    $$;
    create trigger payment_ledger_append_only before update or delete on payment_ledger
      for each row execute function payment_ledger_append_only();

    -- Refunds and write-offs never take out more than came in. The payment row is locked first,
    -- so two refunds of the same payment are checked one after the other, never both against
    -- the same balance.
    create function payment_ledger_never_negative() returns trigger language plpgsql as $$
    declare
      balance bigint;
    begin
      if new.amount < 0 then
        perform 1 from payments where id = new.payment_id for update;
        select coalesce(sum(amount), 0) into balance from payment_ledger where payment_id = new.payment_id;
        if balance + new.amount < 0 then
          raise exception 'refund of % exceeds the balance % of payment %', -new.amount, balance, new.payment_id
            using errcode = 'check_violation';
        end if;
      end if;
      return new;
    end
    $$;
    create trigger payment_ledger_never_negative before insert on payment_ledger
      for each row execute function payment_ledger_never_negative();

    create table payment_refunds (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      payment_id uuid not null references payments (id),
      idempotency_key text not null unique,
      amount integer not null check (amount > 0),
      reason text not null,
      status text not null default 'submitted' check (status in ('submitted', 'success', 'error')),
      provider_refund_id text,
      requested_by_type text not null,
      requested_by_id text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index payment_refunds_payment_idx on payment_refunds (payment_id);

    -- The sandbox provider's own books: what a real provider would hold on its side.
    create table payment_sandbox_charges (
      provider_id text primary key,
      amount integer not null check (amount > 0),
      reference text not null,
      description text not null,
      return_url text not null,
      state text not null default 'created',
      failure_code text,
      failure_message text,
      card_brand text,
      card_last_four text check (card_last_four ~ '^[0-9]{4}$'),
      challenge_code text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create table payment_sandbox_settlements (
      id bigserial primary key,
      provider_id text not null references payment_sandbox_charges (provider_id),
      provider_reference text not null unique,
      kind text not null check (kind in ('charge', 'refund')),
      amount integer not null,
      settled_on date not null default (now() at time zone 'Europe/London')::date,
      created_at timestamptz not null default now()
    );
    create index payment_sandbox_settlements_day_idx on payment_sandbox_settlements (settled_on);
  `),
  '2026-11-25-0401-paypoint': sqlMigration(`
    create sequence payment_paypoint_serial;
    create table payment_paypoint_references (
      reference text primary key check (reference ~ '^[0-9]{20}$'),
      pays_for_type text not null,
      pays_for_id text not null,
      description text not null,
      payer_resident_id uuid references residents (id) on delete set null,
      payer_email text,
      created_at timestamptz not null default now(),
      unique (pays_for_type, pays_for_id)
    );
    create table payment_paypoint_imports (
      id uuid primary key default gen_random_uuid(),
      file_name text not null,
      file_sha256 text not null unique,
      transactions integer not null,
      total bigint not null,
      imported_by uuid references staff_users (id),
      created_at timestamptz not null default now()
    );
  `),
  '2026-11-25-0402-direct-debit': sqlMigration(`
    create table payment_mandates (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      resident_id uuid not null references residents (id),
      account_holder text not null,
      sort_code text not null check (sort_code ~ '^[0-9]{6}$'),
      account_number text not null check (account_number ~ '^[0-9]{8}$'),
      status text not null default 'pending_submission'
        check (status in ('pending_submission', 'submitted', 'active', 'cancelled')),
      idempotency_key text not null unique,
      created_at timestamptz not null default now(),
      submitted_at timestamptz,
      cancelled_at timestamptz,
      cancel_reason text
    );
    create index payment_mandates_resident_idx on payment_mandates (resident_id);
    create table payment_dd_instalments (
      id uuid primary key default gen_random_uuid(),
      mandate_id uuid not null references payment_mandates (id),
      pays_for_type text not null,
      pays_for_id text not null,
      description text not null,
      sequence integer not null check (sequence >= 1),
      due_date date not null,
      amount integer not null check (amount > 0),
      status text not null default 'scheduled' check (status in ('scheduled', 'collected', 'failed', 'cancelled')),
      payment_id uuid references payments (id),
      created_at timestamptz not null default now(),
      unique (mandate_id, pays_for_type, pays_for_id, sequence)
    );
    create index payment_dd_instalments_due_idx on payment_dd_instalments (due_date, status);
    create table payment_bacs_files (
      id uuid primary key default gen_random_uuid(),
      file_name text not null,
      processing_date date not null,
      content text not null,
      instructions integer not null,
      collections integer not null,
      total bigint not null,
      created_by uuid references staff_users (id),
      created_at timestamptz not null default now()
    );
  `),
  // A Direct Debit returned unpaid (ARUDD) reverses its collection: money out, its own kind.
  '2026-11-25-0403-dd-returned': sqlMigration(`
    alter table payment_ledger drop constraint payment_ledger_kind_check;
    alter table payment_ledger add constraint payment_ledger_kind_check
      check (kind in ('charge', 'refund', 'dd_collection', 'dd_returned', 'cash_receipt', 'write_off'));
  `),
  // Council Tax accounts in My account: the year's charge, its bills and how each was delivered.
  '2026-11-25-0404-council-tax': sqlMigration(`
    create table payment_council_tax_accounts (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique check (reference ~ '^[0-9]{8}$'),
      resident_id uuid not null references residents (id),
      property_address text not null,
      band text not null check (band in ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H')),
      year_label text not null,
      year_start date not null,
      gross_charge integer not null check (gross_charge > 0),
      discount_text text,
      annual_charge integer not null check (annual_charge >= 0),
      instalments integer not null check (instalments in (10, 12)),
      paperless boolean not null default false,
      mandate_id uuid references payment_mandates (id),
      created_at timestamptz not null default now()
    );
    create index payment_council_tax_accounts_resident_idx on payment_council_tax_accounts (resident_id);
    create table payment_council_tax_bills (
      id uuid primary key default gen_random_uuid(),
      account_id uuid not null references payment_council_tax_accounts (id),
      issued_on date not null,
      delivery text not null check (delivery in ('post', 'account')),
      letter_reference text,
      created_at timestamptz not null default now()
    );
    create unique index payment_council_tax_bills_delivered_idx
      on payment_council_tax_bills (account_id, issued_on, delivery);
  `),
  // What a card provider says it paid out (settled), fetched from its API for reconciliation.
  '2026-11-25-0405-provider-settlements': sqlMigration(`
    create table payment_provider_settlements (
      id bigserial primary key,
      provider text not null,
      kind text not null check (kind in ('charge', 'refund')),
      provider_reference text not null,
      provider_payment_id text not null,
      amount integer not null,
      settled_on date not null,
      fetched_at timestamptz not null default now(),
      unique (provider, kind, provider_reference)
    );
    create index payment_provider_settlements_day_idx on payment_provider_settlements (provider, settled_on);
  `),
  // A refund whose provider answer was lost and that the sweep could not prove either way.
  '2026-11-26-0401-refund-attention': sqlMigration(`
    alter table payment_refunds drop constraint payment_refunds_status_check;
    alter table payment_refunds add constraint payment_refunds_status_check
      check (status in ('submitted', 'success', 'error', 'attention'));
    create index payment_refunds_unanswered_idx on payment_refunds (updated_at)
      where status = 'submitted' and provider_refund_id is null;
  `),
};
