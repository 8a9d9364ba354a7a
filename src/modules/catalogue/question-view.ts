import type { Question } from './definition.ts';
import type { AnswerValue, LocationAnswer } from './form-engine.ts';
import type { Address } from './gazetteer.ts';

/** What the question template needs: GOV.UK component items already built, values to show again. */
export interface QuestionView {
  q: Question;
  values: Record<string, string | string[]>;
  items?: Array<{ value: string; text: string; checked?: boolean }>;
  /** Address step: search form, list of addresses, or manual entry. */
  addressMode?: 'search' | 'select' | 'manual';
  lookup?: string;
  addresses?: Address[];
  streets?: Array<{ usrn: string; name: string; locality: string }>;
  current?: string;
}

/** Field values for the inputs of a question that already has an answer. */
export function valuesFromAnswer(
  q: Question,
  answer: AnswerValue | undefined,
): Record<string, string | string[]> {
  if (answer === null || answer === undefined) return {};
  switch (q.type) {
    case 'date': {
      const [y, m, d] = String(answer).split('-');
      return {
        [`${q.id}-day`]: String(Number(d)),
        [`${q.id}-month`]: String(Number(m)),
        [`${q.id}-year`]: y ?? '',
      };
    }
    case 'multiple_choice':
      return { [q.id]: answer as string[] };
    case 'location': {
      const l = answer as LocationAnswer;
      return { [`${q.id}-street`]: l.text.split(',')[0] ?? '', [`${q.id}-detail`]: l.detail ?? '' };
    }
    case 'address':
    case 'file':
      return {};
    default:
      return { [q.id]: String(answer) };
  }
}

/** Radio and checkbox items for choice questions, with what is selected. */
export function choiceItems(q: Question, values: Record<string, string | string[]>) {
  const selected = [values[q.id] ?? []].flat();
  const options =
    q.type === 'yes_no'
      ? [
          { value: 'yes', text: 'Yes' },
          { value: 'no', text: 'No' },
        ]
      : (q.options ?? []);
  return options.map((o) => ({ value: o.value, text: o.text, checked: selected.includes(o.value) }));
}

/** The id of the input an error message links to. */
export function errorField(q: Question, part?: string): string {
  if (part) return `${q.id}-${part}`;
  if (q.type === 'date') return `${q.id}-day`;
  if (q.type === 'location') return `${q.id}-street`;
  return q.id;
}
