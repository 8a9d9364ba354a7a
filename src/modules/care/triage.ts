import type { Priority, ReferralKind } from './schema.ts';

/**
 * The outcomes the Care and Support (Eligibility Criteria) Regulations 2015 name (regulation 2(2)
 * for adults, 3 for carers). A person who cannot achieve two or more of them because of a
 * physical or mental impairment or illness, with a significant impact on their wellbeing, has
 * eligible needs. The first assessment asks about each so the team sees the shape of the need.
 */
export const outcomes = [
  { id: 'nutrition', label: 'Preparing food and drink, and eating' },
  { id: 'hygiene', label: 'Washing and keeping clean' },
  { id: 'toileting', label: 'Using the toilet' },
  { id: 'dressing', label: 'Getting dressed' },
  { id: 'safety', label: 'Moving around and being safe at home' },
  { id: 'home', label: 'Keeping the home clean and habitable' },
  { id: 'relationships', label: 'Keeping up relationships with family and friends' },
  { id: 'work', label: 'Work, training, education or volunteering' },
  { id: 'community', label: 'Getting out: shops, transport, leisure and services' },
  { id: 'caring', label: 'Looking after a child they are responsible for' },
] as const;
export type OutcomeId = (typeof outcomes)[number]['id'];

export const difficulties = [
  { value: 'none', text: 'No difficulty', points: 0 },
  { value: 'some', text: 'Some difficulty, or it takes a long time', points: 1 },
  { value: 'help', text: 'Cannot do it without help', points: 2 },
  { value: 'unsafe', text: 'Doing it causes pain, distress or puts them at risk', points: 3 },
] as const;
export type Difficulty = (typeof difficulties)[number]['value'];

export const wellbeingImpacts = [
  { value: 'little', text: 'Little or no effect', points: 0 },
  { value: 'some', text: 'Some effect', points: 2 },
  { value: 'significant', text: 'A significant effect', points: 4 },
] as const;
export type WellbeingImpact = (typeof wellbeingImpacts)[number]['value'];

export const childConcerns = [
  { value: 'neglect', text: 'Neglect: not fed, clothed, kept clean or looked after' },
  { value: 'physical', text: 'Physical harm' },
  { value: 'emotional', text: 'Emotional harm' },
  { value: 'sexual', text: 'Sexual harm' },
  { value: 'exploitation', text: 'Exploitation, including criminal exploitation' },
  { value: 'domestic_abuse', text: 'Domestic abuse at home' },
  { value: 'other', text: 'Something else' },
] as const;
export type ChildConcern = (typeof childConcerns)[number]['value'];

export type Safety = 'immediate' | 'safeguarding' | 'none';

export interface AssessmentAnswers {
  kind: ReferralKind;
  safety: Safety;
  /** Adults and carers: difficulty with each outcome. */
  outcomes?: Partial<Record<OutcomeId, Difficulty>>;
  impairment?: boolean;
  wellbeing?: WellbeingImpact;
  livesAlone?: boolean;
  /** Concern about a child. */
  childAge?: number | null;
  concerns?: ChildConcern[];
}

export interface Triage {
  score: number;
  priority: Priority;
  teamCode: string;
  /** Outcomes the person cannot achieve (help needed, or only with pain, distress or risk). */
  outcomesNotAchieved: OutcomeId[];
  /** The Care Act test as the first answers show it: a social worker confirms it at assessment. */
  likelyEligible: boolean;
  sla: { value: number; unit: 'hours' | 'working_days' };
  explanation: string;
}

const points = <T extends { value: string; points: number }>(list: readonly T[], value: string | undefined) =>
  list.find((item) => item.value === value)?.points ?? 0;

/** Scores a first assessment and chooses the team queue and how soon the team must act. */
export function triage(answers: AssessmentAnswers): Triage {
  const urgent = answers.safety !== 'none';
  if (answers.kind === 'child') {
    const concerns = answers.concerns ?? [];
    const serious = concerns.filter((c) => ['physical', 'sexual', 'exploitation'].includes(c)).length;
    let score = concerns.length * 3 + serious * 3;
    if (answers.childAge !== null && answers.childAge !== undefined && answers.childAge < 5) score += 3;
    if (urgent) score += 20;
    const priority: Priority = urgent ? 'urgent' : score >= 9 ? 'priority' : 'routine';
    return {
      score,
      priority,
      teamCode: urgent ? 'care-duty' : 'childrens-social-care',
      outcomesNotAchieved: [],
      likelyEligible: false,
      sla: slaFor(priority),
      explanation: urgent
        ? 'A child may be at risk now: the duty team acts on this today.'
        : `Concern about a child (${concerns.length} kind${concerns.length === 1 ? '' : 's'} of harm named).`,
    };
  }
  const given = answers.outcomes ?? {};
  let score = 0;
  const notAchieved: OutcomeId[] = [];
  let unsafe = false;
  for (const outcome of outcomes) {
    const difficulty = given[outcome.id];
    score += points(difficulties, difficulty);
    if (difficulty === 'help' || difficulty === 'unsafe') notAchieved.push(outcome.id);
    if (difficulty === 'unsafe' && ['nutrition', 'safety', 'toileting'].includes(outcome.id)) unsafe = true;
  }
  score += points(wellbeingImpacts, answers.wellbeing);
  if (answers.livesAlone) score += 2;
  if (urgent) score += 20;
  const likelyEligible =
    (answers.impairment ?? false) && notAchieved.length >= 2 && answers.wellbeing === 'significant';
  const priority: Priority = urgent ? 'urgent' : unsafe || score >= 14 ? 'priority' : 'routine';
  return {
    score,
    priority,
    teamCode: urgent ? 'care-duty' : 'adult-social-care',
    outcomesNotAchieved: notAchieved,
    likelyEligible,
    sla: slaFor(priority),
    explanation: urgent
      ? 'Someone may be at risk now: the duty team acts on this today.'
      : `${notAchieved.length} outcome${notAchieved.length === 1 ? '' : 's'} not achieved; ` +
        `${likelyEligible ? 'likely' : 'may not be'} eligible under the Care Act 2014 (confirmed at assessment).`,
  };
}

function slaFor(priority: Priority): Triage['sla'] {
  if (priority === 'urgent') return { value: 4, unit: 'hours' };
  if (priority === 'priority') return { value: 2, unit: 'working_days' };
  return { value: 10, unit: 'working_days' };
}

export const priorityLabels: Record<Priority, string> = {
  routine: 'Routine',
  priority: 'Priority',
  urgent: 'Urgent',
};
