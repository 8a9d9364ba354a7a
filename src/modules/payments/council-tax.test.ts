import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { DEMO_RESIDENT_EMAIL, residentClient, residentIdOf } from '../../../test/support/resident.ts';
import { submitSandboxCard } from './test-support.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays, isWorkingDay } from '../../platform/working-days.ts';
import { bandCharge } from './council-tax.ts';
import { DEMO_COUNCIL_TAX_ACCOUNT } from './demo.ts';

const run = promisify(execFile);

/** The text of a PDF as poppler's pdftotext reads it (a reader Kiln did not write), and qpdf's check. */
async function readPdf(pdf: Buffer): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-pdf-')), 'doc.pdf');
  writeFileSync(file, pdf);
  await run('qpdf', ['--check', file]);
  const { stdout } = await run('pdftotext', ['-layout', file, '-']);
  return stdout;
}

const ACCOUNT = `/account/council-tax/${DEMO_COUNCIL_TAX_ACCOUNT}`;

describe('Council Tax account in My account', () => {
  let kiln: TestKiln;
  let residentId: string;
  before(async () => {
    kiln = await startTestApp();
    residentId = await residentIdOf(kiln);
  });
  after(async () => kiln.close());

  const signInResident = (email = DEMO_RESIDENT_EMAIL) => residentClient(kiln, email);

  test('bands follow the ninths of band D', () => {
    assert.equal(bandCharge(223_704, 'D'), 223_704);
    assert.equal(bandCharge(223_704, 'A'), 149_136);
    assert.equal(bandCharge(223_704, 'C'), 198_848);
    assert.equal(bandCharge(223_704, 'H'), 447_408);
  });

  test('the account page: band, charge, balance from the ledger, instalments, barcode and receipts', async () => {
    assert.equal((await new Client(kiln.app).get(ACCOUNT)).statusCode, 303, 'signed-in residents only');
    const client = await signInResident();
    const account = await client.get('/account');
    assert.ok(
      page(account.body)
        .links()
        .some((l) => l.href === '/account/council-tax'),
    );
    const list = await client.get('/account/council-tax');
    assert.equal(list.headers.location, ACCOUNT);
    const res = await client.get(ACCOUNT);
    assert.equal(res.statusCode, 200);
    const p = page(res.body);
    assert.equal(p.heading(), 'Council tax 2026/27');
    const text = p.text();
    assert.match(text, /Band C/);
    assert.match(text, /Charge for the year £1988\.48/);
    // Six of ten instalments paid by the demo data: 19,892p then 19,884p each.
    const paid = 19_892 + 5 * 19_884;
    assert.match(text, new RegExp(`Paid so far £${(paid / 100).toFixed(2)}`));
    assert.match(text, /Left to pay £795\.36/);
    assert.equal(p.root.querySelectorAll('tbody tr .govuk-tag').filter((t) => t.text === 'Paid').length, 6);
    assert.ok(p.root.querySelector('.kiln-barcode svg[role="img"]'), 'the pay-point barcode is on the page');
    assert.match(text, /Payment reference: 9826 /);
    const receipts = p.links().filter((l) => l.href.endsWith('/receipt.pdf'));
    assert.equal(receipts.length, 6);
    const receipt = await client.get(receipts[0]!.href);
    assert.equal(receipt.headers['content-type'], 'application/pdf');
    const receiptText = await readPdf(receipt.rawPayload);
    assert.match(receiptText, /Payment receipt/);
    assert.match(receiptText, /Alex Moreton/);
    assert.match(receiptText, /Council tax 2026\/27, account 40017123/);

    // Someone else's account looks like one that does not exist.
    const other = await kiln.platform.db.transaction().execute(async (tx) => {
      const { rows } = await sql<{ id: string }>`
        insert into residents (reference, email, name, has_account)
        values ('CU-TEST-CT', 'other.payer@example.com', 'Other Payer', true) returning id`.execute(tx);
      return rows[0]!.id;
    });
    assert.ok(other);
    const stranger = await signInResident('other.payer@example.com');
    assert.equal((await stranger.get(ACCOUNT)).statusCode, 404);
    assert.equal((await stranger.get(`${ACCOUNT}/bill.pdf`)).statusCode, 404);
    assert.equal((await stranger.get(receipts[0]!.href)).statusCode, 404);
  });

  test('the bill is a PDF with the charge, the instalments and the pay-point barcode', async () => {
    const client = await signInResident();
    const res = await client.get(`${ACCOUNT}/bill.pdf`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/pdf');
    const text = await readPdf(res.rawPayload);
    assert.match(text, /Council tax bill 2026\/27/);
    assert.match(text, /Account number\s+40017123/);
    assert.match(text, /Property band\s+C/);
    assert.match(text, /Amount to pay for the year\s+£1,988\.48/);
    assert.match(text, /1 April 2026\s+£198\.92/);
    assert.match(text, /1 January 2027\s+£198\.84/);
    assert.match(text, /Payment reference: 9826 \d{4} \d{4} \d{4} \d{4}/);
    // The barcode is an image on the page.
    const file = join(mkdtempSync(join(tmpdir(), 'kiln-pdf-')), 'bill.pdf');
    writeFileSync(file, res.rawPayload);
    const { stdout } = await run('pdfimages', ['-list', file]);
    assert.match(stdout, /image|smask/);
  });

  test('pay now: amounts are checked, the card page takes the money, the balance and receipt follow', async () => {
    const client = await signInResident();
    let res = await client.get(`${ACCOUNT}/pay`);
    assert.equal(page(res.body).heading(), 'How much do you want to pay?');
    res = await client.post(`${ACCOUNT}/pay`, {
      payKey: page(res.body).root.querySelector('input[name="payKey"]')!.getAttribute('value')!,
      choice: '',
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), ['Select how much you want to pay']);
    const payKey = page(res.body).root.querySelector('input[name="payKey"]')!.getAttribute('value')!;
    res = await client.post(`${ACCOUNT}/pay`, { payKey, choice: 'other', other: '900.00' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), [
      'Enter an amount no more than £795.36, what is left to pay',
    ]);
    res = await client.post(`${ACCOUNT}/pay`, { payKey, choice: 'next' });
    assert.equal(res.statusCode, 303);
    const cardPage = String(res.headers.location);
    assert.match(cardPage, /^\/pay\/card\//);
    const submitted = await submitSandboxCard(client, cardPage, '4444 3333 2222 1111');
    const back = await client.follow(submitted);
    const confirmation = await client.follow(back);
    assert.equal(page(confirmation.body).heading(), 'Payment received');
    assert.ok(
      page(confirmation.body)
        .links()
        .some((l) => l.text === 'Download a PDF receipt'),
    );
    const after = page((await client.get(ACCOUNT)).body).text();
    assert.match(after, /Left to pay £596\.52/);
    // The receipt email links to the PDF receipt.
    const emails = await kiln.platform.notify.list(kiln.platform.db, {
      recipient: 'resident@kilnford.example',
    });
    const receiptEmail = emails.find(
      (m) => m.subject?.startsWith('Payment received') && /£198\.84/.test(m.body),
    );
    assert.ok(receiptEmail);
    assert.match(receiptEmail.body, /\/pay\/PAY-[A-Z0-9-]+\/receipt\.pdf/);
    // Staff see the receipt link on the payment's page and may download it.
    const reference = receiptEmail.body.match(/PAY-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}/)![0];
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    const staffPage = await officer.get(`/staff/payments/${reference}`);
    assert.ok(
      page(staffPage.body)
        .links()
        .some((l) => l.href === `/pay/${reference}/receipt.pdf`),
    );
    const staffReceipt = await officer.get(`/pay/${reference}/receipt.pdf`);
    assert.equal(staffReceipt.headers['content-type'], 'application/pdf');
    assert.match(await readPdf(staffReceipt.rawPayload), /Visa card ending 1111/);
    // My account lists the payments with their receipts.
    const mine = page((await client.get('/account/payments')).body);
    assert.ok(mine.links().some((l) => l.href === `/pay/${reference}/receipt.pdf`));
  });

  test('going paperless delivers the bill to the documents once, with an email; back to post', async () => {
    const client = await signInResident();
    let res = await client.get(`${ACCOUNT}/paperless`);
    assert.equal(page(res.body).heading(), 'How do you want to get your council tax bills?');
    res = await client.post(`${ACCOUNT}/paperless`, {});
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), ['Select how you want to get your council tax bills']);
    res = await client.post(`${ACCOUNT}/paperless`, { paperless: 'yes' });
    assert.equal(res.headers.location, ACCOUNT);
    const shown = await client.follow(res);
    assert.match(page(shown.body).text(), /You have gone paperless/);
    assert.match(page(shown.body).text(), /Bills In your account \(paperless\)/);
    const documents = await kiln.services.signing.service.listDocumentsForResident(
      kiln.platform.db,
      residentId,
    );
    const bills = documents.filter((d) => d.title === 'Council tax bill 2026/27');
    assert.equal(bills.length, 1);
    const letter = await client.get(`/account/documents/${bills[0]!.reference}`);
    assert.match(await readPdf(letter.rawPayload), /Council tax bill 2026\/27/);
    await client.post(`${ACCOUNT}/paperless`, { paperless: 'no' });
    await client.get(`${ACCOUNT}/paperless`);
    await client.post(`${ACCOUNT}/paperless`, { paperless: 'yes' });
    const again = await kiln.services.signing.service.listDocumentsForResident(kiln.platform.db, residentId);
    assert.equal(again.filter((d) => d.title === 'Council tax bill 2026/27').length, 1, 'delivered once');
    await client.get(`${ACCOUNT}/paperless`);
    res = await client.post(`${ACCOUNT}/paperless`, { paperless: 'no' });
    assert.match(page((await client.follow(res)).body).text(), /Bills By post/);
  });

  test('switching to Direct Debit schedules the rest of the year with 10 working days’ notice', async () => {
    const client = await signInResident();
    let res = await client.get(`${ACCOUNT}/direct-debit`);
    assert.equal(page(res.body).heading(), 'Which day of the month do you want to pay on?');
    res = await client.post(`${ACCOUNT}/direct-debit`, {});
    assert.deepEqual(page(res.body).errorSummary(), ['Select the day of the month you want to pay on']);
    res = await client.post(`${ACCOUNT}/direct-debit`, { day: '15' });
    assert.equal(res.headers.location, '/direct-debit/set-up');
    await client.get('/direct-debit/set-up');
    res = await client.post('/direct-debit/set-up', {
      accountHolder: 'Alex Moreton',
      sortCode: '20-29-59',
      accountNumber: '63748472',
      onlySignatory: 'yes',
    });
    await client.follow(res);
    res = await client.post('/direct-debit/check', {});
    const confirmation = await client.follow(res);
    assert.equal(page(confirmation.body).heading(), 'Direct Debit set up');
    assert.match(
      page(confirmation.body).text(),
      /Your council tax will be paid by Direct Debit: \d+ monthly payments?/,
    );

    const { rows } = await sql<{ due_date: string; amount: number; status: string }>`
      select i.due_date::text, i.amount, i.status from payment_dd_instalments i
      where i.pays_for_type = 'council-tax' and i.pays_for_id = ${DEMO_COUNCIL_TAX_ACCOUNT}
      order by i.sequence`.execute(kiln.platform.db);
    assert.ok(rows.length >= 1);
    const owed = 198_848 - (await paidSoFar());
    assert.equal(
      rows.reduce((s, r) => s + r.amount, 0),
      owed,
      'the schedule collects exactly what is left',
    );
    assert.ok(rows[0]!.due_date >= addWorkingDays(londonDay(), 10), '10 working days of notice');
    for (const r of rows) assert.ok(isWorkingDay(r.due_date), `${r.due_date} is a working day`);
    const account = page((await client.get(ACCOUNT)).body).text();
    assert.match(account, /How you pay Direct Debit \(DD-/);
    assert.match(account, /To be collected/);
  });

  async function paidSoFar(): Promise<number> {
    const { rows } = await sql<{ total: number }>`
      select coalesce(sum(l.amount), 0)::int as total from payment_ledger l join payments p on p.id = l.payment_id
      where p.pays_for_type = 'council-tax' and p.pays_for_id = ${DEMO_COUNCIL_TAX_ACCOUNT}`.execute(
      kiln.platform.db,
    );
    return Number(rows[0]!.total);
  }
});
