// A minimal POSIX ustar writer and reader, streamed, so that a backup is an ordinary .tar.gz that
// `tar -tzf` can list, and a large database dump never has to sit in memory.

const BLOCK = 512;

/** One entry's header as written: the content follows in `size` bytes. */
export interface TarEntryHeader {
  name: string;
  size: number;
  mode?: number;
  mtime?: Date;
}

function octal(value: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  out.write(value.toString(8).padStart(length - 1, '0'), 0, 'latin1');
  return out;
}

// Sizes of 8 GiB and more do not fit eleven octal digits: GNU tar's base-256 form carries them.
function sizeField(size: number): Buffer {
  if (size < 0o77777777777) return octal(size, 12);
  const out = Buffer.alloc(12);
  let rest = BigInt(size);
  for (let i = 11; i >= 1; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  out[0] = 0x80;
  return out;
}

/** The 512-byte header block of a regular file. */
export function tarHeader(entry: TarEntryHeader): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  let prefix = Buffer.alloc(0);
  let base = name;
  if (name.length > 100) {
    const cut = entry.name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(entry.name.slice(cut + 1)) > 100) {
      throw new Error(`A backup entry name is too long for tar: ${entry.name}`);
    }
    prefix = Buffer.from(entry.name.slice(0, cut), 'utf8');
    base = Buffer.from(entry.name.slice(cut + 1), 'utf8');
  }
  const header = Buffer.alloc(BLOCK);
  base.copy(header, 0);
  octal(entry.mode ?? 0o644, 8).copy(header, 100);
  octal(0, 8).copy(header, 108);
  octal(0, 8).copy(header, 116);
  sizeField(entry.size).copy(header, 124);
  octal(Math.floor((entry.mtime ?? new Date()).getTime() / 1000), 12).copy(header, 136);
  header.write('        ', 148, 'latin1');
  header.write('0', 156, 'latin1');
  header.write('ustar\u000000', 257, 'latin1');
  header.write('kiln', 265, 'latin1');
  header.write('kiln', 297, 'latin1');
  prefix.copy(header, 345);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return header;
}

/** Zero bytes that bring an entry of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The two zero blocks that end an archive. */
export const tarEnd = Buffer.alloc(BLOCK * 2);

export class TarFormatError extends Error {}

function readOctal(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = 0n;
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i]!);
    return Number(value);
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError('a tar header holds a malformed number');
  return text === '' ? 0 : parseInt(text, 8);
}

function readString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** Reads exactly the bytes asked for from a stream of chunks. */
class ChunkReader {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        this.buffered.push(next.value);
        this.length += next.value.length;
      }
    }
  }

  /** Up to `max` bytes (fewer only at the end of the stream). */
  async read(max: number): Promise<Buffer> {
    await this.fill(1);
    if (this.length === 0) return Buffer.alloc(0);
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, Math.min(max, all.length));
    const rest = all.subarray(out.length);
    this.buffered = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  async exactly(n: number): Promise<Buffer> {
    await this.fill(n);
    if (this.length < n) throw new TarFormatError('the archive ends in the middle of an entry');
    return this.read(n);
  }
}

/**
 * Walks an (uncompressed) tar stream and hands each regular file's content to `onEntry` as a
 * stream of chunks; the callback must consume it all. Directories and other types are skipped.
 */
export async function readTar(
  source: AsyncIterable<Buffer>,
  onEntry: (header: { name: string; size: number }, content: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const reader = new ChunkReader(source[Symbol.asyncIterator]());
  for (;;) {
    const header = await reader.exactly(BLOCK).catch((error: unknown) => {
      throw error instanceof TarFormatError ? new TarFormatError('the archive has no end marker') : error;
    });
    if (header.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== readOctal(header.subarray(148, 156))) {
      throw new TarFormatError('a tar header fails its own checksum');
    }
    const prefix = readString(header.subarray(345, 500));
    const base = readString(header.subarray(0, 100));
    const name = prefix ? `${prefix}/${base}` : base;
    const size = readOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 48);
    let remaining = size;
    async function* content(): AsyncIterable<Buffer> {
      while (remaining > 0) {
        const chunk = await reader.read(Math.min(remaining, 1 << 20));
        if (chunk.length === 0) throw new TarFormatError('the archive ends in the middle of an entry');
        remaining -= chunk.length;
        yield chunk;
      }
    }
    if (type === '0' || type === '\0') await onEntry({ name, size }, content());
    for await (const _ of content()) {
      // skips whatever the callback left unread, and the content of other entry types
    }
    await reader.exactly(tarPadding(size).length);
  }
}
