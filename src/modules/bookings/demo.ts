import { systemActor } from '../../platform/actor.ts';
import type { DemoPeople, Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays, isWorkingDay } from '../../platform/working-days.ts';
import type { BusinessService } from './business.ts';
import type { BookingsService } from './service.ts';
import { addDays, londonInstant } from './times.ts';

const weekdayHours = (open: string, close: string) => ({
  mon: [[open, close]] as Array<[string, string]>,
  tue: [[open, close]] as Array<[string, string]>,
  wed: [[open, close]] as Array<[string, string]>,
  thu: [[open, close]] as Array<[string, string]>,
  fri: [[open, close]] as Array<[string, string]>,
});

/** The bulky waste price list (pence): what the council collects and charges per item. */
export const bulkyWasteItems = [
  { code: 'sofa', name: 'Sofa', pricePence: 1200 },
  { code: 'armchair', name: 'Armchair', pricePence: 800 },
  { code: 'fridge', name: 'Fridge or freezer', pricePence: 1800 },
  { code: 'washing-machine', name: 'Washing machine or dishwasher', pricePence: 1500 },
  { code: 'mattress', name: 'Mattress', pricePence: 1000 },
  { code: 'bed', name: 'Bed frame', pricePence: 1000 },
  { code: 'wardrobe', name: 'Wardrobe or chest of drawers', pricePence: 1200 },
  { code: 'table', name: 'Table', pricePence: 800 },
  { code: 'other', name: 'Other large item', pricePence: 800 },
];

/** Fictional Kilnford: two libraries with PCs and classes, a pool class, bulky waste, consultations. */
export async function seedBookingsDemo(platform: Platform, service: BookingsService, demo: DemoPeople) {
  const actor = systemActor;
  await service.saveSite(actor, {
    slug: 'central-library',
    name: 'Kilnford Central Library',
    address: 'Market Square, Kilnford KF1 1AA',
    openingHours: { ...weekdayHours('09:00', '19:00'), sat: [['09:00', '13:00']] },
  });
  await service.saveSite(actor, {
    slug: 'wharf-library',
    name: 'Wharf Street Library',
    address: '3 Wharf Street, Kilnford KF2 3NP',
    openingHours: { ...weekdayHours('10:00', '17:00'), sat: [['10:00', '13:00']] },
  });
  await service.saveSite(actor, {
    slug: 'kilnford-leisure',
    name: 'Kilnford Leisure Centre',
    address: 'Canal Side, Kilnford KF2 2LM',
    openingHours: { ...weekdayHours('07:00', '21:00'), sat: [['08:00', '18:00']], sun: [['08:00', '16:00']] },
  });
  await service.saveSite(actor, {
    slug: 'waste-depot',
    name: 'Kilnford waste collections',
    address: 'Marl Pit Road depot, Kilnford KF2 1JK',
    openingHours: weekdayHours('07:00', '15:00'),
  });

  for (const [site, name, pcs] of [
    ['central-library', 'Kilnford Central Library', 8],
    ['wharf-library', 'Wharf Street Library', 4],
  ] as const) {
    await service.createBookable(actor, {
      slug: `${site}-pc`,
      kind: 'resource',
      category: 'library-pc',
      title: `Public computer, ${name}`,
      description: 'Free use of a computer with internet access, printing and help from library staff.',
      site,
      capacity: pcs,
      slotMinutes: 60,
      cancelHours: 1,
      perPersonLimit: 2,
    });
  }

  await service.createBookable(actor, {
    slug: 'digital-skills-basics',
    kind: 'session',
    category: 'class',
    title: 'Digital skills: getting started online',
    description: 'A friendly class for beginners: email, video calls and staying safe online. Free.',
    site: 'central-library',
    capacity: 8,
    cancelHours: 24,
    perPersonLimit: 1,
  });
  await service.createBookable(actor, {
    slug: 'aqua-fit',
    kind: 'session',
    category: 'leisure',
    title: 'Aqua fit',
    description: 'A 45-minute exercise class in the learner pool.',
    site: 'kilnford-leisure',
    capacity: 20,
    cancelHours: 12,
    feePence: 450,
  });
  await service.createBookable(actor, {
    slug: 'bulky-waste',
    kind: 'resource',
    category: 'bulky-waste',
    title: 'Bulky waste collection',
    description: 'We collect up to 6 large items from outside your home on the day you choose.',
    site: 'waste-depot',
    capacity: 12,
    slotMinutes: 1440,
    leadMinutes: 2 * 1440,
    cancelHours: 24,
    rules: { items: bulkyWasteItems, maxItems: 6, minimumPence: 2000, inAreaOnly: true },
  });

  const today = londonDay();
  for (let i = 1, added = 0; added < 4 && i < 40; i++) {
    const day = addDays(today, i);
    if (new Date(`${day}T12:00:00Z`).getUTCDay() !== 2 && new Date(`${day}T12:00:00Z`).getUTCDay() !== 4)
      continue;
    await service.addSlot(actor, 'digital-skills-basics', {
      startsAt: londonInstant(day, '10:00'),
      endsAt: londonInstant(day, '12:00'),
    });
    await service.addSlot(actor, 'aqua-fit', {
      startsAt: londonInstant(day, '18:00'),
      endsAt: londonInstant(day, '18:45'),
    });
    added += 1;
  }

  const socialWorker = demo.staff.find((s) => s.email === 'socialworker@kilnford.example');
  if (socialWorker) {
    const calendar = await service.calendarFor(actor, {
      staffId: socialWorker.id,
      title: `Video consultation with ${socialWorker.name}`,
    });
    const slots = [];
    for (let i = 1, days = 0; days < 3 && i < 20; i++) {
      const day = addDays(today, i);
      if (!isWorkingDay(day)) continue;
      for (const time of ['10:00', '10:30', '14:00']) {
        const startsAt = londonInstant(day, time);
        slots.push({ startsAt, endsAt: new Date(startsAt.getTime() + 30 * 60_000) });
      }
      days += 1;
    }
    await service.publishSlots(actor, calendar.slug, slots);
  }

  // The demo resident has a library PC booked for the next weekday morning.
  let day = addDays(today, 1);
  while (!isWorkingDay(day)) day = addDays(day, 1);
  await service.hold({
    bookable: 'central-library-pc',
    startsAt: londonInstant(day, '10:00'),
    who: { residentId: demo.resident.id },
    actor: { type: 'resident', id: demo.resident.id },
  });
  void platform;
}

/** The demo resident runs a fictional bakery with a trade waste contract, to see in My account. */
export async function seedBusinessDemo(business: BusinessService, demo: DemoPeople) {
  await business.acceptQuote({
    residentId: demo.resident.id,
    quote: { stream: 'general', size: '240', bins: '2', frequency: 'weekly' },
    business: {
      name: 'Canal Side Bakery',
      billingAddress: '14 Canal Side, Kilnford KF2 2LQ',
      role: 'Owner',
      payBy: 'invoice',
      startsOn: addWorkingDays(londonDay(), 6),
    },
    actor: { type: 'resident', id: demo.resident.id },
  });
}
