import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { recordAudit } from '../audit/index.ts';
import { tables, type Db } from '../db/index.ts';
import type { IdentityTables } from './identity.ts';
import { staffRoles, type StaffRole } from './permissions.ts';

/** Staff single sign-on through an OpenID Connect provider (Microsoft Entra ID in most councils). */
export interface OidcSettings {
  /** The issuer, e.g. https://login.microsoftonline.com/<tenant id>/v2.0 */
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** The ID-token claim that carries role values (Entra ID app roles: "roles"). */
  rolesClaim: string;
  /** PUBLIC_URL, for the callback address registered with the provider. */
  publicUrl: string;
}

export interface OidcRouteOptions {
  db: Db;
  settings: OidcSettings;
  signInRateLimit: number;
}

interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  at: number;
}

const SESSION_KEY = 'oidc';
const PENDING_MINUTES = 10;
const hash = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 16);

/**
 * A Kiln role from the roles claim: "admin", "Kiln.Admin", "team-lead" and the like. When several
 * map, the most privileged wins; when none does, null (the stored role stands).
 */
export function roleFromClaim(value: unknown): StaffRole | null {
  const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  let best: StaffRole | null = null;
  for (const raw of values) {
    const name = raw
      .trim()
      .toLowerCase()
      .replace(/^kiln[._:-]/, '')
      .replace(/[\s-]+/g, '_');
    const role = staffRoles.find((r) => r === name);
    if (role && (!best || staffRoles.indexOf(role) > staffRoles.indexOf(best))) best = role;
  }
  return best;
}

type Match =
  | { ok: true; staffId: string; role: StaffRole; linked: boolean; roleChanged: boolean }
  | { ok: false; reason: 'no-subject' | 'unknown' | 'email-not-verified' | 'linked-to-another' };

/** Finds the staff member an ID token speaks for, links them on first sign-in, and applies the role claim. */
export async function matchStaff(
  db: Db,
  claims: Record<string, unknown>,
  rolesClaim: string,
): Promise<Match> {
  const t = tables<IdentityTables>(db);
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  if (!subject) return { ok: false, reason: 'no-subject' };
  let staff = await t
    .selectFrom('staff_users')
    .select(['id', 'role', 'oidc_subject'])
    .where('oidc_subject', '=', subject)
    .where('active', '=', true)
    .executeTakeFirst();
  let linked = false;
  if (!staff) {
    const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
    // Entra ID says an address is verified with xms_edov rather than email_verified.
    const verified = claims.email_verified === true || claims.xms_edov === true;
    if (!email) return { ok: false, reason: 'unknown' };
    if (!verified) return { ok: false, reason: 'email-not-verified' };
    staff = await t
      .selectFrom('staff_users')
      .select(['id', 'role', 'oidc_subject'])
      .where('email', '=', email)
      .where('active', '=', true)
      .executeTakeFirst();
    if (!staff) return { ok: false, reason: 'unknown' };
    if (staff.oidc_subject) return { ok: false, reason: 'linked-to-another' };
    await t.updateTable('staff_users').set({ oidc_subject: subject }).where('id', '=', staff.id).execute();
    linked = true;
  }
  const claimed = roleFromClaim(claims[rolesClaim]);
  const role = claimed ?? staff.role;
  if (role !== staff.role)
    await t.updateTable('staff_users').set({ role }).where('id', '=', staff.id).execute();
  return { ok: true, staffId: staff.id, role, linked, roleChanged: role !== staff.role };
}

