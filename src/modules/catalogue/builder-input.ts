import type { ZodError } from 'zod';
import { channels } from '../cases/index.ts';
import { questionSchema, serviceDetailsSchema, type Question, type ServiceDetails } from './definition.ts';
import type { FormFields } from './form-input.ts';

export type FieldErrors = Array<{ field: string; text: string }>;

const str = (f: FormFields, k: string) => {
  const v = f[k];
  return typeof v === 'string' ? v.trim() : Array.isArray(v) ? (v[0] ?? '').trim() : '';
};
const list = (f: FormFields, k: string) => {
  const v = f[k];
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
};

// Zod paths to the ids of the inputs on the builder's pages.
const detailFields: Record<string, string> = { sla: 'slaValue', feePence: 'fee', teamCode: 'teamCode' };
const questionFields: Record<string, string> = {
  'validation.pattern.regex': 'pattern',
  'validation.pattern.message': 'patternMessage',
  'validation.min': 'min',
  'validation.max': 'max',
  'validation.minLength': 'minLength',
  'validation.maxLength': 'maxLength',
  showWhen: 'showWhenQuestion',
  'showWhen.question': 'showWhenQuestion',
};

function toErrors(
  error: ZodError,
  fields: Record<string, string>,
  messages: Record<string, string>,
): FieldErrors {
  const out: FieldErrors = [];
  for (const issue of error.issues) {
    const path = issue.path.join('.');
    const key = fields[path] ?? fields[String(issue.path[0])] ?? String(issue.path[0] ?? 'title');
    if (out.some((e) => e.field === key)) continue;
    out.push({ field: key, text: messages[key] ?? issue.message });
  }
  return out;
}

const detailMessages: Record<string, string> = {
  slug: 'Enter a web address of 3 to 80 lower case letters, digits and hyphens',
  title: 'Enter the service name',
  summary: 'Enter a one-line summary of 300 characters or less',
  description: 'Enter who the service is for',
  topic: 'Select a topic',
  teamCode: 'Select the team that handles requests',
  channels: 'Select at least one channel',
};

/** Reads the service details form; fee in pounds, SLA as a number and unit. */
export function readDetails(
  f: FormFields,
  teams: string[],
): { ok: true; details: ServiceDetails } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = [];
  let feePence: number | null = null;
  const fee = str(f, 'fee').replace(/^£/, '');
  if (fee) {
    if (!/^\d{1,6}(\.\d{2})?$/.test(fee))
      errors.push({ field: 'fee', text: 'Fee must be an amount in pounds, like 48 or 48.00' });
    else feePence = Math.round(Number(fee) * 100);
  }
  let sla: ServiceDetails['sla'] = null;
  const slaValue = str(f, 'slaValue');
  if (slaValue) {
    if (!/^\d{1,4}$/.test(slaValue) || Number(slaValue) < 1)
      errors.push({ field: 'slaValue', text: 'Target must be a whole number, like 5' });
    else sla = { value: Number(slaValue), unit: str(f, 'slaUnit') === 'hours' ? 'hours' : 'working_days' };
  }
  const teamCode = str(f, 'teamCode');
  if (teamCode && !teams.includes(teamCode))
    errors.push({ field: 'teamCode', text: detailMessages.teamCode! });
  const parsed = serviceDetailsSchema.safeParse({
    slug: str(f, 'slug'),
    title: str(f, 'title'),
    summary: str(f, 'summary'),
    description: str(f, 'description').replace(/\r\n/g, '\n'),
    topic: str(f, 'topic'),
    teamCode,
    sla,
    feePence,
    channels: list(f, 'channels').filter((c) => (channels as readonly string[]).includes(c)),
    nextSteps: str(f, 'nextSteps') || undefined,
  });
  if (!parsed.success)
    errors.push(
      ...toErrors(parsed.error, detailFields, detailMessages).filter(
        (e) => !errors.some((x) => x.field === e.field),
      ),
    );
  if (errors.length || !parsed.success) return { ok: false, errors };
  return { ok: true, details: parsed.data };
}

const optionalNumber = (s: string) => (s === '' ? undefined : Number(s));

