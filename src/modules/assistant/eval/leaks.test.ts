import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, nearDuplicates, squash } from './leaks.ts';

test('an utterance the same as a training example, or within a typo of it, is caught', () => {
  assert.equal(squash('Pot-hole, on Glaze Row!'), 'potholeonglazerow');
  assert.equal(editDistance('kitten', 'sitting', 5), 3);
  assert.equal(editDistance('kitten', 'sitting', 1), 2); // stops once past the limit
  const training = ['report a pothole', 'when is my bin day', 'thanks'];
  assert.deepEqual(
    nearDuplicates(
      [
        'Report a pot-hole',
        'when is my bin dya',
        'thanks!',
        'thank', // short texts must match exactly
        'when will my bins be emptied',
        'pothole',
      ],
      training,
    ),
    [
      ['Report a pot-hole', 'reportapothole'],
      ['when is my bin dya', 'whenismybinday'],
      ['thanks!', 'thanks'],
    ],
  );
});
