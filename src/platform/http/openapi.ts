import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

/** One API operation, described once where its route is defined. */
export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path, parameters in braces: /api/v1/services/{slug}. */
  path: string;
  summary: string;
  tags?: string[];
  /** Scope the bearer API key needs; omitted for public operations. */
  scope?: string;
  parameters?: Array<{
    name: string;
    in: 'path' | 'query' | 'header';
    required?: boolean;
    description?: string;
  }>;
  requestBody?: z.ZodType;
  /** Status code to description (and optionally the JSON body's schema). */
  responses: Record<string, { description: string; schema?: z.ZodType }>;
}

// Operations are keyed by method and path, so registering again (another app in the same process) replaces.
const operations = new Map<string, ApiOperation>();

/** Adds an operation to the OpenAPI document served at /api/docs. */
export function registerOperation(operation: ApiOperation): void {
  operations.set(`${operation.method} ${operation.path}`, operation);
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pointer', 'detail'],
        properties: { pointer: { type: 'string' }, detail: { type: 'string' } },
      },
    },
  },
};

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
};

/** The OpenAPI 3.1 document for every registered operation. */
export function openApiDocument(info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of [...operations.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      const isProblem = Number(status) >= 400;
      responses[status] = {
        description: r.description,
        content: isProblem
          ? { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }
          : r.schema
            ? { 'application/json': { schema: jsonSchema(r.schema) } }
            : undefined,
      };
    }
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      tags: op.tags,
      operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string) => (c ? c.toUpperCase() : ''))}`,
      parameters: op.parameters?.map((p) => ({
        ...p,
        required: p.in === 'path' ? true : (p.required ?? false),
        schema: { type: 'string' },
      })),
      requestBody: op.requestBody
        ? { required: true, content: { 'application/json': { schema: jsonSchema(op.requestBody) } } }
        : undefined,
      security: op.scope ? [{ apiKey: [] }] : undefined,
      'x-scope': op.scope,
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Kiln API key: kiln_…' } },
      schemas: { Problem: problemSchema },
    },
  };
}

/** Serves the OpenAPI document at GET /api/docs. */
export function registerApiDocs(app: FastifyInstance, info: { title: string; version: string }): void {
  app.get('/api/docs', async (_request, reply) =>
    reply.header('Cache-Control', 'no-cache').send(JSON.parse(JSON.stringify(openApiDocument(info)))),
  );
}
