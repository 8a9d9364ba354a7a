// London wall-clock times for opening hours and slots; instants are stored in UTC.
const parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function intlFields(date: Date) {
  const p = Object.fromEntries(parts.formatToParts(date).map((x) => [x.type, x.value]));
  return { y: +p.year!, m: +p.month!, d: +p.day!, h: +p.hour!, mi: +p.minute! };
}

// London's offset from UTC changes only on a UTC hour (01:00 UTC), so it is asked of Intl's time
// zone data once per UTC hour and remembered: a month of slots for fifty resources is thousands
// of conversions, and Intl's formatToParts is the slow part.
const offsetByHour = new Map<number, number>();

/** Minutes London is ahead of UTC at an instant (0 or 60). */
function offsetMinutes(date: Date): number {
  const hour = Math.floor(date.getTime() / 3_600_000);
  let offset = offsetByHour.get(hour);
  if (offset === undefined) {
    const at = new Date(hour * 3_600_000);
    const f = intlFields(at);
    offset = Math.round((Date.UTC(f.y, f.m - 1, f.d, f.h, f.mi) - at.getTime()) / 60_000);
    if (offsetByHour.size > 200_000) offsetByHour.clear();
    offsetByHour.set(hour, offset);
  }
  return offset;
}

function londonFields(date: Date) {
  const local = new Date(date.getTime() + offsetMinutes(date) * 60_000);
  return {
    y: local.getUTCFullYear(),
    m: local.getUTCMonth() + 1,
    d: local.getUTCDate(),
    h: local.getUTCHours(),
    mi: local.getUTCMinutes(),
  };
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The London day ('YYYY-MM-DD') and wall-clock time ('HH:MM') of an instant. */
export function londonParts(date: Date): { day: string; time: string } {
  const f = londonFields(date);
  return { day: `${f.y}-${pad2(f.m)}-${pad2(f.d)}`, time: `${pad2(f.h)}:${pad2(f.mi)}` };
}

/** The London day of an instant, 'YYYY-MM-DD'. */
export function londonDayOf(date: Date): string {
  return londonParts(date).day;
}

/** The instant of a London wall-clock time on a day ('2026-12-01', '09:30'). */
export function londonInstant(day: string, hhmm: string): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const [h, mi] = hhmm.split(':').map(Number) as [number, number];
  const guess = Date.UTC(y, m - 1, d, h, mi);
  let at = guess - offsetMinutes(new Date(guess)) * 60_000;
  const again = guess - offsetMinutes(new Date(at)) * 60_000;
  if (again !== at) at = again;
  return new Date(at);
}

/** The London wall-clock time of an instant, 'HH:MM'. */
export function londonTime(date: Date): string {
  const f = londonFields(date);
  return `${String(f.h).padStart(2, '0')}:${String(f.mi).padStart(2, '0')}`;
}

/** A day plus n days, as 'YYYY-MM-DD'. */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(day: string): number {
  return new Date(`${day}T12:00:00Z`).getUTCDay();
}

export function isDay(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
}

const dayLabel = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});

const dayLabels = new Map<string, string>();

/** 'Tuesday 1 December 2026' for a day. */
export function formatDay(day: string): string {
  let label = dayLabels.get(day);
  if (label === undefined) {
    label = dayLabel.format(new Date(`${day}T12:00:00Z`));
    if (dayLabels.size > 10_000) dayLabels.clear();
    dayLabels.set(day, label);
  }
  return label;
}

const clockLabels = new Map<string, string>();

/** '9:30am' for a London wall-clock time 'HH:MM'. */
export function formatClock(hhmm: string): string {
  let label = clockLabels.get(hhmm);
  if (label === undefined) {
    const [h, m] = hhmm.split(':').map(Number) as [number, number];
    const suffix = h < 12 ? 'am' : 'pm';
    const h12 = h % 12 === 0 ? 12 : h % 12;
    label = `${h12}:${String(m).padStart(2, '0')}${suffix}`;
    clockLabels.set(hhmm, label);
  }
  return label;
}

/** '9:30am' for an instant, in London. */
export function formatTime(date: Date): string {
  return formatClock(londonTime(date));
}

/** A date column's value as 'YYYY-MM-DD' (drivers give a string or a Date at local midnight). */
export function dayString(value: unknown): string {
  if (value instanceof Date) {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
  }
  return String(value ?? '').slice(0, 10);
}
