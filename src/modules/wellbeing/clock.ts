import { DAY_START_HOUR } from './routine.ts';

// Routine days in Europe/London: 04:00 to 04:00 local time, across clock changes.

const parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const offsets = new Map<number, number>();

/** London's offset from UTC in minutes at an instant (0 or 60), cached by UTC hour. */
export function londonOffset(at: Date): number {
  const hour = Math.floor(at.getTime() / 3_600_000);
  let offset = offsets.get(hour);
  if (offset === undefined) {
    const p = Object.fromEntries(
      parts.formatToParts(new Date(hour * 3_600_000)).map((x) => [x.type, x.value]),
    );
    const local = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!);
    offset = Math.round((local - hour * 3_600_000) / 60_000);
    if (offsets.size > 100_000) offsets.clear();
    offsets.set(hour, offset);
  }
  return offset;
}

export interface RoutinePosition {
  /** The routine day, YYYY-MM-DD (the date on which it started at 04:00). */
  day: string;
  /** Minutes since 04:00 local time. */
  t: number;
  weekend: boolean;
}

/** Where an instant falls in the routine days. */
export function routinePosition(at: Date): RoutinePosition {
  const local = at.getTime() + londonOffset(at) * 60_000 - DAY_START_HOUR * 3_600_000;
  const dayMs = Math.floor(local / 86_400_000) * 86_400_000;
  const date = new Date(dayMs);
  const dow = date.getUTCDay();
  return {
    day: date.toISOString().slice(0, 10),
    t: (local - dayMs) / 60_000,
    weekend: dow === 0 || dow === 6,
  };
}

/** The instant a minute of a routine day stands for. */
export function instantOf(day: string, t: number): Date {
  const local = Date.parse(`${day}T00:00:00Z`) + DAY_START_HOUR * 3_600_000 + t * 60_000;
  // The offset at the local time, looked up at the guessed instant (exact except in the hour of a change).
  const guess = new Date(local);
  return new Date(local - londonOffset(guess) * 60_000);
}

/** The routine day a number of days before or after another. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

export function isWeekend(day: string): boolean {
  const dow = new Date(`${day}T00:00:00Z`).getUTCDay();
  return dow === 0 || dow === 6;
}
