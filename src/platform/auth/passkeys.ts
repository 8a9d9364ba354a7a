import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recordAudit } from '../audit/index.ts';
import { tables, type Db } from '../db/index.ts';
import type { IdentityTables } from './identity.ts';

/** Who the passkeys are for: the council's site, as the browser sees it. */
export interface RelyingParty {
  /** The host name passkeys are bound to (config.webauthnRpId). */
  id: string;
  /** The exact origin pages are served from (config.PUBLIC_URL). */
  origin: string;
  name: string;
}

interface PasskeyTables {
  passkeys: {
    credential_id: string;
    resident_id: string;
    public_key: Uint8Array;
    counter: number;
    transports: string[];
    label: string;
    created_at: Date;
    last_used_at: Date | null;
  };
  residents: IdentityTables['residents'];
}

/** A passkey as a resident sees it: never the key itself. */
export interface PasskeySummary {
  credentialId: string;
  label: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const CHALLENGE_MINUTES = 5;
const SESSION_KEY = 'webauthn';

// ---- Stored passkeys ----

export async function listPasskeys(db: Db, residentId: string): Promise<PasskeySummary[]> {
  const rows = await tables<PasskeyTables>(db)
    .selectFrom('passkeys')
    .select(['credential_id', 'label', 'created_at', 'last_used_at'])
    .where('resident_id', '=', residentId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    credentialId: r.credential_id,
    label: r.label,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  }));
}

