// Bookings benchmark, on real PostgreSQL, as the issue sets it: a month of availability across 50
// resources at 20 sites (one call, as a "find a library computer anywhere this month" page makes),
// with 1,000,000 past bookings stored; also a site's month and one resource's month; then booking
// throughput (holds that confirm) and 200 parallel attempts at one hour.
//   node --import tsx bench/bookings.ts           (or BENCH_ONLY=bookings npm run bench)
// Scale by environment: BOOKINGS_SITES (default 20), BOOKINGS_RESOURCES in all, spread over the
// sites (default 50), BOOKINGS_PAST (past bookings, default 1000000), BOOKINGS_REQUESTS per
// measurement (default 300), BOOKINGS_CONCURRENCY (default 4), BOOKINGS_BOOKINGS for the
// throughput run (default 2000), BOOKINGS_FUTURE_SHARE: the share of the month's resource-hours
// already booked by one to four people (default 0.5; a busy month, so availability reads and
// counts real slot rows, not only empty times), BOOKINGS_BACKGROUND_PER_SECOND (default 20: bookings
// made on random resources and hours of the month while the availability cache is measured).
// The availability figures are measured twice: with the cache off (the engine's and the database's
// own cost on every call), and with it on while bookings are being made. BENCH_POSTGRES_URL names the server (a scratch database is made on
// it and dropped); default postgres://postgres@127.0.0.1:5432/postgres. The service runs in this
// process, as the web process would call it, so figures are the engine's and the database's,
// without HTTP. Past data is made by generate_series in SQL, not booking by booking.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { londonDay } from '../src/platform/time.ts';
import { jsonWithField } from '../src/modules/bookings/availability.ts';
import { loadBookingsConfig } from '../src/modules/bookings/config.ts';
import { createBookingsService } from '../src/modules/bookings/service.ts';
import { availabilityStampsQuery, bookablesWithSlotsQuery } from '../src/modules/bookings/store.ts';
import { addDays, londonInstant } from '../src/modules/bookings/times.ts';
import { describeMachine, postgresVersion } from './support/machine.ts';
import { createScratchDatabase, queryOnce } from './support/postgres.ts';

const env = process.env;
const SITES = Number(env.BOOKINGS_SITES ?? 20);
const RESOURCES = Number(env.BOOKINGS_RESOURCES ?? 50);
const PAST = Number(env.BOOKINGS_PAST ?? 1_000_000);
const REQUESTS = Number(env.BOOKINGS_REQUESTS ?? 300);
const CONCURRENCY = Number(env.BOOKINGS_CONCURRENCY ?? 4);
const BOOKINGS = Number(env.BOOKINGS_BOOKINGS ?? 2000);
const FUTURE_SHARE = Number(env.BOOKINGS_FUTURE_SHARE ?? 0.5);
const BACKGROUND_PER_SECOND = Number(env.BOOKINGS_BACKGROUND_PER_SECOND ?? 20);
const SERVER = env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const round = (v: number) => Math.round(v * 10) / 10;

/**
 * Sites, resources, past bookings and the month's bookings by generate_series (what the engine
 * reads, not how it was made).
 */
