import type { Db } from '../../platform/db/index.ts';
import type { DemoPeople } from '../../platform/module.ts';
import type { OpeningHours } from './schema.ts';
import type { PlaceRow, SiteRow } from './store.ts';
import type { BookingsService } from '../bookings/index.ts';
import type { EngageService } from './service.ts';
import * as store from './store.ts';

type Place = Omit<PlaceRow, 'id'>;

const weekdays = (opens: string, closes: string): OpeningHours[] =>
  [1, 2, 3, 4, 5].map((day) => ({ day, opens, closes }));

// Fictional places in fictional Kilnford, at their postcodes' points in the built-in gazetteer.
const places: Place[] = [
  {
    slug: 'kilnford-central-library',
    name: 'Kilnford Central Library',
    kind: 'library',
    address: 'Market Square, Kilnford KF1 1CC',
    postcode: 'KF1 1CC',
    lat: 52.954,
    lng: -2.15,
    offers: ['wifi', 'computers', 'skills', 'printing'],
    opening_hours: [...weekdays('09:00', '19:00'), { day: 6, opens: '09:30', closes: '16:00' }],
    phone: '01632 960 100',
    description:
      'Twenty public computers, free Wi-Fi, printing, and digital skills sessions every weekday afternoon.',
    booking_reference: 'central-library-pc',
  },
  {
    slug: 'etherley-library',
    name: 'Etherley Library',
    kind: 'library',
    address: 'Clay Lane, Etherley KF3 4HH',
    postcode: 'KF3 4HH',
    lat: 52.954,
    lng: -2.144,
    offers: ['wifi', 'computers', 'printing'],
    opening_hours: [
      { day: 1, opens: '10:00', closes: '17:00' },
      { day: 3, opens: '10:00', closes: '19:00' },
      { day: 5, opens: '10:00', closes: '17:00' },
      { day: 6, opens: '10:00', closes: '13:00' },
    ],
    phone: '01632 960 140',
    description: 'Six public computers and free Wi-Fi. Ask staff for help with forms online.',
    booking_reference: null,
  },
  {
    slug: 'burslow-community-lounge',
    name: 'Burslow Community Lounge',
    kind: 'community_lounge',
    address: 'Oak Tree Avenue, Burslow KF4 1DD',
    postcode: 'KF4 1DD',
    lat: 52.958,
    lng: -2.15,
    offers: ['wifi', 'skills'],
    opening_hours: [
      { day: 2, opens: '10:00', closes: '15:00' },
      { day: 4, opens: '10:00', closes: '15:00' },
    ],
    phone: null,
    description:
      'A warm space with free Wi-Fi, tea and digital volunteers who help with phones, tablets and forms.',
    booking_reference: null,
  },
  {
    slug: 'wharf-street-library',
    name: 'Wharf Street Library',
    kind: 'library',
    address: '3 Wharf Street, Kilnford KF2 3NP',
    postcode: 'KF2 3NP',
    lat: 52.946,
    lng: -2.156,
    offers: ['wifi', 'computers', 'skills'],
    opening_hours: [...weekdays('10:00', '17:00'), { day: 6, opens: '10:00', closes: '13:00' }],
    phone: '01632 960 222',
    description: 'Four public computers, and job-search help with the Kilnford Community Trust on Tuesdays.',
    booking_reference: 'wharf-library-pc',
  },
  {
    slug: 'kilnford-community-trust',
    name: 'Kilnford Community Trust Digital Hub',
    kind: 'partner',
    address: 'Potters Way, Kilnford KF1 5GH',
    postcode: 'KF1 5GH',
    lat: 52.954,
    lng: -2.162,
    offers: ['computers', 'skills'],
    opening_hours: [
      { day: 2, opens: '09:30', closes: '16:30' },
      { day: 4, opens: '09:30', closes: '16:30' },
    ],
    phone: '01632 960 230',
    description: 'Beginners’ computer classes and help with phones and tablets, run by a local charity.',
    booking_reference: null,
  },
  {
    slug: 'canal-side-community-lounge',
    name: 'Canal Side Community Lounge',
    kind: 'community_lounge',
    address: 'Canal Side, Kilnford KF2 2LM',
    postcode: 'KF2 2LM',
    lat: 52.942,
    lng: -2.156,
    offers: ['wifi'],
    opening_hours: [
      { day: 1, opens: '12:00', closes: '16:00' },
      { day: 3, opens: '12:00', closes: '16:00' },
      { day: 6, opens: '10:00', closes: '14:00' },
    ],
    phone: null,
    description: 'Free Wi-Fi and somewhere warm to sit.',
    booking_reference: null,
  },
];

