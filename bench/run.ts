// Kiln's benchmarks: `npm run bench`. Prints each figure with the machine it was measured on and
// writes them to bench/results/latest.json. Settings (environment):
//   BENCH_DURATION=10 BENCH_WARMUP=3 BENCH_RUNS=3 BENCH_CONNECTIONS=10   page load (closed loop)
//   BENCH_RATE=500 BENCH_RATE_SECONDS=30                                 API submissions (open loop)
//   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres       a server to create a scratch database on
//   BENCH_POSTGRES=off                                                   embedded database only
//   BENCH_ONLY=pages,submissions,payments,signing                        some benchmarks only
//   BENCH_ONLY=requests,bookings,…   any other name runs bench/<name>.ts on its own (a module's benchmark)
//   BENCH_SUBMISSION_WORKERS=false                                       submissions with workers off (web process alone)
//   BENCH_WEB_PROCESSES=<cores-1>                                        web copies in the production layout's submissions run
//   BENCH_NODE_ARGS='--max-semi-space-size=32'                           extra node options for the Kiln it starts (experiments)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { run as benchPayments, type PaymentFigures } from './payments.ts';
import { run as benchSigning, type SigningFigures } from './signing.ts';
import { pageTargets, type PageTarget } from './pages.ts';
import { idleResident, peakResidentWhile } from './memory.ts';
import { benchSubmissions, type SubmissionFigures } from './submissions.ts';
import { startBaseline, startKiln, startKilnLayout } from './support/kiln.ts';
import {
  idleCpuMsPerSecond,
  measureAgainstBaseline,
  measureThroughput,
  round,
  type LoadSettings,
  type Measurement,
} from './support/load.ts';
import { describeMachine, embeddedDatabaseVersion, postgresVersion } from './support/machine.ts';
import { createScratchDatabase } from './support/postgres.ts';
import type { Server } from './support/processes.ts';
import { printTable, writeResults } from './support/report.ts';

const env = process.env;
const load: LoadSettings = {
  connections: Number(env.BENCH_CONNECTIONS ?? 10),
  durationSeconds: Number(env.BENCH_DURATION ?? 10),
  warmupSeconds: Number(env.BENCH_WARMUP ?? 3),
  runs: Number(env.BENCH_RUNS ?? 3),
};
const submissionRate = Number(env.BENCH_RATE ?? 500);
const submissionSeconds = Number(env.BENCH_RATE_SECONDS ?? 30);
const postgresServer = env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const usePostgres = env.BENCH_POSTGRES !== 'off';
const only = new Set(
  (env.BENCH_ONLY ?? 'pages,submissions,payments,signing').split(',').map((s) => s.trim()),
);
const submissionWorkers = env.BENCH_SUBMISSION_WORKERS !== 'false';
/**
 * Production's layout on this machine: web processes and a worker. PostgreSQL and the worker share
 * the machine, so the web copies leave them a core (docs/operations.md): on 2 cores, two copies
 * queued where one did not.
 */
const layoutWebProcesses = Number(env.BENCH_WEB_PROCESSES ?? Math.max(1, availableParallelism() - 1));

const goals = { questionPageShareOfBareFastify: 0.25, submissionsPerSecond: 500, submissionP99Ms: 50 };

interface PageFigure extends PageTarget {
  database: string;
  measurement: Measurement;
  /** Kiln's req/s over bare Fastify's req/s: the median of runs each paired with a run of Fastify. */
  shareOfBareFastify: number;
  /** Bare Fastify's CPU per request over Kiln's: the same ratio, steadier on a busy machine. */
  cpuShareOfBareFastify: number;
  /** Bare Fastify's req/s in the runs paired with this page's. */
  bareFastifyAlongside: number;
}

