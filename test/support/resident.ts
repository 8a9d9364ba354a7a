import assert from 'node:assert/strict';
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