const sites: Array<Omit<SiteRow, 'id' | 'updated_at'>> = [
  ['KCC-001', 'Civic Centre', 'office', true, 'KF1 1AA', 'connected', null, '2024-03-18', 10000],
  ['KCC-002', 'Kilnford Central Library', 'library', true, 'KF1 1CC', 'connected', null, '2024-06-04', 1000],
  ['KCC-003', 'Etherley Library', 'library', true, 'KF3 4HH', 'in_build', '2027-01-15', null, null],
  ['KCC-004', 'Potters Way Depot', 'depot', true, 'KF1 5GH', 'planned', '2027-04-01', null, null],
  [
    'KCC-005',
    'Burslow Community Centre',
    'community_centre',
    true,
    'KF4 1DD',
    'connected',
    null,
    '2025-09-22',
    1000,
  ],
  [
    'KCC-006',
    'Kilnford Leisure Centre',
    'leisure_centre',
    true,
    'KF2 5JJ',
    'connected',
    null,
    '2025-02-10',
    1000,
  ],
  ['KCC-007', 'Station Road Offices', 'office', true, 'KF1 7BB', 'not_planned', null, null, null],
  [
    'KCC-008',
    'Canal Side Community Lounge',
    'community_centre',
    true,
    'KF2 2LM',
    'planned',
    '2027-06-30',
    null,
    null,
  ],
  [
    'NET-101',
    'Saggar Street Primary School',
    'school',
    false,
    'KF1 3CD',
    'connected',
    null,
    '2023-11-06',
    1000,
  ],
  ['NET-102', 'Kilnford Academy', 'school', false, 'KF2 1JK', 'connected', null, '2024-01-15', 10000],
  ['NET-103', 'Beacon Hill Primary School', 'school', false, 'KF4 3FF', 'in_build', '2026-12-14', null, null],
  [
    'NET-201',
    'Willow Crescent Care Home',
    'care_home',
    false,
    'KF4 2EE',
    'connected',
    null,
    '2025-05-12',
    500,
  ],
  ['NET-202', 'Glaze Row Care Home', 'care_home', false, 'KF1 4EF', 'planned', '2027-03-01', null, null],
  ['NET-301', 'Long Row Surgery', 'gp_surgery', false, 'KF2 4GG', 'connected', null, '2024-09-30', 1000],
  ['NET-302', 'Etherley Medical Practice', 'gp_surgery', false, 'KF3 1QR', 'not_planned', null, null, null],
].map(
  ([
    code,
    name,
    kind,
    council_owned,
    postcode,
    fibre_status,
    planned_date,
    connected_date,
    bandwidth_mbps,
  ]) => ({
    code,
    name,
    kind,
    council_owned,
    postcode,
    fibre_status,
    planned_date,
    connected_date,
    bandwidth_mbps,
  }),
) as never;

const devices = [
  { asset_tag: 'KLN-LT-001', kind: 'laptop', model: 'Lenovo ThinkPad E14', notes: '' },
  { asset_tag: 'KLN-LT-002', kind: 'laptop', model: 'Lenovo ThinkPad E14', notes: '' },
  { asset_tag: 'KLN-LT-003', kind: 'laptop', model: 'Dell Latitude 3440', notes: '' },
  { asset_tag: 'KLN-LT-004', kind: 'laptop', model: 'Dell Latitude 3440', notes: 'Large-print keyboard' },
  { asset_tag: 'KLN-TB-001', kind: 'tablet', model: 'Samsung Galaxy Tab A9', notes: '' },
  { asset_tag: 'KLN-TB-002', kind: 'tablet', model: 'Samsung Galaxy Tab A9', notes: '' },
  { asset_tag: 'KLN-TB-003', kind: 'tablet', model: 'Apple iPad 10th generation', notes: '' },
  { asset_tag: 'KLN-HS-001', kind: 'hotspot', model: 'Mobile Wi-Fi hotspot with 20 GB a month', notes: '' },
] as const;

