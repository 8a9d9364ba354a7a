import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tables, type Db } from '../db/index.ts';

/** The kinds of file Kiln accepts, recognised by their first bytes, never by name or claimed type. */
const signatures: Array<{ type: string; test: (b: Buffer) => boolean }> = [
  { type: 'image/jpeg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    type: 'image/png',
    test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  {
    type: 'image/gif',
    test: (b) =>
      b.subarray(0, 6).toString('latin1') === 'GIF87a' || b.subarray(0, 6).toString('latin1') === 'GIF89a',
  },
  {
    type: 'image/webp',
    test: (b) =>
      b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
  {
    type: 'image/heic',
    test: (b) =>
      b.subarray(4, 8).toString('latin1') === 'ftyp' &&
      ['heic', 'heix', 'mif1', 'msf1', 'heim', 'heis'].includes(b.subarray(8, 12).toString('latin1')),
  },
  { type: 'application/pdf', test: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
];

/** The media type a file's content shows it to be, or null when it is none Kiln accepts. */
export function sniffMediaType(content: Buffer): string | null {
  return signatures.find((s) => s.test(content))?.type ?? null;
}

export interface StoredFile {
  id: string;
  originalName: string;
  mediaType: string;
  sizeBytes: number;
}

export class UploadError extends Error {}

interface FileTables {
  files: {
    id: string;
    original_name: string;
    media_type: string;
    size_bytes: number;
    sha256: string;
    storage_key: string;
    uploaded_by: string | null;
    created_at?: Date;
  };
}

/** Uploaded files: checked by size and content, stored on disk under a random name. */
export class Files {
  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Checks and stores a file; throws UploadError with words fit to show the person who sent it. */
  async store(
    db: Db,
    input: { name: string; content: Buffer; accept: string[]; uploadedBy?: string },
  ): Promise<StoredFile> {
    if (input.content.length === 0) throw new UploadError('The selected file is empty');
    if (input.content.length > this.maxBytes) {
      throw new UploadError(
        `The selected file must be smaller than ${Math.floor(this.maxBytes / 1_048_576)}MB`,
      );
    }
    const mediaType = sniffMediaType(input.content);
    if (!mediaType || !input.accept.includes(mediaType)) {
      throw new UploadError(`The selected file must be a ${input.accept.map(describeType).join(', ')}`);
    }
    const id = randomUUID();
    const storageKey = `${id.slice(0, 2)}/${id}`;
    await mkdir(join(this.dir, id.slice(0, 2)), { recursive: true });
    await writeFile(join(this.dir, storageKey), input.content, { mode: 0o600 });
    const name = input.name.replace(/[^\w.\- ]/g, '_').slice(0, 120) || 'file';
    await tables<FileTables>(db)
      .insertInto('files')
      .values({
        id,
        original_name: name,
        media_type: mediaType,
        size_bytes: input.content.length,
        sha256: createHash('sha256').update(input.content).digest('hex'),
        storage_key: storageKey,
        uploaded_by: input.uploadedBy ?? null,
      })
      .execute();
    return { id, originalName: name, mediaType, sizeBytes: input.content.length };
  }

  /** A stored file's details and content; access checks are the caller's. */
  async read(db: Db, id: string): Promise<(StoredFile & { content: Buffer }) | null> {
    const row = await tables<FileTables>(db)
      .selectFrom('files')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    const content = await readFile(join(this.dir, row.storage_key));
    return {
      id: row.id,
      originalName: row.original_name,
      mediaType: row.media_type,
      sizeBytes: row.size_bytes,
      content,
    };
  }
}

function describeType(type: string): string {
  return (
    {
      'image/jpeg': 'JPG',
      'image/png': 'PNG',
      'image/gif': 'GIF',
      'image/webp': 'WebP',
      'image/heic': 'HEIC',
      'application/pdf': 'PDF',
    }[type] ?? type
  );
}
