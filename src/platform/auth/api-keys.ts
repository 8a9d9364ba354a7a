import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tables, type Db } from '../db/index.ts';
import { sendProblem } from '../http/problem.ts';

interface ApiKeyTables {
  api_keys: {
    id: string;
    name: string;
    prefix: string;
    key_hash: string;
    scopes: string[];
    created_by: string | null;
    created_at: Date;
    revoked_at: Date | null;
  };
}

export interface ApiClient {
  id: string;
  name: string;
  scopes: string[];
}

const hash = (key: string) => createHash('sha256').update(key).digest('hex');

/** Issues a key. The plain key is returned once and never stored: only its hash is kept. */
export async function createApiKey(
  db: Db,
  input: { name: string; scopes: string[]; createdBy: string | null },
): Promise<{ id: string; key: string; prefix: string }> {
  const prefix = randomBytes(4).toString('hex');
  const key = `kiln_${prefix}_${randomBytes(24).toString('base64url')}`;
  const row = await tables<ApiKeyTables>(db)
    .insertInto('api_keys')
    .values({
      name: input.name,
      prefix,
      key_hash: hash(key),
      scopes: input.scopes,
      created_by: input.createdBy,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, key, prefix };
}

export async function revokeApiKey(db: Db, id: string): Promise<boolean> {
  const result = await tables<ApiKeyTables>(db)
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  // This process forgets the key at once; others within CACHE_MS.
  for (const [keyHash, entry] of cache) if (entry.client.id === id) cache.delete(keyHash);
  return Number(result.numUpdatedRows) > 0;
}

export async function listApiKeys(db: Db) {
  return tables<ApiKeyTables>(db)
    .selectFrom('api_keys')
    .select(['id', 'name', 'prefix', 'scopes', 'created_at', 'revoked_at'])
    .orderBy('created_at', 'desc')
    .execute();
}

// Successful look-ups are remembered briefly so an API under load does not query for every call.
// A revoked key therefore keeps working for at most CACHE_MS.
const CACHE_MS = 30_000;
const cache = new Map<string, { client: ApiClient; until: number }>();

/** The client a key belongs to, or null for a missing, malformed, unknown or revoked key. */
export async function authenticateApiKey(db: Db, key: string | undefined): Promise<ApiClient | null> {
  if (!key || !/^kiln_[0-9a-f]{8}_[\w-]{32}$/.test(key)) return null;
  const keyHash = hash(key);
  const cached = cache.get(keyHash);
  if (cached && cached.until > Date.now()) return cached.client;
  const row = await tables<ApiKeyTables>(db)
    .selectFrom('api_keys')
    .select(['id', 'name', 'scopes'])
    .where('key_hash', '=', keyHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  if (cache.size > 1000) cache.clear();
  cache.set(keyHash, { client: row, until: Date.now() + CACHE_MS });
  return row;
}

/** Reads the bearer key (Authorization: Bearer kiln_…) or `api_key` parameter, as Open311 clients send it. */
export function apiKeyFrom(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.api_key;
  const fromBody = (request.body as Record<string, unknown> | undefined)?.api_key;
  const value = fromQuery ?? fromBody;
  return typeof value === 'string' ? value : undefined;
}

/** A preHandler for API routes: 401 problem+json without a valid key, 403 without the scope. */
export function requireApiKey(db: Db, scope: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const client = await authenticateApiKey(db, apiKeyFrom(request));
    if (!client) {
      reply.header('WWW-Authenticate', 'Bearer');
      return sendProblem(reply, { title: 'You need a valid API key', status: 401 });
    }
    if (!client.scopes.includes(scope) && !client.scopes.includes('*')) {
      return sendProblem(reply, { title: `This API key does not have the ${scope} scope`, status: 403 });
    }
    request.apiClient = client;
  };
}