/** Places, sites and devices: reference data an installation can keep or replace. Idempotent. */
export async function seedEngageReference(db: Db) {
  for (const p of places) await store.insertPlace(db, p);
  for (const s of sites) await store.insertSite(db, s);
}

/** The demo council's consultations, devices and loans. */
export async function seedEngageDemo(
  db: Db,
  service: EngageService,
  demo: DemoPeople,
  bookings?: Pick<BookingsService, 'createBookable' | 'addSlot' | 'getBookable'>,
) {
  await seedEngageReference(db);
  const officer = demo.staff.find((s) => s.email === 'officer@kilnford.example');
  const librarian = demo.staff.find((s) => s.email === 'librarian@kilnford.example') ?? officer;
  if (!officer || !librarian) return;
  const staff = { type: 'staff' as const, id: officer.id };
  const libraryStaff = { type: 'staff' as const, id: librarian.id };
  const day = 86_400_000;
  const now = Date.now();

  for (const d of devices) await store.insertDevice(db, d);
  await service.devices.lend(
    libraryStaff,
    {
      assetTag: 'KLN-LT-001',
      borrowerName: 'Jordan Ellery',
      borrowerEmail: 'jordan.ellery@example.com',
      borrowerPhone: null,
      residentId: null,
      eligibility: 'job_seeker',
    },
    new Date(now - 10 * day),
  );
  await service.devices.lend(
    libraryStaff,
    {
      assetTag: 'KLN-TB-001',
      borrowerName: 'Morgan Tillet',
      borrowerEmail: null,
      borrowerPhone: '07700 900 417',
      residentId: null,
      eligibility: 'pension_credit',
    },
    new Date(now - 32 * day),
  );

  // An open consultation.
  const open = await service.consultations.create(staff, {
    title: 'Library opening hours from April 2027',
    slug: 'library-opening-hours-2027',
    summary: 'We want to open Kilnford’s libraries at the times that suit you best.',
    background:
      'Kilnford’s three libraries are open 150 hours a week between them. Fewer people visit on weekday mornings, and more people have asked for evening and Sunday opening.\n\n' +
      'We propose to open later on weekday mornings and stay open until 8pm on two evenings, within the same budget. Read the proposal and tell us what would work for you.',
    opensAt: new Date(now - 7 * day),
    closesAt: new Date(now + 28 * day),
    onePerPerson: true,
    equalityMonitoring: true,
  });
  await service.consultations.addQuestion(staff, open.reference, {
    kind: 'single',
    text: 'Which library do you use most?',
    hint: '',
    options: ['Kilnford Central Library', 'Etherley Library', 'Burslow Library', 'I do not use a library'],
    required: true,
  });
  await service.consultations.addQuestion(staff, open.reference, {
    kind: 'multiple',
    text: 'When would you like to use the library?',
    hint: 'Select all that apply',
    options: ['Weekday mornings', 'Weekday afternoons', 'Weekday evenings', 'Saturdays', 'Sundays'],
    required: false,
  });
  await service.consultations.addQuestion(staff, open.reference, {
    kind: 'scale',
    text: 'We should open later on weekday mornings to stay open until 8pm on two evenings.',
    hint: '',
    options: [],
    required: true,
  });
  await service.consultations.addQuestion(staff, open.reference, {
    kind: 'text',
    text: 'Is there anything else you want to tell us about library opening hours?',
    hint: '',
    options: [],
    required: false,
  });
  await service.consultations.publish(staff, open.reference);
  // A workshop residents book a place at through bookings.
  const startsAt = new Date(Math.ceil((now + 9 * day) / day) * day + 17.5 * 3_600_000);
  const endsAt = new Date(startsAt.getTime() + 2 * 3_600_000);
  let bookingReference: string | null = null;
  if (bookings && !(await bookings.getBookable(db, 'library-hours-workshop'))) {
    await bookings.createBookable(staff, {
      slug: 'library-hours-workshop',
      kind: 'session',
      category: 'consultation-event',
      title: 'Workshop: library opening hours',
      description: 'Talk to the libraries team about the proposed opening hours. Free; tea provided.',
      site: null,
      capacity: 30,
      cancelHours: 2,
      perPersonLimit: 1,
    });
    await bookings.addSlot(staff, 'library-hours-workshop', { startsAt, endsAt, capacity: 30 });
    bookingReference = 'library-hours-workshop';
  }
  await service.consultations.addEvent(staff, open.reference, {
    title: 'Workshop: library opening hours',
    place: 'Kilnford Central Library, Market Square',
    startsAt,
    endsAt,
    bookingReference,
  });

  // A closed consultation with "you said, we did".
  const closed = await service.consultations.create(staff, {
    title: 'Garden waste collections in summer',
    slug: 'garden-waste-summer-collections',
    summary: 'Should garden waste be collected every week from June to August?',
    background:
      'Garden waste is collected every two weeks all year. In summer, many bins are full before collection day.\n\n' +
      'We asked whether you would like weekly collections in June, July and August, and how much extra you would pay for the permit.',
    opensAt: new Date(now - 90 * day),
    closesAt: new Date(now + day),
    onePerPerson: true,
    equalityMonitoring: false,
  });
  const q1 = await service.consultations.addQuestion(staff, closed.reference, {
    kind: 'single',
    text: 'Would you like weekly garden waste collections from June to August?',
    hint: '',
    options: ['Yes', 'No', 'Not sure'],
    required: true,
  });
  const q2 = await service.consultations.addQuestion(staff, closed.reference, {
    kind: 'text',
    text: 'Tell us why',
    hint: '',
    options: [],
    required: false,
  });
  await service.consultations.publish(staff, closed.reference);
  const answers: Array<[string, string, 'face_to_face' | 'phone' | 'letter']> = [
    ['Yes', 'The bin is full after a week when I cut the grass.', 'face_to_face'],
    ['Yes', 'Smells in the heat if left two weeks.', 'phone'],
    ['Yes', 'Full bin by the first week in July every year.', 'letter'],
    ['No', 'Keep the permit price down instead.', 'face_to_face'],
    ['Not sure', 'Depends on the cost.', 'phone'],
    ['Yes', '', 'letter'],
  ];
  for (const [choice, why, channel] of answers) {
    await service.responses.enterOnBehalf(staff, closed.reference, channel, {
      [`q-${q1.id}`]: choice,
      [`q-${q2.id}`]: why,
    });
  }
  await service.consultations.close(staff, closed.reference);
  const smell = await service.results.addTheme(
    staff,
    closed.reference,
    q2.id,
    'Bins full or smelly in summer',
  );
  const cost = await service.results.addTheme(staff, closed.reference, q2.id, 'Cost of the permit');
  const rows = (await service.results.of(closed.reference))!.perQuestion[1]!.texts;
  for (const r of rows) {
    const themes = /full|smell/i.test(r.text) ? [smell.id] : /cost|price/i.test(r.text) ? [cost.id] : [];
    await service.results.tag(staff, closed.reference, r.responseId, q2.id, themes);
  }
  await service.results.publishOutcome(staff, closed.reference, {
    youSaid:
      'Four in six people who responded wanted weekly collections in summer. Most said their bin is full, or smells, before collection day. Some asked us to keep the permit price down.',
    weDid:
      'From June 2027, garden waste will be collected every week in June, July and August. The permit price stays the same for 2027; we will review it with the 2028 budget.',
    decisionTitle: 'Cabinet decision: garden waste collections in summer',
    decisionUrl: 'https://democracy.kilnford.example/decisions/412',
    changedServiceSlug: 'apply-for-a-garden-waste-permit',
  });
}
