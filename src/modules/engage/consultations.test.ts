import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { residentClient } from '../../../test/support/resident.ts';

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('Engage: a consultation from draft to "you said, we did"', () => {
  let kiln: TestKiln;
  let officer: Client;
  let reference = '';
  let slug = '';
  let questionIds: string[] = [];

  before(async () => {
    kiln = await startTestApp();
    officer = await staffClient(kiln, 'officer@kilnford.example');
  });
  after(async () => kiln.close());

  test('an officer drafts a consultation with questions of each type and publishes it', async () => {
    await officer.get('/staff/engage/consultations/new');
    const missing = await officer.post('/staff/engage/consultations', {
      title: '',
      opensAt: day(-1),
      closesAt: day(-2),
    });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(page(missing.body).errorSummary(), [
      'Enter a title',
      'Enter a one-sentence summary',
      'Enter the background residents need to know',
    ]);
    const backwards = await officer.post('/staff/engage/consultations', {
      title: 'Parking on Saggar Street',
      summary: 'Residents’ parking permits for Saggar Street.',
      background: 'We propose permit parking.\n\nTell us what you think.',
      opensAt: day(-1),
      closesAt: day(-2),
    });
    assert.equal(backwards.statusCode, 400);
    assert.deepEqual(page(backwards.body).errorSummary(), [
      'The closing date must be after the opening date',
    ]);

    const created = await officer.post('/staff/engage/consultations', {
      title: 'Parking on Saggar Street',
      summary: 'Residents’ parking permits for Saggar Street.',
      background: 'We propose permit parking.\n\nTell us what you think.',
      opensAt: day(-1),
      closesAt: day(20),
      onePerPerson: 'yes',
      equalityMonitoring: 'yes',
    });
    assert.equal(created.statusCode, 303, page(created.body).errorSummary().join());
    const detail = await officer.follow(created);
    reference = page(detail.body).root.querySelector('.govuk-caption-l')!.text.trim();
    assert.match(reference, /^CN-/);
    slug = 'parking-on-saggar-street';

    // Publishing with no questions is refused with a reason.
    const empty = await officer.post(`/staff/engage/consultations/${reference}/publish`, {});
    assert.equal(empty.statusCode, 409);
    assert.deepEqual(page(empty.body).errorSummary(), ['Add at least one question before publishing']);

    const oneOption = await officer.post(`/staff/engage/consultations/${reference}/questions`, {
      kind: 'single',
      text: 'Do you live on Saggar Street?',
      options: 'Yes',
    });
    assert.equal(oneOption.statusCode, 400);
    assert.deepEqual(page(oneOption.body).errorSummary(), [
      'Enter at least two answers to choose from, one on each line',
    ]);
    const questions: Array<Record<string, string>> = [
      { kind: 'single', text: 'Do you live on Saggar Street?', options: 'Yes\nNo', required: 'yes' },
      { kind: 'multiple', text: 'How do you travel?', options: 'Car\nBus\nBicycle\nWalking' },
      { kind: 'scale', text: 'Permit parking is a good idea.', required: 'yes' },
      { kind: 'text', text: 'Anything else?' },
    ];
    for (const q of questions) {
      const added = await officer.post(`/staff/engage/consultations/${reference}/questions`, {
        hint: '',
        options: '',
        ...q,
      });
      assert.equal(added.statusCode, 303, page(added.body).errorSummary().join());
    }
    const c = await kiln.services.engage.service.consultations.byReference(reference);
    questionIds = (await kiln.services.engage.service.consultations.questions(c!.id)).map((q) => q.id);
    assert.equal(questionIds.length, 4);

    const published = await officer.post(`/staff/engage/consultations/${reference}/publish`, {});
    assert.equal(published.statusCode, 303);
    const list = await new Client(kiln.app).get('/consultations');
    assert.ok(
      page(list.body)
        .links()
        .some((l) => l.text === 'Parking on Saggar Street'),
    );
  });

  test('documents and a bookable workshop appear on the consultation page, with a way to share it', async () => {
    const { consultations } = kiln.services.engage.service;
    // A one-page PDF, as a council would publish the proposal.
    const { PDFDocument } = await import('pdf-lib');
    const pdf = await PDFDocument.create();
    pdf.addPage().drawText('Saggar Street permit parking proposal');
    await consultations.addDocument({ type: 'staff', id: null }, reference, {
      title: 'Permit parking proposal',
      name: 'proposal.pdf',
      content: Buffer.from(await pdf.save()),
    });
    await assert.rejects(
      consultations.addDocument({ type: 'staff', id: null }, reference, {
        title: 'Not a document',
        name: 'script.pdf',
        content: Buffer.from('#!/bin/sh\necho hello\n'),
      }),
      (e: Error) => e.message.length > 0,
    );
    const noEvent = await officer.post(`/staff/engage/consultations/${reference}/events`, {
      eventTitle: '',
      eventPlace: '',
      eventDate: 'soon',
      eventStart: '7pm',
      eventEnd: '',
    });
    assert.equal(noEvent.statusCode, 400);
    assert.deepEqual(page(noEvent.body).errorSummary(), [
      'Enter the name of the event, up to 150 characters',
      'Enter where it is, up to 200 characters',
      'Enter a real date',
      'Enter the start time like 18:30',
      'Enter the end time like 20:00',
    ]);
    const event = await officer.post(`/staff/engage/consultations/${reference}/events`, {
      eventTitle: 'Drop-in workshop on parking',
      eventPlace: 'Wharf Library',
      eventDate: day(7),
      eventStart: '18:30',
      eventEnd: '20:00',
      bookingReference: 'digital-skills-basics',
    });
    assert.equal(event.statusCode, 303, page(event.body).errorSummary().join());

    const visitor = new Client(kiln.app);
    const shown = page((await visitor.get(`/consultations/${slug}`)).body);
    const links = shown.links();
    const doc = links.find((l) => l.text.startsWith('Permit parking proposal'));
    assert.ok(doc, 'the document is linked');
    const file = await visitor.get(doc.href);
    assert.equal(file.statusCode, 200);
    assert.equal(file.headers['content-type'], 'application/pdf');
    assert.match(shown.text(), /Drop-in workshop on parking/);
    const book = links.find((l) => l.text.includes('Book a place'));
    assert.ok(book, 'the workshop can be booked');
    assert.match(book.href, /^\/book\/digital-skills-basics/);
    assert.equal((await visitor.get(book.href)).statusCode, 200, 'the booking page exists');
    assert.ok(links.some((l) => l.href.startsWith('mailto:?subject=Have%20your%20say')));
  });

  test('a resident responds without signing in: saves, comes back by link, sends; a second response is refused', async () => {
    const resident = new Client(kiln.app);
    const intro = await resident.get(`/consultations/${slug}`);
    assert.equal(page(intro.body).heading(), 'Parking on Saggar Street');
    const form = await resident.get(`/consultations/${slug}/respond`);
    assert.equal(page(form.body).heading(), 'Your response');
    assert.ok(resident.hasCookie('kiln_engage'));

    // Sending without the required answers shows what is missing, and keeps what was given.
    const [q1, q2, q3, q4] = questionIds.map((id) => `q-${id}`) as [string, string, string, string];
    const incomplete = await resident.post(`/consultations/${slug}/respond`, {
      [q2]: ['Bus', 'Walking'],
      action: 'submit',
    });
    assert.equal(incomplete.statusCode, 400);
    assert.deepEqual(page(incomplete.body).errorSummary(), [
      'Select an answer to: Do you live on Saggar Street?',
      'Select an answer to: Permit parking is a good idea.',
    ]);
    assert.equal(
      page(incomplete.body).root.querySelectorAll(`input[name="${q2}"][checked]`).length,
      2,
      'the answers given are kept',
    );

    // Save and come back later: on another device, through the link.
    const saved = await resident.post(`/consultations/${slug}/respond`, {
      [q1]: 'Yes',
      [q2]: ['Bus', 'Walking'],
      action: 'save',
    });
    assert.equal(saved.statusCode, 303);
    const savedPage = await resident.follow(saved);
    assert.equal(page(savedPage.body).heading(), 'Your answers are saved');
    const link = page(savedPage.body).root.querySelector('code')!.text.trim();
    assert.match(link, /\/consultations\/parking-on-saggar-street\/resume\/[\w-]+$/);
    const emailed = await resident.post(`/consultations/${slug}/saved`, { email: 'not-an-email' });
    assert.equal(emailed.statusCode, 400);
    assert.deepEqual(page(emailed.body).errorSummary(), [
      'Enter an email address in the correct format, like name@example.com',
    ]);
    await resident.post(`/consultations/${slug}/saved`, { email: 'casey@example.com' });
    const resumeMail = await kiln.eventually(async () =>
      (await kiln.platform.notify.list(kiln.platform.db, { recipient: 'casey@example.com' })).find(
        (m) => m.template === 'engage-resume',
      ),
    );
    assert.ok(resumeMail.body.includes(link));

    const otherDevice = new Client(kiln.app);
    const resumed = await otherDevice.follow(await otherDevice.get(new URL(link).pathname));
    assert.equal(page(resumed.body).heading(), 'Your response');
    assert.equal(
      page(resumed.body).root.querySelector(`input[name="${q1}"][value="Yes"]`)?.hasAttribute('checked'),
      true,
    );
    const sent = await otherDevice.post(`/consultations/${slug}/respond`, {
      [q1]: 'Yes',
      [q2]: ['Bus', 'Walking'],
      [q3]: 'Agree',
      [q4]: 'Please keep two spaces for visitors.',
      eq_age: '35 to 44',
      eq_sex: 'Not a listed answer',
      email: 'casey@example.com',
      action: 'submit',
    });
    assert.equal(sent.statusCode, 303, page(sent.body).errorSummary().join());
    const done = await otherDevice.follow(sent);
    assert.equal(page(done.body).heading(), 'Response sent');
    assert.match(page(done.body).text(), /Your reference\s*RS-/);

    // The same browser cannot respond twice where one response per person is the rule.
    const again = await otherDevice.get(`/consultations/${slug}/respond`);
    assert.equal(page(again.body).heading(), 'You have already responded');
    const twice = await otherDevice.post(`/consultations/${slug}/respond`, {
      [q1]: 'No',
      [q3]: 'Disagree',
      action: 'submit',
    });
    assert.equal(twice.statusCode, 409);
    assert.match(page(twice.body).text(), /Only one response per person is counted/);
    // The old link no longer opens the sent response.
    const stale = await new Client(kiln.app).get(new URL(link).pathname);
    assert.equal(stale.statusCode, 404);
    assert.equal(page(stale.body).heading(), 'That link has expired');
  });

  test('a signed-in resident responds once; staff enter a response given in person', async () => {
    const resident = await residentClient(kiln, 'resident@kilnford.example');
    await resident.get(`/consultations/${slug}/respond`);
    const [q1, , q3] = questionIds.map((id) => `q-${id}`) as [string, string, string];
    const sent = await resident.post(`/consultations/${slug}/respond`, {
      [q1]: 'No',
      [q3]: 'Strongly disagree',
      action: 'submit',
    });
    assert.equal(sent.statusCode, 303);
    const again = await resident.post(`/consultations/${slug}/respond`, {
      [q1]: 'No',
      [q3]: 'Disagree',
      action: 'submit',
    });
    assert.equal(again.statusCode, 409);

    const agent = await staffClient(kiln, 'agent@kilnford.example');
    const form = await agent.get(`/staff/engage/consultations/${reference}/responses/new`);
    assert.equal(form.statusCode, 200);
    const noChannel = await agent.post(`/staff/engage/consultations/${reference}/responses`, {
      [q1]: 'Yes',
      [q3]: 'Agree',
    });
    assert.equal(noChannel.statusCode, 400);
    assert.deepEqual(page(noChannel.body).errorSummary(), ['Select how the response was given']);
    const entered = await agent.post(`/staff/engage/consultations/${reference}/responses`, {
      channel: 'face_to_face',
      [q1]: 'Yes',
      [q3]: 'Agree',
      [`q-${questionIds[3]}`]: 'Worried about visitors parking.',
    });
    assert.equal(entered.statusCode, 303, page(entered.body).errorSummary().join());
    // An agent may enter responses but not run the consultation.
    const refused = await agent.post(`/staff/engage/consultations/${reference}/close`, {});
    assert.equal(refused.statusCode, 403);
  });

  test('closing refuses later responses but keeps the answers; results, themes and CSV', async () => {
    const late = new Client(kiln.app);
    await late.get(`/consultations/${slug}/respond`);
    const closed = await officer.post(`/staff/engage/consultations/${reference}/close`, {});
    assert.equal(closed.statusCode, 303);
    const [q1, , q3] = questionIds.map((id) => `q-${id}`) as [string, string, string];
    const after = await late.post(`/consultations/${slug}/respond`, {
      [q1]: 'Yes',
      [q3]: 'Agree',
      action: 'submit',
    });
    assert.equal(after.statusCode, 409);
    assert.match(
      page(after.body).text(),
      /This consultation closed on .*Your answers were kept but not counted/,
    );

    const results = await officer.get(`/staff/engage/consultations/${reference}/results`);
    assert.equal(results.statusCode, 200);
    const body = page(results.body);
    assert.match(body.text(), /3 responses/);
    const chart = body.root.querySelector('svg[role="img"]');
    assert.ok(chart, 'a chart is drawn on the server');
    assert.ok(body.root.querySelector(`#${chart!.getAttribute('aria-labelledby')!.split(' ')[0]}`));
    // The channel chart's table: online 2, in person 1.
    const rows = body.root
      .querySelectorAll('table')[0]!
      .querySelectorAll('tbody tr')
      .map((tr) =>
        tr
          .querySelectorAll('th, td')
          .map((cell) => cell.text.trim())
          .join(' '),
      );
    assert.deepEqual(rows, ['Online 2 67%', 'In person 1 33%']);

    const textQuestion = questionIds[3]!;
    const theme = await officer.post(`/staff/engage/consultations/${reference}/themes`, {
      questionId: textQuestion,
      name: 'Visitor parking',
    });
    assert.equal(theme.statusCode, 303);
    const duplicateTheme = await officer.post(`/staff/engage/consultations/${reference}/themes`, {
      questionId: textQuestion,
      name: 'Visitor parking',
    });
    assert.equal(duplicateTheme.statusCode, 400);
    const r = await kiln.services.engage.service.results.of(reference);
    // Equality answers in totals: the one given is counted, one not on the list was never stored.
    const age = r!.equality.find((e) => e.key === 'age')!;
    assert.equal(age.notAnswered, 2);
    assert.match(body.text(), /What is your age\?/);
    const sex = r!.equality.find((e) => e.key === 'sex')!;
    assert.equal(sex.notAnswered, 3);
    const texts = r!.perQuestion[3]!.texts;
    assert.equal(texts.length, 2);
    const themeId = r!.perQuestion[3]!.themes[0]!.id;
    for (const t of texts) {
      const tagged = await officer.post(`/staff/engage/consultations/${reference}/tags`, {
        responseId: t.responseId,
        questionId: textQuestion,
        themes: [themeId],
      });
      assert.equal(tagged.statusCode, 303);
    }
    const after2 = await kiln.services.engage.service.results.of(reference);
    assert.deepEqual(
      after2!.perQuestion[3]!.chart!.bars.map((b) => [b.label, b.count]),
      [['Visitor parking', 2]],
    );

    const csv = await officer.get(`/staff/engage/consultations/${reference}/responses.csv`);
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^Reference,Channel,Received,Q1 Do you live on Saggar Street\?/);
    assert.ok(
      lines.some(
        (l) => l.includes('Bus; Walking') && l.includes('35 to 44') && l.includes('Visitor parking'),
      ),
    );
  });

  test('"you said, we did" is published, linked to the decision and the changed service; respondents are told', async () => {
    const form = await officer.get(`/staff/engage/consultations/${reference}/outcome`);
    assert.equal(form.statusCode, 200);
    const bad = await officer.post(`/staff/engage/consultations/${reference}/outcome`, {
      youSaid: '',
      weDid: 'We will add two visitor spaces.',
      decisionTitle: 'Cabinet decision',
      decisionUrl: 'javascript:alert(1)',
      changedServiceSlug: '',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter what people said',
      'Enter the web address of the decision, starting https:// or /',
    ]);
    const published = await officer.post(`/staff/engage/consultations/${reference}/outcome`, {
      youSaid: 'Most of you supported permits, and asked for visitor spaces.',
      weDid: 'Permit parking starts in March, with two visitor spaces.',
      decisionTitle: 'Cabinet decision: Saggar Street parking',
      decisionUrl: 'https://democracy.kilnford.example/decisions/500',
      changedServiceSlug: 'report-a-street-problem',
    });
    assert.equal(published.statusCode, 303, page(published.body).errorSummary().join());

    const outcome = await new Client(kiln.app).get(`/consultations/${slug}/outcome`);
    assert.equal(outcome.statusCode, 200);
    const p = page(outcome.body);
    assert.equal(p.heading(), 'You said, we did');
    assert.ok(p.links().some((l) => l.href === 'https://democracy.kilnford.example/decisions/500'));
    assert.ok(p.links().some((l) => l.href === '/services/report-a-street-problem'));

    // The anonymous respondent who left an email, and the resident with an account, are told.
    for (const email of ['casey@example.com', 'resident@kilnford.example']) {
      const message = await kiln.eventually(async () =>
        (await kiln.platform.notify.list(kiln.platform.db, { recipient: email })).find(
          (m) => m.template === 'engage-outcome',
        ),
      );
      assert.ok(message.body.includes(`/consultations/${slug}/outcome`));
    }
  });

  test('the demo data has an open consultation and a closed one with its outcome', async () => {
    const list = page((await new Client(kiln.app).get('/consultations')).body);
    assert.ok(list.links().some((l) => l.text === 'Library opening hours from April 2027'));
    const outcome = await new Client(kiln.app).get('/consultations/garden-waste-summer-collections/outcome');
    assert.equal(outcome.statusCode, 200);
  });
});
