import type { Migration } from 'kysely';
import { sqlMigration } from '../../platform/db/index.ts';

/** What is booked: a resource's time (a PC, a room, a round's capacity), a session, a person's slot. */
export const bookableKinds = ['resource', 'session', 'calendar'] as const;
export type BookableKind = (typeof bookableKinds)[number];

export const bookingStatuses = [
  'held',
  'confirmed',
  'checked_in',
  'no_show',
  'cancelled',
  'expired',
  'refunded',
] as const;
export type BookingStatus = (typeof bookingStatuses)[number];

/** Opening hours by weekday (mon..sun), London local times: `{ mon: [["09:00", "17:00"]] }`. */
export type OpeningHours = Partial<Record<Weekday, Array<[string, string]>>>;
export const weekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof weekdays)[number];

/** A priced item of a bookable (bulky waste: a sofa, a fridge). */
export interface PriceItem {
  code: string;
  name: string;
  pricePence: number;
}

export interface BookableRules {
  /** Bulky waste: the price list, the most items per collection, and the minimum charge. */
  items?: PriceItem[];
  maxItems?: number;
  minimumPence?: number;
  /** Only residents with an address in the council's area (checked against the gazetteer). */
  inAreaOnly?: boolean;
}

/** A change request is open until staff make the change (done) or decline it with a reason. */
export type ContractChangeStatus = 'open' | 'done' | 'declined';

export interface BookingsTables {
  booking_sites: {
    id: string;
    slug: string;
    name: string;
    address: string;
    opening_hours: OpeningHours;
    created_at: Date;
  };
  booking_bookables: {
    id: string;
    slug: string;
    kind: BookableKind;
    /** How residents look for it: library-pc, class, leisure, bulky-waste, video-consultation, room. */
    category: string;
    title: string;
    description: string;
    site_id: string | null;
    /** The person whose calendar it is (video consultations). */
    owner_staff_id: string | null;
    /** Places in each slot (resource units, class size). */
    capacity: number;
    /** Resources: length of a slot; 1440 books whole days (a collection round). */
    slot_minutes: number;
    lead_minutes: number;
    cancel_hours: number;
    /** Active future bookings one person may hold; 0 is no limit. */
    per_person_limit: number;
    hold_minutes: number;
    fee_pence: number;
    rules: BookableRules;
    meeting_link: boolean;
    active: boolean;
    created_at: Date;
  };
  booking_slots: {
    id: string;
    bookable_id: string;
    starts_at: Date;
    ends_at: Date;
    capacity: number;
    /** Places held or booked; never above capacity (a check constraint). */
    taken: number;
    status: 'open' | 'cancelled';
    note: string | null;
    created_at: Date;
  };
  /** Moved by triggers on every write that can change a bookable's availability. */
  booking_availability_stamps: {
    bookable_id: string;
    /** A bigint, read as a string. */
    stamp: string;
  };
  booking_closures: {
    id: string;
    site_id: string | null;
    bookable_id: string | null;
    starts_at: Date;
    ends_at: Date;
    reason: string;
    created_by: string | null;
    created_at: Date;
  };
  booking_bookings: {
    id: string;
    reference: string;
    bookable_id: string;
    slot_id: string;
    resident_id: string | null;
    name: string;
    email: string | null;
    phone: string | null;
    status: BookingStatus;
    places: number;
    items: Record<string, number>;
    address: string | null;
    uprn: string | null;
    notes: string | null;
    fee_pence: number;
    payment_id: string | null;
    meeting_url: string | null;
    hold_expires_at: Date | null;
    /** Held for someone from the waiting list: they have until hold_expires_at to accept. */
    offered: boolean;
    channel: string;
    created_by_staff: string | null;
    created_at: Date;
    confirmed_at: Date | null;
    cancelled_at: Date | null;
    cancel_reason: string | null;
    checked_in_at: Date | null;
    reminded_at: Date | null;
  };
  booking_waitlist: {
    id: string;
    slot_id: string;
    resident_id: string;
    status: 'waiting' | 'offered' | 'accepted' | 'lapsed' | 'withdrawn';
    booking_id: string | null;
    created_at: Date;
  };
  booking_businesses: {
    id: string;
    reference: string;
    name: string;
    company_number: string | null;
    billing_address: string;
    created_at: Date;
  };
  booking_business_contacts: {
    business_id: string;
    resident_id: string;
    role: string;
    created_at: Date;
  };
  booking_contracts: {
    id: string;
    reference: string;
    business_id: string;
    service: string;
    /** The quote accepted: bins, frequency, prices. */
    terms: Record<string, unknown>;
    monthly_pence: number;
    pay_by: 'direct_debit' | 'invoice';
    status: 'active' | 'ending' | 'ended';
    starts_on: string;
    ends_on: string | null;
    notice_days: number;
    accepted_by: string;
    created_at: Date;
  };
  booking_invoices: {
    id: string;
    reference: string;
    contract_id: string;
    period: string;
    amount_pence: number;
    payment_id: string | null;
    created_at: Date;
  };
  booking_contract_changes: {
    id: string;
    contract_id: string;
    requested_by: string | null;
    details: string;
    created_at: Date;
    status: ContractChangeStatus;
    /** Why staff declined it, told to the requester. */
    decision_reason: string | null;
    decided_by: string | null;
    decided_at: Date | null;
  };
  booking_api_bookings: {
    booking_id: string;
    client_id: string;
    idempotency_key: string | null;
    request_hash: string;
    created_at: Date;
  };
}

