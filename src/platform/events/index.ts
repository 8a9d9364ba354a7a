import { sql } from 'kysely';
import type { Actor } from '../actor.ts';
import { auditInsert, type AuditEntry } from '../audit/index.ts';
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
   * given with it is written by the same statement (one round trip instead of two).
   */
  async publish(tx: Db, event: NewEvent, options: { audit?: AuditEntry } = {}): Promise<number> {
    const payload = JSON.stringify({
      ...event.payload,
      ...(event.actor.onBehalfOf ? { onBehalfOf: event.actor.onBehalfOf } : {}),
    });
    const audited = options.audit ? sql`, audited as (${auditInsert(options.audit)})` : sql``;
    const { rows } = await sql<{ id: number }>`
      with published as (
        insert into domain_events (type, subject_type, subject_id, actor_type, actor_id, payload)
        values (${event.type}, ${event.subjectType}, ${event.subjectId}, ${event.actor.type},
                ${event.actor.id}, ${payload}::jsonb)
        returning id)${audited}
      select id from published`.execute(tx);
    const id = Number(rows[0]!.id);
    for (const subscriber of this.subscribers.get(event.type) ?? []) {
      await this.jobs.send(tx, subscriber.name, { eventId: id });
    }
    return id;
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
