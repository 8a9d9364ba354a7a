import { z } from 'zod';
import { assistedChannels } from './labels.ts';
import { caseStatuses, channels } from './schema.ts';

// What each back-office form accepts. Messages are the words shown in the error summary.

const version = z.coerce
  .number({ error: 'Reload the case and try again' })
  .int()
  .nonnegative({ error: 'Reload the case and try again' });

const text = (name: string, max: number) =>
  z
    .string({ error: `Enter ${name}` })
    .trim()
    .min(1, { error: `Enter ${name}` })
    .max(max, {
      error: `${name[0]!.toUpperCase()}${name.slice(1)} must be ${max.toLocaleString('en-GB')} characters or fewer`,
    });

export const assignForm = z.object({
  version,
  assignee: z
    .string({ error: 'Choose who to assign the case to' })
    .trim()
    .min(1, { error: 'Choose who to assign the case to' }),
});

export const statusForm = z.object({
  version,
  status: z.enum(caseStatuses, { error: 'Choose a status' }),
  reason: z
    .string()
    .trim()
    .max(1000, { error: 'The reason must be 1,000 characters or fewer' })
    .optional()
    .default(''),
});

export const noteForm = z.object({ version, note: text('a note', 5000) });

export const publicUpdateForm = z.object({ version, message: text('the update for the resident', 2000) });

const references = z.preprocess(
  (v) => (v === undefined ? [] : [v].flat()),
  z
    .array(
      z
        .string()
        .trim()
        .regex(/^[A-Z0-9-]{3,20}$/, { error: 'Select cases from the list' }),
    )
    .min(1, { error: 'Select at least one case' })
    .max(200, { error: 'Select 200 cases or fewer at a time' }),
);

export const bulkForm = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('assign'),
    cases: references,
    bulkAssignee: z
      .string({ error: 'Choose who to assign the cases to' })
      .trim()
      .min(1, { error: 'Choose who to assign the cases to' }),
  }),
  z.object({
    action: z.literal('close'),
    cases: references,
    bulkReason: text('a reason for closing the cases', 1000),
  }),
]);

const optional = (schema: z.ZodString) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? null : v),
    schema.nullable().optional().default(null),
  );

export const residentForm = z.object({
  name: text('the resident’s full name', 200),
  email: optional(
    z
      .string()
      .trim()
      .toLowerCase()
      .max(254)
      .email({ error: 'Enter an email address in the correct format, like name@example.com' }),
  ),
  phone: optional(
    z
      .string()
      .trim()
      .regex(/^\+?[\d\s()-]{10,20}$/, {
        error: 'Enter a telephone number, like 01632 960 001 or 07700 900 982',
      }),
  ),
  address: optional(z.string().trim().max(500, { error: 'The address must be 500 characters or fewer' })),
});

export const actingForm = z.object({
  channel: z.enum(assistedChannels, { error: 'Choose how the resident contacted the council' }),
});

const pick = <T extends readonly string[]>(values: T) => z.enum(values).optional().catch(undefined);

/** The queue's filters from the query string; anything unexpected falls back to the default. */
export const queueQuery = z.object({
  team: z
    .string()
    .trim()
    .max(60)
    .regex(/^[a-z0-9-]*$/)
    .optional()
    .catch(undefined),
  status: pick(['open', 'all', ...caseStatuses] as const),
  assignee: z
    .string()
    .trim()
    .max(40)
    .regex(/^[a-z0-9-]*$/i)
    .optional()
    .catch(undefined),
  sla: pick(['on_track', 'at_risk', 'breached', 'met', 'none'] as const),
  service: z
    .string()
    .trim()
    .max(100)
    .regex(/^[a-z0-9-]*$/)
    .optional()
    .catch(undefined),
  channel: pick(channels),
  sort: pick(['due', 'received', 'updated'] as const),
  page: z.coerce.number().int().min(1).max(10_000).catch(1).default(1),
});

export type FormErrors = Array<{ field: string; text: string }>;

/** zod's issues as the GOV.UK error summary wants them: one per field, the first message. */
export function formErrors(error: z.ZodError): FormErrors {
  const out: FormErrors = [];
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? 'form');
    if (!out.some((e) => e.field === field)) out.push({ field, text: issue.message });
  }
  return out;
}
