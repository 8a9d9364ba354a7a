// The resilience suite (test/resilience): a fuzz run of every public route and form against
// PostgreSQL, and Kiln as a cluster (two `kiln web`, one `kiln worker`) under a fixed-rate mixed
// load, SIGKILLs and a PostgreSQL restart on a private cluster it starts itself. Its figures
// (throughput, p50/p99, error rate, recovery time) are printed at the end of each file.
//   DATABASE_URL  the PostgreSQL server the fuzz run uses (required)
//   MQTT_URL      a broker for the worker's sensor consumers (optional)
//   LOAD_SECONDS, LOAD_RATE, FUZZ_RUNS, FUZZ_SEED  to change the run's size
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

if (!process.env.DATABASE_URL) {
  console.error(
    'test:resilience needs DATABASE_URL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres',
  );
  process.exit(2);
}
const files = readdirSync('test/resilience')
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => join('test/resilience', f));
if (files.length === 0) {
  console.error('No test files found in test/resilience');
  process.exit(1);
}
// One file at a time: the load figures mean nothing with the fuzz run beside them.
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-force-exit',
    '--test-timeout=480000',
    '--test-reporter=spec',
    ...process.argv.slice(2),
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