const machine = describeMachine();
const loadAtStart = round(loadavg()[0] ?? 0, 2);
console.log(
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}`,
);
console.log(
  `Page load: ${load.connections} connections, ${load.warmupSeconds} s warm-up, median of ${load.runs} runs of ${load.durationSeconds} s`,
);

const databases: Record<string, string> = { embedded: await embeddedDatabaseVersion() };
const pages: PageFigure[] = [];
const problems: string[] = [];
let submissions: SubmissionFigures | undefined;
/** The same load on Kiln laid out as in production: `kiln web` copies and a `kiln worker`. */
let submissionsLayout: SubmissionFigures | undefined;
let memory: { idleMb: number; peakUnderPageLoadMb: number; process: string } | undefined;
/** The same, for Kiln on a PostgreSQL server, for comparison: the embedded database's share. */
let postgresIdleMb: number | undefined;

let baseline: Measurement | undefined;
/** Bare Fastify, kept up while pages are measured: each page's runs are paired with runs of it. */
let baselineServer: Server | undefined;
let payments: PaymentFigures | undefined;
let signing: SigningFigures | undefined;

if (only.has('pages')) {
  // 1. The baseline, in its own process like Kiln.
  console.log('\nBare Fastify hello-world…');
  baselineServer = await startBaseline();
  // If a later step throws, bare Fastify (its own process group) must not outlive the run.
  process.once('exit', () => {
    if (baselineServer) process.kill(baselineServer.pid, 'SIGTERM');
  });
  baseline = await measureThroughput(
    baselineServer.url,
    load,
    baselineServer.pid,
    await idleCpuMsPerSecond(baselineServer.pid, 2000),
  );
  console.log(`  ${baseline.requestsPerSecond} req/s, ${baseline.cpuMicrosecondsPerRequest} µs CPU/request`);

  // 2. Kiln as `npm start` runs it: embedded database. Its memory is read from the same process.
  console.log(`\nKiln through \`npm start\`, ${databases.embedded}…`);
  await withServer(startKiln({ viaNpm: true }), async (kiln) => {
    const idleMb = await idleResident(kiln.pid);
    const idleCpu = await idleCpuMsPerSecond(kiln.pid);
    console.log(`  idle: ${idleMb} MB resident, ${idleCpu} ms CPU per second (pid ${kiln.pid})`);
    const { peakMb } = await peakResidentWhile(kiln.pid, () => measurePages(kiln, 'embedded', idleCpu));
    memory = {
      idleMb,
      peakUnderPageLoadMb: peakMb,
      process: 'node --import tsx src/main.ts (under npm start)',
    };
  });
}

/** Bare Fastify is stopped once the pages are measured, before anything else loads the machine. */
async function stopBaseline(): Promise<void> {
  const server = baselineServer;
  baselineServer = undefined;
  await server?.stop();
}
if (!usePostgres) await stopBaseline();

// 3. Kiln on a PostgreSQL server: pages, then case creation through the API.
if (usePostgres && (only.has('pages') || only.has('submissions'))) {
  const scratch = await createScratchDatabase(postgresServer);
  try {
    databases.postgres = await postgresVersion(scratch.url);
    console.log(`\nKiln on ${databases.postgres} (scratch database)…`);
    await withServer(
      startKiln({
        databaseUrl: scratch.url,
        env: { RATE_LIMIT_API_PER_MINUTE: '10000000', RUN_WORKERS: String(submissionWorkers) },
      }),
      async (kiln) => {
        postgresIdleMb = await idleResident(kiln.pid);
        const idleCpu = await idleCpuMsPerSecond(kiln.pid);
        console.log(`  idle: ${postgresIdleMb} MB resident, ${idleCpu} ms CPU per second`);
        if (only.has('pages')) await measurePages(kiln, 'postgres', idleCpu);
        await stopBaseline();
        if (!only.has('submissions')) return;
        console.log(
          `  submissions at ${submissionRate}/s for ${submissionSeconds} s (workers ${submissionWorkers ? 'on' : 'off'})…`,
        );
        submissions = await benchSubmissions(kiln, scratch.url, {
          rate: submissionRate,
          durationSeconds: submissionSeconds,
          workers: submissionWorkers,
        });
        checkSubmissions(submissions);
      },
    );
  } finally {
    await scratch.drop();
  }
}

// 3b. The same submissions on Kiln laid out as in production: web copies sharing the port, a worker.
if (usePostgres && only.has('submissions')) {
  const scratch = await createScratchDatabase(postgresServer);
  try {
    console.log(
      `\nKiln as in production (kiln web x${layoutWebProcesses}, kiln worker) on a scratch database…`,
    );
    await withServer(
      startKilnLayout({
        databaseUrl: scratch.url,
        webProcesses: layoutWebProcesses,
        env: { RATE_LIMIT_API_PER_MINUTE: '10000000' },
      }),
      async (kiln) => {
        console.log(`  submissions at ${submissionRate}/s for ${submissionSeconds} s…`);
        submissionsLayout = await benchSubmissions(kiln, scratch.url, {
          rate: submissionRate,
          durationSeconds: submissionSeconds,
          workers: true,
        });
        checkSubmissions(submissionsLayout);
      },
    );
  } finally {
    await scratch.drop();
  }
}

/** Every acknowledged submission stored once, and replays adding nothing. */
function checkSubmissions(figures: SubmissionFigures) {
  if (figures.replayed.casesAdded !== 0)
    problems.push(`replaying used Idempotency-Keys added ${figures.replayed.casesAdded} cases`);
  if (figures.stored !== figures.acknowledged)
    problems.push(
      `${figures.acknowledged} submissions acknowledged with 201 but ${figures.stored} cases stored`,
    );
}

