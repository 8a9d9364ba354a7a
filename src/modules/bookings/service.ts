import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../../platform/actor.ts';
import { systemActor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { formatLondon, londonDay } from '../../platform/time.ts';
import { isBankHoliday } from '../../platform/working-days.ts';
import type { PaymentsService } from '../payments/index.ts';
import type { BookingsConfig } from './config.ts';
import {
  weekdays,
  type BookableKind,
  type BookableRules,
  type BookingStatus,
  type OpeningHours,
  type PriceItem,
} from './schema.ts';
import { AvailabilityCache, FreeTimes, type Slot, type TimeOfDay } from './availability.ts';
import * as store from './store.ts';
import {
  addDays,
  formatDay,
  formatTime,
  isDay,
  formatClock,
  londonInstant,
  londonParts,
  weekdayOf,
} from './times.ts';

/** A rule of booking was broken; nothing changed. `message` is fit to show to the person. */
export class BookingError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'not_found'
      | 'unavailable'
      | 'closed'
      | 'too_soon'
      | 'limit'
      | 'out_of_area'
      | 'invalid'
      | 'outside_window'
      | 'not_allowed'
      | 'hold_expired'
      | 'payment_needed'
      | 'already_waiting',
  ) {
    super(message);
  }
}

const NOTHING_TO_BOOK = 'There is nothing to book with that name';
/** How long a web process may show a site's opening hours after another process changed them. */
const SITE_CACHE_MS = 30_000;
const noStarts = new Float64Array(0);

/**
 * A bookable's availability over a range as read, with the stamp it was read at and the span of
 * `now` (epoch ms, after `validAfter`, up to `validUntil`) over which its lead time leaves out the
 * same times. Shared by every caller while kept: not to be changed.
 */
interface KeptAvailability {
  bookable: store.BookableRow;
  free: FreeTimes;
  stamp: string;
  validAfter: number;
  validUntil: number;
}

/** The "no longer available" message every losing attempt at a place gets. */
export const NO_LONGER_AVAILABLE = 'Sorry, that time is no longer available. Choose another time.';

/** Addresses in the council's area (the gazetteer of the catalogue). */
export interface AddressBook {
  address(uprn: string): { uprn: string; text: string; postcode: string } | undefined;
  findAddresses(query: string): Array<{ uprn: string; text: string; postcode: string }>;
}

export type BookingPayments = Pick<
  PaymentsService,
  'createPayment' | 'startCardPayment' | 'getPayment' | 'refund' | 'onPaymentSucceeded'
>;

export interface BookingsDependencies {
  payments?: BookingPayments;
  addresses?: AddressBook;
}

/** A thing people book, as other modules and pages see it. */
export interface Bookable {
  id: string;
  slug: string;
  kind: BookableKind;
  category: string;
  title: string;
  description: string;
  site: { id: string; slug: string; name: string; address: string } | null;
  ownerStaffId: string | null;
  capacity: number;
  slotMinutes: number;
  leadMinutes: number;
  cancelHours: number;
  perPersonLimit: number;
  holdMinutes: number;
  feePence: number;
  rules: BookableRules;
  meetingLink: boolean;
  active: boolean;
}

export type { Slot } from './availability.ts';

/** A booking as other modules and pages see it. */
export interface Booking {
  id: string;
  reference: string;
  status: BookingStatus;
  statusText: string;
  bookable: { slug: string; title: string; kind: string; category: string };
  startsAt: Date;
  endsAt: Date;
  when: string;
  residentId: string | null;
  name: string;
  email: string | null;
  places: number;
  items: Record<string, number>;
  address: string | null;
  feePence: number;
  paymentId: string | null;
  meetingUrl: string | null;
  holdExpiresAt: Date | null;
  offered: boolean;
  channel: string;
  createdAt: Date;
  confirmedAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  checkedInAt: Date | null;
}

const statusTexts: Record<BookingStatus, string> = {
  held: 'Held',
  confirmed: 'Booked',
  checked_in: 'Checked in',
  no_show: 'Did not attend',
  cancelled: 'Cancelled',
  expired: 'Not completed',
  refunded: 'Refunded',
};

export function statusText(status: BookingStatus, offered = false): string {
  return status === 'held' && offered ? 'Place offered' : statusTexts[status];
}

const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;
export const openingHoursSchema = z.partialRecord(
  z.enum(weekdays),
  z.array(z.tuple([z.string().regex(hhmm), z.string().regex(hhmm)])),
);

export const newSiteSchema = z.object({
  slug: z.string().regex(/^[a-z0-9-]{2,60}$/),
  name: z.string().trim().min(1).max(120),
  address: z.string().trim().max(300).default(''),
  openingHours: openingHoursSchema.default({}),
});

export const newBookableSchema = z.object({
  slug: z
    .string()
    .regex(/^[a-z0-9-]{2,80}$/, { error: 'Enter a short name of lower-case letters, numbers or hyphens' }),
  kind: z.enum(['resource', 'session', 'calendar']),
  category: z.string().regex(/^[a-z0-9-]{2,40}$/),
  title: z.string().trim().min(1, { error: 'Enter a title' }).max(120),
  description: z.string().trim().max(2000).default(''),
  site: z.string().nullish(),
  ownerStaffId: z.string().uuid().nullish(),
  capacity: z.number().int().min(0).max(10_000).default(1),
  slotMinutes: z.number().int().min(5).max(1440).default(60),
  leadMinutes: z
    .number()
    .int()
    .min(0)
    .max(60 * 24 * 60)
    .default(0),
  cancelHours: z
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .default(0),
  perPersonLimit: z.number().int().min(0).max(1000).default(0),
  holdMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  feePence: z.number().int().min(0).max(10_000_000).default(0),
  rules: z
    .object({
      items: z
        .array(
          z.object({
            code: z.string().min(1).max(40),
            name: z.string().min(1).max(80),
            pricePence: z.number().int().min(0),
          }),
        )
        .optional(),
      maxItems: z.number().int().min(1).max(100).optional(),
      minimumPence: z.number().int().min(0).optional(),
      inAreaOnly: z.boolean().optional(),
    })
    .default({}),
  meetingLink: z.boolean().default(false),
});
export type NewBookable = z.input<typeof newBookableSchema>;

const when = z.union([z.date(), z.string().datetime({ offset: true })]).transform((v) => new Date(v));

export const holdSchema = z.object({
  bookable: z.string().min(1),
  startsAt: when,
  who: z.union([
    z.object({ residentId: z.string().uuid() }),
    z.object({
      name: z.string().trim().min(1).max(120),
      email: z.email().max(254).nullish(),
      phone: z.string().trim().max(30).nullish(),
    }),
  ]),
  places: z.number().int().min(1).max(50).default(1),
  items: z.record(z.string(), z.number().int().min(0).max(100)).default({}),
  uprn: z.string().max(20).nullish(),
  notes: z.string().trim().max(1000).nullish(),
  channel: z.string().min(1).max(40).default('web'),
});
export type HoldInput = z.input<typeof holdSchema> & { actor: Actor };

function toBookable(row: store.BookableRow, site: store.SiteRow | undefined | null): Bookable {
  return {
    id: row.id,
    slug: row.slug,
    kind: row.kind,
    category: row.category,
    title: row.title,
    description: row.description,
    site: site ? { id: site.id, slug: site.slug, name: site.name, address: site.address } : null,
    ownerStaffId: row.owner_staff_id,
    capacity: row.capacity,
    slotMinutes: row.slot_minutes,
    leadMinutes: row.lead_minutes,
    cancelHours: row.cancel_hours,
    perPersonLimit: row.per_person_limit,
    holdMinutes: row.hold_minutes,
    feePence: row.fee_pence,
    rules: row.rules ?? {},
    meetingLink: row.meeting_link,
    active: row.active,
  };
}

export function describeWhen(startsAt: Date, endsAt: Date): string {
  return describeParts(londonParts(startsAt), startsAt, endsAt);
}

/** describeWhen, given the start's London day and time already worked out. */
function describeParts(start: { day: string; time: string }, startsAt: Date, endsAt: Date): string {
  const day = formatDay(start.day);
  if (endsAt.getTime() - startsAt.getTime() >= 86_400_000 - 3_600_000 && start.time === '00:00') return day;
  return `${day}, ${formatClock(start.time)} to ${formatTime(endsAt)}`;
}

