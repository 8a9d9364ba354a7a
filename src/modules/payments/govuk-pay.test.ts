import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { residentIdOf } from '../../../test/support/resident.ts';
import { residentPayment } from './test-support.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { govukPayProvider } from './govuk-pay.ts';
import { startGovukPayStub, type GovukPayStub } from './govuk-pay-stub.ts';
import { ProviderError } from './provider.ts';
import { GOVUK_PAY_WEBHOOK_PATH, webhookSignature } from './webhook-routes.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays } from '../../platform/working-days.ts';

/** A moment from now: rows written just before count as older (clocks tick in whole milliseconds). */
const soon = () => new Date(Date.now() + 1000);
describe('GOV.UK Pay adapter, checked against the published OpenAPI description', () => {
  let stub: GovukPayStub;
  let kiln: TestKiln;
  let residentId: string;
  const webhookSecret = `webhook_${randomUUID()}`;

  before(async () => {
    stub = await startGovukPayStub();
    process.env.PAYMENTS_PROVIDER = 'govuk-pay';
    process.env.GOVUK_PAY_API_KEY = stub.apiKey;
    process.env.GOVUK_PAY_BASE_URL = stub.url;
    process.env.GOVUK_PAY_WEBHOOK_SECRET = webhookSecret;
    kiln = await startTestApp();
    residentId = await residentIdOf(kiln);
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
    const { payment, nextUrl, providerId } = await startedPayment(3500);
    assert.ok(nextUrl.startsWith(`${stub.url}/secure/`), 'the resident is sent to GOV.UK Pay');
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
    const paid = (amount: number) => paidPayment(amount, 'Garden waste subscription');
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

  /** A resident's payment sent to GOV.UK Pay (the stub), not yet paid. */
  async function startedPayment(amount: number, description?: string) {
    const payment = await residentPayment(kiln, residentId, amount, { description });
    const { nextUrl } = await kiln.services.payments.service.startCardPayment(
      payment,
      `/pay/${payment.reference}/confirmation`,
    );
    return { payment, nextUrl, providerId: nextUrl.split('/').pop()! };
  }

  /** A resident's payment GOV.UK Pay took, and Kiln has booked. */
  async function paidPayment(amount: number, description?: string) {
    const started = await startedPayment(amount, description);
    stub.finish(started.providerId, 'success', { last: '1111', brand: 'Visa' });
    await kiln.services.payments.service.reconcile(started.payment.id);
    return started;
  }

  function postWebhook(body: string, signature: string | undefined) {
    return kiln.app.inject({
      method: 'POST',
      url: GOVUK_PAY_WEBHOOK_PATH,
      payload: body,
      headers: {
        'content-type': 'application/json',
        ...(signature === undefined ? {} : { 'pay-signature': signature }),
      },
    });
  }

  test('webhooks: a bad signature changes nothing; signed messages twice and out of order book once', async () => {
    const { service } = kiln.services.payments;
    const db = kiln.platform.db;
    const { payment, providerId } = await startedPayment(2600);
    // A message written while the payment was still open, delivered after the success message.
    const stale = stub.webhookMessage(providerId, 'card_payment_started');
    stub.finish(providerId, 'success', { last: '4242', brand: 'Visa' });
    const succeeded = stub.webhookMessage(providerId, 'card_payment_succeeded');

    for (const signature of [
      undefined,
      'not-hex',
      webhookSignature('another secret entirely', succeeded),
      webhookSignature(webhookSecret, succeeded.replace('2600', '2601')),
    ]) {
      const refused = await postWebhook(succeeded, signature);
      assert.equal(refused.statusCode, 403);
      assert.match(String(refused.headers['content-type']), /application\/problem\+json/);
      assert.match(refused.json().detail, /Pay-Signature/);
    }
    assert.equal((await service.getPayment(db, payment.id))!.status, 'created');
    assert.equal((await service.ledger(db, payment.id)).length, 0, 'no money is booked on a bad signature');

    const garbled = '{"resource_type": "payment", ';
    const bad = await postWebhook(garbled, webhookSignature(webhookSecret, garbled));
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8');

    // The success message twice at once, then the stale one: Kiln asks GOV.UK Pay each time.
    const both = await Promise.all([
      postWebhook(succeeded, webhookSignature(webhookSecret, succeeded)),
      postWebhook(succeeded, webhookSignature(webhookSecret, succeeded)),
    ]);
    assert.deepEqual(
      both.map((r) => r.statusCode),
      [200, 200],
    );
    const late = await postWebhook(stale, webhookSignature(webhookSecret, stale));
    assert.equal(late.statusCode, 200);
    const after = (await service.getPayment(db, payment.id))!;
    assert.equal(after.status, 'success');
    assert.equal(after.cardLastFour, '4242');
    // The resident's return arrives last of all.
    const client = new Client(kiln.app);
    const back = await client.follow(await client.get(`/pay/return/${payment.reference}`));
    assert.equal(page(back.body).heading(), 'Payment received');
    assert.deepEqual(
      (await service.ledger(db, payment.id)).map((e) => [e.kind, e.amount]),
      [['charge', 2600]],
      'booked once',
    );
    const receipts = await kiln.platform.notify.list(db, { recipient: 'resident@kilnford.example' });
    assert.equal(
      receipts.filter((m) => m.subject === `Payment received: ${payment.reference}`).length,
      1,
      'one receipt',
    );

    // A payment of another service on the same GOV.UK Pay account is acknowledged and left alone.
    const other = await govukPayProvider({ apiKey: stub.apiKey, baseUrl: stub.url }).create({
      amount: 100,
      reference: 'ELSEWHERE',
      description: 'Not Kiln',
      returnUrl: 'http://localhost:3000/x',
      idempotencyKey: randomUUID(),
    });
    const foreign = stub.webhookMessage(other.providerId, 'card_payment_succeeded');
    const ignored = await postWebhook(foreign, webhookSignature(webhookSecret, foreign));
    assert.deepEqual([ignored.statusCode, ignored.json().applied], [200, false]);
    assertAllShapesValid();
  });

  test('a refund GOV.UK Pay submits is booked when it finishes, once; a failed one books nothing', async () => {
    const { service } = kiln.services.payments;
    const db = kiln.platform.db;
    const { payment, providerId } = await paidPayment(5000);
    stub.refundStatus = 'submitted';
    try {
      const refund = await service.refund({
        payment: payment.reference,
        amount: 1500,
        reason: 'Collection cancelled',
        idempotencyKey: randomUUID(),
        actor: { type: 'system', id: null },
      });
      assert.equal(refund.status, 'submitted');
      assert.equal((await service.balance(db, payment.id)).balance, 5000, 'no money out until it is paid');
      // What is in flight counts against what is left.
      await assert.rejects(
        service.refund({
          payment: payment.reference,
          amount: 3501,
          reason: 'Too much',
          idempotencyKey: randomUUID(),
          actor: { type: 'system', id: null },
        }),
        /cannot be more than £35.00/,
      );
      // Still submitted at GOV.UK Pay: asking changes nothing.
      assert.equal(await service.reconcileRefunds(payment.id), 0);

      stub.finishRefund(refund.provider_refund_id!, 'success');
      const message = stub.webhookMessage(providerId, 'card_payment_refunded');
      for (let i = 0; i < 2; i++) {
        const res = await postWebhook(message, webhookSignature(webhookSecret, message));
        assert.equal(res.statusCode, 200);
      }
      assert.equal(await service.reconcileUnfinished(0), 0, 'nothing left to do');
      assert.deepEqual(
        (await service.ledger(db, payment.id)).map((e) => [e.kind, e.amount, e.provider_reference]),
        [
          ['charge', 5000, providerId],
          ['refund', -1500, refund.provider_refund_id],
        ],
      );
      const told = await kiln.platform.notify.list(db, { recipient: 'resident@kilnford.example' });
      assert.equal(told.filter((m) => m.subject === `Refund of £15.00: ${payment.reference}`).length, 1);

      // The card provider fails the next refund: the worker finds it, nothing is booked.
      const failing = await service.refund({
        payment: payment.reference,
        amount: 1000,
        reason: 'Second item not collected',
        idempotencyKey: randomUUID(),
        actor: { type: 'system', id: null },
      });
      stub.finishRefund(failing.provider_refund_id!, 'error');
      // "Older than 0 minutes" compares with a millisecond clock; the refund's time has
      // microseconds, so within the same millisecond it would not yet count as older.
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(await service.reconcileUnfinished(0), 1);
      const refunds = await service.refunds(db, payment.id);
      assert.deepEqual(
        refunds.map((r) => [r.amount, r.status]),
        [
          [1500, 'success'],
          [1000, 'error'],
        ],
      );
      assert.equal((await service.balance(db, payment.id)).balance, 3500);
    } finally {
      stub.refundStatus = 'success';
    }
    assertAllShapesValid();
  });

  test('a refund whose answer GOV.UK Pay never sent is found by listing the payment’s refunds, and booked once', async () => {
    const { service } = kiln.services.payments;
    const db = kiln.platform.db;
    const { payment, providerId } = await paidPayment(4000);
    stub.loseRefundAnswers = 1;
    const refund = await service.refund({
      payment: payment.reference,
      amount: 900,
      reason: 'Collection cancelled',
      idempotencyKey: randomUUID(),
      actor: { type: 'system', id: null },
    });
    assert.deepEqual([refund.status, refund.provider_refund_id], ['submitted', null], 'held, not failed');
    assert.equal(stub.payments.get(providerId)!.refunded, 900, 'GOV.UK Pay made it');

    assert.equal(await service.settleUnansweredRefunds(payment.id, soon()), 1);
    assert.equal(await service.settleUnansweredRefunds(payment.id, soon()), 0);
    const atStub = stub.refunds.filter((r) => r.payment_id === providerId);
    assert.equal(atStub.length, 1, 'not refunded twice');
    assert.deepEqual(
      (await service.ledger(db, payment.id)).map((e) => [e.kind, e.amount, e.provider_reference]),
      [
        ['charge', 4000, providerId],
        ['refund', -900, atStub[0]!.refund_id],
      ],
    );
    assert.ok(
      stub.requests.some((r) => r.method === 'GET' && r.path === `/v1/payments/${providerId}/refunds`),
    );
    assertAllShapesValid();
  });

  test('a refund saved but never sent is made again with refund_amount_available; a lost retry is found, not repeated', async () => {
    const { service } = kiln.services.payments;
    const db = kiln.platform.db;
    const { payment, providerId } = await paidPayment(3000);
    // The process stopped between saving the refund and calling GOV.UK Pay.
    await sql`insert into payment_refunds (reference, payment_id, idempotency_key, amount, reason, requested_by_type)
      values (${`RFD-${randomUUID().slice(0, 8)}`}, ${payment.id}, ${randomUUID()}, 1100, 'Collection cancelled', 'system')`.execute(
      db,
    );
    // The sweep's retry reaches GOV.UK Pay but its answer is lost too: left for the next run.
    stub.loseRefundAnswers = 1;
    await assert.rejects(service.settleUnansweredRefunds(payment.id, soon()), /could not be reached/);
    const retry = stub.requests.filter(
      (r) => r.method === 'POST' && r.path === `/v1/payments/${providerId}/refunds`,
    );
    assert.deepEqual(
      retry.map((r) => r.body),
      [{ amount: 1100, refund_amount_available: 3000 }],
    );

    assert.equal(await service.settleUnansweredRefunds(payment.id, soon()), 1);
    assert.equal(await service.settleUnansweredRefunds(payment.id, soon()), 0);
    assert.equal(stub.payments.get(providerId)!.refunded, 1100, 'refunded once');
    assert.deepEqual(
      (await service.refunds(db, payment.id)).map((r) => [r.status, r.provider_refund_id]),
      [['success', stub.refunds.find((r) => r.payment_id === providerId)!.refund_id]],
    );
    assert.equal((await service.balance(db, payment.id)).balance, 1900);
    assertAllShapesValid();
  });

  test('an unanswered refund GOV.UK Pay holds a different refund for is marked for staff, not refunded', async () => {
    const { service } = kiln.services.payments;
    const db = kiln.platform.db;
    const { payment, providerId } = await paidPayment(2000);
    // Someone refunded 300 in GOV.UK Pay's own admin tool; Kiln's unanswered refund is of 800.
    const client = govukPayProvider({ apiKey: stub.apiKey, baseUrl: stub.url });
    await client.refund(providerId, { amount: 300, refundAmountAvailable: 2000, idempotencyKey: 'admin' });
    await sql`insert into payment_refunds (reference, payment_id, idempotency_key, amount, reason, requested_by_type)
      values (${`RFD-${randomUUID().slice(0, 8)}`}, ${payment.id}, ${randomUUID()}, 800, 'Collection cancelled', 'system')`.execute(
      db,
    );
    assert.equal(await service.settleUnansweredRefunds(payment.id, soon()), 1);
    assert.deepEqual(
      (await service.refunds(db, payment.id)).map((r) => r.status),
      ['attention'],
    );
    assert.equal(stub.payments.get(providerId)!.refunded, 300, 'Kiln sent nothing');
    assert.deepEqual(
      (await service.ledger(db, payment.id)).map((e) => e.kind),
      ['charge'],
    );
    assertAllShapesValid();
  });
});
