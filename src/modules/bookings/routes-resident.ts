import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { calendarFile } from './ics.ts';
import {
  BookingError,
  pounds,
  type Bookable,
  type Booking,
  type BookingsService,
  type Slot,
} from './service.ts';
import { addDays, formatDay, isDay, londonInstant } from './times.ts';

export const categoryLabels: Record<string, string> = {
  'library-pc': 'Library computers',
  class: 'Classes and courses',
  leisure: 'Leisure and fitness',
  'bulky-waste': 'Bulky waste collection',
  'video-consultation': 'Video consultations',
  room: 'Rooms to hire',
};

type Body = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');

async function requireResident(request: FastifyRequest, reply: FastifyReply) {
  if (request.resident) return;
  const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/sign-in${returnTo}`, 303);
}

interface BulkyDraft {
  uprn?: string;
  address?: string;
  items?: Record<string, number>;
  day?: string;
}

/** Resident pages: find, availability, book, pay, confirmation, cancel, move, waiting list, My account. */
export function registerBookingRoutes(app: FastifyInstance, platform: Platform, service: BookingsService) {
  const { db } = platform;
  const signedIn = { preHandler: requireResident };
  const submissions = { config: { rateLimit: platform.rateLimits.submissions } };

  function fail(reply: FastifyReply, error: unknown, status = 400) {
    if (error instanceof BookingError)
      return { status: error.code === 'unavailable' ? 409 : status, text: error.message };
    throw error;
  }

  // ---- Find ----

  app.get('/book', async (request, reply) => {
    const q = request.query as Record<string, string>;
    const category = str(q.category);
    const site = str(q.site);
    const day = isDay(q.date) ? q.date : '';
    const sites = await service.listSites(db);
    const bookables = await service.findBookables(db, {
      category: category || undefined,
      site: site || undefined,
    });
    const visible = bookables.filter((b) => b.kind !== 'calendar' || category === 'video-consultation');
    let withTimes: Array<Bookable & { freeOnDay?: number }> = visible;
    if (day) {
      const availability = await service.availabilityMany(
        db,
        visible.map((b) => b.slug),
        { from: day, to: day },
      );
      withTimes = visible.map((b) => ({ ...b, freeOnDay: availability.get(b.slug)?.count ?? 0 }));
    }
    return reply.render('bookings/views/find.njk', {
      title: 'Book a place',
      navSection: 'services',
      categories: Object.entries(categoryLabels).map(([value, text]) => ({
        value,
        text,
        selected: value === category,
      })),
      sites: sites
        .filter((s) => s.slug !== 'waste-depot')
        .map((s) => ({ value: s.slug, text: s.name, selected: s.slug === site })),
      values: { category, site, date: day },
      day,
      dayLabel: day ? formatDay(day) : '',
      results: withTimes.map((b) => ({
        ...b,
        href: `/book/${b.slug}${day ? `?date=${day}` : ''}`,
        feeText: b.feePence ? pounds(b.feePence) : b.rules.items ? 'Priced by item' : 'Free',
      })),
    });
  });

  // ---- Availability and booking ----

  async function bookablePage(
    request: FastifyRequest,
    reply: FastifyReply,
    slug: string,
    extra: { errors?: Array<{ field: string; text: string }>; status?: number; day?: string } = {},
  ) {
    const bookable = await service.getBookable(db, slug);
    if (!bookable || !bookable.active) throw new HttpError(404, 'Page not found');
    if (bookable.category === 'bulky-waste') return reply.redirect(`/book/${slug}/address`, 303);
    const q = request.query as Record<string, string>;
    const today = londonDay();
    const range =
      bookable.kind === 'resource'
        ? { from: today, to: addDays(today, 20) }
        : { from: today, to: addDays(today, 60) };
    const all = await service.availability(db, slug, range, { includeFull: true });
    const days = [...new Set(all.filter((s) => s.remaining > 0).map((s) => s.day))];
    const chosen = extra.day ?? (isDay(q.date) ? q.date : days[0]);
    const times = bookable.kind === 'resource' ? all.filter((s) => s.day === chosen) : all;
    return reply.code(extra.status ?? 200).render('bookings/views/bookable.njk', {
      title: bookable.title,
      navSection: 'services',
      backLink: `/book?category=${bookable.category}`,
      bookable,
      feeText: bookable.feePence ? pounds(bookable.feePence) : 'Free',
      isResource: bookable.kind === 'resource',
      days: days.slice(0, 14).map((d) => ({
        day: d,
        label: formatDay(d),
        current: d === chosen,
        href: `/book/${slug}?date=${d}`,
      })),
      chosenDay: chosen ?? '',
      chosenLabel: chosen ? formatDay(chosen) : '',
      timeItems: times
        .filter((s) => s.remaining > 0)
        .map((s: Slot) => ({
          value: s.startsAt.toISOString(),
          text: bookable.kind === 'resource' ? s.label.split(', ').slice(1).join(', ') : s.label,
          hint: { text: `${s.remaining} ${s.remaining === 1 ? 'place' : 'places'} left` },
        })),
      fullItems: times
        .filter((s) => s.remaining <= 0)
        .map((s) => ({ value: s.startsAt.toISOString(), text: s.label })),
      errors: extra.errors ?? [],
    });
  }

  app.get('/book/:slug', async (request, reply) =>
    bookablePage(request, reply, (request.params as { slug: string }).slug),
  );

  app.post('/book/:slug', { ...submissions, ...signedIn }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const body = (request.body ?? {}) as Body;
    const startsAt = str(body.startsAt);
    const day = str(body.day);
    if (!startsAt || Number.isNaN(Date.parse(startsAt)))
      return bookablePage(request, reply, slug, {
        status: 400,
        errors: [{ field: 'startsAt', text: 'Choose a time' }],
        // The day the resident was looking at, not the first day with free times.
        ...(isDay(day) ? { day } : {}),
      });
    try {
      const booking = await service.hold({
        bookable: slug,
        startsAt,
        who: { residentId: request.resident!.id },
        channel: 'web',
        actor: actorOf(request),
      });
      if (booking.payment) {
        const next = await service.paymentLink(
          booking.reference,
          `/bookings/${booking.reference}`,
          actorOf(request),
        );
        if (next) return reply.redirect(next, 303);
      }
      return reply.redirect(`/bookings/${booking.reference}`, 303);
    } catch (error) {
      const f = fail(reply, error);
      return bookablePage(request, reply, slug, {
        status: f.status,
        errors: [{ field: 'startsAt', text: f.text }],
        day: londonDay(new Date(startsAt)),
      });
    }
  });

  app.post('/book/:slug/waiting-list', { ...submissions, ...signedIn }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const startsAt = str((request.body as Body)?.startsAt);
    if (!startsAt || Number.isNaN(Date.parse(startsAt)))
      return bookablePage(request, reply, slug, {
        status: 400,
        errors: [{ field: 'waitFor', text: 'Choose a full session to wait for' }],
      });
    try {
      const { position } = await service.joinWaitingList({
        bookable: slug,
        startsAt: new Date(startsAt),
        residentId: request.resident!.id,
        actor: actorOf(request),
      });
      request.session.set(
        'flash',
        `You are number ${position} on the waiting list. If a place becomes free we will email you and hold it for you.`,
      );
      return reply.redirect('/account/bookings', 303);
    } catch (error) {
      const f = fail(reply, error);
      return bookablePage(request, reply, slug, {
        status: f.status,
        errors: [{ field: 'waitFor', text: f.text }],
      });
    }
  });

  // ---- Bulky waste: address, items, day, check and pay ----

  const draftOf = (request: FastifyRequest): BulkyDraft =>
    (request.session?.get('bookingsBulky') as BulkyDraft | undefined) ?? {};
  const saveDraft = (request: FastifyRequest, draft: BulkyDraft) =>
    request.session.set('bookingsBulky', draft);

  app.get('/book/:slug/address', signedIn, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const bookable = await service.getBookable(db, slug);
    if (!bookable?.rules.inAreaOnly) throw new HttpError(404, 'Page not found');
    const q = request.query as Record<string, string>;
    const postcode = str(q.postcode).trim();
    const found = postcode ? service.findAddresses(postcode) : [];
    const errors =
      postcode && !found.length
        ? [
            {
              field: 'postcode',
              text: `We only collect from addresses in Kilnford, and we cannot find ${postcode.toUpperCase()} in our area. Check the postcode.`,
            },
          ]
        : [];
    return reply.code(errors.length ? 400 : 200).render('bookings/views/bulky-address.njk', {
      title: 'What is the address for the collection?',
      navSection: 'services',
      backLink: '/book?category=bulky-waste',
      bookable,
      postcode,
      addresses: found.map((a) => ({
        value: a.uprn,
        text: a.text,
        checked: a.uprn === draftOf(request).uprn,
      })),
      errors,
    });
  });

  app.post('/book/:slug/address', signedIn, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const uprn = str((request.body as Body)?.uprn);
    const address = service.addressInArea(uprn);
    if (!address)
      return reply.redirect(
        `/book/${slug}/address?postcode=${encodeURIComponent(str((request.body as Body)?.postcode))}&missing=1`,
        303,
      );
    saveDraft(request, { ...draftOf(request), uprn, address: address.text });
    return reply.redirect(`/book/${slug}/items`, 303);
  });

  async function itemsPage(
    request: FastifyRequest,
    reply: FastifyReply,
    slug: string,
    errors: Array<{ field: string; text: string }> = [],
    values?: Record<string, string>,
  ) {
    const bookable = await service.getBookable(db, slug);
    if (!bookable?.rules.items) throw new HttpError(404, 'Page not found');
    const draft = draftOf(request);
    if (!draft.uprn) return reply.redirect(`/book/${slug}/address`, 303);
    return reply.code(errors.length ? 400 : 200).render('bookings/views/bulky-items.njk', {
      title: 'What do you want us to collect?',
      navSection: 'services',
      backLink: `/book/${slug}/address`,
      bookable,
      maxItems: bookable.rules.maxItems,
      minimum: bookable.rules.minimumPence ? pounds(bookable.rules.minimumPence) : null,
      items: bookable.rules.items.map((i) => ({
        ...i,
        price: pounds(i.pricePence),
        value: values?.[i.code] ?? String(draft.items?.[i.code] ?? ''),
      })),
      errors,
    });
  }

  app.get('/book/:slug/items', signedIn, async (request, reply) =>
    itemsPage(request, reply, (request.params as { slug: string }).slug),
  );

  app.post('/book/:slug/items', signedIn, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const bookable = await service.getBookable(db, slug);
    if (!bookable?.rules.items) throw new HttpError(404, 'Page not found');
    const body = (request.body ?? {}) as Body;
    const items: Record<string, number> = {};
    const values: Record<string, string> = {};
    const errors: Array<{ field: string; text: string }> = [];
    for (const item of bookable.rules.items) {
      const raw = str(body[`item-${item.code}`]).trim();
      values[item.code] = raw;
      if (!raw) continue;
      const n = z.coerce.number().int().min(0).max(20).safeParse(raw);
      if (!n.success)
        errors.push({
          field: `item-${item.code}`,
          text: `Enter the number of ${item.name.toLowerCase()} items as a whole number, like 2`,
        });
      else if (n.data > 0) items[item.code] = n.data;
    }
    if (!errors.length) {
      try {
        const quote = await service.quote(slug, items);
        if (!quote.itemCount)
          errors.push({
            field: `item-${bookable.rules.items[0]!.code}`,
            text: 'Enter how many of at least one item you want collected',
          });
      } catch (error) {
        errors.push({ field: `item-${bookable.rules.items[0]!.code}`, text: fail(reply, error).text });
      }
    }
    if (errors.length) return itemsPage(request, reply, slug, errors, values);
    saveDraft(request, { ...draftOf(request), items });
    return reply.redirect(`/book/${slug}/day`, 303);
  });

  async function dayPage(
    request: FastifyRequest,
    reply: FastifyReply,
    slug: string,
    errors: Array<{ field: string; text: string }> = [],
    status?: number,
  ) {
    const bookable = await service.getBookable(db, slug);
    if (!bookable) throw new HttpError(404, 'Page not found');
    const draft = draftOf(request);
    if (!draft.items) return reply.redirect(`/book/${slug}/items`, 303);
    const today = londonDay();
    const slots = await service.availability(db, slug, { from: today, to: addDays(today, 28) });
    return reply.code(status ?? (errors.length ? 400 : 200)).render('bookings/views/bulky-day.njk', {
      title: 'Which day do you want your collection?',
      navSection: 'services',
      backLink: `/book/${slug}/items`,
      bookable,
      dayItems: slots
        .slice(0, 15)
        .map((s) => ({ value: s.day, text: formatDay(s.day), checked: s.day === draft.day })),
      errors,
    });
  }

  app.get('/book/:slug/day', signedIn, async (request, reply) =>
    dayPage(request, reply, (request.params as { slug: string }).slug),
  );

  app.post('/book/:slug/day', signedIn, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const day = str((request.body as Body)?.day);
    if (!isDay(day))
      return dayPage(request, reply, slug, [{ field: 'day', text: 'Choose a day for the collection' }]);
    saveDraft(request, { ...draftOf(request), day });
    return reply.redirect(`/book/${slug}/check`, 303);
  });

  app.get('/book/:slug/check', signedIn, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const bookable = await service.getBookable(db, slug);
    const draft = draftOf(request);
    if (!bookable || !draft.day || !draft.items || !draft.address)
      return reply.redirect(`/book/${slug}/address`, 303);
    const quote = await service.quote(slug, draft.items);
    return reply.render('bookings/views/bulky-check.njk', {
      title: 'Check your booking',
      navSection: 'services',
      backLink: `/book/${slug}/day`,
      bookable,
      draft,
      dayLabel: formatDay(draft.day),
      quote: {
        ...quote,
        total: pounds(quote.totalPence),
        lines: quote.lines.map((l) => ({ ...l, total: pounds(l.totalPence) })),
      },
      slug,
    });
  });

  app.post('/book/:slug/check', { ...submissions, ...signedIn }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const draft = draftOf(request);
    if (!draft.day || !draft.items || !draft.uprn) return reply.redirect(`/book/${slug}/address`, 303);
    try {
      const booking = await service.hold({
        bookable: slug,
        startsAt: londonInstant(draft.day, '00:00'),
        who: { residentId: request.resident!.id },
        items: draft.items,
        uprn: draft.uprn,
        channel: 'web',
        actor: actorOf(request),
      });
      saveDraft(request, {});
      const next = await service.paymentLink(
        booking.reference,
        `/bookings/${booking.reference}`,
        actorOf(request),
      );
      return reply.redirect(next ?? `/bookings/${booking.reference}`, 303);
    } catch (error) {
      const f = fail(reply, error);
      return dayPage(request, reply, slug, [{ field: 'day', text: f.text }], f.status);
    }
  });

  // ---- A booking: confirmation, pay, accept, cancel, move, calendar ----

  async function mine(request: FastifyRequest): Promise<Booking> {
    const { reference } = request.params as { reference: string };
    const booking = await service.getByReference(db, reference);
    // Someone else's booking looks exactly like one that does not exist.
    if (!booking || booking.residentId !== request.resident!.id) throw new HttpError(404, 'Page not found');
    return booking;
  }

  app.get('/bookings/:reference', signedIn, async (request, reply) => {
    let booking = await mine(request);
    // Back from paying: the payment may have succeeded before its event was delivered.
    if (booking.status === 'held' && booking.paymentId) {
      const settled = await service.settleIfPaid(booking.reference);
      if (settled) booking = await mine(request);
    }
    const bookable = await service.getBookable(db, booking.bookable.slug);
    const title =
      booking.status === 'confirmed'
        ? 'Booking confirmed'
        : booking.status === 'held' && booking.offered
          ? 'A place is waiting for you'
          : booking.status === 'held'
            ? 'Your booking is not finished'
            : booking.status === 'refunded'
              ? 'We could not book this: your money is being refunded'
              : `Booking: ${booking.statusText.toLowerCase()}`;
    const canChange =
      booking.status === 'confirmed' &&
      bookable &&
      Date.now() < booking.startsAt.getTime() - bookable.cancelHours * 3_600_000;
    return reply.render('bookings/views/booking.njk', {
      title,
      navSection: 'account',
      backLink: '/account/bookings',
      booking,
      bookable,
      where: await service.whereOf(db, booking.reference),
      fee: booking.feePence ? pounds(booking.feePence) : null,
      items: Object.entries(booking.items).map(([code, n]) => ({
        name: bookable?.rules.items?.find((i) => i.code === code)?.name ?? code,
        n,
      })),
      calendarLink: service.calendarLink(booking.reference),
      canChange,
      canMove: canChange && bookable?.category !== 'bulky-waste',
      cancelNote: bookable?.cancelHours
        ? `You can cancel or change this booking online up to ${bookable.cancelHours} hours before it starts.`
        : '',
    });
  });

  app.post('/bookings/:reference/pay', { ...submissions, ...signedIn }, async (request, reply) => {
    const booking = await mine(request);
    try {
      const next = await service.paymentLink(
        booking.reference,
        `/bookings/${booking.reference}`,
        actorOf(request),
      );
      if (!next && booking.status === 'held' && booking.offered)
        await service.confirm(booking.reference, actorOf(request));
      return reply.redirect(next ?? `/bookings/${booking.reference}`, 303);
    } catch (error) {
      request.session.set('flash', fail(reply, error).text);
      return reply.redirect(`/bookings/${booking.reference}`, 303);
    }
  });

  app.get('/bookings/:reference/calendar.ics', async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const key = str((request.query as Record<string, string>).key);
    const booking = await service.getByReference(db, reference);
    const allowed =
      booking &&
      ((key && service.calendarKeyMatches(booking.reference, key)) ||
        (request.resident && request.resident.id === booking.residentId));
    if (!booking || !allowed) throw new HttpError(404, 'Page not found');
    const body = calendarFile(
      {
        uid: `${booking.reference}@${new URL(platform.config.PUBLIC_URL).host}`,
        startsAt: booking.startsAt,
        endsAt: booking.endsAt,
        summary: booking.bookable.title,
        description: `Booking reference ${booking.reference}.${booking.meetingUrl ? ` Join the video call: ${booking.meetingUrl}` : ''}`,
        location: await service.whereOf(db, booking.reference),
        url: `${platform.config.PUBLIC_URL}/bookings/${booking.reference}`,
        cancelled: booking.status === 'cancelled' || booking.status === 'refunded',
        sequence: booking.cancelledAt ? 1 : 0,
      },
      platform.config.COUNCIL_NAME,
    );
    return reply
      .type('text/calendar; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${booking.reference}.ics"`)
      .header('Cache-Control', 'no-store')
      .send(body);
  });

  app.get('/bookings/:reference/cancel', signedIn, async (request, reply) => {
    const booking = await mine(request);
    return reply.render('bookings/views/cancel.njk', {
      title: 'Are you sure you want to cancel this booking?',
      navSection: 'account',
      backLink: `/bookings/${booking.reference}`,
      booking,
    });
  });

  app.post('/bookings/:reference/cancel', { ...submissions, ...signedIn }, async (request, reply) => {
    const booking = await mine(request);
    try {
      await service.cancel(booking.reference, actorOf(request), 'Cancelled by the resident');
      request.session.set(
        'flash',
        `Booking ${booking.reference} is cancelled${booking.feePence ? '. Your payment is being refunded in full' : ''}.`,
      );
      return reply.redirect('/account/bookings', 303);
    } catch (error) {
      const f = fail(reply, error);
      return reply.code(f.status).render('bookings/views/cancel.njk', {
        title: 'Are you sure you want to cancel this booking?',
        navSection: 'account',
        backLink: `/bookings/${booking.reference}`,
        booking,
        errors: [{ field: 'cancel', text: f.text }],
      });
    }
  });

  async function movePage(
    request: FastifyRequest,
    reply: FastifyReply,
    booking: Booking,
    errors: Array<{ field: string; text: string }> = [],
    status = 200,
  ) {
    const bookable = (await service.getBookable(db, booking.bookable.slug))!;
    const q = request.query as Record<string, string>;
    const today = londonDay();
    const all = await service.availability(db, bookable.slug, {
      from: today,
      to: addDays(today, bookable.kind === 'resource' ? 20 : 60),
    });
    const days = [...new Set(all.map((s) => s.day))];
    const chosen = isDay(q.date) ? q.date : days[0];
    const times = (bookable.kind === 'resource' ? all.filter((s) => s.day === chosen) : all).filter(
      (s) => s.startsAt.getTime() !== booking.startsAt.getTime(),
    );
    return reply.code(status).render('bookings/views/move.njk', {
      title: 'Choose a new time',
      navSection: 'account',
      backLink: `/bookings/${booking.reference}`,
      booking,
      isResource: bookable.kind === 'resource',
      days: days.slice(0, 14).map((d) => ({
        label: formatDay(d),
        current: d === chosen,
        href: `/bookings/${booking.reference}/move?date=${d}`,
      })),
      timeItems: times.map((s) => ({
        value: s.startsAt.toISOString(),
        text: s.label,
        hint: { text: `${s.remaining} ${s.remaining === 1 ? 'place' : 'places'} left` },
      })),
      errors,
    });
  }

  app.get('/bookings/:reference/move', signedIn, async (request, reply) =>
    movePage(request, reply, await mine(request)),
  );

  app.post('/bookings/:reference/move', { ...submissions, ...signedIn }, async (request, reply) => {
    const booking = await mine(request);
    const startsAt = str((request.body as Body)?.startsAt);
    if (!startsAt || Number.isNaN(Date.parse(startsAt)))
      return movePage(request, reply, booking, [{ field: 'startsAt', text: 'Choose a new time' }], 400);
    try {
      const moved = await service.move(booking.reference, new Date(startsAt), actorOf(request));
      request.session.set(
        'flash',
        `Your booking has moved to ${moved.when}. We have emailed you the new details.`,
      );
      return reply.redirect(`/bookings/${booking.reference}`, 303);
    } catch (error) {
      const f = fail(reply, error);
      return movePage(request, reply, booking, [{ field: 'startsAt', text: f.text }], f.status);
    }
  });

  // ---- My account ----

  app.get('/account/bookings', signedIn, async (request, reply) => {
    const residentId = request.resident!.id;
    const [bookings, waiting] = await Promise.all([
      service.bookingsForResident(db, residentId),
      service.waitingListFor(db, residentId),
    ]);
    const now = Date.now();
    return reply.render('bookings/views/account-bookings.njk', {
      title: 'Your bookings',
      navSection: 'account',
      backLink: '/account',
      upcoming: bookings
        .filter((b) => b.endsAt.getTime() > now && ['held', 'confirmed', 'checked_in'].includes(b.status))
        .reverse(),
      past: bookings.filter(
        (b) => !(b.endsAt.getTime() > now && ['held', 'confirmed', 'checked_in'].includes(b.status)),
      ),
      waiting: waiting
        .filter((w) => w.status === 'waiting')
        .map((w) => ({ ...w, when: formatDay(londonDay(new Date(w.starts_at))) })),
    });
  });
}
