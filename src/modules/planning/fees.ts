import type { ApplicationType, Day } from './schema.ts';

/**
 * The English planning fee schedule: The Town and Country Planning (Fees for Applications, Deemed
 * Applications, Requests and Site Visits) (England) Regulations 2012 (SI 2012/2920), Schedule 1,
 * as amended by SI 2023/1197 (from 6 December 2023) and by the (Amendment and Transitional
 * Provision) Regulations 2025 (from 1 April 2025). Fees rise each 1 April with CPI (capped at
 * 10%): a new uplift is a new entry here with the day it starts, so an application is charged the
 * fee in force on the day it is submitted. Amounts in pence.
 */
export interface FeeSchedule {
  from: Day;
  /** Category 6: enlargement, improvement or alteration of one dwellinghouse (£528 from April 2025). */
  householderOne: number;
  /** Category 6: two or more dwellinghouses (£1,043). */
  householderTwoOrMore: number;
  /** Category 1: new dwellinghouses, each, up to 10 (£588). */
  dwellingUpTo10: number;
  /** Category 1: each, 11 to 50 (£635). */
  dwelling11To50: number;
  /** Category 1: over 50, a base (£31,385) plus each one beyond 50 (£189), to a maximum (£411,885). */
  dwellingOver50Base: number;
  dwellingOver50Each: number;
  dwellingMaximum: number;
  /** Category 2: buildings other than dwellings, no more than 40 m² of new floor space (£298). */
  floorUpTo40: number;
  /** Category 2: each 75 m² or part, 40 to 1,000 m² (£588). */
  floorPer75UpTo1000: number;
  /** Category 2: each 75 m² or part, 1,000 to 3,750 m² (£635). */
  floorPer75UpTo3750: number;
  /** Category 2: over 3,750 m², a base (£31,385) plus each 75 m² beyond (£189), to a maximum (£411,885). */
  floorOver3750Base: number;
  floorOver3750Each: number;
  floorMaximum: number;
  /** Prior approval, Part 1 Class A of the GPDO, larger home extension (£240, was £120). */
  priorApprovalLargerHome: number;
}

export const feeSchedules: FeeSchedule[] = [
  {
    from: '2025-04-01',
    householderOne: 52_800,
    householderTwoOrMore: 104_300,
    dwellingUpTo10: 58_800,
    dwelling11To50: 63_500,
    dwellingOver50Base: 3_138_500,
    dwellingOver50Each: 18_900,
    dwellingMaximum: 41_188_500,
    floorUpTo40: 29_800,
    floorPer75UpTo1000: 58_800,
    floorPer75UpTo3750: 63_500,
    floorOver3750Base: 3_138_500,
    floorOver3750Each: 18_900,
    floorMaximum: 41_188_500,
    priorApprovalLargerHome: 24_000,
  },
];

/** The schedule in force on a day (the latest that has started). */
export function scheduleOn(day: Day): FeeSchedule {
  const inForce = feeSchedules.filter((s) => s.from <= day).sort((a, b) => b.from.localeCompare(a.from));
  return inForce[0] ?? feeSchedules[0]!;
}

export const feePolicy = {
  text: 'The Town and Country Planning (Fees for Applications, Deemed Applications, Requests and Site Visits) (England) Regulations 2012, as amended',
  url: 'https://www.legislation.gov.uk/uksi/2012/2920/schedule/1',
};

// The free resubmission ("free go") was removed for applications first made on or after this day.
const FREE_GO_ENDS = '2023-12-06';

export interface FeeQuestions {
  type: ApplicationType;
  /** Householder works: how many homes are altered (1, or 2 for two or more). */
  dwellingsAltered?: number;
  /** Full planning: new homes created. */
  newDwellings?: number;
  /** Full planning: new floor space of buildings that are not homes, in m². */
  floorAreaM2?: number;
  /** Works solely for the access, safety, health or comfort of a disabled person who lives there. */
  disability?: boolean;
  /** The applicant is a parish or town council. */
  parishCouncil?: boolean;
  /** A resubmission: when the earlier application was made and decided or withdrawn. */
  resubmission?: { earlierMade: Day; earlierDecided: Day } | null;
}

export interface FeeResult {
  /** The fee before exemptions and concessions. */
  calculated: number;
  payable: number;
  /** The ODP fee category the calculated fee falls in. */
  category: { sixAndSeven?: number; one?: number; two?: number };
  exemption: { disability: boolean; resubmission: boolean };
  reduction: { sports: boolean; parishCouncil: boolean; alternative: boolean };
  /** Why the fee is what it is, in words for the applicant, in order. */
  reasons: string[];
}

const pounds = (pence: number) =>
  `£${(pence / 100).toLocaleString('en-GB', { minimumFractionDigits: pence % 100 ? 2 : 0 })}`;

