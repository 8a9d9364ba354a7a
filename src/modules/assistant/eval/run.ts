/**
 * npm run eval:assistant — how well the assistant understands residents.
 *
 * 1. Kiln's own sets, never trained on: intent accuracy, macro F1, out-of-scope recall and
 *    slot-filling F1, with the NLU trained exactly as at start-up on the demo council's catalogue.
 *    The development set (eval/dev.ts) may be tuned on, and VERBOSE=1 prints its errors; the
 *    held-out set (eval/held-out.ts) never is, and its figures are the ones quoted. The run fails
 *    if any evaluation utterance is (nearly) the same as a training example, or if the two sets
 *    share one. EVAL_SET=dev leaves the held-out set and the corpora out (for the runs made while
 *    tuning); TYPO_CHECK=1 adds the development set with one typing slip per utterance.
 * 2. NLP.js on the Braun et al. (2017) chatbot corpora: trained on each corpus's training split
 *    and tested on its test split.
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { serviceDefinitionSchema } from '../../catalogue/definition.ts';
import { localGazetteer } from '../../catalogue/gazetteer.ts';
import { demoServices } from '../../catalogue/seed.ts';
import { streets } from '../../requests/geography.ts';
import { resolveIntent } from '../engine.ts';
import { createEntityExtractor, maskEntities, type Entity } from '../entities.ts';
import { DEFAULT_THRESHOLD, Nlu, trainingSet } from '../nlu.ts';
import {
  checkUtterances,
  EVAL_TODAY,
  freshUtterances,
  utterances as tuned,
  varietyUtterances,
} from './dev.ts';
import { utterances as heldOut } from './held-out.ts';
import { nearDuplicates } from './leaks.ts';

interface Scores {
  accuracy: number;
  macroF1: number;
  perIntent: Map<string, { tp: number; fp: number; fn: number }>;
}

export function score(pairs: Array<{ expected: string; predicted: string }>): Scores {
  const perIntent = new Map<string, { tp: number; fp: number; fn: number }>();
  const cell = (k: string) =>
    perIntent.get(k) ?? (perIntent.set(k, { tp: 0, fp: 0, fn: 0 }), perIntent.get(k)!);
  let right = 0;
  for (const { expected, predicted } of pairs) {
    cell(expected);
    if (expected === predicted) {
      right++;
      cell(expected).tp++;
    } else {
      cell(expected).fn++;
      cell(predicted).fp++;
    }
  }
  const f1s = [...perIntent.entries()]
    .filter(([, c]) => c.tp + c.fn > 0) // intents present in the test set
    .map(([, c]) => {
      const p = c.tp + c.fp ? c.tp / (c.tp + c.fp) : 0;
      const r = c.tp + c.fn ? c.tp / (c.tp + c.fn) : 0;
      return p + r ? (2 * p * r) / (p + r) : 0;
    });
  return { accuracy: right / pairs.length, macroF1: f1s.reduce((a, b) => a + b, 0) / f1s.length, perIntent };
}

const f = (n: number) => n.toFixed(3);

type Labelled = Array<[string, string, string?]>;

/** The development set: the utterances tuned on, then those written later to check that tuning carries over, then the varied part and a check written last. */
const dev: Labelled = [...tuned, ...freshUtterances, ...varietyUtterances, ...checkUtterances];

