import assert from 'node:assert/strict';
import type { KilnPage } from './journey.ts';

export interface CrawlOptions {
  /** Where to start, e.g. "/" or "/staff". */
  start: string;
  /** How many links away from the start to go. */
  depth: number;
  /** Only paths this accepts are visited. */
  include: (path: string) => boolean;
}

// Signing out ends the session the crawl depends on; everything else reached by a link is a GET.
const NEVER = [/\/sign-out$/];

/**
 * Pages of the same kind (one case, another case) differ in data, not in markup, so one of each is
 * enough: path segments holding a digit (references, ids, dates) count as the same segment.
 */
export function pattern(path: string): string {
  return path
    .split('/')
    .map((s) => (/\d/.test(s) ? ':x' : s))
    .join('/');
}

/**
 * Follows same-site links breadth first from `start`, opening (and so checking with axe) one page of
 * each kind. Every link must answer below 400: a broken link fails the crawl. Returns the paths visited.
 */
export async function crawl(page: KilnPage, options: CrawlOptions): Promise<string[]> {
  const origin = new URL(page.page.url() === 'about:blank' ? 'http://x' : page.page.url()).origin;
  const seen = new Set<string>();
  const visited: string[] = [];
  let frontier = [options.start];
  for (let level = 0; level <= options.depth && frontier.length > 0; level++) {
    const next: string[] = [];
    for (const path of frontier) {
      if (seen.has(pattern(path))) continue;
      seen.add(pattern(path));
      // Downloads (data exports, PDFs) are checked for their status only: axe reads HTML.
      const head = await page.page.context().request.get(path, { maxRedirects: 5 });
      assert.ok(head.status() < 400, `${path} answered ${head.status()}`);
      if (!String(head.headers()['content-type'] ?? '').startsWith('text/html')) continue;
      await page.goto(path);
      visited.push(path);
      // A collapsed menu on a small screen still holds links a person can open.
      for (const link of await page.links(undefined, { includeHidden: true })) {
        const target = sameSitePath(link.href, page.page.url(), origin);
        if (target && options.include(target) && !NEVER.some((n) => n.test(target))) next.push(target);
      }
    }
    frontier = next;
  }
  return visited;
}

function sameSitePath(href: string, base: string, origin: string): string | null {
  if (!href || href.startsWith('#') || /^(mailto|tel|javascript):/i.test(href)) return null;
  const url = new URL(href, base);
  if (url.origin !== new URL(base).origin && url.origin !== origin) return null;
  if (url.pathname.startsWith('/assets/')) return null;
  return url.pathname + url.search;
}
