// Working days in England and Wales: Monday to Friday, except bank holidays.
//
// Bank holidays are computed by rule (the Banking and Financial Dealings Act 1971 and the
// annual proclamations): New Year's Day, Good Friday, Easter Monday, the early May bank holiday
// (first Monday of May), the spring bank holiday (last Monday of May), the summer bank holiday
// (last Monday of August), Christmas Day and Boxing Day. When New Year's Day, Christmas Day or
// Boxing Day falls on a weekend, the next weekday that is not already a holiday is the
// substitute day. One-off changes announced by proclamation are in ANNOUNCED_CHANGES below;
// add a line there when the government announces a new one (gov.uk/bank-holidays).
//
// Days are ISO dates ('YYYY-MM-DD'): the council's day in Europe/London (see londonDay in
// time.ts). A Date passed in is first turned into its London day.
import { londonDay } from './time.ts';

export interface BankHoliday {
  date: string;
  name: string;
}

type Day = string | Date;

/** Changes to the rules announced by proclamation: days added, and rule days moved. */
const ANNOUNCED_CHANGES: Record<number, { added?: BankHoliday[]; moved?: { from: string; to: string }[] }> = {
  1995: { moved: [{ from: '1995-05-01', to: '1995-05-08' }] }, // VE Day 50th anniversary
  1999: { added: [{ date: '1999-12-31', name: 'Millennium celebrations' }] },
  2002: {
    moved: [{ from: '2002-05-27', to: '2002-06-04' }],
    added: [{ date: '2002-06-03', name: 'Golden Jubilee' }],
  },
  2011: { added: [{ date: '2011-04-29', name: 'Royal wedding' }] },
  2012: {
    moved: [{ from: '2012-05-28', to: '2012-06-04' }],
    added: [{ date: '2012-06-05', name: 'Queen’s Diamond Jubilee' }],
  },
  2020: { moved: [{ from: '2020-05-04', to: '2020-05-08' }] }, // VE Day 75th anniversary
  2022: {
    moved: [{ from: '2022-05-30', to: '2022-06-02' }],
    added: [
      { date: '2022-06-03', name: 'Platinum Jubilee bank holiday' },
      { date: '2022-09-19', name: 'Bank holiday for the State Funeral of Queen Elizabeth II' },
    ],
  },
  2023: { added: [{ date: '2023-05-08', name: 'Bank holiday for the coronation of King Charles III' }] },
};

function toDay(value: Day): string {
  if (value instanceof Date) return londonDay(value);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new RangeError(`Not a date (YYYY-MM-DD): ${value}`);
  }
  return value;
}

// Calendar arithmetic on UTC midnights, so that clock changes never shift a day.
function utc(year: number, month: number, day: number): Date {
  return new Date(Date.UTC(year, month - 1, day));
}
function iso(date: Date): string {
  return date.toISOString().slice(0, 10);
}
function parse(day: string): Date {
  return new Date(`${day}T00:00:00Z`);
}
function plusDays(day: string, n: number): string {
  const d = parse(day);
  d.setUTCDate(d.getUTCDate() + n);
  return iso(d);
}
function isWeekend(day: string): boolean {
  const weekday = parse(day).getUTCDay();
  return weekday === 0 || weekday === 6;
}

