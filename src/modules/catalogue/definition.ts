import { z } from 'zod';
import { channels } from '../cases/index.ts';

/** The topics residents browse services by, in the order the home page lists them. */
export const topics = [
  {
    code: 'bins-and-recycling',
    name: 'Bins and recycling',
    description: 'Collections, missed bins, garden waste and recycling.',
  },
  {
    code: 'roads-and-streets',
    name: 'Roads and streets',
    description: 'Potholes, street lights, graffiti, fly-tipping and drains.',
  },
  { code: 'council-tax', name: 'Council tax', description: 'Paying, discounts, exemptions and moving home.' },
  { code: 'housing', name: 'Housing', description: 'Council homes, repairs and help if you are homeless.' },
  { code: 'libraries', name: 'Libraries', description: 'Joining, borrowing and library services.' },
  { code: 'social-care', name: 'Social care', description: 'Support for adults, carers and families.' },
  { code: 'planning', name: 'Planning', description: 'Planning advice, applications and building control.' },
  { code: 'business', name: 'Business', description: 'Licences, trading and support for businesses.' },
] as const;
export const topicCodes = topics.map((t) => t.code) as [string, ...string[]];
export type TopicCode = (typeof topics)[number]['code'];

export const questionTypes = [
  'text',
  'long_text',
  'number',
  'date',
  'yes_no',
  'single_choice',
  'multiple_choice',
  'address',
  'location',
  'file',
  'email',
  'phone',
] as const;
export type QuestionType = (typeof questionTypes)[number];

export const questionTypeLabels: Record<QuestionType, string> = {
  text: 'Text',
  long_text: 'Long text',
  number: 'Number',
  date: 'Date',
  yes_no: 'Yes or no',
  single_choice: 'Single choice',
  multiple_choice: 'Multiple choice',
  address: 'Address',
  location: 'Location',
  file: 'File upload',
  email: 'Email address',
  phone: 'UK phone number',
};

const questionId = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,39}$/,
    'Question ids are lower case letters, digits and hyphens, starting with a letter',
  );

const option = z.object({
  value: z.string().regex(/^[a-z0-9][a-z0-9-]{0,59}$/),
  text: z.string().min(1).max(200),
});

const validation = z
  .object({
    required: z.boolean().default(true),
    min: z.number().optional(),
    max: z.number().optional(),
    minLength: z.number().int().nonnegative().optional(),
    maxLength: z.number().int().positive().optional(),
    pattern: z
      .object({
        regex: z.string().refine(isSafeRegex, 'Enter a valid regular expression'),
        message: z.string().min(1),
      })
      .optional(),
    date: z.enum(['past', 'future']).optional(),
  })
  .strict();

export const questionSchema = z
  .object({
    id: questionId,
    type: z.enum(questionTypes),
    label: z.string().min(1).max(300),
    hint: z.string().max(1000).optional(),
    /** How error messages name the answer: "Enter {errorName}". Defaults from the label. */
    errorName: z.string().max(200).optional(),
    options: z.array(option).max(50).optional(),
    validation: validation.default({ required: true }),
    showWhen: z
      .object({
        question: questionId,
        equals: z.string().optional(),
        in: z.array(z.string()).optional(),
      })
      .refine((s) => s.equals !== undefined || (s.in?.length ?? 0) > 0, 'Say which answer shows the question')
      .optional(),
    /** The email the acknowledgement goes to: asked only of people who are not signed in. */
    contactEmail: z.boolean().optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    const needsOptions = q.type === 'single_choice' || q.type === 'multiple_choice';
    if (needsOptions && (q.options?.length ?? 0) < 2)
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'Give at least 2 options' });
    if (q.contactEmail && q.type !== 'email')
      ctx.addIssue({
        code: 'custom',
        path: ['contactEmail'],
        message: 'Only an email question can be the contact email',
      });
  });
export type Question = z.infer<typeof questionSchema>;

export const slaSchema = z.object({
  value: z.number().int().positive(),
  unit: z.enum(['hours', 'working_days']),
});

export const serviceDetailsSchema = z.object({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{2,79}$/, 'Use lower case letters, digits and hyphens'),
  title: z.string().min(1).max(120),
  summary: z.string().min(1).max(300),
  description: z.string().min(1).max(4000),
  topic: z.enum(topicCodes),
  teamCode: z.string().min(1).max(60),
  sla: slaSchema.nullable(),
  feePence: z.number().int().nonnegative().nullable(),
  channels: z.array(z.enum(channels)).min(1),
  /** What the confirmation page says happens next. */
  nextSteps: z.string().max(1000).optional(),
});
export type ServiceDetails = z.infer<typeof serviceDetailsSchema>;

/** A service's whole definition: its details and its form. Validated whenever it is saved or loaded. */
export const serviceDefinitionSchema = serviceDetailsSchema
  .extend({ questions: z.array(questionSchema).max(100) })
  .superRefine((def, ctx) => {
    const seen = new Map<string, number>();
    def.questions.forEach((q, i) => {
      if (seen.has(q.id))
        ctx.addIssue({
          code: 'custom',
          path: ['questions', i, 'id'],
          message: `Question id ${q.id} is used twice`,
        });
      if (q.showWhen && !seen.has(q.showWhen.question))
        ctx.addIssue({
          code: 'custom',
          path: ['questions', i, 'showWhen'],
          message: 'A question can only depend on an earlier question',
        });
      seen.set(q.id, i);
    });
  });
export type ServiceDefinition = z.infer<typeof serviceDefinitionSchema>;

// Patterns come from staff, but are run against residents' input: refuse ones that do not compile
// and cap their length, so a mistake cannot take the service down.
function isSafeRegex(source: string): boolean {
  if (source.length > 200) return false;
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}
