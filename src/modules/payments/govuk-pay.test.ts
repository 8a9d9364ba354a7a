import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { govukPayProvider } from './govuk-pay.ts';
import { startGovukPayStub, type GovukPayStub } from './govuk-pay-stub.ts';
import { ProviderError } from './provider.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays } from '../../platform/working-days.ts';

describe('GOV.UK Pay adapter, checked against the published OpenAPI description', () => {
  let stub: GovukPayStub;
  let kiln: TestKiln;
  let residentId: string;

  before(async () => {
    stub = await startGovukPayStub();
    process.env.PAYMENTS_PROVIDER = 'govuk-pay';
    process.env.GOVUK_PAY_API_KEY = stub.apiKey;
    process.env.GOVUK_PAY_BASE_URL = stub.url;
    kiln = await startTestApp();
    const { rows } = await sql<{
      id: string;
    }>`select id from residents where email = 'resident@kilnford.example'`.execute(kiln.platform.db);
    residentId = rows[0]!.id;
  });
  after(async () => {
    await kiln.close();
    await stub.close();
  });

  function assertAllShapesValid() {
    for (const r of stub.requests) assert.deepEqual(r.problems, [], `${r.method} ${r.path} request`);
    for (const r of stub.responses) assert.deepEqual(r.problems, [], `${r.schema} response`);
  }

  test('create, get, cancel and refund send and read what the API describes', async () => {
    const client = govukPayProvider({ apiKey: stub.apiKey, baseUrl: stub.url });
    const created = await client.create({
      amount: 4500,
      reference: 'PAY-TEST-01',
      description: 'Bulky waste collection',
      returnUrl: 'http://localhost:3000/pay/return/PAY-TEST-01',
      idempotencyKey: 'c0ffee:with/odd chars',
      email: 'resident@kilnford.example',
    });
    assert.equal(created.status, 'created');
    assert.match(created.nextUrl!, /\/secure\//);
    assert.match(stub.requests.at(-1)!.idempotencyKey!, /^[a-zA-Z0-9-]+$/);
    assert.equal(stub.responses.at(-1)!.schema, 'CreatePaymentResult');

    stub.finish(created.providerId, 'success', { last: '4242', brand: 'Visa' });
    const got = await client.get(created.providerId);
    assert.deepEqual(
      {
        status: got.status,
        amount: got.amount,
        last: got.cardLastFour,
        brand: got.cardBrand,
        next: got.nextUrl,
      },
      { status: 'success', amount: 4500, last: '4242', brand: 'Visa', next: null },
    );
    const refund = await client.refund(created.providerId, {
      amount: 1000,
      refundAmountAvailable: 4500,
      idempotencyKey: 'r1',
    });
    assert.equal(refund.status, 'success');
    // GOV.UK Pay refuses a refund when Kiln's idea of what is left is stale (412).
    await assert.rejects(
      client.refund(created.providerId, { amount: 1000, refundAmountAvailable: 4500, idempotencyKey: 'r2' }),
      (e: unknown) => e instanceof ProviderError && e.status === 412,
    );
    const open = await client.create({
      amount: 100,
      reference: 'PAY-TEST-02',
      description: 'x',
      returnUrl: 'http://localhost:3000/pay/return/PAY-TEST-02',
      idempotencyKey: 'k2',
    });
    await client.cancel(open.providerId);
    assert.equal((await client.get(open.providerId)).status, 'cancelled');
    await client.cancel(open.providerId); // already finished: nothing to do, no error
    assertAllShapesValid();
    assert.ok(stub.responses.some((r) => r.schema === 'PaymentWithAllLinks'));
    assert.ok(stub.responses.some((r) => r.schema === 'Refund'));
  });

  test('a wrong API key or an unreachable API is a provider error, not a crash', async () => {
    const wrongKey = govukPayProvider({ apiKey: 'api_test_wrong', baseUrl: stub.url });
    await assert.rejects(
      wrongKey.get('anything'),
      (e: unknown) => e instanceof ProviderError && e.status === 401,
    );
    const nowhere = govukPayProvider({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 });
    await assert.rejects(nowhere.get('anything'), /could not be reached/);
  });

  test('the return_url flow: the resident comes back (twice), Kiln asks GOV.UK Pay, books once, and can refund', async () => {
    const service = kiln.services.payments.service;
    const key = randomUUID();
    const payment = await kiln.platform.db.transaction().execute((tx) =>
      service.createPayment(tx, {
        amount: 3500,
        description: 'Bulky waste collection',
        payer: { residentId },
        paysFor: { type: 'test', id: key },
        idempotencyKey: key,
        actor: { type: 'resident', id: residentId },
      }),
    );
    const { nextUrl } = await service.startCardPayment(payment, `/pay/${payment.reference}/confirmation`);
    assert.ok(nextUrl.startsWith(`${stub.url}/secure/`), 'the resident is sent to GOV.UK Pay');
    const providerId = nextUrl.split('/').pop()!;
    const sent = stub.payments.get(providerId)!;
    assert.equal(sent.return_url, `http://localhost:3000/pay/return/${payment.reference}`);
    assert.equal(sent.amount, 3500);

    // Coming back before paying (browser back button) changes nothing.
    const client = new Client(kiln.app);
    let res = await client.get(`/pay/return/${payment.reference}`);
    assert.equal(page((await client.follow(res)).body).heading(), 'We are checking your payment');

    stub.finish(providerId, 'success', { last: '1111', brand: 'Visa' });
    for (let i = 0; i < 2; i++) {
      res = await client.get(`/pay/return/${payment.reference}`);
      assert.equal(page((await client.follow(res)).body).heading(), 'Payment received');
    }
    const ledger = await service.ledger(kiln.platform.db, payment.id);
    assert.deepEqual(
      ledger.map((e) => [e.kind, e.amount, e.provider, e.provider_reference]),
      [['charge', 3500, 'govuk-pay', providerId]],
    );
    const refund = await service.refund({
      payment: payment.reference,
      amount: 500,
      reason: 'Fewer items collected',
      idempotencyKey: randomUUID(),
      actor: { type: 'system', id: null },
    });
    assert.equal(refund.status, 'success');
    assert.equal(stub.payments.get(providerId)!.refunded, 500);
    await assert.rejects(
      service.refund({
        payment: payment.reference,
        amount: 3001,
        reason: 'Too much',
        idempotencyKey: randomUUID(),
        actor: { type: 'system', id: null },
      }),
      /cannot be more than £30.00/,
    );
    assert.equal(stub.payments.get(providerId)!.refunded, 500, 'the refused refund never reached GOV.UK Pay');
    assertAllShapesValid();
  });

  test('a payment the resident cancels on GOV.UK Pay is shown as not taken and books nothing', async () => {
    const service = kiln.services.payments.service;
    const key = randomUUID();
    const payment = await kiln.platform.db.transaction().execute((tx) =>
      service.createPayment(tx, {
        amount: 900,
        description: 'Garden waste',
        payer: { email: 'someone@example.com' },
        paysFor: { type: 'test', id: key },
        idempotencyKey: key,
        actor: { type: 'resident', id: null },
      }),
    );
    const { nextUrl } = await service.startCardPayment(payment, `/pay/${payment.reference}/confirmation`);
    stub.finish(nextUrl.split('/').pop()!, 'cancelled');
    const client = new Client(kiln.app);
    const res = await client.follow(await client.get(`/pay/return/${payment.reference}`));
    assert.equal(page(res.body).heading(), 'Your payment was not taken');
    assert.equal((await service.ledger(kiln.platform.db, payment.id)).length, 0);
  });

  test('settlement: what GOV.UK Pay paid out is matched to the ledger; mismatches are shown and emailed to staff', async () => {
    const { service } = kiln.services.payments;
    const db = kiln.platform.db;
    // The settlement day: 3 working days after today, so today's card payments are due to be settled.
    const day = addWorkingDays(londonDay(), 3);
    async function paid(amount: number) {
      const key = randomUUID();
      const payment = await db.transaction().execute((tx) =>
        service.createPayment(tx, {
          amount,
          description: 'Garden waste subscription',
          payer: { residentId },
          paysFor: { type: 'test', id: key },
          idempotencyKey: key,
          actor: { type: 'resident', id: residentId },
        }),
      );
      const { nextUrl } = await service.startCardPayment(payment, `/pay/${payment.reference}/confirmation`);
      const providerId = nextUrl.split('/').pop()!;
      stub.finish(providerId, 'success', { last: '4242', brand: 'Visa' });
      await service.reconcile(payment.id);
      return { payment, providerId };
    }
    const a = await paid(5200);
    const b = await paid(4100);
    await service.refund({
      payment: a.payment.reference,
      amount: 700,
      reason: 'Moved house',
      idempotencyKey: randomUUID(),
      actor: { type: 'system', id: null },
    });
    // A payment GOV.UK Pay settled that Kiln never booked (made outside Kiln with the same key).
    const outside = await govukPayProvider({ apiKey: stub.apiKey, baseUrl: stub.url }).create({
      amount: 999,
      reference: 'NOT-KILN',
      description: 'Made elsewhere',
      returnUrl: 'http://localhost:3000/pay/return/NOT-KILN',
      idempotencyKey: randomUUID(),
    });
    stub.finish(outside.providerId, 'success', { last: '0002', brand: 'Visa' });
    stub.settle(a.providerId, day);
    stub.settle(stub.refunds.at(-1)!.refund_id, day);
    stub.settle(outside.providerId, day);

    const before = (await kiln.platform.notify.list(db, { recipient: 'lead@kilnford.example' })).length;
    const fetched = await service.fetchSettlement(day);
    assert.equal(fetched.fetched, 3);
    assert.equal(fetched.added, 3);
    const report = fetched.report;
    assert.equal(report.net, 5200 - 700 + 999);
    assert.equal(report.matchedNet, 5200 - 700);
    assert.deepEqual(
      report.mismatches.map((m) => [m.kind, m.providerReference, m.problem]),
      [['charge', outside.providerId, "Settled by the provider but not in Kiln's ledger"]],
    );
    assert.ok(
      report.unsettled.some((u) => u.payment_reference === b.payment.reference && u.amount === 4100),
      'a payment taken 3 working days before and not settled is listed',
    );
    const searches = stub.requests.filter(
      (r) => r.method === 'GET' && /^\/v1\/(payments|refunds)$/.test(r.path),
    );
    assert.equal(searches.length, 2);
    const emails = await kiln.platform.notify.list(db, { recipient: 'lead@kilnford.example' });
    assert.equal(emails.length, before + 1);
    assert.match(emails[0]!.subject!, /does not match the ledger/);
    // Fetching again stores nothing twice and emails nobody again.
    const again = await service.fetchSettlement(day);
    assert.equal(again.added, 0);
    assert.equal(
      (await kiln.platform.notify.list(db, { recipient: 'lead@kilnford.example' })).length,
      before + 1,
    );
    assertAllShapesValid();

    const lead = await staffClient(kiln, 'lead@kilnford.example');
    const shown = await lead.get(`/staff/payments/settlement?day=${day}`);
    assert.equal(page(shown.body).heading(), 'Card settlement');
    assert.match(page(shown.body).text(), /1 do not match/);
    assert.match(page(shown.body).text(), new RegExp(outside.providerId));
    const bad = await lead.post('/staff/payments/settlement', { day: 'yesterday' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), ['Enter a real date, for example 2026-11-24']);
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    assert.equal((await officer.get('/staff/payments/settlement')).statusCode, 403);
  });
});
