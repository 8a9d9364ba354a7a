/** A file part of a multipart form. */
export interface UploadedFile {
  filename: string;
  content: Buffer;
}

type Part = {
  type?: string;
  value?: unknown;
  filename?: string;
  _buf?: Buffer;
  toBuffer?: () => Promise<Buffer>;
};

/** A text field of a urlencoded or multipart form: trimmed, '' when missing or not text. */
export function text(body: unknown, name: string): string {
  if (!body || typeof body !== 'object') return '';
  let value = (body as Record<string, unknown>)[name];
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'string') return value.trim();
  const part = value as Part | undefined;
  if (part && typeof part === 'object' && part.type === 'field' && part.value !== undefined)
    return String(part.value).trim();
  return '';
}

/** Every file a multipart form field carries (empty file inputs are skipped). */
export async function uploads(body: unknown, name: string): Promise<UploadedFile[]> {
  if (!body || typeof body !== 'object') return [];
  const raw = (body as Record<string, unknown>)[name];
  const out: UploadedFile[] = [];
  for (const item of [raw].flat() as Part[]) {
    if (!item || typeof item !== 'object' || item.type !== 'file' || !item.filename) continue;
    const content = item._buf ?? (item.toBuffer ? await item.toBuffer() : Buffer.alloc(0));
    if (content.length > 0) out.push({ filename: item.filename, content });
  }
  return out;
}
