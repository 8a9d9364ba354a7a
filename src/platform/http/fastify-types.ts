import type { Session } from '../auth/sessions.ts';
import type { Permission } from '../auth/permissions.ts';
import type { CurrentResident, CurrentStaff } from '../auth/identity.ts';
import type { PageLocals } from './server.ts';
import type { ApiClient } from '../auth/api-keys.ts';

// What Kiln adds to Fastify's request, reply and route options.
declare module 'fastify' {
  interface FastifyRequest {
    session: Session;
    csrfToken(): string;
    newCsrfCookie: string | null;
    resident: CurrentResident | null;
    staff: CurrentStaff | null;
    /** The API client, on routes guarded by requireApiKey. */
    apiClient?: ApiClient;
  }
  interface FastifyReply {
    locals: PageLocals;
    render(template: string, context?: object): FastifyReply;
  }
  interface FastifyContextConfig {
    /** The permission a /staff route requires. Every /staff route must say, or declare `public: true`. */
    permission?: Permission;
    /** A /staff route anyone may reach (sign-in pages). */
    public?: boolean;
    /** Keep this GET page for a few seconds for visitors without a session (see page-cache.ts). */
    pageCache?: boolean;
    /** Set false only for routes that take no cookie-authenticated form posts. */
    csrf?: boolean;
  }
}

export {};
