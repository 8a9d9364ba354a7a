import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { sql } from 'kysely';
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
});

// Sending driven by hand, through adapters that fail: an app whose own workers are off, so only
// the test's dispatcher sends.
describe('notifications: the sending queue', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp({ RUN_WORKERS: 'false' });
  });
  after(async () => kiln.close());

  const store = (recipients: string[]) =>
    tables<NotificationTables>(kiln.platform.db)
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
  const read = (ids: string[]) =>
    tables<NotificationTables>(kiln.platform.db)
      .selectFrom('notifications')
      .selectAll()
      .where('id', 'in', ids)
      .execute();
  const dispatcher = (adapter: NotifyAdapter) =>
    new Notify(new Jobs(kiln.platform.database, { runWorkers: false }), adapter, () => kiln.platform.db);
  // What a later time would do: a message waiting for its retry becomes due now.
  const dueNow = (id: string) =>
    sql`update notifications set send_after = now() where id = ${id}`.execute(kiln.platform.db);

  test('a refused message is kept, retried later and sent once; the rest of its batch is sent', async () => {
    const calls = new Map<string, number>();
    // The provider refuses one address the first time, then recovers.
    const flaky: NotifyAdapter = {
      name: 'flaky',
      send: async (message) => {
        const n = (calls.get(message.recipient) ?? 0) + 1;
        calls.set(message.recipient, n);
        if (message.recipient === 'flaky@example.com' && n === 1) throw new Error('provider unavailable');
        return { providerReference: `ref-${message.recipient}-${n}` };
      },
    };
    const notify = dispatcher(flaky);
    const rows = await store(['one@example.com', 'flaky@example.com', 'three@example.com']);
    const ids = rows.map((r) => r.id);
    await notify.dispatch();
    let byRecipient = new Map((await read(ids)).map((row) => [row.recipient, row]));
    assert.equal(byRecipient.get('one@example.com')?.status, 'sent');
    assert.equal(byRecipient.get('three@example.com')?.provider_reference, 'ref-three@example.com-1');
    const refused = byRecipient.get('flaky@example.com')!;
    assert.equal(refused.status, 'queued');
    assert.equal(refused.attempts, 1);
    assert.match(refused.last_error ?? '', /provider unavailable/);

    // Not due yet: a dispatch now leaves it alone.
    await notify.dispatch();
    assert.equal(calls.get('flaky@example.com'), 1);
    await dueNow(refused.id);
    await notify.dispatch();
    await notify.dispatch();
    byRecipient = new Map((await read(ids)).map((row) => [row.recipient, row]));
    assert.equal(byRecipient.get('flaky@example.com')?.status, 'sent');
    assert.equal(byRecipient.get('flaky@example.com')?.provider_reference, 'ref-flaky@example.com-2');
    assert.deepEqual(
      ['one@example.com', 'flaky@example.com', 'three@example.com'].map((r) => calls.get(r)),
      [1, 2, 1],
      'each message is sent once',
    );
  });

  test('a message being sent is leased: no other sender takes it, and it is due again if its sender dies', async () => {
    const [row] = await store(['leased@example.com']);
    let seenWhileSending: { status: string; attempts: number; leasedFor: number } | undefined;
    let takenByOther = -1;
    const watching: NotifyAdapter = {
      name: 'watching',
      send: async (message) => {
        if (message.id === row!.id) {
          const { rows } = await sql<{ status: string; attempts: number; leased_for: number }>`
            select status, attempts, extract(epoch from send_after - now())::int as leased_for
              from notifications where id = ${row!.id}`.execute(kiln.platform.db);
          seenWhileSending = {
            status: rows[0]!.status,
            attempts: rows[0]!.attempts,
            leasedFor: rows[0]!.leased_for,
          };
          const other = new Map<string, number>();
          await dispatcher({
            name: 'other',
            send: async (m) => (other.set(m.id, 1), { providerReference: 'x' }),
          }).dispatch();
          takenByOther = other.has(row!.id) ? 1 : 0;
        }
        return { providerReference: 'leased' };
      },
    };
    await dispatcher(watching).dispatch();
    assert.equal(seenWhileSending?.status, 'queued');
    assert.equal(seenWhileSending?.attempts, 1);
    assert.ok(seenWhileSending!.leasedFor >= 590, `leased for ${seenWhileSending?.leasedFor} s`);
    assert.equal(takenByOther, 0, 'another sender took a leased message');
    assert.equal((await read([row!.id]))[0]?.status, 'sent');
  });

  test('a message refused on its last attempt is given up as failed, not retried for ever', async () => {
    const [row] = await store(['never@example.com']);
    await sql`update notifications set attempts = 9 where id = ${row!.id}`.execute(kiln.platform.db);
    const refusing: NotifyAdapter = {
      name: 'refusing',
      send: async (message) => {
        if (message.recipient === 'never@example.com') throw new Error('address refused');
        return { providerReference: 'ok' };
      },
    };
    const outcome = await dispatcher(refusing).dispatch();
    assert.ok(outcome.failed >= 1);
    const [stored] = await read([row!.id]);
    assert.equal(stored?.status, 'failed');
    assert.equal(stored?.attempts, 10);
    assert.match(stored?.last_error ?? '', /address refused/);
  });
});
