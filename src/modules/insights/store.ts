import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { tables, type Db } from '../../platform/db/index.ts';
import { READER_ROLE, type InsightsTables } from './schema.ts';

const t = (db: Db) => tables<InsightsTables>(db);
const LOAD_LOCK = 1_100_001;

// A code from a payload (service slug, channel, ward, method, team, status): 1 to 64 of these
// characters; anything else, such as free text a module might put in its payload, is left out of
// the warehouse. The length is checked apart: PostgreSQL's regex engine runs `{1,64}` several times
// slower than `+`, and this check runs seven times for every event loaded.
const CODE = '^[A-Za-z0-9_.:-]+$';
const code = (expr: RawBuilder<unknown>) =>
  sql`case when (${expr}) ~ ${sql.lit(CODE)} and length(${expr}) <= 64 then (${expr}) end`;
const TIMESTAMP = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?$';
const field = (name: string) => sql`(e.payload->>${sql.lit(name)})`;
const bool = (name: string) =>
  sql`case when jsonb_typeof(e.payload->${sql.lit(name)}) = 'boolean' then (e.payload->>${sql.lit(name)})::boolean end`;

export type Source = 'events' | 'audit';

export interface LoadResult {
  loaded: number;
  scanned: number;
  gaps: number;
  more: boolean;
}

/** Fresh planner statistics for the fact table the loader looks up by subject. */
export async function analyseFacts(db: Db): Promise<void> {
  await sql`analyze analytics.fact_event`.execute(db);
}

/**
 * One batch of the incremental load, in one transaction under an advisory lock: rows above the
 * watermark, plus rows whose ids were missing last time (a transaction that took its id early but
 * committed late). Missing ids are remembered for `gapSeconds`, then given up (a rolled-back
 * transaction never fills its id). Inserting by event id makes every step idempotent.
 */
