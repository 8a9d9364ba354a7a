import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { TestKiln } from './app.ts';
import { Client } from './http.ts';

/**
 * A new client signed in as a resident through the real emailed-link pages: asks for a link, reads
 * it from the sandbox notify outbox, opens it and confirms.
 */
export async function residentClient(kiln: TestKiln, email: string): Promise<Client> {
  const client = new Client(kiln.app);
  await client.get('/sign-in');
  await client.post('/sign-in', { email });
  const [message] = await kiln.platform.notify.list(kiln.platform.db, { recipient: email });
  const token = message?.body.match(/\/sign-in\/link\?token=([\w-]+)/)?.[1];
  assert.ok(token, `a sign-in link was emailed to ${email}`);
  await client.get(`/sign-in/link?token=${token}`);
  const res = await client.post('/sign-in/link', { token });
  assert.equal(res.statusCode, 303, `${email} signs in`);
  return client;
}

/** The demo resident the seed creates: most module tests act for them. */
export const DEMO_RESIDENT_EMAIL = 'resident@kilnford.example';

/** The id of a resident, found by email (the demo resident unless told). */
export async function residentIdOf(kiln: TestKiln, email = DEMO_RESIDENT_EMAIL): Promise<string> {
  const { rows } = await sql<{ id: string }>`select id from residents where email = ${email}`.execute(
    kiln.platform.db,
  );
  assert.ok(rows[0], `a resident ${email} exists`);
  return rows[0].id;
}
