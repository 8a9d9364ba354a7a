import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../../platform/actor.ts';
import { BookingError, type BookingsService } from '../bookings/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { formatLondon } from '../../platform/time.ts';
import { statusLabels, type CasesService, type Channel } from '../cases/index.ts';
import type { CatalogueService, Question } from '../catalogue/index.ts';
import {
  firstUnanswered,
  formatAnswer,
  questionsToAsk,
  validateAnswer,
  type AnswerValue,
  type Answers,
} from '../catalogue/form-engine.ts';
import type { Gazetteer } from '../catalogue/gazetteer.ts';
import { categories, type RequestsService } from '../requests/index.ts';
import { checkAnswers, type Category } from '../requests/categories.ts';
import { findStreets, streets as requestStreets } from '../requests/geography.ts';
import { locateStreet, type ReportLocation } from '../requests/service.ts';
import { binName, listWords, nextCollections } from './bins.ts';
import { contentAnswers, smallTalk } from './content.ts';
import { maskEntities, type Entity, type EntityExtractor } from './entities.ts';
import type { Nlu, Understanding } from './nlu.ts';
import type { AssistantChannel } from './schema.ts';

/** One thing the assistant says: words, and perhaps choices to offer and a page to link to. */
export interface Reply {
  text: string;
  options?: string[];
  link?: { href: string; text: string };
}

interface Choice {
  label: string;
  value: string;
}

/** What the bot is in the middle of, kept with the conversation between messages. */
export type DialogueState =
  | { flow?: undefined }
  | {
      flow: 'service';
      slug: string;
      version: number;
      answers: Answers;
      asking: string | null;
      confirming: boolean;
      key: string;
      choices?: Choice[];
    }
  | {
      flow: 'report';
      category: string;
      answers: Record<string, string>;
      asking: string;
      location: ReportLocation | null;
      description: string | null;
      email: string | null;
      confirming: boolean;
      key: string;
      choices?: Choice[];
    }
  | { flow: 'status'; asking: 'reference' | 'identity'; reference?: string }
  | { flow: 'bins'; bin: string | null; postcode?: string; choices?: Choice[] }
  | {
      flow: 'bulky';
      step: 'address' | 'items' | 'day' | 'name' | 'email' | 'confirm';
      postcode?: string;
      uprn?: string;
      address?: string;
      items: Record<string, number>;
      totalPence?: number;
      day?: string;
      startsAt?: string;
      name?: string;
      /** For the receipt of a paid collection when the resident is not signed in. */
      email?: string;
      choices?: Choice[];
    };

/** Who the bot is talking to. */
export interface Party {
  conversationId: string;
  channel: AssistantChannel;
  externalId: string | null;
  residentId: string | null;
}

export interface Outcome {
  replies: Reply[];
  state: DialogueState;
  /** The resident asked for a person. */
  handover?: boolean;
  /** The conversation is over (said goodbye). */
  end?: boolean;
  /** A request made in this turn. */
  submitted?: { reference: string };
  understanding?: Understanding & { entities: Entity[] };
}

export interface EngineDeps {
  db: Db;
  nlu: Nlu;
  entities: EntityExtractor;
  catalogue: CatalogueService;
  requests: RequestsService;
  cases: CasesService;
  gazetteer: Gazetteer;
  publicUrl: string;
  /** Whether the resident may see a case: their own, made in this conversation or on this phone. */
  mayDisclose(party: Party, reference: string, caseRow: { resident_id: string | null }): Promise<boolean>;
  /** The email address of a resident with an account, for the identity check. */
  residentEmail(residentId: string): Promise<string | null>;
  recordRequest(party: Party, reference: string): Promise<void>;
  /** Bulky waste collections are booked through bookings (services.bookings), when it is there. */
  bookings?: BulkyBookings;
}

/** What the assistant needs from bookings to book a bulky waste collection. */
export type BulkyBookings = Pick<
  BookingsService,
  | 'getBookable'
  | 'nextAvailableDates'
  | 'availability'
  | 'quote'
  | 'addressInArea'
  | 'findAddresses'
  | 'hold'
  | 'confirm'
  | 'paymentLink'
>;

const BULKY = 'bulky-waste';

/** The channel a case records for each assistant channel (Report it and the catalogue accept all of them). */
export const caseChannel: Record<AssistantChannel, Extract<Channel, 'chatbot' | 'sms' | 'voice'>> = {
  web: 'chatbot',
  sms: 'sms',
  voice: 'voice',
  alexa: 'voice',
};

