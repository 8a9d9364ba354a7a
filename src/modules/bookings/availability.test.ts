import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { londonDay } from '../../platform/time.ts';
import { isWorkingDay } from '../../platform/working-days.ts';
import { addDays, weekdayOf } from './times.ts';

/** A working weekday at least three days on (the demo libraries open Monday to Saturday). */
function workingDayAhead(): string {
  let day = addDays(londonDay(), 3);
  while (!isWorkingDay(day) || weekdayOf(day) === 0) day = addDays(day, 1);
  return day;
}

describe('Book: the compact availability agrees with the places taken', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln?.close());

  test('free times, places left and full times, for one bookable and for many at once', async () => {
    const service = kiln.services.bookings.service;
    const db = kiln.platform.db;
    const system = { type: 'system' as const, id: null };
    await service.createBookable(system, {
      slug: 'availability-pc',
      kind: 'resource',
      category: 'library-pc',
      title: 'Availability check computer',
      site: 'wharf-library',
      capacity: 2,
    });
    const day = workingDayAhead();
    const range = { from: day, to: addDays(day, 1) };
    const times = await service.availability(db, 'availability-pc', range);
    assert.ok(times.length >= 3, 'the computer has times on the day');
    assert.ok(times.every((t) => t.remaining === 2 && t.capacity === 2));

    const book = (at: number, name: string) =>
      service.hold({
        bookable: 'availability-pc',
        startsAt: times[at]!.startsAt,
        who: { name },
        channel: 'desk',
        actor: system,
      });
    const first = await book(0, 'Ann Full');
    await book(0, 'Bo Full');
    await book(1, 'Cy Half');

    const after = await service.availability(db, 'availability-pc', range);
    assert.equal(after.length, times.length - 1, 'the full time is left out');
    assert.equal(after[0]!.startsAt.getTime(), times[1]!.startsAt.getTime());
    assert.equal(after[0]!.remaining, 1);
    const withFull = await service.availability(db, 'availability-pc', range, { includeFull: true });
    assert.deepEqual(
      withFull.slice(0, 2).map((t) => t.remaining),
      [0, 1],
    );

    // Many at once: the same times and places, as counts, slots and the API's JSON.
    const many = await service.availabilityMany(
      db,
      ['availability-pc', 'wharf-library-pc', 'no-such-thing'],
      range,
    );
    assert.deepEqual([...many.keys()], ['availability-pc', 'wharf-library-pc']);
    const free = many.get('availability-pc')!;
    assert.equal(free.count, after.length);
    assert.deepEqual(free.toSlots(), after);
    assert.deepEqual(
      free.toJson(),
      after.map((t) => ({
        startsAt: t.startsAt.toISOString(),
        endsAt: t.endsAt.toISOString(),
        capacity: t.capacity,
        remaining: t.remaining,
      })),
    );
    assert.deepEqual(free.daysWithPlaces(), [...new Set(after.map((t) => t.day))]);
    // Another computer at the same site shares the times of day but not the places.
    const other = many.get('wharf-library-pc')!.toSlots();
    assert.ok(other.some((t) => t.startsAt.getTime() === times[0]!.startsAt.getTime()));

    // A cancellation gives the place back.
    await service.cancel(first.reference, system, 'Changed plans');
    const again = (await service.availabilityMany(db, ['availability-pc'], range)).get('availability-pc')!;
    assert.equal(again.count, times.length);
    assert.equal(again.toSlots()[0]!.remaining, 1);
  });
});
