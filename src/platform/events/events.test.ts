import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase, migrate } from '../db/index.ts';
import { platformMigrations } from '../db/platform-schema.ts';
import { Jobs } from '../jobs/index.ts';
import { Events, type DomainEvent } from './index.ts';

test('an event reaches its subscriber after commit, and never when the change rolls back', async () => {
  const database = await openDatabase({});
  await migrate(database.db, platformMigrations);
  const jobs = new Jobs(database, { runWorkers: true, pollingIntervalSeconds: 0.5 });
  const events = new Events(jobs);
  events.bind(database.db);
  const seen: DomainEvent[] = [];
  events.subscribe('thing.happened', 'test-listener', async (event) => {
    seen.push(event);
  });
  await jobs.start();
  try {
    const actor = { type: 'system' as const, id: null };
    await assert.rejects(
      database.db.transaction().execute(async (tx) => {
        await events.publish(tx, {
          type: 'thing.happened',
          subjectType: 'thing',
          subjectId: 'rolled-back',
          actor,
        });
        throw new Error('abandoned');
      }),
    );
    await database.db.transaction().execute((tx) =>
      events.publish(tx, {
        type: 'thing.happened',
        subjectType: 'thing',
        subjectId: 'kept',
        actor,
        payload: { n: 1 },
      }),
    );
    const deadline = Date.now() + 15_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(
      seen.map((e) => [e.subjectId, e.payload]),
      [['kept', { n: 1 }]],
    );
    const history = await events.forSubject(database.db, 'thing', 'rolled-back');
    assert.equal(history.length, 0);
  } finally {
    await jobs.stop();
    await database.close();
  }
});

test('an audit entry published with an event is written with it, or not at all', async () => {
  const database = await openDatabase({});
  await migrate(database.db, platformMigrations);
  const events = new Events(new Jobs(database, { runWorkers: false }));
  events.bind(database.db);
  const actor = { type: 'staff' as const, id: 'officer-1', onBehalfOf: 'resident-9' };
  const publish = (tx: typeof database.db, subjectId: string) =>
    events.publish(
      tx,
      { type: 'thing.happened', subjectType: 'thing', subjectId, actor, payload: { n: 2 } },
      { audit: { actor, action: 'thing.done', subjectType: 'thing', subjectId, detail: { why: 'test' } } },
    );
  try {
    await assert.rejects(
      database.db.transaction().execute(async (tx) => {
        await publish(tx, 'rolled-back');
        throw new Error('abandoned');
      }),
    );
    const id = await database.db.transaction().execute((tx) => publish(tx, 'kept'));
    const event = await events.load(id);
    assert.deepEqual(event?.payload, { n: 2, onBehalfOf: 'resident-9' });
    const audit = await database.db
      .selectFrom('audit_log')
      .select(['action', 'actor_type', 'actor_id', 'subject_id', 'detail'])
      .where('action', '=', 'thing.done')
      .execute();
    assert.deepEqual(audit, [
      {
        action: 'thing.done',
        actor_type: 'staff',
        actor_id: 'officer-1',
        subject_id: 'kept',
        detail: { why: 'test', onBehalfOf: 'resident-9' },
      },
    ]);
  } finally {
    await database.close();
  }
});
