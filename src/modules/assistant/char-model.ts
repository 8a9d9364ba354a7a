/**
 * A small intent classifier on letter groups: TF-IDF over the 2- to 5-letter groups of each word
 * (the word padded with a space either side, so that a group can mark where a word starts or
 * ends), and a multinomial logistic regression trained by a few passes of stochastic gradient
 * descent. A misspelt or unfamiliar word still shares most of its letter groups with the word it
 * stands for ("potholw" keeps " po", "poth", "thol", ...), where a word-level model sees a word it
 * has never met.
 */

export interface CharModelOptions {
  /** Shortest and longest letter group. */
  minN: number;
  maxN: number;
  /** Passes over the training examples. */
  epochs: number;
  /** Step size at the first pass; it falls as 1 / (1 + pass). */
  learningRate: number;
  /** Weight decay (L2), per step. */
  l2: number;
  /** Seed of the order the examples are visited in, so that training is repeatable. */
  seed: number;
}

export const defaultCharModelOptions: CharModelOptions = {
  minN: 2,
  maxN: 5,
  epochs: 8,
  learningRate: 1,
  l2: 1e-5,
  seed: 1,
};

export interface CharPrediction {
  intent: string;
  /** The model's probability for that intent, from a softmax over all intents. */
  probability: number;
}

/** A message as sparse features: indices into the vocabulary and their weights (L2 norm 1). */
interface Sparse {
  index: Int32Array;
  value: Float32Array;
}

/** The letter groups of a text, with counts. */
export function letterGroups(text: string, minN: number, maxN: number): Map<string, number> {
  const counts = new Map<string, number>();
  const words = text.toLowerCase().match(/[a-z0-9£]+/g) ?? [];
  for (const word of words) {
    const padded = ` ${word} `;
    for (let n = minN; n <= maxN; n++)
      for (let i = 0; i + n <= padded.length; i++) {
        const group = padded.slice(i, i + n);
        counts.set(group, (counts.get(group) ?? 0) + 1);
      }
  }
  return counts;
}

export class CharModel {
  readonly options: CharModelOptions;
  private vocabulary = new Map<string, number>();
  private idf = new Float32Array(0);
  private labels: string[] = [];
  /** Weights, feature-major: weights[feature * classes + class]. */
  private weights = new Float32Array(0);
  private bias = new Float32Array(0);
  /** How long training took, in milliseconds. */
  trainingMs = 0;

  constructor(options: Partial<CharModelOptions> = {}) {
    this.options = { ...defaultCharModelOptions, ...options };
  }

  get trained(): boolean {
    return this.labels.length > 0;
  }

  train(intents: Array<{ intent: string; examples: string[] }>): void {
    const started = performance.now();
    const { minN, maxN } = this.options;
    const labels = intents.map((i) => i.intent);
    const raw: Array<{ groups: Map<string, number>; label: number }> = [];
    intents.forEach(({ examples }, label) => {
      for (const example of examples) raw.push({ groups: letterGroups(example, minN, maxN), label });
    });
    // Vocabulary and document frequencies from the training examples alone.
    const vocabulary = new Map<string, number>();
    const df: number[] = [];
    for (const { groups } of raw)
      for (const group of groups.keys()) {
        let i = vocabulary.get(group);
        if (i === undefined) vocabulary.set(group, (i = df.push(0) - 1));
        df[i]!++;
      }
    const idf = Float32Array.from(df, (d) => Math.log((1 + raw.length) / (1 + d)) + 1);
    this.vocabulary = vocabulary;
    this.idf = idf;
    this.labels = labels;
    const data = raw.map(({ groups, label }) => ({ x: this.vectorise(groups), label }));

    const classes = labels.length;
    const weights = new Float32Array(vocabulary.size * classes);
    const bias = new Float32Array(classes);
    const scores = new Float64Array(classes);
    const { epochs, learningRate, l2 } = this.options;
    let seed = this.options.seed;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const order = data.map((_, i) => i);
    for (let epoch = 0; epoch < epochs; epoch++) {
      // A fresh order each pass (Fisher-Yates), from the fixed seed.
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const rate = learningRate / (1 + epoch);
      const keep = 1 - rate * l2;
      for (const k of order) {
        const { x, label } = data[k]!;
        this.softmax(x, weights, bias, scores);
        // Gradient of the cross-entropy: probability minus the one-hot target.
        scores[label]! -= 1;
        for (let c = 0; c < classes; c++) bias[c]! -= rate * scores[c]!;
        for (let f = 0; f < x.index.length; f++) {
          const base = x.index[f]! * classes;
          const v = x.value[f]!;
          for (let c = 0; c < classes; c++)
            weights[base + c] = weights[base + c]! * keep - rate * scores[c]! * v;
        }
      }
    }
    this.weights = weights;
    this.bias = bias;
    this.trainingMs = performance.now() - started;
  }

  /** Every intent with its probability, likeliest first. */
  classify(text: string): CharPrediction[] {
    if (!this.trained) throw new Error('The letter-group model has not been trained');
    const x = this.vectorise(letterGroups(text, this.options.minN, this.options.maxN));
    const scores = new Float64Array(this.labels.length);
    this.softmax(x, this.weights, this.bias, scores);
    return this.labels
      .map((intent, c) => ({ intent, probability: scores[c]! }))
      .sort((a, b) => b.probability - a.probability);
  }

  /** TF-IDF (sublinear term frequency), L2-normalised; letter groups never seen in training are left out. */
  private vectorise(groups: Map<string, number>): Sparse {
    const index: number[] = [];
    const value: number[] = [];
    let norm = 0;
    for (const [group, count] of groups) {
      const i = this.vocabulary.get(group);
      if (i === undefined) continue;
      const v = (1 + Math.log(count)) * this.idf[i]!;
      index.push(i);
      value.push(v);
      norm += v * v;
    }
    norm = Math.sqrt(norm) || 1;
    return { index: Int32Array.from(index), value: Float32Array.from(value, (v) => v / norm) };
  }

  /** Class probabilities for x into `out`. */
  private softmax(x: Sparse, weights: Float32Array, bias: Float32Array, out: Float64Array): void {
    const classes = out.length;
    out.set(bias);
    for (let f = 0; f < x.index.length; f++) {
      const base = x.index[f]! * classes;
      const v = x.value[f]!;
      for (let c = 0; c < classes; c++) out[c]! += weights[base + c]! * v;
    }
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, out[c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[c] = Math.exp(out[c]! - max);
    for (let c = 0; c < classes; c++) out[c]! /= sum;
  }
}
