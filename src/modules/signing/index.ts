import type { FastifyInstance } from 'fastify';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import type { AccountsService } from '../accounts/index.ts';
import { registerCustomerTimelineSource } from '../cases/index.ts';
import { seedSigningDemo } from './demo.ts';
import { registerResidentRoutes } from './routes-resident.ts';
import { registerSignerRoutes } from './routes-signer.ts';
import { registerStaffRoutes } from './routes-staff.ts';
import { registerVerifyRoutes } from './routes-verify.ts';
import { signingMigrations } from './schema.ts';
import { createSigningService, statusText } from './service.ts';
import * as store from './store.ts';

export type { SigningService, NewEnvelope, NewSigner } from './service.ts';
export { SigningError } from './service.ts';
export { templateKinds, type TemplateKind } from './schema.ts';

export const signingModule: ModuleDefinition = {
  name: 'signing',
  migrations: signingMigrations,
  staffNavigation: [
    { href: '/staff/signing', text: 'Signing', section: 'signing', permission: 'signing:send' },
  ],
};

export interface SigningDependencies {
  /** My account's data download and deletion cover the resident's documents. */
  accounts?: Pick<AccountsService, 'personalData' | 'addLink'>;
}

/** Builds Kiln Sign: templates, envelopes, the signer journey, sealing, verification and digital letters. */
export function createSigning(platform: Platform, deps: SigningDependencies = {}) {
  const service = createSigningService(platform);
  deps.accounts?.addLink({ href: '/account/documents', text: 'Your documents and letters' });
  deps.accounts?.personalData.add({
    name: 'documents',
    async export(db, residentId) {
      const documents = await service.listDocumentsForResident(db, residentId);
      return {
        paperless: await service.isPaperless(db, residentId),
        documents: documents.map((d) => ({
          reference: d.reference,
          title: d.title,
          kind: d.kind,
          deliveredAt: d.delivered_at,
        })),
      };
    },
    erase: (tx, residentId) => store.eraseResident(tx, residentId),
  });
  // The customer view shows what was sent to, signed by or delivered to the resident.
  registerCustomerTimelineSource('signing', async (db, residentId) => {
    const [envelopes, letters] = await Promise.all([
      store.envelopesForResident(db, residentId),
      service.listDocumentsForResident(db, residentId),
    ]);
    return [
      ...envelopes.map((e) => ({
        at: e.completed_at ?? e.created_at,
        title:
          e.status === 'completed'
            ? 'Document signed and sealed'
            : `Document for signature (${statusText(e.status)})`,
        text: `${e.reference}: ${e.title}`,
        href: `/staff/signing/envelopes/${e.reference}`,
      })),
      ...letters
        .filter((l) => l.kind === 'letter')
        .map((l) => ({
          at: l.delivered_at,
          title: 'Letter delivered to account',
          text: `${l.reference}: ${l.title}`,
        })),
    ];
  });
  // Reminders to signers who have not acted, and expiry of envelopes past their date.
  platform.jobs.define({
    name: 'signing.housekeeping',
    cron: '17 * * * *',
    handler: () => service.runHousekeeping(),
  });
  return {
    service,
    /** Envelopes a resident is party to, for the customer view. */
    envelopesForResident: (db: Parameters<typeof store.envelopesForResident>[0], residentId: string) =>
      store.envelopesForResident(db, residentId),
    /** Demo data: a template of each kind and a tenancy agreement waiting for the demo resident. */
    async seedDemo(resident: { name: string; email: string }, officerEmail: string, officerName: string) {
      const officerId = await store.staffIdByEmail(platform.db, officerEmail);
      if (!officerId) return;
      await seedSigningDemo(service, { officerId, officerName, officerEmail, resident });
    },
    register(app: FastifyInstance) {
      registerSignerRoutes(app, platform, service);
      registerStaffRoutes(app, platform, service);
      registerResidentRoutes(app, platform, service);
      registerVerifyRoutes(app, platform, service);
    },
  };
}
