import type { ApplicationStatus, ApplicationType } from './schema.ts';

/** The ODP descriptions of each application type (they must match the schema's). */
export const applicationTypeLabels: Record<ApplicationType, string> = {
  'pp.full.householder': 'Planning Permission - Full householder',
  'pp.full.minor': 'Planning Permission - Minor application',
  'pp.full.major': 'Planning Permission - Major application',
  'ldc.proposed': 'Lawful Development Certificate - Proposed use',
  'pa.part1.classA': 'Prior Approval - Larger extension to a house',
  'wtt.consent': 'Works to trees - Consent to carry out works to a tree with a Tree Preservation Order',
  'wtt.notice': 'Works to trees - Notification of proposed works to a tree in a Conservation Area',
};

/** What an applicant or a member of the public calls each type. */
export const applicationTypeNames: Record<ApplicationType, string> = {
  'pp.full.householder': 'Householder planning permission',
  'pp.full.minor': 'Full planning permission (minor)',
  'pp.full.major': 'Full planning permission (major)',
  'ldc.proposed': 'Lawful development certificate (proposed)',
  'pa.part1.classA': 'Prior approval: larger home extension',
  'wtt.consent': 'Works to a tree with a preservation order',
  'wtt.notice': 'Works to a tree in a conservation area',
};

/** Short codes at the end of a reference, as councils write them. */
export const applicationTypeCodes: Record<ApplicationType, string> = {
  'pp.full.householder': 'HOU',
  'pp.full.minor': 'FUL',
  'pp.full.major': 'MAJ',
  'ldc.proposed': 'LDCP',
  'pa.part1.classA': 'PA1A',
  'wtt.consent': 'TPO',
  'wtt.notice': 'TCA',
};

/** The choices on "What do you want to do?", each leading to its own questions. */
export const journeyChoices: Array<{ value: string; text: string; hint: string }> = [
  {
    value: 'householder',
    text: 'Extend or alter a house',
    hint: 'Householder planning permission: extensions, loft conversions, porches, outbuildings',
  },
  {
    value: 'full',
    text: 'Build new homes or other buildings',
    hint: 'Full planning permission',
  },
  {
    value: 'ldc',
    text: 'Check that works to a house are lawful',
    hint: 'A lawful development certificate for works you have not started',
  },
  {
    value: 'priorApproval',
    text: 'Build a larger single-storey rear extension',
    hint: 'Prior approval under permitted development (up to 8 metres detached, 6 metres otherwise)',
  },
  {
    value: 'trees',
    text: 'Work on a protected tree',
    hint: 'A tree with a preservation order or in a conservation area',
  },
];

export const projectTypeLabels: Record<string, string> = {
  'extend.rear': 'Add a rear or side extension (or conservatory)',
  'extend.rear.rear': 'Add a rear extension',
  'extend.side': 'Add a side extension',
  'extend.front': 'Add a front extension',
  'extend.roof.dormer': 'Add a roof dormer',
  'extend.porch': 'Add a porch',
  'extend.outbuilding': 'Add an outbuilding (such as a shed, garage or garden office)',
  'alter.boundary': 'Changes to a fence, wall or gate',
  'new.dwelling': 'New, self-contained dwelling',
  'new.dwelling.house': 'New houses',
  extend: 'Extend a building or add an outbuilding',
  'alter.trees.tree.prune': 'Prune trees',
  'alter.trees.tree.remove': 'Remove trees',
};

/** The householder works an applicant can pick (ODP project types). */
export const householderProjects = [
  'extend.rear.rear',
  'extend.side',
  'extend.front',
  'extend.roof.dormer',
  'extend.porch',
  'extend.outbuilding',
  'alter.boundary',
];

export const propertyTypeLabels: Record<string, string> = {
  'residential.house.detached': 'Detached',
  'residential.house.semiDetached': 'Semi-detached',
  'residential.house.terrace': 'Terrace',
  'residential.flat': 'Flat',
  'residential.house': 'House',
  commercial: 'Commercial',
};

/** Document types an applicant can upload (ODP file types). */
export const docTypeLabels: Record<string, string> = {
  locationPlan: 'Location plan',
  'sitePlan.proposed': 'Site plan - proposed',
  'floorPlan.existing': 'Floor plan - existing',
  'floorPlan.proposed': 'Floor plan - proposed',
  'elevations.existing': 'Elevations - existing',
  'elevations.proposed': 'Elevations - proposed',
  designAndAccessStatement: 'Design and Access Statement',
  'photographs.existing': 'Photographs - existing',
  treeSurvey: 'Tree survey',
  otherDocument: 'Other - document',
};

/** The documents each type needs before it can be submitted (any one of each group). */
export function requiredDocuments(type: ApplicationType | null): Array<{ text: string; anyOf: string[] }> {
  const plans = {
    text: 'Floor plans (existing and proposed)',
    anyOf: ['floorPlan.existing', 'floorPlan.proposed'],
  };
  const elevations = {
    text: 'Elevations (existing and proposed)',
    anyOf: ['elevations.existing', 'elevations.proposed'],
  };
  switch (type) {
    case 'pp.full.householder':
    case 'ldc.proposed':
    case 'pa.part1.classA':
      return [plans, elevations];
    case 'pp.full.minor':
    case 'pp.full.major':
      return [
        plans,
        elevations,
        { text: 'Design and access statement', anyOf: ['designAndAccessStatement'] },
      ];
    case 'wtt.consent':
    case 'wtt.notice':
      return [
        {
          text: 'A photograph or sketch of the tree',
          anyOf: ['photographs.existing', 'treeSurvey', 'otherDocument'],
        },
      ];
    default:
      return [];
  }
}

/** The status shown on the register and to the applicant. */
export function publicStatus(
  row: {
    status: ApplicationStatus;
    decision: string | null;
    consultation_end: string | null;
    consultation_start: string | null;
  },
  today: string,
): string {
  switch (row.status) {
    case 'draft':
      return 'Not sent';
    case 'awaiting_payment':
      return 'Waiting for the fee';
    case 'submitted':
      return 'Waiting to be checked';
    case 'invalid':
      return 'Not valid: changes needed';
    case 'valid':
      if (row.consultation_start && row.consultation_end && today <= row.consultation_end)
        return 'Out for comment';
      return 'Under consideration';
    case 'decided':
      return row.decision === 'granted' ? 'Granted' : 'Refused';
    case 'withdrawn':
      return 'Withdrawn';
  }
}

/** Statutory consultees the officer can choose from. */
export const statutoryConsultees = [
  { id: 'highways', name: 'Kilnford Highways Authority', email: 'highways.consultations@kilnford.example' },
  {
    id: 'environment-agency',
    name: 'Environment Agency',
    email: 'planning.consultations@environment-agency.example',
  },
  { id: 'historic-england', name: 'Historic England', email: 'consultations@historic-england.example' },
  { id: 'parish', name: 'Etherley Parish Council', email: 'clerk@etherley-parish.example' },
  { id: 'trees', name: 'Council tree officer', email: 'trees@kilnford.example' },
];

/** Where comments by post go, printed on neighbour letters (the demo council's civic centre). */
export const planningPostalAddress = 'Civic Centre, Market Square, Kilnford KF1 1AA';