async function seed(url: string, month: { from: string; days: number }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = Date.now();
  try {
    const hours = JSON.stringify(
      Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat'].map((d) => [d, [['09:00', '19:00']]])),
    );
    await client.query(
      `insert into booking_sites (slug, name, address, opening_hours)
       select 'bench-site-' || s, 'Bench site ' || s, s || ' Bench Street, Kilnford', $1::jsonb
         from generate_series(1, $2::int) s`,
      [hours, SITES],
    );
    // The resources in all, spread over the sites: resource r is at site 1 + (r - 1) % SITES.
    await client.query(
      `insert into booking_bookables (slug, kind, category, title, site_id, capacity, slot_minutes)
       select 'bench-r' || r, 'resource', 'library-pc', 'Bench resource ' || r, s.id, 4, 60
         from generate_series(1, $1::int) r
         join booking_sites s on s.slug = 'bench-site-' || (1 + (r - 1) % $2::int)`,
      [RESOURCES, SITES],
    );
    // Past bookings: one slot per resource-hour going back in time, filled with bookings.
    await client.query(`create temporary table bench_bookables as
      select row_number() over (order by id) as n, id from booking_bookables where slug like 'bench-%'`);
    const resources = RESOURCES;
    const perSlot = 2;
    const slots = Math.ceil(PAST / perSlot);
    const batch = 200_000;
    for (let from = 1; from <= slots; from += batch) {
      const to = Math.min(slots, from + batch - 1);
      await client.query(
        `insert into booking_slots (bookable_id, starts_at, ends_at, capacity, taken)
         select b.id, date_trunc('hour', now()) - ((2 + g / $3::int) || ' hours')::interval,
                date_trunc('hour', now()) - ((1 + g / $3::int) || ' hours')::interval, 4, $4::int
           from generate_series($1::int, $2::int) g join bench_bookables b on b.n = 1 + (g % $3::int)`,
        [from, to, resources, perSlot],
      );
    }
    await client.query(
      `insert into booking_bookings (reference, bookable_id, slot_id, name, status, places, confirmed_at)
       select 'BK-PAST-' || s.id || '-' || k, s.bookable_id, s.id, 'Past booker', 'checked_in', 1, s.starts_at - interval '1 day'
         from booking_slots s cross join generate_series(1, $1::int) k where s.starts_at < now()`,
      [perSlot],
    );
    const past = await client.query<{ n: string }>(`select count(*) as n from booking_bookings`);
    // The month ahead: a share of each resource's opening hours (Mon-Sat 09:00-19:00 London) already
    // has one to four of its four places booked. The first resource is left empty for the
    // contention test.
    await client.query(
      `insert into booking_slots (bookable_id, starts_at, ends_at, capacity, taken)
       select b.id, t.at, t.at + interval '1 hour', 4, 1 + floor(random() * 4)::int
         from bench_bookables b
         cross join lateral (
           select ((d::date + make_time(h, 0, 0)) at time zone 'Europe/London') as at
             from generate_series($1::date, $1::date + $2::int, interval '1 day') d,
                  generate_series(9, 18) h
            where extract(isodow from d) < 7) t
        where b.n > 1 and random() < $3::float8`,
      [month.from, month.days, FUTURE_SHARE],
    );
    await client.query(
      `insert into booking_bookings (reference, bookable_id, slot_id, name, status, places, confirmed_at)
       select 'BK-NEXT-' || s.id || '-' || k, s.bookable_id, s.id, 'Month booker', 'confirmed', 1, now()
         from booking_slots s cross join lateral generate_series(1, s.taken) k where s.starts_at > now()`,
    );
    await client.query('analyze');
    const future = await client.query<{ slots: string; bookings: string }>(
      `select count(distinct s.id) as slots, count(*) as bookings
         from booking_slots s join booking_bookings b on b.slot_id = s.id where s.starts_at > now()`,
    );
    return {
      pastBookings: Number(past.rows[0]!.n),
      futureSlots: Number(future.rows[0]!.slots),
      futureBookings: Number(future.rows[0]!.bookings),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await client.end();
  }
}

async function measure(name: string, run: (i: number) => Promise<void>, requests = REQUESTS) {
  const times: number[] = [];
  let next = 0;
  for (let i = 0; i < 10; i++) await run(i);
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (next < requests) {
      const i = next++;
      const started = performance.now();
      await run(i);
      times.push(performance.now() - started);
    }
  };
  const wall = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - wall) / 1000;
  const used = process.cpuUsage(cpu);
  times.sort((a, b) => a - b);
  return {
    name,
    requests: times.length,
    p50: round(percentile(times, 50)),
    p99: round(percentile(times, 99)),
    perSecond: round(times.length / seconds),
    /** This process's CPU (user + system) per call: the engine's work, the database's not counted. */
    cpuMs: round((used.user + used.system) / 1000 / times.length),
  };
}

