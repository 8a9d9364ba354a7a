import type { DemoPeople, Platform } from '../../platform/module.ts';
import type { Directory, ServiceInput } from './directory.ts';
import { withCheckDigit } from './nhs-number.ts';
import type { CareRecord } from './record.ts';

// Fictional organisations, services and people of Kilnford. NHS numbers are from the 999 range,
// which the NHS never issues to real people.

export const demoTerms = [
  { id: 'help-at-home', term: 'Help at home', description: 'Personal care, meals and help around the house' },
  { id: 'carers', term: 'Support for carers', description: 'Breaks, advice and groups for unpaid carers' },
  {
    id: 'memory',
    term: 'Memory and dementia',
    description: 'Support for people living with dementia and their families',
  },
  {
    id: 'mental-health',
    term: 'Mental health',
    description: 'Someone to talk to, groups and crisis support',
  },
  { id: 'loneliness', term: 'Loneliness and getting out', description: 'Befriending, clubs and transport' },
  { id: 'money', term: 'Money and benefits', description: 'Benefits checks, debt advice and grants' },
  { id: 'falls', term: 'Falls and staying safe', description: 'Falls prevention, equipment and alarms' },
  {
    id: 'families',
    term: 'Children and families',
    description: 'Parenting support, early help and activities for children',
  },
  { id: 'disability', term: 'Disability', description: 'Equipment, adaptations and independent living' },
  { id: 'food', term: 'Food', description: 'Food banks, lunch clubs and meals' },
];

const place = (name: string, address1: string, city: string, postcode: string, lat: number, lng: number) => ({
  name,
  address1,
  city,
  postcode,
  lat,
  lng,
});

const service = (
  s: Partial<ServiceInput> & Pick<ServiceInput, 'organisationName' | 'name' | 'description' | 'termIds'>,
): ServiceInput => ({
  url: null,
  email: null,
  phone: null,
  status: 'active',
  feesDescription: 'Free',
  eligibilityDescription: null,
  minimumAge: null,
  maximumAge: null,
  location: null,
  ...s,
});

export const demoServices: ServiceInput[] = [
  service({
    organisationName: 'Kilnford Age Friends',
    name: 'Friday lunch club',
    description:
      'A hot two-course lunch and good company every Friday at the Potters Hall. Transport can be arranged.',
    termIds: ['loneliness', 'food'],
    minimumAge: 60,
    feesDescription: '£4.50 a lunch',
    phone: '01632 960 101',
    location: place('Potters Hall', '3 Church Street', 'Kilnford', 'KF1 6WX', 52.951, -2.149),
  }),
  service({
    organisationName: 'Kilnford Carers Centre',
    name: 'Carers’ breaks and advice',
    description:
      'Advice, a carers’ emergency card, short breaks and a monthly carers’ café for anyone looking after a relative or friend.',
    termIds: ['carers', 'money'],
    minimumAge: 16,
    email: 'hello@kilnfordcarers.example',
    phone: '01632 960 102',
    location: place('Kilnford Carers Centre', '21 Wharf Street', 'Kilnford', 'KF2 3NP', 52.943, -2.161),
  }),
  service({
    organisationName: 'Memory Lane Kilnford',
    name: 'Memory café',
    description:
      'A friendly café for people living with dementia and the people who care for them, with singing, games and advice.',
    termIds: ['memory', 'carers', 'loneliness'],
    location: place('Etherley Library', '2 Clay Lane', 'Etherley', 'KF3 4HH', 52.963, -2.129),
  }),
  service({
    organisationName: 'Kilnford City Council',
    name: 'Community alarms and falls response',
    description:
      'A pendant alarm and sensors at home, answered day and night, with a falls response team that can come out to help you up.',
    termIds: ['falls', 'help-at-home', 'disability'],
    minimumAge: 18,
    feesDescription: '£4.20 a week',
    phone: '01632 960 103',
  }),
  service({
    organisationName: 'Talk Kilnford',
    name: 'Listening line',
    description: 'Someone to talk to, in confidence, every evening from 6pm to midnight.',
    termIds: ['mental-health', 'loneliness'],
    minimumAge: 16,
    phone: '0800 000 0000',
  }),
  service({
    organisationName: 'Burslow Family Hub',
    name: 'Early help for families',
    description:
      'Parenting groups, a family worker to help with things at home, and stay-and-play sessions for under-fives.',
    termIds: ['families'],
    maximumAge: 18,
    location: place('Burslow Family Hub', '1 Willow Crescent', 'Burslow', 'KF4 2EE', 52.935, -2.121),
  }),
  service({
    organisationName: 'Kilnford Citizens Advice',
    name: 'Benefits and debt advice',
    description: 'Free, confidential advice on benefits, debt, housing and work, by appointment or drop-in.',
    termIds: ['money'],
    minimumAge: 16,
    url: 'https://citizensadvice.kilnford.example',
    location: place('Advice Centre', '8 Market Square', 'Kilnford', 'KF1 1CC', 52.95, -2.152),
  }),
  service({
    organisationName: 'Kilnford Home Support',
    name: 'Home care',
    description:
      'Help with washing, dressing, meals and medicines at home, from a regular team of carers. Registered with the Care Quality Commission.',
    termIds: ['help-at-home', 'disability', 'memory'],
    minimumAge: 18,
    feesDescription: '£24 an hour, or from your personal budget',
    location: place('Kilnford Home Support', '40 Station Road', 'Kilnford', 'KF1 7BB', 52.947, -2.143),
  }),
];

