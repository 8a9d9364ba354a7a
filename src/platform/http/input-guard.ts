import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.ts';

/**
 * Whether a parsed value holds U+0000 in any string or key (file contents are not strings). Each
 * object is looked at once: a multipart field links back to all the fields, so a walk without
 * `seen` grows exponentially with the number of fields.
 */
function holdsNul(value: unknown, seen = new WeakSet<object>(), depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (!value || typeof value !== 'object' || depth > 32 || seen.has(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) return value.some((v) => holdsNul(v, seen, depth + 1));
  // Only plain data: an upload's stream or buffer is the file itself, not text.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v, seen, depth + 1));
}

/**
 * Refuses, before any route sees it, a request whose address, query or fields carry a NUL
 * character. No person types one, and PostgreSQL cannot store one in text: without this guard a
 * NUL in a reference reaches the database and fails there as a server error.
 */
export function registerInputGuard(app: FastifyInstance): void {
  registerSafeRedirects(app);
  app.addHook('preValidation', (request, _reply, done) => {
    const refused =
      request.url.includes('%00') ||
      holdsNul(request.params) ||
      holdsNul(request.query) ||
      holdsNul(request.body);
    done(
      refused
        ? new HttpError(400, 'Bad request', 'The request holds a character that is not allowed.')
        : undefined,
    );
  });
}

/** Percent-encodes what may not stand in a header: bytes outside printable ASCII, as UTF-8. */
export function headerSafeLocation(location: string): string {
  return location.replace(/[^\x21-\x7e]+/g, (run) =>
    [...Buffer.from(run, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/**
 * Redirects built from what a visitor typed (a reference or name in the address) may carry
 * characters a header cannot: Node refuses them and the answer became a 500. Encode them instead,
 * as a browser would have.
 */
export function registerSafeRedirects(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    const location = reply.getHeader('location');
    if (typeof location === 'string' && /[^\x21-\x7e]/.test(location)) {
      reply.header('location', headerSafeLocation(location));
    }
    done(null, payload);
  });
}
