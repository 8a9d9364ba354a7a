import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * Random bytes from the operating system's CSPRNG, drawn 4 KB at a time. One system call per
 * request for a few bytes was a tenth of a form page's CPU; Node batches its UUIDs the same way.
 * The bytes handed out are never reused.
 */
export function randomToken(bytes: number): string {
  if (bytes > POOL_BYTES) throw new RangeError('randomToken: too many bytes');
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return token;
}
