import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import PgBoss from 'pg-boss';
import { executorFor, type Database, type Db } from '../db/index.ts';
import { isDatabaseUnavailable } from '../http/errors.ts';
import { currentContext, runInContext } from '../ops/context.ts';

/** The request that sent a job, carried in its data so the worker's log lines name it. */
function withRequestId<T extends object>(data: T): T {
  const requestId = currentContext()?.requestId;
  if (!requestId || 'requestId' in data) return data;
  return { ...data, requestId };
}

function requestIdOf(data: unknown): string | undefined {
  const id = data && typeof data === 'object' ? (data as { requestId?: unknown }).requestId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** Runs a job's handler in a context naming the job (and the request that sent it) for log lines. */
function inJobContext<T>(name: string, job: { id: string; data: unknown }, fn: () => Promise<T>): Promise<T> {
  const requestId = requestIdOf(job.data);
  return runInContext({ ...(requestId ? { requestId } : {}), job: name, jobId: job.id }, fn);
}

export interface JobDefinition<T> {
  /** Queue name, `area.task`. */
  name: string;
  handler: (data: T, meta: { id: string; retryCount: number }) => Promise<void>;
  /** Run on a cron schedule (UTC), e.g. '15 * * * *'. */
  cron?: string;
  /**
   * 'short': at most one job waits at a time; sending another while one waits adds nothing. For
   * jobs that do whatever is due rather than one thing.
   */
  policy?: 'short';
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** Jobs still failing after their retries land on `<name>.dead` for people to look at. */
  deadLetter?: boolean;
}

/** Jobs fetched at a time per queue. */
const BATCH_SIZE = 25;

/**
 * How often each queue's own fetch loop runs when nothing wakes it. One shared check per polling
 * interval finds the queues with due jobs and wakes just those: a fetch per queue per interval was
 * 26 queries a second in `kiln all`, 54 ms of CPU a second between Kiln and PostgreSQL while
 * idle. This slow loop is the backstop should a wake-up be missed.
 */
const BACKSTOP_POLL_SECONDS = 60;

export interface JobsOptions {
  /** Whether this process runs job handlers and schedules (web-only processes just enqueue). */
  runWorkers: boolean;
  pollingIntervalSeconds?: number;
  /** Problems, with their error; without one, news (a check that failed works again). */
  log?: (message: string, error?: unknown) => void;
  /** Called after each job this process ran succeeds (inside the job's context, so log lines name it). */
  onDone?: (name: string, id: string, ms: number) => void;
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
  private wakeUps?: NodeJS.Timeout;

  constructor(
    database: Database,
    private readonly options: JobsOptions,
  ) {
    this.boss = new PgBoss({
      ...database.jobConnection,
      schema: 'pgboss',
      // Maintenance and monitoring touch every queue; on the embedded database keep them rare.
      maintenanceIntervalSeconds: 300,
      // Processes that only send jobs (kiln web) leave maintenance and cron timekeeping to workers.
      supervise: options.runWorkers,
      schedule: options.runWorkers,
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
        ...(def.policy ? { policy: def.policy } : {}),
        ...(def.deadLetter ? { deadLetter: `${def.name}.dead` } : {}),
      });
    }
    this.started = true;
    if (!this.options.runWorkers) return;
    survivePgBossOutages(this.options.log);
    for (const def of this.definitions.values()) {
      if (def.cron) await this.boss.schedule(def.name, def.cron, {}, { tz: 'UTC' });
    }
    const workerIds = new Map<string, string>();
    for (const def of this.definitions.values()) {
      let workerId = '';
      workerId = await this.boss.work<unknown>(
        def.name,
        // pg-boss waits a polling interval between fetches whether or not it found work, so
        // fetch a batch: one job per interval would cap each queue at one job a second.
        {
          pollingIntervalSeconds: BACKSTOP_POLL_SECONDS,
          includeMetadata: true,
          batchSize: BATCH_SIZE,
        },
        async (jobs) => {
          // A full batch means more are probably waiting: fetch again at once, not after the
          // polling interval, or a queue could never do more than a batch an interval.
          if (jobs.length === BATCH_SIZE && workerId) this.boss.notifyWorker(workerId);
          for (const job of jobs) {
            const started = Date.now();
            const run = inJobContext(def.name, job, async () => {
              await def.handler(job.data as never, { id: job.id, retryCount: job.retryCount });
              this.options.onDone?.(def.name, job.id, Date.now() - started);
            });
            this.inFlight.add(run);
            try {
              await run;
            } catch (error) {
              // Fail this job alone (it is retried); the rest of the batch completes as usual.
              this.options.log?.(`job ${def.name} ${job.id} failed`, error);
              await this.boss.fail(def.name, job.id, { message: String(error) }).catch((failure) => {
                // The database is away: the job stays active and is retried when it expires.
                this.options.log?.(`job ${def.name} ${job.id} could not be marked failed`, failure);
              });
            } finally {
              this.inFlight.delete(run);
            }
          }
        },
      );
      workerIds.set(def.name, workerId);
    }
    this.wakeWhenDue(workerIds);
  }

  /** Every polling interval, one query for the queues with due jobs; their workers fetch at once. */
  private wakeWhenDue(workerIds: Map<string, string>): void {
    let checking = false;
    let failing = false;
    this.wakeUps = setInterval(
      () => {
        if (checking) return;
        checking = true;
        this.boss
          .getDb()
          .executeSql(
            `select distinct name from pgboss.job where state < 'active' and start_after < now()`,
            [],
          )
          .then((result) => {
            if (failing) this.options.log?.('job queue: checking for due jobs works again');
            failing = false;
            for (const { name } of result.rows as Array<{ name: string }>) {
              const workerId = workerIds.get(name);
              if (workerId) this.boss.notifyWorker(workerId);
            }
          })
          // The database is away: the queues' own slow loops carry on, and so does this. Said once
          // an outage, not every interval.
          .catch((error: unknown) => {
            if (!failing) this.options.log?.('job queue: checking for due jobs failed', error);
            failing = true;
          })
          .finally(() => (checking = false));
      },
      (this.options.pollingIntervalSeconds ?? 2) * 1000,
    );
    this.wakeUps.unref();
  }

  private async ensureQueue(name: string, options: Omit<PgBoss.Queue, 'name'>) {
    const existing = await this.boss.getQueue(name);
    if (!existing) await this.boss.createQueue(name, { name, ...options });
  }

  /** Enqueues a job, inside `tx` when given so it commits or rolls back with the caller's change. */
  async send<T extends object>(tx: Db | null, name: string, data: T, options: PgBoss.SendOptions = {}) {
    if (!this.definitions.has(name)) throw new Error(`Unknown job ${name}`);
    return this.boss.send(name, withRequestId(data), tx ? { ...options, db: executorFor(tx) } : options);
  }

  /**
   * A job's insert as a fragment of the caller's own statement (a CTE), so a change and its job
   * are written in one round trip. It is pg-boss's own insert, taken from `send` rather than
   * copied. With `from`, the job is inserted only when that earlier CTE of the statement gave a
   * row (the queue's name is read from it, and no queue has a null name). `fields` are added to
   * the job's data from SQL: values the statement itself makes, such as a new row's id.
   */
  async insertSql<T extends object>(
    name: string,
    data: T,
    options: { from?: string; fields?: Record<string, RawBuilder<unknown>> } = {},
  ): Promise<RawBuilder<{ id: string }>> {
    if (!this.definitions.has(name)) throw new Error(`Unknown job ${name}`);
    const sent = withRequestId(data);
    let captured: { text: string; values: unknown[] } | undefined;
    const id = randomUUID();
    await this.boss.send(name, sent, {
      id,
      db: {
        executeSql: async (text: string, values: unknown[]) => {
          captured = { text, values };
          return { rows: [{ id }] };
        },
      },
    });
    // pg-boss 10's insert: $2 is the queue's name and $3 the data. Checked, so an upgrade that
    // moves them fails here (and in the tests) rather than queue the wrong job.
    if (
      !captured ||
      /\$\$|;/.test(captured.text) ||
      captured.values[1] !== name ||
      captured.values[2] !== sent
    )
      throw new Error(`pg-boss did not give the insert Kiln expects for ${name}`);
    const values: unknown[] = [...captured.values];
    if (options.from) values[1] = sql`(select cast(${name} as text) from ${sql.table(options.from)} limit 1)`;
    const fields = Object.entries(options.fields ?? {});
    if (fields.length)
      values[2] = sql`(cast(${JSON.stringify(sent)} as jsonb) || jsonb_build_object(${sql.join(
        fields.map(([key, value]) => sql`cast(${key} as text), ${value}`),
      )}))`;
    // pg-boss numbers its parameters ($1, $2, ...); Kysely numbers them again in the whole statement.
    const parts = captured.text.split(/\$(\d+)/);
    const texts = parts.filter((_, i) => i % 2 === 0);
    const strings = Object.assign(texts, { raw: texts }) as TemplateStringsArray;
    const parameters = parts.filter((_, i) => i % 2 === 1).map((n) => values[Number(n) - 1]);
    return sql<{ id: string }>(strings, ...parameters);
  }

  /** Runs one job type's due jobs now, in this process (operators' tools and tests). */
  async runDue(name: string, limit = 100): Promise<number> {
    const def = this.definitions.get(name);
    if (!def) throw new Error(`Unknown job ${name}`);
    const jobs = await this.boss.fetch<unknown>(name, { batchSize: limit, includeMetadata: true });
    for (const job of jobs) {
      try {
        await inJobContext(name, job, () =>
          def.handler(job.data as never, { id: job.id, retryCount: job.retryCount }),
        );
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

  /** Answers when the queue's database does (readiness). */
  async ping(): Promise<void> {
    await this.boss.getDb().executeSql('select 1', []);
  }

  /**
   * Jobs waiting per queue (created or waiting to retry, and due) and the age in seconds of the
   * oldest of them, dead-letter queues included: what /metrics reports. One query over pg-boss's
   * job table.
   */
  async queueStats(): Promise<Array<{ name: string; waiting: number; oldestSeconds: number }>> {
    const result = await this.boss.getDb().executeSql(
      `select name, count(*)::int as waiting,
              coalesce(extract(epoch from now() - min(created_on)), 0)::float8 as oldest
         from pgboss.job
        where state in ('created', 'retry') and start_after <= now()
        group by name`,
      [],
    );
    const rows = result.rows as Array<{ name: string; waiting: number; oldest: number }>;
    const byName = new Map(rows.map((r) => [r.name, r]));
    const queues = [...this.definitions.values()].flatMap((d) =>
      d.deadLetter ? [d.name, `${d.name}.dead`] : [d.name],
    );
    return queues.map((name) => ({
      name,
      waiting: Number(byName.get(name)?.waiting ?? 0),
      oldestSeconds: Number(byName.get(name)?.oldest ?? 0),
    }));
  }

  names(): string[] {
    return [...this.definitions.keys()];
  }

  /** Stops fetching, lets running jobs finish (up to `timeoutMs`), then closes the queue. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.started) return;
    clearInterval(this.wakeUps);
    if (this.options.runWorkers) {
      await Promise.allSettled([...this.definitions.keys()].map((name) => this.boss.offWork(name)));
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (this.inFlight.size > 0) {
      this.options.log?.(`stopping with ${this.inFlight.size} jobs still running; they will be retried`);
    }
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000, close: true });
  }
}

let survivingOutages = false;
/**
 * pg-boss marks a batch complete or failed without awaiting it: while PostgreSQL restarts, that
 * rejection is unhandled and would end the worker process. Such a rejection is logged instead (its
 * jobs stay active and are retried when they expire); any other unhandled rejection still ends
 * the process, as Node does by default.
 */
function survivePgBossOutages(log?: (message: string, error: unknown) => void): void {
  if (survivingOutages) return;
  survivingOutages = true;
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseUnavailable(reason)) {
      log?.('job queue: database unavailable', reason);
      return;
    }
    throw reason;
  });
}
