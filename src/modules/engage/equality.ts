/**
 * Equality monitoring questions, asked at the end of a consultation when staff turn them on.
 * Every one is optional and offers "Prefer not to say"; the answers are reported only in totals.
 * Categories follow the Office for National Statistics' harmonised standards, shortened.
 */
export const equalityQuestions = [
  {
    key: 'age',
    text: 'What is your age?',
    options: [
      'Under 18',
      '18 to 24',
      '25 to 34',
      '35 to 44',
      '45 to 54',
      '55 to 64',
      '65 to 74',
      '75 or over',
      'Prefer not to say',
    ],
  },
  {
    key: 'sex',
    text: 'What is your sex?',
    options: ['Female', 'Male', 'Prefer not to say'],
  },
  {
    key: 'disability',
    text: 'Do you have a physical or mental health condition or illness lasting, or expected to last, 12 months or more?',
    options: ['Yes', 'No', 'Prefer not to say'],
  },
  {
    key: 'ethnicity',
    text: 'What is your ethnic group?',
    options: [
      'Asian or Asian British',
      'Black, Black British, Caribbean or African',
      'Mixed or multiple ethnic groups',
      'White',
      'Another ethnic group',
      'Prefer not to say',
    ],
  },
] as const;

export type EqualityKey = (typeof equalityQuestions)[number]['key'];

/** Keeps only known keys with known answers; anything else is dropped, not stored. */
export function cleanEquality(input: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const q of equalityQuestions) {
    const value = input[`eq_${q.key}`];
    if (typeof value === 'string' && (q.options as readonly string[]).includes(value)) out[q.key] = value;
  }
  return out;
}
