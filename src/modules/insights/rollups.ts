import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

/**
 * Daily rollups: what the success-measures page reads. Each is a pure function of the facts, kept
 * in step by the loader in the same transaction as the facts it summarises:
 *  - events (rollup_event_day, rollup_sensor_home): facts that are only ever inserted, so new rows
 *    are added to their day;
 *  - cases and payments (rollup_case_day, rollup_resolved_day, rollup_payment_day): facts that are
 *    recomputed when a late event arrives, so a recomputed fact's old contribution is taken away
 *    before and its new one added after; rows that fall to zero are removed;
 *  - bookings by what was booked, and paperless residents (rollup_booking_day,
 *    rollup_paperless_day): a day depends on other events of the same subject, so every day a
 *    touched subject appears on is recomputed from the facts.
 * rebuildRollups() recomputes them all from the facts; the property test checks both ways agree.
 */

export const rollupTables = [
  'rollup_case_day',
  'rollup_resolved_day',
  'rollup_payment_day',
  'rollup_event_day',
  'rollup_booking_day',
  'rollup_paperless_day',
  'rollup_sensor_home',
] as const;
export type RollupTable = (typeof rollupTables)[number];

const PAPERLESS = 'signing.paperless_changed';
const HOME_INSTALLED = 'wellbeing.home_installed';
const london = (col: string) => sql.raw(`(${col} at time zone 'Europe/London')::date`);

function only(column: string, ids: readonly string[] | null, type: 'text' | 'bigint' = 'text') {
  return ids === null ? sql`true` : sql`${sql.ref(column)} = any(${sql.val(ids)}::${sql.raw(type)}[])`;
}

/** Adds newly inserted events (by id) to the event rollups; `null` adds every event. */
export async function addEvents(tx: Db, ids: readonly number[] | null) {
  if (ids !== null && ids.length === 0) return;
  const where = ids === null ? sql`true` : sql`event_id = any(${sql.val(ids)}::bigint[])`;
  await sql`
    insert into analytics.rollup_event_day as r (day, type, service, ward, team, events, within_time)
    select day, type, service, ward, team, count(*), count(*) filter (where within_time)
      from analytics.fact_event where ${where} group by 1, 2, 3, 4, 5
    on conflict on constraint rollup_event_day_key do update
      set events = r.events + excluded.events, within_time = r.within_time + excluded.within_time`.execute(tx);
  await sql`
    insert into analytics.rollup_sensor_home as r (subject_id, first_day)
    select subject_id, min(day) from analytics.fact_event
     where type = ${HOME_INSTALLED} and ${where} group by subject_id
    on conflict (subject_id) do update set first_day = least(r.first_day, excluded.first_day)`.execute(tx);
}

/** Adds (sign 1) or takes away (sign -1) the cases' contribution to the case rollups. */
export async function caseContribution(tx: Db, ids: readonly string[] | null, sign: 1 | -1) {
  if (ids !== null && ids.length === 0) return;
  const where = only('case_id', ids);
  await sql`
    insert into analytics.rollup_case_day as r (day, service, channel, ward, team, received)
    select day, service, channel, ward, team, ${sign}::int * count(*)
      from analytics.fact_case where ${where} group by 1, 2, 3, 4, 5
    on conflict on constraint rollup_case_day_key do update set received = r.received + excluded.received`.execute(
    tx,
  );
  await sql`
    insert into analytics.rollup_resolved_day as r (day, service, ward, team, resolved, with_sla, within_sla)
    select ${london('resolved_at')}, service, ward, team, ${sign}::int * count(*),
           ${sign}::int * count(*) filter (where sla_due_at is not null),
           ${sign}::int * count(*) filter (where sla_due_at is not null and resolved_at <= sla_due_at)
      from analytics.fact_case where resolved_at is not null and ${where} group by 1, 2, 3, 4
    on conflict on constraint rollup_resolved_day_key do update
      set resolved = r.resolved + excluded.resolved, with_sla = r.with_sla + excluded.with_sla,
          within_sla = r.within_sla + excluded.within_sla`.execute(tx);
  if (sign < 0) {
    await sql`delete from analytics.rollup_case_day where received = 0`.execute(tx);
    await sql`delete from analytics.rollup_resolved_day where resolved = 0 and with_sla = 0 and within_sla = 0`.execute(
      tx,
    );
  }
}

