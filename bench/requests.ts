// Report it benchmark, against a real PostgreSQL server (a scratch database, dropped afterwards),
// with 1,000,000 street reports seeded:
//   1. GET /open311/v2/requests.json with a date window and status filter (goal >= 3,000 req/s),
//      beside bare Fastify's hello-world at the same load;
//   2. POST /open311/v2/requests.json at a fixed rate (goal >= 500/s), then every acknowledged
//      request looked up in the database;
//   3. the "open reports of this category within 50 m" query (goal p99 < 20 ms).
// Run alone: `node --import tsx bench/requests.ts`. Settings: BENCH_POSTGRES_URL, BENCH_REPORTS
// (default 1000000), BENCH_DURATION, BENCH_CONNECTIONS, BENCH_RATE, BENCH_RATE_SECONDS.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createApiKey } from '../src/platform/auth/api-keys.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { nearbyOpen } from '../src/modules/requests/store.ts';
import { startBaseline, startKiln } from './support/kiln.ts';
import {
  idleCpuMsPerSecond,
  measureThroughput,
  round,
  type LoadSettings,
  type Measurement,
} from './support/load.ts';
import { percentile, runOpenLoop } from './support/open-loop.ts';
import { createScratchDatabase } from './support/postgres.ts';

export interface RequestsFigures {
  reports: number;
  seedSeconds: number;
  /** The same window again and again, as a polling client asks: answers kept for 5 s serve most. */
  openRequestsGet: Measurement & { rowsPerAnswer: number };
  /** A different hour's window on every request: every answer is a database query. */
  openRequestsGetUncached: Measurement;
  baseline: Measurement;
  posts: {
    planned: number;
    acknowledged: number;
    stored: number;
    duplicates: number;
    missing: number;
    achievedPerSecond: number;
    p50Ms: number;
    p99Ms: number;
  };
  nearby: { queries: number; p50Ms: number; p99Ms: number };
}

const env = process.env;
const serverUrl = env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const total = Number(env.BENCH_REPORTS ?? 1_000_000);
const load: LoadSettings = {
  connections: Number(env.BENCH_CONNECTIONS ?? 10),
  durationSeconds: Number(env.BENCH_DURATION ?? 10),
  warmupSeconds: Number(env.BENCH_WARMUP ?? 3),
  runs: Number(env.BENCH_RUNS ?? 3),
};
const rate = Number(env.BENCH_RATE ?? 500);
const rateSeconds = Number(env.BENCH_RATE_SECONDS ?? 20);
const categories = [
  'pothole',
  'graffiti',
  'fly-tipping',
  'street-light',
  'dog-fouling',
  'abandoned-vehicle',
  'blocked-drain',
  'missed-bin',
];
const DAY_SECONDS = 86_400;

// A year of reports spread over the town: one statement per 100,000, cases and reports together.
export async function seed(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const batch = 100_000;
    for (let from = 1; from <= total; from += batch) {
      const to = Math.min(total, from + batch - 1);
      await client.query(`
        with made as (
          insert into cases (reference, service_slug, service_title, service_version, team_code, channel, status, answers, summary, created_at, updated_at)
          select 'KLB-' || g, 'report-' || (array[${categories.map((c) => `'${c}'`).join(',')}])[1 + g % 8], 'Report a problem', 1,
                 'streets', 'web', case when g % 4 = 0 then 'resolved' else 'received' end, '{}', 'Seeded report',
                 now() - make_interval(secs => (g * 31.536)::int % (365 * ${DAY_SECONDS})), now()
          from generate_series(${from}, ${to}) g
          returning id, reference, status, service_slug, created_at
        )
        insert into street_reports (case_id, reference, category, answers, lat, lng, usrn, street_name, ward_code, status, case_status, channel, service_notice, requested_at, updated_at)
        select id, reference, substr(service_slug, 8), '{}', 52.937 + random() * 0.024, -2.176 + random() * 0.052,
               '41000001', 'Bottle Kiln Lane', 'E05099002', case when status = 'resolved' then 'closed' else 'open' end,
               status, 'web', 'Seeded', created_at, created_at
        from made`);
    }
    await client.query('analyze cases');
    await client.query('analyze street_reports');
  } finally {
    await client.end();
  }
}

async function nearbyTimings(url: string) {
  const database = await openDatabase({ url, poolSize: 2 });
  try {
    const timings: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const lat = 52.94 + Math.random() * 0.02;
      const lng = -2.17 + Math.random() * 0.04;
      const started = performance.now();
      await nearbyOpen(database.db, { category: categories[i % 8]!, lat, lng, metres: 50 });
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    return {
      queries: timings.length,
      p50Ms: round(percentile(timings, 50), 2),
      p99Ms: round(percentile(timings, 99), 2),
    };
  } finally {
    await database.close();
  }
}

