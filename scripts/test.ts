// Runs Kiln's test files with Node's test runner.
//   (no argument)  unit and integration tests beside the code, on embedded PGlite
//   --pg           the same files against the PostgreSQL server in DATABASE_URL
//   --e2e          browser journeys in test/e2e (Chromium)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const mode = ['--pg', '--e2e'].includes(process.argv[2] ?? '') ? process.argv[2]! : '';
function find(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : find(path, pattern);
    return pattern.test(e.name) ? [path] : [];
  });
}

const env = { ...process.env };
let files: string[];
if (mode === '--e2e') {
  // The journeys run Kiln on embedded PGlite, like a fresh install; Chromium comes from Debian.
  delete env.DATABASE_URL;
  const chromium = env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    console.error(
      `test:e2e needs Chromium at ${chromium}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
    process.exit(2);
  }
  files = find('test/e2e', /\.spec\.ts$/);
} else {
  if (mode === '--pg' && !env.DATABASE_URL) {
    console.error(
      'test:pg needs DATABASE_URL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres',
    );
    process.exit(2);
  }
  if (mode !== '--pg') delete env.DATABASE_URL;
  files = find('src', /\.test\.ts$/);
}
files.sort();
// An empty list would make node's runner look for tests on its own: say so and fail instead.
if (files.length === 0) {
  console.error(`No test files found for ${mode || 'npm test'}`);
  process.exit(1);
}
// Test files named after the mode run alone (`npm run test:e2e -- test/e2e/contracts.spec.ts`);
// any other argument goes to the runner.
const args = process.argv.slice(mode ? 3 : 2);
const named = args.filter((a) => /\.(test|spec)\.ts$/.test(a));
const unknown = named.filter((f) => !files.includes(join(f)));
if (unknown.length > 0) {
  console.error(`Not a test file of ${mode || 'npm test'}: ${unknown.join(', ')}`);
  process.exit(2);
}
if (named.length > 0) files = named.map((f) => join(f));
const extra = args.filter((a) => !named.includes(a));
// The runner's summary ("ℹ tests 12", "ℹ skipped 0", …) lets a run with skipped or unfinished tests
// fail: Kiln has none. It is read from the report as it passes through to the terminal.
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    // A browser file runs whole journeys at two widths, with and without JavaScript.
    `--test-timeout=${mode === '--e2e' ? 900_000 : 180_000}`,
    // A file whose tests and hooks have all finished ends then, even if a socket is still closing:
    // on a busy machine a PostgreSQL run sometimes sat until the timeout after its last test passed.
    '--test-force-exit',
    '--test-reporter=spec',
    ...extra,
    ...files,
  ],
  { stdio: ['inherit', 'pipe', 'inherit'], env },
);
let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4000);
});
const status: number = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
if (status === 0 && extra.length === 0) {
  const count = (name: string) => Number(tail.match(new RegExp(`^ℹ ${name} (\\d+)$`, 'm'))?.[1] ?? NaN);
  if (!(count('tests') > 0) || count('skipped') !== 0 || count('todo') !== 0 || count('cancelled') !== 0) {
    console.error(
      `Refusing a run with tests=${count('tests')} skipped=${count('skipped')} todo=${count('todo')} cancelled=${count('cancelled')}`,
    );
    process.exit(1);
  }
}
process.exit(status);
