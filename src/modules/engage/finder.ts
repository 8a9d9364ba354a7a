import type { OpeningHours } from './schema.ts';

const dayNames = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** A full UK postcode in the usual shape (not whether it exists: the gazetteer says that). */
export const postcodePattern = /^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$/i;

/** "kf12ab" → "KF1 2AB". */
export function normalisePostcode(input: string): string {
  const compact = input.replace(/\s+/g, '').toUpperCase();
  return compact.length > 3 ? `${compact.slice(0, -3)} ${compact.slice(-3)}` : compact;
}

/** Great-circle distance in miles between two points (haversine). */
export function milesBetween(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 3958.8 * 2 * Math.asin(Math.sqrt(h));
}

function time12(hhmm: string): string {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const suffix = h >= 12 ? 'pm' : 'am';
  const hour = h % 12 === 0 ? 12 : h % 12;
  return m === 0 ? `${hour}${suffix}` : `${hour}:${String(m).padStart(2, '0')}${suffix}`;
}

/** Opening hours as rows a person reads: every day of the week, "Closed" where it is. */
export function openingHoursRows(hours: OpeningHours[]): Array<{ day: string; text: string }> {
  const rows: Array<{ day: string; text: string }> = [];
  for (let day = 1; day <= 7; day++) {
    const sessions = hours.filter((h) => h.day === day).sort((a, b) => a.opens.localeCompare(b.opens));
    rows.push({
      day: dayNames[day]!,
      text: sessions.length
        ? sessions.map((s) => `${time12(s.opens)} to ${time12(s.closes)}`).join(', ')
        : 'Closed',
    });
  }
  return rows;
}

/** Whether a place is open at an instant, by London wall-clock time. */
export function isOpenAt(hours: OpeningHours[], at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const weekday = parts.find((p) => p.type === 'weekday')?.value ?? '';
  const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(weekday) + 1;
  const now = `${parts.find((p) => p.type === 'hour')?.value}:${parts.find((p) => p.type === 'minute')?.value}`;
  return hours.some((h) => h.day === day && h.opens <= now && now < h.closes);
}
