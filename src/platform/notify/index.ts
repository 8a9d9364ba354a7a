import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import { tables, type Db } from '../db/index.ts';
import type { Jobs } from '../jobs/index.ts';
import type { NotifyAdapter } from './adapters.ts';

export interface Template {
  /** Email subject; ((placeholders)) as GOV.UK Notify writes them. */
  subject: string;
  body: string;
}

export interface NotificationTables {
  notifications: {
    id: string;
    channel: 'email' | 'sms';
    recipient: string;
    resident_id: string | null;
    template: string;
    personalisation: unknown;
    subject: string | null;
    body: string;
    status: 'queued' | 'sent' | 'failed';
    adapter: string | null;
    provider_reference: string | null;
    attempts: number;
    last_error: string | null;
    created_at: Date;
    sent_at: Date | null;
  };
  residents: {
    id: string;
    email: string | null;
    phone: string | null;
    notify_by_email: boolean;
    notify_by_sms: boolean;
  };
}

export interface Message {
  template: string;
  personalisation: Record<string, string>;
}

const DISPATCH_JOB = 'notify.dispatch';
/** How often due messages are looked for: the most a new message waits before it is sent. */
const DISPATCH_EVERY_SECONDS = 1;
/** Messages claimed and sent together. */
const BATCH_SIZE = 100;
/** Batches one dispatch job sends before it hands over to the next (a job should not run for ever). */
const BATCHES_PER_JOB = 50;
/** A message a sender has claimed is due again after this, should the sender die while sending. */
const LEASE_SECONDS = 600;
/** Attempts before a message is given up as failed (for people to look at in the outbox). */
const MAX_ATTEMPTS = 10;
/** The wait before the next attempt grows with each: 30 s, 60 s, 90 s, ... */
const RETRY_DELAY_SECONDS = 30;

type Claimed = Pick<
  NotificationTables['notifications'],
  'id' | 'channel' | 'recipient' | 'template' | 'personalisation' | 'subject' | 'body' | 'attempts'
>;

/** Fills ((placeholders)); a missing value is an error, never a blank in a letter to a resident. */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\(\(([a-z0-9_]+)\)\)/gi, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`No value for ((${key}))`);
    return value;
  });
}

/**
 * Notifications to residents and staff. A message is stored in the caller's transaction, and the
 * table is its queue: a dispatch job (pg-boss) runs every second, claims due messages in batches
 * and sends them through the adapter, retrying a refused one later, so none is lost
 * (decisions/platform-notifications-queue.md).
 */
export class Notify {
  private readonly templates = new Map<string, Template>();

  constructor(
    private readonly jobs: Jobs,
    private readonly adapter: NotifyAdapter,
    private readonly db: () => Db,
  ) {
    // A chain: each run queues the next, a second later (at once if it left messages waiting);
    // the minute's cron starts the chain again should a process stop while holding it. The
    // queue's policy keeps at most one run waiting.
    jobs.define({
      name: DISPATCH_JOB,
      policy: 'short',
      cron: '* * * * *',
      handler: async () => {
        const { full } = await this.dispatch();
        await this.jobs.send(null, DISPATCH_JOB, {}, { startAfter: full ? 0 : DISPATCH_EVERY_SECONDS });
      },
    });
  }

  /** Starts the dispatch chain now rather than at the next minute (call once the jobs have started). */
  async startDispatching(): Promise<void> {
    await this.jobs.send(null, DISPATCH_JOB, {});
  }

  get adapterName(): string {
    return this.adapter.name;
  }

  /** Registers a message template by name (modules do this at start-up). */
  defineTemplate(name: string, template: Template): void {
    this.templates.set(name, template);
  }

  /** Queues one message to an address or phone number. */
  async send(
    tx: Db,
    to: { channel: 'email' | 'sms'; recipient: string; residentId?: string | null },
    message: Message,
  ): Promise<string> {
    const queued = this.queueSql(to, message, { name: 'message' });
    await sql`with ${queued.ctes} select id from message`.execute(tx);
    return queued.id;
  }

  /**
   * A message as a CTE of the caller's own statement, so a change and its message are written in
   * one round trip. With `from`, the message is stored only when that earlier CTE gave a row (a
   * repeated submission stores none).
   */
  queueSql(
    to: { channel: 'email' | 'sms'; recipient: string; residentId?: string | null },
    message: Message,
    options: { name: string; from?: string },
  ): { id: string; ctes: RawBuilder<unknown> } {
    const template = this.templates.get(message.template);
    if (!template) throw new Error(`Unknown notification template ${message.template}`);
    const id = randomUUID();
    const name = sql.table(options.name);
    const ctes = sql`${name} as (
        insert into notifications (id, channel, recipient, resident_id, template, personalisation, subject, body)
        select cast(${id} as uuid), cast(${to.channel} as text), cast(${to.recipient} as text),
               cast(${to.residentId ?? null} as uuid), cast(${message.template} as text),
               cast(${JSON.stringify(message.personalisation)} as jsonb),
               cast(${to.channel === 'email' ? fill(template.subject, message.personalisation) : null} as text),
               cast(${fill(template.body, message.personalisation)} as text)
        ${options.from ? sql`from ${sql.table(options.from)}` : sql``}
        returning id)`;
    return { id, ctes };
  }

