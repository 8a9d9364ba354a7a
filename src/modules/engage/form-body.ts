/** A form's fields, urlencoded or multipart (where fields are { value } objects); repeated keys stay arrays. */
export function formFields(body: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!body || typeof body !== 'object') return out;
  for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
    const values = (Array.isArray(raw) ? raw : [raw])
      .map((value) =>
        typeof value === 'string'
          ? value
          : value &&
              typeof value === 'object' &&
              'value' in value &&
              (value as { type?: string }).type !== 'file'
            ? String((value as { value: unknown }).value)
            : undefined,
      )
      .filter((v): v is string => v !== undefined);
    if (values.length === 1 && !Array.isArray(raw)) out[key] = values[0]!;
    else if (values.length) out[key] = values;
  }
  return out;
}

/** One text field: the first value, trimmed. */
export function text(fields: Record<string, string | string[]>, key: string): string {
  const value = fields[key];
  return (Array.isArray(value) ? (value[0] ?? '') : (value ?? '')).trim();
}

/** An uploaded file field's name and bytes, or null when none was chosen. */
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
  return { name: field.filename ?? 'document', content };
}

/** "2026-12-01" (a date input) to the start of that day in London, or null if it is not a real date. */
export function londonDate(value: string, endOfDay = false): Date | null {
  const m = value.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d, 12));
  if (probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return null;
  // London is UTC or UTC+1: find the offset on that day by formatting noon UTC there.
  const londonHour = Number(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', hourCycle: 'h23' }).format(
      probe,
    ),
  );
  const offsetHours = londonHour - 12;
  const base = Date.UTC(y, mo - 1, d, endOfDay ? 23 : 0, endOfDay ? 59 : 0, endOfDay ? 59 : 0);
  return new Date(base - offsetHours * 3_600_000);
}
