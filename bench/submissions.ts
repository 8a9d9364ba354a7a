import { randomUUID } from 'node:crypto';
import { createApiKey } from '../src/platform/auth/api-keys.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { runOpenLoop } from './support/open-loop.ts';
import { queryOnce } from './support/postgres.ts';
import { serverCpuSeconds, type Server } from './support/processes.ts';

export const SUBMISSIONS_PATH = '/api/v1/services/report-a-street-problem/submissions';

export interface SubmissionFigures {
  rate: number;
  /** Whether the measured process also ran the workers (acknowledgement emails, event delivery). */
  workers: boolean;
  durationSeconds: number;
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Kiln's CPU time per acknowledged submission (web and, when on, workers), in ms. */
  cpuMsPerSubmission: number;
  /** 201 answers in the measured run. */
  acknowledged: number;
  /** Cases the database gained during the measured run. */
  stored: number;
  /** Replaying requests with keys already used must not add cases. */
  replayed: { sent: number; casesAdded: number; statusCounts: Record<string, number> };
  otherAnswers: Record<string, number>;
  errors: number;
  sampleFailures: string[];
  /** Kiln's own error log lines, when it answered 5xx: why, not only that. */
  serverErrors: string[];
}

/** Error-level lines (pino level 50 and up) of a server's kept output, shortened. */
function errorLines(output: string, limit = 3): string[] {
  return output
    .split('\n')
    .filter((line) => /"level":(5|6)0/.test(line))
    .slice(-limit)
    .map((line) => line.slice(0, 800));
}

/** One report of a street problem, as a council's own app or a partner would send it. */
export function submission(i: number): { answers: Record<string, unknown>; contact: { email: string } } {
  const streets = ['Glaze Row', 'Saggar Street'];
  return {
    answers: {
      problem: 'pothole',
      'pothole-depth': '4-to-10cm',
      location: { street: streets[i % streets.length], detail: `outside number ${(i % 200) + 1}` },
      description: `A pothole in the middle of the road (report ${i})`,
    },
    contact: { email: `resident-${i % 1000}@example.com` },
  };
}

/**
 * Creates cases through the API at a fixed rate, then checks that every acknowledged submission
 * is stored, exactly once, and that replaying an Idempotency-Key adds nothing.
 */
export async function benchSubmissions(
  kiln: Server,
  databaseUrl: string,
  options: { rate: number; durationSeconds: number; warmupSeconds?: number; workers: boolean },
): Promise<SubmissionFigures> {
  const database = await openDatabase({ url: databaseUrl, poolSize: 1 });
  const { key } = await createApiKey(database.db, {
    name: 'Benchmark',
    scopes: ['submissions:create'],
    createdBy: null,
  }).finally(() => database.close());

  const runId = randomUUID().slice(0, 8);
  const keyOf = (phase: string, i: number) => `bench-${runId}-${phase}-${i}`;
  const request = (phase: string) => (i: number) => ({
    method: 'POST',
    path: SUBMISSIONS_PATH,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'idempotency-key': keyOf(phase, i),
    },
    body: JSON.stringify(submission(i)),
  });
  const countCases = async () =>
    Number((await queryOnce<{ n: string }>(databaseUrl, 'select count(*) as n from cases'))[0]?.n ?? 0);

  // Ten seconds: a cold process falls seconds behind at 500/s while the JIT compiles, and after a
  // 3-second warm-up the measured run still began inside that backlog's tail (docs/benchmarks.md).
  const warmup = await runOpenLoop({
    url: kiln.url,
    rate: options.rate,
    durationSeconds: options.warmupSeconds ?? 10,
    request: request('warm'),
  });
  if (!warmup.statusCounts['201'])
    throw new Error(`No case was created while warming up: ${warmup.sampleFailures.join('\n')}`);

  const before = await countCases();
  const cpuBefore = serverCpuSeconds(kiln);
  const run = await runOpenLoop({
    url: kiln.url,
    rate: options.rate,
    durationSeconds: options.durationSeconds,
    request: request('run'),
  });
  const cpuMs = (serverCpuSeconds(kiln) - cpuBefore) * 1000;
  const afterRun = await countCases();

  // The same keys again: the API must answer with the cases it already made.
  const replayCount = Math.min(200, run.planned);
  const replay = await runOpenLoop({
    url: kiln.url,
    rate: 100,
    durationSeconds: replayCount / 100,
    request: request('run'),
  });
  const afterReplay = await countCases();

  const { ['201']: acknowledged = 0, ...otherAnswers } = run.statusCounts;
  return {
    rate: options.rate,
    workers: options.workers,
    durationSeconds: options.durationSeconds,
    achievedPerSecond: run.achievedPerSecond,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    maxMs: run.maxMs,
    cpuMsPerSubmission: Math.round((cpuMs / Math.max(1, acknowledged)) * 100) / 100,
    acknowledged,
    stored: afterRun - before,
    replayed: { sent: replay.planned, casesAdded: afterReplay - afterRun, statusCounts: replay.statusCounts },
    otherAnswers,
    errors: run.errors,
    sampleFailures: run.sampleFailures,
    serverErrors: Object.keys(otherAnswers).some((status) => status.startsWith('5'))
      ? errorLines(kiln.output())
      : [],
  };
}
