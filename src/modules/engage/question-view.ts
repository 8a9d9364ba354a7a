import { equalityQuestions } from './equality.ts';
import type { QuestionRow } from './store.ts';

/** A question as the GOV.UK macros want it: field name, items with the respondent's answer checked. */
export function questionViews(questions: QuestionRow[], answers: Record<string, unknown>) {
  return questions.map((q, index) => {
    const field = `q-${q.id}`;
    const raw = answers[field] ?? answers[q.id];
    const chosen = new Set([raw ?? []].flat().map(String));
    return {
      id: q.id,
      field,
      number: index + 1,
      kind: q.kind,
      text: q.text,
      hint: q.hint,
      required: q.required,
      value: typeof raw === 'string' ? raw : '',
      items: q.options.map((option) => ({ value: option, text: option, checked: chosen.has(option) })),
    };
  });
}

/** The optional "about you" questions, with the respondent's answers checked. */
export function equalityViews(answers: Record<string, unknown>) {
  return equalityQuestions.map((q) => {
    const raw = answers[`eq_${q.key}`] ?? answers[q.key];
    return {
      field: `eq_${q.key}`,
      text: q.text,
      items: q.options.map((o) => ({ value: o, text: o, checked: raw === o })),
    };
  });
}
