import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { DemoPeople, ModuleDefinition, Platform } from '../../platform/module.ts';
import { rootDir } from '../../platform/views/index.ts';
import type { AccountsService } from '../accounts/index.ts';
import { localGazetteer } from '../catalogue/index.ts';
import { registerCustomerTimelineSource } from '../cases/index.ts';
import type { PaymentsService } from '../payments/index.ts';
import { applicationTypeNames } from './labels.ts';
import { registerPlanningApi } from './routes-api.ts';
import { registerApplyRoutes } from './routes-apply.ts';
import { registerRegisterRoutes } from './routes-register.ts';
import { registerPlanningStaffRoutes } from './routes-staff.ts';
import { planningMigrations } from './schema.ts';
import { createPlanningService, statusChanges, type FeePayments } from './service.ts';
import * as store from './store.ts';

export type { PlanningService } from './service.ts';
export { PlanningError } from './service.ts';
export { calculateFee, feeSchedules, type FeeResult } from './fees.ts';
export { applicationTypes, type ApplicationType } from './schema.ts';

export const planningModule: ModuleDefinition = {
  name: 'planning',
  migrations: planningMigrations,
  staffNavigation: [
    { href: '/staff/planning', text: 'Planning', section: 'planning', permission: 'planning:read' },
  ],
};

const assetsDir = join(rootDir, 'src/modules/planning/assets');

export interface PlanningDependencies {
  payments?: Pick<
    PaymentsService,
    'createPayment' | 'startCardPayment' | 'getPayment' | 'onPaymentSucceeded'
  >;
  accounts?: Pick<AccountsService, 'personalData' | 'addLink'>;
}

/** Builds Plan: the applicant journey, the back office, the public register and planning open data. */
export function createPlanning(platform: Platform, deps: PlanningDependencies = {}) {
  const service = createPlanningService(platform, {
    gazetteer: localGazetteer(),
    payments: deps.payments as FeePayments | undefined,
  });

  platform.notify.defineTemplate('planning-received', {
    subject: 'Planning application ((reference)) received',
    body:
      'We have received your planning application ((reference)) for ((address)).\n\n' +
      'A planning officer will check it is complete. Follow it here: ((link))',
  });
  platform.notify.defineTemplate('planning-invalid', {
    subject: 'Planning application ((reference)): changes needed',
    body:
      'Your planning application ((reference)) for ((address)) is not valid yet. Please change the following and send it again:\n\n((reasons))\n\n' +
      'Sign in to make the changes: ((link))',
  });
  platform.notify.defineTemplate('planning-valid', {
    subject: 'Planning application ((reference)) is valid',
    body: 'Your planning application ((reference)) for ((address)) is valid. We aim to decide it by ((due)).\n\nFollow it here: ((link))',
  });
  platform.notify.defineTemplate('planning-decided', {
    subject: 'Decision on planning application ((reference))',
    body: 'Your planning application ((reference)) for ((address)) has been ((decision)). Read the decision notice: ((link))',
  });
  platform.notify.defineTemplate('planning-consultee', {
    subject: 'Planning consultation ((reference)): ((address))',
    body:
      'Dear ((name)),\n\nWe would welcome your comments on planning application ((reference)) at ((address)): ((description)).\n\n' +
      'Please reply by ((end)). The application and its documents: ((link))',
  });

  platform.notify.defineTemplate('planning-withdrawn', {
    subject: 'Planning application ((reference)) withdrawn',
    body: 'Your planning application ((reference)) for ((address)) has been withdrawn, as you asked. It will not be decided.\n\nIts page: ((link))',
  });
  platform.notify.defineTemplate('planning-commenter-update', {
    subject: 'Planning application ((reference)): ((address))',
    body:
      'You commented on planning application ((reference)) for ((address)). ((news))\n\n' +
      'See the application: ((link))\n\nWe are writing because you gave your email address with your comment.',
  });
  // Validated, decided, withdrawn: the applicant and commenters are told once the change commits.
  for (const type of Object.keys(statusChanges))
    platform.events.subscribe(type, `planning.status-notices.${type.split('.')[1]}`, (event) =>
      service.tellOfStatus(event),
    );

  // A paid fee sends the application, even when the applicant never comes back from paying.
  deps.payments?.onPaymentSucceeded('planning.fee_paid', async (event) => {
    if (event.payload.paysFor.type !== 'planning_application') return;
    await service.settlePayment(event.payload.paysFor.id);
  });

  deps.accounts?.addLink({ href: '/account/planning', text: 'Your planning applications' });
  deps.accounts?.personalData.add({
    name: 'planning applications',
    async export(db, residentId) {
      const rows = await store.listForResident(db, residentId);
      return rows.map((r) => ({
        reference: r.reference,
        type: r.application_type ? applicationTypeNames[r.application_type] : null,
        site: r.address_text,
        description: r.description,
        applicant: r.applicant,
        agent: r.agent,
        status: r.status,
        receivedAt: r.received_at,
        decision: r.decision,
      }));
    },
    // Sent applications are part of the statutory register and stay; the account link goes.
    erase: (tx, residentId) => store.detachResident(tx, residentId),
  });
  registerCustomerTimelineSource('planning', async (db, residentId) =>
    (await store.listForResident(db, residentId))
      .filter((r) => r.received_at)
      .map((r) => ({
        at: r.decided_at ?? r.received_at!,
        title: r.decided_at ? `Planning application ${r.decision}` : 'Planning application received',
        text: `${r.reference}: ${r.address_text}`,
        href: `/staff/planning/applications/${r.reference}`,
      })),
  );

  return {
    service,
    register(app: FastifyInstance) {
      app.get('/planning-assets/:file', (request, reply) => {
        const file = (request.params as { file: string }).file;
        if (!/^[\w-]+\.js$/.test(file)) return reply.callNotFound();
        return reply.header('Cache-Control', 'public, max-age=3600').sendFile(file, assetsDir);
      });
      registerApplyRoutes(app, platform, service);
      registerRegisterRoutes(app, platform, service);
      registerPlanningApi(app, platform, service);
      registerPlanningStaffRoutes(app, platform, service);
    },
    /** Demo data: applications of the demo resident at each stage, one of them decided. */
    async seedDemoData(demo: DemoPeople) {
      await service.seedDemo(demo.resident.id);
    },
  };
}