/** Reads the question editor form. Options are one per line: "Text" or "value | Text". */
export function readQuestion(
  f: FormFields,
): { ok: true; question: Question } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = [];
  const options = str(f, 'options')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [a, b] = line.includes('|') ? line.split('|').map((s) => s.trim()) : [undefined, line];
      return { value: a || slugify(b ?? ''), text: b ?? '' };
    });
  for (const k of ['min', 'max', 'minLength', 'maxLength'])
    if (str(f, k) !== '' && !/^-?\d+(\.\d+)?$/.test(str(f, k)))
      errors.push({ field: k, text: 'Enter a number' });
  const type = str(f, 'type');
  const showWhenQuestion = str(f, 'showWhenQuestion');
  const showValues = str(f, 'showWhenValues')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (showWhenQuestion && showValues.length === 0)
    errors.push({ field: 'showWhenValues', text: 'Enter the answer that shows this question' });
  const pattern = str(f, 'pattern');
  const date = str(f, 'date');
  const candidate = {
    id: str(f, 'id'),
    type,
    label: str(f, 'label'),
    hint: str(f, 'hint') || undefined,
    errorName: str(f, 'errorName') || undefined,
    options: type === 'single_choice' || type === 'multiple_choice' ? options : undefined,
    validation: {
      required: str(f, 'optional') !== 'yes',
      min: optionalNumber(str(f, 'min')),
      max: optionalNumber(str(f, 'max')),
      minLength: optionalNumber(str(f, 'minLength')),
      maxLength: optionalNumber(str(f, 'maxLength')),
      pattern: pattern ? { regex: pattern, message: str(f, 'patternMessage') } : undefined,
      date: date === 'past' || date === 'future' ? date : undefined,
    },
    showWhen:
      showWhenQuestion && showValues.length
        ? showValues.length === 1
          ? { question: showWhenQuestion, equals: showValues[0] }
          : { question: showWhenQuestion, in: showValues }
        : undefined,
    contactEmail: type === 'email' && str(f, 'contactEmail') === 'yes' ? true : undefined,
  };
  if (errors.length) return { ok: false, errors };
  const parsed = questionSchema.safeParse(candidate);
  if (!parsed.success)
    return {
      ok: false,
      errors: toErrors(parsed.error, questionFields, {
        id: 'Enter a question id of lower case letters, digits and hyphens, starting with a letter',
        type: 'Select the type of question',
        label: 'Enter the question',
        patternMessage: 'Enter the message to show when the answer does not match the pattern',
      }),
    };
  return { ok: true, question: parsed.data };
}

export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

/** The editor's field values for an existing question. */
export function questionFormValues(q: Question): Record<string, string> {
  return {
    id: q.id,
    type: q.type,
    label: q.label,
    hint: q.hint ?? '',
    errorName: q.errorName ?? '',
    options: (q.options ?? []).map((o) => `${o.value} | ${o.text}`).join('\n'),
    optional: q.validation.required ? '' : 'yes',
    min: q.validation.min?.toString() ?? '',
    max: q.validation.max?.toString() ?? '',
    minLength: q.validation.minLength?.toString() ?? '',
    maxLength: q.validation.maxLength?.toString() ?? '',
    pattern: q.validation.pattern?.regex ?? '',
    patternMessage: q.validation.pattern?.message ?? '',
    date: q.validation.date ?? '',
    showWhenQuestion: q.showWhen?.question ?? '',
    showWhenValues: q.showWhen ? (q.showWhen.in ?? [q.showWhen.equals]).join(', ') : '',
    contactEmail: q.contactEmail ? 'yes' : '',
  };
}

/** The details form's values for an existing service. */
export function detailFormValues(d: ServiceDetails): Record<string, string | string[]> {
  return {
    slug: d.slug,
    title: d.title,
    summary: d.summary,
    description: d.description,
    topic: d.topic,
    teamCode: d.teamCode,
    slaValue: d.sla ? String(d.sla.value) : '',
    slaUnit: d.sla?.unit ?? 'working_days',
    fee: d.feePence !== null ? (d.feePence / 100).toFixed(2) : '',
    channels: d.channels,
    nextSteps: d.nextSteps ?? '',
  };
}