  /** Who a resident is to be told through: each channel they chose (email, text message). */
  async recipientsOf(
    db: Db,
    residentId: string,
  ): Promise<Array<{ channel: 'email' | 'sms'; recipient: string; residentId: string }>> {
    const resident = await tables<NotificationTables>(db)
      .selectFrom('residents')
      .select(['email', 'phone', 'notify_by_email', 'notify_by_sms'])
      .where('id', '=', residentId)
      .executeTakeFirst();
    if (!resident) return [];
    return [
      ...(resident.email && (resident.notify_by_email || !resident.phone)
        ? [{ channel: 'email' as const, recipient: resident.email, residentId }]
        : []),
      ...(resident.phone && resident.notify_by_sms
        ? [{ channel: 'sms' as const, recipient: resident.phone, residentId }]
        : []),
    ];
  }

  /** Queues a message to a resident by each channel they chose (email, text message). */
  async toResident(tx: Db, residentId: string, message: Message): Promise<string[]> {
    const ids: string[] = [];
    for (const to of await this.recipientsOf(tx, residentId)) ids.push(await this.send(tx, to, message));
    return ids;
  }

  /**
   * Sends every message that is due, a batch at a time: one statement claims a batch, one marks
   * those sent, one puts refused ones back for later (or gives them up after MAX_ATTEMPTS). A
   * claimed message is leased: if this process dies while sending, it is due again after
   * LEASE_SECONDS. `full` says the last batch was full, so more may be waiting.
   */
  async dispatch(): Promise<{ sent: number; failed: number; full: boolean }> {
    let sent = 0;
    let failed = 0;
    for (let batch = 0; batch < BATCHES_PER_JOB; batch++) {
      const claimed = await this.claim();
      const outcome = await this.sendClaimed(claimed);
      sent += outcome.sent;
      failed += outcome.failed;
      if (claimed.length < BATCH_SIZE) return { sent, failed, full: false };
    }
    return { sent, failed, full: true };
  }

  private async claim(): Promise<Claimed[]> {
    const { rows } = await sql<Claimed>`
      update notifications
         set attempts = attempts + 1, send_after = now() + make_interval(secs => ${LEASE_SECONDS})
       where id in (select id from notifications
                     where status = 'queued' and send_after <= now()
                     order by send_after
                     limit ${BATCH_SIZE}
                       for update skip locked)
      returning id, channel, recipient, template, personalisation, subject, body, attempts`.execute(
      this.db(),
    );
    return rows;
  }

  private async sendClaimed(rows: Claimed[]): Promise<{ sent: number; failed: number }> {
    const outcomes = await Promise.all(
      rows.map(async (row) => {
        try {
          const { providerReference } = await this.adapter.send({
            id: row.id,
            channel: row.channel,
            recipient: row.recipient,
            template: row.template,
            personalisation: row.personalisation as Record<string, string>,
            subject: row.subject,
            body: row.body,
          });
          return { id: row.id, providerReference };
        } catch (error) {
          return { id: row.id, error };
        }
      }),
    );
    const sent = outcomes.flatMap((o) => ('providerReference' in o ? [o] : []));
    const failed = outcomes.flatMap((o) => ('error' in o ? [o] : []));
    const db = this.db();
    if (sent.length)
      await sql`
        update notifications as n
           set status = 'sent', adapter = ${this.adapter.name}, provider_reference = v.reference,
               sent_at = now(), last_error = null
          from unnest(${sent.map((o) => o.id)}::uuid[], ${sent.map((o) => o.providerReference)}::text[])
               as v(id, reference)
         where n.id = v.id`.execute(db);
    if (failed.length)
      await sql`
        update notifications as n
           set last_error = v.error,
               status = case when n.attempts >= ${MAX_ATTEMPTS} then 'failed' else 'queued' end,
               send_after = now() + make_interval(secs => ${RETRY_DELAY_SECONDS} * n.attempts)
          from unnest(${failed.map((o) => o.id)}::uuid[], ${failed.map((o) => String(o.error).slice(0, 500))}::text[])
               as v(id, error)
         where n.id = v.id`.execute(db);
    return { sent: sent.length, failed: failed.length };
  }

  /** Messages due and not yet sent, and how long the oldest has waited: for the metrics. */
  async backlog(): Promise<{ due: number; oldestSeconds: number }> {
    const { rows } = await sql<{ due: number; oldest_seconds: number | null }>`
      select count(*)::int as due, extract(epoch from now() - min(created_at))::float8 as oldest_seconds
        from notifications where status = 'queued' and send_after <= now()`.execute(this.db());
    return { due: rows[0]?.due ?? 0, oldestSeconds: Math.max(0, rows[0]?.oldest_seconds ?? 0) };
  }

  /** Messages, newest first, for the back-office outbox and the demo inbox. */
  async list(db: Db, filter: { recipient?: string; limit?: number } = {}) {
    let q = tables<NotificationTables>(db)
      .selectFrom('notifications')
      .selectAll()
      .orderBy('created_at', 'desc')
      .limit(filter.limit ?? 100);
    if (filter.recipient) q = q.where('recipient', '=', filter.recipient.toLowerCase());
    return q.execute();
  }
}
