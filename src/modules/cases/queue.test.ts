import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { givenCase } from './test-fixtures.ts';

const references = (html: string) =>
  page(html)
    .root.querySelectorAll('table.kiln-queue tbody tr td a.govuk-link')
    .map((a) => a.text.trim());

describe('case queues', () => {
  let kiln: TestKiln;
  const made: Record<string, string> = {};
  const as = {} as Record<'officer' | 'lead' | 'agent', Client>;
  before(async () => {
    kiln = await startTestApp();
    as.officer = await staffClient(kiln, 'officer@kilnford.example');
    as.lead = await staffClient(kiln, 'lead@kilnford.example');
    const db = kiln.platform.db;
    const cases = kiln.services.cases.service;
    // Four library cases, received an hour apart, with different targets and channels.
    for (const [name, hoursAgo, sla, channel] of [
      ['oldest', 30, { value: 24, unit: 'hours' }, 'web'],
      ['middle', 20, { value: 100, unit: 'hours' }, 'phone'],
      ['newest', 1, { value: 200, unit: 'hours' }, 'web'],
      ['no-target', 10, null, 'letter'],
    ] as const) {
      const c = await givenCase(kiln, {
        service: {
          slug: 'borrow-a-library-laptop',
          title: 'Borrow a library laptop',
          version: 1,
          teamCode: 'libraries',
          sla,
        },
        channel,
      });
      made[name] = c.reference;
      const at = new Date(Date.now() - hoursAgo * 3_600_000);
      const due = sla ? new Date(at.getTime() + sla.value * 3_600_000) : null;
      await sql`update cases set created_at = ${at}, updated_at = ${at}, sla_due_at = ${due} where id = ${c.id}`.execute(
        db,
      );
    }
    // The middle one was touched last.
    const middle = (await cases.findByReference(db, made.middle!))!;
    await db
      .transaction()
      .execute((tx) =>
        cases.addNote(tx, { caseId: middle.id, body: 'Touched', actor: { type: 'system', id: null } }),
      );
  });
  after(async () => kiln.close());

  test('the default queue is the officer’s own team’s open cases, with a caption, SLA tags and counts', async () => {
    const officer = as.officer;
    const res = await officer.get('/staff/cases');
    assert.equal(res.statusCode, 200);
    const p = page(res.body);
    assert.match(p.heading(), /Streets and highways/);
    const caption = p.root.querySelector('table caption')?.text ?? '';
    assert.match(caption, /^\d+ cases?/);
    assert.ok(references(res.body).length > 0, 'demo street cases are listed');
    assert.ok(!references(res.body).includes(made.oldest!), 'other teams’ cases are not');
    assert.match(p.text(), /Received: \d+/);
    assert.ok(p.root.querySelectorAll('.govuk-tag').some((t) => /On track|At risk|Breached/.test(t.text)));
    assert.ok(p.root.querySelector('.kiln-table-wrap'), 'the table scrolls on a narrow screen');
  });

  test('sorting by due date, received and last updated', async () => {
    const officer = as.officer;
    const base = '/staff/cases?team=libraries&status=open&assignee=anyone';
    assert.deepEqual(references((await officer.get(`${base}&sort=due`)).body), [
      made.oldest,
      made.middle,
      made.newest,
      made['no-target'],
    ]);
    assert.deepEqual(references((await officer.get(`${base}&sort=received`)).body), [
      made.newest,
      made['no-target'],
      made.middle,
      made.oldest,
    ]);
    assert.equal(references((await officer.get(`${base}&sort=updated`)).body)[0], made.middle);
  });

  test('filters: SLA state, channel, service, assignee and status', async () => {
    const officer = as.officer;
    const base = '/staff/cases?team=libraries&status=open';
    assert.deepEqual(references((await officer.get(`${base}&sla=breached`)).body), [made.oldest]);
    assert.deepEqual(references((await officer.get(`${base}&sla=none`)).body), [made['no-target']]);
    assert.deepEqual(references((await officer.get(`${base}&sla=on_track&sort=received`)).body), [
      made.newest,
      made.middle,
    ]);
    assert.deepEqual(references((await officer.get(`${base}&channel=phone`)).body), [made.middle]);
    assert.equal(references((await officer.get(`${base}&service=no-such-service`)).body).length, 0);
    assert.equal(references((await officer.get(`${base}&assignee=me`)).body).length, 0);
    assert.equal(references((await officer.get(`${base}&assignee=unassigned`)).body).length, 4);
    const none = await officer.get('/staff/cases?team=libraries&status=closed');
    assert.match(page(none.body).text(), /No cases match/);
    // Nonsense in the query falls back to the defaults instead of failing.
    const odd = await officer.get('/staff/cases?sort=sideways&page=-4&sla=%3Cscript%3E');
    assert.equal(odd.statusCode, 200);
  });

  test('pagination splits a long queue', async () => {
    const leader = as.lead;
    const first = await leader.get('/staff/cases?team=all&status=all');
    const p = page(first.body);
    assert.match(p.root.querySelector('table caption')?.text ?? '', /page 1 of \d+/);
    const next = p.root.querySelector('.govuk-pagination__next a')?.getAttribute('href');
    assert.ok(next);
    const second = await leader.get(next);
    assert.match(page(second.body).root.querySelector('table caption')?.text ?? '', /page 2 of/);
    assert.notDeepEqual(references(second.body), references(first.body));
  });

  test('a team leader assigns selected cases in bulk; each is audited', async () => {
    const leader = as.lead;
    const queue = await leader.get('/staff/cases?team=libraries&status=open&sort=due');
    const tom = (await kiln.services.cases.service.listCaseWorkers(kiln.platform.db)).find(
      (w) => w.name === 'Tom Bradwell',
    )!;
    const returnTo =
      page(queue.body).root.querySelector('input[name="returnTo"]')?.getAttribute('value') ?? '';
    const missing = await leader.post('/staff/cases/bulk', {
      action: 'assign',
      bulkAssignee: tom.id,
      returnTo,
    });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(page(missing.body).errorSummary(), ['Select at least one case']);

    const res = await leader.post('/staff/cases/bulk', {
      action: 'assign',
      cases: [made.oldest!, made.middle!],
      bulkAssignee: tom.id,
      returnTo,
    });
    assert.equal(res.statusCode, 303);
    const after = await leader.follow(res);
    assert.match(page(after.body).text(), /2 cases assigned/);
    for (const ref of [made.oldest!, made.middle!]) {
      const c = await kiln.services.cases.service.findByReference(kiln.platform.db, ref);
      assert.equal(c?.assigned_to, tom.id);
      const audit = await sql<{
        n: number;
      }>`select count(*)::int as n from audit_log where action = 'case.assigned' and subject_id = ${c!.id}`.execute(
        kiln.platform.db,
      );
      assert.equal(audit.rows[0]!.n, 1);
    }
    const officer = as.officer;
    assert.deepEqual(
      references((await officer.get('/staff/cases?team=libraries&assignee=me&sort=due')).body),
      [made.oldest, made.middle],
    );
  });

  test('closing in bulk needs a reason and closes each case', async () => {
    const a = await givenCase(kiln);
    const b = await givenCase(kiln);
    const leader = as.lead;
    const queue = await leader.get('/staff/cases?team=libraries&sort=received');
    const returnTo =
      page(queue.body).root.querySelector('input[name="returnTo"]')?.getAttribute('value') ?? '';
    const missing = await leader.post('/staff/cases/bulk', {
      action: 'close',
      cases: [a.reference, b.reference],
      bulkReason: '',
      returnTo,
    });
    assert.deepEqual(page(missing.body).errorSummary(), ['Enter a reason for closing the cases']);
    assert.deepEqual(
      page(missing.body)
        .root.querySelectorAll('input[name="cases"][checked]')
        .map((i) => i.getAttribute('value'))
        .sort(),
      [a.reference, b.reference].sort(),
      'the selection is kept',
    );
    const res = await leader.post('/staff/cases/bulk', {
      action: 'close',
      cases: [a.reference, b.reference],
      bulkReason: 'Duplicates',
      returnTo,
    });
    assert.equal(res.statusCode, 303);
    for (const ref of [a.reference, b.reference]) {
      const c = await kiln.services.cases.service.findByReference(kiln.platform.db, ref);
      assert.equal(c?.status, 'closed');
      assert.equal(c?.status_reason, 'Duplicates');
    }
  });

  test('an officer has no bulk actions; posting them is refused', async () => {
    const officer = as.officer;
    const queue = await officer.get('/staff/cases?team=libraries');
    assert.equal(page(queue.body).root.querySelector('input[name="cases"]'), null);
    await officer.get('/staff/cases/' + made.newest);
    const res = await officer.post('/staff/cases/bulk', {
      action: 'close',
      cases: [made.newest!],
      bulkReason: 'x',
    });
    assert.equal(res.statusCode, 403);
  });
});
