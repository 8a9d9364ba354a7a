import { z } from 'zod';

/** One problem with a form, as the GOV.UK error summary shows it (field = the input's id). */
export interface FormError {
  field: string;
  text: string;
}

const PHONE_EXAMPLE = 'Enter a phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192';

/** A UK phone number as people type it, stored without spaces in the 0… national form. */
export const ukPhone = z
  .string()
  .transform((v) => v.replace(/[\s\-().]/g, ''))
  .transform((v) => v.replace(/^(?:\+44|0044)0?/, '0'))
  .refine((v) => /^0[1-9]\d{8,9}$/.test(v), PHONE_EXAMPLE);

export const isMobile = (phone: string | null): boolean => Boolean(phone && /^07\d{9}$/.test(phone));

export const detailsSchema = z.object({
  name: z
    .string({ error: 'Enter your full name' })
    .trim()
    .min(1, 'Enter your full name')
    .max(100, 'Full name must be 100 characters or fewer'),
  phone: z
    .string()
    .trim()
    .optional()
    .transform((v) => v || null)
    .pipe(z.union([z.null(), ukPhone])),
  address: z
    .string()
    .trim()
    .max(500, 'Address must be 500 characters or fewer')
    .optional()
    .transform((v) => v || null),
});
export type DetailsInput = z.infer<typeof detailsSchema>;

export const channelsSchema = z.object({
  channels: z
    .union([z.string(), z.array(z.string())], { error: 'Select how you want us to contact you' })
    .transform((v) => [v].flat())
    .pipe(z.array(z.enum(['email', 'sms'], { error: 'Select how you want us to contact you' })).min(1)),
});

/** Turns zod's issues into GOV.UK error summary items, one per field. */
export function formErrors(error: z.ZodError): FormError[] {
  const seen = new Set<string>();
  const out: FormError[] = [];
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? 'form');
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, text: issue.message });
  }
  return out;
}
