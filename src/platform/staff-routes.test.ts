import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../test/support/app.ts';
import { Client } from '../../test/support/http.ts';
import { permissionRoles, staffRoles, type StaffRole } from './auth/permissions.ts';
import { totpCode } from './auth/totp.ts';
import { DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET, demoStaff } from '../seed/index.ts';

// Every staff route of every module, found as the app registers them, refuses anyone without
// its permission. A new route is covered the day it is written.
describe('every /staff route requires its permission', () => {
  let kiln: TestKiln;
  const signedIn = new Map<StaffRole, Client>();

  before(async () => {
    kiln = await startTestApp();
    for (const person of demoStaff) {
      const client = new Client(kiln.app);
      await client.get('/staff/sign-in');
      await client.post('/staff/sign-in', { email: person.email, password: DEMO_STAFF_PASSWORD });
      await client.get('/staff/sign-in/code');
      const res = await client.post('/staff/sign-in/code', { code: totpCode(DEMO_TOTP_SECRET) });
      assert.equal(res.statusCode, 303, `${person.email} signs in`);
      signedIn.set(person.role, client);
    }
  });
  after(async () => kiln.close());

  const concrete = (path: string) => path.replace(/:[A-Za-z_]+/g, 'KLN-TEST-00').replace(/\*$/, 'x');

  test('the app found staff routes to check', () => {
    assert.ok(kiln.staffRoutes.length >= 3, `found ${kiln.staffRoutes.length}`);
  });

  test('anonymous visitors are sent to sign in, or refused', async () => {
    const anonymous = new Client(kiln.app);
    await anonymous.get('/staff/sign-in');
    for (const { method, url: path } of kiln.staffRoutes) {
      const route = `${method} ${path}`;
      const res =
        method === 'GET' ? await anonymous.get(concrete(path)) : await anonymous.post(concrete(path), {});
      if (method === 'GET') {
        assert.equal(res.statusCode, 302, `${route} redirects anonymous visitors`);
        assert.match(String(res.headers.location), /^\/staff\/sign-in/, route);
      } else {
        assert.equal(res.statusCode, 401, `${route} refuses anonymous visitors`);
      }
    }
  });

  test('staff whose role lacks the permission get 403', async () => {
    let checked = 0;
    for (const { method, url: path, permission } of kiln.staffRoutes) {
      const route = `${method} ${path}`;
      const allowed = permissionRoles[permission] as readonly StaffRole[];
      for (const role of staffRoles.filter((r) => !allowed.includes(r))) {
        const client = signedIn.get(role)!;
        await client.get('/staff/sign-in');
        const res =
          method === 'GET' ? await client.get(concrete(path)) : await client.post(concrete(path), {});
        assert.equal(res.statusCode, 403, `${route} refuses ${role}`);
        checked += 1;
      }
    }
    assert.ok(checked > 0);
  });
});
