import { readFileSync } from 'node:fs';
import { printTable } from './report.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Who owns a stack frame: an npm package, a Kiln source file, Node itself, or the runtime. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  const src = url.match(/\/((?:src|bench)\/.+)$/);
  if (src) return src[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return url;
}

/**
 * Prints self time by function and inclusive time by owner (each sample counted once per owner).
 * `window` (monotonic clock, microseconds, as process.hrtime) keeps only samples taken under load,
 * leaving start-up and shutdown out.
 */
export function summariseProfile(file: string, window?: { from: number; to: number }, top = 25): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const inclusiveByFunction = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (window && (at < window.from || at > window.to)) return;
    const node = byId.get(id)!;
    total += dt;
    const f = node.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${ownerOf(f.url, f.functionName)}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    const owners = new Set<string>();
    const functions = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const frame = byId.get(n)!.callFrame;
      if (frame.functionName === '(root)') continue;
      const owner = ownerOf(frame.url, frame.functionName);
      owners.add(owner);
      if (frame.url && !frame.url.startsWith('node:'))
        functions.add(`${frame.functionName || '(anonymous)'} ${owner}:${frame.lineNumber + 1}`);
    }
    for (const owner of owners) inclusive.set(owner, (inclusive.get(owner) ?? 0) + dt);
    for (const f of functions) inclusiveByFunction.set(f, (inclusiveByFunction.get(f) ?? 0) + dt);
  });
  if (total === 0) throw new Error('No samples in the profile for the load window');
  console.log(`\n${(total / 1e6).toFixed(1)} s of samples`);
  const share = (us: number) => `${((us / total) * 100).toFixed(1)}%`;
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, share(v)]);
  printTable('Inclusive time by owner (package, Kiln file, runtime)', ['Owner', 'Share'], rows(inclusive));
  printTable('Inclusive time by function', ['Function', 'Share'], rows(inclusiveByFunction));
  printTable('Self time by function', ['Function', 'Share'], rows(self));
}
