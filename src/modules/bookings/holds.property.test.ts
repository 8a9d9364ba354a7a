import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { shortReference } from '../../platform/references.ts';
import { londonDay } from '../../platform/time.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { BookingError } from './index.ts';
import { addDays, londonInstant } from './times.ts';

// Random sequences of hold / confirm / expire / cancel / join the waiting list / let an offer lapse,
// by a few people, on one time with a small capacity, against the real service and database. After
// every step the places must add up:
//   - confirmed bookings and live holds never exceed the capacity;
//   - a freed place goes to the first in line (nobody waits while a place is free, and nobody is
//     offered a place before someone who joined earlier and is still waiting);
//   - an offer that lapses is passed on to the next in line;
//   - nobody has two places when the limit is one each.
type Step =
  | { kind: 'hold'; who: number; confirm: boolean }
  | { kind: 'confirm'; who: number }
  | { kind: 'cancel'; who: number }
  | { kind: 'join'; who: number }
  | { kind: 'expireHolds' }
  | { kind: 'expireOffers' };

const PEOPLE = 5;
const HOLD_MINUTES = 15;
const OFFER_HOURS = 12;

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      who: fc.nat(PEOPLE - 1),
      confirm: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('confirm' as const), who: fc.nat(PEOPLE - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('cancel' as const), who: fc.nat(PEOPLE - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), who: fc.nat(PEOPLE - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expireHolds' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expireOffers' as const) }) },
);

interface Row {
  id: string;
  resident_id: string | null;
  status: string;
  places: number;
  hold_expires_at: Date | null;
  offered: boolean;
  reference: string;
}
interface WaitRow {
  resident_id: string;
  status: string;
  booking_id: string | null;
  created_at: Date;
}

