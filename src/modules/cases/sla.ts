/** A service-level target: how long the council has to resolve a case. */
export interface SlaTarget {
  value: number;
  unit: 'hours' | 'working_days';
}

// England and Wales bank holidays the SLA clock skips (extend yearly, or load from the published list).
const bankHolidays = new Set([
  '2026-01-01',
  '2026-04-03',
  '2026-04-06',
  '2026-05-04',
  '2026-05-25',
  '2026-08-31',
  '2026-12-25',
  '2026-12-28',
  '2027-01-01',
  '2027-03-26',
  '2027-03-29',
  '2027-05-03',
  '2027-05-31',
  '2027-08-30',
  '2027-12-27',
  '2027-12-28',
]);

function isWorkingDay(date: Date): boolean {
  const day = date.getUTCDay();
  return day !== 0 && day !== 6 && !bankHolidays.has(date.toISOString().slice(0, 10));
}

/** When a case received at `from` is due: hours run round the clock, working days skip weekends and bank holidays. */
export function slaDueAt(from: Date, target: SlaTarget): Date {
  if (target.unit === 'hours') return new Date(from.getTime() + target.value * 3_600_000);
  const due = new Date(from);
  let remaining = target.value;
  while (remaining > 0) {
    due.setUTCDate(due.getUTCDate() + 1);
    if (isWorkingDay(due)) remaining -= 1;
  }
  return due;
}

export type SlaState = 'on_track' | 'at_risk' | 'breached' | 'met' | 'none';

/**
 * Breached once past due; at risk in the last fifth of the allowed time (at least the last 4 hours).
 * The clock stops when the case is resolved, or closed without being resolved.
 */
export function slaState(
  c: { sla_due_at: Date | null; created_at: Date; resolved_at: Date | null; closed_at?: Date | null },
  now = new Date(),
): SlaState {
  if (!c.sla_due_at) return 'none';
  const stopped = c.resolved_at ?? c.closed_at ?? null;
  const end = stopped ?? now;
  if (end > c.sla_due_at) return 'breached';
  if (stopped) return 'met';
  const total = c.sla_due_at.getTime() - c.created_at.getTime();
  const left = c.sla_due_at.getTime() - now.getTime();
  return left < Math.max(total / 5, 4 * 3_600_000) ? 'at_risk' : 'on_track';
}
