import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { tables } from '../../platform/db/index.ts';

interface AuditRow {
  action: string;
  actor_id: string | null;
  subject_id: string | null;
  detail: { via?: string; reason?: string };
}

async function signInResident(kiln: TestKiln, email: string): Promise<Client> {
  const client = new Client(kiln.app);
  await client.get('/sign-in');
  await client.post('/sign-in', { email });
  const [message] = await kiln.platform.notify.list(kiln.platform.db, { recipient: email });
  const token = message?.body.match(/\/sign-in\/link\?token=([\w-]+)/)?.[1];
  assert.ok(token);
  await client.get(`/sign-in/link?token=${token}`);
  await client.post('/sign-in/link', { token });
  return client;
}

describe('Shared care record: the access matrix', () => {
  let kiln: TestKiln;
  let dorothy: string;
  let alex: string;

  const audit = async (subjectId: string) =>
    (await tables<{ audit_log: AuditRow & { id: number; subject_type: string | null } }>(kiln.platform.db)
      .selectFrom('audit_log')
      .select(['action', 'actor_id', 'subject_id', 'detail'])
      .where('subject_type', '=', 'care_person')
      .where('subject_id', '=', subjectId)
      .orderBy('id')
      .execute()) as AuditRow[];
  const staffId = async (email: string) =>
    (
      await tables<{ staff_users: { id: string; email: string } }>(kiln.platform.db)
        .selectFrom('staff_users')
        .select('id')
        .where('email', '=', email)
        .executeTakeFirstOrThrow()
    ).id;

  before(async () => {
    kiln = await startTestApp();
    const people = await kiln.services.care.record.peopleForResident(
      (
        await tables<{ residents: { id: string; reference: string } }>(kiln.platform.db)
          .selectFrom('residents')
          .select('id')
          .where('reference', '=', 'CU-DEMO-01')
          .executeTakeFirstOrThrow()
      ).id,
    );
    alex = people[0]!.id;
    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    const found = page((await worker.get('/staff/care?nhsNumber=999+000+0026')).body);
    dorothy = found
      .links()
      .find((l) => l.href.startsWith('/staff/care/people/'))!
      .href.split('/')
      .pop()!;
  });
  after(async () => kiln.close());

  test('only members of the care team open the record; everyone else is offered the glass, and each attempt is audited', async () => {
    const matrix: Array<[string, number]> = [
      ['socialworker@kilnford.example', 200],
      ['childrenworker@kilnford.example', 403],
      ['officer@kilnford.example', 403],
      ['technician@kilnford.example', 403],
      ['lead@kilnford.example', 403],
      ['admin@kilnford.example', 403],
    ];
    for (const [email, status] of matrix) {
      const client = await staffClient(kiln, email);
      const before = (await audit(dorothy)).length;
      const res = await client.get(`/staff/care/people/${dorothy}`);
      assert.equal(res.statusCode, status, email);
      const entries = (await audit(dorothy)).slice(before);
      const id = await staffId(email);
      if (status === 200) {
        assert.equal(page(res.body).heading(), 'Dorothy Pell');
        assert.deepEqual(
          entries.map((e) => [e.action, e.actor_id, e.detail.via]),
          [['care.record_read', id, 'care_team']],
        );
      } else {
        const p = page(res.body);
        assert.equal(p.heading(), 'You are not in this person’s care team');
        assert.doesNotMatch(p.text(), /Donepezil|Dementia|Mark Pell/, 'nothing of the record shows');
        assert.deepEqual(
          entries.map((e) => [e.action, e.actor_id]),
          [['care.record_access_refused', id]],
        );
      }
    }
    // A contact-centre agent has no access to care records at all.
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    assert.equal((await agent.get(`/staff/care/people/${dorothy}`)).statusCode, 403);
    assert.equal((await agent.get('/staff/care')).statusCode, 403);
  });

  test('writes to the record are refused outside the care team too', async () => {
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    await officer.get(`/staff/care/people/${dorothy}`);
    const res = await officer.post(`/staff/care/people/${dorothy}/conditions`, {
      conditionDisplay: 'Made up',
    });
    assert.equal(res.statusCode, 403);
    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    await worker.get(`/staff/care/people/${dorothy}`);
    const bad = await worker.post(`/staff/care/people/${dorothy}/conditions`, {
      conditionDisplay: '',
      conditionCode: 'abc',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), ['Enter the condition']);
    const ok = await worker.post(`/staff/care/people/${dorothy}/encounters`, {
      encounterKind: 'phone',
      encounterNotes: 'Called Mark about the care package.',
    });
    assert.equal(ok.statusCode, 303);
    assert.match(page((await worker.follow(ok)).body).text(), /Called Mark about the care package/);
  });

  test('breaking the glass needs a reason, opens the record for an hour and tells the privacy officer the same day', async () => {
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    await officer.get(`/staff/care/people/${dorothy}`);
    const noReason = await officer.post(`/staff/care/people/${dorothy}/break-glass`, { reason: '' });
    assert.equal(noReason.statusCode, 400);
    assert.deepEqual(page(noReason.body).errorSummary(), [
      'Enter why you need to see this record, in at least 10 characters',
    ]);
    assert.equal((await audit(dorothy)).filter((e) => e.action === 'care.break_glass').length, 0);
    const broke = await officer.post(`/staff/care/people/${dorothy}/break-glass`, {
      reason: 'Out-of-hours call from a neighbour: Mrs Pell found on the floor',
      vitalInterest: 'yes',
    });
    assert.equal(broke.statusCode, 303);
    const opened = await officer.follow(broke);
    assert.equal(opened.statusCode, 200);
    assert.match(page(opened.body).text(), /You opened this record by breaking the glass/);
    const entries = await audit(dorothy);
    const officerId = await staffId('officer@kilnford.example');
    assert.ok(
      entries.some(
        (e) =>
          e.action === 'care.break_glass' &&
          e.actor_id === officerId &&
          /neighbour/.test(e.detail.reason ?? ''),
      ),
    );
    assert.equal(entries.at(-1)!.action, 'care.record_read');
    assert.equal(entries.at(-1)!.detail.via, 'break_glass');
    const mail = await kiln.eventually(async () =>
      (
        await kiln.platform.notify.list(kiln.platform.db, { recipient: 'privacy.officer@kilnford.example' })
      ).find((m) => /Dorothy Pell/.test(m.subject ?? '')),
    );
    assert.match(mail.body, /Tom Bradwell/);
    assert.match(mail.body, /found on the floor/);
    const admin = await staffClient(kiln, 'admin@kilnford.example');
    const log = page((await admin.get('/staff/care/break-glass')).body);
    assert.match(log.text(), /Tom Bradwell Dorothy Pell Out-of-hours call/);
    const lead = await staffClient(kiln, 'lead@kilnford.example');
    assert.equal((await lead.get('/staff/care/break-glass')).statusCode, 403);
  });

  test('an invalid NHS number is refused when a record is added, and the person sees every look at their record', async () => {
    const worker = await staffClient(kiln, 'socialworker@kilnford.example');
    await worker.get('/staff/care/people/new');
    const bad = await worker.post('/staff/care/people/new', {
      nhsNumber: '999 000 0027',
      givenName: 'Sam',
      familyName: 'Tester',
      'dob-day': '1',
      'dob-month': '2',
      'dob-year': '1960',
      gender: 'male',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter a valid NHS number: the last digit does not match the others',
    ]);
    const search = await worker.get('/staff/care?nhsNumber=12345');
    assert.deepEqual(page(search.body).errorSummary(), ['NHS number must be 10 digits']);
    const duplicate = await worker.post('/staff/care/people/new', {
      nhsNumber: '9990000026',
      givenName: 'Dot',
      familyName: 'Pell',
      'dob-day': '3',
      'dob-month': '2',
      'dob-year': '1941',
      gender: 'female',
    });
    assert.deepEqual(page(duplicate.body).errorSummary(), [
      'A person with this NHS number already has a care record',
    ]);

    // The demo resident (Alex) is looked at by their social worker and, refused, by another officer.
    await worker.get(`/staff/care/people/${alex}`);
    const other = await staffClient(kiln, 'childrenworker@kilnford.example');
    await other.get(`/staff/care/people/${alex}`);
    const resident = await signInResident(kiln, 'resident@kilnford.example');
    const access = page((await resident.get('/account/care/record-access')).body);
    assert.match(
      access.text(),
      /Grace Nwosu, Kilnford City Council Looked at your record as a member of your care team/,
    );
    assert.match(access.text(), /Owen Pryce, Kilnford City Council Tried to look, and was refused/);

    await resident.get(`/account/care/sharing/${alex}`);
    const objected = await resident.post(`/account/care/sharing/${alex}`, { objection: 'yes' });
    assert.equal(objected.statusCode, 303);
    const row = await tables<{ care_people: { id: string; sharing_objection: boolean } }>(kiln.platform.db)
      .selectFrom('care_people')
      .select('sharing_objection')
      .where('id', '=', alex)
      .executeTakeFirstOrThrow();
    assert.equal(row.sharing_objection, true);
    const stranger = await signInResident(kiln, 'stranger@example.com');
    assert.equal((await stranger.get(`/account/care/sharing/${alex}`)).statusCode, 404);
  });
});
