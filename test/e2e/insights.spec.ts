import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e } from './support/journey.ts';
import { signInStaff } from './support/people.ts';

// A council manager reads the success measures with JavaScript off on a phone and on a desktop,
// filters them, mistypes a date, opens the team dashboard and the forecasts; an analyst runs a
// query; a member of the public browses the open data. Every page is checked with axe.
describe('Insights: success measures, explorer and open data in the browser', () => {
  let e2e: E2e;

  before(async () => {
    e2e = await E2e.start();
    await e2e.kiln.services.insights.service.refreshOpenData();
  });
  after(async () => e2e?.close());

  for (const viewport of ['mobile', 'desktop'] as const)
    test(`the success measures read without JavaScript (${viewport})`, async () => {
      const manager = await e2e.visitor({ viewport, javaScript: false });
      await signInStaff(manager, 'analyst@kilnford.example');
      await manager.goto('/staff/insights');
      assert.equal(await manager.heading(), 'Success measures');
      const text = await manager.mainText();
      assert.match(text, /Requests made digitally rather than by phone or face to face/);
      assert.match(text, /Consultation responses/);
      // Charts are images with a name, and their numbers are in a table beside them.
      const charts = manager.page.getByRole('img', { name: /by week/ });
      assert.ok((await charts.count()) >= 1);
      assert.ok((await manager.page.getByRole('table', { name: 'Requests by week' }).count()) === 1);

      await manager.fill('From', '2026-02-30');
      await manager.submit('Apply filters', { status: 400 });
      assert.deepEqual(await manager.errorSummary(), [
        'The start of the period must be a real date, like 2026-09-01',
      ]);
      await manager.fill('From', '2026-01-01');
      await manager.submit('Apply filters');
      assert.equal(await manager.heading(), 'Success measures');

      await manager.follow('Team dashboards');
      assert.match(await manager.heading(), /^Team dashboard/);
      await manager.goto('/staff/insights/forecasts');
      assert.equal(await manager.heading(), 'Demand forecasts');
    });

  test('an analyst queries the warehouse and charts the result', async () => {
    const analyst = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(analyst, 'analyst@kilnford.example');
    await analyst.goto('/staff/insights/explorer');
    await analyst.fill(
      'Query',
      'select type, count(*) as events from fact_event group by type order by type',
    );
    await analyst.choose('Bars');
    await analyst.submit('Run query');
    assert.match(await analyst.mainText(), /Result \d+ rows?/);
    await analyst.fill('Query', 'select * from staff_users');
    await analyst.submit('Run query', { status: 400 });
    assert.deepEqual(await analyst.errorSummary(), [
      'Queries may only read the analytics tables, not staff_users',
    ]);
  });

  test('the public browse and download the open data', async () => {
    const visitor = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await visitor.goto('/open-data');
    assert.equal(await visitor.heading(), 'Open data');
    await visitor.follow('Council services');
    assert.equal(await visitor.heading(), 'Council services');
    assert.match(await visitor.mainText(), /Open Government Licence v3\.0/);
  });
});
