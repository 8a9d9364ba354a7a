import assert from 'node:assert/strict';
import { parseAddacs, parseArudd } from './bacs-reports.ts';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { DEMO_RESIDENT_EMAIL, residentClient, residentIdOf } from '../../../test/support/resident.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { totpCode } from '../../platform/auth/totp.ts';
import { DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET } from '../../seed/index.ts';
import { julianDay, splitInstalments, standard18Record } from './bacs.ts';
import { dayOf } from './council-tax.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays, isWorkingDay, nextWorkingDay } from '../../platform/working-days.ts';
import { checkBankDetails } from './bank-details.ts';

// Vocalink, "Validating account numbers: UK modulus checking", chapter 3 "Test cases" (the same 34
// cases in every published version since 6.40): sort code, account number, expected result.
const vocalinkCases: Array<[number, string, string, boolean]> = [
  [1, '089999', '66374958', true],
  [2, '107999', '88837491', true],
  [3, '202959', '63748472', true],
  [4, '871427', '46238510', true],
  [5, '872427', '46238510', true],
  [6, '871427', '09123496', true],
  [7, '871427', '99123496', true],
  [8, '820000', '73688637', true],
  [9, '827999', '73988638', true],
  [10, '827101', '28748352', true],
  [11, '134020', '63849203', true],
  [12, '118765', '64371389', true],
  [13, '200915', '41011166', true],
  [14, '938611', '07806039', true],
  [15, '938600', '42368003', true],
  [16, '938063', '55065200', true],
  [17, '772798', '99345694', true],
  [18, '086090', '06774744', true],
  [19, '309070', '02355688', true],
  [20, '309070', '12345668', true],
  [21, '309070', '12345677', true],
  [22, '309070', '99345694', true],
  [23, '938063', '15764273', false],
  [24, '938063', '15764264', false],
  [25, '938063', '15763217', false],
  [26, '118765', '64371388', false],
  [27, '203099', '66831036', false],
  [28, '203099', '58716970', false],
  [29, '089999', '66374959', false],
  [30, '107999', '88837493', false],
  [31, '074456', '12345112', true],
  [32, '070116', '34012583', true],
  [33, '074456', '11104102', true],
  [34, '180002', '00000190', true],
];

describe('bank details', () => {
  for (const [n, sortCode, accountNumber, valid] of vocalinkCases) {
    test(`Vocalink test case ${n}: ${sortCode} ${accountNumber} is ${valid ? 'valid' : 'refused'}`, () => {
      const { errors } = checkBankDetails({
        accountHolder: 'A Moreton',
        sortCode,
        accountNumber,
        onlySignatory: 'yes',
      });
      assert.equal(errors.length === 0, valid, JSON.stringify(errors));
    });
  }

  test('each mistake gets its own message', () => {
    assert.deepEqual(
      checkBankDetails({
        accountHolder: '',
        sortCode: '12-34',
        accountNumber: '12ab',
        onlySignatory: '',
      }).errors.map((e) => e.text),
      [
        'Enter the name on the account',
        'Enter a valid sort code like 309430',
        'Enter a valid account number like 00733445',
        'Select yes if you are the only person needed to authorise payments from this account',
      ],
    );
    assert.deepEqual(
      checkBankDetails({
        accountHolder: 'A',
        sortCode: '08-99-99',
        accountNumber: '6637 4959',
        onlySignatory: 'yes',
      }).errors,
      [
        {
          field: 'accountNumber',
          text: 'The sort code and account number do not match: check them and try again',
        },
      ],
    );
  });

  test('Standard 18 records are 106 characters in the published layout; instalments add up', () => {
    const record = standard18Record(
      {
        sortCode: '089999',
        accountNumber: '66374958',
        code: '17',
        amount: 12345,
        reference: 'DD-ABCD-EF',
        accountName: "A Moreton's",
      },
      { sun: '999123', sortCode: '309634', accountNumber: '12345678', name: 'Kilnford CC' },
      new Date('2026-12-01T00:00:00Z'),
    );
    assert.equal(record.length, 106);
    assert.equal(record.slice(0, 6), '089999');
    assert.equal(record.slice(6, 14), '66374958');
    assert.equal(record.slice(15, 17), '17');
    assert.equal(record.slice(35, 46), '00000012345');
    assert.equal(record.slice(46, 64), 'KILNFORD CC       ');
    assert.equal(record.slice(64, 82), 'DD-ABCD-EF        ');
    assert.equal(record.slice(82, 100), 'A MORETON S       ');
    assert.equal(record.slice(100), ' 26335');
    assert.deepEqual(splitInstalments(150001, 10), [15001, ...Array(9).fill(15000)]);
    assert.equal(
      splitInstalments(150001, 10).reduce((a, b) => a + b),
      150001,
    );
  });
});

