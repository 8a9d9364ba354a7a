import type { FastifyInstance } from 'fastify';
import { registerPasskeySignIn, type RelyingParty } from '../../platform/auth/passkeys.ts';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import { registerAccountRoutes } from './routes.ts';
import { createAccountsService, type AccountsDependencies } from './service.ts';

export type { AccountsService, AccountsDependencies, AccountLink, DraftsSource } from './service.ts';
export type { PersonalDataSource } from './personal-data.ts';

export const accountsModule: ModuleDefinition = {
  name: 'accounts',
  // My account keeps no tables of its own: it works on the platform's residents and passkeys.
  migrations: {},
};

/** Builds My account for residents: requests, details, contact preferences, data download, deletion, passkeys. */
export function createAccounts(platform: Platform, deps: AccountsDependencies) {
  const service = createAccountsService(platform, deps);
  const relyingParty: RelyingParty = {
    id: platform.config.webauthnRpId,
    origin: new URL(platform.config.PUBLIC_URL).origin,
    name: platform.config.COUNCIL_NAME,
  };
  return {
    service,
    register(app: FastifyInstance) {
      registerAccountRoutes(app, platform, service, relyingParty);
      registerPasskeySignIn(app, {
        db: platform.db,
        relyingParty,
        signInRateLimit: platform.config.RATE_LIMIT_SIGN_IN_PER_MINUTE,
      });
    },
  };
}