export function toBooking(row: store.BookingWithSlot): Booking {
  return {
    id: row.id,
    reference: row.reference,
    status: row.status,
    statusText: statusText(row.status, row.offered),
    bookable: {
      slug: row.bookable_slug,
      title: row.bookable_title,
      kind: row.bookable_kind,
      category: row.category,
    },
    startsAt: new Date(row.starts_at),
    endsAt: new Date(row.ends_at),
    when: describeWhen(new Date(row.starts_at), new Date(row.ends_at)),
    residentId: row.resident_id,
    name: row.name,
    email: row.email,
    places: row.places,
    items: row.items ?? {},
    address: row.address,
    feePence: row.fee_pence,
    paymentId: row.payment_id,
    meetingUrl: row.meeting_url,
    holdExpiresAt: row.hold_expires_at,
    offered: row.offered,
    channel: row.channel,
    createdAt: row.created_at,
    confirmedAt: row.confirmed_at,
    cancelledAt: row.cancelled_at,
    cancelReason: row.cancel_reason,
    checkedInAt: row.checked_in_at,
  };
}

export function pounds(pence: number): string {
  return `£${(pence / 100).toFixed(2)}`;
}

/** The price of a collection of items from a bookable's price list. */
export interface Quote {
  lines: Array<{ code: string; name: string; quantity: number; unitPence: number; totalPence: number }>;
  itemCount: number;
  totalPence: number;
}

export function quoteItems(rules: BookableRules, items: Record<string, number>): Quote {
  const list = new Map((rules.items ?? []).map((i: PriceItem) => [i.code, i]));
  const lines: Quote['lines'] = [];
  for (const [code, quantity] of Object.entries(items)) {
    if (!quantity) continue;
    const item = list.get(code);
    if (!item) throw new BookingError(`We do not collect “${code}”`, 'invalid');
    lines.push({
      code,
      name: item.name,
      quantity,
      unitPence: item.pricePence,
      totalPence: quantity * item.pricePence,
    });
  }
  const itemCount = lines.reduce((n, l) => n + l.quantity, 0);
  const sum = lines.reduce((n, l) => n + l.totalPence, 0);
  return { lines, itemCount, totalPence: itemCount ? Math.max(sum, rules.minimumPence ?? 0) : 0 };
}