// 4. Module benchmarks (their own files; each can also run alone).
if (usePostgres && only.has('payments')) {
  console.log('\nPayments (scratch PostgreSQL database)…');
  try {
    payments = await benchPayments(postgresServer);
    if (payments.duplicates !== 0) problems.push(`payments: ${payments.duplicates} duplicate payments`);
    if (!payments.reconciliationBalanced) problems.push('payments: the reconciliation does not balance');
  } catch (error) {
    problems.push(`payments benchmark failed: ${String(error)}`);
  }
}
if (only.has('signing')) {
  console.log('\nSigning…');
  try {
    signing = await benchSigning();
    if (signing.pdfsigValid === false) problems.push('signing: pdfsig does not accept a sealed document');
  } catch (error) {
    problems.push(`signing benchmark failed: ${String(error)}`);
  }
}

// Modules' own benchmarks: bench/<name>.ts, each a program that prints its figures and the machine.
const builtIn = new Set(['pages', 'submissions', 'payments', 'signing']);
for (const name of [...only].filter((n) => !builtIn.has(n))) {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  if (!/^[a-z-]+$/.test(name) || !existsSync(script)) {
    problems.push(`no benchmark named ${name} (bench/${name}.ts)`);
    continue;
  }
  console.log(`\n${name} (bench/${name}.ts)…`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
  if (result.status !== 0) problems.push(`${name} benchmark failed (exit ${result.status})`);
}

// Report.
if (baseline)
  printTable(
    'Pages (requests/s and latency: median of runs; shares: median of runs paired with bare Fastify)',
    [
      'Page',
      'Database',
      'Path',
      'req/s',
      'p50 ms',
      'p99 ms',
      'CPU µs/req',
      'of Fastify req/s',
      'of Fastify CPU',
      'Fastify req/s alongside',
    ],
    [
      [
        'Bare Fastify hello-world',
        '-',
        '/',
        baseline.requestsPerSecond,
        baseline.p50Ms,
        baseline.p99Ms,
        baseline.cpuMicrosecondsPerRequest,
        '100%',
        '100%',
        '-',
      ],
      ...pages.map((p) => [
        p.name,
        p.database,
        p.path,
        p.measurement.requestsPerSecond,
        p.measurement.p50Ms,
        p.measurement.p99Ms,
        p.measurement.cpuMicrosecondsPerRequest,
        `${round(p.shareOfBareFastify * 100)}%`,
        `${round(p.cpuShareOfBareFastify * 100)}%`,
        p.bareFastifyAlongside,
      ]),
    ],
  );
for (const p of pages.filter((p) => p.note)) console.log(`  note: ${p.name}: ${p.note}`);
for (const p of pages.filter((p) => p.name === 'Question page'))
  console.log(
    `  goal: question page >= ${goals.questionPageShareOfBareFastify * 100}% of bare Fastify (${p.database}): ` +
      (p.shareOfBareFastify >= goals.questionPageShareOfBareFastify ? 'met' : 'MISSED') +
      ` (${round(p.shareOfBareFastify * 100)}% by req/s, ${round(p.cpuShareOfBareFastify * 100)}% by CPU per request)`,
  );
if (memory)
  printTable(
    'Memory of `npm start` (embedded database), VmRSS',
    ['When', 'MB'],
    [
      ['Idle, 5 s after start', memory.idleMb],
      ['Peak under the page load', memory.peakUnderPageLoadMb],
      ['(Kiln on PostgreSQL instead, idle)', postgresIdleMb ?? '-'],
    ],
  );
const layouts: Array<[string, SubmissionFigures | undefined]> = [
  [submissionWorkers ? 'one process (kiln all)' : 'one web process, workers off', submissions],
  [`kiln web x${layoutWebProcesses} + kiln worker`, submissionsLayout],
];
const measuredLayouts = layouts.filter((l): l is [string, SubmissionFigures] => l[1] !== undefined);
if (measuredLayouts.length) {
  const first = measuredLayouts[0]![1];
  printTable(
    `Case creation through the API on ${databases.postgres} (open loop, ${first.rate}/s for ${first.durationSeconds} s)`,
    ['Figure', ...measuredLayouts.map(([name]) => name)],
    (
      [
        ['Achieved 201s per second', (f) => f.achievedPerSecond],
        ['p50 ms', (f) => f.p50Ms],
        ['p99 ms', (f) => f.p99Ms],
        ['max ms', (f) => f.maxMs],
        ['Kiln CPU ms per submission', (f) => f.cpuMsPerSubmission],
        ['Acknowledged (201)', (f) => f.acknowledged],
        ['Cases stored', (f) => f.stored],
        ['Other answers', (f) => JSON.stringify(f.otherAnswers)],
      ] as Array<[string, (f: SubmissionFigures) => string | number]>
    ).map(([label, value]) => [label, ...measuredLayouts.map(([, f]) => value(f))]),
  );
  for (const [name, f] of measuredLayouts) {
    console.log(
      `  goal: >= ${goals.submissionsPerSecond}/s with p99 < ${goals.submissionP99Ms} ms, ${name}: ` +
        (f.achievedPerSecond >= goals.submissionsPerSecond * 0.98 && f.p99Ms < goals.submissionP99Ms
          ? 'met'
          : 'MISSED'),
    );
    for (const line of f.serverErrors) console.log(`  Kiln logged: ${line}`);
  }
  console.log(
    "  workers on, as in production: Kiln also sends the acknowledgements and delivers the events; CPU is every Kiln process's",
  );
}
if (payments)
  printTable(
    'Payments (their own benchmark: bench/payments.ts)',
    ['Figure', 'Value'],
    [
      ['Concurrent creations', payments.creations],
      ['of which retried keys', payments.retried],
      ['Duplicates (must be 0)', payments.duplicates],
      ['Creations per second', payments.creationsPerSecond],
      ['p50 ms', payments.p50Ms],
      ['p99 ms', payments.p99Ms],
      ['Ledger entries reconciled', payments.ledgerEntries],
      ['Reconciliation s (goal < 5)', payments.reconciliationSeconds],
      ['Balanced', String(payments.reconciliationBalanced)],
    ],
  );
if (signing)
  printTable(
    'Signing (their own benchmark: bench/signing.ts)',
    ['Figure', 'Value'],
    [
      ['Documents x pages', `${signing.documents} x ${signing.pages}`],
      ['Seal alone p50 / p99 ms', `${signing.sealP50Ms} / ${signing.sealP99Ms}`],
      ['Last signature p50 / p99 ms', `${signing.lastSignatureP50Ms} / ${signing.lastSignatureP99Ms}`],
      ['pdfsig', signing.pdfsigValid === null ? 'not installed' : String(signing.pdfsigValid)],
    ],
  );

const file = await writeResults({
  measuredAt: new Date().toISOString(),
  loadAverage: { atStart: loadAtStart, atEnd: round(loadavg()[0] ?? 0, 2) },
  command: 'npm run bench',
  machine,
  databases,
  settings: { load, submissionRate, submissionSeconds, submissionWorkers, only: [...only] },
  goals,
  baseline,
  pages,
  memory: memory && { ...memory, postgresIdleMb },
  submissions,
  submissionsLayout: submissionsLayout && { ...submissionsLayout, webProcesses: layoutWebProcesses },
  payments,
  signing,
  problems,
});
console.log(`\nFigures written to ${file}`);
console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`);
console.log(`Databases: ${Object.values(databases).join('; ')}`);
console.log(`Load average (1 min): ${loadAtStart} at start, ${round(loadavg()[0] ?? 0, 2)} at end`);
if (problems.length) {
  console.error(`\nBROKEN:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

async function measurePages(kiln: Server, database: string, idleCpu: number): Promise<void> {
  if (!baseline || !baselineServer)
    throw new Error('bare Fastify is measured, and still up, before any page');
  for (const target of await pageTargets(kiln)) {
    const paired = await measureAgainstBaseline(
      { url: kiln.url + target.path, pid: kiln.pid, idleCpuMsPerSecond: idleCpu },
      { url: baselineServer.url, pid: baselineServer.pid, idleCpuMsPerSecond: baseline.idleCpuMsPerSecond },
      load,
    );
    const measurement = paired.measurement;
    const figure = {
      ...target,
      database,
      measurement,
      shareOfBareFastify: paired.share,
      cpuShareOfBareFastify: paired.cpuShare,
      bareFastifyAlongside: paired.baseline.requestsPerSecond,
    };
    pages.push(figure);
    console.log(
      `  ${target.name} ${target.path}: ${measurement.requestsPerSecond} req/s, p50 ${measurement.p50Ms} ms, ` +
        `p99 ${measurement.p99Ms} ms, ${measurement.cpuMicrosecondsPerRequest} µs CPU/request ` +
        `(${round(figure.shareOfBareFastify * 100)}% of bare Fastify's req/s, ${figure.bareFastifyAlongside} in the paired runs)`,
    );
  }
}

async function withServer<T>(starting: Promise<Server>, work: (server: Server) => Promise<T>): Promise<T> {
  const server = await starting;
  try {
    return await work(server);
  } catch (error) {
    console.error(`Output of ${server.name}:\n${server.output()}`);
    throw error;
  } finally {
    await server.stop();
  }
}
