import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { londonDay } from '../../platform/time.ts';
import { isWorkingDay } from '../../platform/working-days.ts';
import { AvailabilityCache, jsonWithField } from './availability.ts';
import { loadBookingsConfig } from './config.ts';
import { createBookingsService } from './service.ts';
import { addDays, londonInstant, weekdayOf } from './times.ts';

/** A working weekday at least three days on (Monday to Saturday opening). */
function workingDayAhead(): string {
  let day = addDays(londonDay(), 3);
  while (!isWorkingDay(day) || weekdayOf(day) === 0) day = addDays(day, 1);
  return day;
}

describe('Book: kept availability follows every change, from any process', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln?.close());

  test('a booking, cancellation, hold expiry, closure and opening hours change show in the next read', async () => {
    const db = kiln.platform.db;
    // This process's engine keeps availability; another process on the same database makes the
    // changes (its own cache, its own connections); a third engine keeps nothing, for the truth.
    const here = createBookingsService(kiln.platform, loadBookingsConfig({}), {});
    const elsewhere = kiln.services.bookings.service;
    const uncached = createBookingsService(
      kiln.platform,
      loadBookingsConfig({ BOOKINGS_AVAILABILITY_CACHE_ENTRIES: '0' }),
      {},
    );
    const staff = { type: 'staff' as const, id: null };
    const system = { type: 'system' as const, id: null };
    const weekday: Array<[string, string]> = [['09:00', '17:00']];
    const hours = { mon: weekday, tue: weekday, wed: weekday, thu: weekday, fri: weekday, sat: weekday };
    await elsewhere.saveSite(staff, {
      slug: 'cache-library',
      name: 'Cache Lane Library',
      openingHours: hours,
    });
    await elsewhere.createBookable(staff, {
      slug: 'cache-pc',
      kind: 'resource',
      category: 'library-pc',
      title: 'Cache Lane computer',
      site: 'cache-library',
      capacity: 2,
    });
    await elsewhere.createBookable(staff, {
      slug: 'cache-paid-pc',
      kind: 'resource',
      category: 'library-pc',
      title: 'Cache Lane paid computer',
      site: 'cache-library',
      capacity: 1,
      feePence: 200,
    });
    const slugs = ['cache-pc', 'cache-paid-pc', 'wharf-library-pc'];
    const day = workingDayAhead();
    const range = { from: day, to: addDays(day, 6) };
    const nine = londonInstant(day, '09:00');
    const answer = async (engine: typeof here) =>
      [...(await engine.availabilityMany(db, slugs, range))].map(([slug, free]) => [slug, free.toJson()]);
    /** Reads through the cache, checks it against the engine that keeps nothing, and returns it. */
    const read = async () => {
      const kept = await answer(here);
      assert.deepEqual(kept, await answer(uncached), 'the kept answer is the database answer');
      return new Map(kept as Array<[string, Array<{ startsAt: string; remaining: number }>]>);
    };
    const remainingAt = (answer: Map<string, Array<{ startsAt: string; remaining: number }>>, slug: string) =>
      answer.get(slug)!.find((t) => t.startsAt === nine.toISOString())?.remaining ?? 0;

    const first = await read();
    assert.equal(remainingAt(first, 'cache-pc'), 2);
    const counted = here.availabilityCacheCounts();
    await read();
    assert.equal(
      here.availabilityCacheCounts().fromCache - counted.fromCache,
      slugs.length,
      'unchanged bookables come from the cache',
    );

    const booked = await elsewhere.hold({
      bookable: 'cache-pc',
      startsAt: nine,
      who: { name: 'Cal Cache' },
      channel: 'desk',
      actor: system,
    });
    assert.equal(remainingAt(await read(), 'cache-pc'), 1, 'a booking shows');

    await elsewhere.cancel(booked.reference, system, 'Changed plans');
    assert.equal(remainingAt(await read(), 'cache-pc'), 2, 'a cancellation shows');

    const held = await elsewhere.hold(
      {
        bookable: 'cache-paid-pc',
        startsAt: nine,
        who: { name: 'Hal Hold', email: 'hal@example.com' },
        channel: 'desk',
        actor: system,
      },
      { now: new Date(Date.now() - 20 * 60_000) },
    );
    assert.equal(held.status, 'held');
    assert.equal(remainingAt(await read(), 'cache-paid-pc'), 0, 'a hold shows');
    assert.ok((await elsewhere.releaseExpiredHolds()) >= 1);
    assert.equal(remainingAt(await read(), 'cache-paid-pc'), 1, 'an expired hold gives the place back');

    await elsewhere.addClosure(staff, {
      site: 'cache-library',
      startsAt: londonInstant(day, '00:00'),
      endsAt: londonInstant(addDays(day, 1), '00:00'),
      reason: 'Staff training',
    });
    const closed = await read();
    assert.equal(remainingAt(closed, 'cache-pc'), 0, "a site's closure shows");
    assert.equal(remainingAt(closed, 'cache-paid-pc'), 0);
    assert.equal(
      closed.get('wharf-library-pc')!.length,
      first.get('wharf-library-pc')!.length,
      'another site keeps its times',
    );

    const before = (await read()).get('cache-pc')!.length;
    await elsewhere.saveSite(staff, {
      slug: 'cache-library',
      name: 'Cache Lane Library',
      openingHours: { ...hours, sat: [] },
    });
    const shorter = (await read()).get('cache-pc')!;
    assert.ok(shorter.length < before, 'a change of opening hours shows');
  });

  test('a bookable edited or made in another process shows in the next read', async () => {
    const db = kiln.platform.db;
    const here = createBookingsService(kiln.platform, loadBookingsConfig({}), {});
    const elsewhere = createBookingsService(kiln.platform, loadBookingsConfig({}), {});
    const staff = { type: 'staff' as const, id: null };
    const day = workingDayAhead();
    const range = { from: day, to: day };
    await elsewhere.createBookable(staff, {
      slug: 'cache-room',
      kind: 'resource',
      category: 'room',
      title: 'Cache room',
      site: 'wharf-library',
      capacity: 3,
    });
    const seen = (await here.availabilityMany(db, ['cache-room'], range)).get('cache-room')!;
    assert.ok(seen.toSlots().every((t) => t.remaining === 3));
    await elsewhere.updateBookable(staff, 'cache-room', { capacity: 5 });
    const edited = (await here.availabilityMany(db, ['cache-room'], range)).get('cache-room')!;
    assert.ok(edited.count > 0 && edited.toSlots().every((t) => t.remaining === 5), 'the new capacity shows');
  });
});