/** `/staff/sign-in/oidc` and its callback: authorization code flow with PKCE, state and nonce in the session. */
export function registerOidcRoutes(app: FastifyInstance, options: OidcRouteOptions): void {
  const { db, settings } = options;
  const rateLimit = { max: options.signInRateLimit, timeWindow: '1 minute' };
  const redirectUri = `${settings.publicUrl}/staff/sign-in/oidc/callback`;

  // Discovered on first use and kept; forgotten after a failure so the next attempt tries again.
  let discovered: Promise<client.Configuration> | null = null;
  const configuration = () => {
    if (!discovered) {
      const issuer = new URL(settings.issuer);
      // Plain http only for a provider on this machine (development and tests).
      const local =
        issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
      discovered = client
        .discovery(
          issuer,
          settings.clientId,
          undefined,
          settings.clientSecret ? client.ClientSecretPost(settings.clientSecret) : client.None(),
          local ? { execute: [client.allowInsecureRequests] } : undefined,
        )
        .catch((error: unknown) => {
          discovered = null;
          throw error;
        });
    }
    return discovered;
  };

  const failed = (reply: FastifyReply) =>
    reply.code(400).render('auth/staff-oidc-failed.njk', { title: 'Single sign-on did not work' });

  app.get('/staff/sign-in/oidc', { config: { public: true, rateLimit } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const returnTo =
      typeof query.returnTo === 'string' && /^\/staff(\/[\w\-./?=&%]*)?$/.test(query.returnTo)
        ? query.returnTo
        : '/staff';
    let config: client.Configuration;
    try {
      config = await configuration();
    } catch (error) {
      request.log.error({ err: error }, 'OIDC discovery failed');
      return failed(reply);
    }
    const pending: PendingSignIn = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo,
      at: Date.now(),
    };
    request.session.set(SESSION_KEY, pending);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return reply.redirect(url.href, 302);
  });

  app.get('/staff/sign-in/oidc/callback', { config: { public: true, rateLimit } }, async (request, reply) => {
    const pending = request.session.get(SESSION_KEY) as PendingSignIn | undefined;
    request.session.set(SESSION_KEY, undefined);
    const query = request.query as Record<string, unknown>;
    const refuse = async (reason: string, detail: Record<string, unknown> = {}) => {
      await recordAudit(db, {
        actor: { type: 'staff', id: null },
        action: 'staff.oidc_refused',
        detail: { reason, ...detail },
      });
    };
    if (!pending || Date.now() - pending.at > PENDING_MINUTES * 60_000) {
      await refuse('no-pending-sign-in');
      return failed(reply);
    }
    if (typeof query.error === 'string') {
      await refuse('provider-error', { error: query.error.slice(0, 100) });
      return failed(reply);
    }
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(
        await configuration(),
        callbackUrl(request, redirectUri),
        {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        },
      );
      claims = (tokens.claims() ?? {}) as Record<string, unknown>;
    } catch (error) {
      request.log.warn({ err: error }, 'OIDC callback refused');
      await refuse('invalid-response');
      return failed(reply);
    }

    const match = await db.transaction().execute(async (tx) => {
      const result = await matchStaff(tx, claims, settings.rolesClaim);
      if (result.ok) {
        await recordAudit(tx, {
          actor: { type: 'staff', id: result.staffId },
          action: 'staff.signed_in',
          subjectType: 'staff',
          subjectId: result.staffId,
          detail: {
            method: 'oidc',
            linked: result.linked,
            role: result.role,
            roleChanged: result.roleChanged,
          },
        });
      } else {
        await recordAudit(tx, {
          actor: { type: 'staff', id: null },
          action: 'staff.oidc_refused',
          detail: { reason: result.reason, subjectHash: hash(String(claims.sub ?? '')) },
        });
      }
      return result;
    });
    if (!match.ok) {
      return reply.code(403).render('auth/staff-oidc-refused.njk', {
        title: 'You cannot sign in to the back office',
        reason: match.reason,
      });
    }
    request.session.rotate();
    request.session.set('staffId', match.staffId);
    return reply.redirect(pending.returnTo, 303);
  });
}

// The address the provider sent the browser to: our registered callback with its query string.
function callbackUrl(request: FastifyRequest, redirectUri: string): URL {
  const url = new URL(redirectUri);
  url.search = new URL(request.url, 'http://x').search;
  return url;
}

/** The single sign-on settings, or undefined when OIDC_ISSUER and OIDC_CLIENT_ID are not both set. */
export function oidcSettingsFrom(config: {
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_CLIENT_SECRET?: string;
  OIDC_ROLES_CLAIM: string;
  PUBLIC_URL: string;
}): OidcSettings | undefined {
  if (!config.OIDC_ISSUER || !config.OIDC_CLIENT_ID) return undefined;
  return {
    issuer: config.OIDC_ISSUER,
    clientId: config.OIDC_CLIENT_ID,
    clientSecret: config.OIDC_CLIENT_SECRET,
    rolesClaim: config.OIDC_ROLES_CLAIM,
    publicUrl: new URL(config.PUBLIC_URL).origin,
  };
}
