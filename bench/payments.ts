// Payments benchmark, against a real PostgreSQL server (a scratch database, dropped afterwards):
//   1. 1,000 concurrent payment creations, 20% of them retries of an earlier idempotency key:
//      duplicates (must be zero), throughput and p99 latency.
//   2. The daily reconciliation over 1,000,000 ledger entries of one day (goal: under 5 s).
// Run alone: `node --import tsx bench/payments.ts` (BENCH_POSTGRES_URL to choose the server).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/platform/db/index.ts';

export interface PaymentFigures {
  creations: number;
  retried: number;
  duplicates: number;
  creationsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  ledgerEntries: number;
  reconciliationSeconds: number;
  reconciliationBalanced: boolean;
}

async function admin(url: string, statement: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

// The job queue closes its own pool a little after stop(): wait for it rather than cut it off.
async function dropWhenIdle(serverUrl: string, name: string) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (let i = 0; i < 50; i++) {
      const { rows } = await client.query(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [name],
      );
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

export async function run(
  serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
): Promise<PaymentFigures> {
  const name = `kiln_bench_pay_${randomBytes(4).toString('hex')}`;
  await admin(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 20 });
  const kiln = await createApp({
    database,
    config: loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RUN_WORKERS: 'false',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'kiln-bench-')),
    }),
  });
  try {
    const { service } = kiln.services.payments;
    const db = kiln.platform.db;

    // 1. Concurrent creations with retried keys.
    const unique = 800;
    const keys = Array.from({ length: unique }, () => randomUUID());
    const plan = [...keys, ...keys.slice(0, 200)].sort(() => Math.random() - 0.5);
    const latencies: number[] = [];
    const started = performance.now();
    const results = await Promise.all(
      plan.map(async (key) => {
        const t0 = performance.now();
        const p = await db.transaction().execute((tx) =>
          service.createPayment(tx, {
            amount: 2500,
            description: 'Benchmark payment',
            payer: { email: 'bench@example.com' },
            paysFor: { type: 'bench', id: key },
            idempotencyKey: key,
            actor: { type: 'system', id: null },
          }),
        );
        latencies.push(performance.now() - t0);
        return { key, id: p.id };
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const idsPerKey = new Map<string, Set<string>>();
    for (const r of results) idsPerKey.set(r.key, (idsPerKey.get(r.key) ?? new Set()).add(r.id));
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from payments where pays_for_type = 'bench'`.execute(db);
    const duplicates = rows[0]!.n - unique + [...idsPerKey.values()].filter((s) => s.size > 1).length;
    latencies.sort((a, b) => a - b);

    // 2. One day of 1,000,000 ledger entries (800,000 card charges, 200,000 refunds) with the
    // provider's matching settlements, loaded in bulk; then the reconciliation is timed.
    const day = '2026-11-24';
    const charges = 800_000;
    const refunds = 200_000;
    await sql
      .raw(
        `
      insert into payments (reference, idempotency_key, amount, description, payer_email, pays_for_type, pays_for_id,
                            method, channel, status, provider, provider_id, succeeded_at)
      select 'PAY-B' || g, 'bulk-' || g, 1000 + (g % 5000), 'Bulk', 'bench@example.com', 'bulk', g::text,
             'card', 'web', 'success', 'sandbox', 'sbxbulk' || g, now()
      from generate_series(1, ${charges}) g`,
      )
      .execute(db);
    await sql
      .raw(
        `
      insert into payment_sandbox_charges (provider_id, amount, reference, description, return_url, state)
      select 'sbxbulk' || g, 1000 + (g % 5000), 'PAY-B' || g, 'Bulk', '/', 'success' from generate_series(1, ${charges}) g`,
      )
      .execute(db);
    await sql
      .raw(
        `
      insert into payment_sandbox_settlements (provider_id, provider_reference, kind, amount, settled_on)
      select 'sbxbulk' || g, 'sbxbulk' || g, 'charge', 1000 + (g % 5000), '${day}'::date from generate_series(1, ${charges}) g
      union all
      select 'sbxbulk' || g, 'sbrbulk' || g, 'refund', -500, '${day}'::date from generate_series(1, ${refunds}) g`,
      )
      .execute(db);
    await sql
      .raw(
        `
      insert into payment_ledger (payment_id, kind, method, amount, provider, provider_reference, entry_date)
      select p.id, 'charge', 'card', p.amount, 'sandbox', p.provider_id, '${day}'::date from payments p where p.pays_for_type = 'bulk'`,
      )
      .execute(db);
    await sql
      .raw(
        `
      insert into payment_ledger (payment_id, kind, method, amount, provider, provider_reference, entry_date)
      select p.id, 'refund', 'card', -500, 'sandbox', 'sbrbulk' || p.pays_for_id, '${day}'::date
      from payments p where p.pays_for_type = 'bulk' and p.pays_for_id::int <= ${refunds}`,
      )
      .execute(db);
    await sql.raw('analyze').execute(db);
    const r0 = performance.now();
    const report = await service.reconciliationReport(db, day);
    const reconciliationSeconds = (performance.now() - r0) / 1000;

    return {
      creations: plan.length,
      retried: plan.length - unique,
      duplicates,
      creationsPerSecond: round(plan.length / seconds, 0),
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      ledgerEntries: report.card.ledgerEntries,
      reconciliationSeconds: round(reconciliationSeconds, 2),
      reconciliationBalanced: report.card.balanced,
    };
  } finally {
    await kiln.close();
    await database.close();
    await dropWhenIdle(serverUrl, name);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await run();
  console.log(
    `Payments: ${f.creations} concurrent creations (${f.retried} retried keys): ${f.duplicates} duplicates, ` +
      `${f.creationsPerSecond} creations/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms`,
  );
  console.log(
    `Reconciliation of ${f.ledgerEntries.toLocaleString('en-GB')} ledger entries for one day: ${f.reconciliationSeconds} s ` +
      `(goal < 5 s), ${f.reconciliationBalanced ? 'balanced' : 'NOT balanced'}`,
  );
  process.exit(f.duplicates === 0 && f.reconciliationBalanced ? 0 : 1);
}
