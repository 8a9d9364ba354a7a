// Plan benchmark: the public register's search with 100,000 planning applications on a real
// PostgreSQL server (a scratch database, dropped afterwards). Measures, query by query as the
// register page and the API run them (store.searchRegister, first page of 20):
//   1. an address prefix: the start of an address ("12 saggar"), of a street ("glaze r") or a postcode;
//   2. a ward with a date range (a month, a quarter, a year);
//   3. the same searches through HTTP: GET /api/v1/planning/applications on a running Kiln.
// Goal: p99 < 50 ms for 1 and 2. Settings: BENCH_POSTGRES_URL, BENCH_APPLICATIONS (default
// 100000), BENCH_QUERIES (default 2000 of each kind), BENCH_HTTP_QUERIES (default 500 of each kind).
// Run alone: `node --import tsx bench/planning.ts`, or `BENCH_ONLY=planning npm run bench`.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { modules } from '../src/app.ts';
import { migrate, openDatabase } from '../src/platform/db/index.ts';
import { platformMigrations } from '../src/platform/db/platform-schema.ts';
import { searchRegister } from '../src/modules/planning/store.ts';
import { startKiln } from './support/kiln.ts';
import { round } from './support/load.ts';
import { describeMachine, postgresVersion } from './support/machine.ts';
import { percentile } from './support/open-loop.ts';
import { createScratchDatabase } from './support/postgres.ts';
import { streets as gazetteerStreets } from '../src/modules/requests/geography.ts';

const env = process.env;
const serverUrl = env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const total = Number(env.BENCH_APPLICATIONS ?? 100_000);
const queries = Number(env.BENCH_QUERIES ?? 2000);
const httpQueries = Number(env.BENCH_HTTP_QUERIES ?? 500);

// The gazetteer's streets (name, locality, postcode), as Report it and the catalogue have them.
const streets: Array<[string, string, string]> = gazetteerStreets.map((x) => [
  x.name,
  x.locality,
  x.postcode,
]);
const wards = ['E05099001', 'E05099002', 'E05099003'];
const types = ['pp.full.householder', 'pp.full.minor', 'ldc.proposed', 'pa.part1.classA', 'wtt.consent'];

export interface PlanningFigures {
  applications: number;
  seedSeconds: number;
  loadAverage: number[];
  addressPrefix: Timing;
  wardDateRange: Timing;
  httpAddressPrefix: Timing;
  httpWardDateRange: Timing;
}

interface Timing {
  queries: number;
  p50Ms: number;
  p99Ms: number;
  meanRows: number;
}

// Ten years of applications, 400 houses a street, spread across the wards; most decided.
async function seed(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const values = (list: string[]) => `array[${list.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]`;
  try {
    const batch = 50_000;
    for (let from = 1; from <= total; from += batch) {
      const to = Math.min(total, from + batch - 1);
      await client.query(`
        insert into planning_applications (reference, application_type, status, user_role, uprn, usrn, address_text, postcode,
          address_key, street_key, ward_code, lat, lng, description, received_at, submitted_at, decided_at, decision, fee_pence)
        select 'KF-' || lpad((g % 100)::text, 2, '0') || '-' || lpad(g::text, 7, '0'),
               (${values(types)})[1 + g % ${types.length}],
               case when g % 10 = 0 then 'valid' else 'decided' end,
               'applicant',
               (100090000000 + s * 1000 + h)::text, (41000001 + s)::text,
               h || ' ' || (${values(streets.map((x) => x[0]))})[1 + s] || ', ' || (${values(streets.map((x) => x[1]))})[1 + s] || ', ' || (${values(streets.map((x) => x[2]))})[1 + s],
               (${values(streets.map((x) => x[2]))})[1 + s],
               lower(h || ' ' || (${values(streets.map((x) => x[0]))})[1 + s] || ', ' || (${values(streets.map((x) => x[1]))})[1 + s] || ', ' || (${values(streets.map((x) => x[2]))})[1 + s]),
               lower((${values(streets.map((x) => x[0]))})[1 + s]),
               (${values(wards)})[1 + (s / 7)::int % 3],
               52.942 + (g % 997) * 0.000016, -2.17 + (g % 991) * 0.00004,
               'Seeded application ' || g,
               received, received, case when g % 10 = 0 then null else received + interval '50 days' end,
               case when g % 10 = 0 then null when g % 7 = 0 then 'refused' else 'granted' end,
               52800
        from (
          select g, g % ${streets.length} as s, 1 + (g / ${streets.length}) % 400 as h,
                 now() - make_interval(secs => (g * 3153.6)::int % (3650 * 86400)) as received
          from generate_series(${from}, ${to}) g
        ) x`);
    }
    await client.query('analyze planning_applications');
  } finally {
    await client.end();
  }
}

