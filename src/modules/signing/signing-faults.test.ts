import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { loadSealingCertificate } from './certificate.ts';
import { renderDocument, sealDocument } from './pdf.ts';
import { tables } from '../../platform/db/index.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import type { SigningTables } from './schema.ts';
import { SigningError, type NewSigner } from './service.ts';
import {
  drawnSignatureDataUrl,
  externalChecks,
  latestMessage,
  openInvitation,
  postMultipart,
  signingPath,
  verifyUpload,
} from './testing.ts';

describe('Kiln Sign: bad input and faults are refused, nothing half-sealed', () => {
  let kiln: TestKiln;
  let officerId: string;
  const t = () => tables<SigningTables>(kiln.platform.db);

  async function send(signers: NewSigner[], title = 'Trade waste collection contract') {
    return kiln.services.signing.service.sendEnvelope(
      { type: 'staff', id: officerId },
      {
        title,
        template: {
          slug: 'trade-waste-contract',
          values: {
            business_name: 'Glaze & Grind Café',
            business_address: '3 Throwers Yard, Kilnford KF3 1QT',
            container: 'one 1,100 litre bin',
            collection_day: 'Tuesday',
            annual_charge: '£624.00',
          },
        },
        signers,
      },
    );
  }

  before(async () => {
    kiln = await startTestApp();
    const officer = await kiln.platform.db
      .selectFrom('staff_users')
      .select('id')
      .where('email', '=', 'officer@kilnford.example')
      .executeTakeFirstOrThrow();
    officerId = officer.id as string;
  });
  after(async () => kiln.close());

  test('five wrong codes lock signing; the council can send a new link', async () => {
    const { reference } = await send([
      { name: 'Robin Quarry', role: 'Customer', email: 'robin@example.com' },
    ]);
    const invitation = await latestMessage(kiln, 'robin@example.com', 'signing-invitation');
    const link = signingPath(invitation.body);
    const client = new Client(kiln.app);
    await client.get(link);
    await client.follow(await client.post(link, {}));
    const code = (await latestMessage(kiln, 'robin@example.com', 'signing-code')).body.match(/\d{6}/)![0];
    const wrong = code === '999999' ? '888888' : '999999';
    for (let i = 1; i <= 4; i++) {
      const res = await client.post('/sign/code', { code: wrong });
      assert.equal(res.statusCode, 400);
    }
    const locked = await client.post('/sign/code', { code: wrong });
    assert.equal(page(locked.body).heading(), 'Signing is locked');
    // Even the right code no longer works.
    await client.get('/sign/code');
    const after = await client.post('/sign/code', { code });
    assert.equal(page(after.body).heading(), 'Signing is locked');
    const signer = await t()
      .selectFrom('signing_signers')
      .selectAll()
      .where('email', '=', 'robin@example.com')
      .executeTakeFirstOrThrow();
    assert.equal(signer.status, 'locked');
    assert.equal(signer.code_attempts, 5);

    await kiln.services.signing.service.remind({ type: 'staff', id: officerId }, reference);
    const { client: again } = await kiln.eventually(async () => {
      const messages = await kiln.platform.notify.list(kiln.platform.db, { recipient: 'robin@example.com' });
      return messages.filter((m) => m.template === 'signing-invitation').length === 2
        ? openInvitation(kiln, 'robin@example.com')
        : null;
    });
    const doc = await again.get('/sign/document');
    assert.equal(page(doc.body).heading(), 'Trade waste collection contract');
  });

  test('an expired link and an unknown link are refused with clear words', async () => {
    await send([{ name: 'Sky Potter', role: 'Customer', email: 'sky@example.com' }]);
    const link = signingPath((await latestMessage(kiln, 'sky@example.com', 'signing-invitation')).body);
    await t()
      .updateTable('signing_signers')
      .set({ link_expires_at: new Date(Date.now() - 1000) })
      .where('email', '=', 'sky@example.com')
      .execute();
    const expired = await new Client(kiln.app).get(link);
    assert.equal(expired.statusCode, 410);
    assert.equal(page(expired.body).heading(), 'This link has expired');
    const unknown = await new Client(kiln.app).get('/sign/not-a-real-link');
    assert.equal(page(unknown.body).heading(), 'This link is not right');
  });

  test('a signer cannot sign out of order', async () => {
    const { reference } = await send([
      { name: 'Ash Firing', role: 'Customer', email: 'ash@example.com' },
      { name: 'Bay Glost', role: 'Guarantor', email: 'bay@example.com' },
    ]);
    const detail = await kiln.services.signing.service.envelopeDetail(kiln.platform.db, reference);
    const second = detail!.signers[1]!;
    // As if the second signer had a verified session before their turn.
    await t()
      .updateTable('signing_signers')
      .set({ verified_at: new Date(), status: 'invited' })
      .where('id', '=', second.id)
      .execute();
    await assert.rejects(
      kiln.services.signing.service.sign(second.id, { typedName: 'Bay Glost' }),
      (e: unknown) =>
        e instanceof SigningError && e.code === 'out_of_order' && /not your turn/.test(e.message),
    );
    const after = await kiln.services.signing.service.envelopeDetail(kiln.platform.db, reference);
    assert.equal(after!.signers[1]!.signed_at, null);
  });

  test('a document altered after sending cannot be signed, and nothing is sealed', async () => {
    const { reference } = await send([{ name: 'Cam Slip', role: 'Customer', email: 'cam@example.com' }]);
    const { client } = await openInvitation(kiln, 'cam@example.com');
    const envelope = await t()
      .selectFrom('signing_envelopes')
      .selectAll()
      .where('reference', '=', reference)
      .executeTakeFirstOrThrow();
    const tampered = Buffer.from(envelope.document);
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 1;
    await t()
      .updateTable('signing_envelopes')
      .set({ document: tampered })
      .where('id', '=', envelope.id)
      .execute();
    const res = await client.post('/sign/document', { read: 'yes', consent: 'yes', typedName: 'Cam Slip' });
    assert.equal(page(res.body).heading(), 'This document cannot be signed');
    const after = await t()
      .selectFrom('signing_envelopes')
      .selectAll()
      .where('id', '=', envelope.id)
      .executeTakeFirstOrThrow();
    assert.equal(after.status, 'in_progress');
    assert.equal(after.sealed_document, null);
    const signer = await t()
      .selectFrom('signing_signers')
      .selectAll()
      .where('envelope_id', '=', envelope.id)
      .executeTakeFirstOrThrow();
    assert.equal(signer.signed_at, null);
  });

  test('a signer who declines stops the envelope, with their reason kept', async () => {
    const { reference } = await send([{ name: 'Dee Saggar', role: 'Customer', email: 'dee@example.com' }]);
    const { client } = await openInvitation(kiln, 'dee@example.com');
    await client.get('/sign/decline');
    const empty = await client.post('/sign/decline', { reason: '' });
    assert.deepEqual(page(empty.body).errorSummary(), ['Enter why you do not want to sign']);
    const declined = await client.follow(
      await client.post('/sign/decline', { reason: 'The collection day is wrong' }),
    );
    assert.equal(page(declined.body).heading(), 'You declined to sign');
    const detail = await kiln.services.signing.service.envelopeDetail(kiln.platform.db, reference);
    assert.equal(detail!.envelope.status, 'declined');
    assert.equal(detail!.envelope.sealed_document, null);
  });

  test('a voided envelope’s link stops working', async () => {
    const { reference } = await send([{ name: 'Eli Pug', role: 'Customer', email: 'eli@example.com' }]);
    const link = signingPath((await latestMessage(kiln, 'eli@example.com', 'signing-invitation')).body);
    await kiln.services.signing.service.voidEnvelope(
      { type: 'staff', id: officerId },
      reference,
      'Sent to the wrong person',
    );
    const res = await new Client(kiln.app).get(link);
    assert.equal(page(res.body).heading(), 'This document can no longer be signed');
    assert.match(page(res.body).text(), /withdrawn by the council/);
  });

  test('the verify page refuses a file that is not a PDF, an encrypted PDF, a PDF too large, and says when a PDF is not sealed', async () => {
    const notPdf = await verifyUpload(kiln, Buffer.from('GIF89a this is an image'), 'picture.pdf');
    assert.equal(notPdf.response.statusCode, 400);
    assert.deepEqual(notPdf.page.errorSummary(), ['The selected file must be a PDF']);

    const plain = await PDFDocument.create();
    plain.addPage();
    const bytes = Buffer.from(await plain.save({ useObjectStreams: false }));
    // An encryption dictionary in the trailer, as a password-protected PDF has.
    const encrypted = Buffer.from(
      bytes.toString('latin1').replace('trailer\n<<', 'trailer\n<<\n/Encrypt 9 0 R'),
      'latin1',
    );
    const enc = await verifyUpload(kiln, encrypted);
    assert.deepEqual(enc.page.errorSummary(), [
      'The selected file is password protected. Upload a copy without a password',
    ]);

    const unsigned = await verifyUpload(kiln, bytes);
    assert.equal(unsigned.page.heading(), 'This document is not sealed');

    const huge = Buffer.concat([bytes, Buffer.alloc(kiln.platform.config.UPLOAD_LIMIT_BYTES + 10, 0x20)]);
    const big = await verifyUpload(kiln, huge);
    assert.equal(big.response.statusCode, 413);
    assert.deepEqual(big.page.errorSummary(), ['The selected file must be smaller than 10MB']);

    const none = await verifyUpload(kiln, Buffer.alloc(0), '');
    assert.deepEqual(none.page.errorSummary(), ['Select a PDF to check']);
  });

  test('a drawn signature is stamped into the seal; a drawing that is not a PNG is refused with a message', async () => {
    const { reference } = await send([{ name: 'Fen Biscuit', role: 'Customer', email: 'fen@example.com' }]);
    const { client } = await openInvitation(kiln, 'fen@example.com');
    const broken = await client.post('/sign/document', {
      read: 'yes',
      consent: 'yes',
      typedName: 'Fen Biscuit',
      drawnSignature: `data:image/png;base64,${Buffer.from('not a png').toString('base64')}`,
    });
    assert.equal(broken.statusCode, 400);
    assert.match(page(broken.body).errorSummary()[0]!, /drawn signature could not be read/);
    const signed = await client.post('/sign/document', {
      read: 'yes',
      consent: 'yes',
      typedName: 'Fen Biscuit',
      drawnSignature: drawnSignatureDataUrl(),
    });
    assert.equal(signed.statusCode, 303);
    const detail = await kiln.services.signing.service.envelopeDetail(kiln.platform.db, reference);
    assert.equal(detail!.envelope.status, 'completed');
    assert.equal(detail!.signers[0]!.method, 'drawn');
    const sealed = Buffer.from(detail!.envelope.sealed_document!);
    assert.match(sealed.toString('latin1'), /\/Subtype \/Image/);
    const { pdfsig } = await externalChecks(sealed);
    assert.match(pdfsig.out, /Signature is Valid/);
  });

  test('an officer sends an uploaded PDF; a file that is not a PDF, or is encrypted, is refused', async () => {
    const { staffClient } = await import('../../../test/support/staff.ts');
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    const form = await officer.get('/staff/signing/send/details?template=upload');
    assert.equal(page(form.body).heading(), 'Send an uploaded PDF');
    const fields = {
      template: 'upload',
      title: 'Allotment licence, plot 14',
      signer1Name: 'Gale Tunnel',
      signer1Role: 'Licensee',
      signer1Email: 'gale@example.com',
    };
    const doc = await PDFDocument.create();
    doc.addPage().drawText('Allotment licence');
    const pdf = Buffer.from(await doc.save({ useObjectStreams: false }));

    const notPdf = await postMultipart(kiln, officer, '/staff/signing/send/details', fields, {
      name: 'document',
      filename: 'licence.pdf',
      content: Buffer.from('just some text'),
    });
    assert.equal(notPdf.response.statusCode, 400);
    assert.deepEqual(notPdf.page.errorSummary(), ['The selected file must be a PDF']);

    const encrypted = Buffer.from(
      pdf.toString('latin1').replace('trailer\n<<', 'trailer\n<<\n/Encrypt 9 0 R'),
      'latin1',
    );
    const refused = await postMultipart(kiln, officer, '/staff/signing/send/details', fields, {
      name: 'document',
      filename: 'licence.pdf',
      content: encrypted,
    });
    assert.deepEqual(refused.page.errorSummary(), [
      'The selected file is password protected. Upload a copy without a password',
    ]);

    const sent = await postMultipart(kiln, officer, '/staff/signing/send/details', fields, {
      name: 'document',
      filename: 'licence.pdf',
      content: pdf,
    });
    assert.equal(sent.response.statusCode, 303, sent.page.errorSummary().join());
    const detail = await officer.get(String(sent.response.headers.location));
    assert.equal(page(detail.body).heading(), 'Allotment licence, plot 14');
    await latestMessage(kiln, 'gale@example.com', 'signing-invitation');
  });

  test('housekeeping reminds a signer who has not acted and expires an envelope past its date', async () => {
    const slow = await send([{ name: 'Hal Kiln', role: 'Customer', email: 'hal@example.com' }]);
    const late = await send([{ name: 'Ivy Bisque', role: 'Customer', email: 'ivy@example.com' }]);
    const fourDaysAgo = new Date(Date.now() - 4 * 86_400_000);
    await t()
      .updateTable('signing_signers')
      .set({ link_expires_at: new Date(fourDaysAgo.getTime() + 7 * 86_400_000) })
      .where('email', '=', 'hal@example.com')
      .execute();
    await t()
      .updateTable('signing_envelopes')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('reference', '=', late.reference)
      .execute();
    await kiln.services.signing.service.runHousekeeping();
    const invitations = await kiln.eventually(async () => {
      const list = (
        await kiln.platform.notify.list(kiln.platform.db, { recipient: 'hal@example.com' })
      ).filter((m) => m.template === 'signing-invitation');
      return list.length === 2 ? list : null;
    });
    assert.equal(invitations.length, 2);
    const expired = await kiln.services.signing.service.envelopeDetail(kiln.platform.db, late.reference);
    assert.equal(expired!.envelope.status, 'expired');
    const still = await kiln.services.signing.service.envelopeDetail(kiln.platform.db, slow.reference);
    assert.equal(still!.envelope.status, 'in_progress');
  });

  test('a PDF sealed with another certificate is intact but not the council’s seal', async () => {
    const other = loadSealingCertificate({
      dataDir: mkdtempSync(join(tmpdir(), 'kiln-other-seal-')),
      councilName: 'Elsewhere District Council',
    });
    const original = await renderDocument({
      title: 'Letter',
      body: 'Hello',
      councilName: 'Elsewhere',
      reference: 'X-1',
    });
    const foreign = await sealDocument({
      original,
      reference: 'X-1',
      title: 'Letter',
      councilName: 'Elsewhere District Council',
      documentSha256: '0'.repeat(64),
      signatures: [],
      events: [],
      certificate: other,
      sealedAt: new Date(),
    });
    const { page: result } = await verifyUpload(kiln, foreign);
    assert.equal(result.heading(), 'This document is sealed, but not by this council');
  });

  test('staff without the permission cannot send; agents are refused', async () => {
    const { staffClient } = await import('../../../test/support/staff.ts');
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    const res = await agent.get('/staff/signing/send');
    assert.equal(res.statusCode, 403);
  });
});
