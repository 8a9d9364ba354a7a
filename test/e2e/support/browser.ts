import { chromium, type Browser, type BrowserContext } from 'playwright-core';

// Debian's Chromium: nothing is downloaded. These flags let it run headless as root in CI.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The two widths every journey is checked at: a small phone and a desktop. */
export const viewports = {
  mobile: { width: 360, height: 640 },
  desktop: { width: 1280, height: 800 },
} as const;
export type ViewportName = keyof typeof viewports;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS });
}

export interface ContextOptions {
  viewport: ViewportName;
  javaScript: boolean;
  baseURL: string;
}

/** A fresh browser profile (no cookies) at one width, with JavaScript on or off. */
export function newContext(browser: Browser, options: ContextOptions): Promise<BrowserContext> {
  return browser.newContext({
    baseURL: options.baseURL,
    viewport: viewports[options.viewport],
    javaScriptEnabled: options.javaScript,
    locale: 'en-GB',
    timezoneId: 'Europe/London',
  });
}
