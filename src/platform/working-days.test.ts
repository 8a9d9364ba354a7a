import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addWorkingDays,
  bankHolidays,
  easterSunday,
  isBankHoliday,
  isWorkingDay,
  nextWorkingDay,
  workingDaysBetween,
} from './working-days.ts';

// The bank holidays in England and Wales as published at gov.uk/bank-holidays, typed in by hand.
const PUBLISHED: Record<number, string[]> = {
  2022: [
    '2022-01-03', // New Year's Day (substitute day)
    '2022-04-15',
    '2022-04-18',
    '2022-05-02',
    '2022-06-02', // spring bank holiday, moved
    '2022-06-03', // Platinum Jubilee
    '2022-08-29',
    '2022-09-19', // State Funeral of Queen Elizabeth II
    '2022-12-26',
    '2022-12-27', // Christmas Day (substitute day)
  ],
  2023: [
    '2023-01-02', // New Year's Day (substitute day)
    '2023-04-07',
    '2023-04-10',
    '2023-05-01',
    '2023-05-08', // coronation of King Charles III
    '2023-05-29',
    '2023-08-28',
    '2023-12-25',
    '2023-12-26',
  ],
  2024: [
    '2024-01-01',
    '2024-03-29',
    '2024-04-01',
    '2024-05-06',
    '2024-05-27',
    '2024-08-26',
    '2024-12-25',
    '2024-12-26',
  ],
  2025: [
    '2025-01-01',
    '2025-04-18',
    '2025-04-21',
    '2025-05-05',
    '2025-05-26',
    '2025-08-25',
    '2025-12-25',
    '2025-12-26',
  ],
  2026: [
    '2026-01-01',
    '2026-04-03',
    '2026-04-06',
    '2026-05-04',
    '2026-05-25',
    '2026-08-31',
    '2026-12-25',
    '2026-12-28', // Boxing Day (substitute day)
  ],
  2027: [
    '2027-01-01',
    '2027-03-26',
    '2027-03-29',
    '2027-05-03',
    '2027-05-31',
    '2027-08-30',
    '2027-12-27', // Christmas Day (substitute day)
    '2027-12-28', // Boxing Day (substitute day)
  ],
};

