import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../random.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';
import { isApiPath } from './problem.ts';

const COOKIE = 'kiln_csrf';

/**
 * CSRF protection for every state-changing form: a random cookie, and a form token that is its
 * HMAC under the server secret (a signed double-submit). It needs no server-side state, so pages
 * that only show a form cost no database write. APIs take JSON or bearer tokens, not cookies.
 */
export function registerCsrf(app: FastifyInstance, secret: string, secureCookies: boolean): void {
  // A key object made once: a string key is turned into one on every call (every first visit).
  const key = createSecretKey(Buffer.from(secret));
  const sign = (value: string) => createHmac('sha256', key).update(`csrf:${value}`).digest('base64url');

  app.decorateRequest('csrfToken', function (this: FastifyRequest) {
    let value = this.cookies[COOKIE];
    if (!value || !/^[A-Za-z0-9_-]{32,64}$/.test(value)) {
      value = randomToken(24);
      this.cookies[COOKIE] = value;
      this.newCsrfCookie = value;
    }
    return sign(value);
  });
  app.decorateRequest('newCsrfCookie', null);

  // Written as a header directly: the value is base64url, and this runs on every first visit.
  const attributes = `; Path=/; HttpOnly; SameSite=Lax${secureCookies ? '; Secure' : ''}`;
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.newCsrfCookie) reply.header('set-cookie', `${COOKIE}=${request.newCsrfCookie}${attributes}`);
    done(null, payload);
  });

  // preValidation: after the body is parsed, before any route schema or handler sees it.
  app.addHook('preValidation', (request, _reply, done) => {
    done(forgedForm(request) ? expired() : undefined);
  });
  const forgedForm = (request: FastifyRequest): boolean => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return false;
    if (isApiPath(request.url)) return false;
    if (request.routeOptions.config.csrf === false) return false;
    const cookie = request.cookies[COOKIE];
    const sent = formField(request.body, '_csrf');
    return !cookie || !sent || !safeEqual(sign(cookie), sent);
  };
}

const expired = () =>
  new HttpError(
    403,
    'Your session has expired',
    'Go back, refresh the page and try again. Nothing you sent was saved.',
  );

function formField(body: unknown, name: string): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  // Multipart fields arrive as { value } objects.
  if (value && typeof value === 'object' && 'value' in value)
    return String((value as { value: unknown }).value);
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
