import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../actor.ts';
import { tables, type Db } from '../db/index.ts';
import { HttpError } from '../http/errors.ts';
import { can, roleLabels, type Permission, type StaffRole } from './permissions.ts';

export interface CurrentResident {
  id: string;
  reference: string;
  name: string;
  email: string | null;
}

export interface CurrentStaff {
  id: string;
  name: string;
  email: string;
  role: StaffRole;
  roleLabel: string;
  teamCode: string | null;
}

export interface IdentityTables {
  residents: {
    id: string;
    reference: string;
    email: string | null;
    name: string;
    phone: string | null;
    address: string | null;
    notify_by_email: boolean;
    notify_by_sms: boolean;
    has_account: boolean;
    created_at: Date;
    updated_at: Date;
  };
  staff_users: {
    id: string;
    email: string;
    name: string;
    role: StaffRole;
    team_code: string | null;
    password_hash: string | null;
    totp_secret: string | null;
    oidc_subject: string | null;
    active: boolean;
    created_at: Date;
  };
  teams: { code: string; name: string };
}

/** A staff navigation entry, shown to those whose role holds its permission. */
export interface StaffNavItem {
  href: string;
  text: string;
  section: string;
  permission: Permission;
}

/**
 * Loads who is signed in on each request, and enforces the rule that every /staff route names
 * the permission it needs: a route that does not is refused at start-up, not left open.
 */
export interface StaffRoute {
  method: string;
  url: string;
  permission: Permission;
}

export function registerIdentity(
  app: FastifyInstance,
  db: Db,
  staffNavigation: StaffNavItem[],
): StaffRoute[] {
  const t = tables<IdentityTables>(db);
  const staffRoutes: StaffRoute[] = [];

  app.decorateRequest('resident', null);
  app.decorateRequest('staff', null);

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/staff')) return;
    const config = (route.config ?? {}) as { permission?: Permission; public?: boolean };
    if (!config.permission && !config.public) {
      throw new Error(`Staff route ${route.method} ${route.url} declares no permission`);
    }
    if (config.permission) {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') staffRoutes.push({ method, url: route.url, permission: config.permission });
      }
    }
  });

  // preValidation, so a route's own body schema never answers before the permission check does.
  app.addHook('preValidation', async (request, reply) => {
    const { residentId, staffId } = request.session.data;
    if (residentId) {
      const row = await t
        .selectFrom('residents')
        .select(['id', 'reference', 'name', 'email'])
        .where('id', '=', residentId)
        .where('has_account', '=', true)
        .executeTakeFirst();
      request.resident = row ?? null;
    }
    if (staffId) {
      const row = await t
        .selectFrom('staff_users')
        .select(['id', 'name', 'email', 'role', 'team_code'])
        .where('id', '=', staffId)
        .where('active', '=', true)
        .executeTakeFirst();
      request.staff = row
        ? {
            id: row.id,
            name: row.name,
            email: row.email,
            role: row.role,
            roleLabel: roleLabels[row.role],
            teamCode: row.team_code,
          }
        : null;
    }
    reply.locals.resident = request.resident;
    reply.locals.staff = request.staff;
    if (request.staff) {
      reply.locals.staffNavigation = staffNavigation.filter((item) =>
        can(request.staff!.role, item.permission),
      );
    }
    const flash = request.session.data.flash;
    if (flash && request.method === 'GET') reply.locals.flash = request.session.takeFlash();

    const permission = request.routeOptions.config.permission;
    if (permission) return requirePermission(request, reply, permission);
  });

  return staffRoutes;
}

async function requirePermission(request: FastifyRequest, reply: FastifyReply, permission: Permission) {
  if (!request.staff) {
    if (request.method === 'GET') {
      return reply.redirect(`/staff/sign-in?returnTo=${encodeURIComponent(request.url)}`);
    }
    throw new HttpError(401, 'You need to sign in', 'Sign in to the back office and try again.');
  }
  if (!can(request.staff.role, permission)) {
    throw new HttpError(
      403,
      'You do not have access to this page',
      'Ask a team leader or an administrator if you need it.',
    );
  }
}

/** The actor behind a request: staff (perhaps acting for a resident), a resident, or nobody. */
export function actorOf(request: FastifyRequest): Actor {
  if (request.staff) {
    const onBehalfOf = request.session.data.actingFor?.residentId;
    return { type: 'staff', id: request.staff.id, ...(onBehalfOf ? { onBehalfOf } : {}) };
  }
  if (request.resident) return { type: 'resident', id: request.resident.id };
  return { type: 'resident', id: null };
}