describe('working days (England and Wales)', () => {
  for (const [year, dates] of Object.entries(PUBLISHED)) {
    test(`the bank holidays of ${year} are the published ones`, () => {
      assert.deepEqual(
        bankHolidays(Number(year)).map((h) => h.date),
        dates,
      );
    });
  }

  test('Easter by the computus matches known Easter Sundays', () => {
    const known: Record<number, string> = {
      2000: '2000-04-23',
      2008: '2008-03-23',
      2011: '2011-04-24',
      2019: '2019-04-21',
      2024: '2024-03-31',
      2025: '2025-04-20',
      2026: '2026-04-05',
      2027: '2027-03-28',
      2038: '2038-04-25',
    };
    for (const [year, day] of Object.entries(known)) assert.equal(easterSunday(Number(year)), day);
  });

  test('substitute days are named and never share a date', () => {
    const names = bankHolidays(2027).map((h) => h.name);
    assert.ok(names.includes('Christmas Day (substitute day)'));
    assert.ok(names.includes('Boxing Day (substitute day)'));
    // 2022: Boxing Day keeps Monday 26th and Christmas Day moves to Tuesday 27th.
    const h2022 = bankHolidays(2022);
    assert.equal(h2022.find((h) => h.date === '2022-12-26')?.name, 'Boxing Day');
    assert.equal(h2022.find((h) => h.date === '2022-12-27')?.name, 'Christmas Day (substitute day)');
    for (let year = 1980; year <= 2060; year += 1) {
      const dates = bankHolidays(year).map((h) => h.date);
      assert.equal(new Set(dates).size, dates.length, `${year} has a date twice`);
      for (const d of dates) assert.ok(isWorkingDayIgnoringHolidays(d), `${d} is a weekend`);
    }
  });

  test('isWorkingDay: weekdays that are not bank holidays', () => {
    assert.equal(isWorkingDay('2026-11-25'), true); // Wednesday
    assert.equal(isWorkingDay('2026-11-28'), false); // Saturday
    assert.equal(isWorkingDay('2026-11-29'), false); // Sunday
    assert.equal(isWorkingDay('2026-12-28'), false); // Boxing Day substitute
    assert.equal(isWorkingDay('2026-12-29'), true);
    assert.equal(isBankHoliday('2026-12-26'), false); // Saturday: the holiday moved to Monday
    assert.equal(isWorkingDay('2022-09-19'), false);
    // A Date is read as its day in London: 23:30 UTC on 31 March 2024 is 1 April (Easter Monday).
    assert.equal(isWorkingDay(new Date('2024-03-31T23:30:00Z')), false);
    assert.equal(isWorkingDay(new Date('2024-04-01T23:30:00Z')), true); // 2 April in London
    assert.throws(() => isWorkingDay('2026-13-01'), RangeError);
    assert.throws(() => isWorkingDay('25/11/2026'), RangeError);
  });

  test('addWorkingDays skips weekends and bank holidays, both ways', () => {
    assert.equal(addWorkingDays('2026-11-25', 0), '2026-11-25');
    assert.equal(addWorkingDays('2026-11-27', 1), '2026-11-30'); // Friday + 1 = Monday
    assert.equal(addWorkingDays('2026-11-28', 1), '2026-11-30'); // Saturday + 1 = Monday
    assert.equal(addWorkingDays('2026-12-24', 1), '2026-12-29');
    assert.equal(addWorkingDays('2026-12-23', 3), '2026-12-30');
    assert.equal(addWorkingDays('2027-03-25', 1), '2027-03-30'); // over Easter
    assert.equal(addWorkingDays('2026-11-25', 10), '2026-12-09');
    assert.equal(addWorkingDays('2026-11-30', -1), '2026-11-27');
    assert.equal(addWorkingDays('2026-12-29', -1), '2026-12-24');
    assert.equal(addWorkingDays('2026-11-28', -1), '2026-11-27');
    assert.equal(addWorkingDays('2026-12-31', 2), '2027-01-05'); // over New Year's Day
    assert.throws(() => addWorkingDays('2026-11-25', 1.5), RangeError);
  });

  test('workingDaysBetween is the inverse of addWorkingDays', () => {
    assert.equal(workingDaysBetween('2026-12-24', '2026-12-29'), 1);
    assert.equal(workingDaysBetween('2026-11-25', '2026-12-09'), 10);
    assert.equal(workingDaysBetween('2026-11-25', '2026-11-25'), 0);
    assert.equal(workingDaysBetween('2026-11-28', '2026-11-29'), 0);
    assert.equal(workingDaysBetween('2026-12-09', '2026-11-25'), -10);
    const starts = ['2026-11-25', '2026-11-28', '2026-12-24', '2027-03-26', '2022-06-01'];
    for (const start of starts) {
      for (let n = -25; n <= 25; n += 1) {
        assert.equal(workingDaysBetween(start, addWorkingDays(start, n)), n, `${start} ${n}`);
      }
    }
    // 2026 has 365 days, 104 weekend days and 8 bank holidays on weekdays.
    assert.equal(workingDaysBetween('2025-12-31', '2026-12-31'), 365 - 104 - 8);
  });

  test('nextWorkingDay is the day itself or the next working day', () => {
    assert.equal(nextWorkingDay('2026-11-25'), '2026-11-25');
    assert.equal(nextWorkingDay('2026-12-25'), '2026-12-29');
    assert.equal(nextWorkingDay('2027-12-25'), '2027-12-29');
  });
});

function isWorkingDayIgnoringHolidays(day: string): boolean {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}
