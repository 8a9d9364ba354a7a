import assert from 'node:assert/strict';
import { test } from 'node:test';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import { registerInputGuard } from './input-guard.ts';

// A multipart body as Kiln parses it: each field links back to all the fields.
async function appWithUploads() {
  const app = Fastify();
  await app.register(multipart, { attachFieldsToBody: true, limits: { fields: 100 } });
  registerInputGuard(app);
  app.post('/upload', async () => ({ ok: true }));
  return app;
}

function multipartBody(fields: Record<string, string>) {
  const boundary = 'kiln-test-boundary';
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return {
    payload: `${parts.join('')}--${boundary}--\r\n`,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

test('a form with many fields is checked at once, and a NUL in any of them is refused', async () => {
  const app = await appWithUploads();
  const fields = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, `value ${i}`]));
  const started = Date.now();
  const ok = await app.inject({ method: 'POST', url: '/upload', ...multipartBody(fields) });
  assert.equal(ok.statusCode, 200);
  assert.ok(Date.now() - started < 2000, `checked in ${Date.now() - started} ms`);

  const refused = await app.inject({
    method: 'POST',
    url: '/upload',
    ...multipartBody({ ...fields, field39: 'bad\u0000value' }),
  });
  assert.equal(refused.statusCode, 400);
  await app.close();
});

test('deeply nested JSON is looked at to a bounded depth and does not overflow the stack', async () => {
  const app = Fastify();
  registerInputGuard(app);
  app.post('/json', async () => ({ ok: true }));
  const deep = `${'['.repeat(5000)}"x"${']'.repeat(5000)}`;
  const res = await app.inject({
    method: 'POST',
    url: '/json',
    payload: deep,
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.statusCode, 200);
  await app.close();
});
