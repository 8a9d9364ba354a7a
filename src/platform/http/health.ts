import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { runInContext } from '../ops/context.ts';
import type { Ops } from '../ops/registry.ts';

export interface OpsRoutesOptions {
  /** Bearer token for /metrics; unset = /metrics is not served (404). */
  metricsToken?: string;
}

/**
 * Health, readiness and metrics, answered before anything else runs (no session, no CSRF, no
 * rate limit, no page cache), so they work while the database is away. Also: every request runs
 * in a context carrying its id (for log lines and the jobs it sends), and is counted.
 */
export function registerOpsRoutes(app: FastifyInstance, ops: Ops, options: OpsRoutesOptions): void {
  // One plain callback hook (no promise per request): the rest of the request (later hooks, the
  // handler and their awaits) runs inside the context, and the three paths are answered here.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const url = request.url;
    const query = url.indexOf('?');
    const answer = opsAnswers[query === -1 ? url : url.slice(0, query)];
    if (!answer) return runInContext({ requestId: request.id }, done);
    answer(request, reply, ops, options.metricsToken).catch((error: unknown) => done(error as Error));
  });

  // Counted by route with children cached per label set: no label object is built per request.
  const counted = new Map<
    string,
    { requests: () => void; duration: (s: number) => void; errors: () => void }
  >();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route in opsAnswers) return done();
    const status = reply.statusCode;
    const key = `${request.method} ${status} ${route}`;
    let metric = counted.get(key);
    if (!metric) {
      const requests = ops.http.requests.labels(request.method, route, String(status));
      const duration = ops.http.duration.labels(request.method, route);
      const errors = ops.http.errors.labels(request.method, route);
      metric = {
        requests: () => requests.inc(),
        duration: (s) => duration.observe(s),
        errors: () => errors.inc(),
      };
      counted.set(key, metric);
    }
    metric.requests();
    metric.duration(reply.elapsedTime / 1000);
    if (status >= 500) metric.errors();
    done();
  });

  // Declared so they are real routes (the hook above answers them first).
  for (const path of Object.keys(opsAnswers)) {
    app.get(path, { config: { csrf: false } }, async (_request, reply) => reply.code(404).send());
  }
}

type OpsAnswer = (request: FastifyRequest, reply: FastifyReply, ops: Ops, token?: string) => Promise<unknown>;

const opsAnswers: Record<string, OpsAnswer> = Object.assign(Object.create(null) as object, {
  '/healthz': async (_request: FastifyRequest, reply: FastifyReply) => healthz(reply),
  '/readyz': readyz,
  '/metrics': metrics,
});

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('Cache-Control', 'no-store');
}

function healthz(reply: FastifyReply) {
  return noStore(reply).code(200).type('application/json; charset=utf-8').send({ status: 'ok' });
}

async function readyz(request: FastifyRequest, reply: FastifyReply, ops: Ops) {
  const results = await ops.ready();
  const down = results.filter((r) => !r.ok);
  const checks = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : 'down']));
  if (down.length === 0) {
    return noStore(reply).code(200).type('application/json; charset=utf-8').send({ status: 'ok', checks });
  }
  request.log.warn({ down: down.map((d) => ({ name: d.name, error: d.error })) }, 'not ready');
  return noStore(reply)
    .code(503)
    .header('Retry-After', '5')
    .type('application/problem+json; charset=utf-8')
    .send({
      type: 'about:blank',
      title: 'Not ready',
      status: 503,
      detail: `Not reachable: ${down.map((d) => d.name).join(', ')}`,
      instance: '/readyz',
      down: down.map((d) => d.name),
      checks,
    });
}

const digest = (value: string) => createHash('sha256').update(value).digest();

async function metrics(request: FastifyRequest, reply: FastifyReply, ops: Ops, token?: string) {
  const header = request.headers.authorization ?? '';
  const sent = header.startsWith('Bearer ') ? header.slice(7) : '';
  if (!token) {
    return noStore(reply).code(404).type('text/plain; charset=utf-8').send('Not found');
  }
  if (!sent || !timingSafeEqual(digest(sent), digest(token))) {
    return noStore(reply)
      .code(401)
      .header('WWW-Authenticate', 'Bearer realm="metrics"')
      .type('text/plain; charset=utf-8')
      .send('Unauthorised');
  }
  return noStore(reply)
    .code(200)
    .type(ops.contentType)
    .send(await ops.metrics());
}
