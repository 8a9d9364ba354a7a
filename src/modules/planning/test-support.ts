import assert from 'node:assert/strict';
import { PDFDocument } from 'pdf-lib';
import { parse } from 'node-html-parser';
import type { TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';

/** A resident signed in through the emailed link, as a person does it. */
export { residentClient as signInResident } from '../../../test/support/resident.ts';

/** A one-page PDF, like a scanned plan. */
export async function samplePdf(text = 'Proposed ground floor plan'): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.addPage([300, 200]).drawText(text, { x: 20, y: 100, size: 12 });
  return Buffer.from(await pdf.save());
}

/** Posts a multipart form with files the way a browser does, with the CSRF token of the last page. */
export async function postMultipart(
  kiln: TestKiln,
  client: Client,
  url: string,
  fields: Record<string, string>,
  files: Record<string, { name: string; type: string; content: Buffer }>,
) {
  const boundary = '----kilnplanningtest';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries({ _csrf: client.csrfToken(), ...fields }))
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const [k, f] of Object.entries(files)) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${k}"; filename="${f.name}"\r\nContent-Type: ${f.type}\r\n\r\n`,
      ),
    );
    parts.push(f.content, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const cookie = (client as unknown as { cookieHeader(): string }).cookieHeader();
  const response = await kiln.app.inject({
    method: 'POST',
    url,
    payload: Buffer.concat(parts),
    headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  if (String(response.headers['content-type'] ?? '').startsWith('text/html'))
    client.lastPage = parse(response.body);
  return response;
}

/** Gets a page and posts its form; expects a redirect and returns where it goes. */
export async function answer(
  client: Client,
  path: string,
  fields: Record<string, string | string[]>,
  postTo = path,
) {
  await client.get(path);
  const res = await client.post(postTo, fields);
  assert.equal(
    res.statusCode,
    303,
    `${postTo}: ${res.statusCode} ${page(res.body).errorSummary().join(', ')}`,
  );
  return String(res.headers.location);
}

/** A small square boundary (about 10 m) around a point, as the map draws it. */
export function squareGeoJson(lat: number, lng: number, d = 0.00008): string {
  return JSON.stringify({
    type: 'Feature',
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [lng - d, lat - d],
          [lng + d, lat - d],
          [lng + d, lat + d],
          [lng - d, lat + d],
          [lng - d, lat - d],
        ],
      ],
    },
    properties: null,
  });
}
