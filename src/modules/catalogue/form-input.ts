import type { Question } from './definition.ts';

/** A file from a multipart form. */
export interface UploadedFile {
  filename: string;
  content: Buffer;
}

export type FormFields = Record<string, string | string[] | UploadedFile>;

/** Flattens a urlencoded or multipart body into plain fields (multipart parts arrive as objects). */
export function formFields(body: unknown): FormFields {
  const out: FormFields = {};
  if (!body || typeof body !== 'object') return out;
  for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
    const items = Array.isArray(raw) ? raw : [raw];
    const values: string[] = [];
    for (const item of items) {
      if (typeof item === 'string') values.push(item);
      else if (item && typeof item === 'object' && 'type' in item) {
        const part = item as { type: string; value?: unknown; filename?: string; _buf?: Buffer };
        if (part.type === 'file') {
          if (part.filename && part._buf && part._buf.length > 0)
            out[key] = { filename: part.filename, content: part._buf };
        } else if (part.value !== undefined) values.push(String(part.value));
      }
    }
    if (!(key in out) && values.length)
      out[key] = values.length === 1 && !Array.isArray(raw) ? values[0]! : values;
  }
  return out;
}

const str = (v: FormFields[string] | undefined) =>
  typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '';

/** What a question page posted, in the shape the form engine checks (files are handled by the route). */
export function answerInput(q: Question, fields: FormFields): unknown {
  switch (q.type) {
    case 'date':
      return {
        day: str(fields[`${q.id}-day`]),
        month: str(fields[`${q.id}-month`]),
        year: str(fields[`${q.id}-year`]),
      };
    case 'multiple_choice': {
      const v = fields[q.id];
      return typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
    }
    case 'address':
      return fields.mode === 'select'
        ? { uprn: str(fields[`${q.id}-uprn`]) }
        : {
            line1: str(fields[`${q.id}-line1`]),
            line2: str(fields[`${q.id}-line2`]),
            town: str(fields[`${q.id}-town`]),
            postcode: str(fields[`${q.id}-postcode`]),
          };
    case 'location':
      return {
        street: str(fields[`${q.id}-street`]),
        usrn: str(fields[`${q.id}-usrn`]),
        detail: str(fields[`${q.id}-detail`]),
        lat: str(fields[`${q.id}-lat`]),
        lng: str(fields[`${q.id}-lng`]),
      };
    default:
      return str(fields[q.id]);
  }
}

/** The raw values to put back in the inputs when a page is shown again with an error. */
export function keptValues(fields: FormFields): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string' || Array.isArray(v)) out[k] = v;
  return out;
}
