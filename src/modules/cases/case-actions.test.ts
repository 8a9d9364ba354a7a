import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { insertCase } from './store.ts';
import { demoResidentId, givenCase } from './test-fixtures.ts';

const versionOn = (html: string, action: string) =>
  page(html).root.querySelector(`form[action$="/${action}"] input[name="version"]`)?.getAttribute('value') ??
  '';

describe('working a case', () => {
  let kiln: TestKiln;
  const as = {} as Record<'officer' | 'lead' | 'agent', Client>;
  before(async () => {
    kiln = await startTestApp();
    as.officer = await staffClient(kiln, 'officer@kilnford.example');
    as.lead = await staffClient(kiln, 'lead@kilnford.example');
    as.agent = await staffClient(kiln, 'agent@kilnford.example');
  });
  after(async () => kiln.close());

  const cases = () => kiln.services.cases.service;
  const db = () => kiln.platform.db;

  test('a new case whose random reference is taken gets another; a repeated submission gets its first case', async () => {
    const first = await givenCase(kiln);
    const taken = await db()
      .selectFrom('cases')
      .selectAll()
      .where('id', '=', first.id)
      .executeTakeFirstOrThrow();
    const {
      id: _id,
      created_at: _c,
      updated_at: _u,
      resolved_at: _r,
      closed_at: _cl,
      status: _s,
      status_reason: _sr,
      assigned_to: _a,
      ...row
    } = taken;
    const timeline = { kind: 'created' as const, detail: {}, author_type: 'resident', author_id: null };
    const references = ['KLN-FREE-22'];
    const clash = await db()
      .transaction()
      .execute((tx) =>
        insertCase(tx, { ...row, idempotency_key: `clash-${first.id}` } as never, timeline as never, () =>
          references.shift()!,
        ),
      );
    assert.equal(clash.created, true);
    assert.equal(clash.case.reference, 'KLN-FREE-22');
    const updates = await db()
      .selectFrom('case_updates')
      .select('kind')
      .where('case_id', '=', clash.case.id)
      .execute();
    assert.deepEqual(
      updates.map((u) => u.kind),
      ['created'],
    );

    const repeat = await db()
      .transaction()
      .execute((tx) =>
        insertCase(tx, { ...row, reference: 'KLN-NEW1-22' } as never, timeline as never, () =>
          assert.fail('no new reference'),
        ),
      );
    assert.equal(repeat.created, false);
    assert.equal(repeat.case.id, first.id);
  });

  test('the case page shows who, what, the answers and the history', async () => {
    const residentId = await demoResidentId(kiln);
    const { reference } = await givenCase(kiln, {
      residentId,
      channel: 'phone',
      answers: {
        branch: { question: 'Which library?', answer: 'Kilnford Central' },
        details: { question: 'Anything else?', answer: '<script>alert(1)</script>' },
      },
    });
    const officer = as.officer;
    const res = await officer.get(`/staff/cases/${reference}`);
    assert.equal(res.statusCode, 200);
    const p = page(res.body);
    assert.equal(p.heading(), `Case ${reference}`);
    assert.match(p.text(), /Borrow a library laptop \(version 3\)/);
    assert.match(p.text(), /Which library\? Kilnford Central/);
    assert.match(p.text(), /Anything else\? <script>alert\(1\)<\/script>/, 'answers are shown as text');
    assert.equal(p.root.querySelectorAll('main script').length, 0);
    assert.match(p.text(), /Case created \(Phone\)/);
    assert.ok(p.links().some((l) => l.text === 'Alex Moreton' && l.href === '/staff/customers/CU-DEMO-01'));
  });

  test('an officer assigns a case to themselves; the change is audited and published', async () => {
    const { id, reference } = await givenCase(kiln);
    const officer = as.officer;
    const form = await officer.get(`/staff/cases/${reference}`);
    const res = await officer.post(`/staff/cases/${reference}/assign`, {
      assignee: 'me',
      version: versionOn(form.body, 'assign'),
    });
    assert.equal(res.statusCode, 303);
    const after = await officer.follow(res);
    assert.match(page(after.body).text(), /Case .* is assigned to you/);
    assert.match(page(after.body).text(), /Assigned to Tom Bradwell/);
    const stored = await cases().findByReference(db(), reference);
    assert.ok(stored?.assigned_to);
    const audit = await sql<{
      n: number;
    }>`select count(*)::int as n from audit_log where action = 'case.assigned' and subject_id = ${id}`.execute(
      db(),
    );
    assert.equal(audit.rows[0]!.n, 1);
    const events = await kiln.platform.events.forSubject(db(), 'case', id);
    assert.ok(events.some((e) => e.type === 'case.assigned'));
  });

  test('an officer may not assign a case to a colleague; a team leader may', async () => {
    const { reference } = await givenCase(kiln);
    const workers = await cases().listCaseWorkers(db());
    const lead = workers.find((w) => w.name === 'Hannah Okafor')!;
    const officer = as.officer;
    let form = await officer.get(`/staff/cases/${reference}`);
    const refused = await officer.post(`/staff/cases/${reference}/assign`, {
      assignee: lead.id,
      version: versionOn(form.body, 'assign'),
    });
    assert.equal(refused.statusCode, 403);
    assert.equal((await cases().findByReference(db(), reference))?.assigned_to, null);

    const leader = as.lead;
    form = await leader.get(`/staff/cases/${reference}`);
    const officerId = workers.find((w) => w.name === 'Tom Bradwell')!.id;
    const ok = await leader.post(`/staff/cases/${reference}/assign`, {
      assignee: officerId,
      version: versionOn(form.body, 'assign'),
    });
    assert.equal(ok.statusCode, 303);
    assert.equal((await cases().findByReference(db(), reference))?.assigned_to, officerId);
  });

  test('resolving needs a reason: without one the page says so and keeps the status chosen', async () => {
    const { reference } = await givenCase(kiln);
    const officer = as.officer;
    const form = await officer.get(`/staff/cases/${reference}`);
    const version = versionOn(form.body, 'status');
    const missing = await officer.post(`/staff/cases/${reference}/status`, {
      status: 'resolved',
      reason: '  ',
      version,
    });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(page(missing.body).errorSummary(), ['Enter a reason for resolving the case']);
    assert.equal(
      page(missing.body)
        .root.querySelector('input[name="status"][value="resolved"]')
        ?.hasAttribute('checked'),
      true,
    );
    assert.equal((await cases().findByReference(db(), reference))?.status, 'received');

    const noStatus = await officer.post(`/staff/cases/${reference}/status`, { reason: 'x', version });
    assert.deepEqual(page(noStatus.body).errorSummary(), ['Choose a status']);

    const ok = await officer.post(`/staff/cases/${reference}/status`, {
      status: 'resolved',
      reason: 'Laptop handed over',
      version,
    });
    assert.equal(ok.statusCode, 303);
    const stored = await cases().findByReference(db(), reference);
    assert.equal(stored?.status, 'resolved');
    assert.equal(stored?.status_reason, 'Laptop handed over');
    assert.ok(stored?.resolved_at);

    // Reopening also needs a reason, and clears the resolution.
    const again = await officer.get(`/staff/cases/${reference}`);
    const reopen = await officer.post(`/staff/cases/${reference}/status`, {
      status: 'in_progress',
      reason: '',
      version: versionOn(again.body, 'status'),
    });
    assert.deepEqual(page(reopen.body).errorSummary(), ['Enter a reason for reopening the case']);
    const reopened = await officer.post(`/staff/cases/${reference}/status`, {
      status: 'in_progress',
      reason: 'Laptop returned faulty',
      version: versionOn(again.body, 'status'),
    });
    assert.equal(reopened.statusCode, 303);
    const after = await cases().findByReference(db(), reference);
    assert.equal(after?.status, 'in_progress');
    assert.equal(after?.resolved_at, null);
    const page2 = page((await officer.follow(reopened)).body);
    assert.match(page2.text(), /Reopened: Resolved to In progress/);
  });

  test('closing sets closed_at and is published', async () => {
    const { id, reference } = await givenCase(kiln);
    const officer = as.officer;
    const form = await officer.get(`/staff/cases/${reference}`);
    await officer.post(`/staff/cases/${reference}/status`, {
      status: 'closed',
      reason: 'Asked for in error',
      version: versionOn(form.body, 'status'),
    });
    const stored = await cases().findByReference(db(), reference);
    assert.equal(stored?.status, 'closed');
    assert.ok(stored?.closed_at);
    const events = await kiln.platform.events.forSubject(db(), 'case', id);
    const changed = events.find((e) => e.type === 'case.status_changed');
    assert.deepEqual(
      [changed?.payload.from, changed?.payload.to, changed?.payload.reason],
      ['received', 'closed', 'Asked for in error'],
    );
  });

  test('a public update is sent to the resident and is in their history; an internal note is not', async () => {
    const residentId = await demoResidentId(kiln);
    const { id, reference } = await givenCase(kiln, { residentId });
    const officer = as.officer;
    let form = await officer.get(`/staff/cases/${reference}`);
    const note = await officer.post(`/staff/cases/${reference}/notes`, {
      note: 'Resident sounded upset on the phone',
      version: versionOn(form.body, 'notes'),
    });
    assert.equal(note.statusCode, 303);
    form = await officer.get(`/staff/cases/${reference}`);
    assert.match(page(form.body).text(), /Internal note.*Resident sounded upset on the phone/);
    const update = await officer.post(`/staff/cases/${reference}/public-updates`, {
      message: 'Your laptop is ready to collect from the front desk.',
      version: versionOn(form.body, 'public-updates'),
    });
    assert.equal(update.statusCode, 303);
    assert.match(page((await officer.follow(update)).body).text(), /Update posted and sent to the resident/);

    const sent = await kiln.platform.notify.list(db(), { recipient: 'resident@kilnford.example' });
    const message = sent.find((m) => m.template === 'case-updated' && m.body.includes(reference));
    assert.ok(message, 'a case-updated email was queued to the resident');
    assert.match(message.body, /Your laptop is ready to collect/);
    assert.doesNotMatch(message.body, /upset/);

    const history = await cases().listPublicHistory(db(), id);
    assert.deepEqual(
      history.map((h) => h.title),
      ['Request received', 'Update from the council'],
    );
    assert.ok(history.every((h) => !String(h.text ?? '').includes('upset')));

    const events = await kiln.platform.events.forSubject(db(), 'case', id);
    assert.deepEqual(
      events.map((e) => e.type).filter((t) => t !== 'case.created'),
      ['case.note_added', 'case.public_update_posted'],
    );
  });

  test('a public update on an anonymous report goes to the contact email given', async () => {
    const { reference } = await givenCase(kiln, { contactEmail: 'Walker@Example.com' });
    const officer = as.officer;
    const form = await officer.get(`/staff/cases/${reference}`);
    await officer.post(`/staff/cases/${reference}/public-updates`, {
      message: 'Fixed today.',
      version: versionOn(form.body, 'public-updates'),
    });
    const sent = await kiln.platform.notify.list(db(), { recipient: 'walker@example.com' });
    assert.ok(sent.some((m) => m.template === 'case-updated'));
  });

  test('a stale form is refused with a clear message and the typed text is kept', async () => {
    const { reference } = await givenCase(kiln);
    const officer = as.officer;
    const leader = as.lead;
    const officerForm = await officer.get(`/staff/cases/${reference}`);
    const staleVersion = versionOn(officerForm.body, 'notes');
    // A colleague changes the case meanwhile.
    const leaderForm = await leader.get(`/staff/cases/${reference}`);
    await leader.post(`/staff/cases/${reference}/status`, {
      status: 'in_progress',
      reason: '',
      version: versionOn(leaderForm.body, 'status'),
    });

    const res = await officer.post(`/staff/cases/${reference}/notes`, {
      note: 'My careful note',
      version: staleVersion,
    });
    assert.equal(res.statusCode, 409);
    const p = page(res.body);
    assert.deepEqual(p.errorSummary(), [
      'This case changed since you opened it. Check the latest details below, then send your change again.',
    ]);
    assert.equal(p.root.querySelector('textarea#note')?.text, 'My careful note');
    assert.match(p.text(), /Status changed: Received to In progress/);
    const notes = (
      await cases().listUpdates(db(), (await cases().findByReference(db(), reference))!.id)
    ).filter((u) => u.kind === 'note');
    assert.equal(notes.length, 0);
    // Sent again from the refreshed page, it goes through.
    const retry = await officer.post(`/staff/cases/${reference}/notes`, {
      note: 'My careful note',
      version: versionOn(res.body, 'notes'),
    });
    assert.equal(retry.statusCode, 303);
  });

  test('a contact centre agent can read a case but gets 403 on every work action', async () => {
    const { reference } = await givenCase(kiln);
    const agent = as.agent;
    const form = await agent.get(`/staff/cases/${reference}`);
    assert.equal(form.statusCode, 200);
    assert.equal(page(form.body).root.querySelector('form[action$="/notes"]'), null);
    for (const [path, fields] of [
      ['assign', { assignee: 'me' }],
      ['status', { status: 'closed', reason: 'x' }],
      ['notes', { note: 'x' }],
      ['public-updates', { message: 'x' }],
    ] as const) {
      await agent.get('/staff/assisted/new'); // a page with a form, for the CSRF token a browser would hold
      const res = await agent.post(`/staff/cases/${reference}/${path}`, { ...fields, version: '1' });
      assert.equal(res.statusCode, 403, path);
    }
    const stored = await cases().findByReference(db(), reference);
    assert.equal(stored?.status, 'received');
    assert.equal(stored?.assigned_to, null);
  });

  test('files among the answers download for staff only; other files do not', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const file = await kiln.platform.files.store(db(), {
      name: 'pothole.png',
      content: png,
      accept: ['image/png'],
    });
    const other = await kiln.platform.files.store(db(), {
      name: 'other.png',
      content: png,
      accept: ['image/png'],
    });
    const { reference } = await givenCase(kiln, {
      answers: {
        photo: { question: 'Photo', answer: 'pothole.png', value: { fileId: file.id, name: 'pothole.png' } },
      },
    });
    const officer = as.officer;
    const casePage = await officer.get(`/staff/cases/${reference}`);
    const link = page(casePage.body)
      .links()
      .find((l) => l.text === 'Download pothole.png');
    assert.equal(link?.href, `/staff/cases/${reference}/files/${file.id}`);
    const download = await officer.get(link.href);
    assert.equal(download.statusCode, 200);
    assert.equal(download.headers['content-type'], 'image/png');
    assert.equal((await officer.get(`/staff/cases/${reference}/files/${other.id}`)).statusCode, 404);
    const anonymous = await kiln.app.inject({ url: link.href });
    assert.equal(anonymous.statusCode, 302);
  });
});
