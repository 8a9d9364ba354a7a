import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One readiness check: resolves when the dependency answers, throws or returns false when not. */
export type ReadinessCheck = () => Promise<boolean | void>;

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why it failed, for the log (not for the public answer: it may name hosts). */
  error?: string;
}

/**
 * What operators see of a running Kiln: readiness checks and Prometheus metrics. The platform
 * adds its own (database, job queue, HTTP); modules add theirs through `gauge` and `readiness`
 * without the platform knowing them.
 */
export class Ops {
  readonly registry = new Registry();
  private readonly checks = new Map<string, ReadinessCheck>();
  readonly http: {
    requests: Counter<'method' | 'route' | 'status'>;
    duration: Histogram<'method' | 'route'>;
    errors: Counter<'method' | 'route'>;
  };

  constructor(options: { processName?: string } = {}) {
    this.registry.setDefaultLabels({ process_type: options.processName ?? 'all' });
    collectDefaultMetrics({ register: this.registry, prefix: 'kiln_' });
    this.http = {
      requests: new Counter({
        name: 'kiln_http_requests_total',
        help: 'HTTP requests answered, by route, method and status',
        labelNames: ['method', 'route', 'status'],
        registers: [this.registry],
      }),
      duration: new Histogram({
        name: 'kiln_http_request_duration_seconds',
        help: 'Time to answer an HTTP request',
        labelNames: ['method', 'route'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [this.registry],
      }),
      errors: new Counter({
        name: 'kiln_http_errors_total',
        help: 'HTTP requests answered with a 5xx status',
        labelNames: ['method', 'route'],
        registers: [this.registry],
      }),
    };
  }

  /** Adds a readiness check; /readyz answers 503 naming every check that fails. */
  readiness(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /**
   * Adds a gauge whose value is read when metrics are scraped. `collect` returns one number, or
   * one number per label value (for the label `labelName`).
   */
  gauge(
    name: string,
    help: string,
    collect: () => number | Promise<number> | Map<string, number> | Promise<Map<string, number>>,
    labelName = 'name',
  ): void {
    if (this.registry.getSingleMetric(name)) throw new Error(`Metric ${name} registered twice`);
    new Gauge({
      name,
      help,
      labelNames: [labelName],
      registers: [this.registry],
      async collect() {
        const value = await collect();
        this.reset();
        if (typeof value === 'number') this.set(value);
        else for (const [label, v] of value) this.set({ [labelName]: label }, v);
      },
    });
  }

  /** A counter that grows by itself (`collect` returns the running total); Prometheus counters must only rise. */
  counter(name: string, help: string, collect: () => number): void {
    if (this.registry.getSingleMetric(name)) throw new Error(`Metric ${name} registered twice`);
    let last = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const total = collect();
        if (total > last) this.inc(total - last);
        last = Math.max(last, total);
      },
    });
  }

  /** Runs every readiness check (each bounded to `timeoutMs`) and says which failed. */
  async ready(timeoutMs = 2000): Promise<CheckResult[]> {
    return Promise.all(
      [...this.checks].map(async ([name, check]): Promise<CheckResult> => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const result = await Promise.race([
            check(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return result === false ? { name, ok: false, error: 'not connected' } : { name, ok: true };
        } catch (error) {
          return { name, ok: false, error: error instanceof Error ? error.message : String(error) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
