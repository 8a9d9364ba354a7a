import decodeHeic from 'heic-decode';
import sharp from 'sharp';
import { sniffMediaType } from '../../platform/files/index.ts';

/** What residents may send as a photo, recognised by content. */
export const photoTypes = ['image/jpeg', 'image/png', 'image/webp', 'image/heic'];
export const maxPhotos = 3;
export const maxPhotoBytes = 10 * 1_048_576;

export class PhotoError extends Error {}

// Large enough to see a pothole, small enough for a phone on a poor connection.
const LONGEST_SIDE = 1600;

/**
 * Makes a resident's photo safe to keep and show: decoded (HEIC too), turned upright, shrunk,
 * and re-encoded as JPEG. Re-encoding drops every piece of metadata, EXIF GPS and device included.
 */
export async function preparePhoto(content: Buffer): Promise<Buffer> {
  if (content.length === 0) throw new PhotoError('The selected file is empty');
  if (content.length > maxPhotoBytes) throw new PhotoError('The selected file must be smaller than 10MB');
  const type = sniffMediaType(content);
  if (!type || !photoTypes.includes(type))
    throw new PhotoError('The selected file must be a JPG, PNG, WebP or HEIC');
  try {
    const image =
      type === 'image/heic'
        ? await decodeHeic({ buffer: content }).then((d) =>
            sharp(Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength), {
              raw: { width: d.width, height: d.height, channels: 4 },
            }),
          )
        : sharp(content, { limitInputPixels: 60_000_000, failOn: 'error' });
    return await image
      .rotate()
      .resize(LONGEST_SIDE, LONGEST_SIDE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80, mozjpeg: true })
      .toBuffer();
  } catch {
    throw new PhotoError('The selected file could not be read as a photo. Try another one');
  }
}
