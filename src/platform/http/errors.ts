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
