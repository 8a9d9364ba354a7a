import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { PDFDocument } from 'pdf-lib';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays, isWorkingDay } from '../../platform/working-days.ts';
import { directDebitCollection, quoteTradeWaste } from './business.ts';
import * as signingStore from '../signing/store.ts';
import { signByTypedName } from '../signing/testing.ts';
import { bookingsMigrations } from './schema.ts';
import { pounds } from './service.ts';
import * as store from './store.ts';
import { addDays, dayString } from './times.ts';
import { residentClient } from '../../../test/support/resident.ts';

describe('Business services: a trade waste quote becomes a contract, invoices and a transfer note', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('the price is the lift price by size and waste, times lifts a month, plus bin rental', () => {
    const q = quoteTradeWaste({ stream: 'general', size: '240', bins: '2', frequency: 'weekly' });
    assert.equal(q.liftPence, 650);
    assert.equal(q.collectionsPence, Math.round((650 * 2 * 52) / 12));
    assert.equal(q.monthlyPence, 5633 + 300);
    assert.equal(
      quoteTradeWaste({ stream: 'recycling', size: 1100, bins: 1, frequency: 'fortnightly' }).liftPence,
      1330,
    );
    assert.throws(
      () => quoteTradeWaste({ stream: 'food', size: 1100, bins: 1, frequency: 'weekly' }),
      /Food waste bins come in 140 or 240 litres/,
    );
  });

  test('a business gets an instant quote, accepts it as a contract, and downloads its waste transfer note', async () => {
    const anonymous = new Client(kiln.app);
    const empty = await anonymous.get('/business/trade-waste/quote');
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), [
      'Choose the kind of waste',
      'Choose the bin size',
      'Enter the number of bins, like 2',
      'Choose how often we collect',
    ]);
    const quote = await anonymous.get(
      '/business/trade-waste/quote?stream=general&size=240&bins=2&frequency=weekly',
    );
    assert.equal(page(quote.body).heading(), 'Your trade waste quote');
    assert.match(page(quote.body).text(), /Total each month £59\.33/);
    const accept = page(quote.body)
      .links()
      .find((l) => l.text === 'Accept this quote')!.href;
    const needsSignIn = await anonymous.get(accept);
    assert.match(String(needsSignIn.headers.location), /^\/sign-in/);

    const owner = await residentClient(kiln, 'owner@kilnford-cafe.example');
    const form = await owner.get(accept);
    assert.equal(page(form.body).heading(), 'Accept the quote');
    const fields = { stream: 'general', size: '240', bins: '2', frequency: 'weekly' };
    const missing = await owner.post('/business/trade-waste/accept', fields);
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(page(missing.body).errorSummary(), [
      'Enter the business name',
      'Enter the billing address',
      'Enter your role in the business',
      'Choose how the business will pay',
      'Choose when collections start',
      'Confirm you agree to the terms and can sign for the business',
    ]);
    const startsOn = page(missing.body).root.querySelector('input[name="startsOn"]')!.getAttribute('value')!;
    const done = await owner.post('/business/trade-waste/accept', {
      ...fields,
      name: 'Kilnford Kiln Café Ltd',
      companyNumber: '01234567',
      billingAddress: '2 Glaze Row, Kilnford KF1 4EF',
      role: 'Owner',
      payBy: 'invoice',
      startsOn,
      agree: 'yes',
    });
    assert.equal(done.statusCode, 303, page(done.body).errorSummary().join());
    const contractPage = await owner.follow(done);
    const reference = page(contractPage.body)
      .heading()
      .match(/TW-[A-Z0-9-]+/)![0];
    assert.match(page(contractPage.body).text(), /Each month £59\.33/);
    const emails = await kiln.platform.notify.list(kiln.platform.db, {
      recipient: 'owner@kilnford-cafe.example',
    });
    assert.ok(emails.some((m) => m.template === 'trade-waste-contract' && m.body.includes(reference)));

    const pdf = await owner.get(`/business/contracts/${reference}/waste-transfer-note.pdf`);
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    const doc = await PDFDocument.load(pdf.rawPayload);
    assert.equal(doc.getTitle(), `Waste transfer note ${reference}`);
    // Another person cannot see the contract.
    const stranger = await residentClient(kiln, 'stranger@example.com');
    assert.equal((await stranger.get(`/business/contracts/${reference}`)).statusCode, 404);
    assert.equal(
      (await stranger.get(`/business/contracts/${reference}/waste-transfer-note.pdf`)).statusCode,
      404,
    );

    // The month's invoices: once per contract and month, payable online.
    const lead = await staffClient(kiln, 'lead@kilnford.example');
    const period = addDays(startsOn, 40).slice(0, 7);
    await lead.get('/staff/bookings/contracts');
    assert.equal((await lead.post('/staff/bookings/contracts/invoices', { period })).statusCode, 303);
    assert.equal(await kiln.services.bookings.business.invoiceMonth(period, { type: 'system', id: null }), 0);
    const withInvoice = await owner.get(`/business/contracts/${reference}`);
    const payButton = page(withInvoice.body)
      .root.querySelectorAll('button')
      .find((b) => b.text.includes('Pay invoice'));
    assert.ok(payButton, 'the invoice can be paid online');
    const invoiceReference = payButton.text.trim().replace('Pay invoice ', '');
    const pay = await owner.post(`/business/contracts/${reference}/invoices/${invoiceReference}/pay`, {});
    assert.match(String(pay.headers.location), /^\/pay\/card\//);

    // Notice to end: the contract ends 28 days later.
    const notice = await owner.post(`/business/contracts/${reference}/notice`, {});
    assert.equal(notice.statusCode, 303);
    const ending = await owner.follow(notice);
    assert.match(page(ending.body).text(), /Ending on/);
    const contract = await kiln.services.bookings.business.contractFor(
      kiln.platform.db,
      (await kiln.services.bookings.service.findResident(kiln.platform.db, 'owner@kilnford-cafe.example'))!
        .id,
      reference,
    );
    assert.equal(dayString(contract!.ends_on), addDays(londonDay(), 28));
    assert.equal(contract!.status, 'ending');
  });
  test('My account lists the business contracts with the signed copy, and a change can be asked for', async () => {
    const db = kiln.platform.db;
    const { business } = kiln.services.bookings;
    const resident = (await kiln.services.bookings.service.findResident(db, 'owner@kilnford-cafe.example'))!;
    const { contract } = await business.acceptQuote({
      residentId: resident.id,
      quote: { stream: 'recycling', size: '360', bins: '3', frequency: 'fortnightly' },
      business: {
        name: 'Kilnford Pottery Shop',
        billingAddress: '9 Slip Lane, Kilnford KF2 1AA',
        role: 'Owner',
        payBy: 'direct_debit',
        startsOn: addWorkingDays(londonDay(), 6),
      },
      actor: { type: 'resident', id: resident.id },
    });
    // Staff send the contract for signature; the owner signs; signing delivers the sealed copy to
    // My account with the contract as its subject. The title is staff's to word: it no longer matters.
    const lead = await staffClient(kiln, 'lead@kilnford.example');
    await lead.get('/staff/bookings/contracts');
    const sent = await lead.post(`/staff/bookings/contracts/${contract.reference}/signature`, {});
    assert.equal(sent.statusCode, 303);
    assert.match(
      page((await lead.follow(sent)).body).text(),
      new RegExp(`${contract.reference} sent for signature`),
    );
    await sql`update signing_envelopes set title = 'Your agreement with us' where subject_reference = ${contract.reference}`.execute(
      db,
    );
    await signByTypedName(kiln, 'owner@kilnford-cafe.example', resident.name);
    const [sealed] = await signingStore.lettersFor(db, resident.id);
    assert.equal(sealed?.kind, 'sealed_document');
    const { rows: sentAudit } = await sql<{ detail: { reference: string } }>`
      select detail from audit_log where action = 'contract.sent_for_signature' order by id desc limit 1`.execute(
      db,
    );
    assert.equal(sentAudit[0]?.detail.reference, contract.reference);
    assert.equal((await lead.post('/staff/bookings/contracts/TW-NOSUCH1/signature', {})).statusCode, 404);

    const owner = await residentClient(kiln, 'owner@kilnford-cafe.example');
    const account = await owner.get('/account');
    assert.ok(
      page(account.body)
        .links()
        .some((l) => l.href === '/account/contracts'),
    );
    const list = await owner.get('/account/contracts');
    assert.equal(list.statusCode, 200);
    const text = page(list.body).text();
    assert.match(text, new RegExp(`${contract.reference}: Kilnford Pottery Shop`));
    assert.match(text, /3 × 360 litre mixed recycling bin, every two weeks/);
    assert.match(text, /9 Slip Lane, Kilnford KF2 1AA/);
    assert.match(
      text,
      new RegExp(`${pounds(contract.monthly_pence).replace('.', '\\.')} \\(Direct Debit\\)`),
    );
    assert.match(text, /Active/);
    // The earlier contract, under notice, is there too.
    assert.match(text, /Ending on/);
    const links = page(list.body).links();
    assert.ok(
      links.some((l) => l.href === `/account/documents/${sealed!.reference}`),
      'links the signed copy',
    );
    assert.ok(links.some((l) => l.href === `/business/contracts/${contract.reference}`));
    assert.equal((await owner.get(`/account/documents/${sealed!.reference}`)).statusCode, 200);

    const stranger = await residentClient(kiln, 'stranger@example.com');
    assert.match(
      page((await stranger.get('/account/contracts')).body).text(),
      /You have no business contracts/,
    );
    assert.equal(
      (await stranger.post(`/business/contracts/${contract.reference}/change`, { details: 'Cancel it' }))
        .statusCode,
      404,
    );
    assert.match(
      String((await new Client(kiln.app).get('/account/contracts')).headers.location),
      /^\/sign-in/,
    );

    const contractUrl = `/business/contracts/${contract.reference}`;
    await owner.get(contractUrl);
    const empty = await owner.post(`${contractUrl}/change`, { details: '  ' });
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(page(empty.body).errorSummary(), ['Enter what you would like to change']);
    const long = await owner.post(`${contractUrl}/change`, { details: 'x'.repeat(1001) });
    assert.equal(long.statusCode, 400);
    assert.deepEqual(page(long.body).errorSummary(), ['Describe the change in 1000 characters or fewer']);
    const asked = await owner.post(`${contractUrl}/change`, { details: 'A fourth bin from next month' });
    assert.equal(asked.statusCode, 303, page(asked.body).errorSummary().join());
    assert.match(page((await owner.follow(asked)).body).text(), /A fourth bin from next month/);
    const { rows } = await sql<{ detail: { reference: string; details: string } }>`
      select detail from audit_log where action = 'contract.change_requested' order by id desc limit 1`.execute(
      db,
    );
    assert.deepEqual(rows[0]?.detail, {
      reference: contract.reference,
      details: 'A fourth bin from next month',
    });
    const emails = await kiln.platform.notify.list(db, { recipient: 'owner@kilnford-cafe.example' });
    assert.ok(
      emails.some((m) => m.template === 'trade-waste-change-requested' && m.body.includes('fourth bin')),
    );
    const staffList = await lead.get('/staff/bookings/contracts');
    assert.match(page(staffList.body).text(), /A fourth bin from next month/);
    assert.match(
      page((await owner.get('/account/contracts')).body).text(),
      /A fourth bin from next month .*: Waiting for us to reply/,
    );

    // Staff answer it: a declined answer needs a reason; the answer is audited, emailed and shown.
    const answer = page(staffList.body)
      .links()
      .find((l) => l.href.startsWith('/staff/bookings/contracts/changes/'))!.href;
    await lead.get(answer);
    const none = await lead.post(answer, {});
    assert.equal(none.statusCode, 400);
    assert.deepEqual(page(none.body).errorSummary(), ['Choose whether the change is done or declined']);
    const noReason = await lead.post(answer, { decision: 'declined', reason: ' ' });
    assert.equal(noReason.statusCode, 400);
    assert.deepEqual(page(noReason.body).errorSummary(), ['Enter why the change is declined']);
    const declined = await lead.post(answer, {
      decision: 'declined',
      reason: 'Slip Lane has room for three bins only',
    });
    assert.equal(declined.statusCode, 303, page(declined.body).errorSummary().join());
    const again = await lead.post(answer, { decision: 'done' });
    assert.equal(again.statusCode, 400);
    assert.deepEqual(page(again.body).errorSummary(), ['This change request has already been answered']);
    const { rows: answered } = await sql<{ detail: { reference: string; reason: string } }>`
      select detail from audit_log where action = 'contract.change_declined' order by id desc limit 1`.execute(
      db,
    );
    assert.equal(answered[0]?.detail.reference, contract.reference);
    assert.equal(answered[0]?.detail.reason, 'Slip Lane has room for three bins only');
    const told = await kiln.platform.notify.list(db, { recipient: 'owner@kilnford-cafe.example' });
    assert.ok(
      told.some(
        (m) => m.template === 'trade-waste-change-declined' && m.body.includes('room for three bins'),
      ),
    );
    assert.match(
      page((await owner.get('/account/contracts')).body).text(),
      /A fourth bin from next month .*: Declined\. Slip Lane has room for three bins only/,
    );
    await owner.get(contractUrl);
    await owner.post(`${contractUrl}/change`, { details: 'Collections on Tuesdays' });
    const second = page((await lead.get('/staff/bookings/contracts')).body)
      .links()
      .find((l) => l.text.startsWith('Answer'))!.href;
    await lead.get(second);
    assert.equal((await lead.post(second, { decision: 'done' })).statusCode, 303);
    assert.match(page((await owner.get(contractUrl)).body).text(), /Collections on Tuesdays .*: Done/);
    assert.ok(
      (await kiln.platform.notify.list(db, { recipient: 'owner@kilnford-cafe.example' })).some(
        (m) => m.template === 'trade-waste-change-done' && m.body.includes('Tuesdays'),
      ),
    );
    assert.equal((await lead.get('/staff/bookings/contracts/changes/not-an-id')).statusCode, 404);

    // My account's data download holds the contracts and the change requests with their answers.
    const data = JSON.parse((await owner.get('/account/download')).body);
    const mine = data.bookings.contracts.find(
      (c: { reference: string }) => c.reference === contract.reference,
    );
    assert.deepEqual(mine, {
      reference: contract.reference,
      business: 'Kilnford Pottery Shop',
      address: '9 Slip Lane, Kilnford KF2 1AA',
      service: '3 × 360 litre mixed recycling bin, every two weeks (£5.60 a collection)',
      monthlyPence: contract.monthly_pence,
      payBy: 'direct_debit',
      status: 'active',
      startsOn: dayString(contract.starts_on),
      endsOn: null,
    });
    assert.deepEqual(
      data.bookings.contractChanges
        .filter((c: { contract: string }) => c.contract === contract.reference)
        .map((c: { details: string; status: string; reason: string | null }) => [
          c.details,
          c.status,
          c.reason,
        ]),
      [
        ['A fourth bin from next month', 'declined', 'Slip Lane has room for three bins only'],
        ['Collections on Tuesdays', 'done', null],
      ],
    );
    assert.deepEqual(JSON.parse((await stranger.get('/account/download')).body).bookings.contracts, []);
  });

  test('envelopes sent before signing kept a subject get it from the TW- reference in their title', async () => {
    const db = kiln.platform.db;
    const [contract] = await kiln.services.bookings.business.listContracts(db);
    const staffId = (await sql<{ id: string }>`select id from staff_users limit 1`.execute(db)).rows[0]!.id;
    const insert = (reference: string, title: string) =>
      sql`insert into signing_envelopes (reference, title, document, document_sha256, created_by, expires_at)
          values (${reference}, ${title}, ${Buffer.from('%PDF-1.7')}, 'x', ${staffId}, now() + interval '1 day')`.execute(
        db,
      );
    await insert('SG-OLDTW1', `Trade waste contract ${contract!.reference.toLowerCase()} for signing`);
    await insert('SG-OLDTW2', 'Tenancy agreement, 4 Kiln Row');
    await bookingsMigrations['2026-11-26-0202-bookings-contract-signing-subject']!.up(db as never);
    const { rows } = await sql<{
      reference: string;
      subject_type: string | null;
      subject_reference: string | null;
    }>`
      select reference, subject_type, subject_reference from signing_envelopes
       where reference in ('SG-OLDTW1', 'SG-OLDTW2') order by reference`.execute(db);
    assert.deepEqual(rows, [
      {
        reference: 'SG-OLDTW1',
        subject_type: 'trade_waste_contract',
        subject_reference: contract!.reference,
      },
      { reference: 'SG-OLDTW2', subject_type: null, subject_reference: null },
    ]);
  });

  test('a Direct Debit collection is on the 15th of the next month, or later when the notice needs it', () => {
    const earliest = kiln.services.payments.directDebit.earliestFirstCollection;
    // Invoices raised on 2 March 2026: 10 working days end on 16 March; 15 April is a Wednesday.
    assert.deepEqual(directDebitCollection('2026-03', earliest('2026-03-02')), {
      dayOfMonth: 15,
      firstMonth: '2026-04',
      due: '2026-04-15',
    });
    // Raised on 31 March 2026, just before Easter (Good Friday 3 April, Easter Monday 6 April):
    // without the bank holidays the notice would end on 14 April; with them it ends on 16 April.
    assert.equal(earliest('2026-03-31'), '2026-04-16');
    assert.deepEqual(directDebitCollection('2026-03', earliest('2026-03-31')), {
      dayOfMonth: 16,
      firstMonth: '2026-04',
      due: '2026-04-16',
    });
    // Raised on 31 December 2026 for December: Christmas, Boxing Day (substitute 28 December) and
    // New Year's Day; the notice ends on 15 January 2027, so the 15th still stands.
    assert.equal(earliest('2026-12-31'), '2027-01-15');
    assert.equal(directDebitCollection('2026-12', earliest('2026-12-31')).due, '2027-01-15');
    // The 15th on a Saturday moves to Monday (15 May 2027), which the notice allows.
    assert.deepEqual(directDebitCollection('2027-04', earliest('2027-04-01')), {
      dayOfMonth: 15,
      firstMonth: '2027-05',
      due: '2027-05-17',
    });
    // Notice ending after the 28th: the schedule names the 1st of the next month.
    assert.deepEqual(directDebitCollection('2026-04', '2026-05-29'), {
      dayOfMonth: 1,
      firstMonth: '2026-06',
      due: '2026-06-01',
    });
  });

  test('a month invoiced late is collected by Direct Debit no sooner than the guarantee allows', async () => {
    const db = kiln.platform.db;
    const { business } = kiln.services.bookings;
    const directDebit = kiln.services.payments.directDebit;
    const resident = (await kiln.services.bookings.service.findResident(db, 'owner@kilnford-cafe.example'))!;
    const actor = { type: 'resident' as const, id: resident.id };
    const { contract } = await business.acceptQuote({
      residentId: resident.id,
      quote: { stream: 'glass', size: '240', bins: '1', frequency: 'fortnightly' },
      business: {
        name: 'Kilnford Glazing Bar',
        billingAddress: '4 Glaze Row, Kilnford KF1 4EF',
        role: 'Manager',
        payBy: 'direct_debit',
        startsOn: addWorkingDays(londonDay(), 6),
      },
      actor,
    });
    // The contract began long ago, and a month two months back is invoiced only now: the 15th of
    // the month after it has passed, so the collection moves to the earliest day the notice allows.
    await store.updateContract(db, contract.id, { starts_on: '2024-01-01' } as never);
    const mandate = await db.transaction().execute((tx) =>
      directDebit.setUpMandate(tx, {
        residentId: resident.id,
        bank: { accountHolder: 'Kilnford Glazing Bar', sortCode: '107999', accountNumber: '88837491' },
        idempotencyKey: 'test-trade-waste-mandate',
        actor,
      }),
    );
    const d = new Date(`${londonDay()}T12:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() - 2, 1);
    const period = d.toISOString().slice(0, 7);
    assert.ok((await business.invoiceMonth(period, { type: 'system', id: null })) >= 1);
    const [instalment] = await directDebit.instalments(db, mandate.id);
    assert.ok(instalment, 'the month is scheduled on the mandate');
    const due = dayString(instalment.due_date);
    assert.equal(due, directDebit.earliestFirstCollection());
    assert.ok(isWorkingDay(due));
    const emails = await kiln.platform.notify.list(db, { recipient: 'owner@kilnford-cafe.example' });
    assert.ok(
      emails.some(
        (m) =>
          m.template === 'trade-waste-invoice' && m.body.includes('We will collect this by Direct Debit'),
      ),
    );
  });
});
