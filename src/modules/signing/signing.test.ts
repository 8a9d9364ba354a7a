import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PDFDocument } from 'pdf-lib';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { externalChecks, latestMessage, signByTypedName, signingPath, verifyUpload } from './testing.ts';

describe('Kiln Sign: a tenancy agreement from sending to a verified seal', () => {
  let kiln: TestKiln;
  let officer: Client;
  let reference = '';
  let sealed: Buffer;
  let residentClient: Client;

  before(async () => {
    kiln = await startTestApp();
    officer = await staffClient(kiln, 'officer@kilnford.example');
  });
  after(async () => kiln.close());

  test('a housing officer sends a tenancy agreement to two tenants, countersigning last', async () => {
    const choose = await officer.get('/staff/signing/send');
    assert.equal(page(choose.body).heading(), 'What do you want to send?');
    const details = await officer.get('/staff/signing/send/details?template=tenancy-agreement');
    assert.equal(page(details.body).heading(), 'Send Secure tenancy agreement');

    const missing = await officer.post('/staff/signing/send/details', {
      template: 'tenancy-agreement',
      title: 'Tenancy',
    });
    assert.equal(missing.statusCode, 400);
    assert.ok(page(missing.body).errorSummary().includes('Enter the tenant names'));
    assert.ok(page(missing.body).errorSummary().includes('Signer 1: Enter the signer’s full name'));

    const sent = await officer.post('/staff/signing/send/details', {
      template: 'tenancy-agreement',
      title: 'Tenancy agreement, 4 Saggar Row',
      field_tenant_names: 'Alex Moreton and Casey Lindqvist',
      field_property_address: '4 Saggar Row, Kilnford KF2 8LP',
      field_start_date: '7 December 2026',
      field_weekly_rent: '£118.20',
      signer1Name: 'Alex Moreton',
      signer1Role: 'Tenant',
      signer1Email: 'resident@kilnford.example',
      signer2Name: 'Casey Lindqvist',
      signer2Role: 'Joint tenant',
      signer2Email: 'casey.lindqvist@example.com',
      signer2Phone: '07700 900456',
      countersign: 'yes',
    });
    assert.equal(sent.statusCode, 303, page(sent.body).errorSummary().join());
    const detail = await officer.follow(sent);
    reference = page(detail.body).root.querySelector('.govuk-caption-l')!.text.trim();
    assert.match(reference, /^SG-/);
    assert.match(page(detail.body).text(), /Tom Bradwell.*Council officer/);

    // Only the first signer is invited; the second waits for their turn.
    await latestMessage(kiln, 'resident@kilnford.example', 'signing-invitation');
    const early = await kiln.platform.notify.list(kiln.platform.db, {
      recipient: 'casey.lindqvist@example.com',
    });
    assert.equal(early.length, 0);
  });

  test('the first tenant confirms a code, is told what is missing, signs, and the link cannot be reused', async () => {
    const invitation = await latestMessage(kiln, 'resident@kilnford.example', 'signing-invitation');
    const link = signingPath(invitation.body);
    const client = new Client(kiln.app);
    const start = await client.get(link);
    assert.equal(page(start.body).heading(), 'Sign Tenancy agreement, 4 Saggar Row');
    await client.follow(await client.post(link, {}));
    const wrong = await client.post('/sign/code', { code: '12345' });
    assert.deepEqual(page(wrong.body).errorSummary(), ['Enter the 6-digit code we sent you']);

    const reused = await new Client(kiln.app).get(link);
    assert.equal(page(reused.body).heading(), 'This link has already been used');

    const code = (await latestMessage(kiln, 'resident@kilnford.example', 'signing-code')).body.match(
      /\d{6}/,
    )![0];
    const other = code === '000000' ? '111111' : '000000';
    const bad = await client.post('/sign/code', { code: other });
    assert.deepEqual(page(bad.body).errorSummary(), ['The code is not right. You have 4 more tries.']);
    const ok = await client.post('/sign/code', { code });
    const doc = await client.follow(ok);
    assert.equal(page(doc.body).heading(), 'Tenancy agreement, 4 Saggar Row');
    // The whole document is readable as a web page too, with the details filled in.
    assert.match(page(doc.body).text(), /lets the home at 4 Saggar Row, Kilnford KF2 8LP to the tenant/);
    const pdf = await client.get('/sign/document.pdf');
    assert.equal(pdf.headers['content-type'], 'application/pdf');

    const incomplete = await client.post('/sign/document', { typedName: '' });
    assert.equal(incomplete.statusCode, 400);
    assert.deepEqual(page(incomplete.body).errorSummary(), [
      'Confirm you have read the whole document',
      'Confirm you agree to sign electronically',
      'Enter your full name to sign',
    ]);
    const signed = await client.post('/sign/document', {
      read: 'yes',
      consent: 'yes',
      typedName: 'Alex Moreton',
    });
    const done = await client.follow(signed);
    assert.equal(page(done.body).heading(), 'Document signed');
    assert.match(page(done.body).text(), /asked Casey Lindqvist \(joint tenant\) to sign next/);
  });

  test('the joint tenant and then the officer sign; everyone gets the sealed copy', async () => {
    const sms = await kiln.eventually(async () =>
      (await kiln.platform.notify.list(kiln.platform.db, { recipient: '07700 900456' })).find(
        (m) => m.channel === 'sms',
      ),
    );
    assert.match(sms.body, /Open this link/);
    await signByTypedName(kiln, 'casey.lindqvist@example.com', 'Casey Lindqvist');
    const done = await signByTypedName(kiln, 'officer@kilnford.example', 'Tom Bradwell');
    assert.equal(page(done.body).heading(), 'Document signed');
    assert.match(page(done.body).text(), /Everyone has signed/);

    for (const email of [
      'resident@kilnford.example',
      'casey.lindqvist@example.com',
      'officer@kilnford.example',
    ]) {
      const message = await latestMessage(kiln, email, 'signing-completed');
      const path = message.body.match(/http:\/\/localhost:3000(\/signed\/[\w-]+)/)![1]!;
      const copy = await kiln.app.inject({ url: path });
      assert.equal(copy.headers['content-type'], 'application/pdf');
      sealed = copy.rawPayload;
    }
    const staffCopy = await officer.get(`/staff/signing/envelopes/${reference}/sealed.pdf`);
    assert.ok(staffCopy.rawPayload.equals(sealed));
    const detail = await officer.get(`/staff/signing/envelopes/${reference}`);
    assert.match(page(detail.body).text(), /signed and sealed/);
  });

  test('pdfsig reports the seal valid over the whole document and qpdf finds no errors', async () => {
    const { pdfsig, qpdf } = await externalChecks(sealed);
    assert.match(pdfsig.out, /Signature Validation: Signature is Valid/);
    assert.match(pdfsig.out, /Total document signed/);
    assert.match(pdfsig.out, /Signature Type: ETSI\.CAdES\.detached/);
    assert.equal(qpdf.code, 0, qpdf.out);
    assert.match(qpdf.out, /No syntax or stream encoding errors found/);
    // The certificate of completion is inside the sealed document.
    assert.match(sealed.toString('latin1'), /Certificate of completion|\/Type \/Sig/);
  });

  test('the verify page names the signers of an intact copy', async () => {
    const { response, page: result } = await verifyUpload(kiln, sealed);
    assert.equal(response.statusCode, 200);
    assert.equal(result.heading(), 'This document is genuine and has not been changed');
    assert.match(result.text(), new RegExp(reference));
    assert.match(
      result.text(),
      /Alex Moreton.*Tenant.*Casey Lindqvist.*Joint tenant.*Tom Bradwell.*Council officer/,
    );
  });

  test('one changed byte is reported by both the verify page and pdfsig', async () => {
    // One hex digit of the document's title in its information dictionary: still a well-formed PDF.
    const altered = Buffer.from(sealed);
    const at = altered.indexOf('/Title <FEFF') + '/Title <FEFF'.length;
    assert.ok(at > 20);
    altered[at] = altered[at] === 0x30 ? 0x31 : 0x30;
    const { page: result } = await verifyUpload(kiln, altered);
    assert.equal(result.heading(), 'This document has been changed since it was sealed');
    const { pdfsig } = await externalChecks(altered);
    assert.doesNotMatch(pdfsig.out, /Signature is Valid/);
    assert.match(pdfsig.out, /Signature Validation: Digest Mismatch/);
  });

  test('the tenant with an account finds the sealed document in My account', async () => {
    const client = new Client(kiln.app);
    await client.get('/sign-in');
    await client.post('/sign-in', { email: 'resident@kilnford.example' });
    const message = await latestMessage(kiln, 'resident@kilnford.example', 'sign-in-link').catch(async () =>
      (await kiln.platform.notify.list(kiln.platform.db, { recipient: 'resident@kilnford.example' })).find(
        (m) => m.body.includes('/sign-in/link'),
      ),
    );
    const link = message!.body.match(/http:\/\/localhost:3000(\/sign-in\/link\?token=[\w-]+)/)![1]!;
    await client.get(link);
    await client.post('/sign-in/link', { token: new URL(link, 'http://x').searchParams.get('token')! });
    const overview = await client.get('/account');
    assert.ok(
      page(overview.body)
        .links()
        .some((l) => l.href === '/account/documents' && l.text === 'Your documents and letters'),
      'My account links to the documents',
    );
    const list = await client.get('/account/documents');
    assert.equal(page(list.body).heading(), 'Your documents and letters');
    const item = page(list.body)
      .links()
      .find((l) => l.text.startsWith('Tenancy agreement, 4 Saggar Row'));
    assert.ok(item, 'the sealed document is listed');
    const pdf = await client.get(item.href);
    assert.ok(pdf.rawPayload.equals(sealed));
    residentClient = client;
    // Another resident's reference looks like nothing at all.
    const stranger = new Client(kiln.app);
    const refused = await stranger.get(item.href);
    assert.equal(refused.statusCode, 303);
  });

  test('the resident goes paperless; a bill delivered to the account arrives with an email', async () => {
    const client = residentClient;
    const form = await client.get('/account/documents/paperless');
    assert.equal(page(form.body).heading(), 'How do you want to get bills and letters?');
    const empty = await client.post('/account/documents/paperless', {});
    assert.deepEqual(page(empty.body).errorSummary(), ['Select how you want to get bills and letters']);
    const saved = await client.follow(
      await client.post('/account/documents/paperless', { paperless: 'yes' }),
    );
    assert.match(page(saved.body).text(), /In your account \(paperless\)/);
    const share = await kiln.services.signing.service.paperlessShare(kiln.platform.db);
    assert.equal(share.paperless, 1);
    assert.ok(share.share > 0 && share.share <= 1);

    const residentId = (
      await kiln.platform.db
        .selectFrom('residents')
        .select('id')
        .where('email', '=', 'resident@kilnford.example')
        .executeTakeFirstOrThrow()
    ).id as string;
    const bill = await PDFDocument.create();
    bill.addPage().drawText('Council Tax bill 2027/28');
    const pdf = Buffer.from(await bill.save());
    await kiln.platform.db.transaction().execute((tx) =>
      kiln.services.signing.service.deliverLetter(tx, residentId, {
        title: 'Council Tax bill 2027 to 2028',
        pdf,
      }),
    );
    const email = await latestMessage(kiln, 'resident@kilnford.example', 'letter-delivered');
    assert.match(email.body, /Council Tax bill 2027 to 2028/);
    const list = await client.get('/account/documents');
    const link = page(list.body)
      .links()
      .find((l) => l.text.startsWith('Council Tax bill 2027 to 2028'));
    assert.ok(link);
    assert.ok((await client.get(link.href)).rawPayload.equals(pdf));
    await assert.rejects(
      kiln.platform.db.transaction().execute((tx) =>
        kiln.services.signing.service.deliverLetter(tx, residentId, {
          title: 'Not a PDF',
          pdf: Buffer.from('hello'),
        }),
      ),
      /must be a PDF/,
    );
  });

  test('staff see the signed document and the letter on the customer view', async () => {
    const agent = await staffClient(kiln, 'lead@kilnford.example');
    const view = await agent.get('/staff/customers/CU-DEMO-01');
    assert.equal(view.statusCode, 200);
    const text = page(view.body).text();
    assert.match(text, new RegExp(`${reference}: Tenancy agreement, 4 Saggar Row`));
    assert.match(text, /Council Tax bill 2027 to 2028/);
  });
});
