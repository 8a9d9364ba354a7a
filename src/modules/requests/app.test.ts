import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { phonePhoto } from './test-support.ts';

let kiln: TestKiln;
before(async () => {
  kiln = await startTestApp();
});
after(() => kiln.close());

async function send(key: string | null, fields: Record<string, string>, photo?: Buffer) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (photo) form.append('photo', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'photo.jpg');
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return kiln.app.inject({
    method: 'POST',
    url: '/api/v1/street-reports',
    payload: Buffer.from(await request.arrayBuffer()),
    headers: {
      'content-type': request.headers.get('content-type')!,
      ...(key ? { 'idempotency-key': key } : {}),
    },
  });
}

const graffiti = {
  category: 'graffiti',
  lat: '52.9541',
  lng: '-2.1381',
  'answer.offensive': 'yes',
  'answer.surface': 'bus-shelter',
  email: 'phone@example.org',
};

describe('The installable app', () => {
  it('serves a manifest, icons, a service worker allowed at the root, and the map files locally', async () => {
    const client = new Client(kiln.app);
    const manifest = await client.get('/report-assets/manifest.webmanifest');
    assert.equal(manifest.statusCode, 200);
    const parsed = JSON.parse(manifest.body);
    assert.equal(parsed.display, 'standalone');
    for (const icon of parsed.icons) assert.equal((await client.get(icon.src)).statusCode, 200);
    const sw = await client.get('/report-sw.js');
    assert.equal(sw.headers['service-worker-allowed'], '/');
    assert.match(String(sw.headers['content-type']), /javascript/);
    assert.equal((await client.get('/report-assets/leaflet/leaflet-src.esm.js')).statusCode, 200);
    assert.equal((await client.get('/report-assets/leaflet/../package.json')).statusCode, 404);
    const form = await client.get('/report/app');
    assert.equal(page(form.body).heading(), 'Report a problem');
    assert.match(form.body, /rel="manifest" href="\/report-assets\/manifest.webmanifest"/);
    assert.match(
      String(form.headers['content-security-policy']),
      /img-src 'self' data: blob: https:\/\/tile.openstreetmap.org/,
    );
  });

  it('creates one report per key however often the phone sends it, with channel app', async () => {
    const key = randomUUID();
    const first = await send(key, graffiti, await phonePhoto(600, 400));
    assert.equal(first.statusCode, 201, first.body);
    const { reference } = JSON.parse(first.body);
    const again = await send(key, graffiti, await phonePhoto(600, 400));
    assert.equal(again.statusCode, 200);
    assert.equal(JSON.parse(again.body).reference, reference);
    const c = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.equal(c!.channel, 'app');
    const hours = (c!.sla_due_at!.getTime() - c!.created_at.getTime()) / 3_600_000;
    assert.ok(Math.abs(hours - 24) < 0.01, 'offensive graffiti within 24 hours');
    const report = await kiln.services.requests.service.findByReference(kiln.platform.db, reference);
    assert.equal(
      (await kiln.services.requests.service.listPhotos(kiln.platform.db, report!.case_id)).length,
      1,
    );
  });

  it('refuses a report without a key, with missing answers, or outside Kilnford, listing each field', async () => {
    assert.equal((await send(null, graffiti)).statusCode, 400);
    const missing = await send(randomUUID(), { category: 'graffiti', usrn: '', email: 'bad' });
    assert.equal(missing.statusCode, 400);
    const problem = JSON.parse(missing.body);
    assert.deepEqual(
      problem.errors.map((e: { pointer: string }) => e.pointer),
      ['/answer.offensive', '/answer.surface', '/email', '/usrn'],
    );
    const outside = await send(randomUUID(), { ...graffiti, lat: '53.2', lng: '-2.15' });
    assert.equal(outside.statusCode, 422);
    assert.match(JSON.parse(outside.body).detail, /North Marlshire Council/);
    const notPhoto = await send(randomUUID(), graffiti, Buffer.from('%PDF-1.4 not a photo'));
    assert.equal(notPhoto.statusCode, 400);
    assert.match(notPhoto.body, /must be a JPG, PNG, WebP or HEIC/);
  });
});
