import basic, { type NlpInstance } from '@nlpjs/basic';
import { CharModel } from './char-model.ts';
import { commonWords } from './common-words.ts';
import type { LiveService } from '../catalogue/index.ts';
import { categories } from '../requests/index.ts';
import {
  contentAnswers,
  everydayExamples,
  keywordIntents,
  moreExamples,
  outOfScopeExamples,
  reportExamples,
  serviceExamples,
  smallTalk,
  taskIntents,
  widerExamples,
} from './content.ts';
import { residentPhrasings } from './resident-phrasings.ts';

/** One thing residents ask for, with the ways they ask. */
export interface IntentExamples {
  intent: string;
  examples: string[];
}

export interface Understanding {
  /** The intent, or 'none' when the assistant does not know. */
  intent: string;
  score: number;
  /** The best guess even when it fell under the threshold (for review and evaluation). */
  guess: string;
}

/** The share of a message's words of substance that must be words of the assistant's own intents alone for it to be on topic. */
const onTopicShare = 0.4;

/** The least score an intent needs to stand in for the out-of-scope class on a message made only of its words. */
const onTopicFloor = 0.2;

/**
 * The least probability the letter-group model needs for an in-scope intent to answer a message
 * NLP.js put out of scope (chosen on the development set: lower floors also took "my dog is
 * poorly" for dog fouling).
 */
export const LETTER_GROUP_FLOOR = 0.7;

/** Under this score the assistant says it does not know rather than guess. */
export const DEFAULT_THRESHOLD = 0.5;

// Street problems go through Report it, so the catalogue's general street problem form is not an intent of its own.
const handledElsewhere = new Set(['report-a-street-problem']);

/** The intents the assistant is trained on: its own tasks, content, small talk, Report it and every live service. */
export function trainingSet(services: LiveService[]): IntentExamples[] {
  const out: IntentExamples[] = [];
  for (const a of [...contentAnswers, ...smallTalk]) out.push({ intent: a.intent, examples: a.examples });
  out.push(...taskIntents);
  for (const c of categories) {
    if (c.addressBased) continue;
    const keywords = c.keywords.split(',').map((k) => k.trim());
    out.push({
      intent: `report.${c.code}`,
      examples: [
        `report ${c.noun}`,
        c.name.toLowerCase(),
        ...keywords.map((k) => `report a ${k}`),
        ...(reportExamples[c.code] ?? []),
      ],
    });
  }
  for (const { definition: d } of services) {
    if (handledElsewhere.has(d.slug)) continue;
    const title = d.title.toLowerCase();
    const verbPhrase = title.charAt(0).toLowerCase() + title.slice(1);
    out.push({
      intent: `service.${d.slug}`,
      examples: [
        title,
        `I want to ${verbPhrase}`,
        `how do I ${verbPhrase}`,
        `can I ${verbPhrase}`,
        d.summary.toLowerCase(),
        ...(serviceExamples[d.slug] ?? []),
      ],
    });
  }
  out.push({ intent: 'None', examples: outOfScopeExamples });
  for (const entry of out)
    entry.examples = [
      ...new Set([
        ...entry.examples,
        ...(moreExamples[entry.intent] ?? []),
        ...(widerExamples[entry.intent] ?? []),
        ...(everydayExamples[entry.intent] ?? []),
        ...(residentPhrasings[entry.intent] ?? []),
      ]),
    ];
  return out;
}

