import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { crawl } from './support/crawl.ts';
import { E2e } from './support/journey.ts';
import { signInStaff } from './support/people.ts';

// The back office, signed in as an administrator (who may see every staff page): the sign-in pages
// and every page the staff navigation leads to, one link deep, pass axe at both widths.
describe('staff pages pass axe at both widths', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  for (const viewport of ['desktop', 'mobile'] as const) {
    // Every module adds staff pages, and each is audited at both widths: more than the default 3 minutes.
    test(viewport, { timeout: 12 * 60_000 }, async (t) => {
      const page = await e2e.visitor({ viewport, javaScript: true });
      await page.goto('/');
      await page.follow('Staff sign in');
      await signInStaff(page, 'admin@kilnford.example');
      assert.equal(await page.heading(), 'Back office');
      const visited = await crawl(page, {
        start: '/staff',
        depth: viewport === 'desktop' ? 2 : 1,
        include: (path) => path.startsWith('/staff'),
      });
      t.diagnostic(`checked ${visited.length} pages: ${visited.join(' ')}`);
      assert.ok(visited.length > 3, `several staff pages were checked: ${visited.join(', ')}`);
    });
  }
});
