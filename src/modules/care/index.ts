import type { FastifyInstance } from 'fastify';
import type { DemoPeople, ModuleDefinition, Platform } from '../../platform/module.ts';
import type { AccountsService } from '../accounts/index.ts';
import type { BookingsService } from '../bookings/index.ts';
import { registerCustomerTimelineSource, type CasesService } from '../cases/index.ts';
import { seedCareDemo } from './demo.ts';
import { createDirectory } from './directory.ts';
import { createFhirTokens } from './fhir-tokens.ts';
import { createRecord, type WellbeingAlert } from './record.ts';
import { createReferrals } from './referrals.ts';
import { registerAccountRoutes } from './routes-account.ts';
import { registerFhirRoutes } from './routes-fhir.ts';
import { registerOpenReferralRoutes } from './routes-open-referral.ts';
import { registerPublicRoutes } from './routes-public.ts';
import { registerStaffRoutes } from './routes-staff.ts';
import { careMigrations } from './schema.ts';
import { careSettings } from './settings.ts';
import * as store from './store.ts';

export { isValidNhsNumber, nhsNumberProblem, NHS_NUMBER_SYSTEM } from './nhs-number.ts';
export type { Viewer } from './record.ts';

export const careModule: ModuleDefinition = {
  name: 'care',
  migrations: careMigrations,
  staffNavigation: [
    { href: '/staff/care', text: 'Care records', section: 'care', permission: 'care:record' },
    {
      href: '/staff/care/directory',
      text: 'Care directory',
      section: 'care-directory',
      permission: 'care:directory',
    },
  ],
};

export interface CareDependencies {
  cases: CasesService;
  /** My account shows the resident's referrals, budget and who looked at their record. */
  accounts?: Pick<AccountsService, 'personalData' | 'addLink'>;
  /** Video consultations with social workers are booked on their calendars. */
  bookings?: Pick<BookingsService, 'findBookables' | 'availability'>;
}

/** Builds Care: the advice directory, self-referral, personal budgets, the shared care record and its FHIR API. */
export function createCare(platform: Platform, deps: CareDependencies) {
  const settings = careSettings();
  const directory = createDirectory(platform);
  const referrals = createReferrals(platform, deps.cases);
  const record = createRecord(platform, settings);
  const tokens = createFhirTokens(platform, settings);

  deps.accounts?.addLink({
    href: '/account/care',
    text: 'Your social care: referrals, budget and care record',
  });
  deps.accounts?.personalData.add({
    name: 'care',
    async export(db, residentId) {
      const [referralRows, people] = await Promise.all([
        store.referralsForResident(db, residentId),
        store.peopleForResident(db, residentId),
      ]);
      const budgets = await store.budgetsFor(
        db,
        people.map((p) => p.id),
      );
      return {
        referrals: referralRows.map((r) => ({
          reference: r.reference,
          about: r.subject_name,
          madeAt: r.created_at,
        })),
        careRecords: people.map((p) => ({
          nhsNumber: p.nhs_number,
          name: `${p.given_name} ${p.family_name}`,
          dateOfBirth: p.date_of_birth,
          objectsToSharing: p.sharing_objection,
        })),
        budgets: budgets.map((b) => ({
          from: b.period_start,
          to: b.period_end,
          amountPence: b.amount_pence,
          spentPence: b.spent_pence,
        })),
      };
    },
    // The care record is the council's statutory record: deleting the account unlinks it, never erases it.
    erase: (tx, residentId) => store.eraseResidentReferrals(tx, residentId),
  });

  registerCustomerTimelineSource('care', async (db, residentId) =>
    (await store.referralsForResident(db, residentId)).map((r) => ({
      at: r.created_at,
      title: `Social care referral (${r.priority})`,
      text: `${r.reference}: about ${r.for_self ? 'themselves' : r.subject_name}`,
      href: `/staff/cases/${r.reference}`,
    })),
  );

  platform.events.subscribe('wellbeing.alert_raised', 'care.wellbeing-alerts', async (event) => {
    const payload = event.payload as unknown as WellbeingAlert;
    if (payload?.alertId && payload.residentId) await record.recordWellbeingAlert(payload);
  });
  platform.events.subscribe('wellbeing.alert_resolved', 'care.wellbeing-alerts-resolved', async (event) => {
    const payload = event.payload as unknown as {
      alertId?: string;
      residentId?: string;
      resolvedAt?: string;
    };
    if (payload?.alertId && payload.residentId)
      await record.resolveWellbeingAlert({
        alertId: payload.alertId,
        residentId: payload.residentId,
        resolvedAt: payload.resolvedAt,
      });
  });
  platform.jobs.define({
    name: 'care.housekeeping',
    cron: '41 * * * *',
    handler: async () => {
      await referrals.purgeDrafts();
      await tokens.purgeExpired();
    },
  });

  return {
    directory,
    referrals,
    record,
    tokens,
    settings,
    async seedDemoData(demo: DemoPeople) {
      await seedCareDemo(platform, { directory, record }, demo);
    },
    async register(app: FastifyInstance) {
      registerPublicRoutes(app, platform, { directory, referrals, settings, bookings: deps.bookings });
      registerAccountRoutes(app, platform, { referrals, record });
      registerStaffRoutes(app, platform, { directory, record, tokens });
      registerOpenReferralRoutes(app, platform, directory);
      await registerFhirRoutes(app, platform, { record, tokens });
    },
  };
}

export type CareModule = ReturnType<typeof createCare>;
