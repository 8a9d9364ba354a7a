import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { compactHtml } from './compact-html.ts';
import { CSRF_PLACEHOLDER, type PageCache } from './page-cache.ts';
import { SESSION_COOKIE } from '../auth/sessions.ts';
import type nunjucks from 'nunjucks';
import { basename, dirname, join } from 'node:path';
import qs from 'node:querystring';
import { govukDir, govukInlineScriptHash, platformAssetsDir } from '../views/index.ts';
import { registerCsrf } from './csrf.ts';
import { registerErrorHandling } from './errors.ts';
import { registerSecurityHeaders } from './security.ts';
import { registerOpsRoutes } from './health.ts';
import { acceptRequestId, currentContext } from '../ops/context.ts';
import type { Ops } from '../ops/registry.ts';
import { randomUUID } from 'node:crypto';

export interface ServerOptions {
  logLevel: string;
  bodyLimit: number;
  uploadLimit: number;
  trustProxy: boolean;
  secureCookies: boolean;
  secret: string;
  views: nunjucks.Environment;
  stylesheetPath: string;
  pageCache: PageCache;
  imgSources?: string[];
  /** Health, readiness and metrics; a fresh registry when omitted. */
  ops?: Ops;
  /** Bearer token for /metrics; unset = no /metrics. */
  metricsToken?: string;
}

/** Per-request values every page template gets. Set by hooks; read by reply.render. */
export type PageLocals = Record<string, unknown>;

/** The Fastify instance with everything that is not a module: parsing, security, assets, errors. */
export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      options.logLevel === 'silent'
        ? false
        : {
            level: options.logLevel,
            // Every line written while handling a request or a job names it (jobs: their request too).
            mixin: (_merge: object, _level: number, logger: { bindings(): Record<string, unknown> }) => {
              const context = currentContext();
              if (!context) return {};
              // A request's own logger already carries its id.
              if ('requestId' in logger.bindings()) return { ...context, requestId: undefined };
              return { ...context };
            },
          },
    // The proxy's X-Request-Id when it is well formed, otherwise a new one; sent back in the reply.
    genReqId: (request) => acceptRequestId(request.headers['x-request-id']) ?? randomUUID(),
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    // Per-request lines only when debugging; errors are always logged by the error handler.
    logController: new LogController({
      disableRequestLogging: options.logLevel !== 'debug' && options.logLevel !== 'trace',
      requestIdLogLabel: 'requestId',
    }),
    routerOptions: { ignoreTrailingSlash: true },
  });

  if (options.ops) registerOpsRoutes(app, options.ops, { metricsToken: options.metricsToken });

  await app.register(cookie);
  // Repeated keys (checkboxes) become arrays; nothing else is interpreted.
  await app.register(formbody, { parser: (body) => qs.parse(body) });
  await app.register(multipart, {
    attachFieldsToBody: true,
    limits: { fileSize: options.uploadLimit, files: 5, fields: 100, fieldSize: 100_000 },
  });
  // Limits are set per route (sign-in, public submissions, APIs); see rateLimits in app.ts.
  await app.register(rateLimit, { global: false });
  await registerSecurityHeaders(app, {
    scriptHashes: [govukInlineScriptHash()],
    imgSources: options.imgSources,
    secure: options.secureCookies,
  });

  const stylesheetUrl = `/assets/${basename(options.stylesheetPath)}`;
  await app.register(fastifyStatic, {
    root: [platformAssetsDir, join(govukDir, 'govuk'), dirname(options.stylesheetPath)],
    prefix: '/assets/',
    maxAge: '1h',
    index: false,
    allowedPath: (path) => !path.includes('..') && !path.endsWith('.scss') && !path.endsWith('.njk'),
  });
  app.get('/assets/vendor/simplewebauthn-browser.js', (_req, reply) =>
    reply.sendFile('index.umd.min.js', join(govukDir, '../../@simplewebauthn/browser/dist/bundle')),
  );

  app.decorateReply('locals', null as unknown as PageLocals);
  // Only for visitors with no session: their page depends on nothing but the address.
  const cacheable = (request: FastifyRequest) =>
    request.method === 'GET' &&
    request.routeOptions.config?.pageCache === true &&
    !request.cookies[SESSION_COOKIE];
  const sendHtml = (reply: FastifyReply, body: string | Buffer) =>
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(body);
  const sendPage = (reply: FastifyReply, parts: string[]) =>
    sendHtml(reply, parts.length === 1 ? parts[0]! : parts.join(reply.request.csrfToken()));
  // A kept page is bytes already: only a form's token (base64url, so ASCII) is added to them.
  const sendKept = (reply: FastifyReply, parts: Buffer[]) =>
    sendHtml(reply, parts.length === 1 ? parts[0]! : joinBytes(parts, reply.request.csrfToken()));

  // A plain callback hook, as on every request: a cached page is sent from here, before sessions.
  app.addHook('onRequest', (request, reply, done) => {
    reply.locals = {};
    const parts = cacheable(request) ? options.pageCache.get(request.url) : undefined;
    if (parts) sendKept(reply, parts);
    else done();
  });

  app.decorateReply('render', function (this: FastifyReply, template: string, context: object = {}) {
    const html = options.views.render(template, {
      stylesheetUrl,
      csrfToken: CSRF_PLACEHOLDER,
      currentPath: this.request.url,
      ...this.locals,
      ...context,
    });
    if (this.statusCode === 200 && cacheable(this.request) && !this.request.session?.dirty) {
      const parts = compactHtml(html)
        .split(CSRF_PLACEHOLDER)
        .map((part) => Buffer.from(part));
      options.pageCache.set(this.request.url, parts);
      return sendKept(this, parts);
    }
    return sendPage(this, html.split(CSRF_PLACEHOLDER));
  });

  registerCsrf(app, options.secret, options.secureCookies);
  registerErrorHandling(app);
  app.get('/health', async () => ({ status: 'ok' }));
  return app;
}

/** Page parts joined around a token, in one allocation. */
function joinBytes(parts: Buffer[], token: string): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0) + token.length * (parts.length - 1);
  const out = Buffer.allocUnsafe(length);
  let at = parts[0]!.copy(out, 0);
  for (let i = 1; i < parts.length; i++) {
    at += out.write(token, at, 'latin1');
    at += parts[i]!.copy(out, at);
  }
  return out;
}
