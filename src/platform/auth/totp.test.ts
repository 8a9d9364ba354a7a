import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base32Decode, base32Encode, totpCode, verifyTotp } from './totp.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

// RFC 6238 appendix B test vectors (SHA-1, 8 digits), secret "12345678901234567890".
const rfcSecret = base32Encode(Buffer.from('12345678901234567890'));

test('TOTP matches the RFC 6238 test vectors', () => {
  assert.equal(totpCode(rfcSecret, 59_000, 8), '94287082');
  assert.equal(totpCode(rfcSecret, 1111111109_000, 8), '07081804');
  assert.equal(totpCode(rfcSecret, 1234567890_000, 8), '89005924');
  assert.equal(totpCode(rfcSecret, 20000000000_000, 8), '65353130');
});

test('base32 round-trips bytes', () => {
  const bytes = Buffer.from([0, 1, 2, 250, 251, 255, 17]);
  assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
});

test('a code is accepted within one step of drift and refused beyond it', () => {
  const now = 1_700_000_000_000;
  const code = totpCode(rfcSecret, now);
  assert.equal(verifyTotp(rfcSecret, code, now + 30_000), true);
  assert.equal(verifyTotp(rfcSecret, code, now + 95_000), false);
  assert.equal(verifyTotp(rfcSecret, 'abcdef', now), false);
});

test('passwords verify only against their own hash', async () => {
  const hash = await hashPassword('correct horse battery staple');
  assert.equal(await verifyPassword('correct horse battery staple', hash), true);
  assert.equal(await verifyPassword('Correct horse battery staple', hash), false);
  assert.equal(await verifyPassword('x', 'not-a-hash'), false);
});
