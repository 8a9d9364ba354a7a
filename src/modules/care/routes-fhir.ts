import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAudit } from '../../platform/audit/index.ts';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import {
  createFhirRepository,
  FhirSearchError,
  historyTypes,
  includesOf,
  revIncludesOf,
  searchParameters,
  TokenUnconfirmed,
  viewerOfToken,
} from './fhir-repository.ts';
import { InvalidResource, readInput, updatableTypes, writableTypes } from './fhir-input.ts';
import { operationOutcome, type IssueCode, type Resource } from './fhir-resources.ts';
import {
  allows,
  fhirTypes,
  offeredScopes,
  TokenError,
  type FhirTokens,
  type FhirType,
  type TokenHolder,
} from './fhir-tokens.ts';
import {
  AccessRefused,
  BREAK_GLASS_HEADER,
  BREAK_GLASS_PARAMETER,
  RecordNotFound,
  RecordRuleError,
  type CareRecord,
} from './record.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const COMMON = new Set([
  '_count',
  '_offset',
  '_include',
  '_revinclude',
  '_format',
  '_id',
  BREAK_GLASS_PARAMETER,
]);
const MAX_COUNT = 100;

const send = (reply: FastifyReply, status: number, body: unknown) =>
  reply.code(status).type(FHIR_JSON).send(body);
const outcome = (
  reply: FastifyReply,
  status: number,
  code: IssueCode,
  diagnostics: string,
  extra: Parameters<typeof operationOutcome>[2] = [],
) => send(reply, status, operationOutcome(code, diagnostics, extra));

