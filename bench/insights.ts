// Insights benchmark on a real PostgreSQL server, in a scratch database dropped afterwards:
//   setup: Kiln's migrations and demo data, then BENCH_INSIGHTS_EVENTS synthetic events (default
//          10,000,000, the scale) written by PostgreSQL itself with generate_series, in
//          statements of a million, then the warehouse's first load of them all. Its time is printed.
//   1. an incremental load of BENCH_INSIGHTS_NEW new events (default 100,000): goal under 10 s;
//   2. the success-measures page (GET /staff/insights, signed in as the demo analyst) over HTTP,
//      requests one after another against Kiln listening on a local port: goal p99 under 300 ms.
// Events are synthetic: a mix of case, street report, payment, paperless, booking, planning,
// wellbeing and consultation events over two years, with the payload fields the real modules
// publish (case.created carries slaDueAt). The new events are the latest, as new events are.
// Settings: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_INSIGHTS_EVENTS, BENCH_INSIGHTS_NEW, BENCH_INSIGHTS_REQUESTS (default 200).
// BENCH_INSIGHTS_KEEP=<database name> keeps the scratch database for the next run, because the
// setup at ten million events takes over an hour: a run reuses that database when its warehouse
// already holds at least BENCH_INSIGHTS_EVENTS events (else it drops it and sets it up afresh),
// migrates it, then appends its own BENCH_INSIGHTS_NEW new events and measures their incremental
// load as usual. The warehouse only grows, so every run measures at least the stated scale. Drop
// the database by hand when done (`drop database <name>`).
// A quick check that it works: BENCH_INSIGHTS_EVENTS=200000 BENCH_INSIGHTS_NEW=20000.
// Run alone: `BENCH_ONLY=insights npm run bench`, or `node --import tsx bench/insights.ts`.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { seedDemoData } from '../src/seed/index.ts';
import { staffClient } from '../test/support/staff.ts';
import { round } from './support/load.ts';
import { describeMachine, postgresVersion } from './support/machine.ts';
import { percentile } from './support/open-loop.ts';
import { createScratchDatabase, queryOnce } from './support/postgres.ts';
import { printTable } from './support/report.ts';

const env = process.env;
const serverUrl = env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const existing = Number(env.BENCH_INSIGHTS_EVENTS ?? 10_000_000);
const fresh = Number(env.BENCH_INSIGHTS_NEW ?? 100_000);
const requests = Number(env.BENCH_INSIGHTS_REQUESTS ?? 200);
const keep = env.BENCH_INSIGHTS_KEEP;
const CHUNK = 1_000_000;

/**
 * One statement writing events `from`..`to` (of `total`) in id order. Existing events are spread
 * over the two years before the last hour; new ones (`recent`) over the last hour.
 */
function syntheticEvents(from: number, to: number, total: number, recent: boolean): string {
  const when = recent
    ? `now() - interval '1 hour' + ((g - ${from})::float / ${Math.max(1, to - from + 1)}) * interval '59 minutes'`
    : `now() - interval '1 hour' - (((${total} - g)::float / ${total}) * interval '730 days')`;
  return `
    insert into domain_events (type, subject_type, subject_id, actor_type, payload, occurred_at)
    select t.type, t.subject_type, md5((g / 4)::text), t.actor_type, t.payload, t.at
      from generate_series(${from}, ${to}) g
      cross join lateral (select (g % 20) as k, ${when} as at) s
      cross join lateral (
        select s.at, case
          when k < 6 then 'case.created' when k < 9 then 'case.status_changed' when k = 9 then 'street_report.created'
          when k < 12 then 'payment.created' when k < 14 then 'payment.succeeded' when k = 14 then 'signing.paperless_changed'
          when k = 15 then 'booking.held' when k = 16 then 'booking.confirmed' when k = 17 then 'planning.application_decided'
          when k = 18 then 'wellbeing.alert_raised' else 'engage.consultation_response_received' end as type,
        case when k < 10 then 'case' when k < 14 then 'payment' when k = 14 then 'resident' when k < 17 then 'booking'
             when k = 17 then 'planning_application' when k = 18 then 'alert' else 'response' end as subject_type,
        case when k in (14, 18, 19) then 'resident' when g % 3 = 0 then 'staff' else 'resident' end as actor_type,
        case
          when k < 6 then jsonb_build_object('reference', 'KLN-' || g, 'service', (array['missed-bin','council-tax-discount','bulky-waste','pothole','housing-repair'])[1 + g % 5],
                                             'channel', (array['web','web','app','phone','face_to_face','chatbot'])[1 + g % 6], 'team', (array['waste','revenues','streets','housing'])[1 + g % 4],
                                             'ward', (array['E05099001','E05099002','E05099003'])[1 + g % 3],
                                             'slaDueAt', to_char((s.at + interval '3 days') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
          when k < 9 then jsonb_build_object('to', (array['in_progress','resolved','closed'])[1 + g % 3], 'reason', 'Done')
          when k = 9 then jsonb_build_object('category', 'pothole', 'ward', (array['E05099001','E05099002','E05099003'])[1 + g % 3], 'team', 'streets')
          when k < 14 then jsonb_build_object('amount', 500 + g % 9000, 'method', (array['card','card','direct_debit','paypoint_cash','cash_desk'])[1 + g % 5])
          when k = 14 then jsonb_build_object('paperless', g % 4 <> 0)
          when k = 15 then jsonb_build_object('bookable', (array['library-pc-1','video-consultation','bulky-waste'])[1 + g % 3])
          when k = 17 then jsonb_build_object('reference', 'PL-' || g, 'wardCode', 'E05099002', 'inTime', g % 5 <> 0)
          else jsonb_build_object('reference', 'X-' || g) end as payload
      ) t`;
}