const tokenPattern = /[a-z0-9£']+/g;

/** Edit distance (a swap of neighbouring letters is one edit), or `max + 1` once it must exceed `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  let prevMin = 0;
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      // A swap ("teh", "pothoel") reaches back two rows.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        cur[j] = Math.min(cur[j]!, before[j - 2]! + 1);
      rowMin = Math.min(rowMin, cur[j]!);
    }
    if (rowMin > max && prevMin > max) return max + 1;
    prevMin = rowMin;
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

// Informal spellings residents use, to the words the training examples use.
const informal: Record<string, string> = {
  wot: 'what',
  wat: 'what',
  wen: 'when',
  u: 'you',
  ur: 'your',
  pls: 'please',
  plz: 'please',
  thx: 'thanks',
  ty: 'thank you',
  tmrw: 'tomorrow',
  bins: 'bin',
  dustbin: 'bin',
  wheelie: 'bin',
  innit: '',
  gonna: 'going to',
  wanna: 'want to',
  cant: 'cannot',
  dont: 'do not',
  im: 'I am',
  ive: 'I have',
  nowt: 'nothing',
  owt: 'anything',
  cos: 'because',
  hol: 'hole',
  fone: 'phone',
  helo: 'hello',
  hallo: 'hello',
  tara: 'goodbye',
  laters: 'bye',
  ta: 'thanks',
  wasnt: 'was not',
  didnt: 'did not',
  isnt: 'is not',
  doesnt: 'does not',
  whats: 'what is',
  theres: 'there is',
  its: 'it is',
  r: 'are',
  sum1: 'someone',
  summat: 'something',
  reet: 'really',
  dustmen: 'bin men',
  binmen: 'bin men',
  // Text-speak.
  thanx: 'thanks',
  thnx: 'thanks',
  thnks: 'thanks',
  cud: 'could',
  cld: 'could',
  wud: 'would',
  shud: 'should',
  b4: 'before',
  '2day': 'today',
  '2moro': 'tomorrow',
  '2morrow': 'tomorrow',
  tomoz: 'tomorrow',
  gr8: 'great',
  ppl: 'people',
  msg: 'message',
  nxt: 'next',
  wk: 'week',
  hv: 'have',
  hav: 'have',
  dnt: 'do not',
  cnt: 'cannot',
  wont: 'will not',
  aint: 'is not',
  havent: 'have not',
  hasnt: 'has not',
  werent: 'were not',
  arent: 'are not',
  couldnt: 'could not',
  wouldnt: 'would not',
  dunno: 'do not know',
  gimme: 'give me',
  lemme: 'let me',
  ya: 'you',
  yer: 'your',
  yous: 'you',
  youse: 'you',
  yr: 'your',
  n: 'and',
  rd: 'road',
  hse: 'house',
  tel: 'telephone',
  cn: 'can',
  any1: 'anyone',
  ne1: 'anyone',
  some1: 'someone',
  every1: 'everyone',
  sumthin: 'something',
  summink: 'something',
  wiv: 'with',
  nuffin: 'nothing',
  gotta: 'got to',
  gunna: 'going to',
  reyt: 'really',
  ow: 'how',
  wht: 'what',
  hw: 'how',
  whr: 'where',
  wer: 'where',
  abt: 'about',
  rly: 'really',
  coz: 'because',
  txt: 'text',
  plse: 'please',
  tarra: 'goodbye',
  tata: 'goodbye',
  // Dialect: the alley behind a terrace has many names.
  ginnel: 'alley',
  gennel: 'alley',
  jitty: 'alley',
  snicket: 'alley',
  twitten: 'alley',
  aye: 'yes',
  // Words of address that say nothing about what is wanted.
  duck: '',
  mate: '',
  luv: '',
  hun: '',
  bab: '',
};

// Words that say nothing about what a message is about.
const stopWords = new Set(
  (
    'the and you your are for not but all any can how what when where who why which will with this that there ' +
    'them they their have has had was were been being its his her our out get got one about from into over ' +
    'please just some than then too very also would could should does did may might must shall yes yeah okay'
  ).split(' '),
);

/** Words that ask after something already reported ("I reported a pothole weeks ago, any news?"). Read after spelling repair. */
const followUp = new RegExp(
  [
    '\\b(any|an) (news|update|progress)\\b',
    '\\b(update|progress|news) (on|of|with|about) (my|the|our)\\b',
    '\\bstatus of\\b',
    '\\b(i|we) (have )?(already )?(reported|logged|raised|opened)\\b',
    '\\b(made|opened|raised|logged) a (report|complaint|request|case)\\b',
    '\\bheard nothing\\b|\\bnot heard (anything|back)\\b|\\bnothing (has )?(happened|been done)\\b',
    '\\bchas(e|ing) (up )?(my|the|this|a)\\b',
    '\\b(my|our) (\\w+ ){0,3}(report|request|complaint|case)\\b.*\\b(been|got) (sorted|fixed|done|dealt|looked|repaired)\\b',
    '\\bhow is my (report|request|complaint|case)\\b',
  ].join('|'),
);

/**
 * The assistant's understanding: an NLP.js neural classifier trained from the catalogue and
 * content, after a spelling repair against the training vocabulary, with a score threshold and
 * an out-of-scope class so that it knows when it does not know.
 */
export class Nlu {
  private nlp: NlpInstance | null = null;
  /** The second opinion on letter groups, for messages whose words NLP.js does not know. */
  private letters: CharModel | null = null;
  private vocabulary = new Set<string>();
  /** The stems NLP.js reads the vocabulary as, so that "repairs" and "repair" are one word. */
  private knownStems = new Set<string>();
  /** Stems of the words of the things the assistant does (not of the out-of-scope examples). */
  private inScopeStems = new Set<string>();
  /** Stems of the words of the out-of-scope examples. */
  private noneStems = new Set<string>();
  private stem: (word: string) => string = (word) => word;
  private byLength = new Map<number, string[]>();
  private cache = new Map<string, Understanding>();
  trainedOn = '';

  private intents = new Set<string>();

  /** `keywords` off gives NLP.js alone (the benchmark corpora); `letterGroups` off leaves out the letter-group model. */
  constructor(
    readonly threshold = DEFAULT_THRESHOLD,
    readonly keywords = true,
    readonly letterGroups = keywords,
  ) {}

  /** How long the letter-group model took to train, in milliseconds (0 when it is off). */
  get letterGroupTrainingMs(): number {
    return this.letters?.trainingMs ?? 0;
  }

  async train(intents: IntentExamples[]): Promise<void> {
    const container = await basic.containerBootstrap();
    container.use(basic.LangEn);
    const nlp = new basic.Nlp(
      { languages: ['en'], autoSave: false, nlu: { log: false }, threshold: 0 },
      container,
    );
    const stemmer = container.get('stemmer-en') as { stemWord(word: string): string };
    const stem = (word: string) => stemmer.stemWord(word);
    const vocabulary = new Set<string>();
    const inScopeStems = new Set<string>();
    const noneStems = new Set<string>();
    for (const { intent, examples } of intents)
      for (const example of examples) {
        nlp.addDocument('en', example, intent);
        for (const token of example.toLowerCase().match(tokenPattern) ?? []) {
          vocabulary.add(token);
          (intent === 'None' ? noneStems : inScopeStems).add(stem(token));
        }
      }
    await nlp.train();
    let letters: CharModel | null = null;
    if (this.letterGroups) {
      letters = new CharModel({ epochs: 4, learningRate: 2 });
      letters.train(intents);
    }
    const byLength = new Map<number, string[]>();
    for (const word of vocabulary) byLength.set(word.length, [...(byLength.get(word.length) ?? []), word]);
    this.nlp = nlp;
    this.letters = letters;
    this.intents = new Set(intents.map((i) => i.intent));
    this.vocabulary = vocabulary;
    this.knownStems = new Set([...inScopeStems, ...noneStems]);
    this.inScopeStems = inScopeStems;
    this.noneStems = noneStems;
    this.stem = stem;
    this.byLength = byLength;
    this.cache.clear();
  }

  get trained(): boolean {
    return this.nlp !== null;
  }

  /** The text with informal words expanded and misspelt words repaired against the vocabulary. */
  normalise(text: string): string {
    const joined = text
      .toLowerCase()
      .replace(/’/g, "'")
      // "pleeease", "hiiii": a letter held down is one letter (spelling repair puts back a double).
      .replace(/([a-z])\1{2,}/g, '$1')
      .replace(/\bpot\s+holes?\b/g, 'pothole')
      .replace(/\bstreet\s*(lite|lamp|lites)\b/g, 'street light')
      .replace(/\blamp\s*posts?\b/g, 'lamp post')
      .replace(/\bfly\s*-?\s*tip\w*/g, 'fly tipping')
      .replace(/\bc\s?tax\b/g, 'council tax')
      .replace(/\bta\s*-?\s*ra+\b/g, 'goodbye');
    const tokens = joined.match(tokenPattern) ?? [];
    return tokens
      .map((raw) => {
        const token = raw.replace(/'/g, '');
        if (token in informal) return informal[token]!;
        if (this.vocabulary.has(raw) || this.vocabulary.has(token) || token.length < 3 || /\d/.test(token))
          return raw;
        // A word in its own right, or a form of one the assistant knows, is no slip of the keyboard.
        if (commonWords.has(token) || this.knownStems.has(this.stem(token))) return raw;
        const max = token.length >= 8 ? 2 : 1;
        let best: string | null = null;
        let bestDistance = max + 1;
        // Longest first: on a tie, a letter left out is likelier than one typed too many.
        for (let len = token.length + max; len >= token.length - max; len--)
          for (const word of this.byLength.get(len) ?? []) {
            // A misspelling seldom gets the first letter wrong, and in a short word a different
            // first letter is usually a different word ("late" is not "date").
            if (token.length < 6 && word[0] !== token[0]) continue;
            // Three letters are too few to tell a slip from another word, unless the repair is a
            // word of the assistant's own intents alone ("bni" for "bin").
            if (token.length === 3 && (word.length < 3 || stopWords.has(word) || !this.ownWord(word)))
              continue;
            const d = distance(token, word, max);
            if (d < bestDistance) [best, bestDistance] = [word, d];
          }
        return best ?? raw;
      })
      .filter(Boolean)
      .join(' ');
  }

  /** The letter-group model's answer when it is confident of an in-scope intent, else out of scope. */
  private byLetterGroups(clean: string): Understanding {
    const [top] = this.letters?.classify(clean) ?? [];
    if (top && top.intent !== 'None' && top.probability >= LETTER_GROUP_FLOOR)
      return { intent: top.intent, score: top.probability, guess: top.intent };
    return { intent: 'none', score: 0, guess: 'none' };
  }

  /** A word of the assistant's own intents, and of no out-of-scope example. */
  private ownWord(word: string): boolean {
    const stem = this.stem(word);
    return this.inScopeStems.has(stem) && !this.noneStems.has(stem);
  }

  /** Enough of the words of substance in the message are words of things the assistant does, and of nothing it does not. */
  private onTopic(clean: string): boolean {
    const content = clean.split(' ').filter((w) => w.length > 2 && !stopWords.has(w) && !/\d/.test(w));
    const own = content.filter((w) => this.ownWord(w)).length;
    return content.length > 0 && own / content.length >= onTopicShare;
  }

  /**
   * Not one word of substance in the message is a word of anything the assistant does, though some
   * are words it knows from what it does not do. Words it has never seen (a slip of the keyboard
   * past repair) are no evidence either way, and are left to the classifier.
   */
  private offTopic(clean: string): boolean {
    const content = clean
      .split(' ')
      .filter((w) => w.length > 2 && !stopWords.has(w) && !/\d/.test(w) && this.knownStems.has(this.stem(w)));
    return content.length > 0 && !content.some((w) => this.inScopeStems.has(this.stem(w)));
  }

  /**
   * The message has words of substance, and the assistant has met none of them: NLP.js would
   * answer from its little words alone ("where can I ...", "do you ..."), which say what kind of
   * question it is but not what it is about.
   */
  private unfamiliar(clean: string): boolean {
    const content = clean.split(' ').filter((w) => w.length > 2 && !stopWords.has(w) && !/\d/.test(w));
    return content.length > 0 && !content.some((w) => this.knownStems.has(this.stem(w)));
  }

  async understand(text: string): Promise<Understanding> {
    if (!this.nlp) throw new Error('The assistant has not been trained');
    const clean = this.normalise(text.slice(0, 500));
    const cached = this.cache.get(clean);
    if (cached) return cached;
    let result: Understanding;
    if (!clean.trim()) result = { intent: 'none', score: 0, guess: 'none' };
    else if (this.keywords && this.offTopic(clean)) result = { intent: 'none', score: 0, guess: 'none' };
    else if (this.keywords && this.unfamiliar(clean)) result = this.byLetterGroups(clean);
    else {
      const r = await this.nlp.process('en', clean);
      const guess = r.intent === 'None' ? 'none' : r.intent;
      result = {
        intent: guess !== 'none' && r.score >= this.threshold ? guess : 'none',
        score: r.score,
        guess,
      };
      // Out of scope by the classifier (or, for a word or two, unsure), but made largely of the
      // words of things the assistant does ("bins", "graffitti"): the likeliest of those things.
      const short = clean.split(' ').length <= 2;
      if (
        this.keywords &&
        (r.intent === 'None' || (short && result.intent === 'none')) &&
        this.onTopic(clean)
      ) {
        const next = r.classifications.find((c) => c.intent !== 'None');
        if (next && next.score >= onTopicFloor)
          result = { intent: next.intent, score: next.score, guess: next.intent };
      }
      // Unsure, but the message names exactly one thing the council does: that is what it is about.
      if (this.keywords && (result.intent === 'none' || r.score < 0.85)) {
        const named = new Set(
          keywordIntents.filter(([pattern]) => pattern.test(clean)).map(([, intent]) => intent),
        );
        const [only] = [...named];
        if (named.size === 1 && only && only !== result.intent && this.intents.has(only))
          result = { intent: only, score: r.score, guess };
      }
      // Still out of scope, but the letter groups of the message are, with confidence, those of
      // one thing the assistant does: a misspelling or a form of a word NLP.js never saw.
      if (result.intent === 'none') {
        const byLetters = this.byLetterGroups(clean);
        if (byLetters.intent !== 'none') result = byLetters;
      }
    }
    // Asking after something already reported is about its progress, whatever the report was about.
    if (this.keywords && result.intent !== 'agent.handover' && followUp.test(clean))
      result = { ...result, intent: 'case.status' };
    if (this.cache.size > 5000) this.cache.clear();
    this.cache.set(clean, result);
    return result;
  }
}