describe('Book: holds and the waiting list keep places consistent (property)', () => {
  let kiln: TestKiln;
  const people: string[] = [];
  let run = 0;

  before(async () => {
    kiln = await startTestApp({ BOOKINGS_OFFER_HOURS: String(OFFER_HOURS) });
    for (let i = 0; i < PEOPLE; i++) {
      const row = await kiln.platform.db
        .insertInto('residents')
        .values({
          reference: shortReference('CU'),
          email: `property-${i}@example.com`,
          name: `Property Person ${i}`,
          has_account: true,
        } as never)
        .returning(['id'])
        .executeTakeFirstOrThrow();
      people.push(row.id);
    }
  });
  after(async () => kiln?.close());

  test('random holds, confirmations, cancellations, expiries and waiting lists', async () => {
    const service = kiln.services.bookings.service;
    const db = kiln.platform.db;
    const staff = { type: 'staff' as const, id: null };
    // Far enough ahead that every step's clock (at most a few days on) is still before the start.
    const startsAt = londonInstant(addDays(londonDay(), 40), '10:00');

    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { minLength: 1, maxLength: 25 }),
        async (capacity, steps) => {
          run += 1;
          const slug = `property-${run}`;
          await service.createBookable(staff, {
            slug,
            kind: 'session',
            category: 'class',
            title: `Property class ${run}`,
            capacity,
            perPersonLimit: 1,
            holdMinutes: HOLD_MINUTES,
          });
          await service.addSlot(staff, slug, {
            startsAt,
            endsAt: new Date(startsAt.getTime() + 3_600_000),
          });
          const [{ id: slotId }] = (
            await sql<{
              id: string;
            }>`select s.id from booking_slots s join booking_bookables b on b.id = s.bookable_id
                                      where b.slug = ${slug}`.execute(db)
          ).rows as [{ id: string }];
          let now = new Date();

          const bookings = () =>
            sql<Row>`select id, resident_id, status, places, hold_expires_at, offered, reference
                   from booking_bookings where slot_id = ${slotId}`
              .execute(db)
              .then((r) => r.rows);
          const waiting = () =>
            sql<WaitRow>`select resident_id, status, booking_id, created_at from booking_waitlist
                       where slot_id = ${slotId} order by created_at, id`
              .execute(db)
              .then((r) => r.rows);
          const activeOf = async (who: number) =>
            (await bookings()).find(
              (b) => b.resident_id === people[who] && (b.status === 'held' || b.status === 'confirmed'),
            );

          for (const [i, s] of steps.entries()) {
            const actor = 'who' in s ? { type: 'resident' as const, id: people[s.who]! } : staff;
            try {
              if (s.kind === 'hold') {
                await service.hold(
                  { bookable: slug, startsAt, who: { residentId: people[s.who]! }, actor },
                  { confirm: s.confirm, now },
                );
              } else if (s.kind === 'confirm') {
                const b = await activeOf(s.who);
                if (b?.status === 'held') await service.confirm(b.reference, actor);
              } else if (s.kind === 'cancel') {
                const b = await activeOf(s.who);
                if (b) await service.cancel(b.reference, actor, '', { now });
              } else if (s.kind === 'join') {
                await service.joinWaitingList({
                  bookable: slug,
                  startsAt,
                  residentId: people[s.who]!,
                  actor,
                });
              } else {
                const ms =
                  s.kind === 'expireHolds' ? (HOLD_MINUTES + 1) * 60_000 : (OFFER_HOURS * 60 + 1) * 60_000;
                now = new Date(now.getTime() + ms);
                await service.releaseExpiredHolds(now);
              }
            } catch (error) {
              // Refusals are part of the rules (full, over the limit, already waiting, expired hold);
              // anything else is a failure.
              if (!(error instanceof BookingError)) throw error;
            }

            const where = `run ${run}, capacity ${capacity}, step ${i} ${JSON.stringify(s)}`;
            const after = await bookings();
            const queue = await waiting();
            const [fresh] = (
              await sql<{
                taken: number;
                capacity: number;
              }>`select taken, capacity from booking_slots where id = ${slotId}`.execute(db)
            ).rows;
            const active = after.filter((b) => b.status === 'held' || b.status === 'confirmed');
            const used = active.reduce((n, b) => n + b.places, 0);

            // Confirmed and held places are what the slot counts as taken, within its capacity.
            assert.equal(used, Number(fresh!.taken), `${where}: places counted as taken`);
            assert.ok(used <= capacity, `${where}: ${used} places used of ${capacity}`);
            assert.ok(
              active.filter((b) => b.status === 'confirmed' || b.hold_expires_at! > now).length <= capacity,
              `${where}: confirmed and live holds within capacity`,
            );

            // Nobody is still waiting while a place is free.
            const stillWaiting = queue.filter((w) => w.status === 'waiting');
            assert.ok(
              !(used < capacity && stillWaiting.length > 0),
              `${where}: a place is free while someone waits`,
            );

            // Offers go in the order people joined: no one who is still waiting joined before anyone
            // who has been offered a place.
            const firstWaiting = queue.findIndex((w) => w.status === 'waiting');
            if (firstWaiting >= 0)
              assert.ok(
                queue.slice(firstWaiting).every((w) => w.status === 'waiting'),
                `${where}: someone was offered a place ahead of an earlier person: ${JSON.stringify(queue.map((w) => w.status))}`,
              );

            // Every open offer is a live hold on a place; an offer past its time has been passed on.
            for (const w of queue.filter((q) => q.status === 'offered')) {
              const b = after.find((x) => x.id === w.booking_id);
              assert.ok(b && b.status === 'held' && b.offered, `${where}: an offer without its held place`);
            }
            if (s.kind === 'expireOffers' || s.kind === 'expireHolds')
              for (const b of active)
                assert.ok(
                  b.status === 'confirmed' || b.hold_expires_at! > now,
                  `${where}: a hold past its time was not released`,
                );
            // One place each.
            for (const person of people) {
              const mine = active.filter((b) => b.resident_id === person);
              assert.ok(mine.length <= 1, `${where}: ${person} has ${mine.length} places`);
            }
          }
        },
      ),
      { numRuns: 60, seed: Number(process.env.PROPERTY_SEED ?? Date.now() % 2_147_483_647) },
    );
  });
});
