import { binTypes } from './entities.ts';

/**
 * Bin collection rounds. Each street is collected on one weekday; general waste and recycling
 * alternate weekly, food waste is weekly, glass and garden waste go with recycling. A council
 * replaces this with its own round data (usually an export from its waste management system).
 */
const FIRST_USRN = 41000001;
const DAY = 86_400_000;

export interface Collection {
  date: string; // ISO date
  bins: string[]; // bin type codes
}

function weekdayOf(usrn: string): number {
  return 1 + ((Number(usrn) - FIRST_USRN) % 5); // Monday to Friday
}

/** The next `count` collection days for a street, from `today` (a collection today counts). */
export function nextCollections(usrn: string, today: Date, count = 2): Collection[] {
  const weekday = weekdayOf(usrn);
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const offset = (weekday - new Date(start).getUTCDay() + 7) % 7;
  const out: Collection[] = [];
  for (let i = 0; i < count; i++) {
    const when = start + (offset + 7 * i) * DAY;
    const week = Math.floor(when / DAY / 7);
    const recyclingWeek = (week + Number(usrn)) % 2 === 0;
    out.push({
      date: new Date(when).toISOString().slice(0, 10),
      bins: recyclingWeek ? ['recycling', 'glass', 'garden', 'food'] : ['general', 'food'],
    });
  }
  return out;
}

export function binName(code: string): string {
  return binTypes.find((b) => b.code === code)?.name ?? code;
}

export function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
