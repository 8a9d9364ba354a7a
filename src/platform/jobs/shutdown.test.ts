import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrate, openDatabase } from '../db/index.ts';
import { platformMigrations } from '../db/platform-schema.ts';
import { runInContext } from '../ops/context.ts';
import { Jobs } from './index.ts';

test('stopping lets a running job finish, takes no new ones, and keeps the request id of the sender', async () => {
  const database = await openDatabase({});
  await migrate(database.db, platformMigrations);
  const jobs = new Jobs(database, { runWorkers: true, pollingIntervalSeconds: 0.5 });
  const started: number[] = [];
  const finished: number[] = [];
  const requestIds: unknown[] = [];
  jobs.define<{ n: number; requestId?: string }>({
    name: 'test.slow',
    handler: async ({ n, requestId }) => {
      started.push(n);
      requestIds.push(requestId);
      await new Promise((r) => setTimeout(r, 1500));
      finished.push(n);
    },
  });
  await jobs.start();
  try {
    await runInContext({ requestId: 'req-shutdown-1' }, () => jobs.send(null, 'test.slow', { n: 1 }));
    const deadline = Date.now() + 15_000;
    while (started.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(started, [1], 'the job started');
    await jobs.send(null, 'test.slow', { n: 2 });
    await jobs.stop();
    assert.deepEqual(finished, [1], 'stop() waited for the running job, and took no new one');
    assert.deepEqual(requestIds, ['req-shutdown-1']);
  } finally {
    await database.close();
  }
});
