import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.ts';

/** Whether a parsed value holds U+0000 in any string or key (file contents are not strings). */
function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (!value || typeof value !== 'object' || depth > 32) return false;
  if (Array.isArray(value)) return value.some((v) => holdsNul(v, depth + 1));
  // Only plain data: an upload's stream or buffer is the file itself, not text.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v, depth + 1));
}

/**
 * Refuses, before any route sees it, a request whose address, query or fields carry a NUL
 * character. No person types one, and PostgreSQL cannot store one in text: without this guard a
 * NUL in a reference reaches the database and fails there as a server error.
 */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    if (
      /%00/.test(request.url) ||
      holdsNul(request.params) ||
      holdsNul(request.query) ||
      holdsNul(request.body)
    ) {
      throw new HttpError(400, 'Bad request', 'The request holds a character that is not allowed.');
    }
  });
}
