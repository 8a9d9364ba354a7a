// Helpers for Kiln Sign's own tests: they drive the real pages, as a signer would.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import type { TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';

const run = promisify(execFile);

/** The newest message of a template to a recipient, once the outbox has it. */
export async function latestMessage(kiln: TestKiln, recipient: string, template: string) {
  return kiln.eventually(async () => {
    const messages = await kiln.platform.notify.list(kiln.platform.db, { recipient });
    return messages.find((m) => m.template === template);
  });
}

export function signingPath(body: string): string {
  const path = body.match(/http:\/\/localhost:3000(\/sign\/[\w-]+)/)?.[1];
  if (!path) throw new Error(`No signing link in: ${body}`);
  return path;
}

export function codeIn(body: string): string {
  const code = body.match(/\b(\d{6})\b/)?.[1];
  if (!code) throw new Error(`No code in: ${body}`);
  return code;
}

/** Follows an invitation to the document page: link, security code. Returns the signer's client. */
export async function openInvitation(
  kiln: TestKiln,
  email: string,
): Promise<{ client: Client; link: string }> {
  const invitation = await latestMessage(kiln, email, 'signing-invitation');
  const link = signingPath(invitation.body);
  const client = new Client(kiln.app);
  const start = await client.get(link);
  if (start.statusCode !== 200)
    throw new Error(`Start page ${start.statusCode}: ${page(start.body).heading()}`);
  const sent = await client.post(link, {});
  if (sent.statusCode !== 303)
    throw new Error(`Starting failed ${sent.statusCode}: ${page(sent.body).heading()}`);
  await client.follow(sent);
  const code = codeIn((await latestMessage(kiln, email, 'signing-code')).body);
  const checked = await client.post('/sign/code', { code });
  if (checked.statusCode !== 303)
    throw new Error(`Code refused: ${page(checked.body).errorSummary().join()}`);
  await client.follow(checked);
  return { client, link };
}

/** Signs by typed name through the pages, without JavaScript. */
export async function signByTypedName(kiln: TestKiln, email: string, name: string) {
  const { client } = await openInvitation(kiln, email);
  const signed = await client.post('/sign/document', { read: 'yes', consent: 'yes', typedName: name });
  if (signed.statusCode !== 303)
    throw new Error(`Signing failed ${signed.statusCode}: ${page(signed.body).heading()}`);
  return client.follow(signed);
}

/** A multipart/form-data body with one PDF file and text fields. */
export function multipart(
  fields: Record<string, string>,
  file: { name: string; filename: string; content: Buffer },
) {
  const boundary = `----kiln${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: application/pdf\r\n\r\n`,
    ),
    file.content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Uploads a file to the public verify page as a browser would (CSRF cookie and token included). */
export async function verifyUpload(kiln: TestKiln, content: Buffer, filename = 'document.pdf') {
  const form = await kiln.app.inject({ url: '/verify-a-document' });
  const cookie = form.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const token = page(form.body).root.querySelector('input[name="_csrf"]')!.getAttribute('value')!;
  const body = multipart({ _csrf: token }, { name: 'document', filename, content });
  const response = await kiln.app.inject({
    method: 'POST',
    url: '/verify-a-document',
    payload: body.payload,
    headers: { cookie, 'content-type': body.contentType },
  });
  return { response, page: page(response.body) };
}

/** Runs poppler's pdfsig and qpdf on a PDF: tools Kiln did not write. */
export async function externalChecks(pdf: Buffer) {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-sign-')), 'document.pdf');
  writeFileSync(file, pdf);
  const pdfsig = await run('pdfsig', [file]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
  const qpdf = await run('qpdf', ['--check', file]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
  return { pdfsig, qpdf };
}

/** A small PNG of a pen stroke, as the signature pad sends it (a data URL). */
export function drawnSignatureDataUrl(): string {
  const width = 60;
  const height = 20;
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 4, 0xff); // filter byte 0 is set below; white, opaque
    row[0] = 0;
    for (let x = 0; x < width; x++) {
      if (Math.abs(y - (10 + Math.round(6 * Math.sin(x / 6)))) <= 1) row.fill(0x0b, 1 + x * 4, 1 + x * 4 + 3);
    }
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return `data:image/png;base64,${png.toString('base64')}`;
}

function crc32(data: Buffer): number {
  let crc = ~0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/** Posts a multipart form with a signed-in client's cookies and the CSRF token of its last page. */
export async function postMultipart(
  kiln: TestKiln,
  client: Client,
  url: string,
  fields: Record<string, string>,
  file: { name: string; filename: string; content: Buffer },
) {
  // The shared test client speaks urlencoded forms only; its cookies are reused here.
  const cookie = (client as unknown as { cookieHeader(): string }).cookieHeader();
  const body = multipart({ _csrf: client.csrfToken(), ...fields }, file);
  const response = await kiln.app.inject({
    method: 'POST',
    url,
    payload: body.payload,
    headers: { cookie, 'content-type': body.contentType },
  });
  return { response, page: page(response.body) };
}
