import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import sharp from 'sharp';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { locateStreet } from './service.ts';
import { streetByUsrn } from './geography.ts';
import { phonePhoto, postMultipart } from './test-support.ts';

let kiln: TestKiln;
before(async () => {
  kiln = await startTestApp();
});
after(() => kiln.close());

const requests = () => kiln.services.requests.service;

async function report(
  usrn: string,
  category = 'fly-tipping',
  answers: Record<string, string> = { what: 'furniture', amount: 'van' },
  email = 'reporter@example.org',
) {
  const photo = await requests().storePhoto(kiln.platform.db, await phonePhoto(800, 600), 'IMG_1.jpg');
  return requests().submit({
    category,
    answers,
    description: 'An old sofa and a mattress',
    location: locateStreet(streetByUsrn(usrn)!),
    address: null,
    locationNote: null,
    photoFileIds: [photo],
    channel: 'web',
    residentId: null,
    email,
    idempotencyKey: requests().newIdempotencyKey(),
    actor: { type: 'resident', id: null },
  });
}

async function emailsTo(recipient: string) {
  const rows = await sql<{
    subject: string;
    body: string;
  }>`select subject, body from notifications where recipient = ${recipient} order by created_at`.execute(
    kiln.platform.db,
  );
  return rows.rows;
}

describe('Public reports', () => {
  it('lists reports with filters, shows each with its photos and history, and never the reporter', async () => {
    const flyTip = await report('41000018');
    const list = await new Client(kiln.app).get('/reports?category=fly-tipping&status=open&ward=E05099003');
    assert.equal(page(list.body).heading(), 'Problems reported in Kilnford');
    const links = page(list.body)
      .links()
      .filter((l) => l.href === `/reports/${flyTip.reference}`);
    assert.equal(links.length, 1);
    assert.equal(links[0]!.text, 'Fly-tipping');
    const otherWard = await new Client(kiln.app).get('/reports?ward=E05099001&category=fly-tipping');
    assert.equal(
      page(otherWard.body)
        .links()
        .some((l) => l.href === `/reports/${flyTip.reference}`),
      false,
    );
    const junk = await new Client(kiln.app).get('/reports?status=<script>&page=-4');
    assert.equal(junk.statusCode, 200);

    const client = new Client(kiln.app);
    const one = await client.get(`/reports/${flyTip.reference}`);
    assert.equal(page(one.body).heading(), 'Fly-tipping on Long Row');
    assert.match(page(one.body).text(), /Report received/);
    assert.doesNotMatch(one.body, /reporter@example\.org/);
    const photo = await client.get(`/reports/${flyTip.reference}/photos/report/1`);
    assert.equal(photo.headers['content-type'], 'image/jpeg');
    assert.equal((await sharp(photo.rawPayload).metadata()).exif, undefined);
    assert.equal((await client.get(`/reports/${flyTip.reference}/photos/report/2`)).statusCode, 404);
    assert.equal((await client.get('/reports/KLN-NONE-00')).statusCode, 404);
    await client.get(`/reports/${flyTip.reference}`);

    const bad = await client.post(`/reports/${flyTip.reference}/follow`, { email: 'nope' });
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter an email address in the correct format, like name@example.com',
    ]);
    const followed = await client.post(`/reports/${flyTip.reference}/follow`, {
      email: 'neighbour@example.org',
    });
    assert.equal(followed.statusCode, 303);
    const after = await client.follow(followed);
    assert.match(page(after.body).text(), /You will get an email when this report is updated/);
    assert.equal(
      (await emailsTo('neighbour@example.org'))[0]!.subject,
      `You are following report ${flyTip.reference}`,
    );

    // The email's link stops the updates, after a press of a button; a tampered link does nothing.
    const stop = new URL(
      /To stop these emails: (\S+)/.exec((await emailsTo('neighbour@example.org'))[0]!.body)![1]!,
    );
    const s = stop.searchParams.get('s')!;
    const tampered = new Client(kiln.app);
    await tampered.get(`/reports/${flyTip.reference}/stop-updates?s=${s}&t=${'A'.repeat(32)}`);
    const refused = await tampered.post(`/reports/${flyTip.reference}/stop-updates`, {
      s,
      t: 'A'.repeat(32),
    });
    assert.equal(page(refused.body).heading(), 'This link does not work');
    const stopper = new Client(kiln.app);
    const confirm = await stopper.get(stop.pathname + stop.search);
    assert.equal(page(confirm.body).heading(), 'Stop updates on this report');
    const stopped = await stopper.post(`/reports/${flyTip.reference}/stop-updates`, {
      s,
      t: stop.searchParams.get('t')!,
    });
    assert.equal(page(stopped.body).heading(), 'You will not get more updates on this report');
    const left = await sql<{
      n: number;
    }>`select count(*)::int as n from street_report_subscribers where email = 'neighbour@example.org'`.execute(
      kiln.platform.db,
    );
    assert.equal(left.rows[0]!.n, 0);
  });
});

