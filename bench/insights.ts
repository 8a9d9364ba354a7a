// Insights benchmark on a real PostgreSQL server (a scratch database, dropped afterwards):
//   1. an incremental load of INSIGHTS_BENCH_NEW new events (default 100,000) into a warehouse that
//      already holds INSIGHTS_BENCH_EVENTS events (default 100,000; the scale is 10,000,000);
//   2. the success-measures page (GET /staff/insights, signed in as the demo analyst), requests one
//      after another, through Fastify's inject (no network): median and p99.
// Goals: 1 under 10 s; 2 p99 under 300 ms at 10,000,000 events. Events are synthetic: a mix of case,
// street report, payment, paperless, booking, planning, wellbeing and consultation events over two
// years, with the payload fields the real modules publish.
// Settings: BENCH_POSTGRES_URL, INSIGHTS_BENCH_EVENTS, INSIGHTS_BENCH_NEW, INSIGHTS_BENCH_REQUESTS (default 100).
// Run alone: `node --import tsx bench/insights.ts`, or `BENCH_ONLY=insights npm run bench`.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
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
const existing = Number(env.INSIGHTS_BENCH_EVENTS ?? 100_000);
const fresh = Number(env.INSIGHTS_BENCH_NEW ?? 100_000);
const requests = Number(env.INSIGHTS_BENCH_REQUESTS ?? 100);

// One statement writes `n` synthetic events spread over the last two years, in id order.
function syntheticEvents(n: number): string {
  return `
    insert into domain_events (type, subject_type, subject_id, actor_type, payload, occurred_at)
    select t.type, t.subject_type, md5((g / 4)::text), t.actor_type, t.payload,
           now() - (((${n} - g)::float / ${n}) * interval '730 days')
      from generate_series(1, ${n}) g
      cross join lateral (select (g % 20) as k) s
      cross join lateral (
        select case
          when k < 6 then 'case.created' when k < 9 then 'case.status_changed' when k = 9 then 'street_report.created'
          when k < 12 then 'payment.created' when k < 14 then 'payment.succeeded' when k = 14 then 'signing.paperless_changed'
          when k = 15 then 'booking.held' when k = 16 then 'booking.confirmed' when k = 17 then 'planning.application_decided'
          when k = 18 then 'wellbeing.alert_raised' else 'engage.consultation_response_received' end as type,
        case when k < 10 then 'case' when k < 14 then 'payment' when k = 14 then 'resident' when k < 17 then 'booking'
             when k = 17 then 'planning_application' when k = 18 then 'alert' else 'response' end as subject_type,
        case when k in (14, 18, 19) then 'resident' when g % 3 = 0 then 'staff' else 'resident' end as actor_type,
        case
          when k < 6 then jsonb_build_object('reference', 'KLN-' || g, 'service', (array['missed-bin','council-tax-discount','bulky-waste','pothole','housing-repair'])[1 + g % 5],
                                             'channel', (array['web','web','app','phone','face_to_face','chatbot'])[1 + g % 6], 'team', (array['waste','revenues','streets','housing'])[1 + g % 4])
          when k < 9 then jsonb_build_object('to', (array['in_progress','resolved','closed'])[1 + g % 3], 'reason', 'Done')
          when k = 9 then jsonb_build_object('category', 'pothole', 'ward', (array['E05099001','E05099002','E05099003'])[1 + g % 3], 'team', 'streets')
          when k < 14 then jsonb_build_object('amount', 500 + g % 9000, 'method', (array['card','card','direct_debit','paypoint_cash','cash_desk'])[1 + g % 5])
          when k = 14 then jsonb_build_object('paperless', g % 4 <> 0)
          when k = 15 then jsonb_build_object('bookable', (array['library-pc-1','video-consultation','bulky-waste'])[1 + g % 3])
          when k = 17 then jsonb_build_object('reference', 'PL-' || g, 'wardCode', 'E05099002', 'inTime', g % 5 <> 0)
          else jsonb_build_object('reference', 'X-' || g) end as payload
      ) t`;
}

async function main() {
  const machine = describeMachine();
  const scratch = await createScratchDatabase(serverUrl);
  const load1 = loadavg()[0]!;
  try {
    const database = await openDatabase({ url: scratch.url, poolSize: 10 });
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: scratch.url,
      PUBLIC_URL: 'http://localhost:3000',
      SESSION_SECRET: randomBytes(24).toString('hex'),
      RUN_WORKERS: 'false',
      RATE_LIMIT_SIGN_IN_PER_MINUTE: '1000',
    });
    const kiln = await createApp({ config, database });
    await seedDemoData(kiln as never);
    const insights = kiln.services.insights.service;

    let t = performance.now();
    for (let done = 0; done < existing; done += 1_000_000)
      await queryOnce(scratch.url, syntheticEvents(Math.min(1_000_000, existing - done)));
    const writeExisting = performance.now() - t;
    t = performance.now();
    await insights.load();
    const firstLoad = performance.now() - t;

    await queryOnce(scratch.url, syntheticEvents(fresh));
    await queryOnce(scratch.url, 'analyze');
    t = performance.now();
    const loaded = await insights.load();
    const incremental = performance.now() - t;

    const analyst = await staffClient(
      { ...kiln, eventually: async () => undefined } as never,
      'analyst@kilnford.example',
    );
    const times: number[] = [];
    for (let i = 0; i < requests + 5; i++) {
      const start = performance.now();
      const response = await analyst.get('/staff/insights');
      if (response.statusCode !== 200) throw new Error(`dashboard answered ${response.statusCode}`);
      if (i >= 5) times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);

    printTable(
      `Insights on ${await postgresVersion(scratch.url)} (${machine.cores} cores, ${machine.cpu}; load average ${round(load1, 2)} at the start: other work was running)`,
      ['measure', 'value', 'goal'],
      [
        ['events already in the warehouse', existing, ''],
        ['  written in (s)', round(writeExisting / 1000, 2), ''],
        ['  first load from scratch (s)', round(firstLoad / 1000, 2), ''],
        [`incremental load of ${loaded.events} new events (s)`, round(incremental / 1000, 2), '< 10'],
        [`success-measures page, ${times.length} requests: median (ms)`, round(percentile(times, 50)), ''],
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
