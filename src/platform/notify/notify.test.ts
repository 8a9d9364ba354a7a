import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { tables } from '../db/index.ts';
import type { NotificationTables } from './index.ts';
import { fill, Notify } from './index.ts';
import type { NotifyAdapter } from './adapters.ts';
import { Jobs } from '../jobs/index.ts';

describe('notifications', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('placeholders are filled, and a missing value is an error rather than a blank', () => {
    assert.equal(fill('Hello ((name)), ref ((ref))', { name: 'Sam', ref: 'KLN-1' }), 'Hello Sam, ref KLN-1');
    assert.throws(() => fill('Hello ((name))', {}), /No value for \(\(name\)\)/);
  });

  test('a queued message is sent by the background worker', async () => {
    const { db, notify } = kiln.platform;
    const id = await db
      .transaction()
      .execute((tx) =>
        notify.send(
          tx,
          { channel: 'email', recipient: 'worker.test@example.com' },
          { template: 'sign-in-link', personalisation: { council: 'Kilnford', link: 'http://x/y' } },
        ),
      );
    const sent = await kiln.eventually(async () => {
      const row = await tables<NotificationTables>(db)
        .selectFrom('notifications')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.status === 'sent' ? row : null;
    });
    assert.equal(sent.adapter, 'sandbox');
    assert.match(sent.body, /http:\/\/x\/y/);
  });

  test('a message is not stored when the change it belongs to rolls back', async () => {
    const { db, notify } = kiln.platform;
    await assert.rejects(
      db.transaction().execute(async (tx) => {
        await notify.send(
          tx,
          { channel: 'email', recipient: 'rolled.back@example.com' },
          { template: 'sign-in-link', personalisation: { council: 'Kilnford', link: 'http://x' } },
        );
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.equal((await notify.list(db, { recipient: 'rolled.back@example.com' })).length, 0);
  });

  test('a failed delivery is recorded and retried until it is sent, once', async () => {
    const { db } = kiln.platform;
    let calls = 0;
    // The provider is down for the first attempt, then recovers.
    const flaky: NotifyAdapter = {
      name: 'flaky',
      send: async () => {
        calls += 1;
        if (calls === 1) throw new Error('provider unavailable');
        return { providerReference: `ref-${calls}` };
      },
    };
    // A second, never-started queue: this test drives delivery by hand.
    const notify = new Notify(new Jobs(kiln.platform.database, { runWorkers: false }), flaky, () => db);
    notify.defineTemplate('t', { subject: 'S', body: 'B' });
    const [row] = await tables<NotificationTables>(db)
      .insertInto('notifications')
      .values({
        channel: 'email',
        recipient: 'flaky@example.com',
        template: 't',
        body: 'B',
        subject: 'S',
      } as never)
      .returning('id')
      .execute();
    await assert.rejects(notify.deliver(row!.id), /provider unavailable/);
    let stored = await tables<NotificationTables>(db)
      .selectFrom('notifications')
      .selectAll()
      .where('id', '=', row!.id)
      .executeTakeFirstOrThrow();
    assert.equal(stored.status, 'queued');
    assert.equal(stored.attempts, 1);
    assert.match(stored.last_error ?? '', /provider unavailable/);
    await notify.deliver(row!.id);
    await notify.deliver(row!.id);
    stored = await tables<NotificationTables>(db)
      .selectFrom('notifications')
      .selectAll()
      .where('id', '=', row!.id)
      .executeTakeFirstOrThrow();
    assert.equal(stored.status, 'sent');
    assert.equal(stored.provider_reference, 'ref-2');
    assert.equal(calls, 2, 'a sent message is not sent again');
  });

  test('a batch is sent together; a message the provider refuses is answered by its job id and kept for retry', async () => {
    const { db } = kiln.platform;
    const sentTo: string[] = [];
    const picky: NotifyAdapter = {
      name: 'picky',
      send: async (message) => {
        if (message.recipient.startsWith('refused')) throw new Error('address refused');
        sentTo.push(message.recipient);
        return { providerReference: `picky-${message.recipient}` };
      },
    };
    const notify = new Notify(new Jobs(kiln.platform.database, { runWorkers: false }), picky, () => db);
    const recipients = ['one@example.com', 'refused@example.com', 'three@example.com'];
    const rows = await tables<NotificationTables>(db)
      .insertInto('notifications')
      .values(
        recipients.map((recipient) => ({
          channel: 'email',
          recipient,
          template: 't',
          body: 'B',
          subject: 'S',
        })) as never,
      )
      .returning(['id', 'recipient'])
      .execute();
    const jobs = rows.map((row, i) => ({ id: `job-${i}`, data: { id: row.id } }));
    const failed = await notify.deliverMany(
      rows.map((row) => row.id),
      jobs,
    );
    assert.deepEqual([...failed.keys()], ['job-1']);
    assert.match(String(failed.get('job-1')), /address refused/);
    const stored = await tables<NotificationTables>(db)
      .selectFrom('notifications')
      .selectAll()
      .where(
        'id',
        'in',
        rows.map((row) => row.id),
      )
      .execute();
    const byRecipient = new Map(stored.map((row) => [row.recipient, row]));
    assert.equal(byRecipient.get('one@example.com')?.status, 'sent');
    assert.equal(byRecipient.get('one@example.com')?.provider_reference, 'picky-one@example.com');
    assert.equal(byRecipient.get('three@example.com')?.status, 'sent');
    assert.equal(byRecipient.get('refused@example.com')?.status, 'queued');
    assert.match(byRecipient.get('refused@example.com')?.last_error ?? '', /address refused/);
    // The batch again (a retried job): the messages already sent are not sent twice.
    await notify.deliverMany(rows.map((row) => row.id));
    assert.deepEqual(sentTo.sort(), ['one@example.com', 'three@example.com']);
  });
});
