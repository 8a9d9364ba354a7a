/** A form's text fields, whether it came urlencoded or multipart (where fields are { value } objects). */
export function formFields(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!body || typeof body !== 'object') return out;
  for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string') out[key] = value;
    else if (
      value &&
      typeof value === 'object' &&
      'value' in value &&
      (value as { type?: string }).type !== 'file'
    ) {
      out[key] = String((value as { value: unknown }).value);
    }
  }
  return out;
}

/** The bytes of an uploaded file field, or null when none was chosen. */
export async function uploadedFile(body: unknown, name: string): Promise<Buffer | null> {
  if (!body || typeof body !== 'object') return null;
  const field = (body as Record<string, unknown>)[name] as
    { type?: string; filename?: string; toBuffer?: () => Promise<Buffer> } | undefined;
  if (!field || field.type !== 'file' || !field.toBuffer) return null;
  const content = await field.toBuffer();
  if (!field.filename && content.length === 0) return null;
  return content;
}