/** Easter Sunday in the Gregorian calendar (the anonymous Gregorian computus, Meeus/Jones/Butcher). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return iso(utc(year, month, day));
}

function firstMonday(year: number, month: number): string {
  const first = utc(year, month, 1);
  first.setUTCDate(1 + ((8 - first.getUTCDay()) % 7));
  return iso(first);
}
function lastMonday(year: number, month: number): string {
  const last = utc(year, month + 1, 0);
  last.setUTCDate(last.getUTCDate() - ((last.getUTCDay() + 6) % 7));
  return iso(last);
}

const cache = new Map<number, BankHoliday[]>();

/** The bank holidays in England and Wales for a year, in date order. */
export function bankHolidays(year: number): BankHoliday[] {
  if (!Number.isInteger(year) || year < 1971 || year > 9999) {
    throw new RangeError(`Bank holidays are computed for 1971 to 9999, not ${year}`);
  }
  const cached = cache.get(year);
  if (cached) return cached.map((h) => ({ ...h }));

  const easter = easterSunday(year);
  const changes = ANNOUNCED_CHANGES[year] ?? {};
  const move = (date: string) => changes.moved?.find((m) => m.from === date)?.to ?? date;
  const days: BankHoliday[] = [
    { date: plusDays(easter, -2), name: 'Good Friday' },
    { date: plusDays(easter, 1), name: 'Easter Monday' },
    // The early May bank holiday was first held in 1978.
    ...(year >= 1978 ? [{ date: move(firstMonday(year, 5)), name: 'Early May bank holiday' }] : []),
    { date: move(lastMonday(year, 5)), name: 'Spring bank holiday' },
    { date: move(lastMonday(year, 8)), name: 'Summer bank holiday' },
    ...(changes.added ?? []),
  ];
  // New Year's Day became a bank holiday in England and Wales in 1974.
  const fixed: BankHoliday[] = [
    ...(year >= 1974 ? [{ date: iso(utc(year, 1, 1)), name: 'New Year’s Day' }] : []),
    { date: iso(utc(year, 12, 25)), name: 'Christmas Day' },
    { date: iso(utc(year, 12, 26)), name: 'Boxing Day' },
  ];
  const taken = new Set(days.map((d) => d.date));
  // Fixed days on a weekday keep their date first, so that a substitute never takes it.
  for (const holiday of fixed) {
    if (!isWeekend(holiday.date)) {
      days.push(holiday);
      taken.add(holiday.date);
    }
  }
  for (const holiday of fixed) {
    if (!isWeekend(holiday.date)) continue;
    let date = holiday.date;
    while (isWeekend(date) || taken.has(date)) date = plusDays(date, 1);
    days.push({ date, name: `${holiday.name} (substitute day)` });
    taken.add(date);
  }
  days.sort((x, y) => x.date.localeCompare(y.date));
  cache.set(year, days);
  return days.map((h) => ({ ...h }));
}

function holidaySet(year: number): Set<string> {
  return new Set(bankHolidays(year).map((h) => h.date));
}
const sets = new Map<number, Set<string>>();

/** Whether a day is a bank holiday in England and Wales. */
export function isBankHoliday(day: Day): boolean {
  const d = toDay(day);
  const year = Number(d.slice(0, 4));
  let set = sets.get(year);
  if (!set) {
    set = holidaySet(year);
    sets.set(year, set);
  }
  return set.has(d);
}

/** Monday to Friday and not a bank holiday in England and Wales. */
export function isWorkingDay(day: Day): boolean {
  const d = toDay(day);
  return !isWeekend(d) && !isBankHoliday(d);
}

/** The day itself if it is a working day, or the next working day after it. */
export function nextWorkingDay(day: Day): string {
  let d = toDay(day);
  while (!isWorkingDay(d)) d = plusDays(d, 1);
  return d;
}

/**
 * The day `n` working days after `day` (before it when `n` is negative); `day` itself is not
 * counted, whether it is a working day or not. addWorkingDays('2026-12-24', 1) is 2026-12-29
 * (Christmas Day and the Boxing Day substitute are holidays). With n = 0 the day is returned
 * unchanged.
 */
export function addWorkingDays(day: Day, n: number): string {
  if (!Number.isInteger(n)) throw new RangeError(`Working days must be a whole number: ${n}`);
  let d = toDay(day);
  const step = n < 0 ? -1 : 1;
  for (let left = Math.abs(n); left > 0;) {
    d = plusDays(d, step);
    if (isWorkingDay(d)) left -= 1;
  }
  return d;
}

/**
 * The number of working days after `from` up to and including `to`; when `to` is earlier, minus
 * the number from `to` up to but not including `from`. It is the inverse of addWorkingDays:
 * workingDaysBetween(d, addWorkingDays(d, n)) === n for any day d and whole n.
 */
export function workingDaysBetween(from: Day, to: Day): number {
  const a = toDay(from);
  const b = toDay(to);
  let count = 0;
  if (b < a) {
    // Backwards: the working days from `to` up to but not including `from`.
    for (let d = b; d < a; d = plusDays(d, 1)) if (isWorkingDay(d)) count -= 1;
    return count;
  }
  for (let d = plusDays(a, 1); d <= b; d = plusDays(d, 1)) if (isWorkingDay(d)) count += 1;
  return count;
}
