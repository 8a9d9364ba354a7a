import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrate, openDatabase } from '../db/index.ts';
import { platformMigrations } from '../db/platform-schema.ts';
import { Jobs } from './index.ts';

test('a worker drains a backlog in batches, and a failing job is retried without holding back the rest', async () => {
  const database = await openDatabase({});
  await migrate(database.db, platformMigrations);
  const jobs = new Jobs(database, { runWorkers: true, pollingIntervalSeconds: 1 });
  const done: number[] = [];
  let failedOnce = false;
  jobs.define<{ n: number }>({
    name: 'test.count',
    retryDelaySeconds: 1,
    handler: async ({ n }) => {
      if (n === 3 && !failedOnce) {
        failedOnce = true;
        throw new Error('first attempt fails');
      }
      done.push(n);
    },
  });
  await jobs.start();
  try {
    for (let n = 0; n < 40; n++) await jobs.send(null, 'test.count', { n });
    const started = Date.now();
    while (done.length < 40 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
    // At one job per polling interval this would take 40 s.
    assert.equal(new Set(done).size, 40);
    assert.equal(done.filter((n) => n === 3).length, 1, 'the failed job ran once more, not twice');
    assert.ok(Date.now() - started < 15_000, `drained in ${Date.now() - started} ms`);
  } finally {
    await jobs.stop();
    await database.close();
  }
});

test('a full batch is followed by the next fetch at once, not a polling interval later', async () => {
  const database = await openDatabase({});
  await migrate(database.db, platformMigrations);
  // A minute between polls: only fetching again straight after a full batch drains 60 jobs quickly.
  const jobs = new Jobs(database, { runWorkers: true, pollingIntervalSeconds: 60 });
  const done = new Set<number>();
  jobs.define<{ n: number }>({ name: 'test.backlog', handler: async ({ n }) => void done.add(n) });
  // The backlog is there before the worker's first fetch (sent by a web process, say).
  const sender = new Jobs(database, { runWorkers: false });
  sender.define<{ n: number }>({ name: 'test.backlog', handler: async () => undefined });
  await sender.start();
  for (let n = 0; n < 60; n++) await sender.send(null, 'test.backlog', { n });
  await sender.stop();
  await jobs.start();
  try {
    const started = Date.now();
    while (done.size < 60 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(done.size, 60, `${done.size} of 60 done in ${Date.now() - started} ms`);
  } finally {
    await jobs.stop();
    await database.close();
  }
});