function dwellingsFee(n: number, s: FeeSchedule): number {
  if (n <= 0) return 0;
  if (n <= 10) return n * s.dwellingUpTo10;
  if (n <= 50) return n * s.dwelling11To50;
  return Math.min(s.dwellingOver50Base + (n - 50) * s.dwellingOver50Each, s.dwellingMaximum);
}

function floorFee(m2: number, s: FeeSchedule): number {
  if (m2 <= 40) return s.floorUpTo40;
  const per75 = (area: number) => Math.ceil(area / 75);
  if (m2 <= 1000) return per75(m2) * s.floorPer75UpTo1000;
  if (m2 <= 3750) return per75(m2) * s.floorPer75UpTo3750;
  return Math.min(s.floorOver3750Base + per75(m2 - 3750) * s.floorOver3750Each, s.floorMaximum);
}

/** Whether full planning answers make a major development (10+ homes, or 1,000 m²+ of floor space). */
export function isMajor(newDwellings: number, floorAreaM2: number): boolean {
  return newDwellings >= 10 || floorAreaM2 >= 1000;
}

/** The fee for an application submitted on `day`, with the reasons, from the published schedule. */
export function calculateFee(q: FeeQuestions, day: Day): FeeResult {
  const s = scheduleOn(day);
  const reasons: string[] = [];
  const category: FeeResult['category'] = {};
  let calculated = 0;
  switch (q.type) {
    case 'pp.full.householder': {
      const two = (q.dwellingsAltered ?? 1) >= 2;
      calculated = two ? s.householderTwoOrMore : s.householderOne;
      category.sixAndSeven = calculated / 100;
      reasons.push(
        two
          ? `The fee to alter or extend two or more homes is ${pounds(calculated)}.`
          : `The fee to alter or extend a single home is ${pounds(calculated)}.`,
      );
      break;
    }
    case 'pp.full.minor':
    case 'pp.full.major': {
      const homes = dwellingsFee(q.newDwellings ?? 0, s);
      const floor = (q.floorAreaM2 ?? 0) > 0 || !q.newDwellings ? floorFee(q.floorAreaM2 ?? 0, s) : 0;
      if (homes) {
        category.one = homes / 100;
        reasons.push(`${q.newDwellings} new home${q.newDwellings === 1 ? '' : 's'}: ${pounds(homes)}.`);
      }
      if (floor) {
        category.two = floor / 100;
        reasons.push(`${q.floorAreaM2 ?? 0} m² of new floor space for other buildings: ${pounds(floor)}.`);
      }
      calculated = homes + floor;
      break;
    }
    case 'ldc.proposed': {
      // A certificate for proposed use or development costs half the planning application fee.
      const full = (q.dwellingsAltered ?? 1) >= 2 ? s.householderTwoOrMore : s.householderOne;
      calculated = Math.round(full / 2);
      category.sixAndSeven = calculated / 100;
      reasons.push(
        `A lawful development certificate for proposed works costs half the planning fee of ${pounds(full)}: ${pounds(calculated)}.`,
      );
      break;
    }
    case 'pa.part1.classA':
      calculated = s.priorApprovalLargerHome;
      reasons.push(`The fee for prior approval of a larger home extension is ${pounds(calculated)}.`);
      break;
    case 'wtt.consent':
    case 'wtt.notice':
      calculated = 0;
      reasons.push('There is no fee for works to protected trees or trees in a conservation area.');
      break;
  }

  const exemption = { disability: false, resubmission: false };
  const reduction = { sports: false, parishCouncil: false, alternative: false };
  let payable = calculated;
  const householderWorks = q.type === 'pp.full.householder' || q.type === 'ldc.proposed';
  if (payable > 0 && q.disability && householderWorks) {
    exemption.disability = true;
    payable = 0;
    reasons.push(
      'No fee is payable: the works are solely to improve access, safety, health or comfort for a disabled person who lives at the home (regulation 4).',
    );
  }
  if (payable > 0 && q.resubmission) {
    const { earlierMade, earlierDecided } = q.resubmission;
    const withinYear = daysBetween(earlierDecided, day) <= 366;
    if (earlierMade < FREE_GO_ENDS && withinYear) {
      exemption.resubmission = true;
      payable = 0;
      reasons.push(
        'No fee is payable: this is a resubmission within 12 months of an application made before 6 December 2023 (regulation 9).',
      );
    } else {
      reasons.push(
        earlierMade >= FREE_GO_ENDS
          ? 'A resubmission pays the full fee: the free resubmission ended for applications made from 6 December 2023.'
          : 'A resubmission pays the full fee: the earlier decision was more than 12 months ago.',
      );
    }
  }
  if (payable > 0 && q.parishCouncil) {
    reduction.parishCouncil = true;
    payable = Math.round(payable / 2);
    reasons.push(`A parish or town council pays half the fee: ${pounds(payable)}.`);
  }
  return { calculated, payable, category, exemption, reduction, reasons };
}

function daysBetween(from: Day, to: Day): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
