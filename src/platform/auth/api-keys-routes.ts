import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recordAudit } from '../audit/index.ts';
import type { Db } from '../db/index.ts';
import { createApiKey, listApiKeys, revokeApiKey } from './api-keys.ts';
import { actorOf, type StaffNavItem } from './identity.ts';

/**
 * What a key may be allowed to do. A fixed list, so an administrator picks from what Kiln's APIs
 * check for (requireApiKey) and cannot invent a scope nothing honours.
 */
export const apiKeyScopes = [
  { value: 'submissions:create', text: 'Send in form submissions', hint: 'POST /api/v1/submissions' },
  { value: 'open311', text: 'Report problems through Open311', hint: '/open311/v2' },
  { value: 'cases:read', text: 'Read cases', hint: 'Partner systems that follow up requests' },
  { value: 'insights:read', text: 'Read open data and dashboards', hint: 'Warehouse exports' },
  { value: 'wellbeing:ingest', text: 'Send sensor readings', hint: 'Wellbeing devices and gateways' },
  { value: 'fhir', text: 'Read and write care records', hint: '/fhir/R4' },
  { value: 'bookings', text: 'Find, hold, confirm and cancel bookings', hint: '/api/v1/bookings' },
] as const;

export const apiKeysNavigation: StaffNavItem = {
  href: '/staff/api-keys',
  text: 'API keys',
  section: 'api-keys',
  permission: 'apikeys:manage',
};

const scopeValues = apiKeyScopes.map((s) => s.value) as [string, ...string[]];
const newKeySchema = z.object({
  name: z
    .string({ error: 'Enter a name for the key' })
    .trim()
    .min(1, 'Enter a name for the key')
    .max(100, 'The name must be 100 characters or fewer'),
  scopes: z
    .union([z.string(), z.array(z.string())], { error: 'Select what the key may do' })
    .transform((v) => [...new Set([v].flat())])
    .pipe(
      z
        .array(z.enum(scopeValues, { error: 'Select what the key may do' }))
        .min(1, 'Select what the key may do'),
    ),
});
const idSchema = z.uuid();

const view = (name: string) => `auth/api-keys-${name}.njk`;
const permission = 'apikeys:manage' as const;

/** `/staff/api-keys`: administrators list, issue and revoke keys for partner systems. */
export function registerApiKeyRoutes(app: FastifyInstance, db: Db): void {
  const base = { title: 'API keys', navSection: 'api-keys' };

  app.get('/staff/api-keys', { config: { permission } }, async (_request, reply) =>
    reply.render(view('list'), { ...base, keys: await listApiKeys(db), scopes: apiKeyScopes }),
  );

  const newKeyPage = (
    reply: FastifyReply,
    values: object = {},
    errors: Array<{ field: string; text: string }> = [],
  ) =>
    reply.code(errors.length ? 400 : 200).render(view('new'), {
      ...base,
      title: 'Create an API key',
      backLink: '/staff/api-keys',
      scopes: apiKeyScopes,
      values,
      errors,
    });

  app.get('/staff/api-keys/new', { config: { permission } }, async (_request, reply) => newKeyPage(reply));

  app.post('/staff/api-keys', { config: { permission } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = newKeySchema.safeParse({ name: body.name, scopes: body.scopes });
    if (!parsed.success) {
      const errors: Array<{ field: string; text: string }> = [];
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0]);
        if (!errors.some((e) => e.field === field)) errors.push({ field, text: issue.message });
      }
      return newKeyPage(reply, { name: body.name, scopes: [body.scopes ?? []].flat() }, errors);
    }
    const actor = actorOf(request);
    const created = await db.transaction().execute(async (tx) => {
      const key = await createApiKey(tx, { ...parsed.data, createdBy: request.staff!.id });
      await recordAudit(tx, {
        actor,
        action: 'apikey.created',
        subjectType: 'api_key',
        subjectId: key.id,
        detail: { name: parsed.data.name, prefix: key.prefix, scopes: parsed.data.scopes },
      });
      return key;
    });
    // Rendered, not redirected: the key is shown on this one response and stored nowhere in clear.
    return reply.render(view('created'), {
      ...base,
      title: 'Your new API key',
      name: parsed.data.name,
      key: created.key,
    });
  });

  const findKey = async (request: FastifyRequest) => {
    const id = idSchema.safeParse((request.params as { id: string }).id);
    if (!id.success) return undefined;
    return (await listApiKeys(db)).find((k) => k.id === id.data);
  };

  app.get('/staff/api-keys/:id/revoke', { config: { permission } }, async (request, reply) => {
    const key = await findKey(request);
    if (!key) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply.render(view('revoke'), {
      ...base,
      title: `Revoke the API key ${key.name}?`,
      backLink: '/staff/api-keys',
      key,
    });
  });

  app.post('/staff/api-keys/:id/revoke', { config: { permission } }, async (request, reply) => {
    const key = await findKey(request);
    if (!key) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    const actor = actorOf(request);
    const revoked = await db.transaction().execute(async (tx) => {
      const done = await revokeApiKey(tx, key.id);
      if (done) {
        await recordAudit(tx, {
          actor,
          action: 'apikey.revoked',
          subjectType: 'api_key',
          subjectId: key.id,
          detail: { name: key.name, prefix: key.prefix },
        });
      }
      return done;
    });
    request.session.set(
      'flash',
      revoked ? `The key ${key.name} has been revoked` : `The key ${key.name} was already revoked`,
    );
    return reply.redirect('/staff/api-keys', 303);
  });
}
