import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharModel, letterGroups } from './char-model.ts';
import { Nlu } from './nlu.ts';

const toy = [
  {
    intent: 'bins',
    examples: [
      'when is my bin collected',
      'bin collection day',
      'my bin was not emptied',
      'which day are the bins',
    ],
  },
  {
    intent: 'pothole',
    examples: [
      'report a pothole',
      'there is a hole in the road',
      'pothole on my street',
      'the road surface is broken',
    ],
  },
  {
    intent: 'None',
    examples: ['what is the weather like', 'tell me a joke', 'who won the football', 'recommend a film'],
  },
];

test('letter groups mark where a word starts and ends', () => {
  const groups = letterGroups('Bin bin', 2, 3);
  assert.equal(groups.get(' b'), 2);
  assert.equal(groups.get('in '), 2);
  assert.equal(groups.get('bin'), 2);
  assert.equal(groups.has('n b'), false); // groups never cross from one word to the next
});

test('the letter-group model learns a toy set, and a misspelt message still gets its intent', () => {
  const model = new CharModel({ epochs: 10 });
  model.train(toy);
  for (const { intent, examples } of toy)
    for (const example of examples) assert.equal(model.classify(example)[0]!.intent, intent, example);
  // Words the model never saw whole: a slip of the keyboard keeps most of a word's letter groups.
  assert.equal(model.classify('pothoel in the raod')[0]!.intent, 'pothole');
  assert.equal(model.classify('bni colection')[0]!.intent, 'bins');
  assert.equal(model.classify('wether forcast')[0]!.intent, 'None');
  const ranked = model.classify('potholes');
  assert.equal(ranked.length, 3);
  assert.ok(Math.abs(ranked.reduce((sum, p) => sum + p.probability, 0) - 1) < 1e-6);
  assert.ok(ranked[0]!.probability >= ranked[1]!.probability);
});

test('training is repeatable from its seed', () => {
  const a = new CharModel();
  const b = new CharModel();
  a.train(toy);
  b.train(toy);
  assert.deepEqual(a.classify('hole in teh road'), b.classify('hole in teh road'));
  assert.throws(() => new CharModel().classify('bins'), /not been trained/);
});

test('the assistant takes the letter-group model when NLP.js puts a misspelt message out of scope', async () => {
  const intents = [
    ...toy,
    {
      intent: 'graffiti',
      examples: [
        'report graffiti',
        'graffiti on the wall',
        'someone has sprayed graffiti',
        'tagging on a bridge',
      ],
    },
  ];
  const withLetters = new Nlu();
  const without = new Nlu(undefined, true, false);
  await withLetters.train(intents);
  await without.train(intents);
  assert.ok(withLetters.letterGroupTrainingMs > 0);
  assert.equal(without.letterGroupTrainingMs, 0);
  // Three slips in one word are past spelling repair, so NLP.js sees no word it knows.
  const message = 'loads of grafitee';
  assert.equal((await without.understand(message)).intent, 'none');
  assert.equal((await withLetters.understand(message)).intent, 'graffiti');
  // And out of scope stays out of scope.
  assert.equal((await withLetters.understand('tell me a joke please')).intent, 'none');
});