/** FHIR R4 under /fhir/R4: SMART-style bearer tokens, OperationOutcome on every error. */
export async function registerFhirRoutes(
  app: FastifyInstance,
  platform: Platform,
  deps: { record: CareRecord; tokens: FhirTokens },
) {
  const { record, tokens } = deps;
  const repository = createFhirRepository(platform, record);

  await app.register(
    async (f) => {
      const jsonParser = (
        _request: FastifyRequest,
        body: string,
        done: (err: Error | null, value?: unknown) => void,
      ) => {
        try {
          done(null, body.length ? JSON.parse(body) : undefined);
        } catch {
          const error = new Error('The body is not valid JSON') as FastifyError;
          error.statusCode = 400;
          done(error);
        }
      };
      f.addContentTypeParser(
        ['application/fhir+json', 'application/json+fhir'],
        { parseAs: 'string' },
        jsonParser,
      );

      f.setErrorHandler((error: FastifyError, request, reply) => {
        if (isDatabaseUnavailable(error)) {
          request.log.error({ err: { message: error.message, code: error.code } }, 'database unavailable');
          reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
          return outcome(
            reply,
            503,
            'transient',
            'The service is unavailable for a moment. Try again in a few seconds.',
          );
        }
        const status =
          error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) request.log.error({ err: error }, 'FHIR request failed');
        const code: IssueCode =
          status === 415
            ? 'not-supported'
            : status === 429
              ? 'processing'
              : status === 500
                ? 'exception'
                : 'invalid';
        return outcome(
          reply,
          status,
          code,
          status === 500 ? 'Sorry, something went wrong on the server' : error.message,
        );
      });
      f.setNotFoundHandler((request, reply) =>
        outcome(reply, 404, 'not-supported', `${request.method} ${request.url} is not part of this FHIR API`),
      );

      const base = (request: FastifyRequest) => `${request.protocol}://${request.host}/fhir/R4`;
      const rate = { rateLimit: platform.rateLimits.api };

      // ------------------------------------------------------------ discovery and tokens

      f.get('/metadata', { config: rate }, async (request, reply) =>
        send(reply, 200, capabilityStatement(base(request))),
      );

      f.get('/.well-known/smart-configuration', { config: rate }, async (request) => ({
        token_endpoint: `${base(request)}/auth/token`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        grant_types_supported: ['client_credentials'],
        scopes_supported: offeredScopes.map((s) => s.value),
        capabilities: ['client-confidential-symmetric', 'permission-v1'],
      }));

      f.post(
        '/auth/token',
        { config: { rateLimit: platform.rateLimits.submissions } },
        async (request, reply) => {
          const body = (request.body ?? {}) as Record<string, unknown>;
          const field = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
          let clientId = field('client_id');
          let secret = field('client_secret');
          const basic = /^Basic\s+(.+)$/i.exec(String(request.headers.authorization ?? ''));
          if (basic) {
            const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
            const at = decoded.indexOf(':');
            clientId = decodeURIComponent(decoded.slice(0, at));
            secret = decodeURIComponent(decoded.slice(at + 1));
          }
          reply.header('Cache-Control', 'no-store');
          if (field('grant_type') !== 'client_credentials')
            return reply.code(400).send({
              error: 'unsupported_grant_type',
              error_description: 'Only grant_type=client_credentials is supported',
            });
          try {
            return await tokens.issue(clientId, secret, field('scope') || undefined);
          } catch (error) {
            if (error instanceof TokenError)
              return reply
                .code(error.error === 'invalid_client' ? 401 : 400)
                .send({ error: error.error, error_description: error.message });
            throw error;
          }
        },
      );

      // ------------------------------------------------------------ every other interaction needs a token

      const bearerOf = (request: FastifyRequest) =>
        /^Bearer\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
      const invalidToken = (reply: FastifyReply, token: string) => {
        reply.header(
          'WWW-Authenticate',
          `Bearer realm="${platform.config.COUNCIL_NAME} FHIR", error="invalid_token"`,
        );
        outcome(
          reply,
          401,
          'login',
          token
            ? 'The access token is not valid or has expired'
            : 'Send an access token: Authorization: Bearer <token>',
        );
      };

      /**
       * The token's holder if it may take this interaction; else the refusal is sent. `recall`
       * takes a holder remembered from an earlier request, for a handler whose statement confirms
       * the token as it reads (a Patient search); every other handler reads the token afresh.
       */
      async function authorise(
        request: FastifyRequest,
        reply: FastifyReply,
        type: string,
        interaction: 'read' | 'write',
        subject?: string,
        recall = false,
      ): Promise<TokenHolder | null> {
        const token = bearerOf(request);
        const holder = await (recall ? tokens.recall(token) : tokens.verify(token));
        if (!holder) {
          invalidToken(reply, token);
          return null;
        }
        if (!allows(holder.scopes, type, interaction)) {
          await recordAudit(platform.db, {
            actor: { type: 'api', id: holder.practitionerId },
            action: 'care.fhir_scope_refused',
            subjectType: subject ? 'care_person' : 'fhir',
            subjectId: subject ?? type,
            detail: { type, interaction, scopes: holder.scopes, client: holder.clientId },
          });
          outcome(
            reply,
            403,
            'forbidden',
            `The token's scopes (${holder.scopes.join(' ')}) do not allow ${interaction} of ${type}`,
          );
          return null;
        }
        return holder;
      }

      /** The reason a client states for reading outside the care team: the header, or the parameter. */
      const breakGlassReason = (request: FastifyRequest): string | undefined => {
        const header = request.headers[BREAK_GLASS_HEADER.toLowerCase()];
        const param = (request.query as Record<string, unknown>)[BREAK_GLASS_PARAMETER];
        const stated = [header, param].flat().find((v) => typeof v === 'string');
        return typeof stated === 'string' ? stated : undefined;
      };
      const viewerOf = (holder: TokenHolder, request: FastifyRequest) =>
        viewerOfToken(holder, breakGlassReason(request));
      const typeOf = (request: FastifyRequest) => (request.params as { type: string }).type;
      const known = (type: string): type is FhirType => (fhirTypes as readonly string[]).includes(type);
      const unknownType = (reply: FastifyReply, type: string) =>
        outcome(reply, 404, 'not-supported', `Resource type ${type} is not supported by this server`);

      function failure(reply: FastifyReply, error: unknown) {
        if (error instanceof FhirSearchError) return outcome(reply, error.status, error.code, error.message);
        if (error instanceof AccessRefused) return outcome(reply, 403, 'forbidden', error.message);
        if (error instanceof RecordNotFound) return outcome(reply, 404, 'not-found', error.message);
        if (error instanceof InvalidResource)
          return outcome(
            reply,
            400,
            'invalid',
            `The resource does not conform: ${error.issues[0]?.expression}: ${error.issues[0]?.diagnostics}`,
            error.issues.map((i) => ({
              code: 'invalid' as const,
              diagnostics: i.diagnostics,
              expression: [i.expression],
            })),
          );
        if (error instanceof RecordRuleError)
          return outcome(
            reply,
            error.field === 'nhsNumber' ? 409 : 422,
            error.field === 'nhsNumber' ? 'duplicate' : 'processing',
            error.message,
          );
        throw error;
      }

      f.get('/Binary/:id', { config: rate }, async (request, reply) => {
        const holder = await authorise(request, reply, 'DocumentReference', 'read');
        if (!holder) return reply;
        try {
          const doc = await repository.binary(
            viewerOf(holder, request),
            (request.params as { id: string }).id,
          );
          return reply.type(doc.media_type).header('Cache-Control', 'no-store').send(doc.content);
        } catch (error) {
          return failure(reply, error);
        }
      });

      f.get('/:type', { config: rate }, async (request, reply) => {
        const type = typeOf(request);
        if (!known(type)) return unknownType(reply, type);
        const holder = await authorise(request, reply, type, 'read', undefined, type === 'Patient');
        if (!holder) return reply;
        // A remembered token is confirmed by the search's statement; an answer without one reads it.
        const token = bearerOf(request);
        const confirmed = async () => !holder.toConfirm || (await tokens.verify(token)) !== null;
        const refuse = async (...args: [number, IssueCode, string]) =>
          (await confirmed()) ? outcome(reply, ...args) : invalidToken(reply, token);
        const query = request.query as Record<string, string | string[]>;
        const params: Record<string, string[]> = {};
        const supported = searchParameters(type);
        for (const [key, raw] of Object.entries(query)) {
          const name = key.split(':')[0]!;
          if (!COMMON.has(name) && !(name in supported))
            return refuse(
              400,
              'not-supported',
              `Search parameter '${key}' is not supported for ${type}. Supported: ${[...Object.keys(supported), ...COMMON].join(', ')}`,
            );
          params[name] = [raw].flat().map(String);
        }
        const count = params._count ? Number(params._count[0]) : 20;
        const offset = params._offset ? Number(params._offset[0]) : 0;
        if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT)
          return refuse(400, 'invalid', `_count must be a whole number from 0 to ${MAX_COUNT}`);
        if (!Number.isInteger(offset) || offset < 0)
          return refuse(400, 'invalid', '_offset must be a whole number, 0 or more');
        const includes = (params._include ?? []).flatMap((v) => v.split(','));
        const revIncludes = (params._revinclude ?? []).flatMap((v) => v.split(','));
        for (const [name, asked, allowed] of [
          ['_include', includes, includesOf(type)],
          ['_revinclude', revIncludes, revIncludesOf(type)],
        ] as const) {
          const unknown = asked.find((i) => !allowed.includes(i));
          if (unknown)
            return refuse(
              400,
              'not-supported',
              `${name}=${unknown} is not supported for ${type}. Supported: ${allowed.join(', ') || 'none'}`,
            );
        }
        try {
          const search = (by: TokenHolder) =>
            repository.search(
              viewerOf(by, request),
              type,
              { params, offset, count, includes, revIncludes },
              base(request),
            );
          let result;
          try {
            result = await search(holder);
          } catch (error) {
            if (!(error instanceof TokenUnconfirmed)) throw error;
            const verified = await tokens.verify(token);
            if (!verified) return invalidToken(reply, token);
            result = await search(verified);
          }
          return send(reply, 200, bundle(base(request), type, query, result, offset, count));
        } catch (error) {
          if (!(await confirmed())) return invalidToken(reply, token);
          return failure(reply, error);
        }
      });

      /** The type and id in the address, with the token's holder if it may read them; else the refusal is sent. */
      async function readerOf(request: FastifyRequest, reply: FastifyReply) {
        const type = typeOf(request);
        const id = (request.params as { id: string }).id;
        if (!known(type)) {
          unknownType(reply, type);
          return null;
        }
        const holder = await authorise(request, reply, type, 'read', type === 'Patient' ? id : undefined);
        return holder ? { type, id, holder } : null;
      }

      f.get('/:type/:id', { config: rate }, async (request, reply) => {
        const reader = await readerOf(request, reply);
        if (!reader) return reply;
        const { type, id, holder } = reader;
        try {
          return sendVersion(
            reply,
            await repository.read(viewerOf(holder, request), type, id, base(request)),
          );
        } catch (error) {
          return failure(reply, error);
        }
      });

      // History: every version of a resource, newest first, and one version by its number.
      async function history(request: FastifyRequest, reply: FastifyReply, vid?: string) {
        const reader = await readerOf(request, reply);
        if (!reader) return reply;
        const { type, id, holder } = reader;
        try {
          const versions = await repository.history(viewerOf(holder, request), type, id, base(request));
          if (vid === undefined) return send(reply, 200, historyBundle(base(request), type, id, versions));
          const version = versions.find((v) => versionOf(v) === vid);
          if (!version)
            return outcome(
              reply,
              404,
              'not-found',
              `${type}/${id} has no version ${vid}: its versions are ${versions.map(versionOf).join(', ')}`,
            );
          return sendVersion(reply, version);
        } catch (error) {
          return failure(reply, error);
        }
      }
      f.get('/:type/:id/_history', { config: rate }, (request, reply) => history(request, reply));
      f.get('/:type/:id/_history/:vid', { config: rate }, (request, reply) =>
        history(request, reply, (request.params as { vid: string }).vid),
      );

      f.post('/:type', { config: rate }, async (request, reply) => {
        const type = typeOf(request);
        if (!known(type)) return unknownType(reply, type);
        if (!(writableTypes as readonly string[]).includes(type))
          return outcome(
            reply,
            405,
            'not-supported',
            `${type} cannot be created through this API: it is read only`,
          );
        const holder = await authorise(request, reply, type, 'write');
        if (!holder) return reply;
        const viewer = viewerOf(holder, request);
        try {
          const input = readInput(type, request.body);
          let id: string;
          if (input.type === 'Patient') {
            id = (await record.registerPerson(viewer, input.person!, 'Lead professional')).id;
          } else {
            const personId = input.personId!;
            if ('encounter' in input) id = (await record.addEncounter(viewer, personId, input.encounter!)).id;
            else if ('condition' in input)
              id = (await record.addCondition(viewer, personId, input.condition! as never)).id;
            else if ('observation' in input)
              id = String(await record.addObservation(viewer, personId, input.observation!));
            else if ('carePlan' in input)
              id = (await record.addCarePlan(viewer, personId, input.carePlan!)).id;
            else if ('flag' in input) id = (await record.addFlag(viewer, personId, input.flag!))!.id;
            else if ('relatedPerson' in input)
              id = (await record.addRelatedPerson(viewer, personId, input.relatedPerson!)).id;
            else
              id = (
                await record.addMedication(
                  viewer,
                  personId,
                  (input as unknown as { medication: never }).medication,
                )
              ).id;
          }
          const created = await repository.read(viewer, type, id, base(request));
          reply.header('Location', `${base(request)}/${type}/${id}`);
          return send(reply, 201, created);
        } catch (error) {
          return failure(reply, error);
        }
      });

      f.put('/:type/:id', { config: rate }, async (request, reply) => {
        const type = typeOf(request);
        const id = (request.params as { id: string }).id;
        if (!known(type)) return unknownType(reply, type);
        if (!(updatableTypes as readonly string[]).includes(type))
          return outcome(reply, 405, 'not-supported', `${type} cannot be updated through this API`);
        const holder = await authorise(request, reply, type, 'write', type === 'Patient' ? id : undefined);
        if (!holder) return reply;
        const viewer = viewerOf(holder, request);
        try {
          const input = readInput(type, request.body);
          if ((input as { id?: string }).id !== id)
            return outcome(reply, 400, 'invalid', `The resource's id must be ${id}, the id in the address`);
          if (input.type === 'Patient') {
            const current = (await repository.read(viewer, 'Patient', id, base(request))) as Resource & {
              identifier?: Array<{ value: string }>;
            };
            if ((current.identifier?.[0]?.value ?? null) !== input.person!.nhsNumber)
              return outcome(
                reply,
                422,
                'processing',
                'The NHS number identifies the person and cannot be changed',
              );
            const p = input.person!;
            await record.updatePerson(viewer, id, {
              given_name: p.givenName,
              family_name: p.familyName,
              date_of_birth: p.dateOfBirth,
              gender: p.gender,
              address: p.address,
              postcode: p.postcode,
              phone: p.phone,
            });
          } else {
            const owner = await repository.owner(type, id);
            if (!owner)
              return outcome(reply, 404, 'not-found', `${type}/${id} is not known: create it with POST`);
            if (owner !== input.personId)
              return outcome(reply, 422, 'processing', `${type}/${id} belongs to another patient`);
            if ('encounter' in input) {
              const e = input.encounter!;
              await record.updateEncounter(viewer, owner, id, {
                kind: e.kind,
                status: e.status,
                start_at: e.startAt,
                end_at: e.endAt,
                notes: e.notes,
              });
            } else if ('carePlan' in input) {
              const c = input.carePlan!;
              await record.updateCarePlan(viewer, owner, id, {
                title: c.title,
                description: c.description,
                status: c.status,
                period_start: c.periodStart,
                period_end: c.periodEnd,
              });
            } else if ('flag' in input) {
              const fl = input.flag!;
              await record.updateFlag(viewer, owner, id, {
                status: fl.status,
                display: fl.display,
                code: fl.code,
                category: fl.category,
                period_end: fl.status === 'inactive' ? new Date() : null,
              });
            }
          }
          return sendVersion(reply, await repository.read(viewer, type, id, base(request)));
        } catch (error) {
          return failure(reply, error);
        }
      });

      for (const method of ['DELETE', 'PATCH'] as const)
        f.route({
          method,
          url: '/:type/:id',
          handler: async (_request, reply) =>
            outcome(reply, 405, 'not-supported', `${method} is not supported: the record keeps its history`),
        });
    },
    { prefix: '/fhir/R4' },
  );
}

