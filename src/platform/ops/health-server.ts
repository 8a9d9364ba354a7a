import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { registerOpsRoutes } from '../http/health.ts';
import type { Ops } from './registry.ts';

/** A listener with only /healthz, /readyz and /metrics, for processes that serve no pages (`kiln worker`). */
export async function startHealthServer(
  ops: Ops,
  options: { host: string; port: number; metricsToken?: string },
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, genReqId: () => randomUUID() });
  registerOpsRoutes(app, ops, { metricsToken: options.metricsToken });
  await app.listen({ host: options.host, port: options.port });
  return app;
}
