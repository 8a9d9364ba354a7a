import type { Question, ServiceDefinition } from './definition.ts';
import type { Gazetteer } from './gazetteer.ts';

/**
 * The form engine: which questions to ask, in which order, and whether an answer is valid. The
 * same rules serve the resident pages, the staff preview and the submissions API. Messages follow
 * the GOV.UK Design System's error message patterns.
 */

export interface AddressAnswer {
  uprn: string | null;
  text: string;
}
export interface LocationAnswer {
  usrn: string | null;
  text: string;
  detail: string | null;
  lat: number | null;
  lng: number | null;
}
export interface FileAnswer {
  fileId: string;
  name: string;
}
export type AnswerValue = string | number | string[] | AddressAnswer | LocationAnswer | FileAnswer | null;
export type Answers = Record<string, AnswerValue>;

export type Validation =
  | { ok: true; value: AnswerValue }
  | {
      ok: false;
      message: string;
      /** The part of a compound question the message is about (day, month, year, postcode…). */
      part?: string;
      /** Streets to choose from when a street name matched more than one. */
      streets?: Array<{ usrn: string; name: string; locality: string }>;
    };

/** Who is answering: a known resident is not asked for a contact email. */
export interface AskContext {
  knownResident: boolean;
}

const MAX_TEXT = 10_000;

export function errorName(q: Question): string {
  if (q.errorName) return q.errorName;
  const label = q.label.replace(/[?.:]\s*$/, '');
  return label.charAt(0).toLowerCase() + label.slice(1);
}
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Whether a question applies, given the answers so far (its showWhen condition). */
export function isShown(q: Question, answers: Answers): boolean {
  if (!q.showWhen) return true;
  const answer = answers[q.showWhen.question];
  const given = Array.isArray(answer)
    ? answer
    : answer === null || answer === undefined
      ? []
      : [String(answer)];
  const wanted = q.showWhen.in ?? [q.showWhen.equals!];
  return given.some((a) => wanted.includes(a));
}

/** The questions this person is asked, in order, given their answers so far. */
export function questionsToAsk(def: ServiceDefinition, answers: Answers, ctx: AskContext): Question[] {
  const asked: Question[] = [];
  const visible: Answers = {};
  for (const q of def.questions) {
    if (q.contactEmail && ctx.knownResident) continue;
    // A question hidden because its parent is hidden stays hidden.
    if (!isShown(q, visible)) continue;
    asked.push(q);
    if (q.id in answers) visible[q.id] = answers[q.id]!;
  }
  return asked;
}

/** The question after `currentId`, or null when the next step is checking answers. */
export function nextQuestion(def: ServiceDefinition, answers: Answers, currentId: string, ctx: AskContext) {
  const asked = questionsToAsk(def, answers, ctx);
  const i = asked.findIndex((q) => q.id === currentId);
  return asked[i + 1] ?? null;
}

/** The question before `currentId`, or null on the first question. */
export function previousQuestion(
  def: ServiceDefinition,
  answers: Answers,
  currentId: string,
  ctx: AskContext,
) {
  const asked = questionsToAsk(def, answers, ctx);
  const i = asked.findIndex((q) => q.id === currentId);
  return i > 0 ? asked[i - 1]! : null;
}

/** The first question still to answer, or null when every question asked has an answer. */
export function firstUnanswered(def: ServiceDefinition, answers: Answers, ctx: AskContext): Question | null {
  return questionsToAsk(def, answers, ctx).find((q) => !(q.id in answers)) ?? null;
}

/** Only the answers to questions that are still asked (a changed answer can hide later ones). */
export function relevantAnswers(def: ServiceDefinition, answers: Answers, ctx: AskContext): Answers {
  const out: Answers = {};
  for (const q of questionsToAsk(def, answers, ctx)) if (q.id in answers) out[q.id] = answers[q.id]!;
  return out;
}

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const postcodePattern = /^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$/i;

