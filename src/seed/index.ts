import type { Kiln } from '../app.ts';
import { hashPassword } from '../platform/auth/passwords.ts';
import { tables } from '../platform/db/index.ts';
import type { IdentityTables } from '../platform/auth/identity.ts';
import { recordAudit } from '../platform/audit/index.ts';
import { systemActor } from '../platform/actor.ts';
import { seedDemoCases } from '../modules/cases/index.ts';
import { seedCatalogue } from '../modules/catalogue/index.ts';
import { seedPaymentsDemo } from '../modules/payments/demo.ts';
import type { Db } from '../platform/db/index.ts';
import type { DemoPeople, ModuleInstance } from '../platform/module.ts';

/** The fictional council's demo people. Passwords and TOTP secrets are public: demo only. */
export const demoStaff = [
  { email: 'agent@kilnford.example', name: 'Priya Ashworth', role: 'agent', team: 'contact-centre' },
  { email: 'officer@kilnford.example', name: 'Tom Bradwell', role: 'officer', team: 'streets' },
  { email: 'lead@kilnford.example', name: 'Hannah Okafor', role: 'team_lead', team: 'streets' },
  { email: 'admin@kilnford.example', name: 'Sam Whitfield', role: 'admin', team: 'digital' },
  { email: 'librarian@kilnford.example', name: 'Megan Lowe', role: 'agent', team: 'libraries' },
  { email: 'planner@kilnford.example', name: 'Daniel Fenton', role: 'officer', team: 'planning' },
  { email: 'socialworker@kilnford.example', name: 'Grace Nwosu', role: 'officer', team: 'adult-social-care' },
  {
    email: 'childrenworker@kilnford.example',
    name: 'Owen Pryce',
    role: 'officer',
    team: 'childrens-social-care',
  },
  { email: 'technician@kilnford.example', name: 'Ravi Chandran', role: 'officer', team: 'care-technology' },
  { email: 'analyst@kilnford.example', name: 'Lucy Barlaston', role: 'team_lead', team: 'digital' },
] as const;
export const DEMO_STAFF_PASSWORD = 'kiln-demo-password';
/** Base32 TOTP secret shared by the demo staff accounts; add it to any authenticator app. */
export const DEMO_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
export const demoResident = {
  email: 'resident@kilnford.example',
  name: 'Alex Moreton',
  reference: 'CU-DEMO-01',
};

export const demoTeams = [
  { code: 'contact-centre', name: 'Contact centre' },
  { code: 'streets', name: 'Streets and highways' },
  { code: 'waste', name: 'Waste and recycling' },
  { code: 'revenues', name: 'Council tax and revenues' },
  { code: 'housing', name: 'Housing' },
  { code: 'libraries', name: 'Libraries' },
  { code: 'adult-social-care', name: 'Adult social care' },
  { code: 'childrens-social-care', name: "Children's social care" },
  { code: 'care-technology', name: 'Care technology' },
  { code: 'planning', name: 'Planning' },
  { code: 'business', name: 'Business and licensing' },
  { code: 'digital', name: 'Digital services' },
];

/** Teams and people every installation needs to be usable; idempotent. */
export async function seedBase(kiln: Kiln): Promise<void> {
  const t = tables<IdentityTables>(kiln.platform.db);
  await t
    .insertInto('teams')
    .values(demoTeams)
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
}

/** Adds the demo council's people and content once; returns false when they are already there. */
export async function seedDemoData(kiln: Kiln): Promise<boolean> {
  const db = kiln.platform.db;
  await seedBase(kiln);
  await seedCatalogue(kiln.services.catalogue.service);
  const t = tables<IdentityTables>(db);
  const existing = await t.selectFrom('staff_users').select('id').limit(1).executeTakeFirst();
  if (existing) return false;
  const passwordHash = await hashPassword(DEMO_STAFF_PASSWORD);
  await db.transaction().execute(async (tx) => {
    for (const s of demoStaff) {
      await tables<IdentityTables>(tx)
        .insertInto('staff_users')
        .values({
          email: s.email,
          name: s.name,
          role: s.role,
          team_code: s.team,
          password_hash: passwordHash,
          totp_secret: DEMO_TOTP_SECRET,
        } as never)
        .execute();
    }
    await tables<IdentityTables>(tx)
      .insertInto('residents')
      .values({
        ...demoResident,
        has_account: true,
        phone: '07700 900123',
        address: '12 Bottle Kiln Lane, Kilnford KF1 2AB',
      } as never)
      .execute();
    await recordAudit(tx, { actor: systemActor, action: 'demo.seeded' });
  });
  await kiln.services.signing.seedDemo(demoResident, 'officer@kilnford.example', 'Tom Bradwell');
  await seedPaymentsDemo(kiln);
  const demo = await demoPeople(db);
  for (const service of Object.values(kiln.services) as ModuleInstance[]) await service.seedDemoData?.(demo);
  // Back-office cases come last: they use the demo people and services above.
  await seedDemoCases(kiln.platform, kiln.services.cases.service);
  return true;
}

/** The demo people as stored, with their ids, for modules' own demo data. */
async function demoPeople(db: Db): Promise<DemoPeople> {
  const t = tables<IdentityTables>(db);
  const resident = await t
    .selectFrom('residents')
    .select(['id', 'email', 'name', 'reference'])
    .where('reference', '=', demoResident.reference)
    .executeTakeFirstOrThrow();
  const staff = await t
    .selectFrom('staff_users')
    .select(['id', 'email', 'name', 'role', 'team_code'])
    .where(
      'email',
      'in',
      demoStaff.map((s) => s.email),
    )
    .execute();
  return {
    resident: { ...resident, email: resident.email ?? demoResident.email },
    staff: staff.map((s) => ({
      id: s.id,
      email: s.email,
      name: s.name,
      role: s.role,
      team: s.team_code ?? '',
    })),
  };
}