async function main() {
  const machine = describeMachine();
  const scratch = await createScratchDatabase(SERVER);
  const database = await openDatabase({ url: scratch.url, poolSize: CONCURRENCY + 2 });
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    RUN_WORKERS: 'false',
    DATABASE_URL: scratch.url,
    SESSION_SECRET: randomBytes(32).toString('hex'),
  });
  const kiln = await createApp({ config, database });
  try {
    const from = addDays(londonDay(), 1);
    const to = addDays(from, 30);
    const data = await seed(scratch.url, { from, days: 30 });
    const bookings = kiln.services.bookings.service;
    const db = kiln.platform.db;
    // Two engines on the same database, as two web processes would be: one that keeps nothing,
    // and one that keeps availability while the bookables' stamps are unchanged.
    const engineWith = (entries: string) =>
      createBookingsService(
        kiln.platform,
        loadBookingsConfig({ ...process.env, BOOKINGS_AVAILABILITY_CACHE_ENTRIES: entries }),
        {},
      );
    const uncached = engineWith('0');
    const cached = engineWith(process.env.BOOKINGS_AVAILABILITY_CACHE_ENTRIES ?? '1000');
    const all = Array.from({ length: RESOURCES }, (_, r) => `bench-r${r + 1}`);
    const siteSlugs = Array.from({ length: SITES }, (_, s) => all.filter((_, r) => r % SITES === s));

    // The statement behind a month's availability (the bookables with their slots), as the engine
    // compiles it, as PostgreSQL runs it with the past stored.
    const compiled = bookablesWithSlotsQuery(
      db,
      all,
      londonInstant(from, '00:00'),
      londonInstant(addDays(to, 1), '00:00'),
    ).compile();
    const plan = await queryOnce<{ 'QUERY PLAN': string }>(
      scratch.url,
      `explain (analyze, buffers) ${compiled.sql}`,
      [...compiled.parameters],
    );
    const planLines = plan.map((r) => r['QUERY PLAN']);
    const stamps = availabilityStampsQuery(db, all).compile();
    const stampPlan = (
      await queryOnce<{ 'QUERY PLAN': string }>(scratch.url, `explain (analyze, buffers) ${stamps.sql}`, [
        ...stamps.parameters,
      ])
    ).map((r) => r['QUERY PLAN']);

    /** The four availability measurements, through one engine. */
    const availabilityFigures = async (engine: typeof uncached, label: string) => {
      const everywhere = await measure(
        `Month availability across ${RESOURCES} resources at ${SITES} sites${label}`,
        async () => {
          const result = await engine.availabilityMany(db, all, { from, to });
          if (result.size !== RESOURCES)
            throw new Error(`expected ${RESOURCES} resources, got ${result.size}`);
          if (![...result.values()].every((free) => free.count > 0))
            throw new Error('a resource has no times');
        },
      );
      // The same, with every free time written out as the API's JSON body (what a partner gets).
      const everywhereJson = await measure(
        `Month availability across ${RESOURCES} resources, as the API's JSON${label}`,
        async () => {
          const result = await engine.availabilityMany(db, all, { from, to });
          // As the API writes it: each bookable's kept JSON text joined in.
          const body = `[${[...result]
            .map(([slug, free]) => jsonWithField({ slug }, 'availability', free.toJsonText()))
            .join(',')}]`;
          if (body.length < RESOURCES * 100) throw new Error('the JSON is too short');
        },
      );
      const siteMonth = await measure(`Month availability of one site${label}`, async (i) => {
        const slugs = siteSlugs[i % SITES]!;
        const result = await engine.availabilityMany(db, slugs, { from, to });
        if (result.size !== slugs.length)
          throw new Error(`expected ${slugs.length} resources, got ${result.size}`);
      });
      const oneMonth = await measure(`Month availability of one resource${label}`, async (i) => {
        const slots = await engine.availability(db, all[(i * 7) % RESOURCES]!, { from, to });
        if (!slots.length) throw new Error('no free times');
      });
      return [everywhere, everywhereJson, siteMonth, oneMonth];
    };

    const withoutCache = await availabilityFigures(uncached, ', cache off');

    // Throughput: holds (free, so confirmed at once) on random resources and hours of the month.
    const days = Array.from({ length: 30 }, (_, d) => addDays(from, d)).filter(
      (d) => new Date(`${d}T12:00:00Z`).getUTCDay() !== 0,
    );

    // The cache, measured while bookings are made at a steady rate on random resources and hours
    // of the month (through the other engine, as another process would), so kept entries keep
    // going stale as they would in service.
    const background = { made: 0, refused: 0 };
    let stopping = false;
    const backgroundBookings = (async () => {
      const started = performance.now();
      const inFlight: Array<Promise<void>> = [];
      for (let n = 0; !stopping; n++) {
        const due = started + (n * 1000) / BACKGROUND_PER_SECOND;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const day = days[Math.floor(Math.random() * days.length)]!;
        const hour = 9 + Math.floor(Math.random() * 10);
        inFlight.push(
          bookings
            .hold({
              bookable: all[Math.floor(Math.random() * RESOURCES)]!,
              startsAt: londonInstant(day, `${String(hour).padStart(2, '0')}:00`),
              who: { name: `Background ${n}` },
              channel: 'desk',
              actor: { type: 'system', id: null },
            })
            .then(
              () => void (background.made += 1),
              () => void (background.refused += 1),
            ),
        );
      }
      await Promise.all(inFlight);
    })();
    const cacheCounts = cached.availabilityCacheCounts();
    const backgroundStarted = performance.now();
    const withCache = await availabilityFigures(
      cached,
      `, cache on, ${BACKGROUND_PER_SECOND} bookings/s meanwhile`,
    );
    stopping = true;
    await backgroundBookings;
    const backgroundSeconds = (performance.now() - backgroundStarted) / 1000;
    const afterCounts = cached.availabilityCacheCounts();
    const fromCache = afterCounts.fromCache - cacheCounts.fromCache;
    const readAgain = afterCounts.read - cacheCounts.read;

    let refused = 0;
    const throughput = await measure(
      'Book a place (hold and confirm, free)',
      async (i) => {
        const slug = all[i % RESOURCES]!;
        const day = days[i % days.length]!;
        const hour = 9 + (Math.floor(i / 7) % 10);
        try {
          await bookings.hold({
            bookable: slug,
            startsAt: londonInstant(day, `${String(hour).padStart(2, '0')}:00`),
            who: { name: `Bench ${i}` },
            channel: 'desk',
            actor: { type: 'system', id: null },
          });
        } catch {
          refused += 1;
        }
      },
      BOOKINGS,
    );

    // Contention: everyone wants the same hour; the slot's places are taken exactly once each.
    const hot = { bookable: all[0]!, startsAt: londonInstant(days[1]!, '12:00') };
    const before = (
      await bookings.availability(db, hot.bookable, { from: days[1]!, to: days[1]! }, { includeFull: true })
    ).find((s) => s.startsAt.getTime() === hot.startsAt.getTime())!.remaining;
    const attempts = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        bookings.hold({
          ...hot,
          who: { name: `Hot ${i}` },
          channel: 'desk',
          actor: { type: 'system', id: null },
        }),
      ),
    );
    const won = attempts.filter((a) => a.status === 'fulfilled').length;

    const [one, five] = loadavg();
    console.log('\nBookings benchmark (PostgreSQL)');
    console.log(
      `  machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}`,
    );
    console.log(`  database: ${await postgresVersion(scratch.url)}`);
    console.log(`  load average at the end: ${one!.toFixed(1)} (1 min), ${five!.toFixed(1)} (5 min)`);
    console.log(
      `  data: ${RESOURCES} resources at ${SITES} sites, ${data.pastBookings} past bookings, ${data.futureBookings} bookings in ${data.futureSlots} of the month's times, seeded in ${round(data.seconds)} s`,
    );
    console.log(`  ${CONCURRENCY} callers at a time`);
    console.log(
      `  the month's availability statement: ${planLines.find((l) => /Execution Time/.test(l))?.trim()}, ${planLines
        .find((l) => /Buffers/.test(l))
        ?.trim()}, ${planLines
        .filter((l) => /Scan/.test(l))
        .map((l) => l.trim().replace(/\s+\(cost.*$/, ''))
        .join('; ')}\n`,
    );
    console.log(
      `  the stamps statement (cache on, every call): ${stampPlan.find((l) => /Execution Time/.test(l))?.trim()}, ${stampPlan
        .find((l) => /Buffers/.test(l))
        ?.trim()}\n`,
    );
    for (const r of [...withoutCache, ...withCache]) {
      const verdict = r.p99 < 50 ? 'meets' : 'misses';
      console.log(
        `  ${r.name}: p50 ${r.p50} ms, p99 ${r.p99} ms over ${r.requests}, ${r.cpuMs} ms CPU per call (target p99 < 50 ms: ${verdict}, ${round(50 / r.p99)}× headroom)`,
      );
    }
    console.log(
      `  cache on: ${round((100 * fromCache) / Math.max(1, fromCache + readAgain))}% of bookables answered from the cache (${fromCache} kept, ${readAgain} read), while ${background.made + background.refused} bookings were tried in the background in ${round(backgroundSeconds)} s, ${round((background.made + background.refused) / backgroundSeconds)}/s (${background.made} made, ${background.refused} refused as full) (its CPU counted in the cached figures' CPU per call)`,
    );
    console.log(
      `  ${throughput.name}: ${throughput.perSecond} bookings/s, p50 ${throughput.p50} ms, p99 ${throughput.p99} ms (${refused} refused as full)`,
    );
    console.log(
      `  200 parallel attempts at one hour with ${before} places free: ${won} booked, ${200 - won} told it is no longer available\n`,
    );
  } finally {
    await kiln.close();
    await database.close();
    await scratch.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
