import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e } from './support/journey.ts';

// The checks themselves must be able to fail: a page with an unlabelled field and an image without
// alternative text is refused, with and without JavaScript, with a list a person can act on.
const BROKEN = `<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>
<h1>Broken page</h1><form><input type="text" name="q"></form><img src="/assets/logo.svg">
</main></body></html>`;

describe('the browser test harness', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  for (const javaScript of [true, false]) {
    test(`axe refuses an inaccessible page, JavaScript ${javaScript ? 'on' : 'off'}`, async () => {
      const page = await e2e.visitor({ viewport: 'mobile', javaScript });
      await page.page.route('**/broken-for-the-harness', (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: BROKEN }),
      );
      await assert.rejects(page.goto('/broken-for-the-harness'), (error: Error) => {
        assert.match(error.message, /Accessibility problems on \/broken-for-the-harness \(mobile/);
        assert.match(error.message, /- label \((critical|serious)\): Form elements must have labels/);
        assert.match(error.message, /- image-alt \(critical\): Images must have alternative text/);
        return true;
      });
    });
  }

  test('a page that answers with an error fails the step', async () => {
    const page = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await assert.rejects(page.goto('/no-such-page'), /answered 404/);
    await page.goto('/no-such-page', { status: 404 });
    assert.equal(await page.heading(), 'Page not found');
  });
});