/** Checks one answer. Input is what a form posts (strings) or what an API client sends (JSON). */
export function validateAnswer(q: Question, input: unknown, gazetteer: Gazetteer): Validation {
  const name = errorName(q);
  const v = q.validation;
  const fail = (message: string, part?: string): Validation => ({ ok: false, message, part });
  const blank = isBlank(input);
  if (blank) {
    if (!v.required) return { ok: true, value: null };
    const verb = ['yes_no', 'single_choice', 'multiple_choice', 'file'].includes(q.type) ? 'Select' : 'Enter';
    return fail(`${verb} ${name}`);
  }

  switch (q.type) {
    case 'text':
    case 'long_text': {
      if (typeof input !== 'string') return fail(`Enter ${name}`);
      const text = input.trim();
      if (text.length > MAX_TEXT) return fail(`${capitalise(name)} must be ${MAX_TEXT} characters or less`);
      return checkText(q, text, name);
    }
    case 'email': {
      if (typeof input !== 'string') return fail(`Enter ${name}`);
      const email = input.trim().toLowerCase();
      if (email.length > 254 || !emailPattern.test(email))
        return fail('Enter an email address in the correct format, like name@example.com');
      return checkText(q, email, name);
    }
    case 'phone': {
      if (typeof input !== 'string') return fail(`Enter ${name}`);
      const phone = ukPhone(input);
      if (!phone)
        return fail('Enter a telephone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192');
      return { ok: true, value: phone };
    }
    case 'number': {
      const n = typeof input === 'number' ? input : Number(String(input).trim().replace(/,/g, ''));
      if (typeof input !== 'number' && typeof input !== 'string')
        return fail(`${capitalise(name)} must be a number`);
      if (!Number.isFinite(n)) return fail(`${capitalise(name)} must be a number`);
      if (v.min !== undefined && n < v.min) return fail(`${capitalise(name)} must be ${v.min} or more`);
      if (v.max !== undefined && n > v.max) return fail(`${capitalise(name)} must be ${v.max} or less`);
      return { ok: true, value: n };
    }
    case 'date':
      return checkDate(q, input, name);
    case 'yes_no': {
      const s = typeof input === 'boolean' ? (input ? 'yes' : 'no') : String(input).toLowerCase();
      if (s !== 'yes' && s !== 'no') return fail(`Select ${name}`);
      return { ok: true, value: s };
    }
    case 'single_choice': {
      const s = String(input);
      if (Array.isArray(input) || !q.options?.some((o) => o.value === s)) return fail(`Select ${name}`);
      return { ok: true, value: s };
    }
    case 'multiple_choice': {
      const list = (Array.isArray(input) ? input : [input]).map(String);
      const allowed = new Set(q.options?.map((o) => o.value));
      if (list.some((s) => !allowed.has(s))) return fail(`Select ${name}`);
      const unique = [...new Set(list)];
      if (v.min !== undefined && unique.length < v.min) return fail(`Select at least ${v.min} options`);
      if (v.max !== undefined && unique.length > v.max) return fail(`Select no more than ${v.max} options`);
      return { ok: true, value: unique };
    }
    case 'address':
      return checkAddress(input, name, gazetteer);
    case 'location':
      return checkLocation(input, name, gazetteer);
    case 'file': {
      const f = input as Partial<FileAnswer>;
      if (typeof f !== 'object' || typeof f.fileId !== 'string' || typeof f.name !== 'string')
        return fail(`Select ${name}`);
      return { ok: true, value: { fileId: f.fileId, name: f.name } };
    }
  }
}

function checkText(q: Question, text: string, name: string): Validation {
  const v = q.validation;
  if (v.minLength !== undefined && text.length < v.minLength)
    return { ok: false, message: `${capitalise(name)} must be ${v.minLength} characters or more` };
  if (v.maxLength !== undefined && text.length > v.maxLength)
    return { ok: false, message: `${capitalise(name)} must be ${v.maxLength} characters or less` };
  if (v.pattern && !new RegExp(`^(?:${v.pattern.regex})$`, 'u').test(text))
    return { ok: false, message: v.pattern.message };
  return { ok: true, value: text };
}

/** A UK phone number in a tidy form, or null. Accepts spaces, dashes, brackets and +44. */
export function ukPhone(input: string): string | null {
  const digits = input.replace(/[\s\-().]/g, '');
  let national: string;
  if (/^\+44\d{9,10}$/.test(digits)) national = `0${digits.slice(3)}`.replace(/^00/, '0');
  else if (/^0044\d{9,10}$/.test(digits)) national = `0${digits.slice(4)}`;
  else if (/^0\d{9,10}$/.test(digits)) national = digits;
  else return null;
  if (!/^0[1-9]\d{8,9}$/.test(national)) return null;
  return national;
}

