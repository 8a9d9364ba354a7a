import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { registerOperation } from '../../platform/http/openapi.ts';
import { fieldProblems, sendProblem, sendValidationProblem } from '../../platform/http/problem.ts';
import type { Platform } from '../../platform/module.ts';
import { batchSchema, sha256, type DeviceDirectory, type Ingestor } from './ingest.ts';
import type { WellbeingService } from './service.ts';

const V = 'wellbeing/views';

/** The family's daily summary and the reminder confirmation, both reached by private links. */
export function registerPublicRoutes(app: FastifyInstance, platform: Platform, service: WellbeingService) {
  const limit = { rateLimit: platform.rateLimits.submissions };

  app.get('/wellbeing/family/:token', { config: limit }, async (request, reply) => {
    const { token } = request.params as { token: string };
    const summary = await service.familySummary(token);
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (!summary)
      return reply.code(404).render(`${V}/link-invalid.njk`, {
        title: 'This link does not work',
        text: 'The link may have been stopped, or the person no longer shares a daily summary. Contact the care team if you think this is wrong.',
      });
    return reply.render(`${V}/family.njk`, { title: `How ${summary.residentName}’s days went`, ...summary });
  });

  app.get('/wellbeing/prompts/:token', { config: limit }, async (request, reply) => {
    const { token } = request.params as { token: string };
    const prompt = await service.prompt(token);
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (!prompt)
      return reply.code(404).render(`${V}/link-invalid.njk`, {
        title: 'This link does not work',
        text: 'Reminder links work for a few days. There is nothing you need to do.',
      });
    return reply.render(`${V}/prompt.njk`, { title: `Your ${prompt.label}`, prompt, token });
  });

  app.post('/wellbeing/prompts/:token', { config: limit }, async (request, reply) => {
    const { token } = request.params as { token: string };
    const prompt = await service.prompt(token);
    if (!prompt)
      return reply.code(404).render(`${V}/link-invalid.njk`, {
        title: 'This link does not work',
        text: 'Reminder links work for a few days. There is nothing you need to do.',
      });
    const confirmed = await service.confirmPrompt(token);
    return reply.render(`${V}/prompt.njk`, { title: 'Thank you', prompt: confirmed, token, done: true });
  });
}

const acceptedSchema = z.object({
  accepted: z.int(),
  rejected: z.array(z.object({ index: z.int(), reason: z.string(), detail: z.string() })),
});

/** The HTTP batch endpoint for hubs that cannot speak MQTT. */
export function registerApiRoutes(
  app: FastifyInstance,
  platform: Platform,
  directory: DeviceDirectory,
  ingestor: Ingestor,
) {
  registerOperation({
    method: 'post',
    path: '/api/v1/wellbeing/hubs/{hub}/readings',
    summary: 'Send a batch of sensor readings from a home hub (authorised by the hub key as a bearer token)',
    tags: ['Wellbeing'],
    parameters: [
      { name: 'hub', in: 'path', required: true, description: 'The hub reference, e.g. HB-7KQ2-M9' },
    ],
    requestBody: batchSchema,
    responses: {
      '202': { description: 'Readings checked; accepted ones will be stored', schema: acceptedSchema },
      '400': { description: 'The batch is not valid' },
      '401': { description: 'Missing or wrong hub key' },
      '503': { description: 'Kiln is holding too many readings; try again after Retry-After seconds' },
    },
  });

  app.post(
    '/api/v1/wellbeing/hubs/:hub/readings',
    { config: { rateLimit: platform.rateLimits.api }, bodyLimit: 2 * 1024 * 1024 },
    async (request, reply) => {
      const { hub: ref } = request.params as { hub: string };
      const auth = request.headers.authorization ?? '';
      const key = /^Bearer (.+)$/.exec(auth)?.[1];
      const hub = key ? await directory.get(ref) : null;
      const ok =
        hub &&
        hub.role === 'hub' &&
        hub.keyHash &&
        hub.homeActive &&
        timingSafeEqual(Buffer.from(sha256(key!), 'hex'), Buffer.from(hub.keyHash, 'hex'));
      if (!ok) {
        ingestor.metrics.rejected.not_authorised++;
        return sendProblem(reply.header('www-authenticate', 'Bearer'), {
          title: 'The hub key is missing or wrong',
          status: 401,
        });
      }
      if (ingestor.full)
        return sendProblem(reply.header('retry-after', '5'), {
          title: 'Readings are queued while the database catches up',
          status: 503,
          detail: 'Send this batch again shortly; nothing in it was kept.',
        });
      const result = await ingestor.acceptBatch(hub, request.body);
      if (!result.ok) return sendValidationProblem(reply, fieldProblems(result.error));
      return reply.code(202).send({ accepted: result.accepted, rejected: result.rejected });
    },
  );
}
