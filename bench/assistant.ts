// Assistant benchmark: bot reply time and replies per second with many conversations at once.
// Each conversation is a web chat over HTTP (the real routes, sessions, CSRF and database): a
// greeting, a bin-day question with a postcode and a house number, a content question and a
// pothole report's first step, so the NLU, the dialogue state and the transcript writes are all
// in the path. Conversations run concurrently; every reply's time is kept.
// Run alone: `node --import tsx bench/assistant.ts`
//   BENCH_ASSISTANT_CONVERSATIONS (1000) conversations, BENCH_ASSISTANT_CONCURRENCY (1000) at once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { seedDemoData } from '../src/seed/index.ts';
import { describeMachine } from './support/machine.ts';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 10) / 10;

// Each message with what the reply must say: a wrong reply counts as a failure, not a fast one.
const script: Array<[string, RegExp]> = [
  ['hello', /I am the Kilnford City Council assistant/],
  ['when is my bin day', /postcode/i],
  ['KF1 3CD', /house number at KF1 3CD/],
  ['12', /Collections at 12 Saggar Street/],
  ['what are your opening hours', /Civic Centre/],
  ['pothole on Saggar Street', /How big is the pothole\?/],
];

export async function run(
  conversations = Number(process.env.BENCH_ASSISTANT_CONVERSATIONS ?? 1000),
  concurrency = Number(process.env.BENCH_ASSISTANT_CONCURRENCY ?? 1000),
) {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'kiln-bench-assistant-')),
    SESSION_SECRET: 'bench-assistant-secret-0123456789abcdef',
    RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '100000000',
    DATABASE_URL: process.env.DATABASE_URL,
  });
  const database = await openDatabase({ url: process.env.DATABASE_URL, poolSize: 20 });
  const kiln = await createApp({ config, database });
  await seedDemoData(kiln);
  await kiln.services.assistant.service.ensureTrained();
  const app = kiln.app;
  const times: number[] = [];
  let failures = 0;

  async function conversation() {
    const first = await app.inject({ method: 'GET', url: '/assistant' });
    const cookies = new Map<string, string>();
    const keep = (r: typeof first) => {
      for (const c of r.cookies as Array<{ name: string; value: string }>) cookies.set(c.name, c.value);
    };
    keep(first);
    const token = /name="_csrf" value="([^"]+)"/.exec(first.body)?.[1] ?? '';
    for (const [message, expected] of script) {
      const started = performance.now();
      const r = await app.inject({
        method: 'POST',
        url: '/assistant',
        headers: {
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
          cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        },
        payload: new URLSearchParams({ _csrf: token, message }).toString(),
      });
      times.push(performance.now() - started);
      keep(r);
      const said =
        r.statusCode === 200
          ? (JSON.parse(r.body) as { messages: Array<{ author: string; body: string }> }).messages
              .filter((m) => m.author === 'bot')
              .map((m) => m.body)
              .join(' ')
          : '';
      if (!expected.test(said)) {
        failures++;
        if (failures <= 3)
          console.error(
            `unexpected reply to “${message}” (${r.statusCode}): ${said || r.body.slice(0, 200)}`,
          );
      }
    }
  }

  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, conversations) }, async () => {
      while (next < conversations) {
        next++;
        await conversation();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await kiln.close();
  await database.close();
  const sorted = [...times].sort((a, b) => a - b);
  return {
    conversations,
    concurrency: Math.min(concurrency, conversations),
    replies: times.length,
    failures,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    repliesPerSecond: round(times.length / seconds),
    database: process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite',
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await run();
  const machine = describeMachine();
  console.log('Assistant: web chat replies (NLU, dialogue, transcript) over HTTP');
  console.log(
    `  conversations ${figures.conversations}, ${figures.concurrency} at once, ${figures.replies} replies on ${figures.database}`,
  );
  console.log(`  reply time p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms`);
  console.log(`  throughput ${figures.repliesPerSecond} replies/s, failures ${figures.failures}`);
  console.log(
    `  machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}`,
  );
}
