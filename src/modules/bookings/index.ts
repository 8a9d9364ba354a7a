import type { FastifyInstance } from 'fastify';
import { systemActor } from '../../platform/actor.ts';
import type { DemoPeople, ModuleDefinition, Platform } from '../../platform/module.ts';
import type { AccountsService } from '../accounts/index.ts';
import { registerCustomerTimelineSource } from '../cases/index.ts';
import { localGazetteer } from '../catalogue/index.ts';
import { createBusinessService, type ContractDirectDebit, type ContractSigning } from './business.ts';
import { loadBookingsConfig, type BookingsConfig } from './config.ts';
import { seedBookingsDemo, seedBusinessDemo } from './demo.ts';
import { registerBookingsApi } from './routes-api.ts';
import { registerBusinessRoutes } from './routes-business.ts';
import { registerBookingRoutes } from './routes-resident.ts';
import { registerStaffRoutes } from './routes-staff.ts';
import { bookingsMigrations } from './schema.ts';
import { dayString } from './times.ts';
import { createBookingsService, type AddressBook, type BookingPayments } from './service.ts';

export type { BookingsService, Booking, Bookable, Slot, Quote, HoldInput, NewBookable } from './service.ts';
export { BookingError, NO_LONGER_AVAILABLE } from './service.ts';
export type { BusinessService, TradeWasteQuote, ContractDirectDebit } from './business.ts';
export { bookableKinds, bookingStatuses, type BookableKind, type BookingStatus } from './schema.ts';

export const bookingsModule: ModuleDefinition = {
  name: 'bookings',
  migrations: bookingsMigrations,
  staffNavigation: [
    { href: '/staff/bookings', text: 'Bookings', section: 'bookings', permission: 'bookings:desk' },
  ],
};

export interface BookingsDeps {
  /** Fees are paid by card through payments; refunds go back the same way. */
  payments?: BookingPayments;
  /** My account lists bookings; data download and deletion cover them. */
  accounts?: Pick<AccountsService, 'personalData' | 'addLink'>;
  /** Trade waste contracts paid by Direct Debit are collected on the payer's mandate. */
  directDebit?: ContractDirectDebit;
  /** Contracts are sent for signature; signing delivers the sealed PDF to My account, linked from the contract. */
  signing?: ContractSigning;
  /** In-area checks (bulky waste); the council's gazetteer by default. */
  addresses?: AddressBook;
  config?: BookingsConfig;
}

/**
 * Builds Book: the booking engine (resources, sessions, people's calendars), resident pages,
 * the library desk and staff management. Other modules use `service` (see docs/bookings.md).
 */
export function createBookings(platform: Platform, deps: BookingsDeps = {}) {
  const config = deps.config ?? loadBookingsConfig();
  const service = createBookingsService(platform, config, {
    payments: deps.payments,
    addresses: deps.addresses ?? localGazetteer(),
  });

  const business = createBusinessService(platform, {
    payments: deps.payments,
    directDebit: deps.directDebit,
    signing: deps.signing,
  });

  // A card payment for a booking confirms it (or refunds it when the place has gone).
  deps.payments?.onPaymentSucceeded('bookings.payment', async (event) => {
    if (event.payload.paysFor.type !== 'booking') return;
    await service.settlePayment(event.payload.paysFor.id, systemActor);
  });

  deps.accounts?.addLink({ href: '/account/bookings', text: 'Your bookings' });
  deps.accounts?.addLink({ href: '/account/contracts', text: 'Your business contracts' });
  deps.accounts?.personalData.add({
    name: 'bookings',
    async export(db, residentId) {
      const [bookings, waiting, contracts, changes] = await Promise.all([
        service.bookingsForResident(db, residentId),
        service.waitingListFor(db, residentId),
        business.contractsFor(db, residentId),
        business.changesBy(db, residentId),
      ]);
      return {
        bookings: bookings.map((b) => ({
          reference: b.reference,
          what: b.bookable.title,
          when: b.startsAt.toISOString(),
          status: b.statusText,
          address: b.address,
          items: b.items,
          feePence: b.feePence,
          bookedAt: b.createdAt.toISOString(),
        })),
        waitingLists: waiting.map((w) => ({ what: w.title, when: w.starts_at, status: w.status })),
        // Contracts of the businesses the resident acts for, and the changes they asked for.
        contracts: contracts.map((c) => ({
          reference: c.reference,
          business: c.business.name,
          address: c.business.billing_address,
          service: (c.terms as { lines?: Array<{ text: string }> }).lines?.[0]?.text ?? c.service,
          monthlyPence: c.monthly_pence,
          payBy: c.pay_by,
          status: c.status,
          startsOn: dayString(c.starts_on),
          endsOn: c.ends_on ? dayString(c.ends_on) : null,
        })),
        contractChanges: changes.map((ch) => ({
          contract: ch.reference,
          details: ch.details,
          askedAt: ch.created_at,
          status: ch.status,
          reason: ch.decision_reason,
          answeredAt: ch.decided_at,
        })),
      };
    },
    erase: (tx, residentId) => service.eraseResident(tx, residentId),
  });

  registerCustomerTimelineSource('bookings', async (db, residentId) => [
    ...(await service.bookingsForResident(db, residentId)).map((b) => ({
      at: b.createdAt,
      title: `Booking: ${b.bookable.title} (${b.statusText.toLowerCase()})`,
      text: `${b.reference}: ${b.when}`,
      href: `/staff/bookings/${b.reference}`,
    })),
    ...(await business.contractsFor(db, residentId)).map((c) => ({
      at: c.created_at,
      title: `Trade waste contract (${c.status})`,
      text: `${c.reference} for ${c.business.name}`,
      href: '/staff/bookings/contracts',
    })),
  ]);

  platform.jobs.define({
    name: 'bookings.release-holds',
    cron: '* * * * *',
    handler: async () => {
      await service.releaseExpiredHolds();
    },
  });
  platform.jobs.define({
    name: 'bookings.reminders',
    cron: '7 * * * *',
    handler: async () => {
      await service.sendReminders();
    },
  });

  // Trade waste invoices for the month, on its first morning.
  platform.jobs.define({
    name: 'bookings.invoices',
    cron: '0 6 1 * *',
    handler: async () => {
      await business.invoiceMonth(new Date().toISOString().slice(0, 7), systemActor);
    },
  });

  return {
    service,
    /** The business services marketplace: trade waste quotes, contracts, invoices. */
    business,
    /** Demo data: two libraries with PCs and classes, bulky waste, a social worker's consultation slots. */
    async seedDemoData(demo: DemoPeople) {
      await seedBookingsDemo(platform, service, demo);
      await seedBusinessDemo(business, demo);
    },
    register(app: FastifyInstance) {
      registerBookingRoutes(app, platform, service);
      registerStaffRoutes(app, platform, service);
      registerBusinessRoutes(app, platform, business, config);
      registerBookingsApi(app, platform, service);
    },
  };
}
