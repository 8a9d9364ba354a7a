import type { SlaTarget } from '../cases/index.ts';

/**
 * The street problems residents can report, each with its own questions, and the rules that
 * route a report to a team with a target time. Data, so a council changes them without code.
 */

export interface CategoryQuestion {
  id: string;
  text: string;
  hint?: string;
  /** The error message when a required answer is missing. */
  missing: string;
  type: 'choice' | 'yes_no' | 'text';
  options?: Array<{ value: string; text: string }>;
  required: boolean;
  maxLength?: number;
  /** For text answers: what a valid answer looks like, and the message when it does not. */
  pattern?: { regex: RegExp; message: string };
}

export interface Category {
  code: string;
  name: string;
  /** How the category reads in "Report a …". */
  noun: string;
  group: string;
  keywords: string;
  /** Missed bins are reported against a home, not a map pin. */
  addressBased?: boolean;
  questions: CategoryQuestion[];
}

const yesNo = [
  { value: 'yes', text: 'Yes' },
  { value: 'no', text: 'No' },
];

export const categories: Category[] = [
  {
    code: 'pothole',
    name: 'Pothole',
    noun: 'a pothole',
    group: 'Roads and pavements',
    keywords: 'pothole,road,pavement,highway',
    questions: [
      {
        id: 'size',
        text: 'How big is the pothole?',
        missing: 'Select how big the pothole is',
        type: 'choice',
        required: true,
        options: [
          { value: 'small', text: 'Smaller than a dinner plate' },
          { value: 'medium', text: 'Between a dinner plate and a car tyre' },
          { value: 'large', text: 'Larger than a car tyre' },
        ],
      },
      {
        id: 'depth',
        text: 'How deep is it?',
        missing: 'Select how deep the pothole is',
        type: 'choice',
        required: true,
        options: [
          { value: 'shallow', text: 'Less than 4cm (about the height of a matchbox)' },
          { value: 'deep', text: '4cm to 10cm' },
          { value: 'very-deep', text: 'More than 10cm' },
        ],
      },
      {
        id: 'surface',
        text: 'Where is it?',
        missing: 'Select where the pothole is',
        type: 'choice',
        required: true,
        options: [
          { value: 'road', text: 'On the road' },
          { value: 'pavement', text: 'On the pavement' },
          { value: 'cycle-lane', text: 'In a cycle lane' },
        ],
      },
    ],
  },
  {
    code: 'graffiti',
    name: 'Graffiti',
    noun: 'graffiti',
    group: 'Clean streets',
    keywords: 'graffiti,tagging,vandalism',
    questions: [
      {
        id: 'offensive',
        text: 'Is the graffiti offensive?',
        missing: 'Select yes if the graffiti is offensive',
        type: 'yes_no',
        required: true,
        options: yesNo,
      },
      {
        id: 'surface',
        text: 'What is it on?',
        missing: 'Select what the graffiti is on',
        type: 'choice',
        required: true,
        options: [
          { value: 'wall', text: 'A wall or building' },
          { value: 'fence', text: 'A fence' },
          { value: 'sign', text: 'A road sign or street furniture' },
          { value: 'bus-shelter', text: 'A bus shelter' },
          { value: 'other', text: 'Something else' },
        ],
      },
    ],
  },
  {
    code: 'fly-tipping',
    name: 'Fly-tipping',
    noun: 'fly-tipping',
    group: 'Clean streets',
    keywords: 'fly-tipping,dumped rubbish,waste',
    questions: [
      {
        id: 'what',
        text: 'What has been dumped?',
        missing: 'Select what has been dumped',
        type: 'choice',
        required: true,
        options: [
          { value: 'household', text: 'Household rubbish' },
          { value: 'furniture', text: 'Furniture or white goods' },
          { value: 'building', text: 'Building rubble' },
          { value: 'tyres', text: 'Tyres' },
          { value: 'hazardous', text: 'Chemicals, asbestos or needles' },
          { value: 'other', text: 'Something else' },
        ],
      },
      {
        id: 'amount',
        text: 'How much is there?',
        missing: 'Select how much there is',
        type: 'choice',
        required: true,
        options: [
          { value: 'bag', text: 'A single bag or item' },
          { value: 'car-boot', text: 'A car boot load' },
          { value: 'van', text: 'A small van load' },
          { value: 'lorry', text: 'A lorry load or more' },
        ],
      },
    ],
  },
  {
    code: 'street-light',
    name: 'Street light fault',
    noun: 'a street light fault',
    group: 'Roads and pavements',
    keywords: 'street light,lamp,lighting',
    questions: [
      {
        id: 'column',
        text: 'What is the number on the lamp post? (optional)',
        missing: 'Enter the lamp post number',
        hint: 'It is on a small plate on the post, for example KF123',
        type: 'text',
        required: false,
        maxLength: 10,
        pattern: {
          regex: /^[A-Za-z]{0,3}\d{1,6}$/,
          message: 'Enter the lamp post number as it is shown, like KF123',
        },
      },
      {
        id: 'fault',
        text: 'What is wrong with it?',
        missing: 'Select what is wrong with the street light',
        type: 'choice',
        required: true,
        options: [
          { value: 'not-lit', text: 'It is not working at night' },
          { value: 'day-burning', text: 'It is on during the day' },
          { value: 'flickering', text: 'It is flickering' },
          { value: 'damaged', text: 'The post is damaged or leaning' },
        ],
      },
    ],
  },
  {
    code: 'missed-bin',
    name: 'Missed bin collection',
    noun: 'a missed bin',
    group: 'Bins and recycling',
    keywords: 'bin,collection,recycling,missed',
    addressBased: true,
    questions: [
      {
        id: 'bin',
        text: 'Which bin was missed?',
        missing: 'Select which bin was missed',
        type: 'choice',
        required: true,
        options: [
          { value: 'general', text: 'General waste (grey bin)' },
          { value: 'recycling', text: 'Recycling (blue bin)' },
          { value: 'garden', text: 'Garden waste (brown bin)' },
          { value: 'food', text: 'Food waste caddy' },
        ],
      },
    ],
  },
  {
    code: 'dog-fouling',
    name: 'Dog fouling',
    noun: 'dog fouling',
    group: 'Clean streets',
    keywords: 'dog fouling,dog mess',
    questions: [
      {
        id: 'place',
        text: 'Where is it?',
        missing: 'Select where the dog fouling is',
        type: 'choice',
        required: true,
        options: [
          { value: 'pavement', text: 'On a pavement' },
          { value: 'park', text: 'In a park or green space' },
          { value: 'play-area', text: 'In or near a play area' },
        ],
      },
    ],
  },
  {
    code: 'abandoned-vehicle',
    name: 'Abandoned vehicle',
    noun: 'an abandoned vehicle',
    group: 'Roads and pavements',
    keywords: 'abandoned vehicle,car,untaxed',
    questions: [
      {
        id: 'registration',
        text: 'What is the registration number?',
        missing: 'Enter the registration number',
        hint: 'For example, AB12 CDE',
        type: 'text',
        required: true,
        maxLength: 10,
        pattern: {
          regex: /^[A-Za-z0-9 ]{2,10}$/,
          message: 'Registration number must only include letters a to z, numbers and spaces',
        },
      },
      {
        id: 'vehicle',
        text: 'What make and colour is it? (optional)',
        missing: 'Enter the make and colour',
        type: 'text',
        required: false,
        maxLength: 60,
      },
    ],
  },
  {
    code: 'blocked-drain',
    name: 'Blocked drain',
    noun: 'a blocked drain',
    group: 'Roads and pavements',
    keywords: 'drain,gully,flooding',
    questions: [
      {
        id: 'flooding',
        text: 'Is water flooding the road or a property?',
        missing: 'Select yes if water is flooding the road or a property',
        type: 'yes_no',
        required: true,
        options: yesNo,
      },
    ],
  },
];

