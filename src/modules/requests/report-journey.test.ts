import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { phonePhoto, postMultipart } from './test-support.ts';

let kiln: TestKiln;
before(async () => {
  kiln = await startTestApp();
});
after(() => kiln.close());

async function startReport(client: Client, category: string) {
  await client.get('/report');
  const chosen = await client.post('/report', { category });
  assert.equal(chosen.headers.location, '/report/location');
  await client.get('/report/location');
}

describe('Report it without JavaScript', () => {
  it('reports a dangerous pothole with a photo: routed to streets with a 24 hour target, EXIF removed', async () => {
    const client = new Client(kiln.app);
    const first = await client.get('/report');
    assert.equal(page(first.body).heading(), 'What do you want to report?');
    const none = await client.post('/report', {});
    assert.deepEqual(page(none.body).errorSummary(), ['Select what you want to report']);

    await startReport(client, 'pothole');
    const noStreet = await client.post('/report/location', { street: '' });
    assert.deepEqual(page(noStreet.body).errorSummary(), ['Enter a street name, or use the map']);
    const unknown = await client.post('/report/location', { street: 'Nowhere Boulevard' });
    assert.match(
      page(unknown.body).errorSummary()[0]!,
      /could not find a street in Kilnford called "Nowhere Boulevard"/,
    );
    const several = await client.post('/report/location', { street: 'street' });
    assert.match(page(several.body).text(), /More than one street matches "street"/);
    const located = await client.post('/report/location', { usrn: '41000002', note: 'Outside number 4' });
    assert.equal(located.headers.location, '/report/details');

    await client.get('/report/details');
    const missing = await client.post('/report/details', {});
    assert.deepEqual(page(missing.body).errorSummary(), [
      'Select how big the pothole is',
      'Select how deep the pothole is',
      'Select where the pothole is',
    ]);
    const details = await client.post('/report/details', {
      size: 'large',
      depth: 'very-deep',
      surface: 'road',
      description: 'A deep hole by the kerb',
    });
    assert.equal(details.headers.location, '/report/photos');

    await client.get('/report/photos');
    const notImage = await postMultipart(
      kiln.app,
      client,
      '/report/photos',
      { action: 'upload' },
      {
        field: 'photo',
        name: 'notes.txt',
        type: 'image/jpeg',
        content: Buffer.from('this is not a photo at all'),
      },
    );
    assert.equal(notImage.statusCode, 400);
    assert.deepEqual(page(notImage.body).errorSummary(), [
      'The selected file must be a JPG, PNG, WebP or HEIC',
    ]);
    const uploaded = await postMultipart(
      kiln.app,
      client,
      '/report/photos',
      { action: 'upload' },
      {
        field: 'photo',
        name: 'IMG_0001.jpg',
        type: 'image/jpeg',
        content: await phonePhoto(),
      },
    );
    assert.equal(uploaded.statusCode, 302);
    const photos = await client.get('/report/photos');
    assert.match(page(photos.body).text(), /Photos added/);
    const thumbnail = await client.get('/report/photos/1');
    assert.equal(thumbnail.headers['content-type'], 'image/jpeg');
    const stranger = await new Client(kiln.app).get('/report/photos/1');
    assert.equal(stranger.statusCode, 404);

    const toContact = await client.post('/report/photos', { action: 'continue' });
    assert.equal(toContact.headers.location, '/report/contact');
    await client.get('/report/contact');
    const badEmail = await client.post('/report/contact', { email: 'not-an-email' });
    assert.deepEqual(page(badEmail.body).errorSummary(), [
      'Enter an email address in the correct format, like name@example.com',
    ]);
    await client.post('/report/contact', { email: 'walker@example.org' });
    const check = await client.get('/report/check');
    assert.equal(page(check.body).heading(), 'Check your report before sending it');
    assert.match(page(check.body).text(), /Saggar Street, Outside number 4/);
    const sent = await client.post('/report/check', {});
    assert.equal(sent.headers.location, '/report/confirmation');
    const confirmation = await client.get('/report/confirmation');
    assert.match(page(confirmation.body).text(), /Report sent Your reference KLN-/);
    assert.match(page(confirmation.body).text(), /make it safe within 24 hours/);
    const reference = /KLN-[A-Z0-9-]+/.exec(page(confirmation.body).text())![0];

    const report = await kiln.services.requests.service.findByReference(kiln.platform.db, reference);
    assert.ok(report);
    assert.equal(report.category, 'pothole');
    assert.equal(report.street_name, 'Saggar Street');
    assert.equal(report.ward_code, 'E05099001');
    const c = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.ok(c);
    assert.equal(c.team_code, 'streets');
    assert.equal(c.channel, 'web');
    const hours = (c.sla_due_at!.getTime() - c.created_at.getTime()) / 3_600_000;
    assert.ok(Math.abs(hours - 24) < 0.01, `due in ${hours} hours`);

    const stored = await kiln.services.requests.service.listPhotos(kiln.platform.db, report.case_id);
    assert.equal(stored.length, 1);
    const file = await kiln.platform.files.read(kiln.platform.db, stored[0]!.file_id);
    const meta = await sharp(file!.content).metadata();
    assert.equal(meta.exif, undefined, 'no EXIF kept');
    assert.ok(Math.max(meta.width, meta.height) <= 1600, 'resized');

    // A second press of "Send report" (the draft is gone) does not make another case.
    await client.get('/report');
    const again = await client.post('/report/check', {});
    assert.equal(again.headers.location, '/report');
  });

  it('offers open reports within 50 metres and adds the resident with "me too" instead of a new case', async () => {
    const first = new Client(kiln.app);
    await startReport(first, 'graffiti');
    await first.post('/report/location', { street: 'Glaze Row' });
    await first.get('/report/details');
    await first.post('/report/details', { offensive: 'no', surface: 'wall' });
    await first.post('/report/photos', { action: 'continue' });
    await first.get('/report/contact');
    await first.post('/report/contact', { email: 'first@example.org' });
    await first.get('/report/check');
    await first.post('/report/check', {});
    const reference = /KLN-[A-Z0-9-]+/.exec(page((await first.get('/report/confirmation')).body).text())![0];

    const second = new Client(kiln.app);
    await startReport(second, 'graffiti');
    const located = await second.post('/report/location', { street: 'Glaze Row' });
    assert.equal(located.headers.location, '/report/nearby');
    const nearby = await second.get('/report/nearby');
    assert.equal(page(nearby.body).heading(), 'Has graffiti here already been reported?');
    assert.match(page(nearby.body).text(), new RegExp(reference));
    const none = await second.post('/report/nearby', {});
    assert.equal(page(none.body).errorSummary().length, 1);
    const chosen = await second.post('/report/nearby', { existing: reference });
    assert.equal(chosen.headers.location, '/report/me-too');
    await second.get('/report/me-too');
    const noEmail = await second.post('/report/me-too', { email: '' });
    assert.deepEqual(page(noEmail.body).errorSummary(), ['Enter your email address']);
    const followed = await second.post('/report/me-too', { email: 'second@example.org' });
    assert.equal(followed.headers.location, '/report/confirmation');
    const done = await second.get('/report/confirmation');
    assert.match(
      page(done.body).text(),
      new RegExp(`You will get updates on this report Your reference ${reference}`),
    );

    const report = await kiln.services.requests.service.findByReference(kiln.platform.db, reference);
    assert.equal(await kiln.services.requests.service.countFollowers(kiln.platform.db, report!.case_id), 1);

    // A different category at the same place is not a duplicate.
    const third = new Client(kiln.app);
    await startReport(third, 'dog-fouling');
    const other = await third.post('/report/location', { street: 'Glaze Row' });
    assert.equal(other.headers.location, '/report/details');
  });

  it('names who to contact when the place is outside Kilnford, and refuses impossible coordinates', async () => {
    const client = new Client(kiln.app);
    await startReport(client, 'pothole');
    const outside = await client.post('/report/location', { lat: '52.99', lng: '-2.15' });
    assert.equal(outside.statusCode, 400);
    assert.equal(page(outside.body).heading(), 'We do not look after this location');
    assert.match(page(outside.body).text(), /North Marlshire Council/);
    await client.get('/report/location');
    const impossible = await client.post('/report/location', { lat: '123', lng: '-2.15' });
    assert.deepEqual(page(impossible.body).errorSummary(), [
      'Enter a latitude between -90 and 90 and a longitude between -180 and 180',
    ]);
    await client.get('/report/location');
    const pinned = await client.post('/report/location', { lat: '52.9521', lng: '-2.1441' });
    assert.equal(pinned.headers.location, '/report/details');
  });

  it('asks for the house on a missed bin, and routes it to waste', async () => {
    const client = new Client(kiln.app);
    await startReport(client, 'missed-bin');
    const location = await client.get('/report/location');
    assert.equal(page(location.body).heading(), 'What is the address?');
    const noHouse = await client.post('/report/location', { street: 'Long Row' });
    assert.deepEqual(page(noHouse.body).errorSummary(), ['Enter the house number or name']);
    await client.post('/report/location', { street: 'Long Row', house: '12' });
    await client.get('/report/details');
    await client.post('/report/details', { bin: 'recycling' });
    await client.post('/report/photos', { action: 'continue' });
    await client.get('/report/contact');
    await client.post('/report/contact', { email: 'bins@example.org' });
    await client.get('/report/check');
    await client.post('/report/check', {});
    const reference = /KLN-[A-Z0-9-]+/.exec(page((await client.get('/report/confirmation')).body).text())![0];
    const c = await kiln.services.cases.service.findByReference(kiln.platform.db, reference);
    assert.equal(c!.team_code, 'waste');
    const report = await kiln.services.requests.service.findByReference(kiln.platform.db, reference);
    assert.equal(report!.address, '12');
  });
});
