import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../platform/actor.ts';
import { requireApiKey } from '../../platform/auth/api-keys.ts';
import { registerOperation } from '../../platform/http/openapi.ts';
import { fieldProblems, sendProblem, sendValidationProblem } from '../../platform/http/problem.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { jsonWithField } from './availability.ts';
import { BookingError, type Booking, type BookingsService } from './service.ts';
import * as store from './store.ts';
import { addDays } from './times.ts';

// /api/v1/bookings: partner systems (a community centre's kiosk, a booking line's software) find
// what can be booked, hold a place, confirm it and cancel it, with the rules residents book under.

export const BOOKINGS_API_SCOPE = 'bookings';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'A date as YYYY-MM-DD' });
const listQuery = z
  .object({
    from: day.optional(),
    to: day.optional(),
    category: z.string().max(40).optional(),
    site: z.string().max(60).optional(),
    api_key: z.string().optional(),
  })
  .strict();

const createBody = z
  .object({
    bookable: z.string().min(1).max(80),
    startsAt: z.iso.datetime({ offset: true, error: 'A date and time in ISO 8601 with an offset' }),
    person: z
      .object({
        name: z.string().trim().min(1).max(120),
        email: z.email().max(254).optional(),
        phone: z.string().trim().min(1).max(30).optional(),
      })
      .strict(),
    places: z.number().int().min(1).max(50).default(1),
    items: z.record(z.string(), z.number().int().min(0).max(100)).optional(),
    uprn: z.string().max(20).optional(),
    notes: z.string().trim().max(1000).optional(),
  })
  .strict();

const cancelBody = z.object({ reason: z.string().trim().max(500).optional() }).strict();

const slotOut = z.object({
  startsAt: z.string(),
  endsAt: z.string(),
  capacity: z.number().int(),
  remaining: z.number().int(),
});
const bookableOut = z.object({
  slug: z.string(),
  title: z.string(),
  kind: z.string(),
  category: z.string(),
  site: z.object({ slug: z.string(), name: z.string(), address: z.string() }).nullable(),
  feePence: z.number().int(),
  perPersonLimit: z.number().int(),
  cancelHours: z.number().int(),
  holdMinutes: z.number().int(),
  availability: z.array(slotOut),
});
const bookingOut = z.object({
  reference: z.string(),
  status: z.string(),
  bookable: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  places: z.number().int(),
  feePence: z.number().int(),
  holdExpiresAt: z.string().nullable(),
  payment: z.object({ reference: z.string() }).nullable(),
  links: z.object({ self: z.string(), confirm: z.string(), cancel: z.string() }),
});

const idempotencyKeyPattern = /^[\x21-\x7e]{1,200}$/;

/** How each refusal is answered: status and a stable problem type per rule. */
const refusalStatus: Record<BookingError['code'], number> = {
  not_found: 404,
  unavailable: 409,
  closed: 409,
  too_soon: 409,
  limit: 409,
  out_of_area: 422,
  invalid: 422,
  outside_window: 409,
  not_allowed: 409,
  hold_expired: 410,
  payment_needed: 402,
  already_waiting: 409,
};

function sendRefusal(reply: FastifyReply, error: BookingError) {
  return sendProblem(reply, {
    type: `https://kiln.example/problems/bookings/${error.code.replace(/_/g, '-')}`,
    title: error.message,
    status: refusalStatus[error.code],
    code: error.code,
  });
}

