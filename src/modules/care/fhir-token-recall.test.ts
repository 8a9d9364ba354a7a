import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { tables } from '../../platform/db/index.ts';
import { NHS_NUMBER_SYSTEM } from './nhs-number.ts';
import * as store from './store.ts';

const DOROTHY = '9990000026';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A Patient search takes the token's holder as remembered from an earlier request and confirms
 * the token in the statement that reads and audits: one round trip, and a revoked or expired token
 * still reads nothing, even in a process that did not revoke it.
 */
describe('FHIR Patient search with a remembered token', () => {
  let kiln: TestKiln;
  let practitionerId: string;

  async function newClient() {
    const client = await kiln.services.care.tokens.registerClient(
      { type: 'system', id: null },
      practitionerId,
      'Test system',
      ['patient/*.read'],
    );
    const res = await kiln.app.inject({
      method: 'POST',
      url: '/fhir/R4/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.client_id,
        client_secret: client.secret,
      }).toString(),
    });
    assert.equal(res.statusCode, 200, res.body);
    return { id: client.id, token: (res.json() as { access_token: string }).access_token };
  }
  const get = async (url: string, token: string) => {
    const res = await kiln.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, body: res.json() as Json };
  };
  const search = (nhsNumber: string, token: string) =>
    get(`/fhir/R4/Patient?identifier=${encodeURIComponent(`${NHS_NUMBER_SYSTEM}|${nhsNumber}`)}`, token);
  async function reads(subjectId: string) {
    return (await tables<{
      audit_log: { id: number; action: string; subject_id: string | null; detail: Json };
    }>(kiln.platform.db)
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('subject_id', '=', subjectId)
      .where('action', '=', 'care.record_read')
      .orderBy('id')
      .execute()) as Array<{ action: string; detail: Json }>;
  }

  before(async () => {
    kiln = await startTestApp();
    const staff = await tables<{
      staff_users: { id: string; name: string; email: string; team_code: string | null };
    }>(kiln.platform.db)
      .selectFrom('staff_users')
      .select(['id', 'name', 'email', 'team_code'])
      .where('email', '=', 'socialworker@kilnford.example')
      .executeTakeFirstOrThrow();
    practitionerId = (await kiln.services.care.record.viewerForStaff({ ...staff, teamCode: staff.team_code }))
      .practitionerId;
  });
  after(async () => kiln.close());

  test('each search is audited once per person found, by the statement that finds them', async () => {
    const { token } = await newClient();
    const first = await search(DOROTHY, token);
    assert.equal(first.status, 200);
    assert.equal(first.body.total, 1);
    const dorothy = first.body.entry[0].resource.id as string;
    const before = (await reads(dorothy)).length;
    for (let i = 0; i < 3; i++) assert.equal((await search(DOROTHY, token)).body.total, 1);
    const entries = await reads(dorothy);
    assert.equal(entries.length, before + 3, 'one read entry for each search, none lost, none twice');
    assert.deepEqual(entries.at(-1)!.detail, {
      resource: 'Patient',
      via: 'care_team',
      client: entries.at(-1)!.detail.client,
    });
    assert.match(entries.at(-1)!.detail.client, /^kiln-/);
  });

  test('a search that finds nobody still answers with an empty Bundle', async () => {
    const { token } = await newClient();
    assert.equal((await search(DOROTHY, token)).status, 200);
    const nobody = await get('/fhir/R4/Patient?identifier=https://example.org/other|123', token);
    assert.equal(nobody.status, 200);
    assert.equal(nobody.body.total, 0);
  });

  test('a client revoked by another process reads nothing more here, at once', async () => {
    const { id, token } = await newClient();
    const found = await search(DOROTHY, token);
    assert.equal(found.status, 200);
    const dorothy = found.body.entry[0].resource.id as string;
    const before = (await reads(dorothy)).length;
    // Another process revokes it: this one's tokens service is not told.
    assert.ok(await store.revokeApiClient(kiln.platform.db, id, practitionerId));
    const refused = await search(DOROTHY, token);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.resourceType, 'OperationOutcome');
    assert.equal(refused.body.issue[0].code, 'login');
    assert.equal((await reads(dorothy)).length, before, 'a refused token reads, and audits, nothing');
    assert.equal((await get(`/fhir/R4/Patient/${dorothy}`, token)).status, 401);
    // Searches answered without reading anybody are refused as well.
    assert.equal((await get('/fhir/R4/Patient?identifier=https://example.org/other|123', token)).status, 401);
    assert.equal((await get('/fhir/R4/Patient?_id=not-an-id', token)).status, 401);
    // And so are searches refused before reading: the token is the first thing answered for.
    assert.equal((await get('/fhir/R4/Patient?colour=blue', token)).status, 401);
    assert.equal((await get('/fhir/R4/Patient?birthdate=yesterday', token)).status, 401);
  });

  test('a token that expires after it was remembered reads nothing more', async () => {
    const { token } = await newClient();
    assert.equal((await search(DOROTHY, token)).status, 200);
    // Expiry as the database sees it (the process remembers the earlier expiry time).
    await sql`update care_api_tokens set expires_at = now() - interval '1 second'
               where client_id in (select id from care_api_clients where practitioner_id = ${practitionerId})`.execute(
      kiln.platform.db,
    );
    assert.equal((await search(DOROTHY, token)).status, 401);
  });

  test('a client revoked in this process is refused at once', async () => {
    const { id, token } = await newClient();
    assert.equal((await search(DOROTHY, token)).status, 200);
    assert.ok(await kiln.services.care.tokens.revokeClient({ type: 'system', id: null }, id, practitionerId));
    assert.equal((await search(DOROTHY, token)).status, 401);
  });
});
