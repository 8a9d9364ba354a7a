import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** WCAG 2.2 AA, as Kiln promises in its accessibility statement. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  targets: string[];
}

/**
 * Runs axe-core in the page. Playwright's `evaluate` goes through the DevTools protocol, which the
 * page's Content Security Policy does not govern, so Kiln's strict CSP stays on while axe runs.
 */
export async function axeViolations(page: Page): Promise<Violation[]> {
  const loaded = await page.evaluate(() => typeof (window as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(axeSource);
  return page.evaluate(async (tags) => {
    type AxeResult = {
      violations: Array<{
        id: string;
        impact: string | null;
        help: string;
        helpUrl: string;
        nodes: Array<{ target: unknown[] }>;
      }>;
    };
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<AxeResult> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      targets: v.nodes.map((n) => n.target.map(String).join(' ')),
    }));
  }, AXE_TAGS);
}

/**
 * With JavaScript off Chromium refuses every script, axe included. So the page as the browser holds
 * it is copied into a page of an auditing profile at the same width, served at the same address
 * with a policy that blocks the page's own scripts: axe sees exactly what a person without
 * JavaScript sees, styles included.
 */
export class SnapshotAuditor {
  private contexts = new Map<string, Promise<BrowserContext>>();

  constructor(private readonly browser: Browser) {}

  async violations(page: Page): Promise<Violation[]> {
    const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
    const key = `${viewport.width}x${viewport.height}`;
    if (!this.contexts.has(key)) {
      this.contexts.set(
        key,
        this.browser.newContext({ viewport }).then(async (context) => {
          await context.addInitScript(axeSource);
          return context;
        }),
      );
    }
    const context = await this.contexts.get(key)!;
    const auditPage = await context.newPage();
    try {
      const url = page.url();
      const html = await page.content();
      await auditPage.route(url, (route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          headers: { 'content-security-policy': "script-src 'none'" },
          body: html,
        }),
      );
      await auditPage.goto(url, { waitUntil: 'load' });
      return await axeViolations(auditPage);
    } finally {
      await auditPage.close();
    }
  }

  async close() {
    for (const context of this.contexts.values()) await (await context).close();
  }
}

/** One line per problem, readable in a test failure: rule, impact, what to fix, where. */
export function describeViolations(where: string, violations: Violation[]): string {
  const lines = violations.map(
    (v) =>
      `  - ${v.id} (${v.impact ?? 'unknown impact'}): ${v.help}\n      at ${v.targets.join('\n      at ')}\n      see ${v.helpUrl}`,
  );
  return `Accessibility problems on ${where}:\n${lines.join('\n')}`;
}
