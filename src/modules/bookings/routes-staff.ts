import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { can } from '../../platform/auth/permissions.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { categoryLabels } from './routes-resident.ts';
import { z } from 'zod';
import { weekdays, type OpeningHours } from './schema.ts';
import { BookingError, pounds, type Bookable, type BookingsService } from './service.ts';
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

  async function homePage(
    request: FastifyRequest,
    reply: FastifyReply,
    values: Record<string, string> = {},
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const [sites, bookables, closures] = await Promise.all([
      service.listSites(db),
      service.findBookables(db, { includeInactive: true }),
      service.upcomingClosures(db),
    ]);
    const mine = bookables.filter((b) => b.kind === 'calendar' && b.ownerStaffId === request.staff!.id);
    return reply.code(errors.length ? 400 : 200).render('bookings/views/staff-home.njk', {
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
      canManage: can(request.staff!.role, 'bookings:manage'),
      values,
      errors,
    });
  }

  app.get('/staff/bookings', { config: desk }, (request, reply) => homePage(request, reply));

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
        (free.get(b.slug)?.toSlots() ?? []).map((s) => ({
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
      canManage: can(request.staff!.role, 'bookings:manage'),
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

  // ---- Sites and bookables: opening hours, places, fees, lead time, cancellation window ----

  const dayNames: Record<(typeof weekdays)[number], string> = {
    mon: 'Monday',
    tue: 'Tuesday',
    wed: 'Wednesday',
    thu: 'Thursday',
    fri: 'Friday',
    sat: 'Saturday',
    sun: 'Sunday',
  };
  const weekOrder = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
  const hoursText = (periods: Array<[string, string]> | undefined) =>
    (periods ?? []).map(([a, b]) => `${a}-${b}`).join(', ');

  /** "09:00-13:00, 14:00-17:00" as periods, or an error; blank is closed. */
  function parseHours(text: string): { periods: Array<[string, string]> } | { error: string } {
    const trimmed = text.trim();
    if (!trimmed) return { periods: [] };
    const periods: Array<[string, string]> = [];
    for (const part of trimmed.split(',')) {
      const m = part.trim().match(/^(\d{1,2}[:.]\d{2})\s*(?:-|–|to)\s*(\d{1,2}[:.]\d{2})$/);
      const pad = (t: string) => t.replace('.', ':').padStart(5, '0');
      if (!m || !hhmm.test(pad(m[1]!)) || !hhmm.test(pad(m[2]!)))
        return { error: 'like 09:00-17:00, with times separated by a comma' };
      const [open, close] = [pad(m[1]!), pad(m[2]!)];
      if (close <= open) return { error: 'with each closing time after its opening time' };
      if (periods.length && open < periods[periods.length - 1]![1])
        return { error: 'with times in order that do not overlap' };
      periods.push([open, close]);
    }
    return { periods };
  }

  async function sitePage(
    request: FastifyRequest,
    reply: FastifyReply,
    values?: Record<string, string>,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const { slug } = request.params as { slug: string };
    const site = await service.getSite(db, slug);
    if (!site) throw new HttpError(404, 'Page not found');
    const current: Record<string, string> = { name: site.name, address: site.address };
    for (const d of weekOrder) current[`hours_${d}`] = hoursText(site.opening_hours[d]);
    return reply.code(errors.length ? 400 : 200).render('bookings/views/staff-site-edit.njk', {
      title: `Change ${site.name}`,
      navSection: 'bookings',
      site,
      days: weekOrder.map((key) => ({ key, name: dayNames[key] })),
      values: values ?? current,
      errors,
    });
  }

  app.get('/staff/bookings/sites/:slug', { config: manage }, (request, reply) => sitePage(request, reply));

  app.post('/staff/bookings/sites/:slug', { config: manage }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const site = await service.getSite(db, slug);
    if (!site) throw new HttpError(404, 'Page not found');
    const body = (request.body ?? {}) as Body;
    const name = str(body.name).trim();
    const address = str(body.address).trim();
    const values: Record<string, string> = { name: str(body.name), address: str(body.address) };
    const errors: Array<{ field: string; text: string }> = [];
    if (!name) errors.push({ field: 'name', text: 'Enter the name of the site' });
    else if (name.length > 120)
      errors.push({ field: 'name', text: 'The name must be 120 characters or fewer' });
    if (address.length > 300)
      errors.push({ field: 'address', text: 'The address must be 300 characters or fewer' });
    const openingHours: OpeningHours = {};
    for (const d of weekOrder) {
      values[`hours_${d}`] = str(body[`hours_${d}`]);
      const parsed = parseHours(values[`hours_${d}`]!);
      if ('error' in parsed)
        errors.push({ field: `hours-${d}`, text: `Enter ${dayNames[d]}’s opening hours ${parsed.error}` });
      else if (parsed.periods.length) openingHours[d] = parsed.periods;
    }
    if (errors.length) return sitePage(request, reply, values, errors);
    await service.saveSite(actorOf(request), {
      slug,
      name,
      address,
      openingHours,
    });
    request.session.set('flash', `${name} saved`);
    return reply.redirect('/staff/bookings', 303);
  });

  const whole = (label: string, min: number, max: number) =>
    z
      .string()
      .trim()
      .regex(/^\d+$/, { error: `Enter ${label} as a whole number, like ${min === 0 ? 2 : min}` })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(min, { error: `${label[0]!.toUpperCase()}${label.slice(1)} must be ${min} or more` })
          .max(max, { error: `${label[0]!.toUpperCase()}${label.slice(1)} must be ${max} or fewer` }),
      );
  const settingsSchema = z.object({
    title: z.string().trim().min(1, { error: 'Enter the name shown to residents' }).max(120, {
      error: 'The name must be 120 characters or fewer',
    }),
    capacity: whole('the number of places', 1, 10_000).optional(),
    fee: z
      .string()
      .trim()
      .regex(/^\d{1,6}(\.\d{1,2})?$/, { error: 'Enter the fee in pounds, like 4.50, or 0 when it is free' })
      .transform((v) => Math.round(Number(v) * 100))
      .optional(),
    leadMinutes: whole('the lead time', 0, 60 * 24 * 60),
    cancelHours: whole('the cancellation window', 0, 24 * 60),
    perPersonLimit: whole('the bookings each person can have', 0, 1000),
    holdMinutes: whole('the minutes a place is held', 1, 24 * 60),
    active: z.enum(['yes', 'no'], { error: 'Choose whether people can book it' }),
  });

  function settingsValues(b: Bookable): Record<string, string> {
    return {
      title: b.title,
      capacity: String(b.capacity),
      fee: (b.feePence / 100).toFixed(2),
      leadMinutes: String(b.leadMinutes),
      cancelHours: String(b.cancelHours),
      perPersonLimit: String(b.perPersonLimit),
      holdMinutes: String(b.holdMinutes),
      active: b.active ? 'yes' : 'no',
    };
  }

  async function settingsPage(
    request: FastifyRequest,
    reply: FastifyReply,
    values?: Record<string, string>,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const { slug } = request.params as { slug: string };
    const bookable = await service.getBookable(db, slug);
    if (!bookable) throw new HttpError(404, 'Page not found');
    return reply.code(errors.length ? 400 : 200).render('bookings/views/staff-bookable-edit.njk', {
      title: `Change ${bookable.title}`,
      navSection: 'bookings',
      bookable,
      capacityHint:
        bookable.kind === 'resource'
          ? 'Times to come change too, keeping places already booked'
          : 'For sessions added from now; each session keeps its own number of places',
      values: values ?? settingsValues(bookable),
      errors,
    });
  }

  app.get('/staff/bookings/bookables/:slug/settings', { config: manage }, (request, reply) =>
    settingsPage(request, reply),
  );

  app.post('/staff/bookings/bookables/:slug/settings', { config: manage }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const bookable = await service.getBookable(db, slug);
    if (!bookable) throw new HttpError(404, 'Page not found');
    const body = (request.body ?? {}) as Body;
    const values: Record<string, string> = {};
    for (const k of Object.keys(settingsSchema.shape)) values[k] = str(body[k]);
    const parsed = settingsSchema.safeParse({
      ...values,
      capacity: bookable.kind === 'calendar' ? undefined : values.capacity,
      fee: bookable.rules.items ? undefined : values.fee,
    });
    if (!parsed.success)
      return settingsPage(
        request,
        reply,
        values,
        parsed.error.issues.map((i) => ({ field: String(i.path[0]), text: i.message })),
      );
    const v = parsed.data;
    await service.updateBookable(actorOf(request), slug, {
      title: v.title,
      ...(v.capacity !== undefined ? { capacity: v.capacity } : {}),
      ...(v.fee !== undefined ? { feePence: v.fee } : {}),
      leadMinutes: v.leadMinutes,
      cancelHours: v.cancelHours,
      perPersonLimit: v.perPersonLimit,
      holdMinutes: v.holdMinutes,
      active: v.active === 'yes',
    });
    request.session.set('flash', `${v.title}: settings saved`);
    return reply.redirect(`/staff/bookings/bookables/${slug}`, 303);
  });

  // ---- Closures ----

  app.post('/staff/bookings/closures', { config: manage }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const values = {
      site: str(body.site),
      from: str(body.from).trim(),
      to: str(body.to).trim(),
      reason: str(body.reason).trim(),
    };
    const to = values.to || values.from;
    const errors: Array<{ field: string; text: string }> = [];
    if (values.site && !(await service.getSite(db, values.site)))
      errors.push({ field: 'closure-site', text: 'Choose a site from the list' });
    if (!isDay(values.from))
      errors.push({
        field: 'closure-from',
        text: 'Enter the first day closed as YYYY-MM-DD, like 2026-12-24',
      });
    else if (values.from < londonDay())
      errors.push({ field: 'closure-from', text: 'The first day closed must be today or later' });
    if (values.to && !isDay(values.to))
      errors.push({
        field: 'closure-to',
        text: 'Enter the last day closed as YYYY-MM-DD, or leave it blank',
      });
    else if (isDay(values.from) && to < values.from)
      errors.push({ field: 'closure-to', text: 'The last day closed must be on or after the first' });
    else if (isDay(values.from) && addDays(values.from, 366) < to)
      errors.push({ field: 'closure-to', text: 'Close for at most a year at a time' });
    if (!values.reason)
      errors.push({ field: 'closure-reason', text: 'Enter the reason, shown to residents' });
    else if (values.reason.length > 200)
      errors.push({ field: 'closure-reason', text: 'The reason must be 200 characters or fewer' });
    if (errors.length) return homePage(request, reply, values, errors);
    await service.addClosure(actorOf(request) as never, {
      site: values.site || null,
      startsAt: londonInstant(values.from, '00:00'),
      endsAt: londonInstant(addDays(to, 1), '00:00'),
      reason: values.reason,
    });
    request.session.set('flash', 'Closure added: nobody can book at that time');
    return reply.redirect('/staff/bookings', 303);
  });

  async function closureToRemove(request: FastifyRequest) {
    const { id } = request.params as { id: string };
    const closure = await service.getClosure(db, id);
    if (!closure) throw new HttpError(404, 'Page not found');
    const site = closure.site_id ? (await service.listSites(db)).find((s) => s.id === closure.site_id) : null;
    return {
      ...closure,
      where: site?.name ?? (closure.bookable_id ? 'One service' : 'Every site'),
      from: formatDay(londonDay(closure.starts_at)),
      // Closures end at midnight after the last day closed.
      to: formatDay(londonDay(new Date(closure.ends_at.getTime() - 1))),
    };
  }

  app.get('/staff/bookings/closures/:id/remove', { config: manage }, async (request, reply) =>
    reply.render('bookings/views/staff-closure-remove.njk', {
      title: 'Remove this closure?',
      navSection: 'bookings',
      backLink: '/staff/bookings',
      closure: await closureToRemove(request),
    }),
  );

  app.post('/staff/bookings/closures/:id/remove', { config: manage }, async (request, reply) => {
    const closure = await closureToRemove(request);
    try {
      await service.removeClosure(actorOf(request) as never, closure.id);
      request.session.set(
        'flash',
        `Closure removed: ${closure.where} can be booked again from ${closure.from}`,
      );
    } catch (error) {
      request.session.set('flash', errorText(error));
    }
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
