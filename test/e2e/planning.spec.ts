import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { PDFDocument } from 'pdf-lib';
import { E2e, type KilnPage } from './support/journey.ts';
import { signInResident, signInStaff } from './support/people.ts';

async function drawing(text: string) {
  const pdf = await PDFDocument.create();
  pdf.addPage([300, 200]).drawText(text, { x: 20, y: 100, size: 12 });
  return { name: `${text}.pdf`, mimeType: 'application/pdf', buffer: Buffer.from(await pdf.save()) };
}

// A householder applies for a rear extension with JavaScript off (a location plan instead of the
// map) and another with it on (drawing the boundary), both paying the £528 fee; the planning
// officer validates, consults, reports and grants; a member of the public finds the decision.
describe('Plan: a householder application from first question to decision', () => {
  let e2e: E2e;
  const references: string[] = [];

  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  // The machines these run on are shared: give a slow page longer than Playwright's 30 s.
  async function visitor(viewport: 'mobile' | 'desktop', javaScript: boolean) {
    const person = await e2e.visitor({ viewport, javaScript });
    person.page.setDefaultTimeout(90_000);
    person.page.setDefaultNavigationTimeout(90_000);
    return person;
  }

  async function apply(person: KilnPage, house: string, javaScript: boolean) {
    await person.goto('/planning/apply');
    assert.equal(await person.heading(), 'Apply for planning permission');
    await person.submit('Start a new application');
    assert.equal(await person.heading(), 'Your planning application');
    const reference = person.path().split('/').at(-1)!;

    await person.follow('Find the property');
    await person.fill('Postcode or street name', 'KF1 3CD');
    await person.submit('Find address');
    await person.choose(`${house} Saggar Street, Kilnford, KF1 3CD`);
    await person.submit('Continue');
    assert.equal(await person.heading(), 'What do you want to do?');
    await person.choose('Extend or alter a house');
    await person.submit('Continue');

    assert.equal(await person.heading(), 'About the project');
    await person.submit('Save and continue', { status: 400 });
    assert.deepEqual(await person.errorSummary(), [
      'Choose the type of property',
      'Choose the works you are planning',
      'Describe the project',
    ]);
    await person.choose('Semi-detached');
    await person.choose('Add a rear extension');
    await person.fill(/how much floor area does it add/, '16');
    await person.fill('Describe the project', 'Single-storey rear extension with a pitched roof');
    await person.submit('Save and continue');

    assert.equal(await person.heading(), 'Where is the site?');
    if (javaScript) {
      const map = person.page.getByRole('application', { name: 'Map: select the corners of the site' });
      await map.scrollIntoViewIfNeeded();
      const box = (await map.boundingBox())!;
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      for (const [dx, dy] of [
        [-40, -30],
        [40, -30],
        [40, 30],
        [-40, 30],
      ] as const)
        await person.page.mouse.click(cx + dx, cy + dy);
      assert.match((await person.page.getByText(/4 corners marked/).textContent()) ?? '', /4 corners marked/);
    } else {
      await person.submit('Save and continue', { status: 400 });
      assert.deepEqual(await person.errorSummary(), [
        'Mark the site boundary on the map, or upload a location plan',
      ]);
      await person.page.getByLabel('Location plan').setInputFiles(await drawing('Location plan'));
    }
    await person.submit('Save and continue');

    assert.equal(await person.heading(), 'Upload plans and documents');
    for (const [type, text] of [
      ['Floor plan - proposed', 'Floor plan'],
      ['Elevations - proposed', 'Elevations'],
    ] as const) {
      await person.page.getByLabel('What does the document show?').selectOption({ label: type });
      await person.page.getByLabel('File', { exact: true }).setInputFiles(await drawing(text));
      await person.submit('Upload');
    }
    await person.submit('Save and continue');

    await person.follow('Applicant details');
    await person.choose('A private individual');
    await person.fill('First name', 'Alex');
    await person.fill('Last name', 'Moreton');
    await person.fill('Email address', 'resident@kilnford.example');
    await person.fill('Telephone number', '07700 900 123');
    await person.page
      .getByRole('group', { name: 'Is the applicant’s address the site address?' })
      .getByLabel('Yes')
      .check();
    await person.choose('Only the applicant (certificate A)');
    await person.page
      .getByRole('group', { name: 'Is the applicant connected to the council?' })
      .getByLabel('No', { exact: true })
      .check();
    await person.submit('Save and continue');
    assert.match(await person.mainText(), /You have completed 6 of 6 sections/);

    await person.submit('Check and send');
    const check = await person.mainText();
    assert.match(check, /Fee to pay: £528\.00/);
    assert.match(check, /The fee to alter or extend a single home is £528\./);
    await person.choose(/I confirm that the information in this application is correct/);
    await person.submit('Pay and send');
    assert.equal(await person.heading(), 'Enter card details');
    await person.fill('Card number', '4444 3333 2222 1111');
    await person.fill('Month', '12');
    await person.fill('Year', '2030');
    await person.fill('Name on card', 'Alex Moreton');
    await person.fill('Card security code', '123');
    await person.submit('Continue');
    assert.equal(await person.heading(), 'Application sent');
    assert.match(await person.mainText(), /You paid £528\.00/);
    return reference;
  }

  test('a householder applies and pays at 360px with JavaScript off', async () => {
    const person = await visitor('mobile', false);
    await signInResident(person, 'resident@kilnford.example');
    references.push(await apply(person, '21', false));
  });

  test('a householder applies and pays at 1280px with JavaScript on, drawing the boundary', async () => {
    const person = await visitor('desktop', true);
    await signInResident(person, 'resident@kilnford.example');
    references.push(await apply(person, '23', true));
    const row = await e2e.kiln.services.planning.service.findByReference(
      e2e.kiln.platform.db,
      references[1]!,
    );
    assert.ok(row?.site_boundary, 'the drawn boundary is kept');
  });

  test('the planning officer validates, consults and grants with conditions', async () => {
    const officer = await visitor('desktop', true);
    await signInStaff(officer, 'planner@kilnford.example');
    const reference = references[0]!;
    await officer.goto('/staff/planning');
    await officer.follow(reference);
    await officer.choose('Valid');
    await officer.submit('Save the check');
    assert.match(await officer.mainText(), /Marked valid/);
    await officer.choose('Kilnford Highways Authority');
    await officer.submit('Start the consultation');
    assert.match(
      await officer.mainText(),
      /Consultation started: \d+ neighbour letters to print, 1 consultees emailed/,
    );
    assert.match(await officer.mainText(), /Neighbour letters to print \(PDF, one page an address\)/);
    const letters = await officer.page.request.get(
      `/staff/planning/applications/${reference}/neighbour-letters.pdf`,
    );
    assert.equal(letters.headers()['content-type'], 'application/pdf');

    // Twenty-one days on, the consultation has closed.
    const row = (await e2e.kiln.services.planning.service.findByReference(e2e.kiln.platform.db, reference))!;
    await sql`update planning_applications set consultation_start = '2026-01-01', consultation_end = '2026-01-22' where id = ${row.id}`.execute(
      e2e.kiln.platform.db,
    );
    await officer.goto(`/staff/planning/applications/${reference}`);
    await officer.fill('Assessment', 'A modest rear extension, set in from the boundary. No objections.');
    await officer.choose('Grant');
    await officer.submit('Save the report');
    await officer.page.getByRole('group', { name: 'Decision' }).getByLabel('Refuse').check();
    await officer.submit('Issue the decision', { status: 400 });
    assert.deepEqual(await officer.errorSummary(), ['Give at least one reason for refusal']);
    await officer.choose('Grant with conditions');
    await officer.submit('Issue the decision');
    assert.match(await officer.mainText(), /Decided\. The decision notice has been sent/);
  });

  test('a member of the public finds the decision on the register', async () => {
    const member = await visitor('mobile', false);
    await member.goto('/planning');
    await member.follow('Search planning applications');
    await member.fill('Address, postcode or reference', '21 Saggar');
    await member.submit('Search');
    await member.follow('21 Saggar Street, Kilnford, KF1 3CD');
    const text = await member.mainText();
    assert.match(text, /Granted/);
    assert.match(text, /The development must be begun within three years/);
    const notice = await member.page.request.get(
      `/planning/applications/${references[0]}/decision-notice.pdf`,
    );
    assert.equal(notice.headers()['content-type'], 'application/pdf');
  });
});
