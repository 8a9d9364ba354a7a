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

/** Closed-loop load (as fast as the server answers): warm-up, then the median of `runs` runs. */
export async function measureThroughput(
  url: string,
  settings: LoadSettings,
  serverPid: number,
  idleCpuMsPerSecond = 0,
  /** A new path for every request (e.g. to miss a cache); default: the url's own path each time. */
  pathFor?: () => string,
): Promise<Measurement> {
  const base: Options = {
    url,
    connections: settings.connections,
    timeout: 10,
    ...(pathFor ? { requests: [{ setupRequest: (request) => ({ ...request, path: pathFor() }) }] } : {}),
  };
  if (settings.warmupSeconds > 0) await fire({ ...base, duration: settings.warmupSeconds });
  const runs: Measurement['runs'] = [];
  for (let i = 0; i < settings.runs; i++) {
    const cpuBefore = cpuSeconds(serverPid);
    const r = await fire({ ...base, duration: settings.durationSeconds });
    const cpu = cpuSeconds(serverPid) - cpuBefore;
    runs.push({
      requestsPerSecond: round(r['2xx'] / r.duration),
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      cpuMicrosecondsPerRequest: Math.round(
        ((cpu - (idleCpuMsPerSecond / 1000) * r.duration) * 1e6) / Math.max(1, r['2xx']),
      ),
      grossCpuMicrosecondsPerRequest: Math.round((cpu * 1e6) / Math.max(1, r['2xx'])),
      requests: r['2xx'],
      non2xx: r.non2xx,
      loadAverage: round(loadavg()[0] ?? 0, 2),
    });
  }
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