async function evaluate(
  name: string,
  set: Labelled,
  nlu: Nlu,
  extractor: ReturnType<typeof createEntityExtractor>,
  gazetteer: ReturnType<typeof localGazetteer>,
  showErrors: boolean,
) {
  const pairs: Array<{ expected: string; predicted: string; text: string }> = [];
  let slotTp = 0;
  let slotFp = 0;
  let slotFn = 0;
  const slotMisses: string[] = [];
  const started = performance.now();
  for (const [expected, text, slots] of set) {
    const found = extractor.extract(text, EVAL_TODAY);
    const understood = await nlu.understand(maskEntities(text, found) || text);
    pairs.push({ expected, predicted: resolveIntent(understood.intent, found), text });
    if (slots === undefined) continue; // entities not labelled
    const predicted = new Set(found.map((e) => slotLabel(e, gazetteer)));
    const wanted = new Set((slots ?? '').split(';').filter(Boolean));
    for (const s of predicted)
      if (wanted.has(s)) slotTp++;
      else {
        slotFp++;
        slotMisses.push(`  + ${s} in “${text}”`);
      }
    for (const s of wanted)
      if (!predicted.has(s)) {
        slotFn++;
        slotMisses.push(`  - ${s} in “${text}”`);
      }
  }
  const ms = (performance.now() - started) / set.length;
  const s = score(pairs);
  const oos = pairs.filter((p) => p.expected === 'none');
  const oosRecall = oos.filter((p) => p.predicted === 'none').length / oos.length;
  const saidNone = pairs.filter((p) => p.predicted === 'none');
  const oosPrecision = saidNone.length
    ? saidNone.filter((p) => p.expected === 'none').length / saidNone.length
    : 0;
  const inScope = pairs.filter((p) => p.expected !== 'none');
  const slotP = slotTp / (slotTp + slotFp || 1);
  const slotR = slotTp / (slotTp + slotFn || 1);
  const intents = new Set(set.map((u) => u[0]));

  console.log(
    `\n${name}: ${set.length} utterances, ${intents.size} intents (out-of-scope included, ${oos.length} utterances)`,
  );
  console.log(`  intent accuracy        ${f(s.accuracy)}   (goal >= 0.92)`);
  console.log(`  macro F1               ${f(s.macroF1)}`);
  console.log(
    `  in-scope accuracy      ${f(inScope.filter((p) => p.expected === p.predicted).length / inScope.length)}`,
  );
  console.log(`  out-of-scope recall    ${f(oosRecall)}   (goal >= 0.8)`);
  console.log(`  out-of-scope precision ${f(oosPrecision)}`);
  if (slotTp + slotFn + slotFp === 0)
    console.log('  slot-filling F1        (entities not labelled in this set)');
  else
    console.log(
      `  slot-filling F1        ${f((2 * slotP * slotR) / (slotP + slotR || 1))}   (precision ${f(slotP)}, recall ${f(slotR)}, ${slotTp + slotFn} labelled slots)`,
    );
  console.log(`  mean time to understand one utterance: ${ms.toFixed(2)} ms`);
  if (showErrors) {
    console.log('  Intent errors:');
    for (const p of pairs.filter((x) => x.expected !== x.predicted))
      console.log(`    ${p.expected} -> ${p.predicted}: “${p.text}”`);
    console.log('  Slot errors:');
    console.log(slotMisses.map((m) => `  ${m}`).join('\n'));
  }
  return { accuracy: s.accuracy, oosRecall };
}

