/**
 * npm run eval:assistant — how well the assistant understands residents.
 *
 * 1. Kiln's own set (eval/utterances.ts, never trained on): intent accuracy, macro F1,
 *    out-of-scope recall and slot-filling F1, with the NLU trained exactly as at start-up on the
 *    demo council's catalogue.
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
import { EVAL_TODAY, utterances } from './utterances.ts';

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

async function kilnSet() {
  const gazetteer = localGazetteer();
  const extractor = createEntityExtractor(streets, gazetteer);
  const services = demoServices.map((d) => ({ definition: serviceDefinitionSchema.parse(d), version: 1 }));
  const nlu = new Nlu(Number(process.env.ASSISTANT_NLU_THRESHOLD ?? DEFAULT_THRESHOLD));
  const training = trainingSet(services);
  await nlu.train(training);
  const trainingTexts = new Set(training.flatMap((t) => t.examples.map((e) => e.toLowerCase().trim())));
  const overlap = utterances.filter(([, text]) => trainingTexts.has(text.toLowerCase().trim()));
  if (overlap.length)
    throw new Error(`Evaluation utterances found in training: ${overlap.map((o) => o[1]).join('; ')}`);

  const pairs: Array<{ expected: string; predicted: string; text: string }> = [];
  let slotTp = 0;
  let slotFp = 0;
  let slotFn = 0;
  const slotMisses: string[] = [];
  const started = performance.now();
  for (const [expected, text, slots] of utterances) {
    const found = extractor.extract(text, EVAL_TODAY);
    const understood = await nlu.understand(maskEntities(text, found) || text);
    pairs.push({ expected, predicted: resolveIntent(understood.intent, found), text });
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
  const ms = (performance.now() - started) / utterances.length;
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
  const intents = new Set(utterances.map((u) => u[0]));

  console.log(
    `Kiln assistant evaluation set: ${utterances.length} utterances, ${intents.size} intents (out-of-scope included), none of them in training`,
  );
  console.log(
    `  NLU: NLP.js ${nlpVersion()} neural classifier, threshold ${nlu.threshold}, trained on ${training.reduce((n, t) => n + t.examples.length, 0)} examples of ${training.length} intents`,
  );
  console.log(`  intent accuracy        ${f(s.accuracy)}   (goal >= 0.92)`);
  console.log(`  macro F1               ${f(s.macroF1)}`);
  console.log(
    `  in-scope accuracy      ${f(inScope.filter((p) => p.expected === p.predicted).length / inScope.length)}`,
  );
  console.log(`  out-of-scope recall    ${f(oosRecall)}   (goal >= 0.8)`);
  console.log(`  out-of-scope precision ${f(oosPrecision)}`);
  console.log(
    `  slot-filling F1        ${f((2 * slotP * slotR) / (slotP + slotR || 1))}   (precision ${f(slotP)}, recall ${f(slotR)}, ${slotTp + slotFn} labelled slots)`,
  );
  console.log(`  mean time to understand one utterance: ${ms.toFixed(2)} ms`);
  if (process.env.VERBOSE) {
    console.log('Intent errors:');
    for (const p of pairs.filter((x) => x.expected !== x.predicted))
      console.log(`  ${p.expected} -> ${p.predicted}: “${p.text}”`);
    console.log('Slot errors:');
    console.log(slotMisses.join('\n'));
  }
  return { accuracy: s.accuracy, oosRecall };
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
  console.log('  corpus                 train  test  accuracy  macro F1');
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
      `  ${name.padEnd(22)} ${String(train.length).padStart(5)} ${String(test.length).padStart(5)}  ${f(sc.accuracy).padStart(8)}  ${f(sc.macroF1).padStart(8)}`,
    );
  }
  const overall = score(all);
  console.log(
    `  ${'all three'.padEnd(22)} ${''.padStart(5)} ${String(all.length).padStart(5)}  ${f(overall.accuracy).padStart(8)}  ${f(overall.macroF1).padStart(8)}`,
  );
  console.log(
    '  (Braun et al. report per-service F-scores over intents and entities together; only our intent figures are printed here.)',
  );
}

const result = await kilnSet();
await braunCorpora();
if (process.env.EVAL_STRICT && (result.accuracy < 0.92 || result.oosRecall < 0.8)) process.exitCode = 1;
