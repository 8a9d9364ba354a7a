import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { categoryLabels } from './routes-resident.ts';
import { BookingError, pounds, type BookingsService } from './service.ts';
import { addDays, formatDay, formatTime, isDay, londonInstant } from './times.ts';

type Body = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const hhmm = /^([01]?\d|2[0-3]):[0-5]\d$/;

/** The back office: the desk per site, bookings, sessions, closures and consultation slots. */
export function registerStaffRoutes(app: FastifyInstance, platform: Platform, service: BookingsService) {
  const { db } = platform;
  const desk = { permission: 'bookings:desk' as const };
  const manage = { permission: 'bookings:manage' as const };
  const slots = { permission: 'bookings:slots' as const };

  const errorText = (error: unknown) => {
    if (error instanceof BookingError) return error.message;
    throw error;
  };

  app.get('/staff/bookings', { config: desk }, async (request, reply) => {
    const [sites, bookables, closures] = await Promise.all([
      service.listSites(db),
      service.findBookables(db, { includeInactive: true }),
      service.upcomingClosures(db),
    ]);
    const mine = bookables.filter((b) => b.kind === 'calendar' && b.ownerStaffId === request.staff!.id);
    return reply.render('bookings/views/staff-home.njk', {
      title: 'Bookings',
      navSection: 'bookings',
      sites,
      bookables: bookables.map((b) => ({
        ...b,
        categoryText: categoryLabels[b.category] ?? b.category,
        feeText: b.feePence ? pounds(b.feePence) : 'Free',
      })),
      closures: closures.map((c) => ({
        ...c,
        site: sites.find((s) => s.id === c.site_id)?.name ?? (c.bookable_id ? 'One service' : 'Everywhere'),
      })),
      mine,
    });
  });

  // ---- The desk: today's bookings at a site ----

  async function deskPage(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: Array<{ field: string; text: string }> = [],
    values: Record<string, string> = {},
  ) {
    const { site } = request.params as { site: string };
    const q = request.query as Record<string, string>;
    const day = isDay(q.date) ? q.date : londonDay();
    let data;
    try {
      data = await service.deskDay(db, site, day);
    } catch {
      throw new HttpError(404, 'Page not found');
    }
    const bookables = (await service.findBookables(db, { site })).filter(
      (b) => b.kind !== 'calendar' && !b.feePence && !b.rules.items,
    );
    const free = await service.availabilityMany(
      db,
      bookables.map((b) => b.slug),
      { from: day, to: day },
    );
    return reply.code(errors.length ? 400 : 200).render('bookings/views/staff-desk.njk', {
      title: `${data.site.name}: ${formatDay(day)}`,
      navSection: 'bookings',
      site: data.site,
      day,
      previous: `/staff/bookings/desk/${site}?date=${addDays(day, -1)}`,
      next: `/staff/bookings/desk/${site}?date=${addDays(day, 1)}`,
      bookings: data.bookings.map((b) => ({ ...b, time: formatTime(b.startsAt) })),
      walkInItems: bookables.flatMap((b) =>
        (free.get(b.slug) ?? []).map((s) => ({
          value: `${b.slug}|${s.startsAt.toISOString()}`,
          text: `${b.title}: ${formatTime(s.startsAt)} (${s.remaining} free)`,
          selected: values.slot === `${b.slug}|${s.startsAt.toISOString()}`,
        })),
      ),
      values,
      errors,
    });
  }

  app.get('/staff/bookings/desk/:site', { config: desk }, (request, reply) => deskPage(request, reply));

  app.post('/staff/bookings/desk/:site/walk-in', { config: desk }, async (request, reply) => {
    const { site } = request.params as { site: string };
    const body = (request.body ?? {}) as Body;
    const values = { person: str(body.person).trim(), name: str(body.name).trim(), slot: str(body.slot) };
    const errors: Array<{ field: string; text: string }> = [];
    const [slug, at] = values.slot.split('|');
    if (!slug || !at) errors.push({ field: 'slot', text: 'Choose what to book and the time' });
    let residentId: string | undefined;
    if (values.person) {
      const found = await service.findResident(db, values.person);
      if (!found)
        errors.push({
          field: 'person',
          text: 'No resident has that reference or email address. Leave it blank and enter their name instead.',
        });
      residentId = found?.id;
    } else if (!values.name)
      errors.push({ field: 'name', text: 'Enter the resident’s account reference or email, or their name' });
    if (errors.length) return deskPage(request, reply, errors, values);
    try {
      const booking = await service.hold({
        bookable: slug!,
        startsAt: at!,
        who: residentId ? { residentId } : { name: values.name },
        channel: 'desk',
        actor: actorOf(request),
      });
      request.session.set(
        'flash',
        `Booked ${booking.bookable.title} for ${booking.name}, ${booking.when}. Reference ${booking.reference}.`,
      );
      return reply.redirect(`/staff/bookings/desk/${site}?date=${londonDay(booking.startsAt)}`, 303);
    } catch (error) {
      return deskPage(request, reply, [{ field: 'slot', text: errorText(error) }], values);
    }
  });

  app.post('/staff/bookings/:reference/attendance', { config: desk }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const outcome = str((request.body as Body)?.outcome) === 'no_show' ? 'no_show' : 'checked_in';
    const back = str((request.body as Body)?.back);
    try {
      const b = await service.recordAttendance(reference, outcome, actorOf(request));
      request.session.set('flash', `${b.name}: ${b.statusText.toLowerCase()}`);
    } catch (error) {
      request.session.set('flash', errorText(error));
    }
    return reply.redirect(
      /^\/staff\/bookings[\w\-/?=&]*$/.test(back) ? back : `/staff/bookings/${reference}`,
      303,
    );
  });

  // ---- One booking ----

  app.get('/staff/bookings/:reference', { config: desk }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    if (!/^BK-/i.test(reference)) throw new HttpError(404, 'Page not found');
    const booking = await service.getByReference(db, reference);
    if (!booking) throw new HttpError(404, 'Page not found');
    return reply.render('bookings/views/staff-booking.njk', {
      title: `Booking ${booking.reference}`,
      navSection: 'bookings',
      booking,
      where: await service.whereOf(db, booking.reference),
      fee: booking.feePence ? pounds(booking.feePence) : 'Free',
      active: ['held', 'confirmed'].includes(booking.status),
    });
  });

  app.post('/staff/bookings/:reference/cancel', { config: manage }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const reason = str((request.body as Body)?.reason).trim();
    try {
      await service.cancel(reference, actorOf(request), reason || 'Cancelled by the council');
      request.session.set('flash', 'Booking cancelled; the resident has been told and any payment refunded.');
    } catch (error) {
      request.session.set('flash', errorText(error));
    }
    return reply.redirect(`/staff/bookings/${reference}`, 303);
  });

  // ---- Sessions of a bookable: add, cancel, message attendees ----

  async function bookablePage(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: Array<{ field: string; text: string }> = [],
    values: Record<string, string> = {},
  ) {
    const { slug } = request.params as { slug: string };
    const bookable = await service.getBookable(db, slug);
    if (!bookable) throw new HttpError(404, 'Page not found');
    const today = londonDay();
    const sessions =
      bookable.kind === 'resource'
        ? []
        : await service.sessions(db, slug, { from: today, to: addDays(today, 90) });
    return reply.code(errors.length ? 400 : 200).render('bookings/views/staff-bookable.njk', {
      title: bookable.title,
      navSection: 'bookings',
      bookable,
      feeText: bookable.feePence ? pounds(bookable.feePence) : 'Free',
      sessions,
      values,
      errors,
    });
  }

  app.get('/staff/bookings/bookables/:slug', { config: desk }, (request, reply) =>
    bookablePage(request, reply),
  );

  function parseTimes(body: Body) {
    const day = str(body.day).trim();
    const start = str(body.start).trim();
    const end = str(body.end).trim();
    const errors: Array<{ field: string; text: string }> = [];
    if (!isDay(day)) errors.push({ field: 'day', text: 'Enter the date as YYYY-MM-DD, like 2026-12-01' });
    if (!hhmm.test(start)) errors.push({ field: 'start', text: 'Enter the start time as hh:mm, like 10:00' });
    if (!hhmm.test(end)) errors.push({ field: 'end', text: 'Enter the end time as hh:mm, like 11:30' });
    if (errors.length) return { errors };
    const pad = (t: string) => t.padStart(5, '0');
    return { errors, startsAt: londonInstant(day, pad(start)), endsAt: londonInstant(day, pad(end)) };
  }

  app.post('/staff/bookings/bookables/:slug/sessions', { config: manage }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const body = (request.body ?? {}) as Body;
    const values = {
      day: str(body.day),
      start: str(body.start),
      end: str(body.end),
      capacity: str(body.capacity),
    };
    const parsed = parseTimes(body);
    const capacity = values.capacity ? Number(values.capacity) : undefined;
    if (capacity !== undefined && !(Number.isInteger(capacity) && capacity > 0 && capacity <= 1000))
      parsed.errors.push({
        field: 'capacity',
        text: 'Enter the number of places as a whole number from 1 to 1000',
      });
    if (parsed.errors.length) return bookablePage(request, reply, parsed.errors, values);
    try {
      await service.addSlot(actorOf(request), slug, {
        startsAt: parsed.startsAt!,
        endsAt: parsed.endsAt!,
        capacity,
      });
      request.session.set('flash', 'Session added');
      return reply.redirect(`/staff/bookings/bookables/${slug}`, 303);
    } catch (error) {
      return bookablePage(request, reply, [{ field: 'day', text: errorText(error) }], values);
    }
  });

  async function sessionPage(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const { slug, slot } = request.params as { slug: string; slot: string };
    const bookable = await service.getBookable(db, slug);
    if (!bookable || !/^[0-9a-f-]{36}$/.test(slot)) throw new HttpError(404, 'Page not found');
    const today = londonDay();
    const session = (
      await service.sessions(db, slug, { from: addDays(today, -30), to: addDays(today, 365) })
    ).find((s) => s.id === slot);
    if (!session) throw new HttpError(404, 'Page not found');
    return reply.code(errors.length ? 400 : 200).render('bookings/views/staff-session.njk', {
      title: `${bookable.title}: ${session.label}`,
      navSection: 'bookings',
      bookable,
      session,
      attendees: await service.attendees(db, slot),
      errors,
    });
  }

  app.get('/staff/bookings/bookables/:slug/sessions/:slot', { config: desk }, (request, reply) =>
    sessionPage(request, reply),
  );

  app.post(
    '/staff/bookings/bookables/:slug/sessions/:slot/message',
    { config: manage },
    async (request, reply) => {
      const { slug, slot } = request.params as { slug: string; slot: string };
      const body = (request.body ?? {}) as Body;
      const message = str(body.message).trim();
      const cancel = str(body.cancel) === 'yes';
      if (!message)
        return sessionPage(request, reply, [{ field: 'message', text: 'Enter a message for the attendees' }]);
      if (message.length > 1000)
        return sessionPage(request, reply, [
          { field: 'message', text: 'The message must be 1,000 characters or fewer' },
        ]);
      const n = cancel
        ? await service.cancelSession(slot, message, actorOf(request))
        : await service.messageAttendees(slot, message, actorOf(request));
      request.session.set(
        'flash',
        cancel
          ? `Session cancelled; ${n} attendees told and refunded where they paid`
          : `Message sent to ${n} attendees`,
      );
      return reply.redirect(`/staff/bookings/bookables/${slug}/sessions/${slot}`, 303);
    },
  );

  // ---- Closures ----

  app.post('/staff/bookings/closures', { config: manage }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const from = str(body.from);
    const to = str(body.to) || from;
    const site = str(body.site);
    const reason = str(body.reason).trim();
    if (!isDay(from) || !isDay(to) || to < from || !reason) {
      request.session.set('flash', 'To close a site, enter the first and last day (YYYY-MM-DD) and a reason');
      return reply.redirect('/staff/bookings', 303);
    }
    await service.addClosure(actorOf(request) as never, {
      site: site || null,
      startsAt: londonInstant(from, '00:00'),
      endsAt: londonInstant(addDays(to, 1), '00:00'),
      reason,
    });
    request.session.set('flash', 'Closure added: nobody can book at that time');
    return reply.redirect('/staff/bookings', 303);
  });

  // ---- My consultation slots (video consultations) ----

  app.post('/staff/bookings/my-slots', { config: slots }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const parsed = parseTimes(body);
    if (parsed.errors.length) {
      request.session.set('flash', parsed.errors.map((e) => e.text).join('. '));
      return reply.redirect('/staff/bookings', 303);
    }
    const staff = request.staff!;
    const calendar = await service.calendarFor(actorOf(request), {
      staffId: staff.id,
      title: `Video consultation with ${staff.name}`,
    });
    try {
      await service.addSlot(actorOf(request), calendar.slug, {
        startsAt: parsed.startsAt!,
        endsAt: parsed.endsAt!,
        capacity: 1,
      });
      request.session.set('flash', 'Consultation slot published');
    } catch (error) {
      request.session.set('flash', errorText(error));
    }
    return reply.redirect(`/staff/bookings/bookables/${calendar.slug}`, 303);
  });
}
