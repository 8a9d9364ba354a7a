import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import { axeViolations, describeViolations, SnapshotAuditor } from './axe.ts';
import { launchBrowser, newContext, type ViewportName } from './browser.ts';
import { startKiln, type RunningKiln } from './kiln.ts';

export interface Visitor {
  viewport: ViewportName;
  javaScript: boolean;
}

/** Everything a spec file needs: Kiln on a port, one Chromium, and people visiting with it. */
export class E2e {
  private contexts: BrowserContext[] = [];
  /** Every page checked with axe, as "METHOD url (width, js)", for the record. */
  readonly checked: string[] = [];

  private constructor(
    readonly running: RunningKiln,
    readonly browser: Browser,
    private readonly auditor: SnapshotAuditor,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<E2e> {
    const running = await startKiln(env);
    try {
      const browser = await launchBrowser();
      return new E2e(running, browser, new SnapshotAuditor(browser));
    } catch (error) {
      await running.close();
      throw error;
    }
  }

  get kiln() {
    return this.running.kiln;
  }

  get baseURL() {
    return this.running.baseURL;
  }

  /** A new person with an empty browser profile. */
  async visitor(visitor: Visitor): Promise<KilnPage> {
    const context = await newContext(this.browser, { ...visitor, baseURL: this.baseURL });
    this.contexts.push(context);
    const page = await context.newPage();
    return new KilnPage(page, visitor, this);
  }

  /** Checks the page against WCAG 2.2 AA and fails with a readable list of what is wrong. */
  async audit(kilnPage: KilnPage): Promise<void> {
    const { page, visitor } = kilnPage;
    const violations = visitor.javaScript ? await axeViolations(page) : await this.auditor.violations(page);
    const where = `${new URL(page.url()).pathname}${new URL(page.url()).search} (${visitor.viewport}, JavaScript ${visitor.javaScript ? 'on' : 'off'})`;
    this.checked.push(where);
    if (violations.length > 0) assert.fail(describeViolations(where, violations));
  }

  async close(): Promise<void> {
    for (const context of this.contexts) await context.close().catch(() => {});
    await this.auditor.close().catch(() => {});
    await this.browser.close().catch(() => {});
    await this.running.close();
  }
}

/**
 * One person's browser tab. Every navigation and every form submission is checked with axe;
 * things are found the way a person finds them: by role, name and label.
 */
export class KilnPage {
  constructor(
    readonly page: Page,
    readonly visitor: Visitor,
    private readonly e2e: E2e,
  ) {}

  /** Opens a path and checks the page; fails on a server error or an unexpected status. */
  async goto(path: string, options: { status?: number } = {}): Promise<Response | null> {
    const response = await this.page.goto(path, { waitUntil: 'load' });
    this.expectStatus(response, options.status);
    await this.e2e.audit(this);
    return response;
  }

  /** Follows a link by its text, then checks the page it leads to. */
  async follow(name: string | RegExp, options: { within?: Locator; status?: number } = {}) {
    const link = (options.within ?? this.page).getByRole('link', { name, exact: typeof name === 'string' });
    return this.navigateBy(() => link.first().click(), options.status);
  }

  /** Presses a button (submitting its form), then checks the page that comes back. */
  async submit(name: string | RegExp = 'Continue', options: { status?: number } = {}) {
    const button = this.page.getByRole('button', { name, exact: typeof name === 'string' });
    return this.navigateBy(() => button.click(), options.status);
  }

  private async navigateBy(action: () => Promise<void>, status?: number) {
    const [response] = await Promise.all([this.page.waitForNavigation({ waitUntil: 'load' }), action()]);
    this.expectStatus(response, status);
    await this.e2e.audit(this);
    return response;
  }

  private expectStatus(response: Response | null, status?: number) {
    const actual = response?.status() ?? 0;
    const where = response?.url() ?? this.page.url();
    if (status !== undefined) assert.equal(actual, status, `${where} answered ${actual}`);
    else assert.ok(actual > 0 && actual < 400, `${where} answered ${actual}`);
  }

  /** Types into the field with this label. */
  async fill(label: string | RegExp, value: string) {
    await this.page.getByLabel(label, { exact: typeof label === 'string' }).fill(value);
  }

  /** Chooses the radio button or ticks the checkbox with this label. */
  async choose(label: string | RegExp) {
    await this.page.getByLabel(label, { exact: typeof label === 'string' }).check();
  }

  /** The page's main heading, as read out. */
  async heading(): Promise<string> {
    return ((await this.page.getByRole('heading', { level: 1 }).first().textContent()) ?? '')
      .replace(/\s+/g, ' ')
      .trim();
  }

  /** The error summary's messages, or none. */
  async errorSummary(): Promise<string[]> {
    const summary = this.page.getByRole('alert').filter({ hasText: 'There is a problem' });
    if ((await summary.count()) === 0) return [];
    return (await summary.getByRole('listitem').allTextContents()).map((t) => t.trim());
  }

  /** The text of the main content, with whitespace collapsed. */
  async mainText(): Promise<string> {
    return ((await this.page.getByRole('main').textContent()) ?? '').replace(/\s+/g, ' ').trim();
  }

  /** The links on the page (or within a region), as text and address; hidden ones (a closed menu) on request. */
  async links(
    within?: Locator,
    options: { includeHidden?: boolean } = {},
  ): Promise<Array<{ text: string; href: string }>> {
    const links = (within ?? this.page).getByRole('link', { includeHidden: options.includeHidden });
    const out: Array<{ text: string; href: string }> = [];
    for (const link of await links.all()) {
      out.push({
        text: ((await link.textContent()) ?? '').replace(/\s+/g, ' ').trim(),
        href: (await link.getAttribute('href')) ?? '',
      });
    }
    return out;
  }

  path(): string {
    const url = new URL(this.page.url());
    return url.pathname + url.search;
  }
}