const versionOf = (r: Resource) => (r.meta as { versionId?: string } | undefined)?.versionId ?? '1';
const lastUpdatedOf = (r: Resource) => (r.meta as { lastUpdated?: string } | undefined)?.lastUpdated;

/** A resource with its version as an ETag and its last change as Last-Modified. */
function sendVersion(reply: FastifyReply, resource: Resource) {
  const at = lastUpdatedOf(resource);
  reply.header('ETag', `W/"${versionOf(resource)}"`);
  if (at) reply.header('Last-Modified', new Date(at).toUTCString());
  return send(reply, 200, resource);
}

/** A history Bundle: each version, newest first, made by a create (version 1) or an update. */
function historyBundle(base: string, type: string, id: string, versions: Resource[]): Resource {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    link: [{ relation: 'self', url: `${base}/${type}/${id}/_history` }],
    entry: versions.map((r) => ({
      fullUrl: `${base}/${type}/${id}`,
      resource: r,
      request: {
        method: versionOf(r) === '1' ? 'POST' : 'PUT',
        url: versionOf(r) === '1' ? type : `${type}/${id}`,
      },
      response: {
        status: versionOf(r) === '1' ? '201 Created' : '200 OK',
        etag: `W/"${versionOf(r)}"`,
        ...(lastUpdatedOf(r) ? { lastModified: lastUpdatedOf(r) } : {}),
      },
    })),
  };
}