export function categoryByCode(code: string): Category | undefined {
  return categories.find((c) => c.code === code);
}

export interface Route {
  team: string;
  sla: SlaTarget;
  /** Tells the resident what happens next (Open311's service_notice). */
  notice: string;
}

interface RoutingRule extends Route {
  category: string;
  ward?: string;
  when?: (answers: Record<string, string>) => boolean;
}

// First matching rule wins: specific rules (danger, a ward) before each category's default.
const rules: RoutingRule[] = [
  {
    category: 'pothole',
    when: (a) => a.depth === 'very-deep' || (a.depth === 'deep' && a.size === 'large'),
    team: 'streets',
    sla: { value: 24, unit: 'hours' },
    notice: 'This is a dangerous pothole. We will make it safe within 24 hours.',
  },
  {
    category: 'pothole',
    team: 'streets',
    sla: { value: 5, unit: 'working_days' },
    notice: 'We will inspect and repair the pothole within 5 working days.',
  },
  {
    category: 'graffiti',
    when: (a) => a.offensive === 'yes',
    team: 'streets',
    sla: { value: 24, unit: 'hours' },
    notice: 'We remove offensive graffiti within 24 hours.',
  },
  {
    category: 'graffiti',
    ward: 'E05099002',
    team: 'streets',
    sla: { value: 2, unit: 'working_days' },
    notice: 'We remove graffiti in the town centre within 2 working days.',
  },
  {
    category: 'graffiti',
    team: 'streets',
    sla: { value: 10, unit: 'working_days' },
    notice: 'We remove graffiti within 10 working days.',
  },
  {
    category: 'fly-tipping',
    when: (a) => a.what === 'hazardous',
    team: 'waste',
    sla: { value: 24, unit: 'hours' },
    notice: 'Hazardous waste is cleared by a specialist crew within 24 hours. Do not touch it.',
  },
  {
    category: 'fly-tipping',
    ward: 'E05099002',
    team: 'waste',
    sla: { value: 1, unit: 'working_days' },
    notice: 'We clear fly-tipping in the town centre by the end of the next working day.',
  },
  {
    category: 'fly-tipping',
    team: 'waste',
    sla: { value: 3, unit: 'working_days' },
    notice: 'We clear fly-tipping within 3 working days.',
  },
  {
    category: 'street-light',
    when: (a) => a.fault === 'damaged',
    team: 'streets',
    sla: { value: 24, unit: 'hours' },
    notice: 'A damaged lamp post can be dangerous. We will make it safe within 24 hours.',
  },
  {
    category: 'street-light',
    team: 'streets',
    sla: { value: 7, unit: 'working_days' },
    notice: 'We repair street lights within 7 working days.',
  },
  {
    category: 'missed-bin',
    team: 'waste',
    sla: { value: 2, unit: 'working_days' },
    notice: 'We will collect the bin within 2 working days. Leave it out until then.',
  },
  {
    category: 'dog-fouling',
    team: 'waste',
    sla: { value: 2, unit: 'working_days' },
    notice: 'We clean up dog fouling within 2 working days.',
  },
  {
    category: 'abandoned-vehicle',
    team: 'streets',
    sla: { value: 10, unit: 'working_days' },
    notice: 'We will check the vehicle within 10 working days and may put a notice on it.',
  },
  {
    category: 'blocked-drain',
    when: (a) => a.flooding === 'yes',
    team: 'streets',
    sla: { value: 24, unit: 'hours' },
    notice: 'Flooding is urgent. A crew will attend within 24 hours.',
  },
  {
    category: 'blocked-drain',
    team: 'streets',
    sla: { value: 5, unit: 'working_days' },
    notice: 'We clear blocked drains within 5 working days.',
  },
];