describe('Field working', () => {
  it('shows an officer their jobs nearest first; resolving with a note and photo tells the reporter and followers', async () => {
    const far = await report(
      '41000001',
      'pothole',
      { size: 'small', depth: 'shallow', surface: 'road' },
      'far@example.org',
    );
    const near = await report(
      '41000020',
      'pothole',
      { size: 'small', depth: 'shallow', surface: 'pavement' },
      'near@example.org',
    );
    await requests().follow({
      reference: near.reference,
      residentId: null,
      email: 'metoo@example.org',
      reason: 'me_too',
      actor: { type: 'resident', id: null },
    });
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    const officerId = (
      await sql<{ id: string }>`select id from staff_users where email = 'officer@kilnford.example'`.execute(
        kiln.platform.db,
      )
    ).rows[0]!.id;
    for (const r of [far, near])
      await kiln.platform.db.transaction().execute((tx) =>
        kiln.services.cases.service.assign(tx, {
          caseId: r.caseId,
          assigneeId: officerId,
          actor: { type: 'staff', id: null },
        }),
      );

    const agent = await staffClient(kiln, 'agent@kilnford.example');
    assert.equal((await agent.get('/staff/field')).statusCode, 403);

    const furnace = streetByUsrn('41000020')!;
    const jobs = await officer.get(`/staff/field?lat=${furnace.lat}&lng=${furnace.lng}`);
    assert.equal(page(jobs.body).heading(), 'Your field jobs');
    const jobLinks = page(jobs.body)
      .links()
      .filter((l) => l.href.startsWith('/staff/field/KLN-'))
      .map((l) => l.href);
    assert.deepEqual(jobLinks.slice(0, 2), [
      `/staff/field/${near.reference}`,
      `/staff/field/${far.reference}`,
    ]);

    await officer.get(`/staff/field/${near.reference}`);
    const started = await officer.post(`/staff/field/${near.reference}/start`, {});
    assert.equal(started.statusCode, 303);
    const job = await officer.follow(started);
    assert.match(page(job.body).text(), /Job marked as in progress/);

    const noNote = await postMultipart(kiln.app, officer, `/staff/field/${near.reference}/resolve`, {
      note: '',
    });
    assert.deepEqual(page(noNote.body).errorSummary(), ['Enter what was done, for the public report']);
    await officer.get(`/staff/field/${near.reference}`);
    const resolved = await postMultipart(
      kiln.app,
      officer,
      `/staff/field/${near.reference}/resolve`,
      { note: 'Patched and sealed today' },
      {
        field: 'photo',
        name: 'fixed.jpg',
        type: 'image/jpeg',
        content: await phonePhoto(1000, 800),
      },
    );
    assert.equal(resolved.statusCode, 303, resolved.body);
    const c = await kiln.services.cases.service.findByReference(kiln.platform.db, near.reference);
    assert.equal(c!.status, 'resolved');

    const reporterMail = await emailsTo('near@example.org');
    assert.ok(
      reporterMail.some((m) => m.body.includes('Patched and sealed today')),
      'the reporter is told',
    );
    const followerMail = await emailsTo('metoo@example.org');
    assert.ok(
      followerMail.some(
        (m) =>
          m.subject === `Update on a report you follow: ${near.reference}` &&
          m.body.includes('Patched and sealed today'),
      ),
    );

    const publicPage = await new Client(kiln.app).get(`/reports/${near.reference}`);
    assert.match(page(publicPage.body).text(), /Fixed/);
    assert.match(page(publicPage.body).text(), /Patched and sealed today/);
    const fixPhoto = await new Client(kiln.app).get(`/reports/${near.reference}/photos/fix/1`);
    assert.equal(fixPhoto.headers['content-type'], 'image/jpeg');

    const remaining = await officer.get('/staff/field');
    assert.equal(
      page(remaining.body)
        .links()
        .some((l) => l.href === `/staff/field/${near.reference}`),
      false,
    );
  });
});
