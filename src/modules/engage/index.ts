import type { FastifyInstance } from 'fastify';
import type { DemoPeople, ModuleDefinition, Platform } from '../../platform/module.ts';
import type { AccountsService } from '../accounts/index.ts';
import type { BookingsService } from '../bookings/index.ts';
import { registerCustomerTimelineSource } from '../cases/index.ts';
import { seedEngageDemo } from './demo.ts';
import { registerConsultRoutes } from './routes-consult.ts';
import { registerOnlineRoutes } from './routes-online.ts';
import { registerStaffConsultRoutes } from './routes-staff-consult.ts';
import { registerStaffInclusionRoutes } from './routes-staff-inclusion.ts';
import { engageMigrations } from './schema.ts';
import { createEngageService, type EngageDependencies } from './service.ts';
import * as store from './store.ts';

export type { EngageService } from './service.ts';
export { EngageError } from './service.ts';

export const engageModule: ModuleDefinition = {
  name: 'engage',
  migrations: engageMigrations,
  staffNavigation: [{ href: '/staff/engage', text: 'Engage', section: 'engage', permission: 'engage:read' }],
};

export interface EngageModuleDependencies extends EngageDependencies {
  /** My account's data download and deletion cover the resident's consultation responses. */
  accounts?: Pick<AccountsService, 'personalData'>;
  /** PCs, classes and consultation workshops are booked through the bookings module. */
  bookings?: Pick<BookingsService, 'getBookable' | 'createBookable' | 'addSlot'>;
}

/** Builds Engage: consultations with "you said, we did", the get-online finder, device lending and the connectivity register. */
export function createEngage(platform: Platform, deps: EngageModuleDependencies) {
  const service = createEngageService(platform, deps);
  const bookings = deps.bookings;
  // Where a resident books a bookable thing by its short name in bookings; none if it is not there.
  const bookingHref = async (slug: string) =>
    bookings && (await bookings.getBookable(platform.db, slug)) ? `/book/${encodeURIComponent(slug)}` : null;

  deps.accounts?.personalData.add({
    name: 'consultation responses',
    async export(db, residentId) {
      const rows = await store.responsesOfResident(db, residentId);
      return rows.map((r) => ({
        consultation: r.title,
        reference: r.reference,
        status: r.status,
        answers: r.answers,
        aboutYou: r.equality,
        sentAt: r.submitted_at,
      }));
    },
    // The answers stay in the results, no longer linked to the person: the consultation's record stands.
    erase: (tx, residentId) => store.detachResident(tx, residentId),
  });
  registerCustomerTimelineSource('engage', async (db, residentId) => {
    const rows = await store.responsesOfResident(db, residentId);
    return rows
      .filter((r) => r.status === 'submitted')
      .map((r) => ({
        at: r.submitted_at ?? r.created_at,
        title: 'Responded to a consultation',
        text: `${r.reference}: ${r.title}`,
      }));
  });
  // Closes consultations at their closing time and reminds borrowers of overdue devices.
  platform.jobs.define({
    name: 'engage.housekeeping',
    cron: '*/15 * * * *',
    handler: () => service.runHousekeeping(),
  });

  return {
    service,
    register(app: FastifyInstance) {
      registerConsultRoutes(app, platform, service, bookingHref);
      registerOnlineRoutes(app, platform, service, bookingHref);
      registerStaffConsultRoutes(app, platform, service);
      registerStaffInclusionRoutes(app, platform, service);
    },
    /** Demo data: an open consultation, a closed one with "you said, we did", places, devices and sites. */
    async seedDemoData(demo: DemoPeople) {
      await seedEngageDemo(platform.db, service, demo, bookings);
    },
  };
}
