/** A form's text fields, urlencoded or multipart (where fields are { value } objects); repeated keys as arrays. */
export function formFields(body: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!body || typeof body !== 'object') return out;
  for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
    const values = (Array.isArray(raw) ? raw : [raw])
      .map((v) =>
        typeof v === 'string'
          ? v
          : v && typeof v === 'object' && 'value' in v && (v as { type?: string }).type !== 'file'
            ? String((v as { value: unknown }).value)
            : undefined,
      )
      .filter((v): v is string => v !== undefined);
    if (values.length === 1 && !Array.isArray(raw)) out[key] = values[0]!;
    else if (values.length) out[key] = values;
  }
  return out;
}

/** One text field's value ('' when absent; the first when repeated). */
export function one(fields: Record<string, string | string[]>, name: string): string {
  const v = fields[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
}

/** A repeated field (checkboxes) as a list. */
export function many(fields: Record<string, string | string[]>, name: string): string[] {
  const v = fields[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** An uploaded file field: its name and bytes, or null when none was chosen. */
export async function uploadedFile(
  body: unknown,
  name: string,
): Promise<{ name: string; content: Buffer } | null> {
  if (!body || typeof body !== 'object') return null;
  const field = (body as Record<string, unknown>)[name] as
    { type?: string; filename?: string; toBuffer?: () => Promise<Buffer> } | undefined;
  if (!field || field.type !== 'file' || !field.toBuffer) return null;
  const content = await field.toBuffer();
  if (!field.filename && content.length === 0) return null;
  return { name: field.filename ?? 'upload', content };
}

/** A GOV.UK date input's three fields as YYYY-MM-DD, or null when it is not a real date. */
export function dateFrom(fields: Record<string, string | string[]>, prefix: string): string | null {
  const d = Number(one(fields, `${prefix}-day`));
  const m = Number(one(fields, `${prefix}-month`));
  const y = Number(one(fields, `${prefix}-year`));
  if (!Number.isInteger(d) || !Number.isInteger(m) || !Number.isInteger(y) || y < 1900 || y > 2200)
    return null;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCDate() !== d || date.getUTCMonth() !== m - 1) return null;
  return date.toISOString().slice(0, 10);
}
