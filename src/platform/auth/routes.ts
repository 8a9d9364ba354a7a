import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordAudit } from '../audit/index.ts';
import { tables, type Db } from '../db/index.ts';
import type { Notify } from '../notify/index.ts';
import type { IdentityTables } from './identity.ts';
import { freshReference } from '../references.ts';
import { verifyPassword } from './passwords.ts';
import { verifyTotp } from './totp.ts';
import { registerApiKeyRoutes } from './api-keys-routes.ts';
import { registerOidcRoutes, type OidcSettings } from './oidc.ts';

interface LinkTables extends IdentityTables {
  magic_links: {
    token_hash: string;
    email: string;
    return_to: string | null;
    created_at?: Date;
    expires_at: Date;
    used_at: Date | null;
  };
}

export interface AuthRouteOptions {
  db: Db;
  notify: Notify;
  publicUrl: string;
  signInRateLimit: number;
  councilName: string;
  oidcEnabled: boolean;
  /** Staff single sign-on; routes exist only when it is configured. */
  oidc?: OidcSettings;
}

const MAGIC_LINK_MINUTES = 15;
const TOTP_STEP_MINUTES = 5;
const emailSchema = z.string().trim().toLowerCase().max(254).email();

/** Only same-site paths may be returned to after sign-in (no open redirects). */
export function safeReturnTo(value: unknown, fallback: string): string {
  return typeof value === 'string' && /^\/(?!\/)[\w\-./?=&%]*$/.test(value) ? value : fallback;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Deletes sign-in links that were used or expired more than a day ago. */
export async function purgeUsedSignInLinks(db: Db): Promise<void> {
  await tables<LinkTables>(db)
    .deleteFrom('magic_links')
    .where('expires_at', '<', new Date(Date.now() - 86_400_000))
    .execute();
}

/** Resident sign-in by emailed link, and staff sign-in by password and authenticator code. */
export function registerAuthRoutes(app: FastifyInstance, options: AuthRouteOptions): void {
  const { db, notify } = options;
  const t = tables<LinkTables>(db);
  const rateLimit = { max: options.signInRateLimit, timeWindow: '1 minute' };

  notify.defineTemplate('sign-in-link', {
    subject: 'Your link to sign in to ((council))',
    body:
      'Use this link to sign in to your ((council)) account:\n\n((link))\n\n' +
      `The link works once and stops working after ${MAGIC_LINK_MINUTES} minutes.\n\n` +
      'If you did not ask to sign in, you can ignore this email.',
  });

  // ---- Residents: magic link ----
  app.get('/sign-in', async (request, reply) =>
    reply.render('auth/resident-sign-in.njk', {
      title: 'Sign in to your account',
      navSection: 'sign-in',
      returnTo: safeReturnTo((request.query as Record<string, unknown>).returnTo, '/account'),
    }),
  );

  app.post('/sign-in', { config: { rateLimit } }, async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const returnTo = safeReturnTo(body.returnTo, '/account');
    const parsed = emailSchema.safeParse(body.email);
    if (!parsed.success) {
      return reply.code(400).render('auth/resident-sign-in.njk', {
        title: 'Sign in to your account',
        navSection: 'sign-in',
        returnTo,
        values: { email: body.email },
        errors: [
          { field: 'email', text: 'Enter an email address in the correct format, like name@example.com' },
        ],
      });
    }
    const email = parsed.data;
    const token = randomBytes(32).toString('base64url');
    await db.transaction().execute(async (tx) => {
      await tables<LinkTables>(tx)
        .insertInto('magic_links')
        .values({
          token_hash: hashToken(token),
          email,
          return_to: returnTo,
          expires_at: new Date(Date.now() + MAGIC_LINK_MINUTES * 60_000),
          used_at: null,
        })
        .execute();
      await notify.send(
        tx,
        { channel: 'email', recipient: email },
        {
          template: 'sign-in-link',
          personalisation: {
            council: options.councilName,
            link: `${options.publicUrl}/sign-in/link?token=${token}`,
          },
        },
      );
      await recordAudit(tx, {
        actor: { type: 'resident', id: null },
        action: 'resident.sign_in_link_requested',
        detail: { emailHash: hashToken(email).slice(0, 16) },
      });
    });
    // The same answer whether or not the address has an account, so addresses cannot be probed.
    return reply.render('auth/resident-check-email.njk', { title: 'Check your email', email });
  });

  // A GET only shows a button: mail scanners that follow links must not use up the link.
  app.get('/sign-in/link', async (request, reply) => {
    const token = String((request.query as Record<string, unknown>).token ?? '');
    return reply.render('auth/resident-confirm-link.njk', { title: 'Sign in', token });
  });

  app.post('/sign-in/link', { config: { rateLimit } }, async (request, reply) => {
    const token = String((request.body as Record<string, unknown>).token ?? '');
    const now = new Date();
    const result = await db.transaction().execute(async (tx) => {
      const tt = tables<LinkTables>(tx);
      const link = await tt
        .updateTable('magic_links')
        .set({ used_at: now })
        .where('token_hash', '=', hashToken(token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['email', 'return_to'])
        .executeTakeFirst();
      if (!link) return null;
      let resident = await tt
        .selectFrom('residents')
        .select(['id'])
        .where('email', '=', link.email)
        .executeTakeFirst();
      if (!resident) {
        resident = await tt
          .insertInto('residents')
          .values({
            reference: await freshReference(tx, 'residents', 'CU'),
            email: link.email,
            name: link.email.split('@')[0]!,
            has_account: true,
          } as never)
          .returning(['id'])
          .executeTakeFirstOrThrow();
      } else {
        await tt.updateTable('residents').set({ has_account: true }).where('id', '=', resident.id).execute();
      }
      await recordAudit(tx, {
        actor: { type: 'resident', id: resident.id },
        action: 'resident.signed_in',
        subjectType: 'resident',
        subjectId: resident.id,
        detail: { method: 'email-link' },
      });
      return { residentId: resident.id, returnTo: link.return_to };
    });
    if (!result) {
      return reply.code(400).render('auth/resident-link-expired.njk', { title: 'That link has expired' });
    }
    request.session.rotate();
    request.session.set('residentId', result.residentId);
    return reply.redirect(safeReturnTo(result.returnTo, '/account'), 303);
  });

  app.get('/sign-out', async (request, reply) =>
    reply.render('auth/sign-out.njk', { title: 'Sign out', action: '/sign-out' }),
  );
  app.post('/sign-out', async (request, reply) => {
    request.session.destroy();
    return reply.redirect('/', 303);
  });

  // ---- Staff: password, then authenticator code ----
  app.get('/staff/sign-in', { config: { public: true } }, async (request, reply) => {
    if (request.staff) return reply.redirect('/staff');
    return reply.render('auth/staff-sign-in.njk', {
      title: 'Sign in to the back office',
      returnTo: safeReturnTo((request.query as Record<string, unknown>).returnTo, '/staff'),
      oidcEnabled: options.oidcEnabled,
    });
  });

  app.post('/staff/sign-in', { config: { public: true, rateLimit } }, async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const returnTo = safeReturnTo(body.returnTo, '/staff');
    const email = emailSchema.safeParse(body.email);
    const password = typeof body.password === 'string' ? body.password : '';
    const errors = [];
    if (!email.success) errors.push({ field: 'email', text: 'Enter your work email address' });
    if (!password) errors.push({ field: 'password', text: 'Enter your password' });
    let staff: { id: string; password_hash: string | null; totp_secret: string | null } | undefined;
    if (errors.length === 0) {
      staff = await t
        .selectFrom('staff_users')
        .select(['id', 'password_hash', 'totp_secret'])
        .where('email', '=', email.data!)
        .where('active', '=', true)
        .executeTakeFirst();
      const ok = staff?.password_hash ? await verifyPassword(password, staff.password_hash) : false;
      if (!ok || !staff?.totp_secret) {
        staff = undefined;
        errors.push({ field: 'email', text: 'The email address or password is not right' });
        await recordAudit(db, {
          actor: { type: 'staff', id: null },
          action: 'staff.sign_in_failed',
          detail: { emailHash: hashToken(String(body.email ?? '')).slice(0, 16) },
        });
      }
    }
    if (errors.length > 0 || !staff) {
      return reply.code(400).render('auth/staff-sign-in.njk', {
        title: 'Sign in to the back office',
        returnTo,
        values: { email: body.email },
        errors,
        oidcEnabled: options.oidcEnabled,
      });
    }
    request.session.rotate();
    request.session.set('pendingStaffId', staff.id);
    request.session.set('pendingStaffAt', Date.now());
    return reply.redirect(`/staff/sign-in/code?returnTo=${encodeURIComponent(returnTo)}`, 303);
  });

  app.get('/staff/sign-in/code', { config: { public: true } }, async (request, reply) => {
    if (!request.session.data.pendingStaffId) return reply.redirect('/staff/sign-in');
    return reply.render('auth/staff-code.njk', {
      title: 'Enter the code from your authenticator app',
      returnTo: safeReturnTo((request.query as Record<string, unknown>).returnTo, '/staff'),
    });
  });

  app.post('/staff/sign-in/code', { config: { public: true, rateLimit } }, async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const returnTo = safeReturnTo(body.returnTo, '/staff');
    const { pendingStaffId, pendingStaffAt } = request.session.data;
    if (!pendingStaffId || !pendingStaffAt || Date.now() - pendingStaffAt > TOTP_STEP_MINUTES * 60_000) {
      request.session.set('pendingStaffId', undefined);
      return reply.redirect('/staff/sign-in', 303);
    }
    const staff = await t
      .selectFrom('staff_users')
      .select(['id', 'totp_secret'])
      .where('id', '=', pendingStaffId)
      .where('active', '=', true)
      .executeTakeFirst();
    const code = typeof body.code === 'string' ? body.code : '';
    if (!staff?.totp_secret || !verifyTotp(staff.totp_secret, code)) {
      await recordAudit(db, { actor: { type: 'staff', id: pendingStaffId }, action: 'staff.code_refused' });
      return reply.code(400).render('auth/staff-code.njk', {
        title: 'Enter the code from your authenticator app',
        returnTo,
        errors: [
          {
            field: 'code',
            text: /^\s*\d{6}\s*$/.test(code)
              ? 'The code is not right or has expired'
              : 'Enter the 6-digit code from your authenticator app',
          },
        ],
      });
    }
    request.session.rotate();
    request.session.set('pendingStaffId', undefined);
    request.session.set('pendingStaffAt', undefined);
    request.session.set('staffId', staff.id);
    await recordAudit(db, {
      actor: { type: 'staff', id: staff.id },
      action: 'staff.signed_in',
      subjectType: 'staff',
      subjectId: staff.id,
      detail: { method: 'password+totp' },
    });
    return reply.redirect(returnTo, 303);
  });

  app.get('/staff/sign-out', { config: { public: true } }, async (_request, reply) =>
    reply.render('auth/sign-out.njk', { title: 'Sign out', action: '/staff/sign-out', layout: 'staff' }),
  );
  app.post('/staff/sign-out', { config: { public: true } }, async (request, reply) => {
    if (request.staff) {
      await recordAudit(db, { actor: { type: 'staff', id: request.staff.id }, action: 'staff.signed_out' });
    }
    request.session.destroy();
    return reply.redirect('/staff/sign-in', 303);
  });

  registerApiKeyRoutes(app, db);
  if (options.oidc) {
    registerOidcRoutes(app, { db, settings: options.oidc, signInRateLimit: options.signInRateLimit });
  }
}
