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
  // Callback style, so the rest of the request (later hooks, handler, their awaits) runs inside.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    runInContext({ requestId: request.id }, done);
  });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0];
    if (path === '/healthz') return healthz(reply);
    if (path === '/readyz') return readyz(request, reply, ops);
    if (path === '/metrics') return metrics(request, reply, ops, options.metricsToken);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/healthz' || route === '/readyz' || route === '/metrics') return;
    const labels = { method: request.method, route };
    ops.http.requests.inc({ ...labels, status: String(reply.statusCode) });
    ops.http.duration.observe(labels, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) ops.http.errors.inc(labels);
  });

  // Declared so they are real routes (the hook above answers them first).
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    app.get(path, { config: { csrf: false } }, async (_request, reply) => reply.code(404).send());
  }
}

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