function checkDate(q: Question, input: unknown, name: string): Validation {
  let day: string, month: string, year: string;
  if (typeof input === 'string') {
    const m = input.trim().match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/);
    if (!m) return { ok: false, message: `${capitalise(name)} must be a real date` };
    [year, month, day] = [m[1]!, m[2]!, m[3]!];
  } else if (input && typeof input === 'object') {
    const parts = input as Record<string, unknown>;
    [day, month, year] = ['day', 'month', 'year'].map((k) => String(parts[k] ?? '').trim()) as [
      string,
      string,
      string,
    ];
    const missing = (['day', 'month', 'year'] as const).filter((k, i) => [day, month, year][i] === '');
    if (missing.length === 1 || missing.length === 2)
      return {
        ok: false,
        message: `${capitalise(name)} must include a ${missing.join(' and ')}`,
        part: missing[0],
      };
  } else return { ok: false, message: `${capitalise(name)} must be a real date` };
  const [d, m, y] = [day, month, year].map((s) => (/^\d+$/.test(s) ? Number(s) : NaN)) as [
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (
    !Number.isInteger(d) ||
    !Number.isInteger(m) ||
    !Number.isInteger(y) ||
    y < 1000 ||
    y > 9999 ||
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== m - 1 ||
    date.getUTCDate() !== d
  )
    return { ok: false, message: `${capitalise(name)} must be a real date` };
  const iso = date.toISOString().slice(0, 10);
  const today = new Date().toISOString().slice(0, 10);
  if (q.validation.date === 'past' && iso >= today)
    return { ok: false, message: `${capitalise(name)} must be in the past` };
  if (q.validation.date === 'future' && iso <= today)
    return { ok: false, message: `${capitalise(name)} must be in the future` };
  return { ok: true, value: iso };
}

function checkAddress(input: unknown, name: string, gazetteer: Gazetteer): Validation {
  const given = (typeof input === 'string' ? { uprn: input } : input) as Record<string, unknown>;
  if (typeof given !== 'object' || given === null) return { ok: false, message: `Enter ${name}` };
  if (typeof given.uprn === 'string' && given.uprn.trim()) {
    const address = gazetteer.address(given.uprn.trim());
    if (!address) return { ok: false, message: 'Select an address from the list', part: 'uprn' };
    return { ok: true, value: { uprn: address.uprn, text: address.text } };
  }
  const field = (k: string) => (typeof given[k] === 'string' ? (given[k] as string).trim() : '');
  const [line1, line2, town, postcode] = ['line1', 'line2', 'town', 'postcode'].map(field) as [
    string,
    string,
    string,
    string,
  ];
  if (!line1)
    return { ok: false, message: 'Enter address line 1, typically the building and street', part: 'line1' };
  if (!town) return { ok: false, message: 'Enter town or city', part: 'town' };
  if (!postcode) return { ok: false, message: 'Enter postcode', part: 'postcode' };
  if (!postcodePattern.test(postcode))
    return { ok: false, message: 'Enter a full UK postcode', part: 'postcode' };
  if ([line1, line2, town].some((s) => s.length > 200))
    return { ok: false, message: 'Address lines must be 200 characters or less', part: 'line1' };
  const tidyPostcode = postcode
    .toUpperCase()
    .replace(/\s+/g, '')
    .replace(/(\d[A-Z]{2})$/, ' $1');
  return {
    ok: true,
    value: { uprn: null, text: [line1, line2, town, tidyPostcode].filter(Boolean).join(', ') },
  };
}

function checkLocation(input: unknown, name: string, gazetteer: Gazetteer): Validation {
  const given = (typeof input === 'string' ? { street: input } : input) as Record<string, unknown>;
  if (typeof given !== 'object' || given === null) return { ok: false, message: `Enter ${name}` };
  const text = (k: string) => (typeof given[k] === 'string' ? (given[k] as string).trim() : '');
  const detail = text('detail').slice(0, 500) || null;
  const lat = Number(given.lat);
  const lng = Number(given.lng);
  // A pin far from Kilnford (a device's stale or spoofed position) is not kept.
  const hasPin =
    given.lat !== undefined &&
    given.lat !== '' &&
    Number.isFinite(lat) &&
    Number.isFinite(lng) &&
    gazetteer.nearestStreet(lat, lng) !== undefined;
  const usrn = text('usrn');
  if (usrn) {
    const street = gazetteer.street(usrn);
    if (!street) return { ok: false, message: 'Select the street from the list', part: 'usrn' };
    return located(street, detail, hasPin ? lat : null, hasPin ? lng : null);
  }
  const streetName = text('street');
  if (streetName) {
    const found = gazetteer.findStreets(streetName);
    const exact = found.filter((s) => s.name.toLowerCase() === streetName.toLowerCase());
    const pick = exact.length === 1 ? exact : found;
    if (pick.length === 1) return located(pick[0]!, detail, hasPin ? lat : null, hasPin ? lng : null);
    if (pick.length === 0)
      return {
        ok: false,
        message: `We cannot find a street called ${streetName.slice(0, 60)} in Kilnford`,
        part: 'street',
      };
    return {
      ok: false,
      message: 'Select the street from the list',
      part: 'usrn',
      streets: pick.map((s) => ({ usrn: s.usrn, name: s.name, locality: s.locality })),
    };
  }
  if (hasPin) return located(gazetteer.nearestStreet(lat, lng)!, detail, lat, lng);
  if (given.lat !== undefined && given.lat !== '')
    return { ok: false, message: 'The location must be in Kilnford', part: 'street' };
  return { ok: false, message: `Enter ${name}`, part: 'street' };
}