describe('Book: the availability cache keeps a bounded number of entries', () => {
  test('an entry is given back only for its stamp; the least recently used goes first', () => {
    const cache = new AvailabilityCache<{ stamp: string; n: number }>(2);
    cache.set('a', { stamp: '1', n: 1 });
    cache.set('b', { stamp: '1', n: 2 });
    assert.equal(cache.get('a', '2'), undefined, 'another stamp is not the kept one');
    assert.equal(cache.get('a', '1')?.n, 1);
    cache.set('c', { stamp: '1', n: 3 });
    assert.equal(cache.get('b', '1'), undefined, 'b was the least recently used');
    assert.equal(cache.get('a', '1')?.n, 1);
    assert.equal(cache.get('c', '1')?.n, 3);
    assert.equal(new AvailabilityCache(0).enabled, false);
  });

  test('kept JSON text is joined into an answer as a field', () => {
    const kept = JSON.stringify([{ startsAt: '2026-12-01T09:00:00.000Z', remaining: 2 }]);
    assert.deepEqual(JSON.parse(jsonWithField({ slug: 'a "pc"', n: 1 }, 'availability', kept)), {
      slug: 'a "pc"',
      n: 1,
      availability: JSON.parse(kept),
    });
    assert.deepEqual(JSON.parse(jsonWithField({}, 'list', '[]')), { list: [] });
  });
});