function bundle(
  base: string,
  type: string,
  query: Record<string, string | string[]>,
  result: { total: number; matches: Resource[]; included: Resource[]; warnings?: string[] },
  offset: number,
  count: number,
): Resource {
  const link = (at: number) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (k !== '_offset' && k !== '_count') for (const x of [v].flat()) params.append(k, String(x));
    params.set('_count', String(count));
    params.set('_offset', String(at));
    return `${base}/${type}?${params.toString()}`;
  };
  const links = [
    { relation: 'self', url: link(offset) },
    { relation: 'first', url: link(0) },
  ];
  if (count > 0 && offset + count < result.total) links.push({ relation: 'next', url: link(offset + count) });
  if (offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
  const seen = new Set<string>();
  const entry = [
    ...result.matches.map((r) => ({ r, mode: 'match' })),
    ...result.included.map((r) => ({ r, mode: 'include' })),
  ]
    .filter(({ r }) => {
      const key = `${r.resourceType}/${r.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map(({ r, mode }) => ({ fullUrl: `${base}/${r.resourceType}/${r.id}`, resource: r, search: { mode } }));
  if (result.warnings?.length)
    entry.push({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: {
        resourceType: 'OperationOutcome',
        issue: result.warnings.map((diagnostics) => ({
          severity: 'warning',
          code: 'incomplete',
          diagnostics,
        })),
      },
      search: { mode: 'outcome' },
    });
  return { resourceType: 'Bundle', type: 'searchset', total: result.total, link: links, entry };
}

function capabilityStatement(base: string): Resource {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-25',
    publisher: 'Kiln',
    kind: 'instance',
    software: { name: 'Kiln', version: '0.1.0' },
    implementation: { description: 'Shared care record of the council, FHIR R4', url: base },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: false,
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
            },
          ],
          description:
            'OAuth 2.0 client credentials; tokens act as one practitioner, who sees only the people in their care teams. ' +
            `To read a record outside the care team (break the glass), state why on each request in the ${BREAK_GLASS_HEADER} header or the ${BREAK_GLASS_PARAMETER} parameter (10 characters or more): ` +
            'reads only; each is audited, and the first in an hour is reported to the privacy officer. A Patient search finds that person only by identifier.',
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: `${base}/auth/token` }],
            },
          ],
        },
        resource: fhirTypes.map((type) => ({
          type,
          interaction: [
            { code: 'read' },
            ...(historyTypes.includes(type) ? [{ code: 'vread' }, { code: 'history-instance' }] : []),
            { code: 'search-type' },
            ...((writableTypes as readonly string[]).includes(type) ? [{ code: 'create' }] : []),
            ...((updatableTypes as readonly string[]).includes(type) ? [{ code: 'update' }] : []),
          ],
          ...(historyTypes.includes(type) ? { versioning: 'versioned', readHistory: true } : {}),
          searchParam: [
            { name: '_id', type: 'token' },
            ...Object.entries(searchParameters(type)).map(([name, kind]) => ({ name, type: kind })),
          ],
          ...(includesOf(type).length ? { searchInclude: includesOf(type) } : {}),
          ...(revIncludesOf(type).length ? { searchRevInclude: revIncludesOf(type) } : {}),
        })),
      },
    ],
  };
}
