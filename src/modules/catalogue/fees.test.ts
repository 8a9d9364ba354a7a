import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';

const base = '/services/apply-for-a-garden-waste-permit';

async function answer(client: Client, path: string, fields: Record<string, string>) {
  await client.get(path);
  const res = await client.post(path, fields);
  assert.equal(res.statusCode, 303, `${path}: ${page(res.body).errorSummary().join(', ')}`);
  return String(res.headers.location);
}

describe('a service with a fee is paid for with the request', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  test('the resident pays the fee by card, once, and the confirmation says so', async () => {
    const client = new Client(kiln.app);
    await client.get(`${base}/start`);
    const address = `${base}/questions/address`;
    const list = await client.get(`${address}?lookup=KF1%203CD`);
    const uprn = list.body.match(/name="address-uprn" type="radio" value="(\d+)"/)?.[1];
    assert.ok(uprn, 'an address to choose');
    let next = await answer(client, `${address}?lookup=KF1%203CD`, {
      mode: 'select',
      lookup: 'KF1 3CD',
      'address-uprn': uprn,
    });
    next = await answer(client, next, { bins: '2' });
    next = await answer(client, next, { 'council-tax-reduction': 'no' });
    next = await answer(client, next, { email: 'gardener@example.com' });
    assert.equal(next, `${base}/check`);
    await client.get(next);
    const key = client.lastPage!.querySelector('input[name="key"]')!.getAttribute('value')!;
    const sent = await client.post(next, { key });
    assert.equal(sent.statusCode, 303);
    const cardPage = String(sent.headers.location);
    assert.match(cardPage, /^\/pay\/card\//, 'the resident is sent to pay');

    // Sending the same form again asks for no second payment.
    const again = await client.post(next, { key });
    const confirmation = String(again.headers.location);
    assert.match(confirmation, new RegExp(`^${base}/confirmation/KLN-`));
    const unpaid = await client.get(confirmation);
    assert.match(page(unpaid.body).text(), /You have not paid the fee of £48\.00 yet/);

    const form = await client.get(cardPage);
    assert.equal(page(form.body).heading(), 'Enter card details');
    const paid = await client.post(cardPage, {
      cardNumber: '4444333322221111',
      expiryMonth: '12',
      expiryYear: '2031',
      cardholderName: 'R Gardener',
      cvc: '123',
    });
    assert.equal(paid.statusCode, 303);
    let res = await client.follow(paid);
    while (res.statusCode === 302 || res.statusCode === 303) res = await client.follow(res);
    assert.equal(page(res.body).heading(), 'Request sent');
    assert.match(page(res.body).text(), /You paid £48\.00/);

    const reference = confirmation.split('/').at(-1)!;
    const found = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.ok(found);
    const { rows } = await sql<{
      status: string;
    }>`select status from payments where pays_for_id = ${found.id}`.execute(kiln.platform.db);
    assert.deepEqual(
      rows.map((r) => r.status),
      ['success'],
      'one payment, paid',
    );
  });
});