describe('Bacs reports that are not what they should be', () => {
  test('not XML, cut short, empty or missing what Kiln needs: refused whole with a reason', () => {
    assert.deepEqual(parseArudd('ref,amount\nDD-AAAA-BB,1.00\n').errors, [
      'Line 1: this is not a Bacs ARUDD report (no BACSDocument)',
    ]);
    assert.deepEqual(
      parseArudd('<BACSDocument><ReturnedDebitItem ref="DD-AAAA-BB" valueOf="1.00" returnCode="0"/>').errors,
      ['The ARUDD report is cut short (no closing BACSDocument)'],
    );
    assert.deepEqual(parseArudd('<BACSDocument></BACSDocument>').errors, [
      'The ARUDD report lists no returned debits',
    ]);
    const mixed = parseArudd(
      '<BACSDocument>\n<ReturnedDebitItem ref="DD-AAAA-BB" valueOf="1.00" returnCode="0"/>\n' +
        '<ReturnedDebitItem ref="DD-AAAA-BB" valueOf="-1.00"/>\n</BACSDocument>',
    );
    assert.deepEqual(mixed, {
      items: [],
      errors: ['Line 3: the amount "-1.00" is not in pounds and pence', 'Line 3: there is no return code'],
    });
    assert.deepEqual(
      parseAddacs(
        '<BACSDocument>\n<MessagingAdvice reference="DD-AAAA-BB" reason-code="11"/>\n</BACSDocument>',
      ).errors,
      ['Line 2: there is no reason code'],
    );
    assert.equal(
      parseAddacs('<BACSDocument><MessagingAdvice reference="DD-AAAA-BB" reason-code="1"/></BACSDocument>')
        .items.length,
      1,
    );
  });
});

