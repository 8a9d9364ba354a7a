import type { TestKiln } from './app.ts';
import { Client } from './http.ts';
import { totpCode } from '../../src/platform/auth/totp.ts';
import { DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET } from '../../src/seed/index.ts';

/** Signs a demo staff member in through the real password and authenticator-code pages. */
export async function signInStaff(client: Client, email: string): Promise<Client> {
  await client.get('/staff/sign-in');
  const first = await client.post('/staff/sign-in', { email, password: DEMO_STAFF_PASSWORD });
  if (first.statusCode !== 303) throw new Error(`Password step for ${email} failed: ${first.statusCode}`);
  await client.follow(first);
  const second = await client.post('/staff/sign-in/code', { code: totpCode(DEMO_TOTP_SECRET) });
  if (second.statusCode !== 303) throw new Error(`Code step for ${email} failed: ${second.statusCode}`);
  return client;
}

/** A new client signed in as the given demo staff member. */
export async function staffClient(kiln: TestKiln, email: string): Promise<Client> {
  return signInStaff(new Client(kiln.app), email);
}
