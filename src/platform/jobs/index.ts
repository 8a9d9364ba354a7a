import PgBoss from 'pg-boss';
import { executorFor, type Database, type Db } from '../db/index.ts';

export interface JobDefinition<T> {
  /** Queue name, `area.task`. */
  name: string;
  handler: (data: T, meta: { id: string; retryCount: number }) => Promise<void>;
  /** Run on a cron schedule (UTC), e.g. '15 * * * *'. */
  cron?: string;
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** Jobs still failing after their retries land on `<name>.dead` for people to look at. */
  deadLetter?: boolean;
}

export interface JobsOptions {
  /** Whether this process runs job handlers and schedules (web-only processes just enqueue). */
  runWorkers: boolean;
  pollingIntervalSeconds?: number;
  log?: (message: string, error?: unknown) => void;
}

/**
 * Background jobs on PostgreSQL (pg-boss). A job sent with a transaction is written in that
 * transaction: it exists only if the change it belongs to commits, and it survives a crash.
 */
export class Jobs {
  private readonly boss: PgBoss;
  private readonly definitions = new Map<string, JobDefinition<never>>();
  private started = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    database: Database,
    private readonly options: JobsOptions,
  ) {
    this.boss = new PgBoss({
      ...database.jobConnection,
      schema: 'pgboss',
      // Maintenance and monitoring touch every queue; on the embedded database keep them rare.
      maintenanceIntervalSeconds: 300,
      max: 4,
    } as PgBoss.ConstructorOptions);
    this.boss.on('error', (error) => this.options.log?.('job queue error', error));
  }

  /** Registers a job type; call before start(). */
  define<T>(definition: JobDefinition<T>): void {
    if (this.started) throw new Error(`Job ${definition.name} defined after start`);
    this.definitions.set(definition.name, definition as unknown as JobDefinition<never>);
  }

  async start(): Promise<void> {
    await this.boss.start();
    for (const def of this.definitions.values()) {
      if (def.deadLetter) await this.ensureQueue(`${def.name}.dead`, {});
      await this.ensureQueue(def.name, {
        retryLimit: def.retryLimit ?? 5,
        retryDelay: def.retryDelaySeconds ?? 10,
        retryBackoff: true,
        ...(def.deadLetter ? { deadLetter: `${def.name}.dead` } : {}),
      });
    }
    this.started = true;
    if (!this.options.runWorkers) return;
    for (const def of this.definitions.values()) {
      if (def.cron) await this.boss.schedule(def.name, def.cron, {}, { tz: 'UTC' });
    }
    for (const def of this.definitions.values()) {
      await this.boss.work<unknown>(
        def.name,
        // pg-boss waits a polling interval between fetches whether or not it found work, so
        // fetch a batch: one job per interval would cap each queue at one job a second.
        {
          pollingIntervalSeconds: this.options.pollingIntervalSeconds ?? 2,
          includeMetadata: true,
          batchSize: 25,
        },
        async (jobs) => {
          for (const job of jobs) {
            const run = def.handler(job.data as never, { id: job.id, retryCount: job.retryCount });
            this.inFlight.add(run);
            try {
              await run;
            } catch (error) {
              // Fail this job alone (it is retried); the rest of the batch completes as usual.
              this.options.log?.(`job ${def.name} ${job.id} failed`, error);
              await this.boss.fail(def.name, job.id, { message: String(error) });
            } finally {
              this.inFlight.delete(run);
            }
          }
        },
      );
    }
  }

  private async ensureQueue(name: string, options: Omit<PgBoss.Queue, 'name'>) {
    const existing = await this.boss.getQueue(name);
    if (!existing) await this.boss.createQueue(name, { name, ...options });
  }

  /** Enqueues a job, inside `tx` when given so it commits or rolls back with the caller's change. */
  async send<T extends object>(tx: Db | null, name: string, data: T, options: PgBoss.SendOptions = {}) {
    if (!this.definitions.has(name)) throw new Error(`Unknown job ${name}`);
    return this.boss.send(name, data, tx ? { ...options, db: executorFor(tx) } : options);
  }

  /** Runs one job type's due jobs now, in this process (operators' tools and tests). */
  async runDue(name: string, limit = 100): Promise<number> {
    const def = this.definitions.get(name);
    if (!def) throw new Error(`Unknown job ${name}`);
    const jobs = await this.boss.fetch<unknown>(name, { batchSize: limit, includeMetadata: true });
    for (const job of jobs) {
      try {
        await def.handler(job.data as never, { id: job.id, retryCount: job.retryCount });
        await this.boss.complete(name, job.id);
      } catch (error) {
        await this.boss.fail(name, job.id, { message: String(error) });
      }
    }
    return jobs.length;
  }

  queueSize(name: string): Promise<number> {
    return this.boss.getQueueSize(name);
  }

  names(): string[] {
    return [...this.definitions.keys()];
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await Promise.allSettled([...this.inFlight]);
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000, close: true });
  }
}
