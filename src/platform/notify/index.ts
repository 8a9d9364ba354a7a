import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import { failUnless, tables, type Db } from '../db/index.ts';
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

const SEND_JOB = 'notify.send';

/** Fills ((placeholders)); a missing value is an error, never a blank in a letter to a resident. */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\(\(([a-z0-9_]+)\)\)/gi, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`No value for ((${key}))`);
    return value;
  });
}

/**
 * Notifications to residents and staff. A message is stored in the caller's transaction with a
 * job to send it; the job retries through the adapter until it is sent, so none is lost.
 */
export class Notify {
  private readonly templates = new Map<string, Template>();

  constructor(
    private readonly jobs: Jobs,
    private readonly adapter: NotifyAdapter,
    private readonly db: () => Db,
  ) {
    jobs.define<{ id: string }>({
      name: SEND_JOB,
      retryLimit: 10,
      retryDelaySeconds: 30,
      deadLetter: true,
      handler: ({ id }) => this.deliver(id),
      batchHandler: (jobs) =>
        this.deliverMany(
          jobs.map((job) => job.data.id),
          jobs,
        ),
    });
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
    const queued = await this.queueSql(to, message, { name: 'message' });
    await sql`with ${queued.ctes} select ${queued.check} as queued`.execute(tx);
    return queued.id;
  }

  /**
   * A message and the job that sends it, as CTEs of the caller's own statement, so a change and
   * its message are written in one round trip. With `from`, the message is stored only when that
   * earlier CTE gave a row (a repeated submission stores none). `check` must be selected by the
   * statement: it fails the whole statement if the message was stored but its job was not (no
   * such queue), rather than leave a message nobody will send.
   */
  async queueSql(
    to: { channel: 'email' | 'sms'; recipient: string; residentId?: string | null },
    message: Message,
    options: { name: string; from?: string },
  ): Promise<{ id: string; ctes: RawBuilder<unknown>; check: RawBuilder<boolean> }> {
    const template = this.templates.get(message.template);
    if (!template) throw new Error(`Unknown notification template ${message.template}`);
    const id = randomUUID();
    const name = sql.table(options.name);
    const jobName = `${options.name}_job`;
    const job = await this.jobs.insertSql(SEND_JOB, { id }, { from: options.name });
    const ctes = sql`${name} as (
        insert into notifications (id, channel, recipient, resident_id, template, personalisation, subject, body)
        select cast(${id} as uuid), cast(${to.channel} as text), cast(${to.recipient} as text),
               cast(${to.residentId ?? null} as uuid), cast(${message.template} as text),
               cast(${JSON.stringify(message.personalisation)} as jsonb),
               cast(${to.channel === 'email' ? fill(template.subject, message.personalisation) : null} as text),
               cast(${fill(template.body, message.personalisation)} as text)
        ${options.from ? sql`from ${sql.table(options.from)}` : sql``}
        returning id),
      ${sql.table(jobName)} as (${job})`;
    const check = failUnless(
      sql<boolean>`(select count(*) from ${sql.table(jobName)}) = (select count(*) from ${name})`,
      `The message ${id} could not be queued for sending`,
    );
    return { id, ctes, check };
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

  /** Sends a stored message through the adapter; throws so the job queue retries on failure. */
  async deliver(id: string): Promise<void> {
    const failed = await this.deliverMany([id]);
    if (failed.size) throw failed.get(id);
  }

  /**
   * Sends stored messages through the adapter at once: one statement reads them, one marks those
   * sent (and one records any failures). Answers the failures by message id (or by the id of the
   * job that carried it, when `jobs` gives them) so only those are retried. A message already sent
   * is skipped: delivery is at least once, a resident gets it once.
   */
  async deliverMany(
    ids: string[],
    jobs?: Array<{ id: string; data: { id: string } }>,
  ): Promise<Map<string, unknown>> {
    const db = this.db();
    const rows = await tables<NotificationTables>(db)
      .selectFrom('notifications')
      .selectAll()
      .where('id', '=', sql<string>`any(${ids}::uuid[])`)
      .where('status', '!=', 'sent')
      .execute();
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
    if (sent.length)
      await sql`
        update notifications as n
           set status = 'sent', adapter = ${this.adapter.name}, provider_reference = v.reference,
               sent_at = now(), attempts = n.attempts + 1, last_error = null
          from unnest(${sent.map((o) => o.id)}::uuid[], ${sent.map((o) => o.providerReference)}::text[])
               as v(id, reference)
         where n.id = v.id`.execute(db);
    if (failed.length)
      await sql`
        update notifications as n
           set attempts = n.attempts + 1, last_error = v.error
          from unnest(${failed.map((o) => o.id)}::uuid[], ${failed.map((o) => String(o.error).slice(0, 500))}::text[])
               as v(id, error)
         where n.id = v.id`.execute(db);
    const jobOf = new Map(jobs?.map((job) => [job.data.id, job.id]));
    return new Map(failed.map((o) => [jobOf.get(o.id) ?? o.id, o.error]));
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
