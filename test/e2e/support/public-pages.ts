import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { crawl } from './crawl.ts';
import { E2e, type Visitor } from './journey.ts';

/** Pages the home page and footer must lead to. */
const MUST_REACH = ['/', '/services', '/accessibility', '/privacy', '/cookies', '/sign-in', '/demo/inbox'];

/**
 * Every public page a resident can reach from the home page (two links deep, so each service's
 * start page too) and its footer passes axe (WCAG 2.2 AA) for each visitor; no link is broken.
 */
export function publicPagesPassAxe(visitors: Visitor[]) {
  describe('public pages reachable from the home page pass axe', () => {
    let e2e: E2e;
    before(async () => {
      e2e = await E2e.start();
    });
    after(async () => e2e?.close());

    for (const visitor of visitors) {
      const label = `${visitor.viewport}, JavaScript ${visitor.javaScript ? 'on' : 'off'}`;
      // Every module adds public pages, each audited: more than the default 3 minutes.
      test(label, { timeout: 12 * 60_000 }, async (t) => {
        const page = await e2e.visitor(visitor);
        const visited = await crawl(page, {
          start: '/',
          depth: 2,
          include: (path) => !path.startsWith('/staff'),
        });
        t.diagnostic(`checked ${visited.length} pages: ${visited.join(' ')}`);
        for (const path of MUST_REACH) assert.ok(visited.includes(path), `${path} is reachable from /`);
      });
    }
  });
}
