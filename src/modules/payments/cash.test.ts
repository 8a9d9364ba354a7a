import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { parse } from 'node-html-parser';
import { residentIdOf } from '../../../test/support/resident.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { totpCode } from '../../platform/auth/totp.ts';
import { DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET } from '../../seed/index.ts';
import {
  isValidPaypointReference,
  parsePaypointFile,
  paypointReference,
  PAYPOINT_FILE_HEADER,
} from './paypoint.ts';

async function staffClient(kiln: TestKiln, email: string): Promise<Client> {
  const client = new Client(kiln.app);
  await client.get('/staff/sign-in');
  await client.follow(await client.post('/staff/sign-in', { email, password: DEMO_STAFF_PASSWORD }));
  const signedIn = await client.post('/staff/sign-in/code', { code: totpCode(DEMO_TOTP_SECRET) });
  assert.equal(signedIn.statusCode, 303, `${email} signs in`);
  return client;
}

/** Posts a file the way a browser's file upload does (multipart), with the page's CSRF token. */
async function upload(kiln: TestKiln, client: Client, url: string, fileName: string, content: string) {
  const boundary = '----kilntest';
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${client.csrfToken()}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: text/csv\r\n\r\n${content}\r\n` +
    `--${boundary}--\r\n`;
  const cookie = (client as unknown as { cookieHeader(): string }).cookieHeader();
  const response = await kiln.app.inject({
    method: 'POST',
    url,
    payload: body,
    headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  client.lastPage = parse(response.body);
  return response;
}

describe('pay-point references', () => {
  test('a reference carries a check digit that catches a mistyped digit and most swapped pairs', () => {
    const ref = paypointReference(12345);
    assert.match(ref, /^9826\d{16}$/);
    assert.equal(isValidPaypointReference(ref), true);
    for (let i = 0; i < 20; i++) {
      const wrong = ref.slice(0, i) + String((Number(ref[i]) + 1) % 10) + ref.slice(i + 1);
      assert.equal(isValidPaypointReference(wrong), false, `digit ${i} changed`);
    }
    assert.equal(isValidPaypointReference('98260000000000123450'.slice(0, 19)), false);
  });

  test('a malformed transaction file is refused with line numbers', () => {
    const good = paypointReference(7);
    const { lines, errors } = parsePaypointFile(
      [
        PAYPOINT_FILE_HEADER,
        `T1,2026-11-25T10:15:00Z,${good},2500,OUT-1`,
        `T2,yesterday,${good},2500,OUT-1`,
        `T1,2026-11-25T10:16:00Z,${good.slice(0, 19)}0,-3,OUT-1`,
        `T4,2026-11-25T10:17:00Z,${good}`,
      ].join('\n'),
    );
    assert.deepEqual(lines, []);
    assert.deepEqual(errors, [
      'Line 3: paid_at must be a date and time like 2026-11-25T10:15:00Z',
      'Line 4: transaction T1 appears twice in the file',
      `Line 4: the payment reference ${good.slice(0, 19)}0 fails its check digit`,
      'Line 4: the amount must be a whole number of pence from 1 to 10000000',
      'Line 5: expected 5 values separated by commas, found 3',
    ]);
    assert.deepEqual(parsePaypointFile('a,b\n1,2').errors, [
      `Line 1: the header must be exactly ${PAYPOINT_FILE_HEADER}`,
    ]);
  });
});

describe('cash at pay-points', () => {
  let kiln: TestKiln;
  let residentId: string;
  before(async () => {
    kiln = await startTestApp();
    residentId = await residentIdOf(kiln);
  });
  after(async () => kiln.close());

  test('a bill gets one reference, shown as a Code 128 barcode on a printable card for its payer and staff only', async () => {
    const { cash } = kiln.services.payments;
    const issue = () =>
      kiln.platform.db.transaction().execute((tx) =>
        cash.issueReference(tx, {
          paysFor: { type: 'test-bill', id: 'bill-1' },
          description: 'Council tax 2026/27',
          payer: { residentId },
        }),
      );
    const ref = await issue();
    assert.equal((await issue()).reference, ref.reference, 'the same bill keeps its reference');
    const staff = await staffClient(kiln, 'officer@kilnford.example');
    const card = await staff.get(`/pay/cash/${ref.reference}`);
    assert.equal(page(card.body).heading(), 'Pay in cash at a shop');
    const svg = staff.lastPage!.querySelector('svg[role="img"]');
    assert.ok(svg, 'an inline SVG barcode');
    assert.equal(svg.getAttribute('aria-label'), `Barcode for payment reference ${ref.reference}`);
    assert.ok((svg.querySelector('path')?.getAttribute('d') ?? '').length > 100, 'the barcode has bars');
    assert.match(page(card.body).text(), new RegExp(ref.reference.replace(/(\d{4})(?=\d)/g, '$1 ')));
    const image = await staff.get(`/pay/cash/${ref.reference}/barcode.svg`);
    assert.equal(image.headers['content-type'], 'image/svg+xml');
    const stranger = new Client(kiln.app);
    assert.equal((await stranger.get(`/pay/cash/${ref.reference}`)).statusCode, 404);
  });

  test('the daily file records cash receipts in the ledger once; a malformed file changes nothing', async () => {
    const { cash, service } = kiln.services.payments;
    const ref = await kiln.platform.db.transaction().execute((tx) =>
      cash.issueReference(tx, {
        paysFor: { type: 'test-bill', id: 'bill-2' },
        description: 'Garden waste 2026/27',
        payer: { residentId },
      }),
    );
    const lead = await staffClient(kiln, 'lead@kilnford.example');
    const form = await lead.get('/staff/payments/paypoint');
    assert.equal(page(form.body).heading(), 'Import a pay-point file');
    const before = await sql<{ n: number }>`select count(*)::int as n from payment_ledger`.execute(
      kiln.platform.db,
    );
    // The demo data has pay-point payments of its own (today): measure from where they leave off.
    const novemberCash = async () =>
      (await service.paymentsByMethodPerMonth(kiln.platform.db, '2026-11-01', '2026-12-01'))
        .filter((m) => m.method === 'paypoint_cash')
        .reduce((sum, m) => ({ payments: sum.payments + m.payments, received: sum.received + m.received }), {
          payments: 0,
          received: 0,
        });
    const baseline = await novemberCash();

    let res = await upload(
      kiln,
      lead,
      '/staff/payments/paypoint',
      'bad.csv',
      `${PAYPOINT_FILE_HEADER}\nPP-1,2026-11-25T09:00:00Z,${ref.reference},1500,OUT-7\nPP-2,2026-11-25T09:05:00Z,${paypointReference(999999)},100,OUT-7\n`,
    );
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), [
      `Line 3: no bill or account has the payment reference ${paypointReference(999999)}`,
    ]);
    const same = await sql<{ n: number }>`select count(*)::int as n from payment_ledger`.execute(
      kiln.platform.db,
    );
    assert.equal(same.rows[0]!.n, before.rows[0]!.n, 'nothing booked from a refused file');

    const file = `${PAYPOINT_FILE_HEADER}\nPP-1,2026-11-25T09:00:00Z,${ref.reference},1500,OUT-7\nPP-2,2026-11-24T23:30:00Z,${ref.reference},700,OUT-9\n`;
    res = await upload(kiln, lead, '/staff/payments/paypoint', 'paypoint-2026-11-25.csv', file);
    assert.equal(res.statusCode, 303);
    const done = await lead.follow(res);
    assert.match(page(done.body).text(), /2 cash payments \(£22.00\) recorded/);
    const paid = await service.list(kiln.platform.db, { paysFor: { type: 'test-bill', id: 'bill-2' } });
    assert.deepEqual(paid.map((p) => [p.method, p.channel, p.status]).sort(), [
      ['paypoint_cash', 'paypoint', 'success'],
      ['paypoint_cash', 'paypoint', 'success'],
    ]);
    const ledger = await sql<{ kind: string; amount: number; day: string }>`
      select kind, amount, to_char(entry_date, 'YYYY-MM-DD') as day from payment_ledger
      where provider = 'paypoint' and provider_reference like 'PP-%' order by amount`.execute(
      kiln.platform.db,
    );
    assert.deepEqual(ledger.rows, [
      { kind: 'cash_receipt', amount: 700, day: '2026-11-24' },
      { kind: 'cash_receipt', amount: 1500, day: '2026-11-25' },
    ]);

    await lead.get('/staff/payments/paypoint');
    res = await upload(kiln, lead, '/staff/payments/paypoint', 'again.csv', file);
    assert.match(page(res.body).errorSummary()[0]!, /^This file was already imported on /);
    // A later file that repeats a transaction books only the new one.
    res = await upload(
      kiln,
      lead,
      '/staff/payments/paypoint',
      'next.csv',
      `${PAYPOINT_FILE_HEADER}\nPP-2,2026-11-24T23:30:00Z,${ref.reference},700,OUT-9\nPP-3,2026-11-26T08:00:00Z,${ref.reference},300,OUT-9\n`,
    );
    assert.match(
      page((await lead.follow(res)).body).text(),
      /1 cash payments \(£3.00\) recorded; 1 already recorded/,
    );
    assert.deepEqual(await novemberCash(), {
      payments: baseline.payments + 3,
      received: baseline.received + 2500,
    });
  });

  test('officers cannot import pay-point files', async () => {
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    assert.equal((await officer.get('/staff/payments/paypoint')).statusCode, 403);
  });
});