export async function loadBatch(
  db: Db,
  options: { batch: number; gapSeconds: number },
  enrich: (
    tx: Db,
    created: Array<{ caseId: string; reference: string | null; eventId: number }>,
  ) => Promise<void>,
): Promise<{ events: LoadResult; audit: LoadResult }> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${LOAD_LOCK})`.execute(tx);
    const events = await loadSource(tx, 'events', options);
    if (events.created.length > 0) await enrich(tx, events.created);
    if (events.cases.length > 0) {
      await caseContribution(tx, events.cases, -1);
      await recomputeCases(tx, events.cases);
      await caseContribution(tx, events.cases, 1);
    }
    if (events.payments.length > 0) {
      await paymentContribution(tx, events.payments, -1);
      await recomputePayments(tx, events.payments);
      await paymentContribution(tx, events.payments, 1);
    }
    await addEvents(tx, events.eventIds);
    // Booking and paperless rollups: the touched subjects' contribution before this batch (their
    // events without the batch's) is taken away and their contribution now added, so a batch costs
    // what it touches, not what its days already hold.
    if (events.bookings.length > 0) {
      await bookingContribution(tx, events.bookings, -1, events.inBatch);
      await bookingContribution(tx, events.bookings, 1, null);
    }
    if (events.paperless.length > 0) {
      await paperlessContribution(tx, events.paperless, -1, events.inBatch);
      await paperlessContribution(tx, events.paperless, 1, null);
    }
    const audit = await loadSource(tx, 'audit', options);
    const now = new Date();
    await t(tx)
      .updateTable('insights_load_state')
      .set({ loaded_at: now })
      .where('source', 'in', ['events', 'audit'])
      .execute();
    return { events: events.result, audit: audit.result };
  });
}

async function loadSource(tx: Db, source: Source, options: { batch: number; gapSeconds: number }) {
  await sql`insert into insights_load_state (source) values (${source}) on conflict do nothing`.execute(tx);
  const state = await t(tx)
    .selectFrom('insights_load_state')
    .select('high_id')
    .where('source', '=', source)
    .executeTakeFirstOrThrow();
  const high = Number(state.high_id);
  await sql`delete from insights_load_gaps where source = ${source}
             and seen_at < now() - make_interval(secs => ${options.gapSeconds})`.execute(tx);
  const gapRows = await t(tx)
    .selectFrom('insights_load_gaps')
    .select('id')
    .where('source', '=', source)
    .execute();
  const gaps = gapRows.map((g) => Number(g.id));
  const table = source === 'events' ? sql`domain_events` : sql`audit_log`;
  const { rows: top } = await sql<{ upto: number | null; n: number }>`
    select max(id) as upto, count(*)::int as n
      from (select id from ${table} where id > ${high} order by id limit ${options.batch}) s`.execute(tx);
  const upto = top[0]?.upto == null ? high : Number(top[0].upto);
  const scanned = Number(top[0]?.n ?? 0);
  const ids = sql`((x.id > ${high} and x.id <= ${upto}) or x.id = any(${sql.val(gaps)}::bigint[]))`;

  let loaded = 0;
  let created: Array<{ caseId: string; reference: string | null; eventId: number }> = [];
  const cases = new Set<string>();
  const payments = new Set<string>();
  const bookings = new Set<string>();
  const paperless = new Set<string>();
  const eventIds: number[] = [];
  if (source === 'events') {
    const { rows } = await sql<{
      event_id: number;
      type: string;
      subject_type: string;
      subject_id: string;
      reference: string | null;
    }>`
      insert into analytics.fact_event (event_id, type, module, subject_type, subject_id, actor_type,
        actor_id, occurred_at, day, service, channel, ward, method, team, amount, detail, within_time, reference)
      select e.id, e.type, split_part(e.type, '.', 1), e.subject_type, e.subject_id, e.actor_type,
             case when e.actor_type = 'staff' then e.actor_id end,
             e.occurred_at, (e.occurred_at at time zone 'Europe/London')::date,
             ${code(sql`v.service`)}, ${code(sql`v.channel`)}, ${code(sql`v.ward`)},
             ${code(sql`v.method`)}, ${code(sql`v.team`)},
             case when jsonb_typeof(e.payload->'amount') = 'number' then (e.payload->>'amount')::numeric::bigint end,
             ${code(sql`v.detail`)},
             coalesce(${bool('withinTime')}, ${bool('inTime')}, ${bool('determinedInTime')}, ${bool('withinTarget')}),
             ${code(sql`v.reference`)}
        from domain_events e
        -- Each field is read from the payload once, then checked to be a code. "offset 0" keeps
        -- the planner from inlining the subquery, which would read each field again for every
        -- place the check uses it.
        cross join lateral (
          select coalesce(${field('service')},
                   case when e.type = 'street_report.created' then 'report-' || ${field('category')} end,
                   case when e.type like 'service.%' then ${field('slug')} end,
                   ${field('bookable')}, ${field('category')}) as service,
                 ${field('channel')} as channel, coalesce(${field('ward')}, ${field('wardCode')}) as ward,
                 ${field('method')} as method, ${field('team')} as team,
                 case when e.type in ('case.status_changed', 'case.assigned') then ${field('to')}
                      when e.type = 'signing.paperless_changed' then ${field('paperless')}
                      else coalesce(${field('status')}, ${field('outcome')}, ${field('decision')}, ${field('to')}) end as detail,
                 ${field('reference')} as reference offset 0) v
       where ${idsFor(sql`e.id`, high, upto, gaps)}
      on conflict (event_id) do nothing
      returning event_id, type, subject_type, subject_id, reference`.execute(tx);
    loaded = rows.length;
    for (const r of rows) {
      eventIds.push(Number(r.event_id));
      if (r.subject_type === 'case') cases.add(r.subject_id);
      if (r.subject_type === 'payment') payments.add(r.subject_id);
      if (r.type === 'booking.held' || r.type === 'booking.confirmed') bookings.add(r.subject_id);
      if (r.type === 'signing.paperless_changed') paperless.add(r.subject_id);
      if (r.type === 'case.created')
        created.push({ caseId: r.subject_id, reference: r.reference, eventId: Number(r.event_id) });
    }
    if (created.length > 0) {
      // case.created carries the case's SLA due date (null when its service has none). Older events
      // without it are left to `enrich`, which asks the cases module.
      // A case's due date comes from its latest case.created (by id), whatever order they load in.
      const { rows: carried } = await sql<{ id: number }>`
        with carried as (
          select e.id, e.subject_id,
                 case when ${field('slaDueAt')} ~ ${sql.lit(TIMESTAMP)} then ${field('slaDueAt')}::timestamptz end as due_at
            from domain_events e
           where ${idsFor(sql`e.id`, high, upto, gaps)}
             and e.type = 'case.created' and (e.payload -> 'slaDueAt') is not null),
        saved as (
          insert into analytics.case_sla as s (case_id, due_at, event_id)
          select distinct on (subject_id) subject_id, due_at, id from carried order by subject_id, id desc
          on conflict (case_id) do update set due_at = excluded.due_at, event_id = excluded.event_id
           where s.event_id < excluded.event_id
          returning 1)
        select id from carried`.execute(tx);
      const done = new Set(carried.map((r) => Number(r.id)));
      created = created.filter((c) => !done.has(c.eventId));
    }
    // Dimensions are idempotent: every fact in this batch's ids adds its codes.
    if (rows.length > 0) await addDimensions(tx, idsFor(sql`f.event_id`, high, upto, gaps));
  } else {
    const { rows } = await sql<{ audit_id: number }>`
      insert into analytics.fact_sign_in (audit_id, at, day, who, method)
      select x.id, x.at, (x.at at time zone 'Europe/London')::date, x.actor_type,
             ${code(sql`x.detail->>'method'`)}
        from audit_log x
       where x.action in ('resident.signed_in', 'staff.signed_in') and ${ids}
      on conflict (audit_id) do nothing
      returning audit_id`.execute(tx);
    loaded = rows.length;
  }

  // Ids in the range that are not there yet: remember them, and forget the ones now filled.
  let newGaps = 0;
  // Every id in the range present (the usual case): nothing to look for.
  if (upto > high && scanned < upto - high) {
    const { rows } = await sql<{ n: number }>`
      with missing as (
        insert into insights_load_gaps (source, id)
        select ${source}, g from generate_series(${high + 1}::bigint, ${upto}::bigint) g
         where not exists (select 1 from ${table} x where x.id = g)
        on conflict do nothing
        returning 1)
      select count(*)::int as n from missing`.execute(tx);
    newGaps = Number(rows[0]?.n ?? 0);
  }
  if (gaps.length > 0)
    await sql`delete from insights_load_gaps g where g.source = ${source} and g.id = any(${sql.val(gaps)}::bigint[])
               and exists (select 1 from ${table} x where x.id = g.id)`.execute(tx);
  await t(tx)
    .updateTable('insights_load_state')
    .set({ high_id: upto })
    .where('source', '=', source)
    .execute();
  return {
    result: { loaded, scanned, gaps: newGaps, more: scanned >= options.batch },
    created,
    cases: [...cases],
    payments: [...payments],
    bookings: [...bookings],
    paperless: [...paperless],
    eventIds,
    inBatch: (id: RawBuilder<unknown>) => idsFor(id, high, upto, gaps),
  };
}

function idsFor(id: RawBuilder<unknown>, high: number, upto: number, gaps: number[]) {
  return sql`((${id} > ${high} and ${id} <= ${upto}) or ${id} = any(${sql.val(gaps)}::bigint[]))`;
}

async function addDimensions(tx: Db, ids: RawBuilder<unknown>) {
  // One read of the batch's facts feeds every dimension.
  await sql`
    with these as materialized (
      select day, service, channel, ward, method, team from analytics.fact_event f where ${ids}),
    dates as (
      insert into analytics.dim_date (day, week_start, iso_year, iso_week, month, weekday)
      select distinct day, date_trunc('week', day)::date, extract(isoyear from day)::int,
             extract(week from day)::int, to_char(day, 'YYYY-MM'), extract(isodow from day)::int
        from these on conflict do nothing),
    services as (
      insert into analytics.dim_service (code, first_seen)
      select service, min(day) from these where service is not null group by service
      on conflict (code) do update set first_seen = least(analytics.dim_service.first_seen, excluded.first_seen)),
    channels as (
      insert into analytics.dim_channel (code, digital)
      select distinct channel, channel in ('web', 'app', 'chatbot', 'api', 'video', 'online')
        from these where channel is not null on conflict do nothing),
    wards as (
      insert into analytics.dim_ward (code) select distinct ward from these where ward is not null
      on conflict do nothing),
    methods as (
      insert into analytics.dim_method (code) select distinct method from these where method is not null
      on conflict do nothing)
    insert into analytics.dim_team (code) select distinct team from these where team is not null
    on conflict do nothing`.execute(tx);
}

/** SLA due dates of newly loaded cases, from the case (events from before slaDueAt was published). */
export async function saveCaseSla(
  tx: Db,
  rows: Array<{ caseId: string; dueAt: Date | null; eventId: number }>,
) {
  if (rows.length === 0) return;
  await sql`insert into analytics.case_sla as s (case_id, due_at, event_id)
            select * from unnest(${sql.val(rows.map((r) => r.caseId))}::text[],
                                 ${sql.val(rows.map((r) => r.dueAt))}::timestamptz[],
                                 ${sql.val(rows.map((r) => r.eventId))}::bigint[])
            on conflict (case_id) do update set due_at = excluded.due_at, event_id = excluded.event_id
             where s.event_id < excluded.event_id`.execute(tx);
}

const last = (expr: string, filter: string) =>
  sql.raw(`(array_agg(${expr} order by event_id desc) filter (where ${filter}))[1]`);

// A case's fact is computed from all its events, whatever order they arrived in: so a late event
// gives the same row as a from-scratch rebuild.
async function recomputeCases(tx: Db, ids: string[]) {
  await sql`
    insert into analytics.fact_case as f (case_id, reference, service, channel, ward, team, created_at, day,
      sla_due_at, status, assigned_to, resolved_at, closed_at)
    select e.subject_id,
           ${last('reference', "type = 'case.created'")},
           ${last('service', "type in ('case.created', 'street_report.created')")},
           ${last('channel', "type = 'case.created'")},
           ${last('ward', 'ward is not null')},
           ${last('team', "type in ('case.created', 'street_report.created') and team is not null")},
           min(occurred_at) filter (where type = 'case.created'),
           min(day) filter (where type = 'case.created'),
           (select due_at from analytics.case_sla s where s.case_id = e.subject_id),
           coalesce(${last('detail', "type = 'case.status_changed'")}, 'received'),
           ${last('detail', "type = 'case.assigned'")},
           case when ${last('detail', "type = 'case.status_changed'")} in ('resolved', 'closed')
                then max(occurred_at) filter (where type = 'case.status_changed' and detail = 'resolved') end,
           case when ${last('detail', "type = 'case.status_changed'")} = 'closed'
                then max(occurred_at) filter (where type = 'case.status_changed' and detail = 'closed') end
      from analytics.fact_event e
     where e.subject_type = 'case' and e.subject_id = any(${sql.val(ids)}::text[])
     group by e.subject_id
    having count(*) filter (where type = 'case.created') > 0
    on conflict (case_id) do update set reference = excluded.reference, service = excluded.service,
      channel = excluded.channel, ward = excluded.ward, team = excluded.team, created_at = excluded.created_at,
      day = excluded.day, sla_due_at = excluded.sla_due_at, status = excluded.status,
      assigned_to = excluded.assigned_to, resolved_at = excluded.resolved_at, closed_at = excluded.closed_at`.execute(
    tx,
  );
}

async function recomputePayments(tx: Db, ids: string[]) {
  // Card payments end as payment.success / failed / cancelled / error (the provider's words);
  // payments settled in the ledger (cash, Direct Debit) as payment.succeeded.
  const finals =
    "'payment.succeeded', 'payment.success', 'payment.failed', 'payment.cancelled', 'payment.error'";
  await sql`
    insert into analytics.fact_payment as f (payment_id, reference, amount, method, pays_for, taken_by,
      created_at, day, status, settled_at, refunded, returned)
    select e.subject_id,
           ${last('reference', "type = 'payment.created'")},
           coalesce(${last('amount', "type = 'payment.created'")}, 0),
           ${last('method', "type in ('payment.created', 'payment.succeeded')")},
           ${last('service', "type = 'payment.created'")},
           coalesce(${last('actor_type', "type = 'payment.created'")}, 'system'),
           min(occurred_at) filter (where type = 'payment.created'),
           min(day) filter (where type = 'payment.created'),
           coalesce(${last(`case when type = 'payment.success' then 'succeeded' else split_part(type, '.', 2) end`, `type in (${finals})`)}, 'created'),
           max(occurred_at) filter (where type in ('payment.succeeded', 'payment.success')),
           coalesce(sum(amount) filter (where type = 'payment.refunded'), 0),
           coalesce(sum(amount) filter (where type = 'payment.returned'), 0)
      from analytics.fact_event e
     where e.subject_type = 'payment' and e.subject_id = any(${sql.val(ids)}::text[])
     group by e.subject_id
    having count(*) filter (where type = 'payment.created') > 0
    on conflict (payment_id) do update set reference = excluded.reference, amount = excluded.amount,
      method = excluded.method, pays_for = excluded.pays_for, taken_by = excluded.taken_by,
      created_at = excluded.created_at, day = excluded.day, status = excluded.status,
      settled_at = excluded.settled_at, refunded = excluded.refunded, returned = excluded.returned`.execute(
    tx,
  );
}

/** Empties the warehouse and its watermarks, so the next loads rebuild it from the events. */
export async function resetWarehouse(db: Db) {
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${LOAD_LOCK})`.execute(tx);
    await sql`truncate analytics.fact_event, analytics.fact_case, analytics.fact_payment, analytics.fact_sign_in,
              analytics.case_sla, analytics.dim_date, analytics.dim_service, analytics.dim_channel,
              analytics.dim_ward, analytics.dim_method, analytics.dim_team`.execute(tx);
    await truncateRollups(tx);
    await sql`delete from insights_load_gaps`.execute(tx);
    await sql`insert into insights_load_state (source, high_id, rebuilt_at) values ('events', 0, now()), ('audit', 0, now())
              on conflict (source) do update set high_id = 0, rebuilt_at = now()`.execute(tx);
  });
}

