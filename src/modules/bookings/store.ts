import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { IdentityTables } from '../../platform/auth/identity.ts';
import type { BookingsTables } from './schema.ts';

type T = BookingsTables;
export type SiteRow = T['booking_sites'];
export type BookableRow = T['booking_bookables'];
export type SlotRow = T['booking_slots'];
export type ClosureRow = T['booking_closures'];
export type BookingRow = T['booking_bookings'];
export type WaitlistRow = T['booking_waitlist'];
export type BusinessRow = T['booking_businesses'];
export type ContractRow = T['booking_contracts'];
export type InvoiceRow = T['booking_invoices'];

const t = (db: Db) => tables<BookingsTables>(db);
const who = (db: Db) => tables<IdentityTables>(db);

/** The statuses that hold a place in a slot. */
export const activeStatuses = ['held', 'confirmed', 'checked_in'] as const;

// Sites and bookables

export async function upsertSite(db: Db, row: Omit<SiteRow, 'id' | 'created_at'>): Promise<SiteRow> {
  return t(db)
    .insertInto('booking_sites')
    .values({ ...row, opening_hours: JSON.stringify(row.opening_hours) } as never)
    .onConflict((oc) =>
      oc.column('slug').doUpdateSet({
        name: row.name,
        address: row.address,
        opening_hours: JSON.stringify(row.opening_hours),
      } as never),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const listSites = (db: Db) => t(db).selectFrom('booking_sites').selectAll().orderBy('name').execute();
export const siteBySlug = (db: Db, slug: string) =>
  t(db).selectFrom('booking_sites').selectAll().where('slug', '=', slug).executeTakeFirst();
export const siteById = (db: Db, id: string) =>
  t(db).selectFrom('booking_sites').selectAll().where('id', '=', id).executeTakeFirst();

export async function insertBookable(
  db: Db,
  row: Omit<BookableRow, 'id' | 'created_at' | 'active'>,
): Promise<BookableRow> {
  return t(db)
    .insertInto('booking_bookables')
    .values({ ...row, rules: JSON.stringify(row.rules) } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateBookable(db: Db, id: string, patch: Partial<BookableRow>): Promise<BookableRow> {
  const values: Record<string, unknown> = { ...patch };
  if (patch.rules) values.rules = JSON.stringify(patch.rules);
  return t(db)
    .updateTable('booking_bookables')
    .set(values as never)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const bookableBySlug = (db: Db, slug: string) =>
  t(db).selectFrom('booking_bookables').selectAll().where('slug', '=', slug).executeTakeFirst();
export const bookableById = (db: Db, id: string) =>
  t(db).selectFrom('booking_bookables').selectAll().where('id', '=', id).executeTakeFirst();

export async function listBookables(
  db: Db,
  filter: { category?: string; siteId?: string; kind?: string; ownerStaffId?: string; activeOnly?: boolean },
): Promise<BookableRow[]> {
  let q = t(db).selectFrom('booking_bookables').selectAll();
  if (filter.category) q = q.where('category', '=', filter.category);
  if (filter.siteId) q = q.where('site_id', '=', filter.siteId);
  if (filter.kind) q = q.where('kind', '=', filter.kind as never);
  if (filter.ownerStaffId) q = q.where('owner_staff_id', '=', filter.ownerStaffId);
  if (filter.activeOnly !== false) q = q.where('active', '=', true);
  return q.orderBy('title').execute();
}

export const staffName = async (db: Db, id: string) =>
  (await who(db).selectFrom('staff_users').select('name').where('id', '=', id).executeTakeFirst())?.name;

export const residentById = (db: Db, id: string) =>
  who(db)
    .selectFrom('residents')
    .select(['id', 'name', 'email', 'phone', 'reference', 'address'])
    .where('id', '=', id)
    .executeTakeFirst();

export async function residentByReferenceOrEmail(db: Db, value: string) {
  const v = value.trim();
  return who(db)
    .selectFrom('residents')
    .select(['id', 'name', 'email', 'phone', 'reference', 'address'])
    .where((eb) =>
      eb.or([eb('reference', '=', v.toUpperCase()), eb(eb.fn('lower', ['email']), '=', v.toLowerCase())]),
    )
    .executeTakeFirst();
}

// Slots

export async function slotsInRange(db: Db, bookableIds: string[], from: Date, to: Date): Promise<SlotRow[]> {
  if (!bookableIds.length) return [];
  return t(db)
    .selectFrom('booking_slots')
    .selectAll()
    .where('bookable_id', 'in', bookableIds)
    .where('starts_at', '>=', from)
    .where('starts_at', '<', to)
    .orderBy('starts_at')
    .execute();
}

/**
 * The slot rows of one bookable in a range, as parallel arrays in start order: instants as epoch
 * milliseconds, and `open` 0 for a cancelled time.
 */
export interface SlotPlaces {
  bookable_id: string;
  starts: Float64Array;
  ends: Float64Array;
  capacity: Int32Array;
  taken: Int32Array;
  open: Uint8Array;
}

/** The fields of one slot in the list `slotPlacesInRange` reads, in this order. */
const SLOT_FIELDS = 5;

/**
 * Reads a list of whole numbers ('0,3600000,4,1,1,86400000,...': SLOT_FIELDS to a slot) into
 * typed arrays. JSON.parse reads the numbers natively, without the string per number that
 * splitting makes: a month is some 30,000 of them.
 */
export function readSlotList(bookableId: string, list: string, from: number): SlotPlaces {
  const numbers: unknown = JSON.parse(`[${list}]`);
  if (!Array.isArray(numbers) || numbers.length % SLOT_FIELDS !== 0)
    throw new Error(`A slot list of ${list.length} characters is not whole slots`);
  const count = numbers.length / SLOT_FIELDS;
  const out: SlotPlaces = {
    bookable_id: bookableId,
    starts: new Float64Array(count),
    ends: new Float64Array(count),
    capacity: new Int32Array(count),
    taken: new Int32Array(count),
    open: new Uint8Array(count),
  };
  for (let i = 0, j = 0; i < count; i++, j += SLOT_FIELDS) {
    const start = from + Math.round((numbers[j] as number) * 60_000);
    out.starts[i] = start;
    out.ends[i] = start + Math.round((numbers[j + 1] as number) * 60_000);
    out.capacity[i] = numbers[j + 2] as number;
    out.taken[i] = numbers[j + 3] as number;
    out.open[i] = numbers[j + 4] as number;
  }
  return out;
}

/**
 * A bookable, the slots it has in a range as `readSlotList` reads them (null when it has none), and
 * the closures that apply to it there, as [start, end, start, end, ...] in epoch milliseconds.
 */
export interface BookableWithSlots {
  bookable: BookableRow;
  slots: SlotPlaces | null;
  closed: Float64Array;
  /** The bookable's availability stamp, read in the same snapshot as the rest. */
  stamp: string;
  /** Its site's opening hours as PostgreSQL writes the JSON (null without a site), read with the rest. */
  hours: string | null;
}

/** Closures as minutes after `from` ('-60,480,...', start and end of each) in epoch milliseconds. */
export function readClosedList(list: string | null, from: number): Float64Array {
  if (list === null) return new Float64Array(0);
  const minutes: unknown = JSON.parse(`[${list}]`);
  if (!Array.isArray(minutes) || minutes.length % 2 !== 0)
    throw new Error(`A closure list of ${list.length} characters is not whole closures`);
  return Float64Array.from(minutes, (m: number) => from + Math.round(m * 60_000));
}

/**
 * Bookables by slug (in the order asked, unknown slugs left out) with only what availability needs
 * of their slots in a range, in one statement: one list per bookable of each slot's start (minutes
 * after `from`, with fractions for a time not on a whole minute), length in minutes, capacity,
 * places taken and 1 when open.
 * - One ordered aggregate, not one per column (each sorts its group again), and numbers from
 *   date_part's double rather than extract's numeric: a third of what five lists of epoch
 *   milliseconds cost PostgreSQL. Small offsets also make the text, and the reading of it, shorter.
 * - The slots are found for the bookables' ids as one array, by the (bookable_id, starts_at) index
 *   in a single bitmap scan, then grouped: a subquery per bookable reads each heap page once per
 *   bookable on it (some 40 times each in a busy month).
 * - The bookables, and the closures that apply to each (its own, its site's, everywhere's), come
 *   in the same statement: a month of availability is one statement and one round trip.
 */
export function bookablesWithSlotsQuery(db: Db, slugs: string[], from: Date, to: Date) {
  const minutes = (interval: ReturnType<typeof sql>) => sql`date_part('epoch', ${interval}) / 60`;
  const asked = () => t(db).selectFrom('booking_bookables').where('slug', 'in', slugs);
  const ids = asked().select('id');
  return t(db)
    .with(
      (cte) => cte('closed').materialized(),
      (q) =>
        q
          .selectFrom('booking_closures')
          .select(['site_id', 'bookable_id', 'starts_at', 'ends_at'])
          .where('starts_at', '<', to)
          .where('ends_at', '>', from)
          .where((eb) =>
            eb.or([
              eb.and([eb('site_id', 'is', null), eb('bookable_id', 'is', null)]),
              eb('site_id', 'in', asked().select('site_id')),
              eb('bookable_id', 'in', ids),
            ]),
          ),
    )
    .with('places', (q) =>
      q
        .selectFrom('booking_slots')
        .select([
          'bookable_id',
          sql<string>`string_agg(concat_ws(',',
            ${minutes(sql`starts_at - ${from}::timestamptz`)}, ${minutes(sql`ends_at - starts_at`)},
            capacity, taken, (status = 'open')::int), ',' order by starts_at)`.as('slot_list'),
        ])
        .where('bookable_id', '=', sql<string>`any(array(${ids}))`)
        .where('starts_at', '>=', from)
        .where('starts_at', '<', to)
        .groupBy('bookable_id'),
    )
    .selectFrom('booking_bookables as b')
    .leftJoin('places as p', 'p.bookable_id', 'b.id')
    .leftJoin('booking_availability_stamps as st', 'st.bookable_id', 'b.id')
    .leftJoin('booking_sites as site', 'site.id', 'b.site_id')
    .selectAll('b')
    .select(['p.slot_list', 'st.stamp'])
    .select(sql<string | null>`site.opening_hours::text`.as('hours'))
    .select((eb) =>
      eb
        .selectFrom('closed as c')
        .select(
          sql<string>`string_agg(concat_ws(',',
            ${minutes(sql`c.starts_at - ${from}::timestamptz`)},
            ${minutes(sql`c.ends_at - ${from}::timestamptz`)}), ',')`.as('list'),
        )
        .where((w) =>
          w.or([
            w('c.bookable_id', '=', w.ref('b.id')),
            w('c.site_id', '=', w.ref('b.site_id')),
            w.and([w('c.site_id', 'is', null), w('c.bookable_id', 'is', null)]),
          ]),
        )
        .as('closed_list'),
    )
    .where('b.slug', 'in', slugs);
}

export async function bookablesWithSlots(
  db: Db,
  slugs: string[],
  from: Date,
  to: Date,
): Promise<BookableWithSlots[]> {
  if (!slugs.length) return [];
  const rows = await bookablesWithSlotsQuery(db, slugs, from, to).execute();
  const bySlug = new Map<string, BookableWithSlots>();
  for (const { slot_list, closed_list, stamp, hours, ...bookable } of rows)
    bySlug.set(bookable.slug, {
      bookable,
      slots: slot_list === null ? null : readSlotList(bookable.id, slot_list, from.getTime()),
      closed: readClosedList(closed_list, from.getTime()),
      stamp: stamp ?? '',
      hours: hours ?? null,
    });
  return slugs.map((s) => bySlug.get(s)).filter((r): r is BookableWithSlots => Boolean(r));
}

/**
 * The availability stamps of bookables by slug (unknown slugs left out): index lookups only, so a
 * process can tell which bookables it has kept are still as they were.
 */
export function availabilityStampsQuery(db: Db, slugs: string[]) {
  return t(db)
    .selectFrom('booking_bookables as b')
    .innerJoin('booking_availability_stamps as st', 'st.bookable_id', 'b.id')
    .select(['b.id', 'b.slug', 'st.stamp'])
    .where('b.slug', 'in', slugs);
}

export async function availabilityStamps(
  db: Db,
  slugs: string[],
): Promise<Array<{ id: string; slug: string; stamp: string }>> {
  if (!slugs.length) return [];
  return availabilityStampsQuery(db, slugs).execute();
}

export const slotById = (db: Db, id: string) =>
  t(db).selectFrom('booking_slots').selectAll().where('id', '=', id).executeTakeFirst();

export const slotAt = (db: Db, bookableId: string, startsAt: Date) =>
  t(db)
    .selectFrom('booking_slots')
    .selectAll()
    .where('bookable_id', '=', bookableId)
    .where('starts_at', '=', startsAt)
    .executeTakeFirst();

/** Makes sure a slot row exists (resources get one the first time someone holds a place). */
export async function ensureSlot(
  db: Db,
  row: { bookable_id: string; starts_at: Date; ends_at: Date; capacity: number; note?: string | null },
): Promise<void> {
  await t(db)
    .insertInto('booking_slots')
    .values(row as never)
    .onConflict((oc) => oc.columns(['bookable_id', 'starts_at']).doNothing())
    .execute();
}

/** Locks a slot for the rest of the transaction: everything that changes its places goes through here first. */
export const lockSlot = (db: Db, id: string) =>
  t(db).selectFrom('booking_slots').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();

/** Takes places if they are free: a conditional update, so two people can never take the last one. */
export async function takePlaces(db: Db, slotId: string, places: number): Promise<boolean> {
  const row = await t(db)
    .updateTable('booking_slots')
    .set({ taken: sql`taken + ${places}` } as never)
    .where('id', '=', slotId)
    .where('status', '=', 'open')
    .where(sql<boolean>`taken + ${places} <= capacity`)
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

export async function releasePlaces(db: Db, slotId: string, places: number): Promise<void> {
  await t(db)
    .updateTable('booking_slots')
    .set({ taken: sql`greatest(taken - ${places}, 0)` } as never)
    .where('id', '=', slotId)
    .execute();
}

/** Sets the places of a bookable's open times still to come, never below what is already taken. */
export async function setFutureSlotCapacity(db: Db, bookableId: string, capacity: number, now: Date) {
  await t(db)
    .updateTable('booking_slots')
    .set({ capacity: sql<number>`greatest(taken, ${capacity})` } as never)
    .where('bookable_id', '=', bookableId)
    .where('status', '=', 'open')
    .where('starts_at', '>', now)
    .execute();
}

export async function updateSlot(db: Db, id: string, patch: Partial<SlotRow>): Promise<SlotRow> {
  return t(db)
    .updateTable('booking_slots')
    .set(patch as never)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

// Closures

export async function insertClosure(db: Db, row: Omit<ClosureRow, 'id' | 'created_at'>): Promise<ClosureRow> {
  return t(db)
    .insertInto('booking_closures')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function closuresOverlapping(
  db: Db,
  scope: { siteIds: string[]; bookableIds: string[] },
  from: Date,
  to: Date,
): Promise<ClosureRow[]> {
  return t(db)
    .selectFrom('booking_closures')
    .selectAll()
    .where('starts_at', '<', to)
    .where('ends_at', '>', from)
    .where((eb) =>
      eb.or([
        eb.and([eb('site_id', 'is', null), eb('bookable_id', 'is', null)]),
        ...(scope.siteIds.length ? [eb('site_id', 'in', scope.siteIds)] : []),
        ...(scope.bookableIds.length ? [eb('bookable_id', 'in', scope.bookableIds)] : []),
      ]),
    )
    .orderBy('starts_at')
    .execute();
}

export const closureById = (db: Db, id: string) =>
  t(db).selectFrom('booking_closures').selectAll().where('id', '=', id).executeTakeFirst();

export async function deleteClosure(db: Db, id: string): Promise<boolean> {
  const row = await t(db)
    .deleteFrom('booking_closures')
    .where('id', '=', id)
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

export async function upcomingClosures(db: Db, from: Date): Promise<ClosureRow[]> {
  return t(db)
    .selectFrom('booking_closures')
    .selectAll()
    .where('ends_at', '>', from)
    .orderBy('starts_at')
    .execute();
}

// Bookings

export async function insertBooking(
  db: Db,
  row: Omit<
    BookingRow,
    'id' | 'created_at' | 'cancelled_at' | 'cancel_reason' | 'checked_in_at' | 'reminded_at'
  >,
): Promise<BookingRow> {
  return t(db)
    .insertInto('booking_bookings')
    .values({ ...row, items: JSON.stringify(row.items) } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateBooking(db: Db, id: string, patch: Partial<BookingRow>): Promise<BookingRow> {
  const values: Record<string, unknown> = { ...patch };
  if (patch.items) values.items = JSON.stringify(patch.items);
  return t(db)
    .updateTable('booking_bookings')
    .set(values as never)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const bookingByReference = (db: Db, reference: string) =>
  t(db).selectFrom('booking_bookings').selectAll().where('reference', '=', reference).executeTakeFirst();
export const bookingById = (db: Db, id: string) =>
  t(db).selectFrom('booking_bookings').selectAll().where('id', '=', id).executeTakeFirst();
export const lockBooking = (db: Db, id: string) =>
  t(db).selectFrom('booking_bookings').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();

export type BookingWithSlot = BookingRow & {
  starts_at: Date;
  ends_at: Date;
  bookable_slug: string;
  bookable_title: string;
  bookable_kind: string;
  category: string;
  site_id: string | null;
};

function withSlot(db: Db) {
  return t(db)
    .selectFrom('booking_bookings as b')
    .innerJoin('booking_slots as s', 's.id', 'b.slot_id')
    .innerJoin('booking_bookables as k', 'k.id', 'b.bookable_id')
    .selectAll('b')
    .select([
      's.starts_at',
      's.ends_at',
      'k.slug as bookable_slug',
      'k.title as bookable_title',
      'k.kind as bookable_kind',
      'k.category',
      'k.site_id',
    ]);
}

export async function bookingWithSlot(db: Db, reference: string): Promise<BookingWithSlot | undefined> {
  return (await withSlot(db).where('b.reference', '=', reference).executeTakeFirst()) as
    BookingWithSlot | undefined;
}

export async function bookingsForResident(db: Db, residentId: string): Promise<BookingWithSlot[]> {
  return (await withSlot(db)
    .where('b.resident_id', '=', residentId)
    .orderBy('s.starts_at', 'desc')
    .limit(500)
    .execute()) as BookingWithSlot[];
}

export async function bookingsInSlot(
  db: Db,
  slotId: string,
  statuses: readonly string[],
): Promise<BookingRow[]> {
  return t(db)
    .selectFrom('booking_bookings')
    .selectAll()
    .where('slot_id', '=', slotId)
    .where('status', 'in', statuses as never)
    .orderBy('created_at')
    .execute();
}

/** A site's bookings between two instants (the desk view), with the bookable and slot. */
export async function bookingsAtSite(
  db: Db,
  siteId: string,
  from: Date,
  to: Date,
): Promise<BookingWithSlot[]> {
  return (await withSlot(db)
    .where('k.site_id', '=', siteId)
    .where('s.starts_at', '>=', from)
    .where('s.starts_at', '<', to)
    .where('b.status', 'in', ['held', 'confirmed', 'checked_in', 'no_show'])
    .orderBy('s.starts_at')
    .orderBy('b.name')
    .execute()) as BookingWithSlot[];
}

export async function countActiveFuture(db: Db, bookableId: string, residentId: string, now: Date) {
  const row = await t(db)
    .selectFrom('booking_bookings as b')
    .innerJoin('booking_slots as s', 's.id', 'b.slot_id')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('b.bookable_id', '=', bookableId)
    .where('b.resident_id', '=', residentId)
    .where('b.status', 'in', ['held', 'confirmed'])
    .where('s.ends_at', '>', now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function expiredHolds(db: Db, now: Date, limit = 500): Promise<BookingRow[]> {
  return t(db)
    .selectFrom('booking_bookings')
    .selectAll()
    .where('status', '=', 'held')
    .where('hold_expires_at', '<', now)
    .orderBy('hold_expires_at')
    .limit(limit)
    .execute();
}

export async function expiredHoldsInSlot(db: Db, slotId: string, now: Date): Promise<BookingRow[]> {
  return t(db)
    .selectFrom('booking_bookings')
    .selectAll()
    .where('slot_id', '=', slotId)
    .where('status', '=', 'held')
    .where('hold_expires_at', '<', now)
    .execute();
}

export async function dueReminders(db: Db, from: Date, to: Date): Promise<BookingWithSlot[]> {
  return (await withSlot(db)
    .where('b.status', '=', 'confirmed')
    .where('b.reminded_at', 'is', null)
    .where('s.starts_at', '>', from)
    .where('s.starts_at', '<=', to)
    .limit(500)
    .execute()) as BookingWithSlot[];
}

export async function eraseResidentBookings(db: Db, residentId: string): Promise<void> {
  await t(db)
    .updateTable('booking_bookings')
    .set({
      name: 'Erased',
      email: null,
      phone: null,
      address: null,
      uprn: null,
      notes: null,
      resident_id: null,
    } as never)
    .where('resident_id', '=', residentId)
    .execute();
  await t(db).deleteFrom('booking_waitlist').where('resident_id', '=', residentId).execute();
  await t(db).deleteFrom('booking_business_contacts').where('resident_id', '=', residentId).execute();
  await t(db)
    .updateTable('booking_contract_changes')
    .set({ requested_by: null } as never)
    .where('requested_by', '=', residentId)
    .execute();
}

// Waiting list

export async function insertWaitlist(
  db: Db,
  slotId: string,
  residentId: string,
): Promise<WaitlistRow | undefined> {
  return t(db)
    .insertInto('booking_waitlist')
    .values({ slot_id: slotId, resident_id: residentId } as never)
    .onConflict((oc) =>
      oc.columns(['slot_id', 'resident_id']).where('status', 'in', ['waiting', 'offered']).doNothing(),
    )
    .returningAll()
    .executeTakeFirst();
}

export async function nextWaiting(db: Db, slotId: string): Promise<WaitlistRow | undefined> {
  return t(db)
    .selectFrom('booking_waitlist')
    .selectAll()
    .where('slot_id', '=', slotId)
    .where('status', '=', 'waiting')
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

export async function updateWaitlist(db: Db, id: string, patch: Partial<WaitlistRow>): Promise<void> {
  await t(db)
    .updateTable('booking_waitlist')
    .set(patch as never)
    .where('id', '=', id)
    .execute();
}

export async function waitlistForBooking(db: Db, bookingId: string): Promise<WaitlistRow | undefined> {
  return t(db)
    .selectFrom('booking_waitlist')
    .selectAll()
    .where('booking_id', '=', bookingId)
    .executeTakeFirst();
}

export async function waitlistForResident(db: Db, residentId: string) {
  return t(db)
    .selectFrom('booking_waitlist as w')
    .innerJoin('booking_slots as s', 's.id', 'w.slot_id')
    .innerJoin('booking_bookables as k', 'k.id', 's.bookable_id')
    .select(['w.id', 'w.status', 'w.created_at', 's.starts_at', 'k.title', 'k.slug'])
    .where('w.resident_id', '=', residentId)
    .orderBy('w.created_at', 'desc')
    .execute();
}

export async function waitlistPosition(db: Db, slotId: string, residentId: string): Promise<number | null> {
  const rows = await t(db)
    .selectFrom('booking_waitlist')
    .select(['resident_id'])
    .where('slot_id', '=', slotId)
    .where('status', '=', 'waiting')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const i = rows.findIndex((r) => r.resident_id === residentId);
  return i < 0 ? null : i + 1;
}

export async function withdrawWaitlistForSlot(db: Db, slotId: string): Promise<void> {
  await t(db)
    .updateTable('booking_waitlist')
    .set({ status: 'withdrawn' } as never)
    .where('slot_id', '=', slotId)
    .where('status', 'in', ['waiting', 'offered'])
    .execute();
}

// Businesses and contracts

export async function insertBusiness(
  db: Db,
  row: Omit<BusinessRow, 'id' | 'created_at'>,
): Promise<BusinessRow> {
  return t(db)
    .insertInto('booking_businesses')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function addBusinessContact(db: Db, businessId: string, residentId: string, role: string) {
  await t(db)
    .insertInto('booking_business_contacts')
    .values({ business_id: businessId, resident_id: residentId, role } as never)
    .onConflict((oc) => oc.columns(['business_id', 'resident_id']).doNothing())
    .execute();
}

export async function businessesOf(db: Db, residentId: string): Promise<BusinessRow[]> {
  return t(db)
    .selectFrom('booking_businesses as b')
    .innerJoin('booking_business_contacts as c', 'c.business_id', 'b.id')
    .selectAll('b')
    .where('c.resident_id', '=', residentId)
    .orderBy('b.name')
    .execute();
}

export const businessById = (db: Db, id: string) =>
  t(db).selectFrom('booking_businesses').selectAll().where('id', '=', id).executeTakeFirst();

export async function insertContract(
  db: Db,
  row: Omit<ContractRow, 'id' | 'created_at'>,
): Promise<ContractRow> {
  return t(db)
    .insertInto('booking_contracts')
    .values({ ...row, terms: JSON.stringify(row.terms) } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateContract(db: Db, id: string, patch: Partial<ContractRow>): Promise<ContractRow> {
  return t(db)
    .updateTable('booking_contracts')
    .set(patch as never)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const contractById = (db: Db, id: string) =>
  t(db).selectFrom('booking_contracts').selectAll().where('id', '=', id).executeTakeFirst();

export const contractByReference = (db: Db, reference: string) =>
  t(db).selectFrom('booking_contracts').selectAll().where('reference', '=', reference).executeTakeFirst();

export async function contractsOfBusinesses(db: Db, businessIds: string[]): Promise<ContractRow[]> {
  if (!businessIds.length) return [];
  return t(db)
    .selectFrom('booking_contracts')
    .selectAll()
    .where('business_id', 'in', businessIds)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function insertContractChange(
  db: Db,
  row: { contract_id: string; requested_by: string; details: string },
): Promise<void> {
  await t(db)
    .insertInto('booking_contract_changes')
    .values(row as never)
    .execute();
}

/** Change requests of some contracts, oldest first. */
export async function contractChanges(db: Db, contractIds: string[]) {
  if (!contractIds.length) return [];
  return t(db)
    .selectFrom('booking_contract_changes')
    .select([
      'id',
      'contract_id',
      'requested_by',
      'details',
      'created_at',
      'status',
      'decision_reason',
      'decided_at',
    ])
    .where('contract_id', 'in', contractIds)
    .orderBy('created_at')
    .execute();
}

export const contractChangeById = (db: Db, id: string) =>
  t(db).selectFrom('booking_contract_changes').selectAll().where('id', '=', id).executeTakeFirst();

/** Records staff's answer to an open change request; undefined when it was already answered. */
export async function decideContractChange(
  db: Db,
  id: string,
  decision: { status: 'done' | 'declined'; decision_reason: string | null; decided_by: string },
) {
  return t(db)
    .updateTable('booking_contract_changes')
    .set({ ...decision, decided_at: new Date() } as never)
    .where('id', '=', id)
    .where('status', '=', 'open')
    .returningAll()
    .executeTakeFirst();
}

/** The change requests a resident asked for, with their contract's reference (data download). */
export async function contractChangesBy(db: Db, residentId: string) {
  return t(db)
    .selectFrom('booking_contract_changes as ch')
    .innerJoin('booking_contracts as c', 'c.id', 'ch.contract_id')
    .select([
      'c.reference',
      'ch.details',
      'ch.created_at',
      'ch.status',
      'ch.decision_reason',
      'ch.decided_at',
    ])
    .where('ch.requested_by', '=', residentId)
    .orderBy('ch.created_at')
    .execute();
}

/** The people who act for a business, first added first (who is asked to sign its contracts). */
export async function businessContacts(db: Db, businessId: string) {
  const contacts = await t(db)
    .selectFrom('booking_business_contacts')
    .select(['resident_id', 'role'])
    .where('business_id', '=', businessId)
    .orderBy('created_at')
    .execute();
  const people = [];
  for (const c of contacts) {
    const person = await residentById(db, c.resident_id);
    if (person) people.push({ ...person, role: c.role });
  }
  return people;
}

export async function listContracts(db: Db): Promise<Array<ContractRow & { business_name: string }>> {
  return t(db)
    .selectFrom('booking_contracts as c')
    .innerJoin('booking_businesses as b', 'b.id', 'c.business_id')
    .selectAll('c')
    .select('b.name as business_name')
    .orderBy('c.created_at', 'desc')
    .limit(500)
    .execute();
}

/** Contracts to invoice for a month: active (or ending later) on its first day. */
export async function contractsToInvoice(db: Db, firstDay: string): Promise<ContractRow[]> {
  return t(db)
    .selectFrom('booking_contracts')
    .selectAll()
    .where('status', '!=', 'ended')
    .where('starts_on', '<=', firstDay as never)
    .where((eb) => eb.or([eb('ends_on', 'is', null), eb('ends_on', '>=', firstDay as never)]))
    .execute();
}

export async function insertInvoice(
  db: Db,
  row: Omit<InvoiceRow, 'id' | 'created_at'>,
): Promise<InvoiceRow | undefined> {
  return t(db)
    .insertInto('booking_invoices')
    .values(row as never)
    .onConflict((oc) => oc.columns(['contract_id', 'period']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function invoicesOf(db: Db, contractId: string): Promise<InvoiceRow[]> {
  return t(db)
    .selectFrom('booking_invoices')
    .selectAll()
    .where('contract_id', '=', contractId)
    .orderBy('period', 'desc')
    .execute();
}

export const invoiceById = (db: Db, id: string) =>
  t(db).selectFrom('booking_invoices').selectAll().where('id', '=', id).executeTakeFirst();

export async function updateInvoice(db: Db, id: string, patch: Partial<InvoiceRow>): Promise<void> {
  await t(db)
    .updateTable('booking_invoices')
    .set(patch as never)
    .where('id', '=', id)
    .execute();
}

// ---- Bookings made by API clients ----

export type ApiBookingRow = BookingsTables['booking_api_bookings'];

export async function insertApiBooking(db: Db, row: Omit<ApiBookingRow, 'created_at'>): Promise<void> {
  await t(db)
    .insertInto('booking_api_bookings')
    .values(row as never)
    .execute();
}

/** The booking a client made with an Idempotency-Key, with the hash of that first request. */
export async function apiBookingByKey(
  db: Db,
  clientId: string,
  key: string,
): Promise<{ reference: string; request_hash: string } | undefined> {
  return t(db)
    .selectFrom('booking_api_bookings as a')
    .innerJoin('booking_bookings as b', 'b.id', 'a.booking_id')
    .select(['b.reference', 'a.request_hash'])
    .where('a.client_id', '=', clientId)
    .where('a.idempotency_key', '=', key)
    .executeTakeFirst();
}

/** Whether a client made this booking. */
export async function isApiBookingOf(db: Db, clientId: string, bookingId: string): Promise<boolean> {
  const row = await t(db)
    .selectFrom('booking_api_bookings')
    .select('booking_id')
    .where('client_id', '=', clientId)
    .where('booking_id', '=', bookingId)
    .executeTakeFirst();
  return Boolean(row);
}