async function kilnSets() {
  const gazetteer = localGazetteer();
  const extractor = createEntityExtractor(streets, gazetteer);
  const services = demoServices.map((d) => ({ definition: serviceDefinitionSchema.parse(d), version: 1 }));
  const nlu = new Nlu(Number(process.env.ASSISTANT_NLU_THRESHOLD ?? DEFAULT_THRESHOLD));
  const training = trainingSet(services);
  const trainingTexts = training.flatMap((t) => t.examples);

  // The held-out set must share no utterance, exactly or within a typo, with what is trained on
  // or with the development set that tuning looks at.
  const leaks = [
    ...nearDuplicates(
      heldOut.map((u) => u[1]),
      trainingTexts,
    ).map(([t, o]) => `held-out utterance ${heldOutNumber(t)} ~ training “${o}”`),
    ...nearDuplicates(
      heldOut.map((u) => u[1]),
      dev.map((u) => u[1]),
    ).map(([t, o]) => `held-out utterance ${heldOutNumber(t)} ~ development “${o}”`),
    ...nearDuplicates(
      dev.map((u) => u[1]),
      trainingTexts,
    ).map(([t, o]) => `development “${t}” ~ training “${o}”`),
  ];
  if (leaks.length)
    throw new Error(`Evaluation utterances (nearly) in training or in both sets:\n  ${leaks.join('\n  ')}`);

  await nlu.train(training);
  console.log(
    `Kiln assistant: NLP.js ${nlpVersion()} neural classifier, threshold ${nlu.threshold}, trained on ${trainingTexts.length} examples of ${training.length} intents`,
  );
  if (nlu.letterGroups)
    console.log(
      `  with a letter-group model (2- to 5-letter TF-IDF, logistic regression) for what NLP.js puts out of scope, trained in ${nlu.letterGroupTrainingMs.toFixed(0)} ms`,
    );
  console.log('  no evaluation utterance is in training, exactly or within one edit in ten characters');
  const development = await evaluate(
    'Development set (tuned on: optimistic)',
    tuned,
    nlu,
    extractor,
    gazetteer,
    Boolean(process.env.VERBOSE),
  );
  await evaluate(
    'Development set, later part (written to check that tuning carries over)',
    freshUtterances,
    nlu,
    extractor,
    gazetteer,
    Boolean(process.env.VERBOSE),
  );
  await evaluate(
    'Development set, varied part (informal, typos, dialect, fragments, near-miss out-of-scope)',
    varietyUtterances,
    nlu,
    extractor,
    gazetteer,
    Boolean(process.env.VERBOSE),
  );
  await evaluate(
    'Development set, check part (written last, never tuned on)',
    checkUtterances,
    nlu,
    extractor,
    gazetteer,
    false,
  );
  if (process.env.TYPO_CHECK) await typoCheck(nlu, extractor);
  if (process.env.TUNE_THRESHOLD) {
    // Threshold sweep on the development set only.
    for (const t of [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]) {
      const probe = new Nlu(t);
      await probe.train(training);
      const pairs: Array<{ expected: string; predicted: string }> = [];
      for (const [expected, text] of dev) {
        const found = extractor.extract(text, EVAL_TODAY);
        const u = await probe.understand(maskEntities(text, found) || text);
        pairs.push({ expected, predicted: resolveIntent(u.intent, found) });
      }
      const oos = pairs.filter((p) => p.expected === 'none');
      console.log(
        `  development set at threshold ${t}: accuracy ${f(score(pairs).accuracy)}, out-of-scope recall ${f(oos.filter((p) => p.predicted === 'none').length / oos.length)}`,
      );
    }
  }
  // The held-out set's errors are never printed: reading them would make it a second development set.
  // EVAL_SET=dev leaves it out altogether, for the many runs made while tuning.
  if (process.env.EVAL_SET === 'dev') return { development, held: null };
  const held = await evaluate(
    'Held-out test set (never tuned on: the figures to quote)',
    heldOut,
    nlu,
    extractor,
    gazetteer,
    false,
  );
  return { development, held };
}

/**
 * Robustness to typing errors, on the development set only: each utterance three times with one
 * random slip (two letters swapped, one left out, one added or one replaced) in one word of three
 * letters or more, from a fixed seed, against the same utterances typed cleanly.
 */
async function typoCheck(nlu: Nlu, extractor: ReturnType<typeof createEntityExtractor>) {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const letter = () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 26)]!;
  const slip = (w: string): string => {
    const i = Math.floor(random() * w.length);
    const kind = Math.floor(random() * 4);
    if (kind === 0 && i < w.length - 1) return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
    if (kind === 1) return w.slice(0, i) + w.slice(i + 1);
    if (kind === 2) return w.slice(0, i) + letter() + w.slice(i);
    return w.slice(0, i) + letter() + w.slice(i + 1);
  };
  const right = async (expected: string, text: string) => {
    const found = extractor.extract(text, EVAL_TODAY);
    const u = await nlu.understand(maskEntities(text, found) || text);
    return resolveIntent(u.intent, found) === expected ? 1 : 0;
  };
  let clean = 0;
  let slipped = 0;
  let n = 0;
  for (let round = 0; round < 3; round++)
    for (const [expected, text] of dev) {
      const words = text.split(' ');
      const places = words.flatMap((w, i) => (/^[a-z]{3,}$/i.test(w) ? [i] : []));
      if (!places.length) continue;
      const at = places[Math.floor(random() * places.length)]!;
      words[at] = slip(words[at]!);
      clean += await right(expected, text);
      slipped += await right(expected, words.join(' '));
      n++;
    }
  console.log(
    `\nDevelopment set with one typing slip per utterance (${n} utterances): accuracy ${f(slipped / n)}, against ${f(clean / n)} typed cleanly`,
  );
}

