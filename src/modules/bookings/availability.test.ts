import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { londonDay } from '../../platform/time.ts';
import { isWorkingDay } from '../../platform/working-days.ts';
import { readClosedList, readSlotList } from './store.ts';
import { addDays, londonInstant, weekdayOf } from './times.ts';

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
    assert.deepEqual(JSON.parse(free.toJsonText()), free.toJson(), 'the kept JSON text is the same JSON');
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
  test('sessions keep their exact instants; cancelled ones and closed times are left out', async () => {
    const service = kiln.services.bookings.service;
    const db = kiln.platform.db;
    const staff = { type: 'staff' as const, id: null };
    await service.createBookable(staff, {
      slug: 'availability-class',
      kind: 'session',
      category: 'class',
      title: 'Availability check class',
      capacity: 3,
    });
    const day = workingDayAhead();
    // Not on a whole minute: the slot lists carry minutes with fractions, read back to the millisecond.
    const odd = new Date(londonInstant(day, '10:00').getTime() + 30_250);
    const oddEnd = new Date(odd.getTime() + 75 * 60_000 - 125);
    const plain = londonInstant(day, '14:00');
    const late = londonInstant(day, '16:00');
    for (const [startsAt, endsAt] of [
      [odd, oddEnd],
      [plain, new Date(plain.getTime() + 3_600_000)],
      [late, new Date(late.getTime() + 3_600_000)],
    ] as const)
      await service.addSlot(staff, 'availability-class', { startsAt, endsAt });
    const range = { from: day, to: day };
    const all = await service.availability(db, 'availability-class', range);
    assert.deepEqual(
      all.map((s) => [s.startsAt.toISOString(), s.endsAt.toISOString(), s.remaining]),
      [
        [odd.toISOString(), oddEnd.toISOString(), 3],
        [plain.toISOString(), new Date(plain.getTime() + 3_600_000).toISOString(), 3],
        [late.toISOString(), new Date(late.getTime() + 3_600_000).toISOString(), 3],
      ],
    );

    const sessions = await service.sessions(db, 'availability-class', range);
    const lateSession = sessions.find((s) => new Date(s.startsAt).getTime() === late.getTime());
    assert.ok(lateSession, 'the late session is listed');
    await service.cancelSession(lateSession.id, 'The tutor is unwell', staff);
    await service.addClosure(staff, {
      bookable: 'availability-class',
      startsAt: plain,
      endsAt: new Date(plain.getTime() + 60_000),
      reason: 'Room in use',
    });
    const left = (await service.availabilityMany(db, ['availability-class'], range)).get(
      'availability-class',
    )!;
    assert.deepEqual(
      left.toSlots().map((s) => s.startsAt.getTime()),
      [odd.getTime()],
      'only the session that is neither cancelled nor closed',
    );
  });

  test('a closure of one bookable without a site leaves other bookables without a site alone', async () => {
    const service = kiln.services.bookings.service;
    const db = kiln.platform.db;
    const staff = { type: 'staff' as const, id: null };
    for (const slug of ['availability-desk-a', 'availability-desk-b'])
      await service.createBookable(staff, {
        slug,
        kind: 'resource',
        category: 'library-pc',
        title: `Availability check ${slug.slice(-1)}`,
        capacity: 1,
      });
    const day = workingDayAhead();
    const range = { from: day, to: day };
    const before = await service.availabilityMany(db, ['availability-desk-a', 'availability-desk-b'], range);
    const times = before.get('availability-desk-b')!.count;
    assert.ok(times > 0, 'a bookable without a site has the default opening hours');
    await service.addClosure(staff, {
      bookable: 'availability-desk-a',
      startsAt: londonInstant(day, '00:00'),
      endsAt: londonInstant(addDays(day, 1), '00:00'),
      reason: 'Repairs',
    });
    const after = await service.availabilityMany(db, ['availability-desk-a', 'availability-desk-b'], range);
    assert.equal(after.get('availability-desk-a')!.count, 0, 'the closed one has no times');
    assert.equal(after.get('availability-desk-b')!.count, times, 'the other keeps all its times');
  });
});

describe('Book: reading the slot lists PostgreSQL sends', () => {
  test('five numbers a slot: minutes after the start of the range (with fractions), places, open', () => {
    const from = Date.UTC(2026, 11, 1);
    const read = readSlotList('b', '600,60,4,1,1,660.5004166666667,59.75,2,2,0', from);
    assert.deepEqual([...read.starts], [from + 600 * 60_000, from + 660 * 60_000 + 30_025]);
    assert.deepEqual(
      [...read.ends],
      [from + 660 * 60_000, from + 660 * 60_000 + 30_025 + 59 * 60_000 + 45_000],
    );
    assert.deepEqual([...read.capacity], [4, 2]);
    assert.deepEqual([...read.taken], [1, 2]);
    assert.deepEqual([...read.open], [1, 0]);
  });

  test('closures: start and end in minutes after the start of the range, before it too', () => {
    const from = Date.UTC(2026, 11, 1);
    assert.deepEqual([...readClosedList('-1440,60.5', from)], [from - 86_400_000, from + 3_630_000]);
    assert.deepEqual([...readClosedList(null, from)], []);
    assert.throws(() => readClosedList('-1440', from), /not whole closures/);
  });

  test('a list that is not whole slots is refused', () => {
    assert.throws(() => readSlotList('b', '600,60,4,1', 0), /not whole slots/);
    assert.throws(() => readSlotList('b', '600,60,4,1,x', 0), SyntaxError);
  });
});
