// Times are stored in UTC and shown to people in Europe/London.
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  hour12: true,
});
const dateFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});

/** Formats a UTC instant for people, in Europe/London, the GOV.UK way ("4 March 2026, 2:05pm"). */
export function formatLondon(value: unknown, withTime: boolean): string {
  if (value === null || value === undefined || value === '') return '';
  const date = value instanceof Date ? value : new Date(String(value));
  if (Number.isNaN(date.getTime())) return '';
  if (!withTime) return dateFormat.format(date);
  return dateTimeFormat.format(date).replace(' am', 'am').replace(' pm', 'pm').replace(' at ', ', ');
}

const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' });

/** The date in Europe/London as YYYY-MM-DD: the council's day for ledgers, reports and forms. */
export function londonDay(date = new Date()): string {
  return dayFormat.format(date);
}
