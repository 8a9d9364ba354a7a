// Runs Kiln's test files with Node's test runner.
//   (no argument)  unit and integration tests beside the code, on embedded PGlite
//   --pg           the same files against the PostgreSQL server in DATABASE_URL
//   --e2e          browser journeys in test/e2e (Chromium)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const mode = process.argv[2] ?? '';
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
const extra = process.argv.slice(3);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...extra, ...files],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
