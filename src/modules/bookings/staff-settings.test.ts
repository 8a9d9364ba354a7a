import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { londonDay } from '../../platform/time.ts';
import { isWorkingDay } from '../../platform/working-days.ts';
import { addDays, londonInstant, weekdayOf } from './times.ts';

/** The next working Wednesday at least two days on. */
function nextWednesday(): string {
  let day = addDays(londonDay(), 2);
  while (weekdayOf(day) !== 3 || !isWorkingDay(day)) day = addDays(day, 1);
  return day;
}

async function auditOf(kiln: TestKiln, action: string) {
  const { rows } = await sql<{
    actor_type: string;
    detail: Record<string, unknown>;
  }>`select actor_type, detail from audit_log where action = ${action} order by id desc limit 1`.execute(
    kiln.platform.db,
  );
  return rows[0];
}

describe('Book: staff change sites and bookables', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln?.close());

  test('only staff who manage bookings can change a site or a bookable', async () => {
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    assert.equal((await agent.get('/staff/bookings/sites/wharf-library')).statusCode, 403);
    assert.equal((await agent.get('/staff/bookings/bookables/wharf-library-pc/settings')).statusCode, 403);
    assert.equal(
      (await agent.post('/staff/bookings/bookables/wharf-library-pc/settings', { title: 'Hijacked' }))
        .statusCode,
      403,
    );
    const home = await agent.get('/staff/bookings');
    assert.ok(
      !page(home.body)
        .links()
        .some((l) => l.href.startsWith('/staff/bookings/sites/')),
    );
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    assert.equal((await officer.get('/staff/bookings/sites/no-such-site')).statusCode, 404);
  });

  test('opening hours: validated, saved, audited, and the times offered follow them', async () => {
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    const home = await officer.get('/staff/bookings');
    const link = page(home.body)
      .links()
      .find((l) => l.text === 'Change Wharf Street Library’s opening hours');
    assert.ok(link, 'the bookings page links to the site');
    const form = await officer.get(link.href);
    assert.equal(page(form.body).heading(), 'Change Wharf Street Library');
    assert.equal(page(form.body).root.querySelector('#hours-mon')!.getAttribute('value'), '10:00-17:00');

    const fields = {
      name: 'Wharf Street Library',
      address: 'Wharf Street, Kilnford KF2 1AA',
      hours_mon: '10:00-17:00',
      hours_tue: '10:00-17:00',
      hours_wed: '10:00-12:00, 14:00-16:00',
      hours_thu: '9-5',
      hours_fri: '17:00-10:00',
      hours_sat: '',
      hours_sun: '',
    };
    const bad = await officer.post('/staff/bookings/sites/wharf-library', { ...fields, name: ' ' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter the name of the site',
      'Enter Thursday’s opening hours like 09:00-17:00, with times separated by a comma',
      'Enter Friday’s opening hours with each closing time after its opening time',
    ]);

    const saved = await officer.post('/staff/bookings/sites/wharf-library', {
      ...fields,
      hours_thu: '10:00-17:00',
      hours_fri: '10:00-17:00',
    });
    assert.equal(saved.statusCode, 303, page(saved.body).errorSummary().join());
    const entry = await auditOf(kiln, 'booking.site_saved');
    assert.equal(entry?.actor_type, 'staff');
    assert.equal(entry?.detail.slug, 'wharf-library');

    // Wednesday now has a lunchtime break and closes at four; Saturday is closed.
    const wednesday = nextWednesday();
    const times = await kiln.services.bookings.service.availability(kiln.platform.db, 'wharf-library-pc', {
      from: wednesday,
      to: wednesday,
    });
    assert.deepEqual(
      times.map((t) => t.time),
      ['10:00', '11:00', '14:00', '15:00'],
    );
  });

  test('a bookable’s places, fee, lead time, cancellation window and limit: validated, saved, audited', async () => {
    const service = kiln.services.bookings.service;
    const db = kiln.platform.db;
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    const bookablePage = await officer.get('/staff/bookings/bookables/central-library-pc');
    const link = page(bookablePage.body)
      .links()
      .find((l) => l.href === '/staff/bookings/bookables/central-library-pc/settings');
    assert.ok(link, 'the bookable page links to its settings');
    const form = await officer.get(link.href);
    assert.equal(page(form.body).heading(), 'Change Public computer, Kilnford Central Library');

    // A booking first, so a time with a slot row exists before the places change.
    const day = nextWednesday();
    const resident = (await service.findResident(db, 'resident@kilnford.example'))!;
    await service.hold({
      bookable: 'central-library-pc',
      startsAt: londonInstant(day, '15:00'),
      who: { residentId: resident.id },
      actor: { type: 'resident', id: resident.id },
    });

    const good = {
      title: 'Public computer, Kilnford Central Library',
      capacity: '10',
      fee: '1.50',
      leadMinutes: '120',
      cancelHours: '48',
      perPersonLimit: '1',
      holdMinutes: '20',
      active: 'yes',
    };
    const bad = await officer.post('/staff/bookings/bookables/central-library-pc/settings', {
      ...good,
      capacity: 'lots',
      fee: '4.555',
      cancelHours: '-1',
      active: '',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter the number of places as a whole number, like 1',
      'Enter the fee in pounds, like 4.50, or 0 when it is free',
      'Enter the cancellation window as a whole number, like 2',
      'Choose whether people can book it',
    ]);
    assert.equal((await service.getBookable(db, 'central-library-pc'))!.capacity, 8, 'nothing changed');

    const saved = await officer.post('/staff/bookings/bookables/central-library-pc/settings', good);
    assert.equal(saved.statusCode, 303, page(saved.body).errorSummary().join());
    const after = (await service.getBookable(db, 'central-library-pc'))!;
    assert.equal(after.capacity, 10);
    assert.equal(after.feePence, 150);
    assert.equal(after.leadMinutes, 120);
    assert.equal(after.cancelHours, 48);
    assert.equal(after.perPersonLimit, 1);
    assert.equal(after.holdMinutes, 20);
    const entry = await auditOf(kiln, 'booking.bookable_updated');
    assert.equal(entry?.actor_type, 'staff');
    assert.deepEqual(entry?.detail.before, {
      capacity: 8,
      feePence: 0,
      leadMinutes: 0,
      cancelHours: 1,
      perPersonLimit: 2,
      holdMinutes: 15,
    });
    // The booked time has the new number of places, less the one booked.
    const [three] = (await service.availability(db, 'central-library-pc', { from: day, to: day })).filter(
      (t) => t.time === '15:00',
    );
    assert.equal(three?.capacity, 10);
    assert.equal(three?.remaining, 9);

    // Not bookable: residents no longer find it.
    await officer.post('/staff/bookings/bookables/central-library-pc/settings', { ...good, active: 'no' });
    assert.equal((await service.getBookable(db, 'central-library-pc'))!.active, false);
    const found = await service.findBookables(db, { category: 'library-pc' });
    assert.ok(!found.some((b) => b.slug === 'central-library-pc'));
  });
  test('closures: validated, audited, and nobody can book a closed day', async () => {
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    await agent.get('/staff/bookings');
    const day = addDays(nextWednesday(), 7);
    assert.equal(
      (await agent.post('/staff/bookings/closures', { site: 'wharf-library', from: day, reason: 'Training' }))
        .statusCode,
      403,
    );
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    await officer.get('/staff/bookings');
    const bad = await officer.post('/staff/bookings/closures', {
      site: 'no-such-site',
      from: '24/12/2026',
      to: '',
      reason: '',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Choose a site from the list',
      'Enter the first day closed as YYYY-MM-DD, like 2026-12-24',
      'Enter the reason, shown to residents',
    ]);
    const backwards = await officer.post('/staff/bookings/closures', {
      site: 'wharf-library',
      from: day,
      to: addDays(day, -1),
      reason: 'Training',
    });
    assert.deepEqual(page(backwards.body).errorSummary(), [
      'The last day closed must be on or after the first',
    ]);

    const service = kiln.services.bookings.service;
    const before = await service.availability(kiln.platform.db, 'wharf-library-pc', { from: day, to: day });
    assert.ok(before.length > 0, 'the day has times before the closure');
    const added = await officer.post('/staff/bookings/closures', {
      site: 'wharf-library',
      from: day,
      to: '',
      reason: 'Staff training',
    });
    assert.equal(added.statusCode, 303, page(added.body).errorSummary().join());
    assert.deepEqual(
      await service.availability(kiln.platform.db, 'wharf-library-pc', { from: day, to: day }),
      [],
    );
    // Only that site: the Central Library is open.
    assert.ok(
      (await service.availability(kiln.platform.db, 'central-library-pc', { from: day, to: day })).length > 0,
    );
    const entry = await auditOf(kiln, 'booking.closure_added');
    assert.equal(entry?.actor_type, 'staff');
    assert.equal(entry?.detail.reason, 'Staff training');
  });

  test('removing a closure: asked to confirm, audited, and its times can be booked again', async () => {
    const service = kiln.services.bookings.service;
    const db = kiln.platform.db;
    const day = addDays(nextWednesday(), 14);
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    await officer.get('/staff/bookings');
    const added = await officer.post('/staff/bookings/closures', {
      site: 'wharf-library',
      from: day,
      to: '',
      reason: 'Boiler repair',
    });
    assert.equal(added.statusCode, 303, page(added.body).errorSummary().join());
    assert.deepEqual(await service.availability(db, 'wharf-library-pc', { from: day, to: day }), []);

    const closure = (await service.upcomingClosures(db)).find((c) => c.reason === 'Boiler repair')!;
    const link = page((await officer.get('/staff/bookings')).body)
      .links()
      .find((l) => l.href === `/staff/bookings/closures/${closure.id}/remove`);
    assert.ok(link, 'the closure has a remove link');
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    await agent.get('/staff/bookings');
    assert.equal((await agent.get(link.href)).statusCode, 403);
    assert.equal((await agent.post(link.href, {})).statusCode, 403);
    assert.equal((await officer.get('/staff/bookings/closures/not-an-id/remove')).statusCode, 404);
    assert.equal(
      (await officer.post('/staff/bookings/closures/00000000-0000-4000-8000-000000000000/remove', {}))
        .statusCode,
      404,
    );

    const confirm = await officer.get(link.href);
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /Remove this closure\?/);
    assert.match(confirm.body, /Boiler repair/);
    // Only asking does not remove it.
    assert.deepEqual(await service.availability(db, 'wharf-library-pc', { from: day, to: day }), []);

    const removed = await officer.post(link.href, {});
    assert.equal(removed.statusCode, 303);
    const times = await service.availability(db, 'wharf-library-pc', { from: day, to: day });
    assert.ok(times.length > 0, 'the day can be booked again');
    const booked = await service.hold({
      bookable: 'wharf-library-pc',
      startsAt: times[0]!.startsAt,
      who: { name: 'Ada Quill' },
      channel: 'desk',
      actor: { type: 'system', id: null },
    });
    assert.equal(booked.status, 'confirmed');
    const entry = await auditOf(kiln, 'booking.closure_removed');
    assert.equal(entry?.actor_type, 'staff');
    assert.equal(entry?.detail.reason, 'Boiler repair');
    // Removing it again (another tab) finds nothing, rather than failing.
    assert.equal((await officer.post(link.href, {})).statusCode, 404);
  });
});
