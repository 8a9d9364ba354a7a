import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { AlertType, DayFeatures, RoutineModel } from './routine.ts';
import type { AlertStatus, WellbeingTables } from './schema.ts';

type T = WellbeingTables;
export type HomeRow = T['wellbeing_homes'];
export type DeviceRow = T['wellbeing_devices'];
export type AlertRow = T['wellbeing_alerts'];
export type ActionRow = T['wellbeing_alert_actions'];
export type ReminderRow = T['wellbeing_reminders'];
export type PromptRow = T['wellbeing_prompts'];
export type FamilyRow = T['wellbeing_family'];

const t = (db: Db) => tables<WellbeingTables & ResidentTables>(db);

interface ResidentTables {
  residents: {
    id: string;
    reference: string;
    name: string;
    email: string | null;
    phone: string | null;
    address: string | null;
  };
  staff_users: { id: string; name: string; email: string };
}

// Homes and devices

export async function insertHome(
  db: Db,
  row: Pick<
    HomeRow,
    | 'reference'
    | 'resident_id'
    | 'address'
    | 'consent_recorded_at'
    | 'consent_recorded_by'
    | 'consent_method'
    | 'family_view_consent'
  >,
): Promise<HomeRow> {
  return t(db)
    .insertInto('wellbeing_homes')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function homeByReference(db: Db, reference: string) {
  return t(db)
    .selectFrom('wellbeing_homes as h')
    .innerJoin('residents as r', 'r.id', 'h.resident_id')
    .selectAll('h')
    .select(['r.name as resident_name', 'r.reference as resident_reference', 'r.phone as resident_phone'])
    .where('h.reference', '=', reference)
    .executeTakeFirst();
}

export async function homeById(db: Db, id: string) {
  return t(db)
    .selectFrom('wellbeing_homes as h')
    .innerJoin('residents as r', 'r.id', 'h.resident_id')
    .selectAll('h')
    .select(['r.name as resident_name', 'r.reference as resident_reference', 'r.phone as resident_phone'])
    .where('h.id', '=', id)
    .executeTakeFirst();
}

export async function listHomes(db: Db) {
  return t(db)
    .selectFrom('wellbeing_homes as h')
    .innerJoin('residents as r', 'r.id', 'h.resident_id')
    .selectAll('h')
    .select(['r.name as resident_name', 'r.reference as resident_reference'])
    .where('h.status', '!=', 'closed')
    .orderBy('h.created_at', 'desc')
    .execute();
}

export async function activeHomeIds(db: Db): Promise<string[]> {
  const rows = await t(db)
    .selectFrom('wellbeing_homes')
    .select('id')
    .where('status', '=', 'active')
    .execute();
  return rows.map((r) => r.id);
}

export async function homesForResident(db: Db, residentId: string) {
  return t(db).selectFrom('wellbeing_homes').selectAll().where('resident_id', '=', residentId).execute();
}

export async function setHome(db: Db, id: string, values: Partial<HomeRow>) {
  await t(db)
    .updateTable('wellbeing_homes')
    .set(values as never)
    .where('id', '=', id)
    .execute();
}

export async function insertDevice(
  db: Db,
  row: Pick<DeviceRow, 'home_id' | 'device_ref' | 'role' | 'kind' | 'room' | 'label' | 'key_hash'>,
): Promise<DeviceRow> {
  return t(db)
    .insertInto('wellbeing_devices')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function devicesOfHome(db: Db, homeId: string): Promise<DeviceRow[]> {
  return t(db)
    .selectFrom('wellbeing_devices')
    .selectAll()
    .where('home_id', '=', homeId)
    .where('active', '=', true)
    .orderBy('role')
    .orderBy('created_at')
    .execute();
}

export async function deviceByRef(db: Db, ref: string) {
  return t(db)
    .selectFrom('wellbeing_devices as d')
    .innerJoin('wellbeing_homes as h', 'h.id', 'd.home_id')
    .selectAll('d')
    .select(['h.reference as home_ref', 'h.status as home_status'])
    .where('d.device_ref', '=', ref)
    .where('d.active', '=', true)
    .executeTakeFirst();
}

export async function setDevice(db: Db, id: string, values: Partial<DeviceRow>) {
  await t(db)
    .updateTable('wellbeing_devices')
    .set(values as never)
    .where('id', '=', id)
    .execute();
}

// Events: append-only, written in batches; a (device, seq) already stored is skipped.

export interface EventRow {
  home_id: string;
  device_id: string;
  seq: number;
  type: string;
  value: number;
  battery: number | null;
  occurred_at: Date;
}

/** An element of a PostgreSQL array literal, quoted (escaped only where it has to be). */
function element(text: string): string {
  return text.includes('"') || text.includes('\\')
    ? `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
    : `"${text}"`;
}

/**
 * Inserts a batch in one statement; returns how many were new (the rest were duplicates). Each
 * column goes as one array literal made here in a single pass: pg's own conversion of seven
 * arrays of thousands of values cost more than the rest of a reading's checks.
 */
export async function insertEvents(db: Db, rows: EventRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const n = rows.length;
  const homes = new Array<string>(n);
  const devices = new Array<string>(n);
  const seqs = new Array<string>(n);
  const types = new Array<string>(n);
  const values = new Array<string>(n);
  const batteries = new Array<string>(n);
  const times = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    homes[i] = element(r.home_id);
    devices[i] = element(r.device_id);
    seqs[i] = String(r.seq);
    types[i] = element(r.type);
    values[i] = String(r.value);
    batteries[i] = r.battery === null ? 'NULL' : String(r.battery);
    times[i] = r.occurred_at.toISOString();
  }
  const array = (items: string[]) => `{${items.join(',')}}`;
  const result = await sql`
    insert into wellbeing_events (home_id, device_id, seq, type, value, battery, occurred_at)
    select * from unnest(
      ${array(homes)}::uuid[], ${array(devices)}::uuid[], ${array(seqs)}::bigint[],
      ${array(types)}::text[], ${array(values)}::float8[], ${array(batteries)}::smallint[],
      ${array(times)}::timestamptz[])
    on conflict (device_id, seq) do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Moves devices' last-seen time and battery forward (never back, for late readings). */
export async function markDevicesSeen(
  db: Db,
  seen: Array<{ id: string; at: Date; battery: number | null }>,
): Promise<void> {
  if (seen.length === 0) return;
  await sql`
    update wellbeing_devices d set
      last_seen_at = greatest(coalesce(d.last_seen_at, s.at), s.at),
      battery = case when d.last_seen_at is null or s.at >= d.last_seen_at then coalesce(s.battery, d.battery) else d.battery end
    from unnest(${seen.map((s) => s.id)}::uuid[], ${seen.map((s) => s.at.toISOString())}::timestamptz[],
      ${seen.map((s) => s.battery)}::int[]) as s(id, at, battery)
    where d.id = s.id`.execute(db);
}

export async function eventsOfHome(db: Db, homeId: string, from: Date, to: Date) {
  return t(db)
    .selectFrom('wellbeing_events as e')
    .innerJoin('wellbeing_devices as d', 'd.id', 'e.device_id')
    .select(['e.type', 'e.value', 'e.battery', 'e.occurred_at', 'd.device_ref', 'd.kind', 'd.room', 'd.role'])
    .where('e.home_id', '=', homeId)
    .where('e.occurred_at', '>=', from)
    .where('e.occurred_at', '<', to)
    .orderBy('e.occurred_at')
    .execute();
}

/** Whether a home has any reading in [from, to). */
export async function hasEventsBetween(db: Db, homeId: string, from: Date, to: Date): Promise<boolean> {
  const row = await t(db)
    .selectFrom('wellbeing_events')
    .select('id')
    .where('home_id', '=', homeId)
    .where('occurred_at', '>=', from)
    .where('occurred_at', '<', to)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function countEvents(db: Db, homeId?: string): Promise<number> {
  let q = t(db)
    .selectFrom('wellbeing_events')
    .select((eb) => eb.fn.countAll<string>().as('n'));
  if (homeId) q = q.where('home_id', '=', homeId);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function lastReadingBefore(db: Db, homeId: string, before: Date) {
  return t(db)
    .selectFrom('wellbeing_events as e')
    .innerJoin('wellbeing_devices as d', 'd.id', 'e.device_id')
    .select(['d.device_ref', (eb) => eb.fn.max('e.occurred_at').as('at')])
    .where('e.home_id', '=', homeId)
    .where('e.occurred_at', '<', before)
    .where('e.occurred_at', '>=', new Date(before.getTime() - 3 * 86_400_000))
    .groupBy('d.device_ref')
    .execute();
}

export async function lastBedStateBefore(db: Db, homeId: string, before: Date): Promise<boolean | undefined> {
  const row = await t(db)
    .selectFrom('wellbeing_events')
    .select('value')
    .where('home_id', '=', homeId)
    .where('type', '=', 'bed')
    .where('occurred_at', '<', before)
    .where('occurred_at', '>=', new Date(before.getTime() - 2 * 86_400_000))
    .orderBy('occurred_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? row.value === 1 : undefined;
}

// Learnt days and routines

export async function upsertDay(db: Db, homeId: string, day: string, features: DayFeatures) {
  await t(db)
    .insertInto('wellbeing_days')
    .values({ home_id: homeId, day, features: JSON.stringify(features) } as never)
    .onConflict((oc) =>
      oc
        .columns(['home_id', 'day'])
        .doUpdateSet({ features: JSON.stringify(features), computed_at: new Date() } as never),
    )
    .execute();
}

export async function daysOfHome(db: Db, homeId: string, from: string, to: string) {
  const rows = await t(db)
    .selectFrom('wellbeing_days')
    .select(['day', 'features'])
    .where('home_id', '=', homeId)
    .where(sql<boolean>`day >= ${from}::date and day < ${to}::date`)
    .orderBy('day')
    .execute();
  return rows.map((r) => ({ day: dayString(r.day), features: r.features }));
}

/** A date column as YYYY-MM-DD, whichever driver read it. */
export function dayString(value: unknown): string {
  if (value instanceof Date)
    return `${value.getFullYear()}-${String(value.getMonth() + 1).padStart(2, '0')}-${String(value.getDate()).padStart(2, '0')}`;
  return String(value).slice(0, 10);
}

export async function saveRoutine(db: Db, homeId: string, model: RoutineModel) {
  await t(db)
    .insertInto('wellbeing_routines')
    .values({ home_id: homeId, model: JSON.stringify(model) } as never)
    .onConflict((oc) =>
      oc.column('home_id').doUpdateSet({ model: JSON.stringify(model), learnt_at: new Date() } as never),
    )
    .execute();
}

export async function routineOf(db: Db, homeId: string) {
  return t(db).selectFrom('wellbeing_routines').selectAll().where('home_id', '=', homeId).executeTakeFirst();
}

// Alerts

export async function insertAlert(
  db: Db,
  row: Pick<
    AlertRow,
    | 'reference'
    | 'home_id'
    | 'resident_id'
    | 'type'
    | 'severity'
    | 'sensor_ref'
    | 'day'
    | 'explanation'
    | 'raised_at'
  > & { evidence: unknown },
): Promise<AlertRow> {
  return t(db)
    .insertInto('wellbeing_alerts')
    .values({ ...row, evidence: JSON.stringify(row.evidence) } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The latest alert of a type (and sensor) for a home, to keep one change to one alert. */
export async function latestAlert(db: Db, homeId: string, type: AlertType, sensorRef: string | null) {
  let q = t(db)
    .selectFrom('wellbeing_alerts')
    .selectAll()
    .where('home_id', '=', homeId)
    .where('type', '=', type);
  q = sensorRef === null ? q.where('sensor_ref', 'is', null) : q.where('sensor_ref', '=', sensorRef);
  return q.orderBy('raised_at', 'desc').limit(1).executeTakeFirst();
}

export async function listAlerts(db: Db, statuses: AlertStatus[], homeId?: string, limit = 200) {
  let q = t(db)
    .selectFrom('wellbeing_alerts as a')
    .innerJoin('wellbeing_homes as h', 'h.id', 'a.home_id')
    .innerJoin('residents as r', 'r.id', 'a.resident_id')
    .selectAll('a')
    .select(['h.reference as home_ref', 'r.name as resident_name'])
    .where('a.status', 'in', statuses);
  if (homeId) q = q.where('a.home_id', '=', homeId);
  return q
    .orderBy(sql`case a.severity when 'high' then 0 when 'medium' then 1 when 'low' then 2 else 3 end`)
    .orderBy('a.raised_at', 'desc')
    .limit(limit)
    .execute();
}

export async function alertsOfHomeSince(db: Db, homeId: string, since: Date) {
  return t(db)
    .selectFrom('wellbeing_alerts')
    .selectAll()
    .where('home_id', '=', homeId)
    .where('raised_at', '>=', since)
    .orderBy('raised_at', 'desc')
    .execute();
}

export async function alertsOfResident(db: Db, residentId: string) {
  return t(db)
    .selectFrom('wellbeing_alerts')
    .selectAll()
    .where('resident_id', '=', residentId)
    .orderBy('raised_at', 'desc')
    .execute();
}

export async function alertByReference(db: Db, reference: string, forUpdate = false) {
  let q = t(db)
    .selectFrom('wellbeing_alerts as a')
    .innerJoin('wellbeing_homes as h', 'h.id', 'a.home_id')
    .innerJoin('residents as r', 'r.id', 'a.resident_id')
    .selectAll('a')
    .select(['h.reference as home_ref', 'h.address', 'r.name as resident_name', 'r.phone as resident_phone']);
  q = q.where('a.reference', '=', reference);
  if (forUpdate) q = q.forUpdate('a');
  return q.executeTakeFirst();
}

export async function updateAlert(db: Db, id: string, values: Partial<AlertRow>) {
  await t(db)
    .updateTable('wellbeing_alerts')
    .set(values as never)
    .where('id', '=', id)
    .execute();
}

export async function insertAction(
  db: Db,
  row: Pick<ActionRow, 'alert_id' | 'action' | 'note' | 'staff_id'>,
) {
  await t(db)
    .insertInto('wellbeing_alert_actions')
    .values(row as never)
    .execute();
}

export async function actionsOf(db: Db, alertId: string) {
  return t(db)
    .selectFrom('wellbeing_alert_actions as x')
    .leftJoin('staff_users as s', 's.id', 'x.staff_id')
    .selectAll('x')
    .select('s.name as staff_name')
    .where('x.alert_id', '=', alertId)
    .orderBy('x.at')
    .execute();
}

/** Open alerts not acknowledged within their home's escalation time and not yet escalated. */
export async function alertsToEscalate(db: Db, now: Date) {
  return t(db)
    .selectFrom('wellbeing_alerts as a')
    .innerJoin('wellbeing_homes as h', 'h.id', 'a.home_id')
    .selectAll('a')
    .select(['h.reference as home_ref'])
    .where('a.status', '=', 'open')
    .where('a.escalated_at', 'is', null)
    .where('a.severity', 'in', ['high', 'medium'])
    .where(
      sql<boolean>`a.raised_at + make_interval(mins => h.escalation_minutes) <= ${now.toISOString()}::timestamptz`,
    )
    .execute();
}

/** False alarms by type for a home, which loosen that home's thresholds. */
export async function falseAlarmCounts(db: Db, homeId: string) {
  return t(db)
    .selectFrom('wellbeing_alerts')
    .select(['type', (eb) => eb.fn.countAll<string>().as('n')])
    .where('home_id', '=', homeId)
    .where('false_alarm', '=', true)
    .groupBy('type')
    .execute();
}

export async function staffEmailsOfTeams(db: Db, roles: string[], teams: string[]) {
  return tables<{ staff_users: { email: string; role: string; team_code: string | null; active: boolean } }>(
    db,
  )
    .selectFrom('staff_users')
    .select('email')
    .where('active', '=', true)
    .where('role', 'in', roles)
    .where('team_code', 'in', teams)
    .execute();
}

// Family

export async function insertFamily(
  db: Db,
  row: Pick<FamilyRow, 'home_id' | 'name' | 'relationship' | 'email' | 'token_hash' | 'consent_recorded_at'>,
) {
  return t(db)
    .insertInto('wellbeing_family')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function familyOfHome(db: Db, homeId: string) {
  return t(db)
    .selectFrom('wellbeing_family')
    .selectAll()
    .where('home_id', '=', homeId)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function familyByToken(db: Db, tokenHash: string) {
  return t(db)
    .selectFrom('wellbeing_family')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

// Reminders and prompts

export async function insertReminder(
  db: Db,
  row: Pick<ReminderRow, 'home_id' | 'kind' | 'label' | 'time_of_day' | 'channel' | 'phone'>,
) {
  return t(db)
    .insertInto('wellbeing_reminders')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function remindersOfHome(db: Db, homeId: string) {
  return t(db)
    .selectFrom('wellbeing_reminders')
    .selectAll()
    .where('home_id', '=', homeId)
    .where('active', '=', true)
    .orderBy('time_of_day')
    .execute();
}

export async function activeReminders(db: Db) {
  return t(db)
    .selectFrom('wellbeing_reminders as m')
    .innerJoin('wellbeing_homes as h', 'h.id', 'm.home_id')
    .selectAll('m')
    .where('m.active', '=', true)
    .where('h.status', '=', 'active')
    .execute();
}

/** Records a prompt unless one exists for that reminder and time; returns it only when new. */
export async function insertPrompt(
  db: Db,
  row: Pick<PromptRow, 'reminder_id' | 'home_id' | 'due_at' | 'token_hash'>,
) {
  return t(db)
    .insertInto('wellbeing_prompts')
    .values(row as never)
    .onConflict((oc) => oc.columns(['reminder_id', 'due_at']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function promptByToken(db: Db, tokenHash: string) {
  return t(db)
    .selectFrom('wellbeing_prompts as p')
    .innerJoin('wellbeing_reminders as m', 'm.id', 'p.reminder_id')
    .selectAll('p')
    .select(['m.label', 'm.kind'])
    .where('p.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export async function setPrompt(db: Db, id: string, values: Partial<PromptRow>) {
  await t(db)
    .updateTable('wellbeing_prompts')
    .set(values as never)
    .where('id', '=', id)
    .execute();
}

/** Prompts still unanswered once their answer window has passed: they become missed. */
export async function markMissedPrompts(db: Db, before: Date) {
  return t(db)
    .updateTable('wellbeing_prompts')
    .set({ status: 'missed' } as never)
    .where('status', '=', 'sent')
    .where('due_at', '<', before)
    .returning(['id', 'home_id'])
    .execute();
}

export async function promptsOfHomeSince(db: Db, homeId: string, since: Date) {
  return t(db)
    .selectFrom('wellbeing_prompts as p')
    .innerJoin('wellbeing_reminders as m', 'm.id', 'p.reminder_id')
    .selectAll('p')
    .select(['m.label', 'm.kind'])
    .where('p.home_id', '=', homeId)
    .where('p.due_at', '>=', since)
    .orderBy('p.due_at', 'desc')
    .execute();
}

export async function residentByReference(db: Db, reference: string) {
  return t(db)
    .selectFrom('residents')
    .selectAll()
    .where('reference', '=', reference.trim().toUpperCase())
    .executeTakeFirst();
}

export async function residentById(db: Db, id: string) {
  return t(db).selectFrom('residents').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Removes a resident's monitoring data (UK GDPR erasure): readings, routines, alerts, contacts. */
export async function eraseResident(db: Db, residentId: string) {
  const homes = await homesForResident(db, residentId);
  for (const home of homes) {
    const alertIds = (
      await t(db).selectFrom('wellbeing_alerts').select('id').where('home_id', '=', home.id).execute()
    ).map((a) => a.id);
    if (alertIds.length)
      await t(db).deleteFrom('wellbeing_alert_actions').where('alert_id', 'in', alertIds).execute();
    await t(db).deleteFrom('wellbeing_alerts').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_prompts').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_reminders').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_family').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_events').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_days').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_routines').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_devices').where('home_id', '=', home.id).execute();
    await t(db).deleteFrom('wellbeing_homes').where('id', '=', home.id).execute();
  }
}
