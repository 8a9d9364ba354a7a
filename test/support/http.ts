import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { parse, type HTMLElement } from 'node-html-parser';

/** A browser-like client over app.inject: keeps cookies, follows the CSRF token of the last page. */
export class Client {
  private cookies = new Map<string, string>();
  lastPage: HTMLElement | null = null;
  // The token is bound to the CSRF cookie, not to a page: keep the last one seen, so a post after
  // an error page (which has no form) still carries it.
  private lastCsrfToken: string | null = null;

  constructor(private readonly app: FastifyInstance) {}

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keepCookies(response: LightMyRequestResponse) {
    for (const c of response.cookies as Array<{
      name: string;
      value: string;
      maxAge?: number;
      expires?: Date;
    }>) {
      if (c.value === '' || (c.expires && c.expires.getTime() < Date.now())) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  private keepPage(response: LightMyRequestResponse) {
    if (!String(response.headers['content-type'] ?? '').startsWith('text/html')) return;
    this.lastPage = parse(response.body);
    const token = this.lastPage.querySelector('input[name="_csrf"]')?.getAttribute('value');
    if (token) this.lastCsrfToken = token;
  }

  async get(url: string, headers: Record<string, string> = {}) {
    const response = await this.app.inject({
      method: 'GET',
      url,
      headers: { cookie: this.cookieHeader(), ...headers },
    });
    this.keepCookies(response);
    this.keepPage(response);
    return response;
  }

  /** Posts a form the way a browser does, adding the CSRF token of the pages it has fetched. */
  async post(
    url: string,
    fields: Record<string, string | string[]>,
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ) {
    const body = new URLSearchParams();
    if (options.csrf !== false) body.append('_csrf', this.csrfToken());
    for (const [k, v] of Object.entries(fields)) for (const item of [v].flat()) body.append(k, item);
    const response = await this.app.inject({
      method: 'POST',
      url,
      payload: body.toString(),
      headers: {
        cookie: this.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
        ...options.headers,
      },
    });
    this.keepCookies(response);
    this.keepPage(response);
    return response;
  }

  /** Follows a redirect response with a GET. */
  async follow(response: LightMyRequestResponse) {
    const location = response.headers.location;
    if (!location) throw new Error(`Expected a redirect, got ${response.statusCode}`);
    return this.get(String(location));
  }

  csrfToken(): string {
    if (!this.lastCsrfToken) throw new Error('No CSRF token seen yet: GET a page with a form first');
    return this.lastCsrfToken;
  }

  hasCookie(name: string) {
    return this.cookies.has(name);
  }
}

/** Finds things on a page the way a person reads it: headings, error summary items, links. */
export function page(html: string) {
  const root = parse(html);
  return {
    root,
    heading: () => root.querySelector('h1')?.text.trim() ?? '',
    title: () => root.querySelector('title')?.text.trim() ?? '',
    errorSummary: () => root.querySelectorAll('.govuk-error-summary__list li').map((li) => li.text.trim()),
    links: () =>
      root.querySelectorAll('a').map((a) => ({ text: a.text.trim(), href: a.getAttribute('href') ?? '' })),
    text: () => root.querySelector('main')?.text.replace(/\s+/g, ' ').trim() ?? '',
  };
}