function located(
  street: { usrn: string; name: string; locality: string },
  detail: string | null,
  lat: number | null,
  lng: number | null,
): Validation {
  return {
    ok: true,
    value: { usrn: street.usrn, text: `${street.name}, ${street.locality}`, detail, lat, lng },
  };
}

function isBlank(input: unknown): boolean {
  if (input === undefined || input === null) return true;
  if (typeof input === 'string') return input.trim() === '';
  if (Array.isArray(input)) return input.length === 0 || input.every((i) => isBlank(i));
  if (typeof input === 'object') {
    const values = Object.values(input as Record<string, unknown>);
    return values.length === 0 || values.every((i) => isBlank(i));
  }
  return false;
}

/** An answer as a person reads it (check answers, the case record). */
export function formatAnswer(q: Question, value: AnswerValue | undefined): string {
  if (value === null || value === undefined) return 'Not answered';
  switch (q.type) {
    case 'yes_no':
      return value === 'yes' ? 'Yes' : 'No';
    case 'single_choice':
      return q.options?.find((o) => o.value === value)?.text ?? String(value);
    case 'multiple_choice':
      return (value as string[]).map((v) => q.options?.find((o) => o.value === v)?.text ?? v).join(', ');
    case 'date': {
      const d = new Date(`${value as string}T00:00:00Z`);
      return d.toLocaleDateString('en-GB', {
        day: 'numeric',
        month: 'long',
        year: 'numeric',
        timeZone: 'UTC',
      });
    }
    case 'address':
      return (value as AddressAnswer).text;
    case 'location': {
      const l = value as LocationAnswer;
      return [l.text, l.detail].filter(Boolean).join(': ');
    }
    case 'file':
      return (value as FileAnswer).name;
    default:
      return String(value);
  }
}

/** Checks a whole set of answers (the API): every invalid answer, keyed by question id. */
export function validateAll(
  def: ServiceDefinition,
  input: Record<string, unknown>,
  ctx: AskContext,
  gazetteer: Gazetteer,
): { answers: Answers; errors: Array<{ questionId: string; message: string }> } {
  const answers: Answers = {};
  const errors: Array<{ questionId: string; message: string }> = [];
  const known = new Set(def.questions.map((q) => q.id));
  for (const key of Object.keys(input))
    if (!known.has(key)) errors.push({ questionId: key, message: 'This service has no such question' });
  for (const q of def.questions) {
    if (q.contactEmail && ctx.knownResident) continue;
    if (!isShown(q, answers)) continue;
    const result = validateAnswer(q, input[q.id], gazetteer);
    if (result.ok) answers[q.id] = result.value;
    else errors.push({ questionId: q.id, message: result.message });
  }
  return { answers, errors };
}

/** The answers as the case records them: question text and answer, keyed by question id. */
export function recordedAnswers(def: ServiceDefinition, answers: Answers) {
  const out: Record<string, { question: string; answer: string; value?: AnswerValue }> = {};
  for (const q of def.questions) {
    if (!(q.id in answers)) continue;
    const value = answers[q.id]!;
    const structured = ['address', 'location', 'file', 'multiple_choice'].includes(q.type);
    out[q.id] = { question: q.label, answer: formatAnswer(q, value), ...(structured ? { value } : {}) };
  }
  return out;
}

/** One line for queues: the first two short answers. */
export function summarise(def: ServiceDefinition, answers: Answers): string {
  const parts = def.questions
    .filter((q) => q.id in answers && answers[q.id] !== null && !['file', 'email', 'phone'].includes(q.type))
    .slice(0, 2)
    .map((q) => formatAnswer(q, answers[q.id]).replace(/\s+/g, ' ').slice(0, 120));
  return parts.join(' – ') || def.title;
}
