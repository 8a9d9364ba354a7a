import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { CareSettings } from './settings.ts';
import * as store from './store.ts';

/** The resource types the FHIR API serves. */
export const fhirTypes = [
  'Patient',
  'RelatedPerson',
  'Practitioner',
  'Organization',
  'CareTeam',
  'Encounter',
  'Condition',
  'Observation',
  'MedicationStatement',
  'CarePlan',
  'Flag',
  'Consent',
  'DocumentReference',
] as const;
export type FhirType = (typeof fhirTypes)[number];

/** The scopes a client may be given, SMART App Launch 1.0 style. */
export const offeredScopes = [
  { value: 'patient/*.read', text: 'Read the records of people in your care teams' },
  { value: 'user/*.read', text: 'Read practitioners, organisations and records you can see' },
  { value: 'user/*.write', text: 'Create and update records of people in your care teams' },
] as const;

const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)$/;

/** Whether a SMART scope is well formed (v1 `.read`/`.write`/`.*`, or v2 `.cruds` letters). */
export function isScope(scope: string): boolean {
  const m = SCOPE.exec(scope);
  return Boolean(m && (m[2] === '*' || (fhirTypes as readonly string[]).includes(m[2]!)));
}

/** The types in the patient compartment: what `patient/` scopes reach. */
const patientCompartment = new Set<string>(
  fhirTypes.filter((t) => t !== 'Practitioner' && t !== 'Organization'),
);

/** Whether the granted scopes allow an interaction on a resource type. */
export function allows(scopes: readonly string[], type: string, interaction: 'read' | 'write'): boolean {
  return scopes.some((scope) => {
    const m = SCOPE.exec(scope);
    if (!m || (m[2] !== '*' && m[2] !== type)) return false;
    if (m[1] === 'patient' && !patientCompartment.has(type)) return false;
    const mode = m[3]!;
    if (mode === '*') return true;
    if (mode === 'read' || mode === 'write') return mode === interaction;
    return interaction === 'read' ? /[rs]/.test(mode) : /[cud]/.test(mode);
  });
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex');

export class TokenError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type',
    message: string,
  ) {
    super(message);
  }
}

export interface TokenHolder {
  practitionerId: string;
  organisationId: string;
  clientId: string;
  scopes: string[];
  /**
   * Set when the holder was remembered from an earlier request rather than read now: the statement
   * that reads with it must confirm the token is still good (see `recall`).
   */
  toConfirm?: store.TokenToConfirm;
}

/** Tokens remembered at most: enough for every client of a council; the oldest go first. */
const REMEMBERED_TOKENS = 10_000;

/**
 * Clients and bearer tokens for the FHIR API. A practitioner registers a client in the back
 * office (its secret is shown once); the client exchanges its id and secret for a short-lived
 * token (OAuth 2.0 client credentials). Every token acts as that practitioner, with the scopes
 * the client asked for out of those it was given.
 */
export function createFhirTokens(platform: Platform, settings: CareSettings) {
  const { db } = platform;
  /** Holders of tokens verified in this process, by token hash, until the token expires. */
  const remembered = new Map<string, { holder: TokenHolder; expiresAt: number }>();

  async function verifyHash(tokenHash: string): Promise<TokenHolder | null> {
    const row = await store.findToken(db, tokenHash, new Date());
    if (!row) {
      remembered.delete(tokenHash);
      return null;
    }
    const holder = {
      practitionerId: row.practitioner_id,
      organisationId: row.organisation_id,
      clientId: row.client_id,
      scopes: row.scopes,
    };
    remembered.delete(tokenHash);
    if (remembered.size >= REMEMBERED_TOKENS) remembered.delete(remembered.keys().next().value!);
    remembered.set(tokenHash, { holder, expiresAt: row.expires_at.getTime() });
    return holder;
  }
  return {
    async registerClient(actor: Actor, practitionerId: string, name: string, scopes: string[]) {
      const clientId = `kiln-${randomBytes(6).toString('hex')}`;
      const secret = randomBytes(24).toString('base64url');
      const row = await db.transaction().execute(async (tx) => {
        const client = await store.insertApiClient(tx, {
          client_id: clientId,
          secret_hash: hash(secret),
          name,
          practitioner_id: practitionerId,
          scopes,
          created_by: actor.type === 'staff' ? actor.id : null,
        });
        await recordAudit(tx, {
          actor,
          action: 'care.fhir_client_registered',
          subjectType: 'care_api_client',
          subjectId: client.id,
          detail: { clientId, scopes, practitionerId },
        });
        return client;
      });
      return { ...row, secret };
    },

    clientsOf: (practitionerId: string) => store.apiClientsOf(db, practitionerId),

    async revokeClient(actor: Actor, id: string, practitionerId: string) {
      return db
        .transaction()
        .execute(async (tx) => {
          const done = await store.revokeApiClient(tx, id, practitionerId);
          if (done)
            await recordAudit(tx, {
              actor,
              action: 'care.fhir_client_revoked',
              subjectType: 'care_api_client',
              subjectId: id,
            });
          return done;
        })
        .finally(() => remembered.clear());
    },

    /** OAuth 2.0 client credentials: an access token for a registered client. */
    async issue(clientId: string, secret: string, requested: string | undefined) {
      const client = clientId ? await store.findApiClient(db, clientId) : undefined;
      const given = Buffer.from(hash(secret ?? ''));
      if (!client || !timingSafeEqual(Buffer.from(client.secret_hash), given)) {
        throw new TokenError('invalid_client', 'The client id or secret is not right');
      }
      const asked = requested?.trim() ? requested.trim().split(/\s+/) : client.scopes;
      const refused = asked.filter((s) => !client.scopes.includes(s));
      if (refused.length)
        throw new TokenError('invalid_scope', `This client was not given the scope ${refused.join(' ')}`);
      const token = randomBytes(32).toString('base64url');
      const expiresIn = settings.CARE_FHIR_TOKEN_MINUTES * 60;
      await db.transaction().execute(async (tx) => {
        await store.insertToken(tx, {
          token_hash: hash(token),
          client_id: client.id,
          practitioner_id: client.practitioner_id,
          scopes: asked,
          expires_at: new Date(Date.now() + expiresIn * 1000),
        });
        await recordAudit(tx, {
          actor: { type: 'api', id: client.practitioner_id },
          action: 'care.fhir_token_issued',
          subjectType: 'care_api_client',
          subjectId: client.id,
          detail: { scopes: asked },
        });
      });
      return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: asked.join(' ') };
    },

    /** The practitioner and scopes behind a bearer token, or null when it is unknown or expired. */
    async verify(token: string): Promise<TokenHolder | null> {
      return token ? verifyHash(hash(token)) : null;
    },

    /**
     * As `verify`, but a token verified by an earlier request, and not expired since, is not read
     * again: its holder comes back with `toConfirm`, and may be used only by a statement that checks
     * the token again as it reads (`store.searchPeopleForAccess`), so that a revoked token reads
     * nothing even in a process that still remembers it. Expiry is checked here on every request.
     */
    async recall(token: string): Promise<TokenHolder | null> {
      if (!token) return null;
      const tokenHash = hash(token);
      const known = remembered.get(tokenHash);
      if (!known || known.expiresAt <= Date.now()) return verifyHash(tokenHash);
      const { practitionerId, organisationId } = known.holder;
      return { ...known.holder, toConfirm: { hash: tokenHash, practitionerId, organisationId } };
    },

    purgeExpired: () => store.purgeTokens(db, new Date()),
  };
}

export type FhirTokens = ReturnType<typeof createFhirTokens>;
