import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireApiKey } from '../../platform/auth/api-keys.ts';
import { registerOperation } from '../../platform/http/openapi.ts';
import { fieldProblems, sendProblem, sendValidationProblem } from '../../platform/http/problem.ts';
import type { Platform } from '../../platform/module.ts';
import { channels, type CasesService } from '../cases/index.ts';
import { serviceDefinitionSchema } from './definition.ts';
import { validateAll } from './form-engine.ts';
import type { CatalogueService } from './service.ts';

const submissionBody = z
  .object({
    /** Answers keyed by question id, in the types GET /api/v1/services/{slug} describes. */
    answers: z.record(z.string(), z.unknown()),
    channel: z.enum(channels).default('api'),
    contact: z
      .object({
        name: z.string().trim().min(1).max(200).optional(),
        email: z.email().max(254).optional(),
        phone: z.string().trim().min(1).max(40).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const submissionCreated = z.object({
  reference: z.string(),
  status: z.string(),
  service: z.string(),
  version: z.number().int(),
  links: z.object({ self: z.string() }),
});

const serviceSummary = z.object({
  slug: z.string(),
  title: z.string(),
  summary: z.string(),
  topic: z.string(),
  version: z.number().int(),
  links: z.object({ self: z.string(), submissions: z.string() }),
});

const idempotencyKeyPattern = /^[\x21-\x7e]{1,200}$/;

/** The services API: list, describe, and submit to a live service. */
export function registerServicesApi(
  app: FastifyInstance,
  platform: Platform,
  catalogue: CatalogueService,
  cases: CasesService,
): void {
  const rateLimit = platform.rateLimits.api;
  const summaryOf = (s: {
    definition: { slug: string; title: string; summary: string; topic: string };
    version: number;
  }) => ({
    slug: s.definition.slug,
    title: s.definition.title,
    summary: s.definition.summary,
    topic: s.definition.topic,
    version: s.version,
    links: {
      self: `/api/v1/services/${s.definition.slug}`,
      submissions: `/api/v1/services/${s.definition.slug}/submissions`,
    },
  });

  app.get('/api/v1/services', { config: { rateLimit } }, async () => ({
    services: (await catalogue.liveServices()).map(summaryOf),
  }));

  app.get<{ Params: { slug: string } }>(
    '/api/v1/services/:slug',
    { config: { rateLimit } },
    async (request, reply) => {
      const live = await catalogue.liveService(request.params.slug);
      if (!live) return sendProblem(reply, { title: 'There is no such service', status: 404 });
      return { ...summaryOf(live), definition: live.definition };
    },
  );

  app.post<{ Params: { slug: string } }>(
    '/api/v1/services/:slug/submissions',
    { config: { rateLimit }, preHandler: requireApiKey(platform.db, 'submissions:create') },
    async (request, reply) => {
      const live = await catalogue.liveService(request.params.slug);
      if (!live) return sendProblem(reply, { title: 'There is no such service', status: 404 });
      const parsed = submissionBody.safeParse(request.body);
      if (!parsed.success) return sendValidationProblem(reply, fieldProblems(parsed.error));
      const { answers: input, channel, contact } = parsed.data;
      const headerKey = request.headers['idempotency-key'];
      if (
        headerKey !== undefined &&
        (typeof headerKey !== 'string' || !idempotencyKeyPattern.test(headerKey))
      )
        return sendValidationProblem(reply, [
          {
            pointer: '/headers/Idempotency-Key',
            detail: 'Idempotency-Key must be 1 to 200 printable characters',
          },
        ]);

      const def = live.definition;
      // The contact email stands in for the form's own email question, if the client did not answer it.
      const contactQuestion = def.questions.find((q) => q.contactEmail);
      const withContact =
        contactQuestion && contact?.email && input[contactQuestion.id] === undefined
          ? { ...input, [contactQuestion.id]: contact.email }
          : input;
      const fileQuestions = def.questions.filter((q) => q.type === 'file' && withContact[q.id] !== undefined);
      const { answers, errors } = validateAll(
        def,
        withContact,
        { knownResident: false },
        catalogue.gazetteer,
      );
      for (const q of fileQuestions)
        errors.push({ questionId: q.id, message: 'Files cannot be sent through this API' });
      if (errors.length)
        return sendValidationProblem(
          reply,
          errors.map((e) => ({
            pointer: `/answers/${e.questionId.replace(/~/g, '~0').replace(/\//g, '~1')}`,
            detail: e.message,
          })),
        );

      const client = request.apiClient!;
      const created = await catalogue.submit({
        live,
        answers,
        residentId: null,
        channel,
        actor: { type: 'api', id: client.id },
        // Keys are the client's own: two clients choosing the same key do not collide.
        idempotencyKey: headerKey ? `api:${client.id}:${headerKey}` : `api:${randomUUID()}`,
        contactEmail:
          contact?.email ?? (contactQuestion ? (answers[contactQuestion.id] as string | undefined) : null),
        extra: contact
          ? {
              contact: {
                question: 'Contact details',
                answer: [contact.name, contact.email, contact.phone].filter(Boolean).join(', '),
              },
            }
          : undefined,
      });
      const existing = created.created
        ? undefined
        : await cases.findByReference(platform.db, created.reference);
      return reply.code(created.created ? 201 : 200).send({
        reference: created.reference,
        status: existing?.status ?? 'received',
        service: existing?.service_slug ?? def.slug,
        version: existing?.service_version ?? live.version,
        links: { self: `/api/v1/cases/${created.reference}` },
      });
    },
  );

  registerOperation({
    method: 'get',
    path: '/api/v1/services',
    summary: 'List the live services',
    tags: ['Services'],
    responses: {
      '200': { description: 'The live services', schema: z.object({ services: z.array(serviceSummary) }) },
    },
  });
  registerOperation({
    method: 'get',
    path: '/api/v1/services/{slug}',
    summary: 'A live service and its form definition',
    tags: ['Services'],
    parameters: [{ name: 'slug', in: 'path' }],
    responses: {
      '200': {
        description: 'The live version of the service',
        schema: serviceSummary.extend({ definition: serviceDefinitionSchema }),
      },
      '404': { description: 'There is no such live service' },
    },
  });
  registerOperation({
    method: 'post',
    path: '/api/v1/services/{slug}/submissions',
    summary: 'Submit answers to a live service; creates a case',
    tags: ['Services'],
    scope: 'submissions:create',
    parameters: [
      { name: 'slug', in: 'path' },
      {
        name: 'Idempotency-Key',
        in: 'header',
        description: 'A retry with the same key returns the same case with 200 instead of 201',
      },
    ],
    requestBody: submissionBody,
    responses: {
      '201': { description: 'The case was created', schema: submissionCreated },
      '200': {
        description: 'A retry: the case made by the first request with this Idempotency-Key',
        schema: submissionCreated,
      },
      '400': { description: 'Invalid answers, each listed with pointer /answers/{questionId}' },
      '401': { description: 'No valid API key' },
      '403': { description: 'The API key lacks the submissions:create scope' },
      '404': { description: 'There is no such live service' },
      '429': { description: 'Too many requests' },
    },
  });
}
