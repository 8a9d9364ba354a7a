import type { SigningService } from './service.ts';
import type { TemplateKind } from './schema.ts';

/** One template of each kind, written for the fictional Kilnford City Council. */
export const demoTemplates: Array<{ slug: string; kind: TemplateKind; title: string; body: string }> = [
  {
    slug: 'tenancy-agreement',
    kind: 'tenancy_agreement',
    title: 'Secure tenancy agreement',
    body: `# Parties
This agreement is between Kilnford City Council (the landlord) and ((tenant_names)) (the tenant).

# The home
The landlord lets the home at ((property_address)) to the tenant as a secure tenancy, starting on ((start_date)).

# Rent
The rent is ((weekly_rent)) a week, payable in advance every Monday. The landlord will give at least four weeks' notice of any change.

# The tenant agrees
To live in the home as their only or main home; to keep the inside of the home clean and in good order; to report repairs promptly; to allow access for safety checks with reasonable notice; not to cause nuisance or annoyance to neighbours.

# The landlord agrees
To keep the structure, exterior and installations for water, gas, electricity, heating and sanitation in repair; to carry out an annual gas safety check; to respond to repairs within the published times.

# Ending the tenancy
The tenant may end the tenancy with four weeks' written notice. The landlord may end it only with a court order, on the grounds set out in law.`,
  },
  {
    slug: 'trade-waste-contract',
    kind: 'trade_waste_contract',
    title: 'Trade waste collection contract',
    body: `# Parties
This contract is between Kilnford City Council (the council) and ((business_name)) of ((business_address)) (the customer).

# The service
The council will empty ((container)) at the premises every ((collection_day)), and provide waste transfer notes as the law requires.

# Charges
The annual charge is ((annual_charge)), invoiced quarterly in advance. Extra collections are charged at the published rate.

# The customer agrees
To present only the waste described, in the council's containers, by 7am on the collection day, and to keep containers closed and clear of the highway.

# Term
This contract runs for twelve months and renews each year unless either party gives one month's written notice.`,
  },
  {
    slug: 'employment-contract',
    kind: 'employment_contract',
    title: 'Contract of employment',
    body: `# Parties
This contract is between Kilnford City Council (the employer) and ((employee_name)) (the employee).

# Job
The employee is appointed as ((job_title)), starting on ((start_date)).

# Pay
The salary is ((annual_salary)) a year, paid monthly on the 28th by bank transfer.

# Hours and holidays
Normal hours are 37 a week, Monday to Friday. Annual leave is 27 days plus bank holidays, rising with service as set out in the council's conditions.

# Notice
Either party may end this contract with one month's written notice during the first year.`,
  },
  {
    slug: 'generic-letter',
    kind: 'letter',
    title: 'Letter',
    body: `Dear ((recipient_name)),

((letter_text))

Yours sincerely,

Kilnford City Council`,
  },
];

/** The demo templates, and one tenancy agreement waiting for the demo resident's signature. */
export async function seedSigningDemo(
  service: SigningService,
  people: {
    officerId: string;
    officerName: string;
    officerEmail: string;
    resident: { name: string; email: string };
  },
) {
  const staff = { type: 'staff' as const, id: people.officerId };
  for (const template of demoTemplates) await service.saveTemplate(staff, template);
  await service.sendEnvelope(staff, {
    title: 'Secure tenancy agreement',
    template: {
      slug: 'tenancy-agreement',
      values: {
        tenant_names: `${people.resident.name} and Jordan Fielding`,
        property_address: '12 Bottle Kiln Lane, Kilnford KF1 2AB',
        start_date: '1 December 2026',
        weekly_rent: '£112.40',
      },
    },
    signers: [
      { name: people.resident.name, role: 'Tenant', email: people.resident.email },
      { name: 'Jordan Fielding', role: 'Joint tenant', email: 'jordan.fielding@example.com' },
      { name: people.officerName, role: 'Housing officer', email: people.officerEmail },
    ],
  });
}
