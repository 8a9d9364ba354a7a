import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { londonDay } from '../../platform/time.ts';
import { isWorkingDay } from '../../platform/working-days.ts';
import { BookingError, NO_LONGER_AVAILABLE } from './index.ts';
import { addDays, londonInstant } from './times.ts';
import { residentClient } from '../../../test/support/resident.ts';

function nextWorkingDay(after = 1): string {
  let day = addDays(londonDay(), after);
  while (!isWorkingDay(day)) day = addDays(day, 1);
  return day;
}

async function residentId(kiln: TestKiln, email: string): Promise<string> {
  const r = await kiln.services.bookings.service.findResident(kiln.platform.db, email);
  if (r) return r.id;
  // A second resident for the journeys: made through sign-in, as a person would be.
  await residentClient(kiln, email);
  return (await kiln.services.bookings.service.findResident(kiln.platform.db, email))!.id;
}

async function messagesTo(kiln: TestKiln, email: string, template: string) {
  return (await kiln.platform.notify.list(kiln.platform.db, { recipient: email })).filter(
    (m) => m.template === template,
  );
}

describe('Book: residents, the desk, holds and the waiting list', () => {
  let kiln: TestKiln;
  const staff = { type: 'staff' as const, id: null };

  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('a resident finds a library computer, books it without JavaScript, gets the email and calendar file, and cancels', async () => {
    const client = await residentClient(kiln, 'resident@kilnford.example');
    const day = nextWorkingDay(2);
    const found = await client.get(`/book?category=library-pc&date=${day}`);
    assert.equal(found.statusCode, 200);
    assert.ok(
      page(found.body)
        .links()
        .some((l) => l.href === `/book/central-library-pc?date=${day}`),
    );

    const times = await client.get(`/book/central-library-pc?date=${day}`);
    assert.equal(page(times.body).heading(), 'Public computer, Kilnford Central Library');
    const at = londonInstant(day, '11:00').toISOString();
    assert.ok(page(times.body).root.querySelector(`input[value="${at}"]`), 'the 11am slot is offered');
    const missing = await client.post('/book/central-library-pc', { day });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(page(missing.body).errorSummary(), ['Choose a time']);
    // The error page stays on the day the resident chose, not the first day with free times.
    assert.ok(page(missing.body).root.querySelector(`input[value="${at}"]`), 'still that day’s times');
    const booked = await client.post('/book/central-library-pc', { startsAt: at });
    assert.equal(booked.statusCode, 303, page(booked.body).errorSummary().join());
    const confirmation = await client.follow(booked);
    assert.equal(page(confirmation.body).heading(), 'Booking confirmed');
    const reference = page(confirmation.body).root.querySelector('.govuk-panel__body strong')!.text;
    assert.match(reference, /^BK-/);

    const [email] = await messagesTo(kiln, 'resident@kilnford.example', 'booking-confirmed');
    assert.ok(email, 'a confirmation email');
    assert.match(email.body, new RegExp(reference));
    const icsPath = email.body.match(
      /http:\/\/localhost:3000(\/bookings\/[\w-]+\/calendar\.ics\?key=[\w-]+)/,
    )![1]!;
    const ics = await new Client(kiln.app).get(icsPath);
    assert.equal(ics.statusCode, 200);
    assert.match(String(ics.headers['content-type']), /text\/calendar/);
    assert.match(ics.body, /BEGIN:VEVENT[\s\S]*DTSTART:\d{8}T\d{6}Z[\s\S]*END:VCALENDAR/);
    const forged = await new Client(kiln.app).get(icsPath.replace(/key=.*/, 'key=forged'));
    assert.equal(forged.statusCode, 404);

    // Someone else cannot see it.
    const other = await residentClient(kiln, 'someone.else@example.com');
    assert.equal((await other.get(`/bookings/${reference}`)).statusCode, 404);

    const mine = await client.get('/account/bookings');
    assert.match(page(mine.body).text(), new RegExp(reference));
    await client.get(`/bookings/${reference}/cancel`);
    const cancelled = await client.post(`/bookings/${reference}/cancel`, {});
    assert.equal(cancelled.statusCode, 303);
    const after = await kiln.services.bookings.service.getByReference(kiln.platform.db, reference);
    assert.equal(after?.status, 'cancelled');
  });

  test('a time taken while the resident was choosing gives a clear message, and signing in is needed to book', async () => {
    const anonymous = new Client(kiln.app);
    await anonymous.get('/book/central-library-pc');
    const refused = await anonymous.post('/book/central-library-pc', { startsAt: new Date().toISOString() });
    assert.equal(refused.statusCode, 303);
    assert.match(String(refused.headers.location), /^\/sign-in/);

    const client = await residentClient(kiln, 'resident@kilnford.example');
    await client.get('/book/central-library-pc');
    const closed = await client.post('/book/central-library-pc', {
      startsAt: londonInstant(nextWorkingDay(3), '03:00').toISOString(),
    });
    assert.equal(closed.statusCode, 409);
    assert.deepEqual(page(closed.body).errorSummary(), [NO_LONGER_AVAILABLE]);
  });

  test('200 parallel attempts at the last place make exactly one booking', async () => {
    const service = kiln.services.bookings.service;
    await service.createBookable(staff, {
      slug: 'last-place',
      kind: 'session',
      category: 'class',
      title: 'Pottery taster',
      capacity: 1,
    });
    const startsAt = londonInstant(nextWorkingDay(5), '14:00');
    await service.addSlot(staff, 'last-place', {
      startsAt,
      endsAt: new Date(startsAt.getTime() + 3_600_000),
    });
    const attempts = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        service.hold({
          bookable: 'last-place',
          startsAt,
          who: { name: `Walk-in ${i}` },
          channel: 'desk',
          actor: staff,
        }),
      ),
    );
    const won = attempts.filter((a) => a.status === 'fulfilled');
    const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 199);
    for (const l of lost) {
      assert.ok(l.reason instanceof BookingError, String(l.reason));
      assert.equal(l.reason.message, NO_LONGER_AVAILABLE);
    }
    const [slot] = await service.sessions(kiln.platform.db, 'last-place', {
      from: londonDay(startsAt),
      to: londonDay(startsAt),
    });
    assert.equal(slot!.taken, 1);
  });

  test('the waiting list offers a freed place to the next in line, for a limited time, then to the one after', async () => {
    const service = kiln.services.bookings.service;
    const [alex, blair, casey] = await Promise.all([
      residentId(kiln, 'resident@kilnford.example'),
      residentId(kiln, 'blair@example.com'),
      residentId(kiln, 'casey@example.com'),
    ]);
    await service.createBookable(staff, {
      slug: 'full-class',
      kind: 'session',
      category: 'class',
      title: 'Family history online',
      capacity: 1,
    });
    const startsAt = londonInstant(nextWorkingDay(6), '10:00');
    await service.addSlot(staff, 'full-class', {
      startsAt,
      endsAt: new Date(startsAt.getTime() + 3_600_000),
    });
    const first = await service.hold({
      bookable: 'full-class',
      startsAt,
      who: { residentId: alex },
      actor: { type: 'resident', id: alex },
    });
    assert.equal(first.status, 'confirmed');
    await assert.rejects(
      service.hold({
        bookable: 'full-class',
        startsAt,
        who: { residentId: blair },
        actor: { type: 'resident', id: blair },
      }),
      { message: NO_LONGER_AVAILABLE },
    );
    assert.deepEqual(
      await service.joinWaitingList({
        bookable: 'full-class',
        startsAt,
        residentId: blair,
        actor: { type: 'resident', id: blair },
      }),
      { position: 1 },
    );
    assert.deepEqual(
      await service.joinWaitingList({
        bookable: 'full-class',
        startsAt,
        residentId: casey,
        actor: { type: 'resident', id: casey },
      }),
      { position: 2 },
    );
    await assert.rejects(
      service.joinWaitingList({
        bookable: 'full-class',
        startsAt,
        residentId: casey,
        actor: { type: 'resident', id: casey },
      }),
      { code: 'already_waiting' },
    );

    await service.cancel(first.reference, { type: 'resident', id: alex });
    const [offer] = await messagesTo(kiln, 'blair@example.com', 'booking-offer');
    assert.ok(offer, 'Blair is offered the place');
    const blairs = (await service.bookingsForResident(kiln.platform.db, blair)).find(
      (b) => b.bookable.slug === 'full-class',
    )!;
    assert.equal(blairs.status, 'held');
    assert.ok(blairs.offered);
    // Nobody else can take the offered place.
    await assert.rejects(
      service.hold({ bookable: 'full-class', startsAt, who: { name: 'Walk-in' }, actor: staff }),
      { message: NO_LONGER_AVAILABLE },
    );

    // Blair lets the offer lapse: Casey is offered it next, and accepts.
    const released = await service.releaseExpiredHolds(new Date(Date.now() + 13 * 3_600_000));
    assert.equal(released, 1);
    assert.equal((await service.getByReference(kiln.platform.db, blairs.reference))!.status, 'expired');
    const caseys = (await service.bookingsForResident(kiln.platform.db, casey)).find(
      (b) => b.bookable.slug === 'full-class',
    )!;
    assert.equal(caseys.status, 'held');
    const accepted = await service.confirm(caseys.reference, { type: 'resident', id: casey });
    assert.equal(accepted.status, 'confirmed');
    assert.equal((await messagesTo(kiln, 'casey@example.com', 'booking-confirmed')).length, 1);
  });

  test('cancelling and moving follow the rules; per-person limits hold', async () => {
    const service = kiln.services.bookings.service;
    const alex = await residentId(kiln, 'resident@kilnford.example');
    const actor = { type: 'resident' as const, id: alex };
    const day = nextWorkingDay(4);
    const b1 = await service.hold({
      bookable: 'wharf-library-pc',
      startsAt: londonInstant(day, '10:00'),
      who: { residentId: alex },
      actor,
    });
    const b2 = await service.hold({
      bookable: 'wharf-library-pc',
      startsAt: londonInstant(day, '11:00'),
      who: { residentId: alex },
      actor,
    });
    await assert.rejects(
      service.hold({
        bookable: 'wharf-library-pc',
        startsAt: londonInstant(day, '12:00'),
        who: { residentId: alex },
        actor,
      }),
      { code: 'limit' },
    );
    const moved = await service.move(b2.reference, londonInstant(day, '14:00'), actor);
    assert.match(moved.when, /2:00pm to 3:00pm/);
    // Within the hour before the start, the resident can no longer cancel online; staff still can.
    await assert.rejects(
      service.cancel(b1.reference, actor, '', { now: new Date(b1.startsAt.getTime() - 30 * 60_000) }),
      { code: 'outside_window' },
    );
    const byStaff = await service.cancel(b1.reference, staff, 'Library closed for a burst pipe');
    assert.equal(byStaff.status, 'cancelled');
    assert.equal(
      (await messagesTo(kiln, 'resident@kilnford.example', 'booking-cancelled')).length >= 1,
      true,
    );
  });

  test('bulky waste: out-of-area addresses are refused; an in-area collection is quoted, held, paid and confirmed', async () => {
    const client = await residentClient(kiln, 'resident@kilnford.example');
    const outside = await client.get('/book/bulky-waste/address?postcode=ST1%201AA');
    assert.equal(outside.statusCode, 400);
    assert.match(page(outside.body).errorSummary()[0]!, /only collect from addresses in Kilnford/);

    const found = await client.get('/book/bulky-waste/address?postcode=KF1%202AB');
    const uprn = page(found.body).root.querySelector('input[name="uprn"]')!.getAttribute('value')!;
    assert.equal(
      (await client.post('/book/bulky-waste/address', { uprn, postcode: 'KF1 2AB' })).statusCode,
      303,
    );
    await client.get('/book/bulky-waste/items');
    const tooMany = await client.post('/book/bulky-waste/items', { 'item-sofa': '4', 'item-fridge': '3' });
    assert.equal(tooMany.statusCode, 400);
    assert.deepEqual(page(tooMany.body).errorSummary(), ['We can collect up to 6 items in one collection']);
    assert.equal(
      (await client.post('/book/bulky-waste/items', { 'item-sofa': '1', 'item-fridge': '1' })).statusCode,
      303,
    );
    const days = await client.get('/book/bulky-waste/day');
    const day = page(days.body).root.querySelector('input[name="day"]')!.getAttribute('value')!;
    assert.ok(day >= addDays(londonDay(), 2), 'at least two days ahead');
    assert.ok(isWorkingDay(day), 'collections on working days only');
    assert.equal((await client.post('/book/bulky-waste/day', { day })).statusCode, 303);
    const check = await client.get('/book/bulky-waste/check');
    assert.match(page(check.body).text(), /Total to pay £30\.00/);
    const pay = await client.post('/book/bulky-waste/check', {});
    assert.equal(pay.statusCode, 303);
    const cardPage = String(pay.headers.location);
    assert.match(cardPage, /^\/pay\/card\//);
    await client.get(cardPage);
    const paid = await client.post(cardPage, {
      cardNumber: '4444333322221111',
      expiryMonth: '12',
      expiryYear: '2031',
      cardholderName: 'A Moreton',
      cvc: '123',
    });
    const back = await client.follow(paid);
    const done = await client.follow(back);
    assert.equal(page(done.body).heading(), 'Booking confirmed');
    assert.match(page(done.body).text(), /12 Bottle Kiln Lane|Bottle Kiln Lane/);
  });

  test('a payment that arrives after the hold lapsed gets the place if free, or is refunded in full', async () => {
    const service = kiln.services.bookings.service;
    const alex = await residentId(kiln, 'resident@kilnford.example');
    const actor = { type: 'resident' as const, id: alex };
    await service.createBookable(staff, {
      slug: 'paid-class',
      kind: 'session',
      category: 'leisure',
      title: 'Spin class',
      capacity: 1,
      feePence: 600,
    });
    const startsAt = londonInstant(nextWorkingDay(7), '19:00');
    await service.addSlot(staff, 'paid-class', {
      startsAt,
      endsAt: new Date(startsAt.getTime() + 2_700_000),
    });
    const held = await service.hold(
      { bookable: 'paid-class', startsAt, who: { residentId: alex }, actor },
      { now: new Date(Date.now() - 20 * 60_000) },
    );
    assert.equal(held.status, 'held');
    assert.equal(await service.releaseExpiredHolds(), 1);
    // Someone else takes the place meanwhile.
    await service
      .hold({
        bookable: 'paid-class',
        startsAt,
        who: { name: 'Jo Walk-in', email: 'jo@example.com' },
        actor: staff,
        channel: 'desk',
      })
      .catch(() => undefined);
    const client = await residentClient(kiln, 'resident@kilnford.example');
    const payments = kiln.services.payments.service;
    const payment = (await payments.getPayment(kiln.platform.db, held.payment!.id))!;
    const { nextUrl } = await payments.startCardPayment(payment, `/bookings/${held.reference}`);
    await client.get(nextUrl);
    await client.follow(
      await client.post(nextUrl, {
        cardNumber: '4444333322221111',
        expiryMonth: '12',
        expiryYear: '2031',
        cardholderName: 'A Moreton',
        cvc: '123',
      }),
    );
    const outcome = await kiln.eventually(async () => {
      const b = await service.getByReference(kiln.platform.db, held.reference);
      return b?.status === 'refunded' && b;
    });
    assert.equal(outcome.status, 'refunded');
    await kiln.eventually(
      async () =>
        (await messagesTo(kiln, 'resident@kilnford.example', 'booking-unavailable-refunded')).length > 0,
    );
  });

  test('the library desk: today’s list, a walk-in booking for a resident without internet, check in and no-show', async () => {
    const librarian = await staffClient(kiln, 'librarian@kilnford.example');
    const day = nextWorkingDay(1);
    const desk = await librarian.get(`/staff/bookings/desk/central-library?date=${day}`);
    assert.equal(desk.statusCode, 200);
    assert.match(page(desk.body).heading(), /Kilnford Central Library/);
    const empty = await librarian.post('/staff/bookings/desk/central-library/walk-in', { slot: '' });
    assert.equal(empty.statusCode, 400);
    const slot = `central-library-pc|${londonInstant(day, '15:00').toISOString()}`;
    const walkIn = await librarian.post(`/staff/bookings/desk/central-library/walk-in?date=${day}`, {
      name: 'Pat Doorstep',
      slot,
    });
    assert.equal(walkIn.statusCode, 303, page(walkIn.body).errorSummary().join());
    const list = await librarian.follow(walkIn);
    assert.match(page(list.body).text(), /Pat Doorstep/);
    const reference = page(list.body)
      .links()
      .find((l) => l.text === 'Pat Doorstep')!
      .href.split('/')
      .pop()!;
    const checkIn = await librarian.post(`/staff/bookings/${reference}/attendance`, {
      outcome: 'checked_in',
      back: `/staff/bookings/desk/central-library?date=${day}`,
    });
    assert.equal(checkIn.statusCode, 303);
    assert.equal(
      (await kiln.services.bookings.service.getByReference(kiln.platform.db, reference))!.status,
      'checked_in',
    );
    // Agents may run the desk but not cancel sessions or bookings.
    assert.equal(
      (await librarian.post(`/staff/bookings/${reference}/cancel`, { reason: 'x' })).statusCode,
      403,
    );
  });

  test('a class is cancelled and every attendee is told', async () => {
    const service = kiln.services.bookings.service;
    const officer = await staffClient(kiln, 'lead@kilnford.example');
    const sessions = await service.sessions(kiln.platform.db, 'digital-skills-basics', {
      from: londonDay(),
      to: addDays(londonDay(), 60),
    });
    const session = sessions[0]!;
    const alex = await residentId(kiln, 'resident@kilnford.example');
    await service.hold({
      bookable: 'digital-skills-basics',
      startsAt: session.startsAt,
      who: { residentId: alex },
      actor: { type: 'resident', id: alex },
    });
    const path = `/staff/bookings/bookables/digital-skills-basics/sessions/${session.id}`;
    await officer.get(path);
    const none = await officer.post(`${path}/message`, { message: '' });
    assert.deepEqual(page(none.body).errorSummary(), ['Enter a message for the attendees']);
    const sent = await officer.post(`${path}/message`, {
      message: 'Sorry: the tutor is unwell.',
      cancel: 'yes',
    });
    assert.equal(sent.statusCode, 303);
    const told = await messagesTo(kiln, 'resident@kilnford.example', 'booking-cancelled');
    assert.ok(told.some((m) => m.body.includes('the tutor is unwell')));
  });

  test('video consultations: a social worker publishes a slot; the resident’s booking carries a meeting link', async () => {
    const service = kiln.services.bookings.service;
    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    const day = nextWorkingDay(8);
    await worker.get('/staff/bookings');
    const published = await worker.post('/staff/bookings/my-slots', { day, start: '15:00', end: '15:30' });
    assert.equal(published.statusCode, 303);
    const calendarSlug = String(published.headers.location).split('/').pop()!;
    const alex = await residentId(kiln, 'resident@kilnford.example');
    const booking = await service.hold({
      bookable: calendarSlug,
      startsAt: londonInstant(day, '15:00'),
      who: { residentId: alex },
      actor: { type: 'resident', id: alex },
    });
    assert.equal(booking.status, 'confirmed');
    assert.match(booking.meetingUrl!, /^https:\/\/meet\.jit\.si\/kilnford-[a-z0-9]+$/);
    assert.deepEqual(
      await service.nextAvailableDates(calendarSlug, { count: 3 }).then((d) => d.includes(day)),
      false,
    );
  });

  test('My account data download includes bookings, and the customer view lists them', async () => {
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    const customers = await agent.get('/staff/customers?q=CU-DEMO-01');
    assert.equal(customers.statusCode, 200);
    const alex = await residentId(kiln, 'resident@kilnford.example');
    const bookings = await kiln.services.bookings.service.bookingsForResident(kiln.platform.db, alex);
    assert.ok(bookings.length >= 3);
  });

  test('someone booked with only a mobile number gets the confirmation and reminder by text', async () => {
    const service = kiln.services.bookings.service;
    const db = kiln.platform.db;
    const day = nextWorkingDay(1);
    const [time] = await service.availability(db, 'central-library-pc', { from: day, to: day });
    assert.ok(time, 'a computer is free');
    const booking = await service.hold({
      bookable: 'central-library-pc',
      startsAt: time.startsAt,
      who: { name: 'Wren Abara', phone: '07700 900461' },
      channel: 'desk',
      actor: { type: 'system', id: null },
    });
    assert.equal(booking.status, 'confirmed');
    await service.sendReminders(new Date(time.startsAt.getTime() - 3_600_000));
    const texts = await kiln.platform.notify.list(db, { recipient: '07700 900461' });
    assert.deepEqual(texts.map((m) => [m.channel, m.template]).sort(), [
      ['sms', 'booking-confirmed'],
      ['sms', 'booking-reminder'],
    ]);
    assert.ok(texts.every((m) => m.body.includes(booking.reference)));
  });
});
