import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { formatLondon } from '../../platform/time.ts';

const applicantEmail = 'resident@kilnford.example';

/** The text of a PDF as poppler reads it, page by page (pdftotext ends each page with a form feed). */
function pdfPages(pdf: Buffer): string[] {
  const text = execFileSync('pdftotext', ['-enc', 'UTF-8', '-', '-'], { input: pdf }).toString('utf8');
  return text
    .split('\f')
    .slice(0, -1)
    .map((p) => p.replace(/\s+/g, ' ').trim());
}

describe('planning: neighbour letters and status emails', () => {
  let kiln: TestKiln;
  let officer: Client;
  /** The demo's tree application: checked, consulted and decided by the tests below in turn. */
  let treeRef = '';

  before(async () => {
    kiln = await startTestApp();
    officer = await staffClient(kiln, 'planner@kilnford.example');
  });
  after(async () => kiln?.close());

  const planning = () => kiln.services.planning.service;
  const emails = (recipient: string) => kiln.platform.notify.list(kiln.platform.db, { recipient });
  /** The demo applications: one under consultation, one decided, one waiting to be checked. */
  async function demo(status: string) {
    const { rows } = await sql<{ reference: string }>`
      select reference from planning_applications where status = ${status} order by reference limit 1`.execute(
      kiln.platform.db,
    );
    return rows[0]!.reference;
  }

  test('the consultation the demo started printed a letter for each neighbour; the download is audited', async () => {
    const reference = await demo('valid');
    const row = (await planning().findByReference(kiln.platform.db, reference))!;
    const { rows: neighbours } = await sql<{ address_text: string }>`
      select address_text from planning_consultations where application_id = ${row.id} and kind = 'neighbour'
      order by address_text`.execute(kiln.platform.db);
    assert.ok(neighbours.length >= 2, 'neighbours either side were consulted');

    const casePage = page((await officer.get(`/staff/planning/applications/${reference}`)).body);
    const link = casePage.links().find((l) => l.text.startsWith('Neighbour letters to print'));
    assert.equal(link?.href, `/staff/planning/applications/${reference}/neighbour-letters.pdf`);
    const pdf = await officer.get(link.href);
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    const pages = pdfPages(pdf.rawPayload);
    assert.equal(pages.length, neighbours.length, 'one page a neighbour');
    const closes = formatLondon(`${row.consultation_end}T12:00:00Z`, false);
    for (const [i, n] of neighbours.entries()) {
      const letter = pages.find((p) => p.includes(n.address_text.split(',')[0]!));
      assert.ok(letter, `a letter names ${n.address_text}`);
      for (const part of n.address_text.split(/,\s*/)) assert.ok(letter.includes(part), `${i}: ${part}`);
      assert.match(letter, /The occupier/);
      assert.ok(letter.includes(`Planning application ${reference}`));
      assert.ok(letter.includes(row.address_text!), 'the site');
      assert.ok(letter.includes(row.description!), 'the proposal');
      assert.ok(letter.includes(`Comments must reach us by ${closes}`), 'the closing date');
      assert.ok(letter.includes(`http://localhost:3000/planning/applications/${reference}`), 'online');
      assert.match(letter, /Comment by post Write to Planning Services, Kilnford City Council, Civic Centre/);
    }
    const { rows: audit } = await sql<{ n: number }>`
      select count(*)::int as n from audit_log where action = 'planning.neighbour_letters_downloaded'
      and subject_id = ${row.id}`.execute(kiln.platform.db);
    assert.equal(audit[0]!.n, 1);

    const anonymous = await new Client(kiln.app).get(link.href);
    assert.equal(anonymous.statusCode, 302, 'not for the public');
    assert.match(String(anonymous.headers.location), /^\/staff\/sign-in/);
    const decided = await demo('decided');
    const none = await officer.get(`/staff/planning/applications/${decided}/neighbour-letters.pdf`);
    assert.equal(none.statusCode, 404, 'no letters when there was no consultation here');
  });

  test('the officer chooses the neighbours; validation, letters and comments', async () => {
    const reference = await demo('submitted');
    treeRef = reference;
    const casePath = `/staff/planning/applications/${reference}`;
    await officer.get(casePath);
    assert.equal((await officer.post(`${casePath}/validation`, { outcome: 'valid' })).statusCode, 303);
    const valid = await kiln.eventually(async () => {
      const list = (await emails(applicantEmail)).filter(
        (m) => m.subject === `Planning application ${reference} is valid`,
      );
      return list.length ? list : null;
    });
    assert.equal(valid.length, 1, 'the applicant is told once');

    const form = page((await officer.get(casePath)).body);
    const boxes = form.root.querySelectorAll('input[name="neighbours"]');
    const near = boxes.filter((b) => b.hasAttribute('checked'));
    const far = boxes.filter((b) => !b.hasAttribute('checked'));
    assert.ok(near.length >= 1 && far.length >= 1, 'near addresses ticked, further ones offered');
    const label = (uprn: string) =>
      form.root
        .querySelector(`label[for="${boxes.find((b) => b.getAttribute('value') === uprn)!.id}"]`)!
        .text.trim();
    const chosen = [near[0]!.getAttribute('value')!, far[0]!.getAttribute('value')!];

    const bad = await officer.post(`${casePath}/consultation`, {
      neighboursChosen: '1',
      neighbours: [chosen[0]!, '999999999999'],
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), ['Choose neighbours from the list of addresses']);
    const stillTicked = page(bad.body).root.querySelectorAll('input[name="neighbours"][checked]');
    assert.deepEqual(
      stillTicked.map((b) => b.getAttribute('value')),
      [chosen[0]],
      'what the officer ticked stays ticked',
    );

    const started = await officer.post(`${casePath}/consultation`, {
      neighboursChosen: '1',
      neighbours: chosen,
    });
    assert.equal(started.statusCode, 303, page(started.body).errorSummary().join());
    const pdf = await officer.get(`${casePath}/neighbour-letters.pdf`);
    const pages = pdfPages(pdf.rawPayload);
    assert.equal(pages.length, 2);
    for (const uprn of chosen) {
      const text = label(uprn);
      assert.ok(
        pages.some((p) => text.split(/,\s*/).every((part) => p.includes(part))),
        `a letter to ${text}`,
      );
    }
    const row = (await planning().findByReference(kiln.platform.db, reference))!;
    const { rows } = await sql<{ address_text: string }>`
      select address_text from planning_consultations where application_id = ${row.id} and kind = 'neighbour'`.execute(
      kiln.platform.db,
    );
    assert.deepEqual(rows.map((r) => r.address_text).sort(), chosen.map(label).sort());
  });

  test('a decision: the applicant and each commenter with an email address are told once, after commit', async () => {
    const ref = treeRef;
    const visitor = new Client(kiln.app);
    await visitor.get(`/planning/applications/${ref}`);
    const comment = (name: string, email: string, text: string) =>
      visitor.post(`/planning/applications/${ref}/comments`, {
        name,
        address: '3 Saggar Street, Kilnford',
        email,
        stance: 'neutral',
        text,
      });
    assert.equal(
      (await comment('Pat Commenter', 'pat.commenter@example.com', 'Please keep the hedge.')).statusCode,
      303,
    );
    assert.equal(
      (await comment('Pat Commenter', ' PAT.Commenter@example.com', 'And the wall.')).statusCode,
      303,
    );
    assert.equal(
      (await comment('Alex Moreton', applicantEmail, 'I am happy to keep the hedge.')).statusCode,
      303,
    );
    assert.equal((await comment('No Email', '', 'Fine by me.')).statusCode, 303);

    const row = (await planning().findByReference(kiln.platform.db, ref))!;
    await planning().saveReport(ref, 'Acceptable in scale and design.', 'granted', {
      type: 'staff',
      id: row.officer_id,
    });
    await sql`update planning_applications set consultation_start = '2026-01-01', consultation_end = '2026-01-22' where id = ${row.id}`.execute(
      kiln.platform.db,
    );
    const casePath = `/staff/planning/applications/${ref}`;
    await officer.get(casePath);
    const decided = await officer.post(`${casePath}/decision`, {
      decision: 'granted',
      conditions: 'The development must be begun within three years.',
    });
    assert.equal(decided.statusCode, 303, page(decided.body).errorSummary().join());

    const toPat = await kiln.eventually(async () => {
      const list = await emails('pat.commenter@example.com');
      return list.length ? list : null;
    });
    const toApplicant = await kiln.eventually(async () => {
      const list = (await emails(applicantEmail)).filter(
        (m) => m.subject === `Decision on planning application ${ref}`,
      );
      return list.length ? list : null;
    });
    // Redelivery of the same event (the queue delivers at least once) tells nobody twice.
    const { rows: events } = await sql<{ id: number }>`
      select id from domain_events where type = 'planning.application_decided' and subject_id = ${row.id}`.execute(
      kiln.platform.db,
    );
    const event = (await kiln.platform.events.load(Number(events[0]!.id)))!;
    await planning().tellOfStatus(event);
    assert.equal((await emails('pat.commenter@example.com')).length, 1, 'one email for two comments');
    assert.equal(toPat.length, 1);
    assert.equal(toPat[0]!.subject, `Planning application ${ref}: ${row.address_text}`);
    assert.match(toPat[0]!.body, /It has been granted\. The decision notice is on the application page\./);
    assert.ok(toPat[0]!.body.includes(`http://localhost:3000/planning/applications/${ref}`));
    const applicantNow = (await emails(applicantEmail)).filter((m) => m.body.includes(ref));
    assert.equal(
      applicantNow.filter((m) => m.subject === `Decision on planning application ${ref}`).length,
      1,
      'the applicant is told once',
    );
    assert.equal(toApplicant.length, 1);
    assert.equal(
      applicantNow.filter((m) => m.template === 'planning-commenter-update').length,
      0,
      'the applicant who also commented gets the applicant email only',
    );
  });

  test('a withdrawal: the officer records it; applicant and commenters are told', async () => {
    const reference = await demo('valid');
    const visitor = new Client(kiln.app);
    await visitor.get(`/planning/applications/${reference}`);
    const commented = await visitor.post(`/planning/applications/${reference}/comments`, {
      name: 'Lee Nearby',
      address: '9 Saggar Street, Kilnford',
      email: 'lee.nearby@example.com',
      stance: 'object',
      text: 'Too big for the plot.',
    });
    assert.equal(commented.statusCode, 303);
    const casePath = `/staff/planning/applications/${reference}`;
    await officer.get(casePath);
    const empty = await officer.post(`${casePath}/withdrawal`, { withdrawalNote: ' ' });
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), ['Say how the applicant asked to withdraw it']);
    const done = await officer.post(`${casePath}/withdrawal`, {
      withdrawalNote: 'Email from the applicant on 20 November',
    });
    assert.equal(done.statusCode, 303);
    const row = (await planning().findByReference(kiln.platform.db, reference))!;
    assert.equal(row.status, 'withdrawn');
    const toLee = await kiln.eventually(async () => {
      const list = await emails('lee.nearby@example.com');
      return list.length ? list : null;
    });
    assert.match(toLee[0]!.body, /The applicant has withdrawn it\. It will not be decided\./);
    await kiln.eventually(async () =>
      (await emails(applicantEmail)).some((m) => m.subject === `Planning application ${reference} withdrawn`),
    );
    const again = await officer.post(`${casePath}/withdrawal`, { withdrawalNote: 'Again' });
    assert.deepEqual(page(again.body).errorSummary(), ['Only an undecided application can be withdrawn']);
    const publicPage = page(
      (await new Client(kiln.app).get(`/planning/applications/${reference}`)).body,
    ).text();
    assert.match(publicPage, /Withdrawn/);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from audit_log where action = 'planning.application_withdrawn'
      and subject_id = ${row.id}`.execute(kiln.platform.db);
    assert.equal(rows[0]!.n, 1);
  });
});
