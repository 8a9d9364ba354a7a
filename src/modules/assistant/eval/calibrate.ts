/**
 * npm run eval:assistant:calibrate — the score threshold chosen by cross-validation over the
 * training examples, not on the development set: each fold of the examples is understood by an
 * assistant trained on the other folds, at each candidate threshold, with all of Kiln's rules on.
 * The threshold kept is the one with the best accuracy whose out-of-scope recall is at least
 * CALIBRATE_MIN_OOS_RECALL (0.8 by default, the goal); if none reaches it, the one that comes nearest.
 * CALIBRATE_THRESHOLDS (comma-separated) and CALIBRATE_FOLDS change the candidates and the folds.
 */
import { serviceDefinitionSchema } from '../../catalogue/definition.ts';
import { demoServices } from '../../catalogue/seed.ts';
import { Nlu, trainingSet, type IntentExamples } from '../nlu.ts';

const folds = Number(process.env.CALIBRATE_FOLDS ?? 5);
const minOosRecall = Number(process.env.CALIBRATE_MIN_OOS_RECALL ?? 0.8);
const thresholds = (process.env.CALIBRATE_THRESHOLDS ?? '0.3,0.4,0.5,0.55,0.6,0.65,0.7,0.8')
  .split(',')
  .map(Number);
if (thresholds.some((t) => !(t >= 0 && t <= 1)))
  throw new Error('CALIBRATE_THRESHOLDS must be numbers from 0 to 1, separated by commas');
if (!Number.isInteger(folds) || folds < 2)
  throw new Error('CALIBRATE_FOLDS must be a whole number of 2 or more');

const services = demoServices.map((d) => ({ definition: serviceDefinitionSchema.parse(d), version: 1 }));
const training = trainingSet(services);

/** Every intent's examples dealt round the folds in turn, so each fold has its share of every intent. */
function split(fold: number): { train: IntentExamples[]; test: Array<[string, string]> } {
  const train: IntentExamples[] = [];
  const test: Array<[string, string]> = [];
  for (const { intent, examples } of training) {
    const expected = intent === 'None' ? 'none' : intent;
    train.push({ intent, examples: examples.filter((_, i) => i % folds !== fold) });
    for (const [i, text] of examples.entries()) if (i % folds === fold) test.push([expected, text]);
  }
  return { train, test };
}

const tally = new Map(thresholds.map((t) => [t, { right: 0, all: 0, oosRight: 0, oos: 0 }]));
for (let fold = 0; fold < folds; fold++) {
  const { train, test } = split(fold);
  for (const threshold of thresholds) {
    const nlu = new Nlu(threshold);
    await nlu.train(train);
    const t = tally.get(threshold)!;
    for (const [expected, text] of test) {
      const { intent } = await nlu.understand(text);
      t.all++;
      if (intent === expected) t.right++;
      if (expected === 'none') {
        t.oos++;
        if (intent === 'none') t.oosRight++;
      }
    }
  }
}

console.log(`Cross-validation over the training examples (${folds} folds):`);
const results = [...tally].map(([threshold, t]) => ({
  threshold,
  accuracy: t.right / t.all,
  oosRecall: t.oosRight / t.oos,
}));
for (const r of results)
  console.log(
    `  threshold ${r.threshold.toFixed(2)}: accuracy ${r.accuracy.toFixed(3)}, out-of-scope recall ${r.oosRecall.toFixed(3)}`,
  );
const enough = results.filter((r) => r.oosRecall >= minOosRecall);
const best = enough.length
  ? enough.reduce((a, b) => (b.accuracy > a.accuracy ? b : a))
  : results.reduce((a, b) => (b.oosRecall > a.oosRecall ? b : a));
console.log(
  enough.length
    ? `Chosen: ${best.threshold} (the best accuracy with out-of-scope recall >= ${minOosRecall})`
    : `Chosen: ${best.threshold} (no threshold reaches out-of-scope recall ${minOosRecall}; this one comes nearest)`,
);
