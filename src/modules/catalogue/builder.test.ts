import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';

describe('form builder', () => {
  let kiln: TestKiln;
  let admin: Client;
  before(async () => {
    kiln = await startTestApp();
    admin = await staffClient(kiln, 'admin@kilnford.example');
  });
  after(async () => kiln.close());

  const post = async (path: string, fields: Record<string, string | string[]>) => {
    await admin.get(path);
    return admin.post(path, fields);
  };

  test('an administrator creates a service, adds questions, previews and publishes it', async () => {
    const list = await admin.get('/staff/catalogue');
    assert.equal(page(list.body).heading(), 'Service catalogue');
    assert.ok(
      page(list.body)
        .links()
        .some((l) => l.text === 'Report a street problem'),
    );

    const invalid = await post('/staff/catalogue/new', { title: '', slug: 'Bad Slug', fee: 'lots' });
    assert.equal(invalid.statusCode, 400);
    const problems = page(invalid.body).errorSummary();
    assert.ok(problems.includes('Enter the service name'));
    assert.ok(problems.includes('Fee must be an amount in pounds, like 48 or 48.00'));

    const details = {
      title: 'Book a bulky waste collection',
      slug: 'book-a-bulky-waste-collection',
      summary: 'We collect large items such as furniture and fridges.',
      description: 'For households in Kilnford.',
      topic: 'bins-and-recycling',
      teamCode: 'waste',
      slaValue: '10',
      slaUnit: 'working_days',
      fee: '25.00',
      channels: ['web', 'phone'],
    };
    const created = await post('/staff/catalogue/new', details);
    assert.equal(created.statusCode, 303);
    const slug = details.slug;
    const duplicate = await post('/staff/catalogue/new', details);
    assert.deepEqual(page(duplicate.body).errorSummary(), ['A service with this web address already exists']);

    // Publishing with no questions is refused with a reason.
    await admin.get(`/staff/catalogue/${slug}`);
    const empty = await admin.post(`/staff/catalogue/${slug}/publish`, {});
    assert.deepEqual(page(empty.body).errorSummary(), ['Add at least one question before publishing']);

    const badQuestion = await post(`/staff/catalogue/${slug}/questions/new`, {
      id: 'items',
      type: 'single_choice',
      label: 'What items?',
      options: 'Sofa',
    });
    assert.deepEqual(page(badQuestion.body).errorSummary(), ['Give at least 2 options']);
    assert.equal(
      (
        await post(`/staff/catalogue/${slug}/questions/new`, {
          id: 'items',
          type: 'single_choice',
          label: 'What do you want collected?',
          errorName: 'what you want collected',
          options: 'Sofa\nfridge | Fridge or freezer\nOther',
        })
      ).statusCode,
      303,
    );
    assert.equal(
      (
        await post(`/staff/catalogue/${slug}/questions/new`, {
          id: 'gas',
          type: 'yes_no',
          label: 'Has the fridge been defrosted?',
          showWhenQuestion: 'items',
          showWhenValues: 'fridge',
        })
      ).statusCode,
      303,
    );
    assert.equal(
      (
        await post(`/staff/catalogue/${slug}/questions/new`, {
          id: 'email',
          type: 'email',
          label: 'What is your email address?',
          contactEmail: 'yes',
        })
      ).statusCode,
      303,
    );
    // Edit: make the label clearer; reorder: email first, then back.
    const edit = await post(`/staff/catalogue/${slug}/questions/items/edit`, {
      id: 'items',
      type: 'single_choice',
      label: 'What do you want us to collect?',
      errorName: 'what you want us to collect',
      options: 'sofa | Sofa\nfridge | Fridge or freezer\nother | Other',
    });
    assert.equal(edit.statusCode, 303);
    await admin.get(`/staff/catalogue/${slug}`);
    const blocked = await admin.post(`/staff/catalogue/${slug}/questions/items/remove`, {});
    assert.match(page(blocked.body).errorSummary()[0]!, /depends on this question/);
    await admin.get(`/staff/catalogue/${slug}`);
    await admin.post(`/staff/catalogue/${slug}/questions/email/move`, { direction: 'up' });
    let draft = (await kiln.services.catalogue.service.findForEditing(slug))!.draft;
    assert.deepEqual(
      draft.questions.map((q) => q.id),
      ['items', 'email', 'gas'],
    );
    // "gas" now follows "email" but still after "items": allowed. Move it back.
    await admin.get(`/staff/catalogue/${slug}`);
    await admin.post(`/staff/catalogue/${slug}/questions/gas/move`, { direction: 'up' });
    draft = (await kiln.services.catalogue.service.findForEditing(slug))!.draft;
    assert.deepEqual(
      draft.questions.map((q) => q.id),
      ['items', 'gas', 'email'],
    );

    // Not live yet: residents cannot reach it, but the preview works without creating a case.
    assert.equal((await kiln.app.inject({ url: `/services/${slug}` })).statusCode, 404);
    const before = await countCases(kiln, slug);
    const preview = await admin.get(`/staff/preview/${slug}`);
    assert.equal(page(preview.body).heading(), 'Book a bulky waste collection');
    assert.match(page(preview.body).text(), /You are previewing the draft/);
    await admin.get(`/staff/preview/${slug}/questions/items`);
    const previewError = await admin.post(`/staff/preview/${slug}/questions/items`, {});
    assert.deepEqual(page(previewError.body).errorSummary(), ['Select what you want us to collect']);
    const toGas = await admin.post(`/staff/preview/${slug}/questions/items`, { items: 'fridge' });
    assert.equal(toGas.headers.location, `/staff/preview/${slug}/questions/gas`);
    await admin.get(`/staff/preview/${slug}/questions/gas`);
    await admin.post(`/staff/preview/${slug}/questions/gas`, { gas: 'yes' });
    await admin.get(`/staff/preview/${slug}/questions/email`);
    await admin.post(`/staff/preview/${slug}/questions/email`, { email: 'someone@example.com' });
    const check = await admin.get(`/staff/preview/${slug}/check`);
    assert.equal(page(check.body).heading(), 'Check your answers before sending your request');
    const key = admin.lastPage!.querySelector('input[name="key"]')!.getAttribute('value')!;
    const notSent = await admin.post(`/staff/preview/${slug}/check`, { key });
    assert.match(page(notSent.body).errorSummary()[0]!, /This is a preview: nothing was sent/);
    assert.equal(await countCases(kiln, slug), before);

    await admin.get(`/staff/catalogue/${slug}`);
    const published = await admin.post(`/staff/catalogue/${slug}/publish`, {});
    assert.equal(published.statusCode, 303);
    const after = await admin.follow(published);
    assert.match(page(after.body).text(), /Version 1 is now live/);
    const start = await kiln.app.inject({ url: `/services/${slug}` });
    assert.equal(page(start.body).heading(), 'Book a bulky waste collection');
    assert.match(page(start.body).text(), /It costs £25\.00/);

    // Editing changes only the draft until the next publish.
    await post(`/staff/catalogue/${slug}/details`, { ...details, title: 'Book a bulky item collection' });
    assert.equal(
      page((await kiln.app.inject({ url: `/services/${slug}` })).body).heading(),
      'Book a bulky waste collection',
    );
    await admin.get(`/staff/catalogue/${slug}`);
    await admin.post(`/staff/catalogue/${slug}/publish`, {});
    assert.equal(
      page((await kiln.app.inject({ url: `/services/${slug}` })).body).heading(),
      'Book a bulky item collection',
    );
    const api = (await kiln.app.inject({ url: `/api/v1/services/${slug}` })).json();
    assert.equal(api.version, 2);

    await admin.get(`/staff/catalogue/${slug}`);
    assert.equal((await admin.post(`/staff/catalogue/${slug}/retire`, {})).statusCode, 303);
    assert.equal((await kiln.app.inject({ url: `/services/${slug}` })).statusCode, 404);
    assert.equal((await kiln.app.inject({ url: `/api/v1/services/${slug}` })).statusCode, 404);

    const { rows } = await sql<{
      action: string;
    }>`select action from audit_log where action like 'service.%' and detail->>'slug' = ${slug} order by id`.execute(
      kiln.platform.db,
    );
    assert.deepEqual(
      rows.map((r) => r.action).filter((a) => a === 'service.created' || a === 'service.published'),
      ['service.created', 'service.published', 'service.published'],
    );
    const events = await sql<{
      n: number;
    }>`select count(*)::int as n from domain_events where type = 'service.published' and payload->>'slug' = ${slug}`.execute(
      kiln.platform.db,
    );
    assert.equal(events.rows[0]!.n, 2);
  });

  test('an officer cannot use the form builder or its preview', async () => {
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    for (const url of [
      '/staff/catalogue',
      '/staff/catalogue/report-a-street-problem',
      '/staff/preview/report-a-street-problem',
    ]) {
      const res = await officer.get(url);
      assert.equal(res.statusCode, 403, url);
    }
    await officer.get('/staff/sign-out');
    const publish = await officer.post('/staff/catalogue/report-a-street-problem/publish', {});
    assert.equal(publish.statusCode, 403);
    const anonymous = await new Client(kiln.app).get('/staff/catalogue');
    assert.equal(anonymous.statusCode, 302);
  });
});

async function countCases(kiln: TestKiln, slug: string): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from cases where service_slug = ${slug}`.execute(kiln.platform.db);
  return rows[0]!.n;
}