/** Removes one of the resident's own passkeys; false when it is not theirs or not there. */
export async function removePasskey(db: Db, residentId: string, credentialId: string): Promise<boolean> {
  const result = await tables<PasskeyTables>(db)
    .deleteFrom('passkeys')
    .where('resident_id', '=', residentId)
    .where('credential_id', '=', credentialId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function removeAllPasskeys(db: Db, residentId: string): Promise<number> {
  const result = await tables<PasskeyTables>(db)
    .deleteFrom('passkeys')
    .where('resident_id', '=', residentId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---- Challenges, kept in the session: one at a time, used once, for a few minutes ----

type Purpose = 'register' | 'sign-in';

function keepChallenge(request: FastifyRequest, purpose: Purpose, challenge: string) {
  request.session.set(SESSION_KEY, { purpose, challenge, at: Date.now() });
}

function takeChallenge(request: FastifyRequest, purpose: Purpose): string | null {
  const kept = request.session.get(SESSION_KEY) as
    { purpose: Purpose; challenge: string; at: number } | undefined;
  if (kept) request.session.set(SESSION_KEY, undefined);
  if (!kept || kept.purpose !== purpose || Date.now() - kept.at > CHALLENGE_MINUTES * 60_000) return null;
  return kept.challenge;
}

// ---- Registration ----

/** Options for navigator.credentials.create(); the challenge is remembered in the session. */
export async function registrationOptions(
  db: Db,
  request: FastifyRequest,
  rp: RelyingParty,
  resident: { id: string; reference: string; name: string },
) {
  const existing = await tables<PasskeyTables>(db)
    .selectFrom('passkeys')
    .select(['credential_id', 'transports'])
    .where('resident_id', '=', resident.id)
    .execute();
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    // The account reference, not the email address: nothing personal is stored on the authenticator's list.
    userName: resident.reference,
    userDisplayName: resident.name,
    userID: new TextEncoder().encode(resident.id),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({
      id: p.credential_id,
      transports: p.transports as AuthenticatorTransportFuture[],
    })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  keepChallenge(request, 'register', options.challenge);
  return options;
}

const credentialResponse = z.object({
  id: z.string().min(1).max(1024),
  rawId: z.string().min(1).max(1024),
  type: z.literal('public-key'),
  response: z.record(z.string(), z.unknown()),
  clientExtensionResults: z.record(z.string(), z.unknown()).optional().default({}),
  authenticatorAttachment: z.string().optional(),
});

/** Parses the JSON the browser script puts in the form; null for anything malformed. */
export function parseCredential(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string' || value.length > 20_000) return null;
  try {
    const parsed = credentialResponse.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Verifies a new passkey against the session's challenge and stores it. */
export async function verifyRegistration(
  db: Db,
  request: FastifyRequest,
  rp: RelyingParty,
  residentId: string,
  input: { response: unknown; label: string },
): Promise<{ ok: true; credentialId: string } | { ok: false; reason: string }> {
  const challenge = takeChallenge(request, 'register');
  if (!challenge) return { ok: false, reason: 'no-challenge' };
  const response = parseCredential(input.response);
  if (!response) return { ok: false, reason: 'malformed' };
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response: response as unknown as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    });
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (!verification.verified) return { ok: false, reason: 'not-verified' };
  const { credential } = verification.registrationInfo;
  const inserted = await tables<PasskeyTables>(db)
    .insertInto('passkeys')
    .values({
      credential_id: credential.id,
      resident_id: residentId,
      public_key: Buffer.from(credential.publicKey),
      counter: credential.counter,
      transports: credential.transports ?? [],
      label: input.label,
    } as never)
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returning('credential_id')
    .executeTakeFirst();
  if (!inserted) return { ok: false, reason: 'already-registered' };
  return { ok: true, credentialId: credential.id };
}

// ---- Signing in ----

/** Options for navigator.credentials.get(): discoverable passkeys, so no email address is asked for. */
export async function authenticationOptions(request: FastifyRequest, rp: RelyingParty) {
  const options = await generateAuthenticationOptions({ rpID: rp.id, userVerification: 'required' });
  keepChallenge(request, 'sign-in', options.challenge);
  return options;
}

/** The resident a passkey assertion proves, after checking signature, challenge, origin and counter. */
export async function verifyAuthentication(
  db: Db,
  request: FastifyRequest,
  rp: RelyingParty,
  input: unknown,
): Promise<{ ok: true; residentId: string } | { ok: false; reason: string; residentId?: string }> {
  const challenge = takeChallenge(request, 'sign-in');
  if (!challenge) return { ok: false, reason: 'no-challenge' };
  const response = parseCredential(input);
  if (!response) return { ok: false, reason: 'malformed' };
  const t = tables<PasskeyTables>(db);
  const passkey = await t
    .selectFrom('passkeys')
    .innerJoin('residents', 'residents.id', 'passkeys.resident_id')
    .select(['credential_id', 'resident_id', 'public_key', 'counter', 'transports'])
    .where('credential_id', '=', String(response.id))
    .where('residents.has_account', '=', true)
    .executeTakeFirst();
  if (!passkey) return { ok: false, reason: 'unknown-passkey' };
  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response: response as unknown as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
      credential: {
        id: passkey.credential_id,
        publicKey: new Uint8Array(passkey.public_key),
        counter: Number(passkey.counter),
        transports: passkey.transports as AuthenticatorTransportFuture[],
      },
    });
  } catch (error) {
    // A counter that went backwards suggests a cloned authenticator: refuse, and say so in the audit log.
    const reason = /counter/i.test(String(error)) ? 'counter' : 'invalid';
    return { ok: false, reason, residentId: passkey.resident_id };
  }
  if (!verification.verified) return { ok: false, reason: 'not-verified', residentId: passkey.resident_id };
  await t
    .updateTable('passkeys')
    .set({ counter: verification.authenticationInfo.newCounter, last_used_at: new Date() })
    .where('credential_id', '=', passkey.credential_id)
    .execute();
  return { ok: true, residentId: passkey.resident_id };
}

// ---- The sign-in page ----

export interface PasskeySignInOptions {
  db: Db;
  relyingParty: RelyingParty;
  signInRateLimit: number;
}

const SIGN_IN_TITLE = 'Sign in with a passkey';

/** `/sign-in/passkey`: the page, its options endpoint (JSON for the script) and the form it posts. */
export function registerPasskeySignIn(app: FastifyInstance, options: PasskeySignInOptions): void {
  const { db, relyingParty: rp } = options;
  const rateLimit = { max: options.signInRateLimit, timeWindow: '1 minute' };

  app.get('/sign-in/passkey', async (_request, reply) =>
    reply.render('auth/passkey-sign-in.njk', { title: SIGN_IN_TITLE, navSection: 'sign-in' }),
  );

  app.post('/sign-in/passkey/options', { config: { rateLimit } }, async (request, reply) =>
    reply.header('Cache-Control', 'no-store').send(await authenticationOptions(request, rp)),
  );

  app.post('/sign-in/passkey', { config: { rateLimit } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const result = await verifyAuthentication(db, request, rp, body.response);
    if (!result.ok) {
      await recordAudit(db, {
        actor: { type: 'resident', id: result.residentId ?? null },
        action: 'resident.passkey_refused',
        detail: { reason: result.reason },
      });
      return reply.code(400).render('auth/passkey-sign-in.njk', {
        title: SIGN_IN_TITLE,
        navSection: 'sign-in',
        errors: [
          {
            field: 'passkey-sign-in',
            text:
              result.reason === 'no-challenge'
                ? 'The sign-in took too long. Try again'
                : 'We could not sign you in with that passkey. Try again, or sign in with an email link',
          },
        ],
      });
    }
    await recordAudit(db, {
      actor: { type: 'resident', id: result.residentId },
      action: 'resident.signed_in',
      subjectType: 'resident',
      subjectId: result.residentId,
      detail: { method: 'passkey' },
    });
    request.session.rotate();
    request.session.set('residentId', result.residentId);
    return reply.redirect('/account', 303);
  });
}
