import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { PhotoError, preparePhoto } from './photos.ts';
import { phonePhoto } from './test-support.ts';

describe('preparePhoto', () => {
  it('removes EXIF (GPS, camera) and shrinks a large phone photo', async () => {
    const original = await phonePhoto(3000, 2000);
    assert.ok((await sharp(original).metadata()).exif, 'the fixture carries EXIF');
    const safe = await preparePhoto(original);
    const meta = await sharp(safe).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.exif, undefined);
    assert.equal(meta.width, 1600);
    assert.equal(meta.height, 1067);
  });

  it('reads HEIC from an iPhone, and PNG and WebP, and answers with JPEG', async () => {
    const heic = await preparePhoto(readFileSync(new URL('./fixtures/green-64x48.heic', import.meta.url)));
    const meta = await sharp(heic).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.deepEqual([meta.width, meta.height], [64, 48]);
    const png = await sharp({
      create: { width: 20, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    assert.equal((await sharp(await preparePhoto(png)).metadata()).format, 'jpeg');
    const webp = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#000' } })
      .webp()
      .toBuffer();
    assert.equal((await sharp(await preparePhoto(webp)).metadata()).format, 'jpeg');
  });

  it('refuses what is not a photo, a damaged photo, an empty file and an oversized one, in words for the person', async () => {
    await assert.rejects(
      preparePhoto(Buffer.from('%PDF-1.7 a document')),
      new PhotoError('The selected file must be a JPG, PNG, WebP or HEIC'),
    );
    await assert.rejects(preparePhoto(Buffer.alloc(0)), new PhotoError('The selected file is empty'));
    const damaged = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]);
    await assert.rejects(preparePhoto(damaged), /could not be read as a photo/);
    const huge = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(10 * 1_048_576)]);
    await assert.rejects(preparePhoto(huge), /must be smaller than 10MB/);
  });
});
