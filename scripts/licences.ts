// Checks the licence of every production dependency (the whole installed tree that `npm ls
// --omit=dev` lists) against the licences Kiln can ship under its own MIT licence. A package with
// any other licence fails the check unless it is listed below with the reason it was accepted.
// Exit 1 names each package that fails.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Permissive licences (SPDX identifiers) that ask nothing beyond keeping the notice. */
const allowed = new Set([
  'MIT',
  'MIT-0',
  'ISC',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'Apache-2.0',
  '0BSD',
  'BlueOak-1.0.0',
  'MPL-2.0',
  'CC0-1.0',
  'CC-BY-4.0',
  'Python-2.0',
  'Zlib',
  'Unlicense',
]);

/**
 * Packages reviewed one by one. Keyed by name; the version range checked is the major version, so
 * a new major release is reviewed again.
 */
const reviewed: Record<string, { major: number; licence: string; reason: string }> = {
  '@img/sharp-libvips-linux-x64': {
    major: 1,
    licence: 'LGPL-3.0-or-later',
    reason:
      'libvips, the image library under sharp, shipped unmodified as a separate shared library that can be replaced; LGPL asks only that',
  },
  '@img/sharp-libvips-linuxmusl-x64': {
    major: 1,
    licence: 'LGPL-3.0-or-later',
    reason: 'the same libvips build for musl (Alpine) systems',
  },
  'libheif-js': {
    major: 1,
    licence: 'LGPL-3.0',
    reason:
      'the HEIC decoder under heic-decode, used unmodified as its own npm package (replaceable); LGPL asks only that',
  },
};

/** Whether an SPDX expression (with AND, OR and brackets) is satisfied by the allow-list. */
export function permitted(expression: string): boolean {
  const tokens = expression
    .replace(/[()]/g, (b) => ` ${b} `)
    .trim()
    .split(/\s+/);
  let at = 0;
  function primary(): boolean {
    const token = tokens[at++];
    if (token === '(') {
      const value = or();
      at++; // ')'
      return value;
    }
    return token !== undefined && allowed.has(token.replace(/\+$/, ''));
  }
  function and(): boolean {
    let value = primary();
    while (tokens[at] === 'AND') {
      at++;
      value = primary() && value;
    }
    return value;
  }
  function or(): boolean {
    let value = and();
    while (tokens[at] === 'OR') {
      at++;
      value = and() || value;
    }
    return value;
  }
  const value = or();
  return value && at === tokens.length;
}

function licenceOf(pkg: { license?: unknown; licenses?: unknown }): string {
  const l = pkg.license ?? pkg.licenses;
  if (typeof l === 'string') return l;
  if (Array.isArray(l)) return l.map((x) => (x as { type?: string }).type ?? '?').join(' OR ');
  if (l && typeof l === 'object') return (l as { type?: string }).type ?? 'UNKNOWN';
  return 'UNKNOWN';
}

const root = join(import.meta.dirname, '..');
if (import.meta.url === `file://${process.argv[1]}`) {
  const paths = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: root,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .slice(1);
  const counts = new Map<string, number>();
  const failures: string[] = [];
  const accepted: string[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    const pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      license?: unknown;
      licenses?: unknown;
    };
    const id = `${pkg.name}@${pkg.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const licence = licenceOf(pkg);
    counts.set(licence, (counts.get(licence) ?? 0) + 1);
    if (permitted(licence)) continue;
    const review = reviewed[pkg.name];
    if (review && review.licence === licence && Number(pkg.version.split('.')[0]) === review.major) {
      accepted.push(`  ${id} (${licence}): ${review.reason}`);
      continue;
    }
    failures.push(`  ${id}: ${licence}`);
  }
  console.log(`Licences of ${seen.size} production packages:`);
  for (const [licence, n] of [...counts].sort((a, b) => b[1] - a[1]))
    console.log(`  ${n.toString().padStart(4)}  ${licence}`);
  if (accepted.length) console.log(`Accepted after review:\n${accepted.join('\n')}`);
  if (failures.length) {
    console.error(
      `Licences not on the allow-list (add a reviewed entry in scripts/licences.ts, or drop the package):\n${failures.join('\n')}`,
    );
    process.exit(1);
  }
  console.log('Every production dependency has an allowed licence.');
}