export async function writeEvents(url: string, first: number, count: number, total: number, recent: boolean) {
  for (let done = 0; done < count; done += CHUNK) {
    const from = first + done;
    const to = first + Math.min(count, done + CHUNK) - 1;
    await queryOnce(url, syntheticEvents(from, to, total, recent));
  }
}

const seconds = (ms: number) => round(ms / 1000, 2);

/** The kept database named by BENCH_INSIGHTS_KEEP, and whether it is ready to reuse. */
async function keptDatabase(name: string) {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
    throw new Error(
      `BENCH_INSIGHTS_KEEP must be a plain database name (a-z, 0-9, _), not ${JSON.stringify(name)}`,
    );
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const found = await queryOnce(serverUrl, `select 1 from pg_database where datname = '${name}'`);
  let loaded = 0;
  if (found.length > 0) {
    // The warehouse's own count: a run killed during the setup leaves fewer (or no) facts.
    const rows = await queryOnce<{ n: string }>(
      url.toString(),
      `select case when to_regclass('analytics.fact_event') is null then 0
                   else (select count(*) from analytics.fact_event) end as n`,
    );
    loaded = Number(rows[0]!.n);
  }
  const ready = loaded >= existing;
  if (found.length > 0 && !ready) await queryOnce(serverUrl, `drop database ${name} with (force)`);
  if (!ready) await queryOnce(serverUrl, `create database ${name}`);
  return { url: url.toString(), ready, drop: async () => undefined };
}

async function main() {
  const machine = describeMachine();
  const load1 = loadavg()[0]!;
  const kept = keep ? await keptDatabase(keep) : undefined;
  const scratch = kept ?? (await createScratchDatabase(serverUrl, 'insights'));
  const reuse = kept?.ready ?? false;
  try {
    const setupStart = performance.now();
    const database = await openDatabase({ url: scratch.url, poolSize: 10 });
    const config = loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      DATABASE_URL: scratch.url,
      PUBLIC_URL: 'http://127.0.0.1:3000',
      SESSION_SECRET: randomBytes(24).toString('hex'),
      RUN_WORKERS: 'false',
      RATE_LIMIT_SIGN_IN_PER_MINUTE: '1000',
    });
    const kiln = await createApp({ config, database });
    const insights = kiln.services.insights.service;
    let t: number;
    let setup: number;
    if (reuse) {
      // Anything a killed run left unloaded goes in now, so the measured load is only this run's.
      await insights.load();
      setup = performance.now() - setupStart;
      console.log(`reusing ${keep}: setup ${seconds(setup)} s`);
    } else {
      await seedDemoData(kiln as never);
      const seeded = performance.now() - setupStart;
      t = performance.now();
      await writeEvents(scratch.url, 1, existing, existing, false);
      await queryOnce(scratch.url, 'analyze domain_events');
      const written = performance.now() - t;
      t = performance.now();
      const first = await insights.load();
      const firstLoad = performance.now() - t;
      await queryOnce(scratch.url, 'analyze');
      setup = performance.now() - setupStart;
      console.log(
        `setup took ${seconds(setup)} s: Kiln and its demo data ${seconds(seeded)} s, ${existing} events written ${seconds(written)} s, first load of ${first.events} events ${seconds(firstLoad)} s`,
      );
    }
    const before = await queryOnce<{ n: string }>(
      scratch.url,
      'select count(*) as n from analytics.fact_event',
    );
    const inWarehouse = Number(before[0]!.n);

    // 1. Incremental load of the new events, numbered after those already written.
    await writeEvents(scratch.url, inWarehouse + 1, fresh, existing, true);
    t = performance.now();
    const loaded = await insights.load();
    const incremental = performance.now() - t;

    // 2. The page over HTTP. The session cookie comes from signing in through the real pages.
    const analyst = await staffClient(
      { ...kiln, eventually: async () => undefined } as never,
      'analyst@kilnford.example',
    );
    const cookie = (analyst as unknown as { cookieHeader(): string }).cookieHeader();
    await kiln.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = kiln.app.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/staff/insights`;
    const times: number[] = [];
    for (let i = 0; i < requests + 5; i++) {
      const start = performance.now();
      const response = await fetch(url, { headers: { cookie }, redirect: 'manual' });
      const body = await response.text();
      if (response.status !== 200 || !body.includes('Requests made digitally'))
        throw new Error(`dashboard answered ${response.status}`);
      if (i >= 5) times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);

    printTable(
      `Insights on ${await postgresVersion(scratch.url)} (${machine.cores} cores, ${machine.cpu}; load average ${round(load1, 2)} at the start)`,
      ['measure', 'value', 'goal'],
      [
        ['events in the warehouse before the incremental load', inWarehouse, '10,000,000'],
        [
          reuse
            ? '  setup: reused the kept database (s)'
            : '  setup: migrations, demo data, events written, first load (s)',
          seconds(setup),
          '',
        ],
        [`incremental load of ${loaded.events} new events (s)`, seconds(incremental), '< 10'],
        [
          `success-measures page over HTTP, ${times.length} requests: median (ms)`,
          round(percentile(times, 50)),
          '',
        ],
        ['  p99 (ms)', round(percentile(times, 99)), '< 300'],
      ],
    );
    console.log(`machine: ${JSON.stringify(machine)}`);
    await kiln.close();
    await database.close();
  } finally {
    await scratch.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
