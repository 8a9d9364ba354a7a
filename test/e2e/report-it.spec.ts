import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { phonePhoto } from '../../src/modules/requests/test-support.ts';
import { E2e, type KilnPage } from './support/journey.ts';
import { inboxShows, signInStaff } from './support/people.ts';

// Report it in a real browser at 360px: the step-by-step journey with JavaScript off and on, the
// installable app's offline queue, and a field officer resolving the report.
const REFERENCE = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/;

async function reportPothole(page: KilnPage, email: string, photo: Buffer): Promise<string> {
  await page.goto('/report');
  assert.equal(await page.heading(), 'What do you want to report?');
  await page.choose('Pothole');
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Where is a pothole?');
  await page.fill('Street name', 'Saggar Street');
  await page.fill('Where on the street is it? (optional)', 'outside number 4');
  await page.submit('Continue');
  // Earlier reports in this file are open on the same street: this one is a different pothole.
  if ((await page.heading()) === 'Has a pothole here already been reported?') {
    await page.choose('No, my problem is a different one');
    await page.submit('Continue');
  }
  assert.equal(await page.heading(), 'Tell us about a pothole');
  await page.choose('Larger than a car tyre');
  await page.choose('More than 10cm');
  await page.choose('On the road');
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Add photos (optional)');
  await page.page
    .getByLabel('Upload a photo')
    .setInputFiles({ name: 'pothole.jpg', mimeType: 'image/jpeg', buffer: photo });
  await page.submit('Upload photo');
  assert.match(await page.mainText(), /Photos added/);
  await page.submit('Continue');
  assert.equal(await page.heading(), 'What is your email address?');
  await page.fill('What is your email address?', email);
  await page.submit('Continue');
  assert.equal(await page.heading(), 'Check your report before sending it');
  await page.submit('Send report');
  const text = await page.mainText();
  assert.match(text, /Report sent/);
  assert.match(text, /make it safe within 24 hours/);
  return text.match(REFERENCE)![0];
}

describe('Report it at 360px', () => {
  let e2e: E2e;
  let photo: Buffer;
  before(async () => {
    e2e = await E2e.start();
    photo = await phonePhoto(1200, 900);
  });
  after(async () => e2e?.close());

  test('without JavaScript: a pothole with a photo, acknowledged by email, on the public list', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    const reference = await reportPothole(page, 'nojs@example.com', photo);
    await inboxShows(page, 'nojs@example.com', new RegExp(`We have received your request: ${reference}`));
    await page.goto('/reports');
    await page.follow('Pothole', { within: page.page.getByRole('table') });
    assert.equal(await page.heading(), 'Pothole on Saggar Street');
  });

  test('with JavaScript: the map shows (tiles or not) and the same journey works', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: true });
    const reference = await reportPothole(page, 'js@example.com', photo);
    await page.goto(`/reports/${reference}`);
    assert.ok(await page.page.locator('[data-report-pin]').isVisible(), 'the map is shown');
  });

  test('offline in the app: the report is kept on the phone and arrives once when back online', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: true });
    const context = page.page.context();
    await page.goto('/report/app');
    await page.page.waitForFunction(() => navigator.serviceWorker?.controller !== undefined);
    await page.page.getByLabel('What do you want to report?').selectOption('graffiti');
    const questions = page.page.locator('[data-category-questions="graffiti"]');
    await questions.getByLabel('Yes', { exact: true }).check();
    await questions.getByLabel('A bus shelter').check();
    await page.page.getByLabel('Or choose the street').selectOption({ label: 'Glaze Row, Kilnford' });
    await page.fill('Your email address', 'offline@example.com');
    await page.page
      .getByLabel('Photo (optional)')
      .setInputFiles({ name: 'tag.jpg', mimeType: 'image/jpeg', buffer: photo });
    await context.setOffline(true);
    await page.page.getByRole('button', { name: 'Send report' }).click();
    await page.page.getByRole('heading', { name: 'Report saved on this phone' }).waitFor();
    const count = async () =>
      Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from cases where contact_email = 'offline@example.com'`.execute(
            e2e.kiln.platform.db,
          )
        ).rows[0]!.n,
      );
    assert.equal(await count(), 0);
    await context.setOffline(false);
    await e2e.kiln.eventually(async () => (await count()) === 1);
    // A second "online" (a flaky connection) sends nothing more.
    await context.setOffline(true);
    await context.setOffline(false);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count(), 1);
    await page.goto('/report/mine');
    assert.match(await page.mainText(), REFERENCE);
  });

  test('a field officer resolves a job with a note; the resident gets the email', async () => {
    const resident = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    const reference = await reportPothole(resident, 'fixme@example.com', photo);
    const report = await e2e.kiln.services.requests.service.findByReference(e2e.kiln.platform.db, reference);
    const officerId = (
      await sql<{ id: string }>`select id from staff_users where email = 'officer@kilnford.example'`.execute(
        e2e.kiln.platform.db,
      )
    ).rows[0]!.id;
    await e2e.kiln.platform.db.transaction().execute((tx) =>
      e2e.kiln.services.cases.service.assign(tx, {
        caseId: report!.case_id,
        assigneeId: officerId,
        actor: { type: 'staff', id: null },
      }),
    );
    const officer = await e2e.visitor({ viewport: 'mobile', javaScript: true });
    await signInStaff(officer, 'officer@kilnford.example');
    await officer.goto('/staff/field');
    assert.equal(await officer.heading(), 'Your field jobs');
    await officer.follow(/Pothole, Saggar Street/);
    await officer.fill('What was done?', 'Filled and sealed this morning.');
    await officer.submit('Mark as resolved');
    assert.match(await officer.mainText(), new RegExp(`${reference} resolved`));
    await inboxShows(resident, 'fixme@example.com', /Filled and sealed this morning/);
  });
});
