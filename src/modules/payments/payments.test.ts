import assert from 'node:assert/strict';
import { londonDay } from '../../platform/time.ts';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { residentIdOf } from '../../../test/support/resident.ts';
import { residentPayment, submitSandboxCard } from './test-support.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { systemActor } from '../../platform/actor.ts';
import type { Payment } from './service.ts';

/** A moment from now: rows written just before count as older (clocks tick in whole milliseconds). */
const soon = () => new Date(Date.now() + 1000);
describe('payments', () => {
  let kiln: TestKiln;
  let residentId: string;
  before(async () => {
    kiln = await startTestApp();
    residentId = await residentIdOf(kiln);
  });
  after(async () => kiln.close());

  const payments = () => kiln.services.payments.service;

  const newPayment = (amount = 3500, key = randomUUID()) =>
    residentPayment(kiln, residentId, amount, { key });

  /** Goes through the sandbox card page as a resident would, and back to Kiln. */
  async function payWithCard(client: Client, payment: Payment, card: string) {
    const { nextUrl } = await payments().startCardPayment(payment, `/pay/${payment.reference}/confirmation`);
    return submitSandboxCard(client, nextUrl, card);
  }

  async function backToKiln(client: Client, response: Awaited<ReturnType<Client['get']>>) {
    const returned = await client.follow(response);
    assert.equal(returned.statusCode, 303);
    return client.follow(returned);
  }

  async function ledgerOf(paymentId: string) {
    return payments().ledger(kiln.platform.db, paymentId);
  }

  test('the same idempotency key gives the same payment, once', async () => {
    const key = randomUUID();
    const [a, b] = [await newPayment(1200, key), await newPayment(1200, key)];
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(a.id, b.id);
    assert.match(a.reference, /^PAY-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$/);
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from payments where idempotency_key = ${key}`.execute(kiln.platform.db);
    assert.equal(rows[0]!.n, 1);
  });

  test('a bad payment is refused with a reason and nothing is stored', async () => {
    await assert.rejects(
      kiln.platform.db.transaction().execute((tx) =>
        payments().createPayment(tx, {
          amount: -5,
          description: '',
          payer: {},
          paysFor: { type: 'test', id: 'x' },
          idempotencyKey: 'bad-payment-key',
          actor: systemActor,
        }),
      ),
      /payer/,
    );
    assert.equal(await payments().getPayment(kiln.platform.db, 'bad-payment-key'), undefined);
  });

  test('a resident pays with a test card: one ledger charge, last four digits only, a receipt and an event', async () => {
    const payment = await newPayment(3500);
    const client = new Client(kiln.app);
    // A form with mistakes is refused field by field, and the card number is not echoed back.
    const { nextUrl } = await payments().startCardPayment(payment, `/pay/${payment.reference}/confirmation`);
    await client.get(nextUrl);
    const bad = await client.post(nextUrl, {
      cardNumber: '4444 3333 2222 1112',
      expiryMonth: '13',
      expiryYear: '2031',
      cardholderName: '',
      cvc: '12',
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter a valid card number',
      'Enter a real expiry date, for example 03 30',
      'Enter the name as it appears on the card',
      'The card security code must be 3 or 4 digits',
    ]);
    assert.doesNotMatch(bad.body, /4444 3333 2222 1112/);

    const paid = await payWithCard(client, payment, '4444 3333 2222 1111');
    const confirmation = await backToKiln(client, paid);
    assert.equal(page(confirmation.body).heading(), 'Payment received');
    assert.match(page(confirmation.body).text(), /Visa ending 1111/);

    const after = (await payments().getPayment(kiln.platform.db, payment.id))!;
    assert.equal(after.status, 'success');
    assert.equal(after.cardLastFour, '1111');
    const ledger = await ledgerOf(payment.id);
    assert.deepEqual(
      ledger.map((e) => [e.kind, e.amount]),
      [['charge', 3500]],
    );
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from payment_sandbox_charges where card_last_four = '1111'
        and row_to_json(payment_sandbox_charges)::text like '%4444333322221111%'`.execute(kiln.platform.db);
    assert.equal(rows[0]!.n, 0, 'the full card number is stored nowhere');
    const events = await kiln.platform.events.forSubject(kiln.platform.db, 'payment', payment.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['payment.created', 'payment.started', 'payment.succeeded'],
    );
    const [receipt] = await kiln.platform.notify.list(kiln.platform.db, {
      recipient: 'resident@kilnford.example',
    });
    assert.match(receipt!.subject!, new RegExp(`Payment received: ${payment.reference}`));

    // The provider's return arriving again, or a late reconcile, changes nothing.
    await client.get(`/pay/return/${payment.reference}`);
    await payments().reconcile(payment.id);
    assert.equal((await ledgerOf(payment.id)).length, 1);
    await assert.rejects(payments().startCardPayment(payment, '/'), /already been paid/);
  });

  test('declined, expired, bad security code and provider error: no money moves, and the resident can try again', async () => {
    const cases = [
      ['4000000000000002', 'failed', 'Your card was declined'],
      ['4000000000000069', 'failed', 'Your card has expired'],
      ['4000000000000127', 'failed', 'The card security code was not right'],
      ['4000000000000119', 'error', 'There was a problem with the card payment provider'],
    ] as const;
    for (const [card, status, message] of cases) {
      const payment = await newPayment(1000);
      const client = new Client(kiln.app);
      const done = await backToKiln(client, await payWithCard(client, payment, card));
      assert.equal(page(done.body).heading(), 'Your payment was not taken', card);
      assert.match(page(done.body).text(), new RegExp(message));
      const after = (await payments().getPayment(kiln.platform.db, payment.id))!;
      assert.equal(after.status, status);
      assert.equal((await ledgerOf(payment.id)).length, 0);
    }
    // Trying again after a decline starts a new attempt for the same payment.
    const payment = await newPayment(1000);
    const client = new Client(kiln.app);
    const declined = await backToKiln(client, await payWithCard(client, payment, '4000000000000002'));
    assert.equal(page(declined.body).heading(), 'Your payment was not taken');
    const retry = await client.post(`/pay/${payment.reference}/retry`, {});
    assert.equal(retry.statusCode, 303);
    const form = await client.follow(retry);
    assert.equal(page(form.body).heading(), 'Enter card details');
    const paid = await client.post(String(retry.headers.location), {
      cardNumber: '4242424242424242',
      expiryMonth: '01',
      expiryYear: '30',
      cardholderName: 'A Moreton',
      cvc: '999',
    });
    assert.equal(page((await backToKiln(client, paid)).body).heading(), 'Payment received');
    assert.equal((await ledgerOf(payment.id)).length, 1);
  });

  test('the 3-D Secure card asks for a code; a wrong code fails, the right one pays', async () => {
    const payment = await newPayment(2000);
    const client = new Client(kiln.app);
    const toChallenge = await payWithCard(client, payment, '4000000000003220');
    const challengeUrl = String(toChallenge.headers.location);
    const challenge = await client.follow(toChallenge);
    assert.equal(page(challenge.body).heading(), 'Confirm your payment');
    assert.equal((await payments().reconcile(payment.id)).status, 'submitted');
    const empty = await client.post(challengeUrl, { code: '' });
    assert.deepEqual(page(empty.body).errorSummary(), ['Enter the 6-digit code from your bank']);
    const wrong = await client.post(challengeUrl, { code: '000000' });
    const failed = await backToKiln(client, wrong);
    assert.equal(page(failed.body).heading(), 'Your payment was not taken');

    const retry = await client.post(`/pay/${payment.reference}/retry`, {});
    const next = String(retry.headers.location);
    await client.follow(await submitSandboxCard(client, next, '4000000000003220'));
    const ok = await client.post(`${next}/3ds`, { code: '123456' });
    assert.equal(page((await backToKiln(client, ok)).body).heading(), 'Payment received');
  });

  test('a payment receipt page is only for its payer', async () => {
    const payment = await newPayment(700);
    const stranger = new Client(kiln.app);
    const res = await stranger.get(`/pay/${payment.reference}/confirmation`);
    assert.equal(res.statusCode, 404);
  });

  test('staff refund in part and in full, never above what was taken, within their limit', async () => {
    const payment = await newPayment(15000);
    const resident = new Client(kiln.app);
    await backToKiln(resident, await payWithCard(resident, payment, '4444333322221111'));

    const officer = await staffClient(kiln, 'officer@kilnford.example');
    let res = await officer.get(`/staff/payments/${payment.reference}`);
    assert.equal(page(res.body).heading(), `Payment ${payment.reference}`);
    const refundKey = () =>
      officer.lastPage!.querySelector('input[name="refundKey"]')!.getAttribute('value')!;

    res = await officer.post(`/staff/payments/${payment.reference}/refund`, {
      amount: '120',
      reason: 'Cancelled',
      refundKey: refundKey(),
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), [
      'You can refund up to £100.00; ask a team leader for more',
    ]);

    res = await officer.post(`/staff/payments/${payment.reference}/refund`, {
      amount: 'ten',
      reason: '',
      refundKey: refundKey(),
    });
    assert.deepEqual(page(res.body).errorSummary(), [
      'Enter an amount in pounds and pence, like 12.50',
      'Enter why you are refunding this payment',
    ]);

    const key = refundKey();
    res = await officer.post(`/staff/payments/${payment.reference}/refund`, {
      amount: '60.00',
      reason: 'Part cancelled',
      refundKey: key,
    });
    assert.equal(res.statusCode, 303);
    // A double click sends the same key: still one refund.
    await officer.get(`/staff/payments/${payment.reference}`);
    res = await officer.post(`/staff/payments/${payment.reference}/refund`, {
      amount: '60.00',
      reason: 'Part cancelled',
      refundKey: key,
    });
    assert.equal(res.statusCode, 303);
    assert.equal((await payments().balance(kiln.platform.db, payment.id)).balance, 9000);

    const lead = await staffClient(kiln, 'lead@kilnford.example');
    await lead.get(`/staff/payments/${payment.reference}`);
    res = await lead.post(`/staff/payments/${payment.reference}/refund`, {
      amount: '90.01',
      reason: 'Too much',
      refundKey: lead.lastPage!.querySelector('input[name="refundKey"]')!.getAttribute('value')!,
    });
    assert.deepEqual(page(res.body).errorSummary(), [
      'The refund cannot be more than £90.00, the amount left to refund',
    ]);
    res = await lead.post(`/staff/payments/${payment.reference}/refund`, {
      amount: '90',
      reason: 'Rest cancelled',
      refundKey: lead.lastPage!.querySelector('input[name="refundKey"]')!.getAttribute('value')!,
    });
    assert.equal(res.statusCode, 303);
    const shown = await lead.follow(res);
    assert.match(page(shown.body).text(), /Refund RFD-\w{4}-\w{2} of £90.00 made/);
    assert.deepEqual(
      (await ledgerOf(payment.id)).map((e) => [e.kind, e.amount]),
      [
        ['charge', 15000],
        ['refund', -6000],
        ['refund', -9000],
      ],
    );
    const audit = await sql<{ action: string }>`
      select action from audit_log where subject_id = ${payment.id} and action like 'payment.refund%' order by id`.execute(
      kiln.platform.db,
    );
    assert.deepEqual(
      audit.rows.map((r) => r.action),
      ['payment.refund_requested', 'payment.refunded', 'payment.refund_requested', 'payment.refunded'],
    );

    // The database itself refuses a refund beyond the balance, and any change to the ledger.
    await assert.rejects(
      sql`insert into payment_ledger (payment_id, kind, method, amount) values (${payment.id}, 'refund', 'card', -1)`.execute(
        kiln.platform.db,
      ),
      /exceeds the balance/,
    );
    await assert.rejects(
      sql`update payment_ledger set amount = 1 where payment_id = ${payment.id}`.execute(kiln.platform.db),
      /append-only/,
    );
    await assert.rejects(
      sql`delete from payment_ledger where payment_id = ${payment.id}`.execute(kiln.platform.db),
      /append-only/,
    );
    await assert.rejects(
      sql`insert into payment_ledger (payment_id, kind, method, amount) values (${payment.id}, 'charge', 'card', 15000)`.execute(
        kiln.platform.db,
      ),
      /payment_ledger_one_take_idx/,
    );
  });

  test('agents cannot refund; the payments list shows payments to those who may read them', async () => {
    const payment = await newPayment(500);
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    const list = await agent.get(`/staff/payments?reference=${payment.reference}`);
    assert.equal(page(list.body).heading(), 'Payments');
    assert.ok(
      page(list.body)
        .links()
        .some((l) => l.text === payment.reference),
    );
    assert.equal(
      page((await agent.get(`/staff/payments/${payment.reference}`)).body).heading(),
      `Payment ${payment.reference}`,
    );
    assert.equal(agent.lastPage!.querySelector('form[action$="/refund"]'), null, 'no refund form for agents');
    // Any page with a form gives the agent a valid CSRF token, so the refusal below is the permission's.
    await agent.get((await payments().startCardPayment(payment, '/')).nextUrl);
    const res = await agent.post(`/staff/payments/${payment.reference}/refund`, {
      amount: '1',
      reason: 'x',
      refundKey: randomUUID(),
    });
    assert.equal(res.statusCode, 403);
  });

  test('an agent acting for a resident on the phone takes a card payment; the channel and the agent are recorded', async () => {
    const agent = await staffClient(kiln, 'agent@kilnford.example');
    // Without acting for anyone there is no one to take a payment from.
    assert.equal((await agent.get('/staff/payments/take')).statusCode, 400);
    await agent.get('/staff/assisted/CU-DEMO-01');
    const acting = await agent.post('/staff/assisted/CU-DEMO-01', { channel: 'phone' });
    assert.equal(acting.statusCode, 303);
    const form = await agent.get('/staff/payments/take');
    assert.equal(page(form.body).heading(), 'Take a card payment');
    const takeKey = agent.lastPage!.querySelector('input[name="takeKey"]')!.getAttribute('value')!;
    const bad = await agent.post('/staff/payments/take', { amount: '£', description: '', takeKey });
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter an amount in pounds and pence, like 25.00',
      'Enter what the payment is for',
    ]);
    const started = await agent.post('/staff/payments/take', {
      amount: '42.50',
      description: 'Pest control visit',
      takeKey,
    });
    assert.equal(started.statusCode, 303);
    const cardPage = String(started.headers.location);
    assert.match(cardPage, /^\/pay\/card\//);
    const paid = await submitSandboxCard(agent, cardPage, '4444333322221111');
    const back = await agent.follow(paid);
    assert.match(String(back.headers.location), /^\/staff\/payments\/PAY-/);
    const shown = await agent.follow(back);
    assert.match(page(shown.body).heading(), /^Payment PAY-/);
    assert.match(page(shown.body).text(), /Status success/);
    assert.match(page(shown.body).text(), /card, phone/);
    const reference = page(shown.body).heading().replace('Payment ', '');
    const payment = (await payments().getPayment(kiln.platform.db, reference))!;
    assert.equal(payment.payerResidentId, residentId);
    assert.equal(payment.channel, 'phone');
    assert.ok(payment.takenByStaff);
    assert.equal(payment.amount, 4250);
  });

  test('cash taken at a council office is recorded once and measured by method per month with the others', async () => {
    const db = kiln.platform.db;
    const month = londonDay().slice(0, 7);
    const next = (([y, m]) => (m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`))(
      month.split('-').map(Number) as [number, number],
    );
    const measure = async () =>
      (await payments().paymentsByMethodPerMonth(db, `${month}-01`, `${next}-01`)).filter(
        (m) => m.method === 'cash_desk',
      );
    const before = await measure();
    assert.equal(before.length, 1, 'cash at the desk is measured even in a month with none');

    const agent = await staffClient(kiln, 'agent@kilnford.example');
    assert.equal((await agent.get('/staff/payments/cash-desk')).statusCode, 400, 'acting for nobody');
    await agent.get('/staff/assisted/CU-DEMO-01');
    await agent.post('/staff/assisted/CU-DEMO-01', { channel: 'face_to_face' });
    const form = await agent.get('/staff/payments/cash-desk');
    assert.equal(page(form.body).heading(), 'Record cash taken at the desk');
    const cashKey = agent.lastPage!.querySelector('input[name="cashKey"]')!.getAttribute('value')!;
    const bad = await agent.post('/staff/payments/cash-desk', {
      amount: '12.345',
      description: '',
      tillReceipt: 'T 1; drop',
      cashKey,
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(page(bad.body).errorSummary(), [
      'Enter an amount in pounds and pence, like 25.00',
      'Enter what the payment is for',
      'Enter the till receipt number: 1 to 40 letters, digits or dashes',
    ]);
    assert.deepEqual(await measure(), before, 'a refused form records nothing');
    const fields = { amount: '18.00', description: 'Replacement bin', tillReceipt: 'TILL2-00417', cashKey };
    const first = await agent.post('/staff/payments/cash-desk', fields);
    const again = await agent.post('/staff/payments/cash-desk', fields);
    assert.equal(first.headers.location, again.headers.location, 'a double click records the cash once');
    const reference = String(first.headers.location).split('/').pop()!;
    const payment = (await payments().getPayment(db, reference))!;
    assert.deepEqual(
      [
        payment.method,
        payment.status,
        payment.channel,
        payment.payerResidentId,
        Boolean(payment.takenByStaff),
      ],
      ['cash_desk', 'success', 'face_to_face', residentId, true],
    );
    assert.deepEqual(
      (await ledgerOf(payment.id)).map((e) => [e.kind, e.method, e.amount, e.provider, e.provider_reference]),
      [['cash_receipt', 'cash_desk', 1800, 'cash_desk', 'TILL2-00417']],
    );
    const [after] = await measure();
    assert.deepEqual(
      [after!.payments - before[0]!.payments, after!.received - before[0]!.received],
      [1, 1800],
    );
    const all = await payments().paymentsByMethodPerMonth(db, `${month}-01`, `${next}-01`);
    assert.deepEqual(
      all.map((m) => m.method),
      ['card', 'direct_debit', 'paypoint_cash', 'cash_desk'],
    );
  });

  test('the daily reconciliation balances the ledger against the sandbox settlements, and names a difference', async () => {
    const lead = await staffClient(kiln, 'lead@kilnford.example');
    let res = await lead.get('/staff/payments/reconciliation');
    assert.equal(page(res.body).heading(), 'Daily reconciliation');
    assert.match(page(res.body).text(), /Balanced/);
    const report = await payments().reconciliationReport(kiln.platform.db);
    assert.equal(report.card.balanced, true);
    assert.ok(report.card.ledgerEntries > 0);
    // A settlement the ledger never booked (money taken but lost to Kiln) shows up by reference.
    await sql`insert into payment_sandbox_charges (provider_id, amount, reference, description, return_url, state)
      values ('sbxlost', 999, 'PAY-LOST-00', 'Lost', '/', 'success')`.execute(kiln.platform.db);
    await sql`insert into payment_sandbox_settlements (provider_id, provider_reference, kind, amount)
      values ('sbxlost', 'sbxlost', 'charge', 999)`.execute(kiln.platform.db);
    res = await lead.get('/staff/payments/reconciliation');
    assert.match(page(res.body).text(), /Does not balance/);
    assert.match(page(res.body).text(), /sbxlost missing £9.99/);
    const measures = await payments().paymentsByMethodPerMonth(kiln.platform.db, '2000-01-01', '2100-01-01');
    assert.ok(measures.some((m) => m.method === 'card' && m.received > 0));
  });

  test('a card payment left open (browser closed, process killed) is settled from the provider on the next run', async () => {
    const payment = await newPayment(4200);
    const client = new Client(kiln.app);
    // The resident pays but never comes back to Kiln.
    await payWithCard(client, payment, '4444333322221111');
    assert.equal((await payments().getPayment(kiln.platform.db, payment.id))!.status, 'created');
    const changed = await payments().reconcileUnfinished(0);
    assert.ok(changed >= 1);
    assert.equal((await payments().getPayment(kiln.platform.db, payment.id))!.status, 'success');
    assert.equal((await ledgerOf(payment.id)).length, 1);
  });

  /** A refund row saved as submitted whose provider call never answered (the process stopped). */
  async function unansweredRefund(paymentId: string, amount: number) {
    const { rows } = await sql<{ id: string }>`
      insert into payment_refunds (reference, payment_id, idempotency_key, amount, reason, requested_by_type)
      values (${`RFD-${randomUUID().slice(0, 8)}`}, ${paymentId}, ${randomUUID()}, ${amount}, 'Collection cancelled', 'system')
      returning id`.execute(kiln.platform.db);
    return rows[0]!.id;
  }

  async function paidByCard(amount: number) {
    const payment = await newPayment(amount);
    await backToKiln(
      new Client(kiln.app),
      await payWithCard(new Client(kiln.app), payment, '4444333322221111'),
    );
    const paid = (await payments().getPayment(kiln.platform.db, payment.id))!;
    assert.equal(paid.status, 'success');
    const { rows } = await sql<{ provider_id: string }>`
      select provider_id from payments where id = ${payment.id}`.execute(kiln.platform.db);
    return { ...paid, providerId: rows[0]!.provider_id };
  }

  async function sandboxRefunds(payment: Payment) {
    const { rows } = await sql<{ provider_reference: string; amount: number }>`
      select s.provider_reference, s.amount from payment_sandbox_settlements s
      join payments p on p.provider_id = s.provider_id
      where p.id = ${payment.id} and s.kind = 'refund' order by s.id`.execute(kiln.platform.db);
    return rows.map((r) => [r.provider_reference, r.amount]);
  }

  test('a refund saved but never sent to the provider is made by the sweep, once', async () => {
    const payment = await paidByCard(3000);
    const refundId = await unansweredRefund(payment.id, 1200);
    // Until it is settled, it counts against what is left.
    await assert.rejects(
      payments().refund({
        payment: payment.reference,
        amount: 1801,
        reason: 'Too much',
        idempotencyKey: randomUUID(),
        actor: systemActor,
      }),
      /cannot be more than £18.00/,
    );
    assert.equal(await payments().settleUnansweredRefunds(payment.id, soon()), 1);
    assert.equal(await payments().settleUnansweredRefunds(payment.id, soon()), 0, 'nothing left to do');
    await payments().reconcileUnfinished(0);
    const made = await sandboxRefunds(payment);
    assert.equal(made.length, 1, 'the sandbox refunded once');
    assert.deepEqual(
      (await ledgerOf(payment.id)).map((e) => [e.kind, e.amount, e.provider_reference]),
      [
        ['charge', 3000, payment.providerId],
        ['refund', -1200, made[0]![0]],
      ],
    );
    const refunds = await payments().refunds(kiln.platform.db, payment.id);
    assert.deepEqual(
      refunds.map((r) => [r.id, r.status, r.provider_refund_id]),
      [[refundId, 'success', made[0]![0]]],
    );
  });

  test('a refund the provider made but whose answer was lost is found and booked, not made again', async () => {
    const payment = await paidByCard(2500);
    await unansweredRefund(payment.id, 700);
    // The sandbox made it; its answer never reached Kiln.
    await sql`insert into payment_sandbox_settlements (provider_id, provider_reference, kind, amount)
      values (${payment.providerId}, ${'sbrlostanswer' + randomUUID().slice(0, 8)}, 'refund', -700)`.execute(
      kiln.platform.db,
    );
    // A staff refund meanwhile is refused by the provider (its books already hold the lost one).
    await assert.rejects(
      payments().refund({
        payment: payment.reference,
        amount: 1800,
        reason: 'Rest of it',
        idempotencyKey: randomUUID(),
        actor: systemActor,
      }),
      /did not accept the refund/,
    );
    assert.equal(await payments().settleUnansweredRefunds(payment.id, soon()), 1);
    const made = await sandboxRefunds(payment);
    assert.deepEqual(
      made.map(([, amount]) => amount),
      [-700],
      'nothing refunded twice',
    );
    assert.deepEqual(
      (await ledgerOf(payment.id)).map((e) => [e.kind, e.amount, e.provider_reference]),
      [
        ['charge', 2500, payment.providerId],
        ['refund', -700, made[0]![0]],
      ],
    );
    assert.equal((await payments().balance(kiln.platform.db, payment.id)).balance, 1800);
  });

  test('unanswered refunds that cannot be matched to the provider are marked for staff, never guessed', async () => {
    const payment = await paidByCard(4000);
    await unansweredRefund(payment.id, 500);
    await unansweredRefund(payment.id, 500);
    // The provider holds one refund of 500: which of the two it is cannot be proven.
    await sql`insert into payment_sandbox_settlements (provider_id, provider_reference, kind, amount)
      values (${payment.providerId}, ${'sbrwhich' + randomUUID().slice(0, 8)}, 'refund', -500)`.execute(
      kiln.platform.db,
    );
    assert.equal(await payments().settleUnansweredRefunds(payment.id, soon()), 2);
    assert.equal(await payments().settleUnansweredRefunds(payment.id, soon()), 0);
    assert.deepEqual(
      (await payments().refunds(kiln.platform.db, payment.id)).map((r) => r.status),
      ['attention', 'attention'],
    );
    assert.equal((await sandboxRefunds(payment)).length, 1, 'nothing was sent again');
    assert.deepEqual(
      (await ledgerOf(payment.id)).map((e) => e.kind),
      ['charge'],
      'nothing booked',
    );
    const staff = await staffClient(kiln, 'lead@kilnford.example');
    const shown = page((await staff.get(`/staff/payments/${payment.reference}`)).body).text();
    assert.match(shown, /Check with the card provider: Kiln could not confirm it/);
  });
});