export const bookingsMigrations: Record<string, Migration> = {
  '2026-11-25-0500-bookings': sqlMigration(`
    create table booking_sites (
      id uuid primary key default gen_random_uuid(),
      slug text not null unique,
      name text not null,
      address text not null default '',
      opening_hours jsonb not null default '{}',
      created_at timestamptz not null default now()
    );

    create table booking_bookables (
      id uuid primary key default gen_random_uuid(),
      slug text not null unique,
      kind text not null check (kind in ('resource', 'session', 'calendar')),
      category text not null,
      title text not null,
      description text not null default '',
      site_id uuid references booking_sites (id),
      owner_staff_id uuid references staff_users (id),
      capacity int not null default 1 check (capacity >= 0),
      slot_minutes int not null default 60 check (slot_minutes between 5 and 1440),
      lead_minutes int not null default 0,
      cancel_hours int not null default 0,
      per_person_limit int not null default 0,
      hold_minutes int not null default 15,
      fee_pence int not null default 0 check (fee_pence >= 0),
      rules jsonb not null default '{}',
      meeting_link boolean not null default false,
      active boolean not null default true,
      created_at timestamptz not null default now()
    );
    create index booking_bookables_category_idx on booking_bookables (category, site_id);

    -- One row per bookable time that anyone has held or booked (resources) or that staff
    -- published (sessions, calendar slots). "taken" counts holds and bookings; the check
    -- constraint and a conditional update make overbooking impossible under any concurrency.
    create table booking_slots (
      id uuid primary key default gen_random_uuid(),
      bookable_id uuid not null references booking_bookables (id),
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      capacity int not null check (capacity >= 0),
      taken int not null default 0,
      status text not null default 'open' check (status in ('open', 'cancelled')),
      note text,
      created_at timestamptz not null default now(),
      unique (bookable_id, starts_at),
      check (taken >= 0 and taken <= capacity),
      check (ends_at > starts_at)
    );

    create table booking_closures (
      id uuid primary key default gen_random_uuid(),
      site_id uuid references booking_sites (id),
      bookable_id uuid references booking_bookables (id),
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      reason text not null,
      created_by uuid references staff_users (id),
      created_at timestamptz not null default now(),
      check (ends_at > starts_at)
    );
    create index booking_closures_range_idx on booking_closures (ends_at, starts_at);

    create table booking_bookings (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      bookable_id uuid not null references booking_bookables (id),
      slot_id uuid not null references booking_slots (id),
      resident_id uuid references residents (id) on delete set null,
      name text not null,
      email text,
      phone text,
      status text not null check (status in ('held', 'confirmed', 'checked_in', 'no_show', 'cancelled', 'expired', 'refunded')),
      places int not null default 1 check (places > 0),
      items jsonb not null default '{}',
      address text,
      uprn text,
      notes text,
      fee_pence int not null default 0,
      payment_id uuid,
      meeting_url text,
      hold_expires_at timestamptz,
      offered boolean not null default false,
      channel text not null default 'web',
      created_by_staff uuid references staff_users (id),
      created_at timestamptz not null default now(),
      confirmed_at timestamptz,
      cancelled_at timestamptz,
      cancel_reason text,
      checked_in_at timestamptz,
      reminded_at timestamptz
    );
    create index booking_bookings_slot_idx on booking_bookings (slot_id, status);
    create index booking_bookings_resident_idx on booking_bookings (resident_id, created_at desc);
    create index booking_bookings_held_idx on booking_bookings (hold_expires_at) where status = 'held';

    create table booking_waitlist (
      id uuid primary key default gen_random_uuid(),
      slot_id uuid not null references booking_slots (id),
      resident_id uuid not null references residents (id) on delete cascade,
      status text not null default 'waiting' check (status in ('waiting', 'offered', 'accepted', 'lapsed', 'withdrawn')),
      booking_id uuid references booking_bookings (id),
      created_at timestamptz not null default now()
    );
    create unique index booking_waitlist_once_idx on booking_waitlist (slot_id, resident_id)
      where status in ('waiting', 'offered');
    create index booking_waitlist_queue_idx on booking_waitlist (slot_id, status, created_at);

    create table booking_businesses (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      name text not null,
      company_number text,
      billing_address text not null,
      created_at timestamptz not null default now()
    );

    create table booking_business_contacts (
      business_id uuid not null references booking_businesses (id) on delete cascade,
      resident_id uuid not null references residents (id) on delete cascade,
      role text not null default 'Contact',
      created_at timestamptz not null default now(),
      primary key (business_id, resident_id)
    );

    create table booking_contracts (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      business_id uuid not null references booking_businesses (id),
      service text not null,
      terms jsonb not null,
      monthly_pence int not null check (monthly_pence >= 0),
      pay_by text not null check (pay_by in ('direct_debit', 'invoice')),
      status text not null default 'active' check (status in ('active', 'ending', 'ended')),
      starts_on date not null,
      ends_on date,
      notice_days int not null default 28,
      accepted_by uuid references residents (id) on delete set null,
      created_at timestamptz not null default now()
    );

    create table booking_invoices (
      id uuid primary key default gen_random_uuid(),
      reference text not null unique,
      contract_id uuid not null references booking_contracts (id),
      period text not null,
      amount_pence int not null,
      payment_id uuid,
      created_at timestamptz not null default now(),
      unique (contract_id, period)
    );
  `),
  // Bookings made through /api/v1/bookings: which API client made each (only it may read, confirm
  // or cancel it) and the client's Idempotency-Key, so a retried create returns the same booking.
  '2026-11-25-2200-bookings-api': sqlMigration(`
    create table booking_api_bookings (
      booking_id uuid primary key references booking_bookings (id) on delete cascade,
      client_id uuid not null,
      idempotency_key text,
      request_hash text not null,
      created_at timestamptz not null default now()
    );
    create unique index booking_api_bookings_key_idx on booking_api_bookings (client_id, idempotency_key)
      where idempotency_key is not null;
  `),
  // A business contact's request to change a trade waste contract (bins, frequency, anything),
  // asked for from My account; staff see it beside the contract and make the change.
  '2026-11-26-0100-bookings-contract-changes': sqlMigration(`
    create table booking_contract_changes (
      id uuid primary key default gen_random_uuid(),
      contract_id uuid not null references booking_contracts (id),
      requested_by uuid references residents (id) on delete set null,
      details text not null,
      created_at timestamptz not null default now()
    );
    create index booking_contract_changes_contract_idx on booking_contract_changes (contract_id, created_at);
  `),
  // Staff answer a change request: done, or declined with a reason (told to the requester).
  '2026-11-26-0201-bookings-contract-change-state': sqlMigration(`
    alter table booking_contract_changes add column status text not null default 'open'
      check (status in ('open', 'done', 'declined'));
    alter table booking_contract_changes add column decision_reason text;
    alter table booking_contract_changes add column decided_by uuid references staff_users (id);
    alter table booking_contract_changes add column decided_at timestamptz;
    alter table booking_contract_changes add constraint booking_contract_changes_reason_check
      check (status <> 'declined' or decision_reason is not null);
  `),
  // Contracts sent for signature before signing kept a subject were found by the TW- reference in
  // the envelope's title; give those envelopes the subject once so only the subject is used.
  '2026-11-26-0202-bookings-contract-signing-subject': sqlMigration(`
    update signing_envelopes e
       set subject_type = 'trade_waste_contract', subject_reference = c.reference
      from booking_contracts c
     where e.subject_type is null and strpos(upper(e.title), c.reference) > 0;
  `),
  // An availability stamp per bookable, moved by triggers on every write that can change what it
  // has free (its slots, its closures and its site's, closures everywhere, its site's opening
  // hours, its own settings), so no write path can forget it. A process may keep a bookable's
  // availability while the stamp stays the same (docs/decisions/bookings-availability-cache.md).
  // Stamps come from one sequence, never reused, so a rolled-back change cannot bring an old
  // stamp back for different data.
  '2026-11-26-0700-bookings-availability-stamps': sqlMigration(`
    create sequence booking_availability_stamp_seq;
    create table booking_availability_stamps (
      bookable_id uuid primary key references booking_bookables (id) on delete cascade,
      stamp bigint not null default nextval('booking_availability_stamp_seq')
    );
    insert into booking_availability_stamps (bookable_id) select id from booking_bookables;

    create function booking_availability_bump(ids uuid[]) returns void language sql as $$
      update booking_availability_stamps
         set stamp = nextval('booking_availability_stamp_seq')
       where bookable_id = any(ids)
    $$;

    create function booking_availability_stamp_new() returns trigger language plpgsql as $$
    begin
      insert into booking_availability_stamps (bookable_id) select id from new_rows;
      return null;
    end $$;
    create trigger booking_availability_stamp_new after insert on booking_bookables
      referencing new table as new_rows for each statement
      execute function booking_availability_stamp_new();

    create function booking_availability_bookables_changed() returns trigger language plpgsql as $$
    begin
      perform booking_availability_bump(array(select id from new_rows));
      return null;
    end $$;
    create trigger booking_availability_bookables_changed after update on booking_bookables
      referencing new table as new_rows for each statement
      execute function booking_availability_bookables_changed();

    -- One function for the three slot triggers: which transition tables exist depends on TG_OP.
    create function booking_availability_slots_changed() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        perform booking_availability_bump(array(select distinct bookable_id from new_rows));
      elsif tg_op = 'DELETE' then
        perform booking_availability_bump(array(select distinct bookable_id from old_rows));
      else
        perform booking_availability_bump(array(
          select bookable_id from new_rows union select bookable_id from old_rows));
      end if;
      return null;
    end $$;
    create trigger booking_availability_slots_inserted after insert on booking_slots
      referencing new table as new_rows for each statement
      execute function booking_availability_slots_changed();
    create trigger booking_availability_slots_updated after update on booking_slots
      referencing old table as old_rows new table as new_rows for each statement
      execute function booking_availability_slots_changed();
    create trigger booking_availability_slots_deleted after delete on booking_slots
      referencing old table as old_rows for each statement
      execute function booking_availability_slots_changed();

    -- A closure applies to its bookable, to every bookable at its site, or (neither) to all.
    create function booking_availability_closed_bookables(changed booking_closures)
      returns setof uuid language sql stable as $$
      select b.id from booking_bookables b
       where b.id = changed.bookable_id
          or b.site_id = changed.site_id
          or (changed.bookable_id is null and changed.site_id is null)
    $$;
    create function booking_availability_closures_changed() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        perform booking_availability_bump(array(
          select booking_availability_closed_bookables(c) from new_rows c));
      elsif tg_op = 'DELETE' then
        perform booking_availability_bump(array(
          select booking_availability_closed_bookables(c) from old_rows c));
      else
        perform booking_availability_bump(array(
          select booking_availability_closed_bookables(c) from new_rows c
          union select booking_availability_closed_bookables(c) from old_rows c));
      end if;
      return null;
    end $$;
    create trigger booking_availability_closures_inserted after insert on booking_closures
      referencing new table as new_rows for each statement
      execute function booking_availability_closures_changed();
    create trigger booking_availability_closures_updated after update on booking_closures
      referencing old table as old_rows new table as new_rows for each statement
      execute function booking_availability_closures_changed();
    create trigger booking_availability_closures_deleted after delete on booking_closures
      referencing old table as old_rows for each statement
      execute function booking_availability_closures_changed();

    create function booking_availability_sites_changed() returns trigger language plpgsql as $$
    begin
      perform booking_availability_bump(array(
        select b.id from booking_bookables b join new_rows s on s.id = b.site_id));
      return null;
    end $$;
    create trigger booking_availability_sites_changed after update on booking_sites
      referencing new table as new_rows for each statement
      execute function booking_availability_sites_changed();
  `),
  // Stamps are locked in bookable order: two statements that each move several (a site's closure
  // and an everywhere closure at once) would otherwise lock them in scan order and could deadlock.
  '2026-11-26-0900-bookings-availability-bump-in-order': sqlMigration(`
    create or replace function booking_availability_bump(ids uuid[]) returns void language sql as $$
      update booking_availability_stamps s
         set stamp = nextval('booking_availability_stamp_seq')
        from (select bookable_id from booking_availability_stamps
               where bookable_id = any(ids) order by bookable_id for update) as locked
       where s.bookable_id = locked.bookable_id
    $$;
  `),
};