/** The booking engine: availability, holds, confirmation, payment, cancellation, waiting lists. */
export function createBookingsService(
  platform: Platform,
  config: BookingsConfig,
  deps: BookingsDependencies,
) {
  const { notify, events } = platform;
  const db = () => platform.db;
  const publicUrl = platform.config.PUBLIC_URL;
  const secret = platform.config.sessionSecret;

  notify.defineTemplate('booking-confirmed', {
    subject: 'Booking confirmed: ((title)), ((when))',
    body:
      'Your booking is confirmed.\n\nWhat: ((title))\nWhen: ((when))\nWhere: ((where))\nReference: ((reference))\n((extra))\n' +
      'Add it to your calendar: ((calendar_link))\n\nTo cancel or change it: ((link))',
  });
  notify.defineTemplate('booking-cancelled', {
    subject: 'Booking cancelled: ((title)), ((when))',
    body: 'Your booking ((reference)) for ((title)) on ((when)) has been cancelled.\n\n((reason))((refund))',
  });
  notify.defineTemplate('booking-reminder', {
    subject: 'Reminder: ((title)), ((when))',
    body: 'A reminder of your booking.\n\nWhat: ((title))\nWhen: ((when))\nWhere: ((where))\nReference: ((reference))\n((extra))\nTo cancel or change it: ((link))',
  });
  notify.defineTemplate('booking-offer', {
    subject: 'A place is free: ((title)), ((when))',
    body:
      'A place has become free for ((title)) on ((when)), and you are next on the waiting list.\n\n' +
      'We are holding it for you until ((until)). Accept it here: ((link))\n\nIf you do not want it, you need do nothing.',
  });
  notify.defineTemplate('booking-unavailable-refunded', {
    subject: 'We could not book ((title)): your payment is being refunded',
    body:
      'Your payment for ((title)) on ((when)) arrived after we stopped holding the place, and it had been taken by then.\n\n' +
      'We are refunding ((amount)) in full. It can take up to 5 working days to reach your account. Reference: ((reference))',
  });
  notify.defineTemplate('booking-message', {
    subject: 'About your booking: ((title)), ((when))',
    body: '((message))\n\nYour booking reference: ((reference))',
  });

  // Sites change rarely and are read by every availability call. The process that edits a site
  // forgets it at once; other processes within SITE_CACHE_MS.
  const siteCache = new Map<string, { site: store.SiteRow; until: number }>();
  async function siteOf(conn: Db, id: string | null) {
    if (!id) return null;
    const cached = siteCache.get(id);
    if (cached && cached.until > Date.now()) return cached.site;
    const site = await store.siteById(conn, id);
    if (site) siteCache.set(id, { site, until: Date.now() + SITE_CACHE_MS });
    return site ?? null;
  }

  async function mustBookable(conn: Db, slug: string): Promise<store.BookableRow> {
    const row = await store.bookableBySlug(conn, slug);
    if (!row) throw new BookingError(NOTHING_TO_BOOK, 'not_found');
    return row;
  }

  async function mustBooking(conn: Db, reference: string): Promise<store.BookingWithSlot> {
    const row = await store.bookingWithSlot(conn, reference.trim().toUpperCase());
    if (!row) throw new BookingError('There is no booking with that reference', 'not_found');
    return row;
  }

  /** Candidate times of a resource on a day, from its site's opening hours (bank holidays closed). */
  function generatedTimes(
    bookable: store.BookableRow,
    siteHours: OpeningHours | null,
    day: string,
  ): Array<[Date, Date]> {
    if (isBankHoliday(day)) return [];
    const hours: OpeningHours = siteHours ?? {
      mon: [['09:00', '17:00']],
      tue: [['09:00', '17:00']],
      wed: [['09:00', '17:00']],
      thu: [['09:00', '17:00']],
      fri: [['09:00', '17:00']],
    };
    const periods = hours[weekdays[weekdayOf(day)]!] ?? [];
    if (!periods.length) return [];
    if (bookable.slot_minutes >= 1440)
      return [[londonInstant(day, '00:00'), londonInstant(addDays(day, 1), '00:00')]];
    const out: Array<[Date, Date]> = [];
    for (const [open, close] of periods) {
      const end = londonInstant(day, close).getTime();
      for (
        let at = londonInstant(day, open).getTime();
        at + bookable.slot_minutes * 60_000 <= end;
        at += bookable.slot_minutes * 60_000
      ) {
        out.push([new Date(at), new Date(at + bookable.slot_minutes * 60_000)]);
      }
    }
    return out;
  }

  // A month of availability for fifty resources is some 15,000 times: their instants and labels
  // depend only on the site's opening hours, the slot length and the day, so they are made once
  // and shared by every resource and request with the same three. Bounded; edits to opening
  // hours make a new key. The hours come as text with the bookable (read in the same statement,
  // so an edit in another process shows at once) and are parsed once per distinct text.
  interface SharedTimes {
    hours: OpeningHours | null;
    byDay: Map<string, TimeOfDay[]>;
  }
  const timesOfDay = new Map<string, SharedTimes>();
  /** The shared times by day for a site's opening hours (as text; null without a site) and slot length. */
  function timesByDay(bookable: store.BookableRow, hoursText: string | null): SharedTimes {
    const key = `${hoursText ?? '-'}|${bookable.slot_minutes}`;
    let shared = timesOfDay.get(key);
    if (!shared) {
      if (timesOfDay.size > 1_000) timesOfDay.clear();
      shared = {
        hours: hoursText === null ? null : (JSON.parse(hoursText) as OpeningHours),
        byDay: new Map(),
      };
      timesOfDay.set(key, shared);
    }
    return shared;
  }
  function candidateTimes(bookable: store.BookableRow, shared: SharedTimes, day: string): TimeOfDay[] {
    let times = shared.byDay.get(day);
    if (!times) {
      times = generatedTimes(bookable, shared.hours, day).map(([s, e]) => timeOfDay(s, e));
      if (shared.byDay.size > 5_000) shared.byDay.clear();
      shared.byDay.set(day, times);
    }
    return times;
  }

  function timeOfDay(startsAt: Date, endsAt: Date): TimeOfDay {
    const start = londonParts(startsAt);
    return {
      start: startsAt.getTime(),
      end: endsAt.getTime(),
      ...start,
      label: describeParts(start, startsAt, endsAt),
    };
  }

  function toSlot(startsAt: Date, endsAt: Date, capacity: number, remaining: number): Slot {
    const start = londonParts(startsAt);
    return {
      startsAt,
      endsAt,
      day: start.day,
      time: start.time,
      label: describeParts(start, startsAt, endsAt),
      capacity,
      remaining: Math.max(0, remaining),
    };
  }

  /**
   * Some bookables (by slug, in the order asked, unknown ones left out) with every time they have
   * between two London days (inclusive) and the places left at each, read from the database in
   * one round trip; with the availability stamp it was read at and the span of `now` over which
   * the lead time leaves out the same times.
   */
  async function readAvailability(
    conn: Db,
    slugs: string[],
    fromDay: string,
    toDay: string,
    includeFull: boolean,
    now: number,
  ): Promise<KeptAvailability[]> {
    const from = londonInstant(fromDay, '00:00');
    const to = londonInstant(addDays(toDay, 1), '00:00');
    const rows = await store.bookablesWithSlots(conn, slugs, from, to);
    const days: string[] = [];
    for (let day = fromDay; day <= toDay; day = addDays(day, 1)) days.push(day);
    const result: KeptAvailability[] = [];
    for (const { bookable: b, slots, closed, stamp, hours } of rows) {
      const lead = b.lead_minutes * 60_000;
      const earliest = now + lead;
      // The last start left out as too soon and the first one kept: the answer holds while
      // now + lead stays between them.
      let tooSoon = -Infinity;
      let firstKept = Infinity;
      const closedAt = (s: number, e: number) => {
        for (let i = 0; i < closed.length; i += 2) if (closed[i]! < e && closed[i + 1]! > s) return true;
        return false;
      };
      const free = new FreeTimes();
      if (b.kind === 'resource') {
        // Candidate times and slot rows both run in start order: walk them together. Times nobody
        // has held yet have no row and all their places free.
        const shared = timesByDay(b, hours);
        const starts = slots?.starts ?? noStarts;
        let next = 0;
        for (const day of days) {
          for (const t of candidateTimes(b, shared, day)) {
            while (next < starts.length && starts[next]! < t.start) next++;
            if (t.start < earliest) {
              tooSoon = t.start;
              continue;
            }
            if (t.start < firstKept) firstKept = t.start;
            if (closed.length > 0 && closedAt(t.start, t.end)) continue;
            if (next < starts.length && starts[next] === t.start) {
              const capacity = slots!.capacity[next]!;
              const left = capacity - slots!.taken[next]!;
              if (slots!.open[next] && (left > 0 || includeFull)) free.add(t, capacity, left);
            } else free.add(t, b.capacity, b.capacity);
          }
        }
      } else if (slots) {
        for (let i = 0; i < slots.starts.length; i++) {
          const start = slots.starts[i]!;
          const end = slots.ends[i]!;
          const left = slots.capacity[i]! - slots.taken[i]!;
          if (start < earliest) tooSoon = Math.max(tooSoon, start);
          else firstKept = Math.min(firstKept, start);
          if (!slots.open[i] || start < earliest || closedAt(start, end)) continue;
          if (left > 0 || includeFull)
            free.add(timeOfDay(new Date(start), new Date(end)), slots.capacity[i]!, left);
        }
      }
      result.push({ bookable: b, free, stamp, validAfter: tooSoon - lead, validUntil: firstKept - lead });
    }
    return result;
  }

  // Availability kept per bookable and range while its stamp stays the same (the stamps are moved
  // by triggers, so every process sees every write); see docs/decisions/bookings-availability-cache.md.
  const keptAvailability = new AvailabilityCache<KeptAvailability>(
    config.BOOKINGS_AVAILABILITY_CACHE_ENTRIES,
  );

  /**
   * Some bookables (by slug, in the order asked, unknown ones left out) with every time they have
   * between two London days (inclusive) and the places left at each. With the cache on, one cheap
   * statement reads the bookables' stamps and only those changed since they were kept are read.
   */
  async function availabilityOf(
    conn: Db,
    slugs: string[],
    fromDay: string,
    toDay: string,
    options: { includeFull?: boolean; now?: Date } = {},
  ): Promise<Array<{ bookable: store.BookableRow; free: FreeTimes }>> {
    const now = (options.now ?? new Date()).getTime();
    const includeFull = Boolean(options.includeFull);
    if (!keptAvailability.enabled) return readAvailability(conn, slugs, fromDay, toDay, includeFull, now);
    const range = `|${fromDay}|${toDay}|${includeFull ? 'all' : 'free'}`;
    const found = new Map<string, KeptAvailability>();
    const toRead: string[] = [];
    for (const { id, slug, stamp } of await store.availabilityStamps(conn, slugs)) {
      const kept = keptAvailability.get(id + range, stamp);
      if (kept && kept.validAfter < now && now <= kept.validUntil) found.set(slug, kept);
      else toRead.push(slug);
    }
    keptAvailability.counted(found.size, toRead.length);
    if (toRead.length) {
      for (const read of await readAvailability(conn, toRead, fromDay, toDay, includeFull, now)) {
        keptAvailability.set(read.bookable.id + range, read);
        found.set(read.bookable.slug, read);
      }
    }
    const out: KeptAvailability[] = [];
    for (const slug of slugs) {
      const kept = found.get(slug);
      if (kept) out.push(kept);
    }
    return out;
  }

  /** The slot row for a time of a bookable, created for resources; null when it is not bookable. */
  async function slotFor(
    tx: Db,
    bookable: store.BookableRow,
    startsAt: Date,
    now: Date,
  ): Promise<store.SlotRow | null> {
    if (bookable.kind === 'resource') {
      const day = londonDay(startsAt);
      const site = await siteOf(tx, bookable.site_id);
      const match = generatedTimes(bookable, site?.opening_hours ?? null, day).find(
        ([s]) => s.getTime() === startsAt.getTime(),
      );
      if (!match) return null;
      await store.ensureSlot(tx, {
        bookable_id: bookable.id,
        starts_at: match[0],
        ends_at: match[1],
        capacity: bookable.capacity,
      });
    }
    const row = await store.slotAt(tx, bookable.id, startsAt);
    if (!row || row.status !== 'open') return null;
    if (startsAt.getTime() < now.getTime() + bookable.lead_minutes * 60_000) {
      throw new BookingError(
        bookable.lead_minutes >= 1440
          ? `Book at least ${Math.round(bookable.lead_minutes / 1440)} days ahead`
          : 'That time is too soon to book. Choose a later time.',
        'too_soon',
      );
    }
    const closures = await store.closuresOverlapping(
      tx,
      { siteIds: bookable.site_id ? [bookable.site_id] : [], bookableIds: [bookable.id] },
      new Date(row.starts_at),
      new Date(row.ends_at),
    );
    if (closures.length) throw new BookingError(`Closed at that time: ${closures[0]!.reason}`, 'closed');
    return row;
  }

  function meetingUrl(): string {
    return `${config.BOOKINGS_MEETING_URL_PREFIX}${randomBytes(9)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`;
  }

  function calendarKey(reference: string): string {
    return createHmac('sha256', secret).update(`booking-ics:${reference}`).digest('base64url').slice(0, 22);
  }

  async function whereText(conn: Db, row: store.BookingWithSlot): Promise<string> {
    if (row.meeting_url) return `Video call: ${row.meeting_url}`;
    if (row.address) return row.address;
    const site = await siteOf(conn, row.site_id);
    return site ? `${site.name}, ${site.address}` : 'Online';
  }

  async function tell(
    tx: Db,
    row: store.BookingWithSlot,
    template: string,
    personalisation: Record<string, string>,
  ) {
    const values = {
      reference: row.reference,
      title: row.bookable_title,
      when: describeWhen(new Date(row.starts_at), new Date(row.ends_at)),
      link: `${publicUrl}/bookings/${row.reference}`,
      ...personalisation,
    };
    if (row.resident_id) await notify.toResident(tx, row.resident_id, { template, personalisation: values });
    else if (row.email)
      await notify.send(
        tx,
        { channel: 'email', recipient: row.email },
        { template, personalisation: values },
      );
    // Someone booked at the desk or by phone with only a mobile number is told by text.
    else if (row.phone)
      await notify.send(tx, { channel: 'sms', recipient: row.phone }, { template, personalisation: values });
  }

  async function sendConfirmation(tx: Db, bookingId: string) {
    const row = (await store.bookingWithSlot(tx, (await store.bookingById(tx, bookingId))!.reference))!;
    const extra: string[] = [];
    if (row.meeting_url)
      extra.push(`Join the video call at the time of your appointment: ${row.meeting_url}\n`);
    if (row.fee_pence) extra.push(`Paid: ${pounds(row.fee_pence)}\n`);
    await tell(tx, row, 'booking-confirmed', {
      where: await whereText(tx, row),
      extra: extra.join(''),
      calendar_link: `${publicUrl}/bookings/${row.reference}/calendar.ics?key=${calendarKey(row.reference)}`,
    });
  }

  async function audit(
    tx: Db,
    actor: Actor,
    action: string,
    booking: { id: string; reference: string },
    detail: Record<string, unknown> = {},
  ) {
    await recordAudit(tx, {
      actor,
      action,
      subjectType: 'booking',
      subjectId: booking.id,
      detail: { reference: booking.reference, ...detail },
    });
    await events.publish(tx, {
      type: action,
      subjectType: 'booking',
      subjectId: booking.id,
      actor,
      payload: { reference: booking.reference, ...detail },
    });
  }

  /** Confirms a held booking in the caller's transaction (its slot already locked). */
  async function confirmHeld(tx: Db, booking: store.BookingRow, actor: Actor) {
    const updated = await store.updateBooking(tx, booking.id, {
      status: 'confirmed',
      confirmed_at: new Date(),
      hold_expires_at: null,
    });
    const wait = await store.waitlistForBooking(tx, booking.id);
    if (wait) await store.updateWaitlist(tx, wait.id, { status: 'accepted' });
    await audit(tx, actor, 'booking.confirmed', updated);
    await sendConfirmation(tx, booking.id);
    return updated;
  }

  /**
   * Gives places freed in a slot to the waiting list, oldest first: each is held for the person
   * for a limited time and they are told. Call with the slot locked.
   */
  async function offerFreedPlaces(tx: Db, slotId: string, now: Date) {
    for (;;) {
      const next = await store.nextWaiting(tx, slotId);
      if (!next) return;
      const slot = (await store.slotById(tx, slotId))!;
      if (slot.status !== 'open' || new Date(slot.starts_at).getTime() <= now.getTime()) return;
      if (!(await store.takePlaces(tx, slotId, 1))) return;
      const bookable = (await store.bookableById(tx, slot.bookable_id))!;
      const resident = await store.residentById(tx, next.resident_id);
      // Someone who has since reached the per-person limit (they booked this or another time)
      // is passed over: the place goes to the next in line.
      const overLimit =
        resident &&
        bookable.per_person_limit > 0 &&
        (await store.countActiveFuture(tx, bookable.id, resident.id, now)) >= bookable.per_person_limit;
      if (!resident || overLimit) {
        await store.releasePlaces(tx, slotId, 1);
        await store.updateWaitlist(tx, next.id, { status: 'withdrawn' });
        continue;
      }
      const until = new Date(
        Math.min(now.getTime() + config.BOOKINGS_OFFER_HOURS * 3_600_000, new Date(slot.starts_at).getTime()),
      );
      const booking = await store.insertBooking(tx, {
        reference: await freshReference(tx, 'booking_bookings', 'BK'),
        bookable_id: bookable.id,
        slot_id: slotId,
        resident_id: resident.id,
        name: resident.name,
        email: resident.email,
        phone: resident.phone,
        status: 'held',
        places: 1,
        items: {},
        address: null,
        uprn: null,
        notes: null,
        fee_pence: bookable.fee_pence,
        payment_id: null,
        meeting_url: bookable.meeting_link ? meetingUrl() : null,
        hold_expires_at: until,
        offered: true,
        channel: 'waiting-list',
        created_by_staff: null,
        confirmed_at: null,
      });
      await store.updateWaitlist(tx, next.id, { status: 'offered', booking_id: booking.id });
      await audit(tx, systemActor, 'booking.offered', booking, { until: until.toISOString() });
      const row = (await store.bookingWithSlot(tx, booking.reference))!;
      await tell(tx, row, 'booking-offer', { until: formatLondon(until, true) });
    }
  }

  /** Releases a booking's places (cancelled, expired) and offers them on. Slot locked by the caller. */
  async function release(
    tx: Db,
    booking: store.BookingRow,
    status: BookingStatus,
    patch: Partial<store.BookingRow>,
    now: Date,
  ) {
    const updated = await store.updateBooking(tx, booking.id, { status, hold_expires_at: null, ...patch });
    await store.releasePlaces(tx, booking.slot_id, booking.places);
    if (booking.offered) {
      const wait = await store.waitlistForBooking(tx, booking.id);
      if (wait && wait.status === 'offered')
        await store.updateWaitlist(tx, wait.id, { status: status === 'cancelled' ? 'withdrawn' : 'lapsed' });
    }
    await offerFreedPlaces(tx, booking.slot_id, now);
    return updated;
  }

  async function expireHoldsInSlot(tx: Db, slotId: string, now: Date) {
    for (const held of await store.expiredHoldsInSlot(tx, slotId, now)) {
      await release(tx, held, 'expired', {}, now);
      await audit(tx, systemActor, 'booking.hold_expired', held);
    }
  }

  async function refundAfterCommit(
    booking: { id: string; reference: string; payment_id: string | null; fee_pence: number },
    reason: string,
    actor: Actor,
  ) {
    if (!booking.payment_id || !deps.payments) return;
    const payment = await deps.payments.getPayment(db(), booking.payment_id);
    if (!payment || payment.status !== 'success') return;
    await deps.payments.refund({
      payment: payment.id,
      amount: payment.amount,
      reason,
      idempotencyKey: `booking-refund:${booking.id}`,
      actor,
    });
  }

  const service = {
    // ---- Sites, bookables and what is on offer ----

    /** Adds or updates a site (a library, a leisure centre) with its opening hours. */
    async saveSite(actor: Actor, input: z.input<typeof newSiteSchema>) {
      const v = newSiteSchema.parse(input);
      return db()
        .transaction()
        .execute(async (tx) => {
          const site = await store.upsertSite(tx, {
            slug: v.slug,
            name: v.name,
            address: v.address,
            opening_hours: v.openingHours,
          });
          siteCache.delete(site.id);
          await recordAudit(tx, {
            actor,
            action: 'booking.site_saved',
            subjectType: 'booking_site',
            subjectId: site.id,
            detail: { slug: v.slug },
          });
          return site;
        });
    },

    listSites: (conn: Db = db()) => store.listSites(conn),
    getSite: (conn: Db, slug: string) => store.siteBySlug(conn, slug),

    /** Adds something people can book: a resource, a session type (then add sessions) or a person's calendar. */
    async createBookable(actor: Actor, input: NewBookable): Promise<Bookable> {
      const v = newBookableSchema.parse(input);
      return db()
        .transaction()
        .execute(async (tx) => {
          if (await store.bookableBySlug(tx, v.slug))
            throw new BookingError('That short name is already used', 'invalid');
          const site = v.site ? await store.siteBySlug(tx, v.site) : null;
          if (v.site && !site) throw new BookingError('There is no site with that name', 'not_found');
          const row = await store.insertBookable(tx, {
            slug: v.slug,
            kind: v.kind,
            category: v.category,
            title: v.title,
            description: v.description,
            site_id: site?.id ?? null,
            owner_staff_id: v.ownerStaffId ?? null,
            capacity: v.kind === 'calendar' ? 1 : v.capacity,
            slot_minutes: v.slotMinutes,
            lead_minutes: v.leadMinutes,
            cancel_hours: v.cancelHours,
            per_person_limit: v.perPersonLimit,
            hold_minutes: v.holdMinutes,
            fee_pence: v.feePence,
            rules: v.rules,
            meeting_link: v.meetingLink,
          });
          await recordAudit(tx, {
            actor,
            action: 'booking.bookable_created',
            subjectType: 'bookable',
            subjectId: row.id,
            detail: { slug: v.slug, kind: v.kind },
          });
          return toBookable(row, site);
        });
    },

    /** Changes the capacity, fee, rules or whether something can be booked. */
    async updateBookable(
      actor: Actor,
      slug: string,
      patch: Partial<
        Pick<
          Bookable,
          | 'title'
          | 'description'
          | 'capacity'
          | 'feePence'
          | 'active'
          | 'cancelHours'
          | 'leadMinutes'
          | 'perPersonLimit'
          | 'holdMinutes'
        >
      >,
    ) {
      return db()
        .transaction()
        .execute(async (tx) => {
          const row = await mustBookable(tx, slug);
          const before = toBookable(row, null);
          const changed = Object.fromEntries(
            Object.entries(patch).filter(([k, v]) => v !== undefined && before[k as keyof Bookable] !== v),
          );
          const updated = await store.updateBookable(tx, row.id, {
            ...(patch.title !== undefined ? { title: patch.title } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.capacity !== undefined ? { capacity: patch.capacity } : {}),
            ...(patch.feePence !== undefined ? { fee_pence: patch.feePence } : {}),
            ...(patch.active !== undefined ? { active: patch.active } : {}),
            ...(patch.cancelHours !== undefined ? { cancel_hours: patch.cancelHours } : {}),
            ...(patch.leadMinutes !== undefined ? { lead_minutes: patch.leadMinutes } : {}),
            ...(patch.perPersonLimit !== undefined ? { per_person_limit: patch.perPersonLimit } : {}),
            ...(patch.holdMinutes !== undefined ? { hold_minutes: patch.holdMinutes } : {}),
          });
          // A resource's times to come take the new number of places (never fewer than are booked).
          if (row.kind === 'resource' && patch.capacity !== undefined && patch.capacity !== row.capacity)
            await store.setFutureSlotCapacity(tx, row.id, patch.capacity, new Date());
          await recordAudit(tx, {
            actor,
            action: 'booking.bookable_updated',
            subjectType: 'bookable',
            subjectId: row.id,
            detail: {
              slug,
              changed,
              before: Object.fromEntries(Object.keys(changed).map((k) => [k, before[k as keyof Bookable]])),
            },
          });
          return toBookable(updated, await siteOf(tx, updated.site_id));
        });
    },

    /** One bookable by its short name, or undefined. */
    async getBookable(conn: Db, slug: string): Promise<Bookable | undefined> {
      const row = await store.bookableBySlug(conn, slug);
      return row ? toBookable(row, await siteOf(conn, row.site_id)) : undefined;
    },

    /** What can be booked, by category (library-pc, class, bulky-waste, video-consultation…), site or owner. */
    async findBookables(
      conn: Db,
      filter: {
        category?: string;
        site?: string;
        kind?: BookableKind;
        ownerStaffId?: string;
        includeInactive?: boolean;
      } = {},
    ): Promise<Bookable[]> {
      const site = filter.site ? await store.siteBySlug(conn, filter.site) : undefined;
      if (filter.site && !site) return [];
      const rows = await store.listBookables(conn, {
        category: filter.category,
        siteId: site?.id,
        kind: filter.kind,
        ownerStaffId: filter.ownerStaffId,
        activeOnly: !filter.includeInactive,
      });
      return Promise.all(rows.map(async (r) => toBookable(r, await siteOf(conn, r.site_id))));
    },

    /** Adds a session (a class) or a consultation slot at a time, with its places. */
    async addSlot(
      actor: Actor,
      slug: string,
      input: { startsAt: Date; endsAt: Date; capacity?: number; note?: string | null },
    ) {
      if (!(input.endsAt.getTime() > input.startsAt.getTime()))
        throw new BookingError('The end must be after the start', 'invalid');
      return db()
        .transaction()
        .execute(async (tx) => {
          const bookable = await mustBookable(tx, slug);
          if (bookable.kind === 'resource')
            throw new BookingError('Times of a resource come from its opening hours', 'invalid');
          const existing = await store.slotAt(tx, bookable.id, input.startsAt);
          if (existing && existing.status === 'open')
            throw new BookingError('There is already a session at that time', 'invalid');
          if (existing) {
            await store.updateSlot(tx, existing.id, {
              status: 'open',
              ends_at: input.endsAt,
              capacity: Math.max(existing.taken, input.capacity ?? bookable.capacity),
            });
          } else {
            await store.ensureSlot(tx, {
              bookable_id: bookable.id,
              starts_at: input.startsAt,
              ends_at: input.endsAt,
              capacity: bookable.kind === 'calendar' ? 1 : (input.capacity ?? bookable.capacity),
              note: input.note ?? null,
            });
          }
          const slot = (await store.slotAt(tx, bookable.id, input.startsAt))!;
          await recordAudit(tx, {
            actor,
            action: 'booking.slot_added',
            subjectType: 'booking_slot',
            subjectId: slot.id,
            detail: { bookable: slug, startsAt: input.startsAt.toISOString() },
          });
          return toSlot(
            new Date(slot.starts_at),
            new Date(slot.ends_at),
            slot.capacity,
            slot.capacity - slot.taken,
          );
        });
    },

    /** A person's calendar of consultation slots (made on first use), for the care module. */
    async calendarFor(
      actor: Actor,
      input: { staffId: string; title: string; category?: string; slotMinutes?: number },
    ): Promise<Bookable> {
      const slug = `calendar-${input.staffId.slice(0, 8)}-${(input.category ?? 'video-consultation').slice(0, 30)}`;
      const existing = await store.bookableBySlug(db(), slug);
      if (existing) return toBookable(existing, null);
      return service.createBookable(actor, {
        slug,
        kind: 'calendar',
        category: input.category ?? 'video-consultation',
        title: input.title,
        ownerStaffId: input.staffId,
        slotMinutes: input.slotMinutes ?? 30,
        leadMinutes: 60,
        cancelHours: 2,
        meetingLink: true,
      });
    },

    /** Publishes consultation slots on a person's calendar (each one place). */
    async publishSlots(actor: Actor, slug: string, slots: Array<{ startsAt: Date; endsAt: Date }>) {
      const out: Slot[] = [];
      for (const s of slots) out.push(await service.addSlot(actor, slug, { ...s, capacity: 1 }));
      return out;
    },

    /** Blocks out time: a site, one bookable, or everything (site and bookable both null). */
    async addClosure(
      actor: Actor & { type: 'staff' },
      input: { site?: string | null; bookable?: string | null; startsAt: Date; endsAt: Date; reason: string },
    ) {
      if (!(input.endsAt.getTime() > input.startsAt.getTime()))
        throw new BookingError('The end must be after the start', 'invalid');
      return db()
        .transaction()
        .execute(async (tx) => {
          const site = input.site ? await store.siteBySlug(tx, input.site) : null;
          // An unknown site must not become a closure of everywhere.
          if (input.site && !site) throw new BookingError('There is no site with that name', 'not_found');
          const bookable = input.bookable ? await mustBookable(tx, input.bookable) : null;
          const closure = await store.insertClosure(tx, {
            site_id: site?.id ?? null,
            bookable_id: bookable?.id ?? null,
            starts_at: input.startsAt,
            ends_at: input.endsAt,
            reason: input.reason.trim().slice(0, 200) || 'Closed',
            created_by: actor.id,
          });
          await recordAudit(tx, {
            actor,
            action: 'booking.closure_added',
            subjectType: 'booking_closure',
            subjectId: closure.id,
            detail: { site: input.site, bookable: input.bookable, reason: input.reason },
          });
          return closure;
        });
    },

    upcomingClosures: (conn: Db = db()) => store.upcomingClosures(conn, new Date()),

    /** A closure by id (undefined for an unknown or malformed id). */
    async getClosure(conn: Db, id: string) {
      if (!z.uuid().safeParse(id).success) return undefined;
      return store.closureById(conn, id);
    },

    /**
     * Removes a closure: its times can be booked again at once (availability is worked out from
     * the closures that exist). A closure never takes or frees places (times are counted the same
     * with or without it), so nobody on a waiting list is offered anything because of it.
     */
    async removeClosure(actor: Actor & { type: 'staff' }, id: string) {
      return db()
        .transaction()
        .execute(async (tx) => {
          const closure = await service.getClosure(tx, id);
          if (!closure || !(await store.deleteClosure(tx, closure.id)))
            throw new BookingError('That closure has already been removed', 'not_found');
          await recordAudit(tx, {
            actor,
            action: 'booking.closure_removed',
            subjectType: 'booking_closure',
            subjectId: closure.id,
            detail: {
              siteId: closure.site_id,
              bookableId: closure.bookable_id,
              startsAt: closure.starts_at.toISOString(),
              endsAt: closure.ends_at.toISOString(),
              reason: closure.reason,
              addedBy: closure.created_by,
            },
          });
          return closure;
        });
    },

    // ---- Availability ----

    /** Times with places left between two London days (inclusive, at most 62 days). */
    async availability(
      conn: Db,
      slug: string,
      range: { from: string; to: string },
      options: { includeFull?: boolean } = {},
    ): Promise<Slot[]> {
      if (!isDay(range.from) || !isDay(range.to) || range.to < range.from)
        throw new BookingError('Enter a valid range of dates', 'invalid');
      if (addDays(range.from, 62) < range.to)
        throw new BookingError('Ask for at most two months at a time', 'invalid');
      const [found] = await availabilityOf(conn, [slug], range.from, range.to, options);
      if (!found) throw new BookingError(NOTHING_TO_BOOK, 'not_found');
      return found.free.toSlots();
    },

    /**
     * Free times of many bookables at once (a site's month, every library computer), keyed by
     * slug, in the compact form: `count`, `daysWithPlaces()`, `toJson()`, or `toSlots()`.
     */
    async availabilityMany(
      conn: Db,
      slugs: string[],
      range: { from: string; to: string },
    ): Promise<Map<string, FreeTimes>> {
      const found = await availabilityOf(conn, slugs, range.from, range.to);
      return new Map(found.map(({ bookable, free }) => [bookable.slug, free]));
    },

    /** How many bookables' availability came from the cache and how many were read (since start). */
    availabilityCacheCounts(): { fromCache: number; read: number } {
      return keptAvailability.counts();
    },

    /** The next London days with at least one free place (for the assistant: "the next 3 dates"). */
    async nextAvailableDates(
      slug: string,
      options: { from?: string; count?: number; conn?: Db } = {},
    ): Promise<string[]> {
      const conn = options.conn ?? db();
      const count = Math.min(Math.max(options.count ?? 3, 1), 31);
      const out: string[] = [];
      let from = options.from && isDay(options.from) ? options.from : londonDay();
      for (let i = 0; i < 6 && out.length < count; i++) {
        const to = addDays(from, 30);
        const [found] = await availabilityOf(conn, [slug], from, to);
        if (!found) throw new BookingError(NOTHING_TO_BOOK, 'not_found');
        for (const day of found.free.daysWithPlaces()) if (out.length < count) out.push(day);
        from = addDays(to, 1);
      }
      return out;
    },

    // ---- Prices and eligibility ----

    /** The price of items from a bookable's price list, and whether they are within its limit. */
    async quote(
      slug: string,
      items: Record<string, number>,
      conn: Db = db(),
    ): Promise<Quote & { maxItems: number | null }> {
      const bookable = await mustBookable(conn, slug);
      const q = quoteItems(bookable.rules, items);
      const maxItems = bookable.rules.maxItems ?? null;
      if (maxItems && q.itemCount > maxItems)
        throw new BookingError(`We can collect up to ${maxItems} items in one collection`, 'limit');
      return { ...q, maxItems };
    },

    /** Whether an address is in the council's area, by UPRN. */
    addressInArea(uprn: string | null | undefined) {
      if (!uprn || !deps.addresses) return undefined;
      return deps.addresses.address(uprn.trim());
    },

    /** Addresses matching a postcode or street, from the council's gazetteer. */
    findAddresses(query: string) {
      return deps.addresses?.findAddresses(query) ?? [];
    },

    // ---- Holding, booking and paying ----

    /**
     * Holds places at a time. Free bookings are confirmed at once when `confirm` is true (the
     * default on the web); paid ones stay held for the bookable's hold time while the person
     * pays, with a payment created in the same transaction. Throws BookingError 'unavailable'
     * (NO_LONGER_AVAILABLE) when someone else got there first.
     */
    async hold(
      input: HoldInput,
      options: {
        confirm?: boolean;
        now?: Date;
        /** Runs in the booking's transaction once it exists (an API client's record of it). */
        onCreated?: (tx: Db, booking: { id: string; reference: string }) => Promise<void>;
      } = {},
    ): Promise<Booking & { payment: { id: string; reference: string } | null }> {
      const v = holdSchema.parse(input);
      const now = options.now ?? new Date();
      const confirmFree = options.confirm ?? true;
      const created = await db()
        .transaction()
        .execute(async (tx) => {
          const bookable = await mustBookable(tx, v.bookable);
          if (!bookable.active) throw new BookingError('This cannot be booked at the moment', 'closed');
          const person =
            'residentId' in v.who
              ? await store.residentById(tx, v.who.residentId)
              : {
                  id: null,
                  name: v.who.name,
                  email: v.who.email ?? null,
                  phone: v.who.phone ?? null,
                  address: null,
                };
          if (!person) throw new BookingError('There is no resident with that account', 'not_found');

          let fee = bookable.fee_pence * v.places;
          let address: string | null = null;
          const items = Object.fromEntries(Object.entries(v.items).filter(([, n]) => n > 0));
          if (bookable.rules.items?.length) {
            const q = quoteItems(bookable.rules, items);
            if (!q.itemCount)
              throw new BookingError('Enter how many of at least one item you want collected', 'invalid');
            if (bookable.rules.maxItems && q.itemCount > bookable.rules.maxItems)
              throw new BookingError(
                `We can collect up to ${bookable.rules.maxItems} items in one collection`,
                'limit',
              );
            fee = q.totalPence;
          }
          if (bookable.rules.inAreaOnly) {
            const found = v.uprn ? deps.addresses?.address(v.uprn) : undefined;
            if (!found)
              throw new BookingError(
                'We can only collect from addresses in Kilnford. Choose an address in our area.',
                'out_of_area',
              );
            address = found.text;
          }
          if (bookable.per_person_limit && person.id) {
            const active = await store.countActiveFuture(tx, bookable.id, person.id, now);
            if (active + 1 > bookable.per_person_limit)
              throw new BookingError(
                `You can have up to ${bookable.per_person_limit} booking${bookable.per_person_limit === 1 ? '' : 's'} of ${bookable.title} at a time. Cancel one to book another.`,
                'limit',
              );
          }

          const slot = await slotFor(tx, bookable, v.startsAt, now);
          if (!slot) throw new BookingError(NO_LONGER_AVAILABLE, 'unavailable');
          // Lock the slot: everything that changes its places queues here, so no place is sold twice.
          await store.lockSlot(tx, slot.id);
          await expireHoldsInSlot(tx, slot.id, now);
          if (!(await store.takePlaces(tx, slot.id, v.places)))
            throw new BookingError(NO_LONGER_AVAILABLE, 'unavailable');

          const paid = fee > 0;
          let booking = await store.insertBooking(tx, {
            reference: await freshReference(tx, 'booking_bookings', 'BK'),
            bookable_id: bookable.id,
            slot_id: slot.id,
            resident_id: person.id,
            name: person.name,
            email: person.email,
            phone: person.phone,
            status: 'held',
            places: v.places,
            items,
            address,
            uprn: v.uprn ?? null,
            notes: v.notes ?? null,
            fee_pence: fee,
            payment_id: null,
            meeting_url: bookable.meeting_link ? meetingUrl() : null,
            hold_expires_at: new Date(now.getTime() + bookable.hold_minutes * 60_000),
            offered: false,
            channel: v.channel,
            created_by_staff: input.actor.type === 'staff' ? input.actor.id : null,
            confirmed_at: null,
          });
          if (options.onCreated) await options.onCreated(tx, booking);
          let payment: { id: string; reference: string } | null = null;
          if (paid) {
            if (!deps.payments) throw new BookingError('Payments are not available', 'invalid');
            if (!person.id && !person.email)
              throw new BookingError('A paid booking needs an email address for the receipt', 'invalid');
            const p = await deps.payments.createPayment(tx, {
              amount: fee,
              description: `${bookable.title} (${booking.reference})`,
              payer: person.id ? { residentId: person.id } : { email: person.email },
              paysFor: { type: 'booking', id: booking.id },
              idempotencyKey: `booking:${booking.id}`,
              channel: v.channel,
              actor: input.actor,
            });
            payment = { id: p.id, reference: p.reference };
            booking = await store.updateBooking(tx, booking.id, { payment_id: p.id });
          }
          await audit(tx, input.actor, 'booking.held', booking, {
            bookable: bookable.slug,
            startsAt: v.startsAt.toISOString(),
            fee,
          });
          if (!paid && confirmFree) booking = await confirmHeld(tx, booking, input.actor);
          return { reference: booking.reference, payment };
        });
      const row = await mustBooking(db(), created.reference);
      return { ...toBooking(row), payment: created.payment };
    },

    /** Confirms a held booking that owes nothing (the assistant's "yes, book it"; an accepted offer). */
    async confirm(reference: string, actor: Actor): Promise<Booking> {
      const row = await mustBooking(db(), reference);
      await db()
        .transaction()
        .execute(async (tx) => {
          await store.lockSlot(tx, row.slot_id);
          const b = (await store.lockBooking(tx, row.id))!;
          if (b.status === 'confirmed') return;
          if (b.status !== 'held')
            throw new BookingError('This booking can no longer be confirmed', 'not_allowed');
          if (b.hold_expires_at && b.hold_expires_at.getTime() < Date.now()) {
            await release(tx, b, 'expired', {}, new Date());
            return 'expired';
          }
          if (b.fee_pence > 0) {
            const payment =
              b.payment_id && deps.payments ? await deps.payments.getPayment(tx, b.payment_id) : undefined;
            if (payment?.status !== 'success')
              throw new BookingError('This booking needs paying for first', 'payment_needed');
          }
          await confirmHeld(tx, b, actor);
        })
        .then((outcome) => {
          if (outcome === 'expired')
            throw new BookingError('We stopped holding this place. Choose a time again.', 'hold_expired');
        });
      return toBooking(await mustBooking(db(), reference));
    },

    /**
     * Where to send the person to pay for a held booking (after commit). Makes the payment when an
     * offered place is accepted. Returns null when nothing is owed.
     */
    async paymentLink(
      reference: string,
      returnUrl: string,
      actor: Actor = systemActor,
    ): Promise<string | null> {
      let row = await mustBooking(db(), reference);
      if (row.status !== 'held') return null;
      if (row.hold_expires_at && row.hold_expires_at.getTime() < Date.now())
        throw new BookingError(
          'We stopped holding this place because it was not paid for in time. Choose a time again.',
          'hold_expired',
        );
      if (!row.fee_pence || !deps.payments) return null;
      if (!row.payment_id) {
        await db()
          .transaction()
          .execute(async (tx) => {
            const b = (await store.lockBooking(tx, row.id))!;
            if (b.payment_id) return;
            const p = await deps.payments!.createPayment(tx, {
              amount: b.fee_pence,
              description: `${row.bookable_title} (${b.reference})`,
              payer: b.resident_id ? { residentId: b.resident_id } : { email: b.email },
              paysFor: { type: 'booking', id: b.id },
              idempotencyKey: `booking:${b.id}`,
              channel: b.channel,
              actor,
            });
            await store.updateBooking(tx, b.id, { payment_id: p.id });
          });
        row = await mustBooking(db(), reference);
      }
      const payment = await deps.payments.getPayment(db(), row.payment_id!);
      if (!payment || payment.status === 'success') return null;
      return (await deps.payments.startCardPayment(payment, returnUrl, actor)).nextUrl;
    },

    /**
     * A payment for a booking succeeded: confirm it. If the hold had lapsed, the place is given
     * when still free; otherwise the booking is marked refunded and the money goes back in full.
     */
    async settlePayment(bookingId: string, actor: Actor = systemActor): Promise<BookingStatus> {
      const first = await store.bookingById(db(), bookingId);
      if (!first) return 'cancelled';
      const outcome = await db()
        .transaction()
        .execute(async (tx) => {
          await store.lockSlot(tx, first.slot_id);
          const b = (await store.lockBooking(tx, bookingId))!;
          if (b.status === 'held') {
            await confirmHeld(tx, b, actor);
            return 'confirmed' as const;
          }
          if (b.status === 'expired') {
            const slot = (await store.slotById(tx, b.slot_id))!;
            if (
              new Date(slot.starts_at).getTime() > Date.now() &&
              (await store.takePlaces(tx, b.slot_id, b.places))
            ) {
              await confirmHeld(tx, b, actor);
              return 'confirmed' as const;
            }
            await store.updateBooking(tx, b.id, {
              status: 'refunded',
              cancel_reason: 'Paid after the place had gone',
              cancelled_at: new Date(),
            });
            await audit(tx, actor, 'booking.refunded_unavailable', b);
            const row = (await store.bookingWithSlot(tx, b.reference))!;
            await tell(tx, row, 'booking-unavailable-refunded', { amount: pounds(b.fee_pence) });
            return 'refund' as const;
          }
          if (b.status === 'cancelled') return 'refund' as const;
          return b.status;
        });
      if (outcome === 'refund') {
        await refundAfterCommit(first, 'The place was no longer available when the payment arrived', actor);
        return 'refunded';
      }
      return outcome;
    },

    /** Settles a held booking whose payment has already succeeded (the event may not have run yet). */
    async settleIfPaid(reference: string): Promise<boolean> {
      const row = await store.bookingWithSlot(db(), reference);
      if (!row || row.status !== 'held' || !row.payment_id || !deps.payments) return false;
      const payment = await deps.payments.getPayment(db(), row.payment_id);
      if (payment?.status !== 'success') return false;
      await service.settlePayment(row.id);
      return true;
    },

    // ---- Changing and cancelling ----

    /** Cancels a booking. Residents only before the cancellation window; staff at any time. Paid fees are refunded. */
    async cancel(
      reference: string,
      actor: Actor,
      reason = '',
      options: { now?: Date } = {},
    ): Promise<Booking> {
      const now = options.now ?? new Date();
      const row = await mustBooking(db(), reference);
      if (actor.type === 'resident' && row.resident_id !== actor.id)
        throw new BookingError('There is no booking with that reference', 'not_found');
      const bookable = (await store.bookableById(db(), row.bookable_id))!;
      if ((actor.type === 'resident' || actor.type === 'api') && row.status === 'confirmed') {
        const deadline = new Date(row.starts_at).getTime() - bookable.cancel_hours * 3_600_000;
        if (now.getTime() > deadline)
          throw new BookingError(
            bookable.cancel_hours
              ? `You can only cancel online up to ${bookable.cancel_hours} hours before the start. Contact us if you cannot come.`
              : 'This booking has started and can no longer be cancelled',
            'outside_window',
          );
      }
      const cancelled = await db()
        .transaction()
        .execute(async (tx) => {
          await store.lockSlot(tx, row.slot_id);
          const b = (await store.lockBooking(tx, row.id))!;
          if (b.status !== 'confirmed' && b.status !== 'held')
            throw new BookingError('This booking is not active, so it cannot be cancelled', 'not_allowed');
          const updated = await release(
            tx,
            b,
            'cancelled',
            { cancelled_at: now, cancel_reason: reason.slice(0, 500) || null },
            now,
          );
          await audit(tx, actor, 'booking.cancelled', b, { reason });
          const paid =
            b.payment_id && deps.payments ? await deps.payments.getPayment(tx, b.payment_id) : undefined;
          if (b.status === 'confirmed')
            await tell(tx, (await store.bookingWithSlot(tx, b.reference))!, 'booking-cancelled', {
              reason: reason ? `Reason: ${reason}\n\n` : '',
              refund: paid?.status === 'success' ? `We are refunding ${pounds(paid.amount)} in full.` : '',
            });
          return updated;
        });
      await refundAfterCommit(cancelled, 'Booking cancelled', actor);
      return toBooking(await mustBooking(db(), reference));
    },

    /** Moves a booking to another time of the same bookable, within the cancellation window. */
    async move(
      reference: string,
      startsAt: Date,
      actor: Actor,
      options: { now?: Date } = {},
    ): Promise<Booking> {
      const now = options.now ?? new Date();
      const row = await mustBooking(db(), reference);
      if (actor.type === 'resident' && row.resident_id !== actor.id)
        throw new BookingError('There is no booking with that reference', 'not_found');
      if (row.status !== 'confirmed')
        throw new BookingError('Only a confirmed booking can be moved', 'not_allowed');
      const bookable = (await store.bookableById(db(), row.bookable_id))!;
      if (
        actor.type === 'resident' &&
        now.getTime() > new Date(row.starts_at).getTime() - bookable.cancel_hours * 3_600_000
      )
        throw new BookingError(
          `You can only change a booking online up to ${bookable.cancel_hours} hours before the start`,
          'outside_window',
        );
      await db()
        .transaction()
        .execute(async (tx) => {
          const target = await slotFor(tx, bookable, startsAt, now);
          if (!target) throw new BookingError(NO_LONGER_AVAILABLE, 'unavailable');
          if (target.id === row.slot_id) return;
          // Lock both slots in one order, so two moves in opposite directions cannot deadlock.
          for (const id of [target.id, row.slot_id].sort()) await store.lockSlot(tx, id);
          const b = (await store.lockBooking(tx, row.id))!;
          if (b.status !== 'confirmed')
            throw new BookingError('Only a confirmed booking can be moved', 'not_allowed');
          await expireHoldsInSlot(tx, target.id, now);
          if (!(await store.takePlaces(tx, target.id, b.places)))
            throw new BookingError(NO_LONGER_AVAILABLE, 'unavailable');
          await store.releasePlaces(tx, b.slot_id, b.places);
          await store.updateBooking(tx, b.id, { slot_id: target.id, reminded_at: null });
          await audit(tx, actor, 'booking.moved', b, {
            from: new Date(row.starts_at).toISOString(),
            to: startsAt.toISOString(),
          });
          await offerFreedPlaces(tx, b.slot_id, now);
          await sendConfirmation(tx, b.id);
        });
      return toBooking(await mustBooking(db(), reference));
    },

    // ---- Waiting list ----

    /** Joins the waiting list of a full time. Returns the person's place in the queue. */
    async joinWaitingList(input: {
      bookable: string;
      startsAt: Date;
      residentId: string;
      actor: Actor;
    }): Promise<{ position: number }> {
      return db()
        .transaction()
        .execute(async (tx) => {
          const bookable = await mustBookable(tx, input.bookable);
          const slot = await slotFor(tx, bookable, input.startsAt, new Date());
          if (!slot) throw new BookingError('There is no session at that time', 'not_found');
          await store.lockSlot(tx, slot.id);
          await expireHoldsInSlot(tx, slot.id, new Date());
          const fresh = (await store.slotById(tx, slot.id))!;
          if (fresh.taken < fresh.capacity)
            throw new BookingError('There is a place free at that time: book it instead', 'invalid');
          if (
            bookable.per_person_limit > 0 &&
            (await store.countActiveFuture(tx, bookable.id, input.residentId, new Date())) >=
              bookable.per_person_limit
          )
            throw new BookingError(
              `You can have up to ${bookable.per_person_limit} booking${bookable.per_person_limit === 1 ? '' : 's'} of ${bookable.title} at a time, so you cannot join the waiting list. Cancel one first.`,
              'limit',
            );
          const row = await store.insertWaitlist(tx, slot.id, input.residentId);
          if (!row)
            throw new BookingError('You are already on the waiting list for that time', 'already_waiting');
          await recordAudit(tx, {
            actor: input.actor,
            action: 'booking.waitlisted',
            subjectType: 'booking_slot',
            subjectId: slot.id,
            detail: { bookable: bookable.slug },
          });
          return { position: (await store.waitlistPosition(tx, slot.id, input.residentId)) ?? 1 };
        });
    },

    waitingListFor: (conn: Db, residentId: string) => store.waitlistForResident(conn, residentId),

    // ---- Staff: the desk, sessions and messages ----

    /** A site's bookings on a London day (the desk view). */
    async deskDay(conn: Db, siteSlug: string, day: string) {
      const site = await store.siteBySlug(conn, siteSlug);
      if (!site) throw new BookingError('There is no site with that name', 'not_found');
      const rows = await store.bookingsAtSite(
        conn,
        site.id,
        londonInstant(day, '00:00'),
        londonInstant(addDays(day, 1), '00:00'),
      );
      return { site, bookings: rows.map(toBooking) };
    },

    /** Marks an attendee as arrived (or as not having come). */
    async recordAttendance(
      reference: string,
      outcome: 'checked_in' | 'no_show',
      actor: Actor,
    ): Promise<Booking> {
      const row = await mustBooking(db(), reference);
      await db()
        .transaction()
        .execute(async (tx) => {
          const b = (await store.lockBooking(tx, row.id))!;
          if (!['confirmed', 'checked_in', 'no_show'].includes(b.status))
            throw new BookingError('Only a confirmed booking can be checked in', 'not_allowed');
          await store.updateBooking(tx, b.id, {
            status: outcome,
            checked_in_at: outcome === 'checked_in' ? new Date() : null,
          });
          await audit(tx, actor, outcome === 'checked_in' ? 'booking.checked_in' : 'booking.no_show', b);
        });
      return toBooking(await mustBooking(db(), reference));
    },

    /** Residents by reference or email, for a walk-in booking at the desk. */
    findResident: (conn: Db, value: string) => store.residentByReferenceOrEmail(conn, value),

    /** The sessions (slots) of a bookable between two days, with their bookings counted. */
    async sessions(conn: Db, slug: string, range: { from: string; to: string }) {
      const bookable = await mustBookable(conn, slug);
      const rows = await store.slotsInRange(
        conn,
        [bookable.id],
        londonInstant(range.from, '00:00'),
        londonInstant(addDays(range.to, 1), '00:00'),
      );
      return rows.map((r) => ({
        id: r.id,
        status: r.status,
        ...toSlot(new Date(r.starts_at), new Date(r.ends_at), r.capacity, r.capacity - r.taken),
        taken: r.taken,
      }));
    },

    /** The people booked into a session. */
    async attendees(conn: Db, slotId: string) {
      const rows = await store.bookingsInSlot(conn, slotId, ['held', 'confirmed', 'checked_in', 'no_show']);
      return rows.map((r) => ({
        reference: r.reference,
        name: r.name,
        status: statusText(r.status, r.offered),
        places: r.places,
      }));
    },

    /** Cancels a whole session (a class): every booking is cancelled, refunded and told why. */
    async cancelSession(slotId: string, message: string, actor: Actor): Promise<number> {
      if (!message.trim()) throw new BookingError('Enter a message for the attendees', 'invalid');
      const refunds: store.BookingRow[] = [];
      const count = await db()
        .transaction()
        .execute(async (tx) => {
          const slot = await store.lockSlot(tx, slotId);
          if (!slot) throw new BookingError('There is no such session', 'not_found');
          if (slot.status === 'cancelled') return 0;
          await store.withdrawWaitlistForSlot(tx, slotId);
          const bookings = await store.bookingsInSlot(tx, slotId, ['held', 'confirmed']);
          for (const b of bookings) {
            await store.updateBooking(tx, b.id, {
              status: 'cancelled',
              cancelled_at: new Date(),
              cancel_reason: message.slice(0, 500),
              hold_expires_at: null,
            });
            await audit(tx, actor, 'booking.cancelled', b, { reason: 'session cancelled' });
            const paid =
              b.payment_id && deps.payments ? await deps.payments.getPayment(tx, b.payment_id) : undefined;
            if (paid?.status === 'success') refunds.push(b);
            await tell(tx, (await store.bookingWithSlot(tx, b.reference))!, 'booking-cancelled', {
              reason: `${message.trim()}\n\n`,
              refund: paid?.status === 'success' ? `We are refunding ${pounds(paid.amount)} in full.` : '',
            });
          }
          await store.updateSlot(tx, slotId, { status: 'cancelled', taken: 0 });
          await recordAudit(tx, {
            actor,
            action: 'booking.session_cancelled',
            subjectType: 'booking_slot',
            subjectId: slotId,
            detail: { bookings: bookings.length },
          });
          return bookings.length;
        });
      for (const b of refunds) await refundAfterCommit(b, 'Session cancelled by the council', actor);
      return count;
    },

    /** Sends a message to everyone booked into a session. */
    async messageAttendees(slotId: string, message: string, actor: Actor): Promise<number> {
      if (!message.trim()) throw new BookingError('Enter a message', 'invalid');
      return db()
        .transaction()
        .execute(async (tx) => {
          const bookings = await store.bookingsInSlot(tx, slotId, ['confirmed', 'checked_in']);
          for (const b of bookings)
            await tell(tx, (await store.bookingWithSlot(tx, b.reference))!, 'booking-message', {
              message: message.trim(),
            });
          await recordAudit(tx, {
            actor,
            action: 'booking.attendees_messaged',
            subjectType: 'booking_slot',
            subjectId: slotId,
            detail: { count: bookings.length },
          });
          return bookings.length;
        });
    },

    // ---- Reading bookings ----

    /** A booking by its reference (BK-XXXX-XX), or undefined. */
    async getByReference(conn: Db, reference: string): Promise<Booking | undefined> {
      const row = await store.bookingWithSlot(conn, reference.trim().toUpperCase());
      return row && toBooking(row);
    },

    /** A resident's bookings, latest first. */
    async bookingsForResident(conn: Db, residentId: string): Promise<Booking[]> {
      return (await store.bookingsForResident(conn, residentId)).map(toBooking);
    },

    /** Where a booking happens, in words (site and address, the collection address, or the video link). */
    async whereOf(conn: Db, reference: string): Promise<string> {
      return whereText(conn, await mustBooking(conn, reference));
    },

    /** Whether a key from a confirmation email opens a booking's calendar file. */
    calendarKeyMatches(reference: string, key: string): boolean {
      const expected = Buffer.from(calendarKey(reference));
      const given = Buffer.from(key);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },

    calendarLink: (reference: string) => `/bookings/${reference}/calendar.ics?key=${calendarKey(reference)}`,

    // ---- Jobs ----

    /** Releases holds past their time (and offers the places on). Returns how many. */
    async releaseExpiredHolds(now = new Date()): Promise<number> {
      let released = 0;
      for (const held of await store.expiredHolds(db(), now)) {
        await db()
          .transaction()
          .execute(async (tx) => {
            await store.lockSlot(tx, held.slot_id);
            const b = (await store.lockBooking(tx, held.id))!;
            if (b.status !== 'held' || !b.hold_expires_at || b.hold_expires_at.getTime() >= now.getTime())
              return;
            await release(tx, b, 'expired', {}, now);
            await audit(tx, systemActor, 'booking.hold_expired', b);
            released += 1;
          });
      }
      return released;
    },

    /** Sends reminders for bookings starting within the reminder period. */
    async sendReminders(now = new Date()): Promise<number> {
      const due = await store.dueReminders(
        db(),
        now,
        new Date(now.getTime() + config.BOOKINGS_REMINDER_HOURS * 3_600_000),
      );
      for (const row of due) {
        await db()
          .transaction()
          .execute(async (tx) => {
            const b = (await store.lockBooking(tx, row.id))!;
            if (b.reminded_at || b.status !== 'confirmed') return;
            await store.updateBooking(tx, b.id, { reminded_at: now });
            await tell(tx, row, 'booking-reminder', {
              where: await whereText(tx, row),
              extra: row.meeting_url ? `Join the video call at the time: ${row.meeting_url}\n` : '',
            });
          });
      }
      return due.length;
    },

    /** Anonymises a resident's bookings (UK GDPR erasure); the places and money stay accounted for. */
    eraseResident: (tx: Db, residentId: string) => store.eraseResidentBookings(tx, residentId),
  };
  return service;
}

export type BookingsService = ReturnType<typeof createBookingsService>;