describe('Direct Debit', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  const signInResident = (email = DEMO_RESIDENT_EMAIL) => residentClient(kiln, email);

  test('a resident sets up a Direct Debit: bank details, modulus check, check answers with the Guarantee, confirmation', async () => {
    assert.equal(
      (await new Client(kiln.app).get('/direct-debit/set-up')).statusCode,
      303,
      'signed-in residents only',
    );
    const client = await signInResident();
    let res = await client.get('/direct-debit/set-up');
    assert.equal(page(res.body).heading(), 'Set up a Direct Debit');
    res = await client.post('/direct-debit/set-up', {
      accountHolder: 'Alex Moreton',
      sortCode: '08-99-99',
      accountNumber: '66374959',
      onlySignatory: 'yes',
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), [
      'The sort code and account number do not match: check them and try again',
    ]);
    res = await client.post('/direct-debit/set-up', {
      accountHolder: 'Alex Moreton',
      sortCode: '08-99-99',
      accountNumber: '66374958',
      onlySignatory: 'yes',
    });
    assert.equal(res.statusCode, 303);
    const check = await client.follow(res);
    assert.equal(page(check.body).heading(), 'Check your Direct Debit details');
    assert.ok(check.body.includes('The Direct Debit Guarantee'));
    assert.match(page(check.body).text(), /full and immediate refund/);
    res = await client.post('/direct-debit/check', {});
    assert.equal(res.statusCode, 303);
    const confirmation = await client.follow(res);
    assert.equal(page(confirmation.body).heading(), 'Direct Debit set up');
    assert.match(page(confirmation.body).text(), /ending 4958/);
    const reference = String(res.headers.location).split('/')[2]!;
    const mandate = await kiln.services.payments.directDebit.findMandate(kiln.platform.db, reference);
    assert.equal(mandate?.status, 'pending_submission');
    assert.equal(mandate?.sort_code, '089999');
    const [email] = await kiln.platform.notify.list(kiln.platform.db, {
      recipient: 'resident@kilnford.example',
    });
    assert.match(email!.subject!, /Your Direct Debit has been set up/);
    assert.doesNotMatch(email!.body, /66374958/, 'the full account number is not emailed');
    // Posting the confirmation again does not make a second mandate.
    await client.get('/direct-debit/set-up');
    const again = await client.post('/direct-debit/check', {});
    assert.equal(again.headers.location, '/direct-debit/set-up');
  });

  test('council tax in 10 instalments: AUDDIS first, collections from the next file, booked in the ledger once', async () => {
    const { directDebit, service } = kiln.services.payments;
    const db = kiln.platform.db;
    const residentId = await residentIdOf(kiln);
    const system = { type: 'system' as const, id: null };
    // Dates from today: the first collection needs 10 working days' notice, so schedule from the
    // month after that.
    const today = londonDay();
    const noticeEnds = addWorkingDays(today, 10);
    const [ny, nm] = noticeEnds.split('-').map(Number) as [number, number];
    const firstMonth = new Date(Date.UTC(ny, nm, 1)).toISOString().slice(0, 7);
    const mandate = await db.transaction().execute((tx) =>
      directDebit.setUpMandate(tx, {
        residentId,
        bank: { accountHolder: 'Alex Moreton', sortCode: '107999', accountNumber: '88837491' },
        idempotencyKey: 'test-council-tax-mandate',
        actor: { type: 'resident', id: residentId },
      }),
    );
    const schedule = (month: string) =>
      db.transaction().execute((tx) =>
        directDebit.schedule(tx, {
          mandateId: mandate.id,
          paysFor: { type: 'council-tax', id: 'CT-TEST-1' },
          description: 'Council tax 2026/27',
          total: 150001,
          instalments: 10,
          dayOfMonth: 1,
          firstMonth: month,
          actor: system,
        }),
      );
    await assert.rejects(schedule(today.slice(0, 7)), /at least 10 working days after the notice/);
    const instalments = await schedule(firstMonth);
    const dueDates = instalments.map((i) => dayOf(i.due_date));
    for (const d of dueDates) assert.ok(isWorkingDay(d), `${d} is a working day`);
    assert.ok(dueDates[0]! >= noticeEnds);

    // Bacs works on working days only.
    await assert.rejects(
      directDebit.createSubmission({ processingDate: '2027-01-01', actor: system }),
      /2027-01-01 is not a working day/,
    );
    const firstDay = nextWorkingDay(today);
    const first = await directDebit.createSubmission({ processingDate: firstDay, actor: system });
    const lines = first.content.split('\r\n').slice(0, -1);
    assert.deepEqual(
      lines.map((l) => l.slice(0, 4)),
      [
        'VOL1',
        'HDR1',
        'HDR2',
        'UHL1',
        ...lines.slice(4, -3).map((l) => l.slice(0, 4)),
        'EOF1',
        'EOF2',
        'UTL1',
      ],
    );
    for (const label of [...lines.slice(0, 4), ...lines.slice(-3)]) assert.equal(label.length, 80);
    assert.match(lines[0]!, /^VOL1\d{6} {31}999123 {32}1$/);
    assert.match(lines[1]!, /^HDR1A999123S {3}999123\d{6}00010001/);
    assert.equal(lines[1]!.slice(4), lines.at(-3)!.slice(4), 'EOF1 repeats HDR1');
    assert.equal(lines[2]!.slice(4), lines.at(-2)!.slice(4), 'EOF2 repeats HDR2');
    assert.equal(lines[3]!.slice(0, 16), `UHL1 ${julianDay(new Date(`${firstDay}T00:00:00Z`))}999123`);
    assert.ok(lines.some((l) => l.slice(15, 17) === '0N' && l.slice(64, 82).trim() === mandate.reference));
    assert.equal(first.collections, 0);

    // The second instalment's collection day is day 3 of the Bacs cycle: processing the working day before.
    const processing = addWorkingDays(dueDates[1]!, -1);
    const second = await directDebit.createSubmission({ processingDate: processing, actor: system });
    assert.equal(second.collections, 2);
    assert.equal(second.total, 15001 + 15000);
    const data = second.content.split('\r\n').slice(0, -1).slice(4, -3);
    assert.deepEqual(
      data
        .filter((l) => l.slice(64, 82).trim() === mandate.reference || l.slice(15, 17) === '99')
        .map((l) => [l.slice(15, 17), Number(l.slice(35, 46))]),
      [
        ['01', 15001],
        ['17', 15000],
        ['99', 30001],
      ],
    );
    for (const l of data) assert.equal(l.length, 106);
    assert.equal(
      second.content.split('\r\n').slice(0, -1).at(-1)!.slice(0, 44),
      `UTL1${'30001'.padStart(13, '0')}${'30001'.padStart(13, '0')}00000020000001`,
    );
    const paid = await service.list(db, { paysFor: { type: 'council-tax', id: 'CT-TEST-1' } });
    assert.equal(paid.length, 2);
    assert.ok(paid.every((p) => p.method === 'direct_debit' && p.status === 'success'));
    const { rows: entries } = await sql<{ day: string }>`
      select to_char(entry_date, 'YYYY-MM-DD') as day from payment_ledger l join payments p on p.id = l.payment_id
      where p.pays_for_id = 'CT-TEST-1'`.execute(db);
    assert.deepEqual(
      entries.map((e) => e.day),
      [dueDates[1], dueDates[1]],
      'booked on the collection day',
    );
    const third = await directDebit.createSubmission({ processingDate: processing, actor: system });
    assert.equal(third.collections, 0, 'a collection goes in one file only');

    // ARUDD: the second collection comes back unpaid. A malformed report changes nothing.
    const bad = await directDebit.importArudd(
      `<?xml version="1.0"?>\n<BACSDocument>\n<ReturnedDebitItem ref="${mandate.reference}" valueOf="150" returnCode="0"/>\n</BACSDocument>`,
      { type: 'system', id: null },
    );
    assert.deepEqual(bad, { ok: false, errors: ['Line 3: the amount "150" is not in pounds and pence'] });
    const unknown = await directDebit.importArudd(
      `<BACSDocument><ReturnedDebitItem ref="${mandate.reference}" valueOf="999.99" returnCode="0"/></BACSDocument>`,
      { type: 'system', id: null },
    );
    assert.deepEqual(unknown, {
      ok: false,
      errors: [`Line 1: no collection of £999.99 on ${mandate.reference} to return`],
    });
    const returned = await directDebit.importArudd(
      `<?xml version="1.0"?>\n<BACSDocument><Data><ARUDD>\n<ReturnedDebitItem ref="${mandate.reference}" transCode="17" returnCode="0" returnDescription="REFER TO PAYER" valueOf="150.00"/>\n</ARUDD></Data></BACSDocument>`,
      { type: 'system', id: null },
    );
    assert.deepEqual(returned, { ok: true, returned: 1 });
    const second17 = paid.find((p) => p.amount === 15000)!;
    assert.equal((await service.balance(db, second17.id)).balance, 0);
    // The same report imported again (a second upload, a resend) reverses nothing twice.
    const resent = await directDebit.importArudd(
      `<?xml version="1.0"?>\n<BACSDocument><Data><ARUDD>\n<ReturnedDebitItem ref="${mandate.reference}" transCode="17" returnCode="0" returnDescription="REFER TO PAYER" valueOf="150.00"/>\n</ARUDD></Data></BACSDocument>`,
      { type: 'system', id: null },
    );
    assert.deepEqual(resent, {
      ok: false,
      errors: [`Line 3: no collection of £150.00 on ${mandate.reference} to return`],
    });
    assert.equal((await service.balance(db, second17.id)).balance, 0);
    assert.equal((await service.ledger(db, second17.id)).length, 2, 'one collection, one return');
    const unpaidEmail = await kiln.platform.notify.list(db, { recipient: 'resident@kilnford.example' });
    assert.ok(unpaidEmail.some((m) => m.subject === 'Your Direct Debit payment was not made'));
    // ADDACS: the payer cancels at the bank; the mandate and its future instalments end.
    const addacs = await directDebit.importAddacs(
      `<BACSDocument><MessagingAdvice user-number="999123" record-type="A" reference="${mandate.reference}" reason-code="1" effective-date="2027-01-05"/></BACSDocument>`,
      { type: 'system', id: null },
    );
    assert.deepEqual(addacs, { ok: true, cancelled: 1 });
    assert.equal((await directDebit.findMandate(db, mandate.reference))?.status, 'cancelled');
    const cancelledEmail = await kiln.platform.notify.list(db, { recipient: 'resident@kilnford.example' });
    assert.equal(
      cancelledEmail.filter((m) => m.subject === `Your Direct Debit has been cancelled: ${mandate.reference}`)
        .length,
      1,
      'the resident is told once',
    );
    const left = (await directDebit.instalments(db, mandate.id)).map((i) => i.status);
    assert.deepEqual(left, ['collected', 'failed', ...Array(8).fill('cancelled')]);
    const after = await directDebit.createSubmission({
      processingDate: addWorkingDays(dueDates[9]!, -1),
      actor: system,
    });
    assert.ok(!after.content.includes(mandate.reference), 'nothing is collected on a cancelled mandate');

    const lead = new Client(kiln.app);
    await lead.get('/staff/sign-in');
    await lead.follow(
      await lead.post('/staff/sign-in', { email: 'lead@kilnford.example', password: DEMO_STAFF_PASSWORD }),
    );
    await lead.post('/staff/sign-in/code', { code: totpCode(DEMO_TOTP_SECRET) });
    const list = await lead.get('/staff/payments/direct-debit');
    assert.equal(page(list.body).heading(), 'Direct Debit');
    const download = await lead.get(`/staff/payments/direct-debit/files/${second.id}`);
    assert.equal(download.body, second.content);
    assert.match(String(download.headers['content-disposition']), /attachment/);
    // A malformed report uploaded by staff is refused with its line number and changes nothing.
    await lead.get('/staff/payments/direct-debit');
    const boundary = '----kilntest';
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${lead.csrfToken()}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\narudd\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="arudd.xml"\r\nContent-Type: text/xml\r\n\r\n` +
      `<BACSDocument>\n<ReturnedDebitItem ref="NOT-OURS" valueOf="1.00" returnCode="0"/>\n</BACSDocument>\r\n--${boundary}--\r\n`;
    const refused = await kiln.app.inject({
      method: 'POST',
      url: '/staff/payments/direct-debit/reports',
      payload: body,
      headers: {
        cookie: (lead as unknown as { cookieHeader(): string }).cookieHeader(),
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
    });
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(page(refused.body).errorSummary(), [
      'Line 2: the reference "NOT-OURS" is not a Kiln Direct Debit reference',
    ]);
  });
});