function out(booking: Booking, payment: { reference: string } | null = null) {
  const self = `/api/v1/bookings/${booking.reference}`;
  return {
    reference: booking.reference,
    status: booking.status,
    bookable: booking.bookable.slug,
    startsAt: booking.startsAt.toISOString(),
    endsAt: booking.endsAt.toISOString(),
    places: booking.places,
    feePence: booking.feePence,
    holdExpiresAt:
      booking.status === 'held' && booking.holdExpiresAt ? booking.holdExpiresAt.toISOString() : null,
    payment,
    links: { self, confirm: `${self}/confirm`, cancel: `${self}/cancel` },
  };
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/** The bookings API: availability, holds, confirmation and cancellation for API clients. */
export function registerBookingsApi(app: FastifyInstance, platform: Platform, service: BookingsService) {
  const { db } = platform;
  const guard = {
    config: { rateLimit: platform.rateLimits.api },
    preHandler: requireApiKey(db, BOOKINGS_API_SCOPE),
  };
  const actorOf = (request: FastifyRequest): Actor => ({ type: 'api', id: request.apiClient!.id });

  /** A booking this client made, or a 404 problem (another client's bookings do not exist for it). */
  async function clientsBooking(request: FastifyRequest, reply: FastifyReply) {
    const { reference } = request.params as { reference: string };
    const booking = await service.getByReference(db, reference.toUpperCase());
    if (!booking || !(await store.isApiBookingOf(db, request.apiClient!.id, booking.id))) {
      sendProblem(reply, { title: 'There is no booking with that reference', status: 404 });
      return undefined;
    }
    return booking;
  }

  app.get('/api/v1/bookings/bookables', guard, async (request, reply) => {
    const parsed = listQuery.safeParse(request.query ?? {});
    if (!parsed.success) return sendValidationProblem(reply, fieldProblems(parsed.error, '/query'));
    const from = parsed.data.from ?? londonDay();
    const to = parsed.data.to ?? addDays(from, 6);
    if (to < from || addDays(from, 62) < to)
      return sendValidationProblem(reply, [
        { pointer: '/query/to', detail: 'The range runs forwards and covers at most 62 days' },
      ]);
    const bookables = await service.findBookables(db, {
      category: parsed.data.category,
      site: parsed.data.site,
    });
    const availability = await service.availabilityMany(
      db,
      bookables.map((b) => b.slug),
      { from, to },
    );
    // Each bookable's availability is joined in as the JSON text its FreeTimes keeps (made once
    // while the answer is cached), not written out again for every request.
    const items = bookables.map((b) =>
      jsonWithField(
        {
          slug: b.slug,
          title: b.title,
          kind: b.kind,
          category: b.category,
          site: b.site ? { slug: b.site.slug, name: b.site.name, address: b.site.address } : null,
          feePence: b.feePence,
          perPersonLimit: b.perPersonLimit,
          cancelHours: b.cancelHours,
          holdMinutes: b.holdMinutes,
        },
        'availability',
        availability.get(b.slug)?.toJsonText() ?? '[]',
      ),
    );
    return reply
      .type('application/json; charset=utf-8')
      .send(jsonWithField({ from, to }, 'bookables', `[${items.join(',')}]`));
  });

  app.post('/api/v1/bookings', guard, async (request, reply) => {
    const parsed = createBody.safeParse(request.body ?? {});
    if (!parsed.success) return sendValidationProblem(reply, fieldProblems(parsed.error));
    const key = request.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || !idempotencyKeyPattern.test(key)))
      return sendValidationProblem(reply, [
        {
          pointer: '/headers/Idempotency-Key',
          detail: 'Idempotency-Key must be 1 to 200 printable characters',
        },
      ]);
    const client = request.apiClient!;
    const requestHash = createHash('sha256').update(JSON.stringify(parsed.data)).digest('hex');

    const replay = async () => {
      if (!key) return undefined;
      const earlier = await store.apiBookingByKey(db, client.id, key);
      if (!earlier) return undefined;
      if (earlier.request_hash !== requestHash)
        return sendProblem(reply, {
          type: 'https://kiln.example/problems/idempotency-key-reused',
          title: 'This Idempotency-Key was used for a different request',
          status: 422,
        });
      const booking = (await service.getByReference(db, earlier.reference))!;
      return reply.code(200).send(out(booking));
    };
    const replayed = await replay();
    if (replayed) return replayed;

    const v = parsed.data;
    try {
      const booking = await service.hold(
        {
          bookable: v.bookable,
          startsAt: v.startsAt,
          who: { name: v.person.name, email: v.person.email ?? null, phone: v.person.phone ?? null },
          places: v.places,
          items: v.items ?? {},
          uprn: v.uprn ?? null,
          notes: v.notes ?? null,
          channel: 'api',
          actor: actorOf(request),
        },
        {
          // A hold: the client confirms it (or the person pays) before it expires.
          confirm: false,
          onCreated: (tx, created) =>
            store.insertApiBooking(tx, {
              booking_id: created.id,
              client_id: client.id,
              idempotency_key: key ?? null,
              request_hash: requestHash,
            }),
        },
      );
      return reply
        .code(201)
        .header('Location', `/api/v1/bookings/${booking.reference}`)
        .send(out(booking, booking.payment ? { reference: booking.payment.reference } : null));
    } catch (error) {
      // The same key at the same moment: the first request's booking stands, this one's is undone.
      if (isUniqueViolation(error)) {
        const again = await replay();
        if (again) return again;
      }
      if (error instanceof BookingError) return sendRefusal(reply, error);
      throw error;
    }
  });

  app.get('/api/v1/bookings/:reference', guard, async (request, reply) => {
    const booking = await clientsBooking(request, reply);
    return booking ? out(booking) : reply;
  });

  app.post('/api/v1/bookings/:reference/confirm', guard, async (request, reply) => {
    const booking = await clientsBooking(request, reply);
    if (!booking) return reply;
    try {
      return out(await service.confirm(booking.reference, actorOf(request)));
    } catch (error) {
      if (error instanceof BookingError) return sendRefusal(reply, error);
      throw error;
    }
  });

  app.post('/api/v1/bookings/:reference/cancel', guard, async (request, reply) => {
    const parsed = cancelBody.safeParse(request.body ?? {});
    if (!parsed.success) return sendValidationProblem(reply, fieldProblems(parsed.error));
    const booking = await clientsBooking(request, reply);
    if (!booking) return reply;
    if (booking.status === 'cancelled') return out(booking);
    try {
      return out(await service.cancel(booking.reference, actorOf(request), parsed.data.reason ?? ''));
    } catch (error) {
      if (error instanceof BookingError) return sendRefusal(reply, error);
      throw error;
    }
  });

  const common = {
    '401': { description: 'No valid API key' },
    '403': { description: `The API key lacks the ${BOOKINGS_API_SCOPE} scope` },
    '429': { description: 'Too many requests' },
  };
  const refusals =
    'Refused by the booking rules, as problem+json with `code`: unavailable (409, the time is full), limit (409, ' +
    'the per-person limit), too_soon/closed (409), outside_window (409, past the cancellation window), ' +
    'not_allowed (409), hold_expired (410), payment_needed (402), out_of_area/invalid (422), not_found (404)';
  registerOperation({
    method: 'get',
    path: '/api/v1/bookings/bookables',
    summary: 'What can be booked, with the times that have places left',
    tags: ['Bookings'],
    scope: BOOKINGS_API_SCOPE,
    parameters: [
      { name: 'from', in: 'query', description: 'First London day (YYYY-MM-DD), today by default' },
      { name: 'to', in: 'query', description: 'Last London day, a week on by default; at most 62 days' },
      { name: 'category', in: 'query', description: 'library-pc, class, room, bulky-waste…' },
      { name: 'site', in: 'query', description: 'A site slug' },
    ],
    responses: {
      '200': {
        description: 'Bookables and their free times',
        schema: z.object({ from: z.string(), to: z.string(), bookables: z.array(bookableOut) }),
      },
      '400': { description: 'Invalid query, each field listed with pointer /query/{name}' },
      ...common,
    },
  });
  registerOperation({
    method: 'post',
    path: '/api/v1/bookings',
    summary: 'Hold a place; confirm it (or the person pays) before holdExpiresAt',
    tags: ['Bookings'],
    scope: BOOKINGS_API_SCOPE,
    parameters: [
      {
        name: 'Idempotency-Key',
        in: 'header',
        description:
          'A retry with the same key and body returns the same booking with 200 instead of 201; the same key with another body is a 422',
      },
    ],
    requestBody: createBody,
    responses: {
      '201': { description: 'The place is held', schema: bookingOut },
      '200': {
        description: 'A retry: the booking made by the first request with this key',
        schema: bookingOut,
      },
      '400': { description: 'Invalid body, each field listed with its pointer' },
      '409': { description: refusals },
      '422': { description: 'Idempotency-Key reused for a different request, or an address out of the area' },
      ...common,
    },
  });
  registerOperation({
    method: 'get',
    path: '/api/v1/bookings/{reference}',
    summary: 'A booking this client made',
    tags: ['Bookings'],
    scope: BOOKINGS_API_SCOPE,
    parameters: [{ name: 'reference', in: 'path' }],
    responses: {
      '200': { description: 'The booking', schema: bookingOut },
      '404': { description: 'No booking with that reference made by this client' },
      ...common,
    },
  });
  registerOperation({
    method: 'post',
    path: '/api/v1/bookings/{reference}/confirm',
    summary: 'Confirm a held booking (free, or already paid); confirming twice is harmless',
    tags: ['Bookings'],
    scope: BOOKINGS_API_SCOPE,
    parameters: [{ name: 'reference', in: 'path' }],
    responses: {
      '200': { description: 'The booking, confirmed', schema: bookingOut },
      '402': { description: 'The booking has a fee that is not paid yet' },
      '404': { description: 'No booking with that reference made by this client' },
      '409': { description: 'The booking is cancelled or expired' },
      '410': { description: 'The hold expired before confirmation; the place was released' },
      ...common,
    },
  });
  registerOperation({
    method: 'post',
    path: '/api/v1/bookings/{reference}/cancel',
    summary:
      'Cancel a held or confirmed booking, within the cancellation window; cancelling twice is harmless',
    tags: ['Bookings'],
    scope: BOOKINGS_API_SCOPE,
    parameters: [{ name: 'reference', in: 'path' }],
    requestBody: cancelBody,
    responses: {
      '200': { description: 'The booking, cancelled (a paid fee is refunded)', schema: bookingOut },
      '404': { description: 'No booking with that reference made by this client' },
      '409': { description: 'Past the cancellation window, or the booking is no longer active' },
      ...common,
    },
  });
}