const prefixes = () => {
  const s = streets[Math.floor(Math.random() * streets.length)]!;
  const kind = Math.random();
  if (kind < 0.4)
    return `${1 + Math.floor(Math.random() * 400)} ${s[0].slice(0, 3 + Math.floor(Math.random() * 5))}`;
  if (kind < 0.8) return s[0].slice(0, 4 + Math.floor(Math.random() * 6));
  return s[2];
};
const windows = () => {
  const days = [30, 91, 365][Math.floor(Math.random() * 3)]!;
  const end = new Date(Date.now() - Math.random() * 3000 * 86_400_000);
  return { from: new Date(end.getTime() - days * 86_400_000), to: end };
};
const summarise = (timings: number[], rows: number[]): Timing => {
  timings.sort((a, b) => a - b);
  return {
    queries: timings.length,
    p50Ms: round(percentile(timings, 50), 2),
    p99Ms: round(percentile(timings, 99), 2),
    meanRows: round(rows.reduce((a, b) => a + b, 0) / Math.max(1, rows.length), 1),
  };
};

async function queryTimings(url: string) {
  const database = await openDatabase({ url, poolSize: 2 });
  try {
    const time = async (filter: Parameters<typeof searchRegister>[1]) => {
      const started = performance.now();
      const rows = await searchRegister(database.db, filter);
      return { ms: performance.now() - started, rows: rows.length };
    };
    // Warm the connection and the plan cache the way a running service is.
    for (let i = 0; i < 50; i++) await time({ query: prefixes(), limit: 21, offset: 0 });
    const address = { t: [] as number[], r: [] as number[] };
    const ward = { t: [] as number[], r: [] as number[] };
    for (let i = 0; i < queries; i++) {
      const a = await time({ query: prefixes(), limit: 21, offset: 0 });
      address.t.push(a.ms);
      address.r.push(a.rows);
      const w = await time({ ward: wards[i % 3], ...windows(), limit: 21, offset: 0 });
      ward.t.push(w.ms);
      ward.r.push(w.rows);
    }
    return { addressPrefix: summarise(address.t, address.r), wardDateRange: summarise(ward.t, ward.r) };
  } finally {
    await database.close();
  }
}

async function httpTimings(url: string) {
  const kiln = await startKiln({ databaseUrl: url, env: { RATE_LIMIT_API_PER_MINUTE: '10000000' } });
  try {
    const get = async (params: Record<string, string>) => {
      const started = performance.now();
      const response = await fetch(`${kiln.url}/api/v1/planning/applications?${new URLSearchParams(params)}`);
      const body = (await response.json()) as { entities?: unknown[] };
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return { ms: performance.now() - started, rows: body.entities?.length ?? 0 };
    };
    for (let i = 0; i < 20; i++) await get({ q: prefixes() });
    const address = { t: [] as number[], r: [] as number[] };
    const ward = { t: [] as number[], r: [] as number[] };
    for (let i = 0; i < httpQueries; i++) {
      const a = await get({ q: prefixes() });
      address.t.push(a.ms);
      address.r.push(a.rows);
      const { from, to } = windows();
      const w = await get({
        ward: wards[i % 3]!,
        from: from.toISOString().slice(0, 10),
        to: to.toISOString().slice(0, 10),
      });
      ward.t.push(w.ms);
      ward.r.push(w.rows);
    }
    return {
      httpAddressPrefix: summarise(address.t, address.r),
      httpWardDateRange: summarise(ward.t, ward.r),
    };
  } finally {
    await kiln.stop();
  }
}

export async function run(): Promise<PlanningFigures> {
  const scratch = await createScratchDatabase(serverUrl);
  try {
    const database = await openDatabase({ url: scratch.url, poolSize: 2 });
    await migrate(database.db, Object.assign({}, platformMigrations, ...modules.map((m) => m.migrations)));
    await database.close();
    const seedStart = performance.now();
    await seed(scratch.url);
    const seedSeconds = round((performance.now() - seedStart) / 1000);
    const direct = await queryTimings(scratch.url);
    const http = await httpTimings(scratch.url);
    return {
      applications: total,
      seedSeconds,
      loadAverage: loadavg().map((l) => round(l, 2)),
      ...direct,
      ...http,
    };
  } finally {
    await scratch.drop();
  }
}

function print(f: PlanningFigures, version: string) {
  const line = (name: string, t: Timing) =>
    `  ${name}: p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms over ${t.queries} searches (${t.meanRows} rows a page on average)`;
  const goal = (t: Timing) =>
    t.p99Ms < 50 ? 'meets the goal of p99 < 50 ms' : 'MISSES the goal of p99 < 50 ms';
  console.log(
    `\nPlanning register on ${version} with ${f.applications.toLocaleString('en-GB')} applications (seeded in ${f.seedSeconds} s)`,
  );
  console.log('The query, as the register page and the API run it:');
  console.log(`${line('Address prefix', f.addressPrefix)}: ${goal(f.addressPrefix)}`);
  console.log(`${line('Ward and date range', f.wardDateRange)}: ${goal(f.wardDateRange)}`);
  console.log('Through HTTP, GET /api/v1/planning/applications, one request at a time:');
  console.log(line('Address prefix', f.httpAddressPrefix));
  console.log(line('Ward and date range', f.httpWardDateRange));
  const m = describeMachine();
  console.log(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, ${m.os}; load average ${f.loadAverage.join(' / ')}`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await run();
  print(figures, await postgresVersion(serverUrl));
}