/** Adds or takes away the payments' contribution to the payment rollup (settled payments only). */
export async function paymentContribution(tx: Db, ids: readonly string[] | null, sign: 1 | -1) {
  if (ids !== null && ids.length === 0) return;
  await sql`
    insert into analytics.rollup_payment_day as r (day, pays_for, method, taken_by, payments, amount)
    select ${london('settled_at')}, pays_for, method, taken_by, ${sign}::int * count(*),
           ${sign}::bigint * coalesce(sum(amount), 0)
      from analytics.fact_payment
     where status = 'succeeded' and settled_at is not null and ${only('payment_id', ids)}
     group by 1, 2, 3, 4
    on conflict on constraint rollup_payment_day_key do update
      set payments = r.payments + excluded.payments, amount = r.amount + excluded.amount`.execute(tx);
  if (sign < 0) await sql`delete from analytics.rollup_payment_day where payments = 0 and amount = 0`.execute(tx);
}

/**
 * Recomputes the booking rollup on every day a confirmation of these bookings falls on (all days
 * when `null`): a confirmation counts under what its latest hold booked, which may arrive late.
 */
export async function refreshBookings(tx: Db, subjects: readonly string[] | null) {
  if (subjects !== null && subjects.length === 0) return;
  const { rows } = await sql<{ day: string }>`
    select distinct to_char(day, 'YYYY-MM-DD') as day from analytics.fact_event
     where type = 'booking.confirmed' and ${only('subject_id', subjects)}`.execute(tx);
  const days = rows.map((r) => r.day);
  if (days.length === 0) return;
  await sql`delete from analytics.rollup_booking_day where day = any(${sql.val(days)}::date[])`.execute(tx);
  await sql`
    insert into analytics.rollup_booking_day (day, bookable, service, ward, team, confirmed)
    select e.day, h.service, e.service, e.ward, e.team, count(*)
      from analytics.fact_event e
      left join lateral (
        select h.service from analytics.fact_event h
         where h.subject_type = 'booking' and h.subject_id = e.subject_id and h.type = 'booking.held'
         order by h.event_id desc limit 1) h on true
     where e.type = 'booking.confirmed' and e.day = any(${sql.val(days)}::date[])
     group by 1, 2, 3, 4, 5`.execute(tx);
}

/**
 * Recomputes the change in paperless residents on every day these residents chose (all days when
 * `null`). A resident's state at the end of a day is their latest choice (by when it was made) on
 * or before it; a day's change is the sum over residents who chose that day of now minus before.
 */
export async function refreshPaperless(tx: Db, subjects: readonly string[] | null) {
  if (subjects !== null && subjects.length === 0) return;
  const { rows } = await sql<{ day: string }>`
    select distinct to_char(day, 'YYYY-MM-DD') as day from analytics.fact_event
     where type = ${PAPERLESS} and ${only('subject_id', subjects)}`.execute(tx);
  const days = rows.map((r) => r.day);
  if (days.length === 0) return;
  const state = (cmp: RawBuilder<unknown>) => sql`(
    select f.detail = 'true' from analytics.fact_event f
     where f.type = ${PAPERLESS} and f.subject_id = s.subject_id and ${cmp}
     order by f.occurred_at desc, f.event_id desc limit 1)`;
  await sql`
    insert into analytics.rollup_paperless_day as r (day, change)
    select s.day, sum(coalesce(${state(sql`f.day <= s.day`)}, false)::int
                      - coalesce(${state(sql`f.day < s.day`)}, false)::int)::int
      from (select distinct day, subject_id from analytics.fact_event
             where type = ${PAPERLESS} and day = any(${sql.val(days)}::date[])) s
     group by s.day
    on conflict (day) do update set change = excluded.change`.execute(tx);
}

/** Empties the rollups (in a warehouse reset or a rollup rebuild). */
export async function truncateRollups(tx: Db) {
  await sql.raw(`truncate ${rollupTables.map((t) => `analytics.${t}`).join(', ')}`).execute(tx);
}

/** Recomputes every rollup from the facts. */
export async function rebuildRollups(tx: Db) {
  await truncateRollups(tx);
  await addEvents(tx, null);
  await caseContribution(tx, null, 1);
  await paymentContribution(tx, null, 1);
  await refreshBookings(tx, null);
  await refreshPaperless(tx, null);
}