export async function run(): Promise<RequestsFigures> {
  const scratch = await createScratchDatabase(serverUrl);
  const kiln = await startKiln({ databaseUrl: scratch.url, env: { RATE_LIMIT_API_PER_MINUTE: '10000000' } });
  try {
    console.log(`Seeding ${total.toLocaleString('en-GB')} street reports…`);
    const seedStart = performance.now();
    await seed(scratch.url);
    const seedSeconds = round((performance.now() - seedStart) / 1000);

    // An hour's window of open reports a month ago: about 85 of the million match.
    const end = new Date(Date.now() - 30 * DAY_SECONDS * 1000);
    const start = new Date(end.getTime() - 3_600_000);
    const getUrl = `${kiln.url}/open311/v2/requests.json?start_date=${start.toISOString()}&end_date=${end.toISOString()}&status=open`;
    const sample = (await (await fetch(getUrl)).json()) as unknown[];
    console.log(`GET requests.json (${sample.length} requests per answer)…`);
    const openRequestsGet = {
      ...(await measureThroughput(getUrl, load, kiln.pid, await idleCpuMsPerSecond(kiln.pid, 2000))),
      rowsPerAnswer: sample.length,
    };
    console.log('GET requests.json with a different window on every request…');
    const windowPath = () => {
      const to = new Date(end.getTime() - Math.floor(Math.random() * 200 * 24) * 3_600_000);
      const from = new Date(to.getTime() - 3_600_000);
      return `/open311/v2/requests.json?start_date=${from.toISOString()}&end_date=${to.toISOString()}&status=open`;
    };
    const openRequestsGetUncached = await measureThroughput(
      getUrl,
      load,
      kiln.pid,
      await idleCpuMsPerSecond(kiln.pid, 2000),
      windowPath,
    );

    const database = await openDatabase({ url: scratch.url, poolSize: 1 });
    const { key } = await createApiKey(database.db, { name: 'Bench', scopes: ['open311'], createdBy: null });
    await database.close();
    console.log(`POST requests.json at ${rate}/s for ${rateSeconds} s…`);
    const posted = await runOpenLoop({
      url: kiln.url,
      rate,
      durationSeconds: rateSeconds,
      request: (i) => ({
        method: 'POST',
        path: '/open311/v2/requests.json',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          api_key: key,
          service_code: 'pothole',
          lat: String(52.94 + (i % 100) * 0.0002),
          long: String(-2.17 + (i % 97) * 0.0004),
          'attribute[size]': 'medium',
          'attribute[depth]': 'deep',
          'attribute[surface]': 'road',
          description: `Bench report ${i}`,
        }).toString(),
      }),
    });
    const acknowledged = Object.entries(posted.statusCounts)
      .filter(([code]) => code.startsWith('2'))
      .reduce((sum, [, n]) => sum + n, 0);
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    // Each body is unique, so every acknowledged request must be there exactly once.
    const found = await client.query<{ n: number; distinct: number }>(
      "select count(*)::int as n, count(distinct description)::int as distinct from street_reports where description like 'Bench report %'",
    );
    await client.end();

    console.log('Open reports within 50 m…');
    const nearby = await nearbyTimings(scratch.url);
    await kiln.stop();

    console.log('Bare Fastify hello-world…');
    const baselineServer = await startBaseline();
    const baseline = await measureThroughput(baselineServer.url, load, baselineServer.pid);
    await baselineServer.stop();

    return {
      reports: total,
      seedSeconds,
      openRequestsGet,
      openRequestsGetUncached,
      baseline,
      posts: {
        planned: posted.planned,
        acknowledged,
        stored: found.rows[0]!.n,
        duplicates: found.rows[0]!.n - found.rows[0]!.distinct,
        missing: Math.max(0, acknowledged - found.rows[0]!.n),
        achievedPerSecond: posted.achievedPerSecond,
        p50Ms: posted.p50Ms,
        p99Ms: posted.p99Ms,
      },
      nearby,
    };
  } finally {
    await kiln.stop().catch(() => {});
    await new Promise((r) => setTimeout(r, 1000));
    await scratch.drop().catch((e) => console.error('could not drop the scratch database', e));
  }
}

export function print(f: RequestsFigures) {
  console.log(
    `\nReport it on PostgreSQL with ${f.reports.toLocaleString('en-GB')} reports (seeded in ${f.seedSeconds} s)`,
  );
  console.log(
    `  GET /open311/v2/requests.json (date + status, ${f.openRequestsGet.rowsPerAnswer} per answer), the same window polled: ${f.openRequestsGet.requestsPerSecond} req/s, p99 ${f.openRequestsGet.p99Ms} ms, ${f.openRequestsGet.cpuMicrosecondsPerRequest} µs CPU/req (goal >= 3,000) | bare Fastify ${f.baseline.requestsPerSecond} req/s, p99 ${f.baseline.p99Ms} ms, ${f.baseline.cpuMicrosecondsPerRequest} µs CPU/req (Kiln at ${round((100 * f.openRequestsGet.requestsPerSecond) / f.baseline.requestsPerSecond)}%)`,
  );
  console.log(
    `  GET /open311/v2/requests.json, a different window on every request (each a query): ${f.openRequestsGetUncached.requestsPerSecond} req/s, p99 ${f.openRequestsGetUncached.p99Ms} ms, ${f.openRequestsGetUncached.cpuMicrosecondsPerRequest} µs CPU/req`,
  );
  console.log(
    `  POST /open311/v2/requests.json: ${f.posts.achievedPerSecond}/s of ${rate}/s planned, p50 ${f.posts.p50Ms} ms, p99 ${f.posts.p99Ms} ms (goal >= 500/s); ${f.posts.acknowledged} acknowledged, ${f.posts.stored} stored, ${f.posts.missing} missing, ${f.posts.duplicates} duplicated`,
  );
  console.log(
    `  Open reports within 50 m: p50 ${f.nearby.p50Ms} ms, p99 ${f.nearby.p99Ms} ms over ${f.nearby.queries} queries (goal p99 < 20 ms)`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) print(await run());
