import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
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
    const template = this.templates.get(message.template);
    if (!template) throw new Error(`Unknown notification template ${message.template}`);
    const id = randomUUID();
    const insert = tables<NotificationTables>(tx)
      .insertInto('notifications')
      .values({
        id,
        channel: to.channel,
        recipient: to.recipient,
        resident_id: to.residentId ?? null,
        template: message.template,
        personalisation: JSON.stringify(message.personalisation),
        subject: to.channel === 'email' ? fill(template.subject, message.personalisation) : null,
        body: fill(template.body, message.personalisation),
      } as never)
      .compile();
    // The message and the job that sends it, in one statement: one round trip, not two. A job
    // the queue did not take (no such queue) fails the caller's change rather than leave a
    // message nobody will send.
    const job = await this.jobs.insertStatement(SEND_JOB, { id }, insert.parameters.length + 1);
    const { rows } = await tx.executeQuery<{ queued: number }>(
      CompiledQuery.raw(
        `with job as (${job.sql}) ${insert.sql} returning (select count(*) from job) as queued`,
        [...insert.parameters, ...job.parameters],
      ),
    );
    if (Number(rows[0]?.queued) !== 1) throw new Error(`The message ${id} could not be queued for sending`);
    return id;
  }

  /** Queues a message to a resident by each channel they chose (email, text message). */
  async toResident(tx: Db, residentId: string, message: Message): Promise<string[]> {
    const resident = await tables<NotificationTables>(tx)
      .selectFrom('residents')
      .select(['email', 'phone', 'notify_by_email', 'notify_by_sms'])
      .where('id', '=', residentId)
      .executeTakeFirst();
    if (!resident) return [];
    const ids: string[] = [];
    if (resident.email && (resident.notify_by_email || !resident.phone)) {
      ids.push(await this.send(tx, { channel: 'email', recipient: resident.email, residentId }, message));
    }
    if (resident.phone && resident.notify_by_sms) {
      ids.push(await this.send(tx, { channel: 'sms', recipient: resident.phone, residentId }, message));
    }
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