/** Recomputes the daily rollups from the facts, under the load lock. */
export async function rebuildRollups(db: Db) {
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${LOAD_LOCK})`.execute(tx);
    await recomputeRollups(tx);
  });
}

export async function loadState(db: Db) {
  return t(db).selectFrom('insights_load_state').selectAll().orderBy('source').execute();
}

export async function pendingGaps(db: Db) {
  const row = await t(db)
    .selectFrom('insights_load_gaps')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The whole of one analytics table in a stable order: for rebuild checks and exports. */
export async function tableRows(db: Db, table: FactTable, options: { limit?: number; offset?: number } = {}) {
  const key: readonly string[] = factKeys[table];
  const { rows } = await sql<Record<string, unknown>>`
    select * from ${sql.table(`analytics.${table}`)}
     order by ${sql.join(key.map((k) => sql`${sql.ref(k)} nulls first`))}
    ${options.limit ? sql`limit ${options.limit} offset ${options.offset ?? 0}` : sql``}`.execute(db);
  return rows;
}

export const factKeys = {
  fact_event: ['event_id'],
  fact_case: ['case_id'],
  fact_payment: ['payment_id'],
  fact_sign_in: ['audit_id'],
  dim_date: ['day'],
  dim_service: ['code'],
  dim_channel: ['code'],
  dim_ward: ['code'],
  dim_method: ['code'],
  dim_team: ['code'],
  rollup_case_day: ['day', 'service', 'channel', 'ward', 'team'],
  rollup_resolved_day: ['day', 'service', 'ward', 'team'],
  rollup_payment_day: ['day', 'pays_for', 'method', 'taken_by'],
  rollup_event_day: ['day', 'type', 'service', 'ward', 'team'],
  rollup_booking_day: ['day', 'bookable', 'service', 'ward', 'team'],
  rollup_paperless_day: ['day'],
  rollup_sensor_home: ['subject_id'],
} as const satisfies Record<string, readonly string[]>;
export type FactTable = keyof typeof factKeys;

export async function tableColumns(db: Db, table: FactTable) {
  const { rows } = await sql<{ column_name: string; data_type: string }>`
    select column_name, data_type from information_schema.columns
     where table_schema = 'analytics' and table_name = ${table} order by ordinal_position`.execute(db);
  return rows;
}

// ---------- Measures ----------

export interface Filters {
  from: string;
  to: string;
  ward: string | null;
  service: string | null;
  team: string | null;
}

function filters(
  f: Filters,
  alias: string,
  codes: { ward?: boolean; service?: string; team?: boolean } = {},
) {
  const col = (c: string) => sql.ref(`${alias}.${c}`);
  return sql`${col('day')} between ${f.from}::date and ${f.to}::date
    ${f.ward && codes.ward !== false ? sql`and ${col('ward')} = ${f.ward}` : sql``}
    ${f.service ? sql`and ${col(codes.service ?? 'service')} = ${f.service}` : sql``}
    ${f.team && codes.team !== false ? sql`and ${col('team')} = ${f.team}` : sql``}`;
}

const week = (col: RawBuilder<unknown>) => sql`to_char(date_trunc('week', ${col})::date, 'YYYY-MM-DD')`;

// The measures below read the daily rollups (below), never the facts: the page costs the
// same however many events the warehouse holds.

/** Cases received per week by digital and assisted channels, and by service. */
export async function channelShift(db: Db, f: Filters) {
  const weekly = await sql<{ week: string; digital: number; total: number }>`
    select ${week(sql`r.day`)} as week,
           coalesce(sum(r.received) filter (where d.digital), 0)::int as digital, sum(r.received)::int as total
      from analytics.rollup_case_day r left join analytics.dim_channel d on d.code = r.channel
     where ${filters(f, 'r')} group by 1 order by 1`.execute(db);
  const byService = await sql<{ service: string; digital: number; total: number }>`
    select coalesce(r.service, 'unknown') as service,
           coalesce(sum(r.received) filter (where d.digital), 0)::int as digital, sum(r.received)::int as total
      from analytics.rollup_case_day r left join analytics.dim_channel d on d.code = r.channel
     where ${filters(f, 'r')} group by 1 order by 3 desc, 1`.execute(db);
  return { weekly: weekly.rows, byService: byService.rows };
}

/** Settled payments per week: how many and how much, by cash and by residents online. */
export async function payments(db: Db, f: Filters) {
  const { rows } = await sql<{
    week: string;
    count: number;
    cash: number;
    total_pence: number;
    online_pence: number;
  }>`
    select ${week(sql`r.day`)} as week,
           sum(r.payments)::int as count,
           coalesce(sum(r.payments) filter (where r.method in ('paypoint_cash', 'cash_desk', 'cash')), 0)::int as cash,
           coalesce(sum(r.amount), 0)::bigint as total_pence,
           coalesce(sum(r.amount) filter (where r.taken_by in ('resident', 'api')
                                         and r.method in ('card', 'direct_debit')), 0)::bigint as online_pence
      from analytics.rollup_payment_day r
     where ${filters(f, 'r', { ward: false, team: false, service: 'pays_for' })}
     group by 1 order by 1`.execute(db);
  return rows.map((r) => ({
    ...r,
    total_pence: Number(r.total_pence),
    online_pence: Number(r.online_pence),
  }));
}

/**
 * Residents who chose paperless, as of the end of each week: each resident's latest choice (by
 * when it was made) on or before that day counts.
 */
export async function paperless(db: Db, f: Filters) {
  const { rows } = await sql<{ week: string; paperless: number }>`
    with weeks as (
      select generate_series(date_trunc('week', ${f.from}::date), ${f.to}::date, interval '7 days')::date as week),
    changes as (
      select w.week, coalesce(sum(r.change) filter (where r.day >= w.week and r.day < w.week + 7), 0) as change
        from weeks w left join analytics.rollup_paperless_day r on r.day < w.week + 7 and r.day >= w.week
       group by w.week)
    select to_char(c.week, 'YYYY-MM-DD') as week,
           ((select coalesce(sum(change), 0) from analytics.rollup_paperless_day where day < (select min(week) from weeks))
             + sum(c.change) over (order by c.week))::int as paperless
      from changes c order by 1`.execute(db);
  return rows;
}

/**
 * Events per week of the types matching a pattern: counted, and those that went well (a type
 * matching `goodTypes`, or an event marked within time).
 */
export async function eventsPerWeek(
  db: Db,
  f: Filters,
  match: { types: string; goodTypes?: string; goodWithinTime?: boolean },
) {
  const good = match.goodTypes
    ? sql`coalesce(sum(r.events) filter (where r.type ~ ${match.goodTypes}), 0)`
    : match.goodWithinTime
      ? sql`sum(r.within_time)`
      : sql`0`;
  const { rows } = await sql<{ week: string; count: number; good: number }>`
    select ${week(sql`r.day`)} as week, sum(r.events)::int as count, (${good})::int as good
      from analytics.rollup_event_day r
     where r.type ~ ${match.types} and ${filters(f, 'r')}
     group by 1 order by 1`.execute(db);
  return rows;
}

/** Booking confirmations per week of what their hold booked (a bookable matching a pattern). */
export async function bookingsPerWeek(db: Db, f: Filters, bookable: string) {
  const { rows } = await sql<{ week: string; count: number }>`
    select ${week(sql`r.day`)} as week, sum(r.confirmed)::int as count
      from analytics.rollup_booking_day r
     where r.bookable ~* ${bookable} and ${filters(f, 'r')}
     group by 1 order by 1`.execute(db);
  return rows;
}

/** Homes with sensors installed on or before a day. */
export async function sensorHomes(db: Db, until: string) {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from analytics.rollup_sensor_home where first_day <= ${until}::date`.execute(
    db,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Cases resolved per week, and how many of those within their SLA. */
export async function resolvedWithinSla(db: Db, f: Filters) {
  const { rows } = await sql<{ week: string; resolved: number; within: number; with_sla: number }>`
    select ${week(sql`r.day`)} as week, sum(r.resolved)::int as resolved,
           sum(r.within_sla)::int as within, sum(r.with_sla)::int as with_sla
      from analytics.rollup_resolved_day r
     where ${filters(f, 'r')} group by 1 order by 1`.execute(db);
  return rows;
}

/** Weekly counts of new cases per service, over the whole history: the input of the forecasts. */
export async function weeklyDemand(db: Db, f: Pick<Filters, 'ward' | 'team'>) {
  const { rows } = await sql<{ service: string; week: string; n: number }>`
    select coalesce(r.service, 'unknown') as service, ${week(sql`r.day`)} as week, sum(r.received)::int as n
      from analytics.rollup_case_day r
     where true ${f.ward ? sql`and r.ward = ${f.ward}` : sql``} ${f.team ? sql`and r.team = ${f.team}` : sql``}
     group by 1, 2 order by 1, 2`.execute(db);
  return rows;
}

/** Choices for the filters: codes seen in the warehouse. */
export async function filterChoices(db: Db) {
  const [services, wards, teams] = await Promise.all([
    sql<{ code: string }>`select code from analytics.dim_service order by code`.execute(db),
    sql<{ code: string }>`select code from analytics.dim_ward order by code`.execute(db),
    sql<{ code: string }>`select code from analytics.dim_team order by code`.execute(db),
  ]);
  return {
    services: services.rows.map((r) => r.code),
    wards: wards.rows.map((r) => r.code),
    teams: teams.rows.map((r) => r.code),
  };
}

/** Event types in the warehouse with their counts: every module's events, known or not. */
export async function eventTypes(db: Db, f: Filters) {
  const { rows } = await sql<{ module: string; type: string; n: number; last_day: string }>`
    select split_part(r.type, '.', 1) as module, r.type, sum(r.events)::int as n,
           to_char(max(r.day), 'YYYY-MM-DD') as last_day
      from analytics.rollup_event_day r where ${filters(f, 'r')} group by 1, 2 order by 1, 2`.execute(db);
  return rows;
}

/** Sign-ins per week, by residents and staff and by the way they proved who they are. */
export async function signIns(db: Db, f: Filters) {
  const { rows } = await sql<{ week: string; who: string; method: string; n: number }>`
    select ${week(sql`day`)} as week, who, coalesce(method, 'password') as method,
           count(*)::int as n
      from analytics.fact_sign_in where day between ${f.from}::date and ${f.to}::date
     group by 1, 2, 3 order by 1, 2, 3`.execute(db);
  return rows;
}

// ---------- Team dashboards ----------

/** Open cases of a team (or every team) from the warehouse: age, SLA state and assignee. */
export async function openCases(db: Db, team: string | null) {
  const { rows } = await sql<{
    case_id: string;
    reference: string | null;
    service: string | null;
    team: string | null;
    status: string;
    assigned_to: string | null;
    created_at: Date;
    sla_due_at: Date | null;
  }>`
    select case_id, reference, service, team, status, assigned_to, created_at, sla_due_at
      from analytics.fact_case
     where status not in ('resolved', 'closed') ${team ? sql`and team = ${team}` : sql``}
     order by created_at`.execute(db);
  return rows;
}

// ---------- Explorer ----------

/** Names of relations outside the analytics schema and of schemas: a query naming one is refused. */
export async function foreignNames(db: Db) {
  const { rows } = await sql<{ name: string }>`
    select nspname as name from pg_namespace where nspname <> 'analytics'
    union select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname <> 'analytics'
       and not exists (select 1 from pg_class a join pg_namespace an on an.oid = a.relnamespace
                        where an.nspname = 'analytics' and a.relname = c.relname)`.execute(db);
  return new Set(rows.map((r) => r.name.toLowerCase()));
}

export async function readerRoleExists(db: Db) {
  const { rows } = await sql<{ ok: boolean }>`
    select exists (select 1 from pg_roles where rolname = ${READER_ROLE}) as ok`.execute(db);
  return Boolean(rows[0]?.ok);
}

export interface ReaderConnection {
  db: Db;
  close(): Promise<void>;
}

/**
 * On a PostgreSQL server: a small pool of its own that logs in as the reader role, so the session
 * user of every explorer query is that role and nothing the query does (`set_config('role', …)`,
 * `reset role`) can reach another. The role is made a login role with this password, which needs
 * CREATEROLE; where the database user lacks it, or the server will not let the role in, null.
 */
export async function openReaderConnection(
  db: Db,
  url: string,
  password: string,
): Promise<ReaderConnection | null> {
  if (!/^[0-9a-f]{32,128}$/.test(password)) throw new Error('reader password must be hex');
  try {
    await sql.raw(`alter role ${READER_ROLE} with login password '${password}'`).execute(db);
  } catch {
    return null;
  }
  const address = new URL(url);
  address.username = READER_ROLE;
  address.password = password;
  const pool = new pg.Pool({ connectionString: address.toString(), max: 2, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => {});
  const reader = new Kysely<never>({ dialect: new PostgresDialect({ pool }) }) as unknown as Db;
  try {
    const { rows } = await sql<{ who: string }>`select session_user as who`.execute(reader);
    if (rows[0]?.who !== READER_ROLE) throw new Error('not the reader');
  } catch {
    await reader.destroy();
    return null;
  }
  return { db: reader, close: () => reader.destroy() };
}

/** The planner's cost estimate of a query, refused before it runs when too high. */
export async function estimatedCost(tx: Db, query: string): Promise<number> {
  const { rows } = await sql<{ 'QUERY PLAN': unknown }>`explain (format json) ${sql.raw(query)}`.execute(tx);
  const plan = rows[0]?.['QUERY PLAN'];
  const parsed = (typeof plan === 'string' ? JSON.parse(plan) : plan) as Array<{
    Plan: { 'Total Cost': number };
  }>;
  return parsed[0]?.Plan['Total Cost'] ?? 0;
}

/**
 * Runs a checked query in a READ ONLY transaction, as the reader role when it exists, with only
 * the analytics schema on the search path and a statement timeout. A parameter is passed so the
 * driver uses the extended protocol, which takes exactly one statement.
 */
export async function runReadOnly(
  db: Db,
  query: string,
  options: { rowLimit: number; timeoutMs: number; maxCost: number; useRole: boolean },
): Promise<{ columns: string[]; rows: Array<Record<string, unknown>>; truncated: boolean; cost: number }> {
  return db
    .transaction()
    .setAccessMode('read only')
    .execute(async (tx) => {
      if (options.useRole) await sql.raw(`set local role ${READER_ROLE}`).execute(tx);
      await sql.raw(`set local search_path = analytics`).execute(tx);
      await sql.raw(`set local statement_timeout = ${Math.floor(options.timeoutMs)}`).execute(tx);
      const cost = await estimatedCost(tx, query);
      if (cost > options.maxCost) throw new QueryTooCostly(cost);
      const result = await sql<Record<string, unknown>>`
        select * from (${sql.raw(query)}) as explorer_result limit ${options.rowLimit + 1}`.execute(tx);
      const rows = result.rows.slice(0, options.rowLimit);
      const columns = rows[0] ? Object.keys(rows[0]) : [];
      return { columns, rows, truncated: result.rows.length > options.rowLimit, cost };
    });
}

export class QueryTooCostly extends Error {
  constructor(readonly cost: number) {
    super('too costly');
  }
}

export async function saveQuery(
  db: Db,
  row: { title: string; query: string; chart: string | null; createdBy: string },
) {
  return t(db)
    .insertInto('insights_saved_queries')
    .values({ title: row.title, query: row.query, chart: row.chart, created_by: row.createdBy } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function savedQueries(db: Db) {
  return t(db)
    .selectFrom('insights_saved_queries')
    .selectAll()
    .orderBy('created_at', 'desc')
    .limit(100)
    .execute();
}

export async function findSavedQuery(db: Db, id: string) {
  if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
  return t(db).selectFrom('insights_saved_queries').selectAll().where('id', '=', id).executeTakeFirst();
}

// ---------- Open data ----------

/** Service requests for publication: no names, contacts, free text or exact times. */
export async function openServiceRequests(db: Db) {
  const { rows } = await sql<Record<string, unknown>>`
    select c.reference, c.service, c.channel, c.ward, c.team, to_char(c.day, 'YYYY-MM-DD') as received_on,
           c.status, to_char((c.resolved_at at time zone 'Europe/London')::date, 'YYYY-MM-DD') as resolved_on,
           case when c.sla_due_at is null then null
                when c.resolved_at is not null then c.resolved_at <= c.sla_due_at end as resolved_within_target
      from analytics.fact_case c order by c.day, c.reference`.execute(db);
  return rows;
}

/** Planning applications as their events describe them, when the planning module publishes any. */
export async function openPlanningApplications(db: Db) {
  const { rows } = await sql<Record<string, unknown>>`
    select reference, ward, to_char(min(day), 'YYYY-MM-DD') as first_event_on,
           (array_agg(detail order by event_id desc) filter (where detail is not null))[1] as latest_status,
           bool_or(within_time) as determined_within_time
      from analytics.fact_event
     where module = 'planning' and reference is not null
     group by reference, ward order by reference`.execute(db);
  return rows;
}

export async function saveOpenData(db: Db, slug: string, rows: unknown[]) {
  await sql`insert into insights_open_data (slug, refreshed_at, rows) values (${slug}, now(), ${JSON.stringify(rows)}::jsonb)
            on conflict (slug) do update set refreshed_at = excluded.refreshed_at, rows = excluded.rows`.execute(
    db,
  );
}

export async function findOpenData(db: Db, slug: string) {
  return t(db).selectFrom('insights_open_data').selectAll().where('slug', '=', slug).executeTakeFirst();
}

export async function listOpenData(db: Db) {
  return t(db).selectFrom('insights_open_data').select(['slug', 'refreshed_at']).execute();
}

// ---------- Rollups ----------

/**
 * Daily rollups: what the success-measures page reads. Each is a pure function of the facts, kept
 * in step by the loader in the same transaction as the facts it summarises:
 *  - events (rollup_event_day, rollup_sensor_home): facts that are only ever inserted, so new rows
 *    are added to their day;
 *  - cases and payments (rollup_case_day, rollup_resolved_day, rollup_payment_day): facts that are
 *    recomputed when a late event arrives, so a recomputed fact's old contribution is taken away
 *    before and its new one added after; rows that fall to zero are removed;
 *  - bookings by what was booked, and paperless residents (rollup_booking_day,
 *    rollup_paperless_day): a day depends on other events of the same subject, so the touched
 *    subjects' contribution before the batch is taken away and their contribution now added
 *    (refreshBookings and refreshPaperless recompute whole days, for a rebuild).
 * recomputeRollups() recomputes them all from the facts; the property test checks both ways agree.
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
      set events = r.events + excluded.events, within_time = r.within_time + excluded.within_time`.execute(
    tx,
  );
  await sql`
    insert into analytics.rollup_sensor_home as r (subject_id, first_day)
    select subject_id, min(day) from analytics.fact_event
     where type = ${HOME_INSTALLED} and ${where} group by subject_id
    on conflict (subject_id) do update set first_day = least(r.first_day, excluded.first_day)`.execute(tx);
}

/**
 * The rows of a fact table with these keys (all rows when `null`), read one key at a time through
 * the primary key: a plain `key = any(ids)` lets the planner pick a scan of the whole table (or of
 * every resolved case), which grows with the warehouse.
 */
function factsFor(
  table: 'fact_case' | 'fact_payment',
  key: 'case_id' | 'payment_id',
  ids: readonly string[] | null,
) {
  const all = sql`${sql.table(`analytics.${table}`)} ${sql.raw(table)}`;
  if (ids === null) return all;
  return sql`unnest(${sql.val(ids)}::text[]) as touched(id)
    cross join lateral (select * from ${sql.table(`analytics.${table}`)} x
                         where x.${sql.ref(key)} = touched.id limit 1) ${sql.raw(table)}`;
}

/** Adds (sign 1) or takes away (sign -1) the cases' contribution to the case rollups. */
export async function caseContribution(tx: Db, ids: readonly string[] | null, sign: 1 | -1) {
  if (ids !== null && ids.length === 0) return;
  const cases = factsFor('fact_case', 'case_id', ids);
  await sql`
    insert into analytics.rollup_case_day as r (day, service, channel, ward, team, received)
    select day, service, channel, ward, team, ${sign}::int * count(*)
      from ${cases} group by 1, 2, 3, 4, 5
    on conflict on constraint rollup_case_day_key do update set received = r.received + excluded.received`.execute(
    tx,
  );
  await sql`
    insert into analytics.rollup_resolved_day as r (day, service, ward, team, resolved, with_sla, within_sla)
    select ${london('resolved_at')}, service, ward, team, ${sign}::int * count(*),
           ${sign}::int * count(*) filter (where sla_due_at is not null),
           ${sign}::int * count(*) filter (where sla_due_at is not null and resolved_at <= sla_due_at)
      from ${cases} where resolved_at is not null group by 1, 2, 3, 4
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
      from ${factsFor('fact_payment', 'payment_id', ids)}
     where status = 'succeeded' and settled_at is not null
     group by 1, 2, 3, 4
    on conflict on constraint rollup_payment_day_key do update
      set payments = r.payments + excluded.payments, amount = r.amount + excluded.amount`.execute(tx);
  if (sign < 0)
    await sql`delete from analytics.rollup_payment_day where payments = 0 and amount = 0`.execute(tx);
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

type InBatch = (id: RawBuilder<unknown>) => RawBuilder<unknown>;

/**
 * Adds (sign 1) or takes away (-1) the booking rollup's counts of these subjects' confirmations,
 * each under what its latest hold booked. With `leaveOut`, events it matches (a batch's) are left
 * out: the contribution as it was before the batch.
 */
async function bookingContribution(
  tx: Db,
  subjects: readonly string[],
  sign: 1 | -1,
  leaveOut: InBatch | null,
) {
  const kept = (id: string) => (leaveOut ? sql`and not ${leaveOut(sql.ref(id))}` : sql``);
  await sql`
    insert into analytics.rollup_booking_day as r (day, bookable, service, ward, team, confirmed)
    select e.day, h.service, e.service, e.ward, e.team, ${sign}::int * count(*)
      from analytics.fact_event e
      left join lateral (
        select h.service from analytics.fact_event h
         where h.subject_type = 'booking' and h.subject_id = e.subject_id and h.type = 'booking.held'
           ${kept('h.event_id')}
         order by h.event_id desc limit 1) h on true
     where e.type = 'booking.confirmed' and e.subject_id = any(${sql.val(subjects)}::text[]) ${kept('e.event_id')}
     group by 1, 2, 3, 4, 5
    on conflict on constraint rollup_booking_day_key do update set confirmed = r.confirmed + excluded.confirmed`.execute(
    tx,
  );
  if (sign < 0) return;
  await sql`delete from analytics.rollup_booking_day where confirmed = 0`.execute(tx);
}

/**
 * Adds or takes away these residents' part of the change in paperless residents, on each day they
 * chose; with `leaveOut`, as it was before the batch. A day keeps its row while anyone chose on it
 * (events are never removed), as a recompute gives.
 */
async function paperlessContribution(
  tx: Db,
  subjects: readonly string[],
  sign: 1 | -1,
  leaveOut: InBatch | null,
) {
  const kept = (id: string) => (leaveOut ? sql`and not ${leaveOut(sql.ref(id))}` : sql``);
  const state = (cmp: RawBuilder<unknown>) => sql`(
    select f.detail = 'true' from analytics.fact_event f
     where f.type = ${PAPERLESS} and f.subject_id = s.subject_id and ${cmp} ${kept('f.event_id')}
     order by f.occurred_at desc, f.event_id desc limit 1)`;
  await sql`
    insert into analytics.rollup_paperless_day as r (day, change)
    select s.day, ${sign}::int * sum(coalesce(${state(sql`f.day <= s.day`)}, false)::int
                                     - coalesce(${state(sql`f.day < s.day`)}, false)::int)::int
      from (select distinct day, subject_id from analytics.fact_event e
             where type = ${PAPERLESS} and subject_id = any(${sql.val(subjects)}::text[]) ${kept('e.event_id')}) s
     group by s.day
    on conflict (day) do update set change = r.change + excluded.change`.execute(tx);
}

/** Empties the rollups (in a warehouse reset or a rollup rebuild). */
export async function truncateRollups(tx: Db) {
  await sql.raw(`truncate ${rollupTables.map((t) => `analytics.${t}`).join(', ')}`).execute(tx);
}

/** Recomputes every rollup from the facts. */
export async function recomputeRollups(tx: Db) {
  await truncateRollups(tx);
  await addEvents(tx, null);
  await caseContribution(tx, null, 1);
  await paymentContribution(tx, null, 1);
  await refreshBookings(tx, null);
  await refreshPaperless(tx, null);
}
