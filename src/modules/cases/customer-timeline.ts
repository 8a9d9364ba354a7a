import type { Db } from '../../platform/db/index.ts';

/** One thing that happened with a resident, from any module, for the customer view's timeline. */
export interface TimelineItem {
  at: Date;
  /** What it is, in a few words: "Case received", "Email sent", "Payment taken". */
  title: string;
  /** A line of detail: a reference, a summary, an amount. */
  text?: string;
  /** A staff page with more, when there is one. */
  href?: string;
  /** The module or source it came from, set by the registry. */
  source?: string;
}

export type TimelineSource = (db: Db, residentId: string) => Promise<TimelineItem[]>;

/**
 * What other modules add to the customer view (payments, bookings, documents), by name. Sources
 * are pure reads of (db, residentId), so one registry serves every app in the process; registering
 * a name again replaces it, which keeps start-up idempotent.
 */
export const customerViewSources = new Map<string, TimelineSource>();

/** Adds (or replaces) a named source of customer timeline items. */
export function registerCustomerTimelineSource(name: string, source: TimelineSource): void {
  customerViewSources.set(name, source);
}

/** Every registered source's items for a resident, newest first; one failing source does not hide the rest. */
export async function collectTimeline(
  db: Db,
  residentId: string,
  own: TimelineItem[],
): Promise<{ items: TimelineItem[]; failed: string[] }> {
  const items = [...own];
  const failed: string[] = [];
  for (const [name, source] of customerViewSources) {
    try {
      for (const item of await source(db, residentId)) items.push({ source: name, ...item });
    } catch {
      failed.push(name);
    }
  }
  items.sort((a, b) => b.at.getTime() - a.at.getTime());
  return { items, failed };
}
