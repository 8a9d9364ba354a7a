import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2e, type KilnPage } from './support/journey.ts';
import { emailedLink, inboxShows, signInStaff } from './support/people.ts';

// A housing officer sends a tenancy agreement; two tenants sign on their phones (one with
// JavaScript off, one drawing a signature), the officer countersigns, and the sealed PDF is
// checked by poppler's pdfsig and by Kiln's verify page. Every page is checked with axe.
describe('Kiln Sign: a two-tenant tenancy agreement, end to end', () => {
  let e2e: E2e;
  let officer: KilnPage;
  let reference = '';
  let sealedFile = '';

  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  async function signAs(page: KilnPage, email: string, name: string, draw = false) {
    const link = await emailedLink(page, email, /\/sign\/[\w-]+$/);
    await page.goto(link);
    assert.equal(await page.heading(), 'Sign Tenancy agreement, 4 Saggar Row');
    await page.submit('Send me a security code');
    assert.equal(await page.heading(), 'Enter your security code');
    const inbox = await inboxShows(page, email, /security code to sign a document is \d{6}/);
    const code = inbox.match(/security code to sign a document is (\d{6})/)![1]!;
    await page.goto('/sign/code');
    await page.fill('Enter your security code', code);
    await page.submit('Continue');
    assert.equal(await page.heading(), 'Tenancy agreement, 4 Saggar Row');
    await page.submit('Sign document', { status: 400 });
    assert.deepEqual(await page.errorSummary(), [
      'Confirm you have read the whole document',
      'Confirm you agree to sign electronically',
      'Enter your full name to sign',
    ]);
    await page.choose('I have read the whole document');
    await page.choose('I agree to sign this document electronically');
    await page.fill('Type your full name to sign', name);
    if (draw) {
      const canvas = page.page.getByRole('img', { name: 'Signature drawing area' });
      await canvas.scrollIntoViewIfNeeded();
      const box = (await canvas.boundingBox())!;
      await page.page.mouse.move(box.x + 10, box.y + box.height / 2);
      await page.page.mouse.down();
      for (let x = 10; x < box.width - 10; x += 8) {
        await page.page.mouse.move(box.x + x, box.y + box.height / 2 + Math.sin(x / 12) * 20);
      }
      await page.page.mouse.up();
    }
    await page.submit('Sign document');
    assert.equal(await page.heading(), 'Document signed');
  }

  test('the housing officer sends the agreement, countersigning last', async () => {
    officer = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(officer, 'officer@kilnford.example');
    await officer.goto('/staff/signing');
    await officer.submit('Send a document');
    await officer.choose('Secure tenancy agreement');
    await officer.submit('Continue');
    assert.equal(await officer.heading(), 'Send Secure tenancy agreement');
    await officer.fill('Title of the document', 'Tenancy agreement, 4 Saggar Row');
    await officer.fill('Tenant names', 'Alex Moreton and Casey Lindqvist');
    await officer.fill('Property address', '4 Saggar Row, Kilnford KF2 8LP');
    await officer.fill('Start date', '7 December 2026');
    await officer.fill('Weekly rent', '£118.20');
    const p = officer.page;
    await p.locator('#signer1Name').fill('Alex Moreton');
    await p.locator('#signer1Role').fill('Tenant');
    await p.locator('#signer1Email').fill('resident@kilnford.example');
    await p.locator('#signer2Name').fill('Casey Lindqvist');
    await p.locator('#signer2Role').fill('Joint tenant');
    await p.locator('#signer2Email').fill('casey.lindqvist@example.com');
    await officer.choose('I countersign last, as the council officer');
    await officer.submit('Send for signature');
    assert.equal(await officer.heading(), 'Tenancy agreement, 4 Saggar Row');
    reference = (await p.locator('.govuk-caption-l').first().textContent())!.trim();
    assert.match(reference, /^SG-/);
  });

  test('the first tenant signs on a phone with JavaScript off', async () => {
    const tenant = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await signAs(tenant, 'resident@kilnford.example', 'Alex Moreton');
    assert.match(await tenant.mainText(), /asked Casey Lindqvist \(joint tenant\) to sign next/);
  });

  test('the joint tenant signs on a phone, drawing a signature', async () => {
    const tenant = await e2e.visitor({ viewport: 'mobile', javaScript: true });
    await signAs(tenant, 'casey.lindqvist@example.com', 'Casey Lindqvist', true);
  });

  test('the officer countersigns; the sealed PDF passes pdfsig and the verify page', async () => {
    await signAs(officer, 'officer@kilnford.example', 'Tom Bradwell');
    assert.match(await officer.mainText(), /Everyone has signed/);
    await officer.goto(`/staff/signing/envelopes/${reference}`);
    assert.match(await officer.mainText(), /signed and sealed/);
    const detail = await e2e.kiln.services.signing.service.envelopeDetail(e2e.kiln.platform.db, reference);
    assert.deepEqual(
      detail!.signers.map((s) => s.method),
      ['typed', 'drawn', 'typed'],
    );
    const download = await officer.page.request.get(`/staff/signing/envelopes/${reference}/sealed.pdf`);
    assert.equal(download.status(), 200);
    const pdf = await download.body();
    sealedFile = join(mkdtempSync(join(tmpdir(), 'kiln-e2e-sign-')), `${reference}.pdf`);
    writeFileSync(sealedFile, pdf);
    const report = execFileSync('pdfsig', [sealedFile]).toString();
    assert.match(report, /Signature is Valid/);
    assert.match(report, /Total document signed/);
    execFileSync('qpdf', ['--check', sealedFile]);

    const checker = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await checker.goto('/verify-a-document');
    await checker.page.getByLabel('Upload the PDF').setInputFiles(sealedFile);
    await checker.submit('Check document');
    assert.equal(await checker.heading(), 'This document is genuine and has not been changed');
    assert.match(await checker.mainText(), /Alex Moreton.*Casey Lindqvist.*Tom Bradwell/);
  });

  test('the tenant with an account finds the sealed agreement in My account', async () => {
    const tenant = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    const { signInResident } = await import('./support/people.ts');
    await signInResident(tenant, 'resident@kilnford.example');
    await tenant.goto('/account/documents');
    assert.equal(await tenant.heading(), 'Your documents and letters');
    assert.ok((await tenant.links()).some((l) => l.text.startsWith('Tenancy agreement, 4 Saggar Row')));
    await tenant.follow(/^Change/);
    await tenant.choose('In my account (paperless)');
    await tenant.submit('Save');
    assert.match(await tenant.mainText(), /In your account \(paperless\)/);
  });
});