/** The team and target time for a report, from its category, answers and ward. */
export function routeFor(category: string, answers: Record<string, string>, wardCode: string | null): Route {
  const rule = rules.find(
    (r) => r.category === category && (!r.ward || r.ward === wardCode) && (!r.when || r.when(answers)),
  );
  if (!rule) throw new Error(`No routing rule for ${category}`);
  return { team: rule.team, sla: rule.sla, notice: rule.notice };
}

/** Checks answers to a category's questions: clean answers, or one message per question at fault. */
export function checkAnswers(
  category: Category,
  given: Record<string, unknown>,
): { answers: Record<string, string>; errors: Array<{ field: string; text: string }> } {
  const answers: Record<string, string> = {};
  const errors: Array<{ field: string; text: string }> = [];
  for (const q of category.questions) {
    const raw = given[q.id];
    const value = typeof raw === 'string' ? raw.trim() : '';
    if (!value) {
      if (q.required) errors.push({ field: q.id, text: q.missing });
      continue;
    }
    if (q.options && !q.options.some((o) => o.value === value)) {
      errors.push({ field: q.id, text: q.missing });
      continue;
    }
    if (q.maxLength && value.length > q.maxLength) {
      errors.push({ field: q.id, text: `The answer must be ${q.maxLength} characters or fewer` });
      continue;
    }
    if (q.pattern && !q.pattern.regex.test(value)) {
      errors.push({ field: q.id, text: q.pattern.message });
      continue;
    }
    answers[q.id] = value;
  }
  return { answers, errors };
}

/** The words of an answer, as the person chose it. */
export function answerText(category: Category, questionId: string, value: string): string {
  const q = category.questions.find((x) => x.id === questionId);
  return q?.options?.find((o) => o.value === value)?.text ?? value;
}