/** A held-out utterance named by its place in the set, so that a leak report does not show its words. */
function heldOutNumber(text: string): string {
  return `#${heldOut.findIndex((u) => u[1] === text) + 1}`;
}

function slotLabel(e: Entity, gazetteer: ReturnType<typeof localGazetteer>): string {
  if (e.type === 'street') return `street=${gazetteer.street(e.value)?.name ?? e.value}`;
  if (e.type === 'address') return `address=${gazetteer.address(e.value)?.text.split(',')[0] ?? e.value}`;
  return `${e.type}=${e.value}`;
}

function nlpVersion(): string {
  try {
    const pkg = resolve(import.meta.dirname, '../../../../node_modules/@nlpjs/basic/package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return '4';
  }
}

async function braunCorpora() {
  const dir =
    process.env.BRAUN_CORPORA_DIR ??
    resolve(import.meta.dirname, '../../../../../shared/specs/nlu-braun-corpora');
  if (!existsSync(dir)) {
    console.log(`\nBraun et al. corpora not found at ${dir} (set BRAUN_CORPORA_DIR): skipped`);
    return;
  }
  console.log(
    '\nNLP.js on the Braun et al. (2017) chatbot corpora: trained on each training split, tested on its test split',
  );
  // NLP.js's own published intent figures on these corpora (docs/v3/benchmarking.md in the
  // nlp.js repository): one label per sentence, so their F1 over all sentences is accuracy.
  const published: Record<string, string> = {
    ChatbotCorpus: '0.99',
    AskUbuntuCorpus: '0.94',
    WebApplicationsCorpus: '0.80',
    all: '0.93',
  };
  console.log('  corpus                 train  test  accuracy  macro F1  published (NLP.js)');
  const all: Array<{ expected: string; predicted: string }> = [];
  for (const name of ['ChatbotCorpus', 'AskUbuntuCorpus', 'WebApplicationsCorpus']) {
    const corpus = JSON.parse(readFileSync(resolve(dir, `${name}.json`), 'utf8')) as {
      sentences: Array<{ text: string; intent: string; training: boolean }>;
    };
    const train = corpus.sentences.filter((s) => s.training);
    const test = corpus.sentences.filter((s) => !s.training);
    const byIntent = new Map<string, string[]>();
    for (const s of train) byIntent.set(s.intent, [...(byIntent.get(s.intent) ?? []), s.text]);
    // The corpora's own "None" intent is a class like any other here, as in the paper.
    const nlu = new Nlu(0, false);
    await nlu.train(
      [...byIntent].map(([intent, examples]) => ({ intent: intent === 'None' ? 'None' : intent, examples })),
    );
    const pairs: Array<{ expected: string; predicted: string }> = [];
    for (const s of test) {
      const r = await nlu.understand(s.text);
      pairs.push({ expected: s.intent, predicted: r.guess === 'none' ? 'None' : r.guess });
    }
    all.push(...pairs);
    const sc = score(pairs);
    console.log(
      `  ${name.padEnd(22)} ${String(train.length).padStart(5)} ${String(test.length).padStart(5)}  ${f(sc.accuracy).padStart(8)}  ${f(sc.macroF1).padStart(8)}  ${published[name]!.padStart(9)}`,
    );
  }
  const overall = score(all);
  console.log(
    `  ${'all three'.padEnd(22)} ${''.padStart(5)} ${String(all.length).padStart(5)}  ${f(overall.accuracy).padStart(8)}  ${f(overall.macroF1).padStart(8)}  ${published.all!.padStart(9)}`,
  );
  console.log(
    '  (Braun et al. report F-scores over intents and entities together for hosted services; these are intent figures only.)',
  );
}

const { held } = await kilnSets();
if (process.env.EVAL_SET !== 'dev') await braunCorpora();
if (process.env.EVAL_STRICT && (!held || held.accuracy < 0.92 || held.oosRecall < 0.8)) process.exitCode = 1;
