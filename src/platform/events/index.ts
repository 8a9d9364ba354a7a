import { sql, type RawBuilder } from 'kysely';
import type { Actor } from '../actor.ts';
import { auditEachRow, auditInsert, type AuditEntry } from '../audit/index.ts';
import { tables, type Db } from '../db/index.ts';
import type { Jobs } from '../jobs/index.ts';

export interface DomainEvent<P = Record<string, unknown>> {
  id: number;
  type: string;
  subjectType: string;
  subjectId: string;
  actor: Actor;
  payload: P;
  occurredAt: Date;
}

export interface NewEvent<P = Record<string, unknown>> {
  /** `noun.past-tense-verb`: `case.created`, `case.status_changed`. */
  type: string;
  subjectType: string;
  subjectId: string;
  actor: Actor;
  payload?: P;
}

interface EventTables {
  domain_events: {
    id: number;
    type: string;
    subject_type: string;
    subject_id: string;
    actor_type: string;
    actor_id: string | null;
    payload: unknown;
    occurred_at: Date;
  };
}

type Handler = (event: DomainEvent) => Promise<void>;

/**
 * Domain events through a transactional outbox. `publish` writes the event, and one job for
 * each subscriber, in the caller's transaction; the job queue then delivers each at least once,
 * with retries. Handlers must therefore be idempotent.
 */
export class Events {
  private readonly subscribers = new Map<string, Array<{ name: string }>>();

  constructor(private readonly jobs: Jobs) {}

  /** Subscribes a named handler to an event type; call at start-up, before jobs start. */
  subscribe(type: string, subscriber: string, handler: Handler): void {
    const queue = `event.${subscriber}`;
    const list = this.subscribers.get(type) ?? [];
    list.push({ name: queue });
    this.subscribers.set(type, list);
    this.jobs.define<{ eventId: number }>({
      name: queue,
      retryLimit: 8,
      deadLetter: true,
      handler: async ({ eventId }) => {
        const event = await this.load(eventId);
        if (event) await handler(event);
      },
    });
  }

  private db: Db | null = null;
  /** Gives the bus the database it loads events from (set once the database is open). */
  bind(db: Db): void {
    this.db = db;
  }

  /**
   * Records an event and schedules its subscribers, inside the caller's transaction. An audit entry
   * given with it is written by the same statement (one round trip for all of it).
   */
  async publish(tx: Db, event: NewEvent, options: { audit?: AuditEntry } = {}): Promise<number> {
    const ctes = await this.publishSql(event, { ...options, name: 'published' });
    const { rows } = await sql<{ id: number }>`with ${ctes} select id from published`.execute(tx);
    return Number(rows[0]!.id);
  }

  /**
   * An event, its audit entry and its subscribers' jobs as CTEs named `<name>`, `<name>_audit`
   * and `<name>_job_<n>` of the caller's own statement. With `from`, they are written only when
   * that earlier CTE gave a row, and the subject's id is read from its `subjectId` column.
   */
  async publishSql(
    event: Omit<NewEvent, 'subjectId'> & { subjectId?: string },
    options: { name: string; audit?: AuditEntry; from?: { cte: string; subjectId: string } },
  ): Promise<RawBuilder<unknown>> {
    const { name, from } = options;
    if (!from && event.subjectId === undefined) throw new Error(`The event ${event.type} names no subject`);
    const payload = JSON.stringify({
      ...event.payload,
      ...(event.actor.onBehalfOf ? { onBehalfOf: event.actor.onBehalfOf } : {}),
    });
    const subjectId = from ? sql.ref(from.subjectId) : sql`${event.subjectId}`;
    const ctes: RawBuilder<unknown>[] = [
      sql`${sql.table(name)} as (
        insert into domain_events (type, subject_type, subject_id, actor_type, actor_id, payload)
        select cast(${event.type} as text), cast(${event.subjectType} as text), cast(${subjectId} as text),
               cast(${event.actor.type} as text), cast(${event.actor.id} as text), cast(${payload} as jsonb)
        ${from ? sql`from ${sql.table(from.cte)}` : sql``}
        returning id)`,
    ];
    if (options.audit) {
      const audit = from
        ? auditEachRow(options.audit, {
            from: from.cte,
            subjectId: from.subjectId,
            where: sql`true`,
            orderBy: [from.subjectId],
          })
        : auditInsert(options.audit);
      ctes.push(sql`${sql.table(`${name}_audit`)} as (${audit})`);
    }
    const subscribers = this.subscribers.get(event.type) ?? [];
    for (const [i, subscriber] of subscribers.entries()) {
      const job = await this.jobs.insertSql(
        subscriber.name,
        {},
        { from: name, fields: { eventId: sql`(select id from ${sql.table(name)})` } },
      );
      ctes.push(sql`${sql.table(`${name}_job_${i}`)} as (${job})`);
    }
    return sql.join(ctes);
  }

  async load(id: number): Promise<DomainEvent | undefined> {
    if (!this.db) throw new Error('Events used before bind()');
    const row = await tables<EventTables>(this.db)
      .selectFrom('domain_events')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toEvent(row);
  }

  /** Events about one subject, oldest first: a timeline. */
  async forSubject(db: Db, subjectType: string, subjectId: string): Promise<DomainEvent[]> {
    const rows = await tables<EventTables>(db)
      .selectFrom('domain_events')
      .selectAll()
      .where('subject_type', '=', subjectType)
      .where('subject_id', '=', subjectId)
      .orderBy('id')
      .execute();
    return rows.map(toEvent);
  }
}

function toEvent(row: EventTables['domain_events']): DomainEvent {
  return {
    id: row.id,
    type: row.type,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    actor: { type: row.actor_type as Actor['type'], id: row.actor_id },
    payload: row.payload as Record<string, unknown>,
    occurredAt: row.occurred_at,
  };
}
