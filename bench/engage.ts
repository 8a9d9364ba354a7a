// Engage benchmark: how a consultation behaves as responses pile up.
//   1. Responses sent through the service (anonymous browsers, one per person, the consultation
//      row locked per response), one after another: p50 and p99 per response.
//   2. The results (counts, charts, themes) and the CSV export over all of them: time per build.
// Embedded database by default; BENCH_DATABASE_URL runs it on a scratch database of that server.
// Run alone: `node --import tsx bench/engage.ts` (BENCH_ENGAGE_RESPONSES to change the count, 500).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { seedDemoData } from '../src/seed/index.ts';
import { describeMachine } from './support/machine.ts';
import { createScratchDatabase } from './support/postgres.ts';

export interface EngageFigures {
  database: 'embedded' | 'postgres';
  responses: number;
  respondP50Ms: number;
  respondP99Ms: number;
  resultsMs: number;
  csvMs: number;
  csvBytes: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 10) / 10;

export async function runEngageBench(
  count = Number(process.env.BENCH_ENGAGE_RESPONSES ?? 500),
): Promise<EngageFigures> {
  const serverUrl = process.env.BENCH_DATABASE_URL;
  const scratch = serverUrl ? await createScratchDatabase(serverUrl) : undefined;
  const database = await openDatabase(scratch ? { url: scratch.url, poolSize: 5 } : {});
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'kiln-bench-engage-')),
    SESSION_SECRET: randomBytes(24).toString('hex'),
    RUN_WORKERS: 'false',
  });
  const kiln = await createApp({ config, database });
  try {
    await seedDemoData(kiln);
    const engage = kiln.services.engage.service;
    const c = (await engage.consultations.bySlug('library-opening-hours-2027'))!;
    const questions = await engage.consultations.questions(c.id);
    const options = (i: number, list: string[]) => list[i % list.length]!;
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const answers: Record<string, string | string[]> = {};
      for (const q of questions) {
        const field = `q-${q.id}`;
        if (q.kind === 'text')
          answers[field] = `Response ${i}: evenings would help me get to the library after work.`;
        else if (q.kind === 'multiple') answers[field] = [options(i, q.options), options(i + 2, q.options)];
        else answers[field] = options(i, q.options);
      }
      const started = performance.now();
      await engage.responses.respond(
        c.slug,
        { residentId: null, browserToken: randomBytes(24).toString('base64url') },
        { ...answers, eq_age: '35 to 44' },
        { submit: true },
      );
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    let started = performance.now();
    const results = await engage.results.of(c.reference);
    const resultsMs = performance.now() - started;
    if (results?.total !== count) throw new Error(`Expected ${count} responses, found ${results?.total}`);
    started = performance.now();
    const csv = (await engage.results.csv(c.reference))!;
    const csvMs = performance.now() - started;
    return {
      database: database.kind,
      responses: count,
      respondP50Ms: round(percentile(times, 50)),
      respondP99Ms: round(percentile(times, 99)),
      resultsMs: round(resultsMs),
      csvMs: round(csvMs),
      csvBytes: Buffer.byteLength(csv),
    };
  } finally {
    await kiln.close();
    await database.close();
    await scratch?.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await runEngageBench();
  console.log('Engage: consultation responses');
  console.table([figures]);
  console.log('Machine:', describeMachine());
}
