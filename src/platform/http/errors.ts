import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance } from 'fastify';
import { isApiPath, sendProblem } from './problem.ts';

const titles: Record<number, string> = {
  400: 'Bad request',
  401: 'You need to sign in',
  403: 'You do not have access to this',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  409: 'Conflict',
  413: 'The request is too large',
  415: 'That type of content is not accepted',
  422: 'The request could not be processed',
  429: 'Too many requests',
  500: 'Sorry, there is a problem with the service',
  503: 'The service is unavailable',
};

/** An error a route throws on purpose, shown to the user with its own status and words. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

// How an unreachable or restarting PostgreSQL surfaces through pg and pg-boss: refused or dropped
// connections, the server shutting down (57P01 admin shutdown, 57P02 crash shutdown, 57P03
// cannot connect now) and connection exceptions (class 08).
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
]);
const unavailableMessages =
  /Connection terminated|terminating connection|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down|in recovery mode)|Connection terminated unexpectedly/i;

/** Whether an error means the database is away (so: 503, try again), rather than a fault in Kiln. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (
    let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (unavailableCodes.has(code) || code.startsWith('08')) return true;
    if (typeof e.message === 'string' && unavailableMessages.test(e.message)) return true;
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}

/** Seconds a client is asked to wait before trying again while the database is away. */
export const RETRY_AFTER_SECONDS = 5;

/** Custom 404 and error pages for people, problem+json for APIs; never a stack trace. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    if (isApiPath(request.url)) {
      return sendProblem(reply, {
        title: titles[404]!,
        status: 404,
        detail: `No resource at ${request.url}`,
      });
    }
    return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: { message: error.message, code: error.code } }, 'database unavailable');
      reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
      const title = 'Sorry, there is a problem with the service';
      if (isApiPath(request.url)) {
        return sendProblem(reply, { title, status: 503, detail: 'Try again in a few seconds.' });
      }
      return reply.code(503).render('pages/error.njk', {
        title,
        heading: title,
        paragraphs: ['Try again in a few seconds.'],
      });
    }
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    const reference = status >= 500 ? `ERR-${randomBytes(4).toString('hex').toUpperCase()}` : undefined;
    if (status >= 500) request.log.error({ err: error, reference }, 'request failed');
    else request.log.info({ err: { message: error.message, code: error.code }, status }, 'request refused');
    const title = error instanceof HttpError ? error.message : (titles[status] ?? 'Error');
    // Only our own HttpErrors and Fastify's client errors carry safe words; never echo a 5xx message.
    const detail =
      error instanceof HttpError ? error.detail : status < 500 ? error.message : 'Try again later.';
    if (isApiPath(request.url)) {
      return sendProblem(reply, { title, status, detail, ...(reference ? { reference } : {}) });
    }
    return reply.code(status).render('pages/error.njk', {
      title,
      heading: title,
      paragraphs: status >= 500 ? ['Try again later.'] : [detail ?? ''],
      reference,
    });
  });
}
