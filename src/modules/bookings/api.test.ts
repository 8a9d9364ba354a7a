import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { createApiKey } from '../../platform/auth/api-keys.ts';
import { londonDay } from '../../platform/time.ts';
import { isWorkingDay } from '../../platform/working-days.ts';
import { addDays, londonInstant } from './times.ts';

function workingDayAhead(after: number): string {
  let day = addDays(londonDay(), after);
  while (!isWorkingDay(day)) day = addDays(day, 1);
  return day;
}

describe('Book: /api/v1/bookings for API clients', () => {
  let kiln: TestKiln;
  let key: string;
  let otherKey: string;
  let casesKey: string;
  const staff = { type: 'staff' as const, id: null };

  before(async () => {
    kiln = await startTestApp();
    const db = kiln.platform.db;
    key = (await createApiKey(db, { name: 'Kiosk', scopes: ['bookings'], createdBy: null })).key;
    otherKey = (await createApiKey(db, { name: 'Other', scopes: ['bookings'], createdBy: null })).key;
    casesKey = (await createApiKey(db, { name: 'Cases', scopes: ['cases:read'], createdBy: null })).key;
  });
  after(async () => kiln?.close());

  const call = (method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}) =>
    kiln.app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      payload: body ? JSON.stringify(body) : undefined,
    });

  test('needs a key with the bookings scope; problems are problem+json', async () => {
    const none = await kiln.app.inject({ url: '/api/v1/bookings/bookables' });
    assert.equal(none.statusCode, 401);
    assert.match(String(none.headers['content-type']), /^application\/problem\+json/);
    const wrong = await call('GET', '/api/v1/bookings/bookables', undefined, {
      authorization: `Bearer ${casesKey}`,
    });
    assert.equal(wrong.statusCode, 403);
    const bad = await call('GET', '/api/v1/bookings/bookables?from=tomorrow');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().errors[0].pointer, '/query/from');
    const tooLong = await call(
      'GET',
      `/api/v1/bookings/bookables?from=${londonDay()}&to=${addDays(londonDay(), 90)}`,
    );
    assert.equal(tooLong.statusCode, 400);
  });

  test('lists bookables with their free times for a date range', async () => {
    const day = workingDayAhead(3);
    const res = await call('GET', `/api/v1/bookings/bookables?category=library-pc&from=${day}&to=${day}`);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.from, day);
    const pc = body.bookables.find((b: { slug: string }) => b.slug === 'central-library-pc');
    assert.ok(pc, 'the Central Library computers are listed');
    assert.equal(pc.site.slug, 'central-library');
    const at = londonInstant(day, '11:00').toISOString();
    const eleven = pc.availability.find((s: { startsAt: string }) => s.startsAt === at);
    assert.ok(eleven && eleven.remaining > 0, 'the 11am slot has places');
    assert.ok(body.bookables.every((b: { category: string }) => b.category === 'library-pc'));
  });

  test('holds a place with an Idempotency-Key, confirms it, and cancels it', async () => {
    const service = kiln.services.bookings.service;
    await service.createBookable(staff, {
      slug: 'api-class',
      kind: 'session',
      category: 'class',
      title: 'Coding club',
      capacity: 1,
      cancelHours: 24,
    });
    const startsAt = londonInstant(workingDayAhead(7), '16:00');
    await service.addSlot(staff, 'api-class', { startsAt, endsAt: new Date(startsAt.getTime() + 3_600_000) });
    const body = {
      bookable: 'api-class',
      startsAt: startsAt.toISOString(),
      person: { name: 'Sam Kiosk', email: 'sam.kiosk@example.com' },
    };

    const invalid = await call('POST', '/api/v1/bookings', { ...body, startsAt: 'soon' });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json().errors[0].pointer, '/startsAt');

    const created = await call('POST', '/api/v1/bookings', body, { 'idempotency-key': 'kiosk-1' });
    assert.equal(created.statusCode, 201, created.body);
    const booking = created.json();
    assert.equal(booking.status, 'held');
    assert.ok(booking.holdExpiresAt);
    assert.equal(created.headers.location, `/api/v1/bookings/${booking.reference}`);

    // A retry with the same key is the same booking; the same key with another body is refused.
    const retry = await call('POST', '/api/v1/bookings', body, { 'idempotency-key': 'kiosk-1' });
    assert.equal(retry.statusCode, 200);
    assert.equal(retry.json().reference, booking.reference);
    const reused = await call(
      'POST',
      '/api/v1/bookings',
      { ...body, person: { name: 'Someone Else' } },
      { 'idempotency-key': 'kiosk-1' },
    );
    assert.equal(reused.statusCode, 422);

    // The place is held: another attempt is a clear 409.
    const full = await call('POST', '/api/v1/bookings', { ...body, person: { name: 'Late Comer' } });
    assert.equal(full.statusCode, 409);
    assert.equal(full.json().code, 'unavailable');
    assert.match(full.json().title, /no longer available/);

    // Another client cannot see or touch it.
    const other = await call('GET', `/api/v1/bookings/${booking.reference}`, undefined, {
      authorization: `Bearer ${otherKey}`,
    });
    assert.equal(other.statusCode, 404);

    const confirmed = await call('POST', `/api/v1/bookings/${booking.reference}/confirm`);
    assert.equal(confirmed.statusCode, 200);
    assert.equal(confirmed.json().status, 'confirmed');
    assert.equal(confirmed.json().holdExpiresAt, null);
    assert.equal((await call('GET', `/api/v1/bookings/${booking.reference}`)).json().status, 'confirmed');

    const cancelled = await call('POST', `/api/v1/bookings/${booking.reference}/cancel`, { reason: 'Ill' });
    assert.equal(cancelled.statusCode, 200);
    assert.equal(cancelled.json().status, 'cancelled');
    const again = await call('POST', `/api/v1/bookings/${booking.reference}/cancel`, {});
    assert.equal(again.statusCode, 200);
    // The place is free again.
    const next = await call('POST', '/api/v1/bookings', { ...body, person: { name: 'Late Comer' } });
    assert.equal(next.statusCode, 201);
    // Confirming a cancelled booking is refused.
    const refused = await call('POST', `/api/v1/bookings/${booking.reference}/confirm`);
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().code, 'not_allowed');
  });

  test('the same Idempotency-Key sent five times at once makes one booking', async () => {
    const service = kiln.services.bookings.service;
    await service.createBookable(staff, {
      slug: 'api-retry',
      kind: 'session',
      category: 'class',
      title: 'Retry class',
      capacity: 5,
    });
    const startsAt = londonInstant(workingDayAhead(8), '11:00');
    await service.addSlot(staff, 'api-retry', { startsAt, endsAt: new Date(startsAt.getTime() + 3_600_000) });
    const body = { bookable: 'api-retry', startsAt: startsAt.toISOString(), person: { name: 'Ray Retry' } };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('POST', '/api/v1/bookings', body, { 'idempotency-key': 'retry-1' }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 200, 200, 200, 201]);
    assert.equal(new Set(answers.map((a) => a.json().reference)).size, 1);
    const [slot] = await service.sessions(kiln.platform.db, 'api-retry', {
      from: londonDay(startsAt),
      to: londonDay(startsAt),
    });
    assert.equal(slot!.taken, 1);
  });

  test('the cancellation window applies to API clients; unknown bookables are 404', async () => {
    const service = kiln.services.bookings.service;
    await service.createBookable(staff, {
      slug: 'api-soon',
      kind: 'session',
      category: 'class',
      title: 'Soon class',
      capacity: 5,
      cancelHours: 24 * 60,
    });
    const startsAt = londonInstant(workingDayAhead(3), '10:00');
    await service.addSlot(staff, 'api-soon', { startsAt, endsAt: new Date(startsAt.getTime() + 3_600_000) });
    const held = await call('POST', '/api/v1/bookings', {
      bookable: 'api-soon',
      startsAt: startsAt.toISOString(),
      person: { name: 'Jo Window' },
    });
    assert.equal(held.statusCode, 201);
    const { reference } = held.json();
    await call('POST', `/api/v1/bookings/${reference}/confirm`);
    const late = await call('POST', `/api/v1/bookings/${reference}/cancel`, {});
    assert.equal(late.statusCode, 409);
    assert.equal(late.json().code, 'outside_window');

    const unknown = await call('POST', '/api/v1/bookings', {
      bookable: 'no-such-thing',
      startsAt: startsAt.toISOString(),
      person: { name: 'Jo' },
    });
    assert.equal(unknown.statusCode, 404);
  });

  test('the OpenAPI document describes the bookings operations', async () => {
    const doc = (await kiln.app.inject({ url: '/api/docs' })).json();
    for (const path of [
      '/api/v1/bookings/bookables',
      '/api/v1/bookings',
      '/api/v1/bookings/{reference}',
      '/api/v1/bookings/{reference}/confirm',
      '/api/v1/bookings/{reference}/cancel',
    ])
      assert.ok(doc.paths[path], `${path} is documented`);
    assert.ok(doc.paths['/api/v1/bookings'].post.requestBody);
  });
});