const MAX_MESSAGE = 1000;
const emailSchema = z.email().max(254);
const yesWords =
  /^(y|yes|yeah|yep|yup|aye|ok|okay|sure|correct|right|that's right|that is right|go ahead|send it|please do|yes please|confirm)\b/i;
const noWords = /^(n|no|nope|nah|no thanks|not really|wrong|don't|do not)\b/i;
const cancelWords =
  /^(cancel|stop|quit|start again|start over|restart|forget it|never mind|nevermind|exit)\b/i;
const skipWords = /^(skip|none|no|nothing|n\/a|na|not sure|don't know|dont know|no thanks|pass)\b/i;
const personWords =
  /\b(talk|speak|chat|put me through|transfer|connect)\b.*\b(person|human|someone|somebody|adviser|advisor|agent|operator|officer)\b|^(agent|human|adviser|advisor|operator)$/i;
const ordinals = [
  'first',
  'second',
  'third',
  'fourth',
  'fifth',
  'sixth',
  'seventh',
  'eighth',
  'ninth',
  'tenth',
];
const numberWords = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** Cleans what arrived: text only, no control characters, a sane length. */
export function cleanInput(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  return raw
    .normalize('NFKC')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_MESSAGE);
}

/** Which of the choices a resident means: a number, an ordinal, the value or words of one. */
export function pickChoice(text: string, choices: Choice[]): Choice | undefined {
  const t = text.toLowerCase().replace(/[.!]$/, '').trim();
  const n = /^(?:number\s+|option\s+)?(\d{1,2})$/.exec(t);
  if (n) return choices[Number(n[1]) - 1];
  const word = [...ordinals, ...numberWords].indexOf(t.replace(/^the\s+|\s+one$/g, ''));
  if (word >= 0) return choices[word % 10];
  const exact = choices.find((c) => c.value.toLowerCase() === t || c.label.toLowerCase() === t);
  if (exact) return exact;
  // The choice sharing the most words with what was said, if it is clear.
  const words = new Set(t.split(/[^a-z0-9]+/).filter((w) => w.length > 2));
  let best: Choice | undefined;
  let bestScore = 0;
  let tie = false;
  for (const c of choices) {
    const score = c.label
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 2 && words.has(w)).length;
    if (score > bestScore) [best, bestScore, tie] = [c, score, false];
    else if (score === bestScore && score > 0) tie = true;
  }
  return bestScore > 0 && !tie ? best : undefined;
}

function yesNo(text: string): 'yes' | 'no' | undefined {
  if (yesWords.test(text.trim())) return 'yes';
  if (noWords.test(text.trim())) return 'no';
  return undefined;
}

const categoryByCode = (code: string) => categories.find((c) => c.code === code);

/**
 * The conversation engine: one brain for every channel. Given the state and what the resident
 * said, it decides what to say and what to do, and returns the new state. Channels only turn
 * replies into their wire format.
 */
export function createEngine(deps: EngineDeps) {
  const { nlu, entities, catalogue, gazetteer } = deps;

  async function respond(
    party: Party,
    state: DialogueState,
    rawText: unknown,
    now = new Date(),
  ): Promise<Outcome> {
    const text = cleanInput(rawText);
    if (!text)
      return {
        state,
        replies: [
          { text: 'I did not catch that. Please type or say what you need, for example “report a pothole”.' },
        ],
      };
    if (cancelWords.test(text) && state.flow)
      return {
        state: {},
        replies: [{ text: 'OK, I have stopped. Nothing has been sent. What else can I help with?' }],
      };
    if (personWords.test(text)) return { state: {}, replies: [], handover: true };
    switch (state.flow) {
      case 'service':
        return continueService(party, state, text);
      case 'report':
        return continueReport(party, state, text);
      case 'status':
        return continueStatus(party, state, text);
      case 'bins':
        return continueBins(state, text, now);
      case 'bulky':
        return continueBulky(party, state, text);
      default:
        return fresh(party, text, now);
    }
  }

  async function fresh(party: Party, text: string, now: Date): Promise<Outcome> {
    const found = entities.extract(text, now);
    const understood = await nlu.understand(maskEntities(text, found) || text);
    const understanding = { ...understood, entities: found };
    const reference = found.find((e) => e.type === 'reference');
    const intent = resolveIntent(understood.intent, found);
    const out = (o: Omit<Outcome, 'understanding'>): Outcome => ({ ...o, understanding });

    if (intent === 'none')
      return out({
        state: {},
        replies: [
          {
            text: 'Sorry, I do not know about that. I can help with council services: reporting a street problem, bin days, bulky waste, council tax, opening hours and checking a request. Or say “talk to a person”.',
            link: { href: '/search', text: 'Search the council’s website' },
          },
        ],
      });
    if (intent === 'agent.handover') return out({ state: {}, replies: [], handover: true });
    const answer = [...contentAnswers, ...smallTalk].find((a) => a.intent === intent);
    if (answer)
      return out({
        state: {},
        replies: [{ text: answer.text, ...(answer.link ? { link: answer.link } : {}) }],
        end: intent === 'smalltalk.bye',
      });
    if (intent === 'case.status') {
      if (reference)
        return out(
          await checkStatus(party, { flow: 'status', asking: 'identity', reference: reference.value }),
        );
      return out({
        state: { flow: 'status', asking: 'reference' },
        replies: [
          {
            text: 'What is the reference? It looks like KLN-ABCD-23 and is in the email or text we sent you.',
          },
        ],
      });
    }
    if (intent === 'bins.day') {
      const bin = found.find((e) => e.type === 'bin_type')?.value ?? null;
      return out(await continueBins({ flow: 'bins', bin }, text, now, true));
    }
    if (intent === 'bulky.book') {
      if (deps.bookings) return out(await startBulky(party, found, text));
      return out({
        state: {},
        replies: [
          {
            text: 'We collect large items such as furniture and fridges for a fee. Book a collection online, or say “talk to a person” and an adviser will book it for you.',
            link: { href: '/book/bulky-waste/address', text: 'Book a bulky waste collection' },
          },
        ],
      });
    }
    if (intent.startsWith('report.')) {
      const category = categoryByCode(intent.slice('report.'.length));
      if (category) return out(await startReport(party, category, text, found));
    }
    if (intent.startsWith('service.')) {
      const live = await catalogue.liveService(intent.slice('service.'.length));
      if (live) return out(await startService(party, live.definition.slug, live.version, found));
    }
    return out({
      state: {},
      replies: [{ text: 'Sorry, I cannot help with that here yet. Say “talk to a person” for an adviser.' }],
    });
  }

  // ---- Street reports through Report it ----

  function reportQuestionReply(category: Category, id: string, channel: AssistantChannel): Reply {
    if (id === 'location')
      return { text: `Where is ${category.noun}? Tell me the street name, for example “Saggar Street”.` };
    if (id === 'description')
      return {
        text: 'Is there anything else we should know, such as the nearest house number or landmark? Say “skip” if not.',
      };
    if (id === 'email')
      return {
        text: 'What is your email address? We will send your reference and tell you when it is fixed. Say “skip” if you do not want updates.',
      };
    const q = category.questions.find((x) => x.id === id)!;
    const options = q.type === 'yes_no' ? ['Yes', 'No'] : q.options?.map((o) => o.text);
    return {
      text: `${q.text}${q.required ? '' : ' Say “skip” to leave it out.'}`,
      ...(options ? { options } : {}),
    };
    void channel;
  }

  function nextReportStep(
    party: Party,
    category: Category,
    s: Extract<DialogueState, { flow: 'report' }>,
  ): string | null {
    if (!s.location) return 'location';
    for (const q of category.questions) if (!(q.id in s.answers)) return q.id;
    if (s.description === null && !('description' in s.answers)) return 'description';
    if (party.channel === 'web' && !party.residentId && s.email === null && !('email' in s.answers))
      return 'email';
    return null;
  }

  function reportSummary(category: Category, s: Extract<DialogueState, { flow: 'report' }>): string {
    const lines = [`Report ${category.noun} on ${s.location!.streetName}`];
    for (const q of category.questions) {
      const v = s.answers[q.id];
      if (!v || v === '-') continue;
      lines.push(
        `${q.text.replace(/\s*\(optional\)/, '')} ${q.options?.find((o) => o.value === v)?.text ?? v}`,
      );
    }
    if (s.description) lines.push(`Details: ${s.description}`);
    if (s.email) lines.push(`Updates to: ${s.email}`);
    return lines.join('. ').replace(/\?\./g, '?');
  }

  async function askNextReport(
    party: Party,
    category: Category,
    s: Extract<DialogueState, { flow: 'report' }>,
    lead: Reply[] = [],
  ): Promise<Outcome> {
    const step = nextReportStep(party, category, s);
    if (step)
      return {
        state: { ...s, asking: step, choices: undefined },
        replies: [...lead, reportQuestionReply(category, step, party.channel)],
      };
    return {
      state: { ...s, asking: 'confirm', confirming: true, choices: undefined },
      replies: [
        ...lead,
        { text: `${reportSummary(category, s)}. Shall I send this report?`, options: ['Yes, send it', 'No'] },
      ],
    };
  }

  async function startReport(
    party: Party,
    category: Category,
    text: string,
    found: Entity[],
  ): Promise<Outcome> {
    const s: Extract<DialogueState, { flow: 'report' }> = {
      flow: 'report',
      category: category.code,
      answers: {},
      asking: 'location',
      location: null,
      description: null,
      email: null,
      confirming: false,
      key: randomUUID(),
    };
    const street = found.find((e) => e.type === 'street');
    if (street) {
      const match = requestStreets.find((x) => x.usrn === street.value);
      if (match) s.location = locateStreet(match);
    }
    void text;
    return askNextReport(party, category, s, [{ text: `I can report ${category.noun} for you.` }]);
  }

  async function continueReport(
    party: Party,
    s: Extract<DialogueState, { flow: 'report' }>,
    text: string,
  ): Promise<Outcome> {
    const category = categoryByCode(s.category)!;
    const again = (message: string, choices?: Choice[]): Outcome => ({
      state: { ...s, choices },
      replies: [
        {
          text: message,
          ...(choices ? { options: choices.map((c) => c.label) } : {}),
        },
      ],
    });
    if (s.asking === 'confirm') {
      const said = confirmation(text);
      if (said === 'no')
        return {
          state: {},
          replies: [{ text: 'OK, I have not sent the report. You can start again at any time.' }],
        };
      if (said !== 'yes') return again('Please say yes to send the report, or no to stop.');
      return submitReport(party, category, s);
    }
    if (s.asking === 'location') {
      let street = s.choices ? pickChoice(text, s.choices) : undefined;
      let found = street ? requestStreets.filter((x) => x.usrn === street!.value) : [];
      if (!street) {
        const named = entities.findStreet(text);
        found = named ? requestStreets.filter((x) => x.usrn === named.street.usrn) : findStreets(text);
      }
      if (found.length === 0)
        return again(
          `I cannot find a street called “${text.slice(0, 60)}” in Kilnford. Tell me the street name, for example “Saggar Street”.`,
        );
      if (found.length > 1) {
        const choices = found.slice(0, 6).map((x) => ({ label: `${x.name}, ${x.locality}`, value: x.usrn }));
        return again('Which street do you mean?', choices);
      }
      street = undefined;
      return askNextReport(party, category, { ...s, location: locateStreet(found[0]!) });
    }
    if (s.asking === 'description') {
      const description = skipWords.test(text) ? null : text.slice(0, 500);
      return askNextReport(party, category, {
        ...s,
        description,
        answers: { ...s.answers, description: description ?? '-' },
      });
    }
    if (s.asking === 'email') {
      if (skipWords.test(text))
        return askNextReport(party, category, { ...s, answers: { ...s.answers, email: '-' } });
      const email = emailSchema.safeParse(text.trim().toLowerCase());
      if (!email.success)
        return again('Enter an email address in the correct format, like name@example.com, or say “skip”.');
      return askNextReport(party, category, { ...s, email: email.data });
    }
    const q = category.questions.find((x) => x.id === s.asking);
    if (!q) return askNextReport(party, category, s);
    let value: string;
    if (!q.required && skipWords.test(text)) value = '';
    else if (q.type === 'yes_no') value = yesNo(text) ?? '';
    else if (q.options)
      value =
        pickChoice(
          text,
          q.options.map((o) => ({ label: o.text, value: o.value })),
        )?.value ?? '';
    else value = text;
    // The same check as the web form.
    const checked = checkAnswers(category, { ...s.answers, [q.id]: value });
    const problem = checked.errors.find((e) => e.field === q.id);
    if (problem) {
      const options = q.type === 'yes_no' ? ['Yes', 'No'] : q.options?.map((o) => o.text);
      return { state: s, replies: [{ text: `${problem.text}.`, ...(options ? { options } : {}) }] };
    }
    return askNextReport(party, category, {
      ...s,
      answers: { ...s.answers, [q.id]: checked.answers[q.id] ?? '-' },
    });
  }

  async function submitReport(
    party: Party,
    category: Category,
    s: Extract<DialogueState, { flow: 'report' }>,
  ): Promise<Outcome> {
    const answers = Object.fromEntries(
      Object.entries(s.answers).filter(([k, v]) => v !== '-' && category.questions.some((q) => q.id === k)),
    );
    const actor: Actor = { type: 'resident', id: party.residentId };
    const submitted = await deps.requests.submit({
      category: category.code,
      answers,
      description: s.description,
      location: s.location!,
      address: null,
      locationNote: null,
      photoFileIds: [],
      channel: caseChannel[party.channel],
      residentId: party.residentId,
      email: party.residentId ? null : s.email,
      idempotencyKey: `assistant:${s.key}`,
      actor,
    });
    await deps.recordRequest(party, submitted.reference);
    return {
      state: {},
      submitted: { reference: submitted.reference },
      replies: [
        {
          text: `Thank you, I have sent your report. Your reference is ${spell(submitted.reference, party.channel)}. ${submitted.notice}`,
          link: { href: `/reports/${submitted.reference}`, text: `See report ${submitted.reference}` },
        },
      ],
    };
  }

  // ---- Any catalogue service, by its form ----

  function askable(q: Question, party: Party): boolean {
    // Files cannot be sent by text or voice; a required one sends the resident to the web form.
    return q.type !== 'file' || party.channel === 'web';
  }

  async function startService(
    party: Party,
    slug: string,
    version: number,
    found: Entity[],
  ): Promise<Outcome> {
    const live = (await catalogue.liveService(slug))!;
    const def = live.definition;
    const ctx = { knownResident: Boolean(party.residentId) };
    const needsFile = questionsToAsk(def, {}, ctx).some((q) => q.type === 'file' && q.validation.required);
    if (needsFile || def.questions.some((q) => q.type === 'file' && q.validation.required))
      return {
        state: {},
        replies: [
          {
            text: `${def.title} needs you to upload a file, so please use the online form.`,
            link: { href: `/services/${slug}`, text: def.title },
          },
        ],
      };
    const answers: Answers = {};
    // Fill what the first message already said (a street, an address, a date), if it is valid.
    for (const q of questionsToAsk(def, answers, ctx)) {
      const e =
        q.type === 'location'
          ? found.find((x) => x.type === 'street')
          : q.type === 'address'
            ? found.find((x) => x.type === 'address')
            : undefined;
      if (!e) continue;
      const result = validateAnswer(
        q,
        q.type === 'location' ? { usrn: e.value } : { uprn: e.value },
        gazetteer,
      );
      if (result.ok) answers[q.id] = result.value;
    }
    const s: Extract<DialogueState, { flow: 'service' }> = {
      flow: 'service',
      slug,
      version,
      answers,
      asking: null,
      confirming: false,
      key: randomUUID(),
    };
    return askNextService(party, s, [{ text: `I can help you ${lowerFirst(def.title)}. ${def.summary}` }]);
  }

  function questionReply(q: Question, choices?: Choice[]): Reply {
    const hint = q.hint ? ` ${q.hint}.`.replace(/\.\.$/, '.') : '';
    const optional = q.validation.required ? '' : ' Say “skip” to leave it out.';
    let options: string[] | undefined;
    if (q.type === 'yes_no') options = ['Yes', 'No'];
    else if (q.options) options = q.options.map((o) => o.text);
    if (choices) options = choices.map((c) => c.label);
    const how =
      q.type === 'date'
        ? ' For example, 27 March 2026.'
        : q.type === 'address'
          ? ' Tell me the house number and street, or the postcode.'
          : q.type === 'location'
            ? ' Tell me the street name.'
            : q.type === 'multiple_choice'
              ? ' You can choose more than one.'
              : '';
    return { text: `${q.label}${hint}${how}${optional}`, ...(options ? { options } : {}) };
  }

  async function askNextService(
    party: Party,
    s: Extract<DialogueState, { flow: 'service' }>,
    lead: Reply[] = [],
  ): Promise<Outcome> {
    const live = await catalogue.liveService(s.slug);
    if (!live)
      return {
        state: {},
        replies: [{ text: 'Sorry, that service is not available any more. Nothing has been sent.' }],
      };
    const def = live.definition;
    const ctx = { knownResident: Boolean(party.residentId) };
    let next = firstUnanswered(def, s.answers, ctx);
    // Optional files cannot be sent here: leave them out.
    while (next && !askable(next, party)) {
      s = { ...s, answers: { ...s.answers, [next.id]: null } };
      next = firstUnanswered(def, s.answers, ctx);
    }
    if (next)
      return {
        state: { ...s, asking: next.id, choices: undefined },
        replies: [...lead, questionReply(next)],
      };
    const summary = questionsToAsk(def, s.answers, ctx)
      .filter((q) => s.answers[q.id] !== null && s.answers[q.id] !== undefined)
      .map((q) => `${q.label.replace(/[?:]\s*$/, '')}: ${formatAnswer(q, s.answers[q.id])}`)
      .join('. ');
    const fee = def.feePence
      ? ` There is a fee of £${(def.feePence / 100).toFixed(2)}, paid online after you send it.`
      : '';
    return {
      state: { ...s, asking: null, confirming: true, choices: undefined },
      replies: [
        ...lead,
        { text: `${def.title}. ${summary}.${fee} Shall I send this?`, options: ['Yes, send it', 'No'] },
      ],
    };
  }

  /** Turns what was said into what the form engine takes for this type of question. */
  function formInput(q: Question, text: string, s: Extract<DialogueState, { flow: 'service' }>): unknown {
    const t = text.trim();
    if (!q.validation.required && skipWords.test(t) && q.type !== 'yes_no') return '';
    switch (q.type) {
      case 'yes_no':
        return yesNo(t) ?? t;
      case 'single_choice': {
        const c = pickChoice(
          t,
          (q.options ?? []).map((o) => ({ label: o.text, value: o.value })),
        );
        return c ? c.value : `\u0000${t}`; // never a valid option
      }
      case 'multiple_choice': {
        const options = (q.options ?? []).map((o) => ({ label: o.text, value: o.value }));
        const parts = t.split(/\s*(?:,|\band\b|&|\+)\s*/i).filter(Boolean);
        const picked = parts.map((p) => pickChoice(p, options)?.value ?? `\u0000${p}`);
        return picked;
      }
      case 'date': {
        const found = entities.extract(t).find((e) => e.type === 'date');
        return found ? found.value : t;
      }
      case 'number':
        return t.replace(/[£,]/g, '');
      case 'address': {
        const chosen = s.choices ? pickChoice(t, s.choices) : undefined;
        if (chosen) return { uprn: chosen.value };
        return { uprn: '' };
      }
      case 'location': {
        const chosen = s.choices ? pickChoice(t, s.choices) : undefined;
        if (chosen) return { usrn: chosen.value };
        const named = entities.findStreet(t);
        return named ? { usrn: named.street.usrn } : { street: t };
      }
      default:
        return t;
    }
  }

  async function continueService(
    party: Party,
    s: Extract<DialogueState, { flow: 'service' }>,
    text: string,
  ): Promise<Outcome> {
    const live = await catalogue.liveService(s.slug);
    if (!live)
      return {
        state: {},
        replies: [{ text: 'Sorry, that service is not available any more. Nothing has been sent.' }],
      };
    const def = live.definition;
    if (s.confirming) {
      const said = confirmation(text);
      if (said === 'no')
        return { state: {}, replies: [{ text: 'OK, I have not sent it. You can start again at any time.' }] };
      if (said !== 'yes')
        return {
          state: s,
          replies: [{ text: 'Please say yes to send it, or no to stop.', options: ['Yes, send it', 'No'] }],
        };
      return submitService(party, s);
    }
    const q = def.questions.find((x) => x.id === s.asking);
    if (!q) return askNextService(party, s);
    if (q.type === 'address' && !s.choices?.length) {
      // Look the address up first: a postcode or "12 Saggar Street" gives the houses to choose from.
      const found = entities.extract(text);
      const exact = found.find((e) => e.type === 'address');
      const postcode = found.find((e) => e.type === 'postcode');
      const candidates = exact
        ? [gazetteer.address(exact.value)!]
        : gazetteer.findAddresses(postcode ? postcode.value : text).slice(0, 100);
      if (candidates.length === 1) {
        const result = validateAnswer(q, { uprn: candidates[0]!.uprn }, gazetteer);
        if (result.ok)
          return askNextService(party, { ...s, answers: { ...s.answers, [q.id]: result.value } });
      }
      if (candidates.length > 1 && candidates.length <= 8) {
        const choices = candidates.map((a) => ({ label: a.text, value: a.uprn }));
        return { state: { ...s, choices }, replies: [questionReply(q, choices)] };
      }
      if (candidates.length > 8)
        return {
          state: s,
          replies: [{ text: 'What is the house number and street? For example, 12 Saggar Street.' }],
        };
      if (!q.validation.required && skipWords.test(text))
        return askNextService(party, { ...s, answers: { ...s.answers, [q.id]: null } });
      return {
        state: s,
        replies: [
          {
            text: 'I cannot find that address in Kilnford. Tell me the house number and street, or the postcode.',
          },
        ],
      };
    }
    const result = validateAnswer(q, formInput(q, text, s), gazetteer);
    if (!result.ok) {
      const choices = result.streets
        ?.slice(0, 6)
        .map((x) => ({ label: `${x.name}, ${x.locality}`, value: x.usrn }));
      const reply = questionReply(q, choices);
      return { state: { ...s, choices }, replies: [{ ...reply, text: `${result.message}. ${reply.text}` }] };
    }
    return askNextService(party, {
      ...s,
      choices: undefined,
      answers: { ...s.answers, [q.id]: result.value as AnswerValue },
    });
  }

  async function submitService(
    party: Party,
    s: Extract<DialogueState, { flow: 'service' }>,
  ): Promise<Outcome> {
    const live = (await catalogue.liveService(s.slug))!;
    const def = live.definition;
    const ctx = { knownResident: Boolean(party.residentId) };
    // Every answer again, as the web form's last step does: nothing half-checked is sent.
    const answers: Answers = {};
    for (const q of questionsToAsk(def, s.answers, ctx)) {
      if (!(q.id in s.answers)) return askNextService(party, s);
      const value = s.answers[q.id];
      if (value === null && !q.validation.required) continue;
      const checked = validateAnswer(q, value, gazetteer);
      if (!checked.ok && !(q.type === 'location' || q.type === 'address'))
        return askNextService(party, { ...s, answers: { ...s.answers, [q.id]: undefined as never } });
      answers[q.id] = checked.ok ? checked.value : value!;
    }
    const contactQuestion = def.questions.find((q) => q.contactEmail);
    const contactEmail = contactQuestion ? (answers[contactQuestion.id] as string | undefined) : undefined;
    const created = await catalogue.submit({
      live,
      answers,
      residentId: party.residentId,
      channel: caseChannel[party.channel],
      actor: { type: 'resident', id: party.residentId },
      idempotencyKey: `assistant:${s.key}`,
      contactEmail: contactEmail ?? null,
    });
    await deps.recordRequest(party, created.reference);
    const pay = await catalogue.paymentStep(created.payment, `/services/${def.slug}`).catch(() => null);
    const next = def.nextSteps ? ` ${def.nextSteps}` : '';
    return {
      state: {},
      submitted: { reference: created.reference },
      replies: [
        {
          text: `Thank you, I have sent it. Your reference is ${spell(created.reference, party.channel)}.${next}${pay ? ' Pay the fee online to complete your request.' : ''}`,
          ...(pay ? { link: { href: pay, text: 'Pay the fee' } } : {}),
        },
      ],
    };
  }

  // ---- Status of a request ----

  async function continueStatus(
    party: Party,
    s: Extract<DialogueState, { flow: 'status' }>,
    text: string,
  ): Promise<Outcome> {
    if (s.asking === 'reference') {
      const ref = entities.extract(text).find((e) => e.type === 'reference');
      if (!ref)
        return {
          state: s,
          replies: [
            {
              text: 'That does not look like one of our references. They look like KLN-ABCD-23. Say “cancel” to stop.',
            },
          ],
        };
      return checkStatus(party, { flow: 'status', asking: 'identity', reference: ref.value });
    }
    // The identity check: the email address or the postcode given with the request.
    const reference = s.reference!;
    const row = await deps.cases.findByReference(deps.db, reference);
    const given = text.trim().toLowerCase();
    let ok = false;
    if (row) {
      const emails = new Set<string>();
      const contact = contactEmailOf(row);
      if (contact) emails.add(contact);
      if (row.resident_id) {
        const e = await deps.residentEmail(row.resident_id);
        if (e) emails.add(e.toLowerCase());
      }
      const postcodes = postcodesOf(row);
      const pc = entities.extract(text).find((e) => e.type === 'postcode');
      ok = emails.has(given) || Boolean(pc && postcodes.has(pc.value.replace(/\s/g, '')));
    }
    if (!ok)
      return {
        state: {},
        replies: [
          {
            text: 'Sorry, I cannot share the details of that request. Check the reference and the email address or postcode you gave us, sign in to your account, or say “talk to a person”.',
          },
        ],
      };
    return { state: {}, replies: [await statusReply(row!)] };
  }

  async function checkStatus(party: Party, s: Extract<DialogueState, { flow: 'status' }>): Promise<Outcome> {
    const row = await deps.cases.findByReference(deps.db, s.reference!);
    if (row && (await deps.mayDisclose(party, row.reference, row)))
      return { state: {}, replies: [await statusReply(row)] };
    // Whether or not it exists, ask the same question: a reference alone tells nobody anything.
    return {
      state: s,
      replies: [
        { text: `To check ${s.reference}, what is the email address or postcode you gave with the request?` },
      ],
    };
  }

  async function statusReply(
    row: Awaited<ReturnType<CasesService['findByReference']>> & object,
  ): Promise<Reply> {
    const history = await deps.cases.listPublicHistory(deps.db, row.id);
    const latest = history.at(-1);
    const update =
      latest && latest.kind !== 'received'
        ? ` Latest: ${latest.title}${latest.text ? `: ${latest.text}` : ''}.`
        : '';
    return {
      text: `${row.reference}, ${row.service_title}, received ${formatLondon(row.created_at, false)}. Status: ${statusLabels[row.status]}.${update}`,
      link: { href: `/account/requests/${row.reference}`, text: 'See it in your account' },
    };
  }

  // ---- Bin day ----

  async function continueBins(
    s: Extract<DialogueState, { flow: 'bins' }>,
    text: string,
    now: Date,
    first = false,
  ): Promise<Outcome> {
    const found = entities.extract(text, now);
    const bin = found.find((e) => e.type === 'bin_type')?.value ?? s.bin;
    let usrn: string | undefined;
    let where = '';
    const chosen = s.choices ? pickChoice(text, s.choices) : undefined;
    if (chosen) {
      const a = gazetteer.address(chosen.value);
      if (a) [usrn, where] = [a.usrn, a.text];
    }
    const address = found.find((e) => e.type === 'address');
    if (!usrn && address) {
      const a = gazetteer.address(address.value)!;
      [usrn, where] = [a.usrn, a.text];
    }
    if (!usrn && s.postcode) {
      // A house number at a postcode already given.
      const n = /^\s*(\d{1,4})\b/.exec(text);
      const a = n
        ? gazetteer.findAddresses(s.postcode).find((x) => x.text.startsWith(`${n[1]} `))
        : undefined;
      if (a) [usrn, where] = [a.usrn, a.text];
    }
    const postcode = found.find((e) => e.type === 'postcode');
    if (!usrn && postcode) {
      const at = gazetteer.findAddresses(postcode.value);
      if (at.length === 0)
        return {
          state: { flow: 'bins', bin },
          replies: [
            { text: `${postcode.value} is not a Kilnford postcode we collect from. What is your address?` },
          ],
        };
      // Every house at a postcode is on one street here, but ask the number to be sure of the address.
      return {
        state: { flow: 'bins', bin, postcode: postcode.value },
        replies: [{ text: `What is your house number at ${postcode.value}?` }],
      };
    }
    const street = found.find((e) => e.type === 'street');
    if (!usrn && street) {
      const st = gazetteer.street(street.value)!;
      [usrn, where] = [st.usrn, `${st.name}, ${st.locality}`];
    }
    if (!usrn)
      return {
        state: { flow: 'bins', bin },
        replies: [
          {
            text: first
              ? 'I can tell you your bin day. What is your postcode, or your house number and street?'
              : 'I cannot find that address in Kilnford. What is your postcode, or your house number and street?',
          },
        ],
      };
    const collections = nextCollections(usrn, now, 3);
    const day = (iso: string) => formatLondon(new Date(`${iso}T12:00:00Z`), false).replace(/^(\d)/, '$1');
    const weekday = (iso: string) =>
      new Date(`${iso}T12:00:00Z`).toLocaleDateString('en-GB', { weekday: 'long', timeZone: 'UTC' });
    let words: string;
    if (bin) {
      const next = collections.find((c) => c.bins.includes(bin));
      words = next
        ? `Your ${binName(bin)} is next collected on ${weekday(next.date)} ${day(next.date)}.`
        : `We do not collect ${binName(bin)} at ${where}.`;
    } else
      words = collections
        .slice(0, 2)
        .map((c) => `${weekday(c.date)} ${day(c.date)}: ${listWords(c.bins.map(binName))}`)
        .join('. ');
    return {
      state: {},
      replies: [
        {
          text: `Collections at ${where} are on ${weekday(collections[0]!.date)}s. ${words}. Put your bins out by 7am.`.replace(
            '..',
            '.',
          ),
          link: { href: '/services#bins-and-recycling', text: 'Bins and recycling' },
        },
      ],
    };
  }

  // ---- Bulky waste collection, booked through bookings ----

  const pounds = (pence: number) => `£${(pence / 100).toFixed(2)}`;
  const dayWords = (day: string) =>
    new Date(`${day}T12:00:00Z`).toLocaleDateString('en-GB', {
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      timeZone: 'UTC',
    });

  async function startBulky(party: Party, found: Entity[], text: string): Promise<Outcome> {
    const bookable = await deps.bookings!.getBookable(deps.db, BULKY);
    if (!bookable?.active)
      return {
        state: {},
        replies: [{ text: 'Sorry, bulky waste collections cannot be booked at the moment.' }],
      };
    const s: Extract<DialogueState, { flow: 'bulky' }> = {
      flow: 'bulky',
      step: 'address',
      items: parseItems(text, bookable.rules.items ?? []),
    };
    const intro = `I can book a bulky waste collection. We collect up to ${bookable.rules.maxItems ?? 6} items${bookable.rules.minimumPence ? `, with a minimum charge of ${pounds(bookable.rules.minimumPence)}` : ''}.`;
    const address = found.find((e) => e.type === 'address');
    if (address) return bulkyAddressChosen(party, s, address.value, [{ text: intro }]);
    return {
      state: s,
      replies: [{ text: intro }, { text: 'What is the postcode of the address we collect from?' }],
    };
  }

  function parseItems(text: string, list: Array<{ code: string; name: string }>): Record<string, number> {
    const out: Record<string, number> = {};
    const lower = text.toLowerCase();
    for (const item of list) {
      const words = [
        item.code.replace(/-/g, ' '),
        ...item.name
          .toLowerCase()
          .split(/[^a-z]+/)
          .filter((w) => w.length > 3),
      ];
      for (const w of words) {
        const m = new RegExp(
          `(?:\\b(\\d{1,2}|a|an|one|two|three|four|five|six)\\s+(?:\\w+\\s+)?)?\\b${w.replace(/s$/, '')}s?\\b`,
        ).exec(lower);
        if (!m) continue;
        const n = m[1]
          ? Number(m[1]) || ['a', 'an', 'one', 'two', 'three', 'four', 'five', 'six'].indexOf(m[1]) - 1 || 1
          : 1;
        out[item.code] = Math.max(1, n);
        break;
      }
    }
    return out;
  }

  async function bulkyAddressChosen(
    party: Party,
    s: Extract<DialogueState, { flow: 'bulky' }>,
    uprn: string,
    lead: Reply[] = [],
  ): Promise<Outcome> {
    const address = deps.bookings!.addressInArea(uprn);
    if (!address)
      return {
        state: s,
        replies: [...lead, { text: 'We can only collect from addresses in Kilnford. What is the postcode?' }],
      };
    const next = { ...s, uprn, address: address.text, choices: undefined };
    if (Object.keys(next.items).length) return bulkyQuote(party, next, lead);
    const bookable = await deps.bookings!.getBookable(deps.db, BULKY);
    const names = (bookable?.rules.items ?? []).map((i) => i.name.toLowerCase());
    return {
      state: { ...next, step: 'items' as const },
      replies: [
        ...lead,
        {
          text: `What do you want us to collect from ${address.text}? For example: a sofa and 2 chairs. We collect ${listWords(names)}.`,
        },
      ],
    };
  }

  async function bulkyQuote(
    party: Party,
    s: Extract<DialogueState, { flow: 'bulky' }>,
    lead: Reply[] = [],
  ): Promise<Outcome> {
    try {
      const q = await deps.bookings!.quote(BULKY, s.items);
      const dates = await deps.bookings!.nextAvailableDates(BULKY, { count: 3 });
      if (dates.length === 0)
        return {
          state: {},
          replies: [
            ...lead,
            { text: 'Sorry, there are no collection days free at the moment. Please try again later.' },
          ],
        };
      const choices = dates.map((d) => ({ label: dayWords(d), value: d }));
      const items = q.lines.map((l) => `${l.quantity} ${l.name.toLowerCase()}`);
      return {
        state: { ...s, step: 'day' as const, totalPence: q.totalPence, choices },
        replies: [
          ...lead,
          {
            text: `That is ${listWords(items)}: ${pounds(q.totalPence)}. Which day should we collect?`,
            options: choices.map((c) => c.label),
          },
        ],
      };
    } catch (e) {
      if (!(e instanceof BookingError)) throw e;
      return {
        state: { ...s, step: 'items' as const, items: {} },
        replies: [...lead, { text: `${e.message}. What do you want us to collect?` }],
      };
    }
  }

  async function continueBulky(
    party: Party,
    s: Extract<DialogueState, { flow: 'bulky' }>,
    text: string,
  ): Promise<Outcome> {
    const bookings = deps.bookings!;
    if (s.step === 'address') {
      const chosen = s.choices ? pickChoice(text, s.choices) : undefined;
      if (chosen) return bulkyAddressChosen(party, s, chosen.value);
      const found = entities.extract(text);
      const address = found.find((e) => e.type === 'address');
      if (address) return bulkyAddressChosen(party, s, address.value);
      const postcode = found.find((e) => e.type === 'postcode')?.value ?? s.postcode;
      const n = /^\s*(?:(?:house\s+)?(?:number|no\.?)\s*)?(\d{1,4})\b/i.exec(text);
      if (postcode && n) {
        const a = bookings.findAddresses(postcode).find((x) => x.text.startsWith(`${n[1]} `));
        if (a) return bulkyAddressChosen(party, s, a.uprn);
      }
      if (postcode) {
        const at = bookings.findAddresses(postcode);
        if (at.length === 0)
          return {
            state: s,
            replies: [
              { text: `${postcode} is not a Kilnford postcode we collect from. What is the postcode?` },
            ],
          };
        return { state: { ...s, postcode }, replies: [{ text: `What is the house number at ${postcode}?` }] };
      }
      return { state: s, replies: [{ text: 'What is the postcode of the address we collect from?' }] };
    }
    if (s.step === 'items') {
      const bookable = await bookings.getBookable(deps.db, BULKY);
      const items = parseItems(text, bookable?.rules.items ?? []);
      if (!Object.keys(items).length) {
        const names = (bookable?.rules.items ?? []).map((i) => i.name.toLowerCase());
        return {
          state: s,
          replies: [{ text: `Sorry, I did not recognise those items. We collect ${listWords(names)}.` }],
        };
      }
      return bulkyQuote(party, { ...s, items });
    }
    if (s.step === 'day') {
      const day = s.choices ? pickChoice(text, s.choices) : undefined;
      if (!day)
        return {
          state: s,
          replies: [{ text: 'Which day should we collect?', options: s.choices?.map((c) => c.label) }],
        };
      const slots = await bookings.availability(deps.db, BULKY, { from: day.value, to: day.value });
      const slot = slots.find((x) => x.remaining > 0);
      if (!slot) return bulkyQuote(party, s, [{ text: 'Sorry, that day has just been taken.' }]);
      const next = { ...s, day: day.value, startsAt: slot.startsAt.toISOString(), choices: undefined };
      if (!party.residentId)
        return { state: { ...next, step: 'name' as const }, replies: [{ text: 'What is your name?' }] };
      return bulkyConfirm({ ...next, step: 'confirm' });
    }
    if (s.step === 'name') {
      const name = text.trim().slice(0, 120);
      if (name.length < 2) return { state: s, replies: [{ text: 'Enter your name' }] };
      if (s.totalPence)
        return {
          state: { ...s, name, step: 'email' as const },
          replies: [
            {
              text:
                party.channel === 'voice' || party.channel === 'alexa'
                  ? 'What is your email address, for the receipt? Say it like: jo at example dot com.'
                  : 'What is your email address? We send the receipt and your booking there.',
            },
          ],
        };
      return bulkyConfirm({ ...s, name, step: 'confirm' });
    }
    if (s.step === 'email') {
      const email = emailSchema.safeParse(spokenEmail(text));
      if (!email.success)
        return {
          state: s,
          replies: [{ text: 'Enter an email address in the correct format, like name@example.com.' }],
        };
      return bulkyConfirm({ ...s, email: email.data, step: 'confirm' });
    }
    const said = confirmation(text);
    if (said === 'no')
      return { state: {}, replies: [{ text: 'OK, I have not booked it. You can start again at any time.' }] };
    if (said !== 'yes')
      return {
        state: s,
        replies: [{ text: 'Please say yes to book it, or no to stop.', options: ['Yes, book it', 'No'] }],
      };
    const actor: Actor = { type: 'resident', id: party.residentId };
    try {
      const held = await bookings.hold(
        {
          bookable: BULKY,
          startsAt: new Date(s.startsAt!),
          who: party.residentId
            ? { residentId: party.residentId }
            : {
                name: s.name!,
                email: s.email ?? null,
                phone: party.channel === 'sms' ? party.externalId : null,
              },
          items: s.items,
          uprn: s.uprn,
          channel: caseChannel[party.channel],
          actor,
        },
        { confirm: false },
      );
      await deps.recordRequest(party, held.reference);
      let link: string | null = null;
      if (held.payment)
        link = await bookings.paymentLink(
          held.reference,
          // Payments return the resident to a path in Kiln, never to a full address.
          `/bookings/${held.reference}`,
          actor,
        );
      else await bookings.confirm(held.reference, actor);
      return {
        state: {},
        submitted: { reference: held.reference },
        replies: [
          {
            text: link
              ? `I have held the collection on ${dayWords(s.day!)}. Your reference is ${spell(held.reference, party.channel)}. Pay ${pounds(s.totalPence ?? 0)} online to confirm it: we hold the day while you pay.`
              : `Your collection is booked for ${dayWords(s.day!)}. Your reference is ${spell(held.reference, party.channel)}. Put the items outside by 7am.`,
            link: {
              href: link ?? `/bookings/${held.reference}`,
              text: link ? 'Pay for the collection' : 'See your booking',
            },
          },
        ],
      };
    } catch (e) {
      if (!(e instanceof BookingError)) throw e;
      return bulkyQuote(party, { ...s, step: 'day' }, [{ text: e.message }]);
    }
  }

  function bulkyConfirm(s: Extract<DialogueState, { flow: 'bulky' }>): Outcome {
    return {
      state: s,
      replies: [
        {
          text: `Bulky waste collection on ${dayWords(s.day!)} from ${s.address}, ${pounds(s.totalPence ?? 0)}${s.email ? `, receipt to ${s.email}` : ''}. Shall I book it?`,
          options: ['Yes, book it', 'No'],
        },
      ],
    };
  }

  return { respond };
}

export type Engine = ReturnType<typeof createEngine>;

/** The intent after entities have had their say: a reference on its own is a question about that request. */
export function resolveIntent(intent: string, found: Entity[]): string {
  const reference = found.some((e) => e.type === 'reference');
  if (reference && (intent === 'none' || intent.startsWith('smalltalk.') || intent.startsWith('faq.')))
    return 'case.status';
  return intent;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** An email address as typed, or as speech-to-text writes one said aloud ("jo at example dot com"). */
export function spokenEmail(text: string): string {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/[.!?]+$/, '');
  if (t.includes('@')) return t.replace(/\s+/g, '');
  return t
    .replace(/\s+at\s+/g, '@')
    .replace(/\s+dot\s+/g, '.')
    .replace(/\s+(underscore)\s+/g, '_')
    .replace(/\s+(dash|hyphen)\s+/g, '-')
    .replace(/\s+/g, '');
}

/** References read aloud letter by letter on voice channels. */
function spell(reference: string, channel: AssistantChannel): string {
  if (channel !== 'voice' && channel !== 'alexa') return reference;
  return reference
    .split('')
    .map((c) => (c === '-' ? ',' : c))
    .join(' ')
    .replace(/ , /g, ', ');
}

function contactEmailOf(c: { contact_email: string | null; answers: unknown }): string | null {
  if (c.contact_email) return c.contact_email.toLowerCase();
  const answers = (c.answers ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(answers)) {
    const answer =
      value && typeof value === 'object' && 'answer' in value ? (value as { answer: unknown }).answer : value;
    if (/email/i.test(key) && typeof answer === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(answer.trim()))
      return answer.trim().toLowerCase();
  }
  return null;
}

/** Postcodes named in a request's answers (an address, or a street's postcode), without spaces. */
function postcodesOf(c: { answers: unknown; summary: string }): Set<string> {
  const text = `${JSON.stringify(c.answers ?? {})} ${c.summary}`;
  const out = new Set<string>();
  for (const m of text.matchAll(/\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b/gi))
    out.add(`${m[1]}${m[2]}`.toUpperCase());
  for (const s of requestStreets) if (text.includes(s.name)) out.add(s.postcode.replace(/\s/g, ''));
  return out;
}

const confirmChoices = [
  { label: 'Yes, send it', value: 'yes' },
  { label: 'Yes, book it', value: 'yes' },
  { label: 'No', value: 'no' },
];

/** Yes or no to "Shall I send this?", said in words or by the number of the choice. */
function confirmation(text: string): 'yes' | 'no' | undefined {
  return yesNo(text) ?? (pickChoice(text, confirmChoices)?.value as 'yes' | 'no' | undefined);
}
