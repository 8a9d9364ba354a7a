// Assistant benchmark: bot reply time and replies per second with many conversations at once.
// Each conversation is a web chat over HTTP (the real routes, sessions, CSRF and database): a
// greeting, a bin-day question with a postcode and a house number, a content question and a
// pothole report's first step, so the NLU, the dialogue state and the transcript writes are all
// in the path. Conversations run concurrently; every reply's time is kept.
// Run alone: `node --import tsx bench/assistant.ts`
//   BENCH_ASSISTANT_CONVERSATIONS (1000) conversations, BENCH_ASSISTANT_CONCURRENCY (1000) at once.
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { seedDemoData } from '../src/seed/index.ts';
import { describeMachine } from './support/machine.ts';
import { cpuSeconds } from './support/processes.ts';

/**
 * Counts the statements sent to the database (embedded or PostgreSQL), BEGIN and COMMIT included,
 * by their first words, so that round trips per reply can be printed beside the times.
 */
function countStatements() {
  const counts = new Map<string, number>();
  let counting = false;
  const kind = (text: unknown) => {
    const sqlText = typeof text === 'string' ? text : ((text as { text?: string } | null)?.text ?? '');
    const words = sqlText.trim().replace(/\s+/g, ' ').toLowerCase();
    const table = /(?:from|into|update) "?([a-z_]+)"?/.exec(words)?.[1];
    return `${words.split(' ')[0]}${table ? ' ' + table : ''}`;
  };
  const wrap = (proto: Record<string, unknown>, method: string) => {
    const original = proto[method] as (...args: unknown[]) => unknown;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      if (counting) {
        const k = kind(args[0]);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return original.apply(this, args);
    };
    return () => void (proto[method] = original);
  };
  const restore = process.env.DATABASE_URL
    ? [wrap(pg.Client.prototype as never, 'query')]
    : [wrap(PGlite.prototype as never, 'query'), wrap(PGlite.prototype as never, 'exec')];
  return {
    start: () => void (counting = true),
    stop: () => {
      counting = false;
      for (const r of restore) r();
      return counts;
    },
  };
}

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
  const statements = countStatements();
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

  // The requests are injected into this process, so its CPU time is Kiln's (with the embedded
  // database's, and the small cost of building the requests): per reply, it holds on a busy machine.
  const cpuBefore = cpuSeconds(process.pid);
  statements.start();
  const from = Number(process.hrtime.bigint() / 1000n);
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
  const cpu = cpuSeconds(process.pid) - cpuBefore;
  // The load's window on the monotonic clock (microseconds), to read a CPU profile of this run by.
  const window = { from, to: Number(process.hrtime.bigint() / 1000n) };
  const counts = statements.stop();
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
    cpuMsPerReply: round((cpu * 1000) / times.length),
    // A page load (GET /assistant) per conversation is counted with its replies.
    statementsPerReply: round([...counts.values()].reduce((a, b) => a + b, 0) / times.length),
    statements: Object.fromEntries(
      [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / times.length)]),
    ),
    database: process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite',
    window,
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
    `  CPU ${figures.cpuMsPerReply} ms per reply (this process: Kiln${figures.database === 'embedded PGlite' ? ' and its embedded database' : ''}), ${figures.statementsPerReply} database statements per reply`,
  );
  const [named, rest] = [
    Object.entries(figures.statements).filter(([, v]) => v >= 0.1),
    Object.entries(figures.statements).filter(([, v]) => v < 0.1),
  ];
  console.log(
    `  statements per reply: ${named.map(([k, v]) => `${k} ${v}`).join(', ')}${rest.length ? `, and ${rest.length} other kinds (background jobs) under 0.1 each` : ''}`,
  );
  console.log(
    `  machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}`,
  );
}