/** Demo content for the care module: the directory, outside professionals and three records. */
export async function seedCareDemo(
  platform: Platform,
  deps: { directory: Directory; record: CareRecord },
  demo: DemoPeople,
) {
  const { directory, record } = deps;
  await platform.db.transaction().execute((tx) => directory.seed(tx, demoTerms, demoServices));

  const staff = (email: string) => demo.staff.find((s) => s.email === email);
  const socialWorker = staff('socialworker@kilnford.example');
  const childrenWorker = staff('childrenworker@kilnford.example');
  if (!socialWorker || !childrenWorker) return;
  const system = { type: 'system' as const, id: null };
  const sw = await record.viewerForStaff({ ...socialWorker, teamCode: socialWorker.team });
  const cw = await record.viewerForStaff({ ...childrenWorker, teamCode: childrenWorker.team });
  const gp = await record.addPractitioner(system, {
    name: 'Dr Nadia Holloway',
    email: 'n.holloway@etherleymedical.example',
    role: 'GP',
    organisationName: 'Etherley Medical Practice',
    organisationKind: 'gp_practice',
    odsCode: 'Y99901',
  });
  const nurse = await record.addPractitioner(system, {
    name: 'Ben Adeyemi',
    email: 'b.adeyemi@kilnfordroyal.example',
    role: 'Discharge coordinator',
    organisationName: 'Kilnford Royal Infirmary',
    organisationKind: 'hospital',
    odsCode: 'Y99902',
  });
  const teacher = await record.addPractitioner(system, {
    name: 'Mrs Aisha Carter',
    email: 'safeguarding@kilnfordacademy.example',
    role: 'Designated safeguarding lead',
    organisationName: 'Kilnford Academy',
    organisationKind: 'education',
  });

  // The demo resident: a carer for their mother, with a personal budget for respite.
  const alex = await record.registerPerson(sw, {
    nhsNumber: withCheckDigit('999000001'),
    givenName: 'Alex',
    familyName: 'Moreton',
    dateOfBirth: '1979-06-14',
    gender: 'other',
    address: '12 Bottle Kiln Lane, Kilnford',
    postcode: 'KF1 2AB',
    phone: '07700 900123',
    residentId: demo.resident.id,
  });
  await record.addCarePlan(sw, alex.id, {
    title: 'Carer’s support plan',
    description:
      'Four hours of respite care a week so Alex can keep working; a carers’ emergency card; monthly carers’ café.',
    status: 'active',
    periodStart: '2026-09-01',
    periodEnd: null,
  });
  await record.addBudget(sw, alex.id, {
    periodStart: '2026-09-01',
    periodEnd: '2027-08-31',
    amountPence: 480_000,
  });

  // An older person living alone, shared with her GP and the hospital.
  const dorothy = await record.registerPerson(sw, {
    nhsNumber: withCheckDigit('999000002'),
    givenName: 'Dorothy',
    familyName: 'Pell',
    dateOfBirth: '1941-02-03',
    gender: 'female',
    address: '5 Glaze Row, Kilnford',
    postcode: 'KF1 4EF',
    phone: '01632 960 555',
  });
  await record.addTeamMember(sw, dorothy.id, gp.id, 'GP');
  await record.addTeamMember(sw, dorothy.id, nurse.id, 'Hospital discharge coordinator');
  await record.addCondition(sw, dorothy.id, {
    code: '52448006',
    display: 'Dementia',
    clinicalStatus: 'active',
    onsetDate: '2023-04-01',
  });
  await record.addMedication(sw, dorothy.id, {
    code: null,
    display: 'Donepezil 10mg tablets',
    dosage: 'One at night',
    status: 'active',
    effectiveFrom: '2023-05-01',
  });
  await record.addRelatedPerson(sw, dorothy.id, {
    name: 'Mark Pell',
    relationship: 'Son',
    phone: '07700 900456',
    email: null,
    emergency_contact: true,
  });
  await record.addCarePlan(sw, dorothy.id, {
    title: 'Support to stay at home',
    description:
      'Morning and evening calls from Kilnford Home Support; community alarm with falls sensor; memory café on Tuesdays.',
    status: 'active',
    periodStart: '2026-10-01',
    periodEnd: null,
  });
  await record.addEncounter(sw, dorothy.id, {
    kind: 'home_visit',
    status: 'finished',
    startAt: new Date('2026-11-18T10:30:00Z'),
    endAt: new Date('2026-11-18T11:30:00Z'),
    notes: 'Review after hospital discharge. Managing well with two calls a day; son visits at weekends.',
  });
  await record.addFlag(sw, dorothy.id, {
    code: 'key-safe',
    display: 'Key safe by the back door: code held by the home care team',
    category: 'admin',
  });

  // A child known to children's social care and their school.
  const child = await record.registerPerson(cw, {
    nhsNumber: withCheckDigit('999000003'),
    givenName: 'Jayden',
    familyName: 'Marsh',
    dateOfBirth: '2015-09-22',
    gender: 'male',
    address: '14 Long Row, Kilnford',
    postcode: 'KF2 4GG',
    phone: null,
  });
  await record.addTeamMember(cw, child.id, teacher.id, 'School safeguarding lead');
  await record.addEncounter(cw, child.id, {
    kind: 'school_meeting',
    status: 'finished',
    startAt: new Date('2026-11-20T14:00:00Z'),
    endAt: null,
    notes: 'Team around the child meeting at school. Attendance improving; family worker visiting weekly.',
  });
}
