// Where a page's time goes: `node --import tsx bench/profile.ts [path] [seconds]`.
// Starts Kiln (embedded database) under `node --cpu-prof`, loads the page, stops Kiln, then prints
// the CPU profile summed by package and by function. The profile is kept in bench/results/profiles/.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startKiln } from './support/kiln.ts';
import { fire } from './support/load.ts';
import { rootDir } from './support/processes.ts';
import { summariseProfile } from './support/profile-summary.ts';

const path = process.argv[2] ?? '/accessibility';
const seconds = Number(process.argv[3] ?? 15);
const dir = join(rootDir, 'bench/results/profiles');
mkdirSync(dir, { recursive: true });
const before = new Set(readdirSync(dir));

const kiln = await startKiln({ cpuProfileDir: dir });
const microseconds = () => Number(process.hrtime.bigint() / 1000n);
const window = { from: 0, to: 0 };
try {
  await fire({ url: kiln.url + path, connections: 10, duration: 3 });
  window.from = microseconds();
  const result = await fire({ url: kiln.url + path, connections: 10, duration: seconds });
  window.to = microseconds();
  console.log(`${path}: ${Math.round(result['2xx'] / result.duration)} req/s while profiling`);
} finally {
  await kiln.stop();
}
const written = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
if (!written[0]) throw new Error('Kiln wrote no CPU profile');
console.log(`Profile: ${join(dir, written[0])}`);
summariseProfile(join(dir, written[0]), window, 40);
