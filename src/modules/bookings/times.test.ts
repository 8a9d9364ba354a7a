import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { londonDay } from '../../platform/time.ts';
import { formatDay, londonDayOf, londonInstant, londonTime } from './times.ts';

const intl = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

test('London days and times agree with the time zone database, across clock changes', () => {
  // 2020 to 2040, minute by minute at random, and every minute around the 2026 changes.
  const instants = fc.sample(
    fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }).map((t) => new Date(t)),
    { numRuns: 20_000, seed: 5 },
  );
  for (const around of [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1)])
    for (let m = -120; m <= 120; m++) instants.push(new Date(around + m * 60_000));
  for (const at of instants) {
    assert.equal(londonDayOf(at), londonDay(at), at.toISOString());
    assert.equal(londonTime(at), intl.format(at), at.toISOString());
  }
  // Wall-clock times round-trip, including the first hour of summer time.
  assert.equal(londonInstant('2026-03-29', '02:30').toISOString(), '2026-03-29T01:30:00.000Z');
  assert.equal(londonInstant('2026-03-29', '00:30').toISOString(), '2026-03-29T00:30:00.000Z');
  assert.equal(londonInstant('2026-10-25', '09:00').toISOString(), '2026-10-25T09:00:00.000Z');
  assert.equal(londonInstant('2026-07-01', '09:00').toISOString(), '2026-07-01T08:00:00.000Z');
  // Remembered labels are the same as fresh ones (the comma depends on the ICU version).
  assert.match(formatDay('2026-12-01'), /^Tuesday,? 1 December 2026$/);
  assert.equal(formatDay('2026-12-01'), formatDay('2026-12-01'));
});
