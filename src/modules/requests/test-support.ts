import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import type { Client } from '../../../test/support/http.ts';

/** A small JPEG carrying EXIF GPS and camera details, as a phone would send it. */
export async function phonePhoto(width = 2400, height = 1800): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#6d2e46' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'PhoneCo', Model: 'Pocket 9' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '52/1 57/1 3/1',
        GPSLongitudeRef: 'W',
        GPSLongitude: '2/1 9/1 0/1',
      },
    })
    .toBuffer();
}

/** Posts a multipart form (with a file) as the client, carrying its cookies and CSRF token. */
export async function postMultipart(
  app: FastifyInstance,
  client: Client,
  url: string,
  fields: Record<string, string>,
  file?: { field: string; name: string; type: string; content: Buffer },
) {
  const form = new FormData();
  form.append('_csrf', client.csrfToken());
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append(file.field, new Blob([new Uint8Array(file.content)], { type: file.type }), file.name);
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  const payload = Buffer.from(await request.arrayBuffer());
  return app.inject({
    method: 'POST',
    url,
    payload,
    headers: {
      'content-type': request.headers.get('content-type')!,
      cookie: (client as unknown as { cookieHeader(): string }).cookieHeader(),
    },
  });
}
