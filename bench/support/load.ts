import autocannon, { type Options, type Result } from 'autocannon';
import { loadavg } from 'node:os';
import { cpuSeconds } from './processes.ts';

/** One figure: the median of several runs, with every run kept for the record. */
export interface Measurement {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * Server CPU time per answered request, less what the idle server uses anyway (workers polling,
   * audit sealing): steadier than req/s when other work shares the machine.
   */
  cpuMicrosecondsPerRequest: number;
  /** The idle server's CPU use, in CPU milliseconds per second, subtracted above. */
  idleCpuMsPerSecond: number;
  runs: Array<{
    requestsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    cpuMicrosecondsPerRequest: number;
    grossCpuMicrosecondsPerRequest: number;
    requests: number;
    non2xx: number;
    /** 1-minute load average of the machine when the run ended. */
    loadAverage: number;
  }>;
}

export interface LoadSettings {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  runs: number;
}

export const median = (values: number[]): number => {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Runs autocannon once and fails loudly on errors or non-2xx answers: a broken page is not a fast one. */
export async function fire(options: Options, allowNon2xx = false): Promise<Result> {
  const result = await autocannon(options);
  if (result.errors > 0 || (!allowNon2xx && result.non2xx > 0)) {
    throw new Error(
      `${options.method ?? 'GET'} ${options.url}: ${result.errors} errors, ${result.timeouts} timeouts, ` +
        `status codes ${JSON.stringify(result.statusCodeStats)}`,
    );
  }
  return result;
}

/** A server under closed-loop load: where to send it, and its process (for CPU time). */
export interface LoadTarget {
  url: string;
  pid: number;
  /** The idle server's CPU use (ms per second), subtracted from its CPU per request. */
  idleCpuMsPerSecond?: number;
}

type Run = Measurement['runs'][number];

/** Closed-loop load (as fast as the server answers): warm-up, then the median of `runs` runs. */
export async function measureThroughput(
  url: string,
  settings: LoadSettings,
  serverPid: number,
  idleCpuMsPerSecond = 0,
  /** A new path for every request (e.g. to miss a cache); default: the url's own path each time. */
  pathFor?: () => string,
): Promise<Measurement> {
  const target = { url, pid: serverPid, idleCpuMsPerSecond };
  if (settings.warmupSeconds > 0)
    await fire({ ...loadOptions(url, settings, pathFor), duration: settings.warmupSeconds });
  const runs: Run[] = [];
  for (let i = 0; i < settings.runs; i++) runs.push(await timedRun(target, settings, pathFor));
  return summarise(runs, idleCpuMsPerSecond);
}

/**
 * A server measured against a baseline in the same minutes: each of its runs follows a run of the
 * baseline, so a machine whose speed drifts from minute to minute moves both. The shares are the
 * medians of each pair's own ratio.
 */
export async function measureAgainstBaseline(
  target: LoadTarget,
  baseline: LoadTarget,
  settings: LoadSettings,
): Promise<{ measurement: Measurement; baseline: Measurement; share: number; cpuShare: number }> {
  for (const server of [baseline, target])
    if (settings.warmupSeconds > 0)
      await fire({ ...loadOptions(server.url, settings), duration: settings.warmupSeconds });
  const pairs: Array<{ baseline: Run; target: Run }> = [];
  for (let i = 0; i < settings.runs; i++)
    pairs.push({ baseline: await timedRun(baseline, settings), target: await timedRun(target, settings) });
  return {
    measurement: summarise(
      pairs.map((p) => p.target),
      target.idleCpuMsPerSecond ?? 0,
    ),
    baseline: summarise(
      pairs.map((p) => p.baseline),
      baseline.idleCpuMsPerSecond ?? 0,
    ),
    share: round(median(pairs.map((p) => p.target.requestsPerSecond / p.baseline.requestsPerSecond)), 3),
    cpuShare: round(
      median(pairs.map((p) => p.baseline.cpuMicrosecondsPerRequest / p.target.cpuMicrosecondsPerRequest)),
      3,
    ),
  };
}

function loadOptions(url: string, settings: LoadSettings, pathFor?: () => string): Options {
  return {
    url,
    connections: settings.connections,
    timeout: 10,
    ...(pathFor ? { requests: [{ setupRequest: (request) => ({ ...request, path: pathFor() }) }] } : {}),
  };
}

async function timedRun(target: LoadTarget, settings: LoadSettings, pathFor?: () => string): Promise<Run> {
  const cpuBefore = cpuSeconds(target.pid);
  const r = await fire({ ...loadOptions(target.url, settings, pathFor), duration: settings.durationSeconds });
  const cpu = cpuSeconds(target.pid) - cpuBefore;
  return {
    requestsPerSecond: round(r['2xx'] / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    cpuMicrosecondsPerRequest: Math.round(
      ((cpu - ((target.idleCpuMsPerSecond ?? 0) / 1000) * r.duration) * 1e6) / Math.max(1, r['2xx']),
    ),
    grossCpuMicrosecondsPerRequest: Math.round((cpu * 1e6) / Math.max(1, r['2xx'])),
    requests: r['2xx'],
    non2xx: r.non2xx,
    loadAverage: round(loadavg()[0] ?? 0, 2),
  };
}

function summarise(runs: Run[], idleCpuMsPerSecond: number): Measurement {
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuMicrosecondsPerRequest: median(runs.map((r) => r.cpuMicrosecondsPerRequest)),
    idleCpuMsPerSecond,
    runs,
  };
}

export const round = (value: number, places = 1) => Math.round(value * 10 ** places) / 10 ** places;

/** CPU milliseconds per second a server uses while nobody calls it. */
export async function idleCpuMsPerSecond(pid: number, ms = 5000): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((ok) => setTimeout(ok, ms));
  return round(((cpuSeconds(pid) - before) * 1e6) / ms, 1);
}
