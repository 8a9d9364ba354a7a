import http from 'node:http';
import { median, round } from './load.ts';

export interface PlannedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OpenLoopOptions {
  url: string;
  /** Requests started per second, whatever the server's pace. */
  rate: number;
  durationSeconds: number;
  /** The i-th request (0-based); called once per request, so keys can be unique. */
  request: (i: number) => PlannedRequest;
  /** Sockets kept open; requests beyond them queue (and their waiting counts as latency). */
  maxSockets?: number;
}

export interface OpenLoopResult {
  planned: number;
  /** Responses per status code. */
  statusCounts: Record<string, number>;
  /** Connection errors and timeouts: no answer at all. */
  errors: number;
  elapsedSeconds: number;
  /** 2xx answers per second over the whole run (first planned start to last answer). */
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The first few non-2xx answers, to say what went wrong. */
  sampleFailures: string[];
}

/**
 * Open-loop load at a fixed rate: request i is due at start + i/rate and is sent then, whether or
 * not earlier ones have been answered. Latency runs from the time it was due, not from when a free
 * connection let it go, so a server that falls behind shows it in p99 (no coordinated omission).
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 128 });
  const planned = Math.round(options.rate * options.durationSeconds);
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const sampleFailures: string[] = [];
  let errors = 0;
  let sent = 0;
  let finished = 0;
  let lastAnswer = 0;
  const start = performance.now();

  const done = new Promise<void>((resolve) => {
    const send = (i: number) => {
      const due = start + (i * 1000) / options.rate;
      const spec = options.request(i);
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: spec.method,
          path: spec.path,
          headers: spec.body
            ? { ...spec.headers, 'content-length': Buffer.byteLength(spec.body) }
            : spec.headers,
          agent,
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const now = performance.now();
            lastAnswer = now;
            latencies.push(now - due);
            const code = String(res.statusCode);
            statusCounts[code] = (statusCounts[code] ?? 0) + 1;
            if ((res.statusCode ?? 0) >= 300 && sampleFailures.length < 5)
              sampleFailures.push(`${code} ${Buffer.concat(chunks).toString().slice(0, 300)}`);
            if (++finished === planned) resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) => {
        errors++;
        if (sampleFailures.length < 5) sampleFailures.push(`error ${error.message}`);
        if (++finished === planned) resolve();
      });
      req.end(spec.body);
    };
    const tick = () => {
      const due = Math.min(planned, Math.floor(((performance.now() - start) * options.rate) / 1000) + 1);
      while (sent < due) send(sent++);
      if (sent < planned) setTimeout(tick, 1);
    };
    tick();
  });
  await done;
  agent.destroy();

  const ok = Object.entries(statusCounts)
    .filter(([code]) => code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  const elapsedSeconds = (Math.max(lastAnswer, start) - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    planned,
    statusCounts,
    errors,
    elapsedSeconds: round(elapsedSeconds, 2),
    achievedPerSecond: round(ok / Math.max(elapsedSeconds, options.durationSeconds)),
    p50Ms: round(latencies.length ? median(latencies) : 0, 2),
    p99Ms: round(percentile(latencies, 99), 2),
    maxMs: round(latencies.at(-1) ?? 0, 2),
    sampleFailures,
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
