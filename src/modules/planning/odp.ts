import type { PlanningTables } from './schema.ts';
import { calculateFee, type FeeResult } from './fees.ts';
import { applicationTypeLabels, docTypeLabels, projectTypeLabels, propertyTypeLabels } from './labels.ts';

/**
 * The application as an Open Digital Planning "application" document (digital-planning-data-schemas,
 * application.json): what a back-office system, the data warehouse or another council's software
 * reads. Built from what Kiln stores, at submission and again at each resubmission.
 */
export const ODP_SCHEMA_URL =
  'https://theopensystemslab.github.io/digital-planning-data-schemas/@next/schemas/application.json';

type Row = PlanningTables['planning_applications'];
type Doc = Pick<PlanningTables['planning_documents'], 'id' | 'doc_type' | 'name'>;

export interface OdpContext {
  /** Absolute URL of Kiln, for document links. */
  publicUrl: string;
  /** The council's four-character organisation code. */
  organisation: string;
  councilName: string;
  region: string;
  wardName: string;
  paymentReference: string | null;
  documents: Doc[];
  /** The question-and-answer record shown to the applicant, in order. */
  responses: Array<{ question: string; answer: string; section: string }>;
}

/** Easting and northing on the British National Grid (Airy 1830 transverse Mercator; no datum shift, so within about 100 m). */
export function toNationalGrid(lat: number, lng: number): { x: number; y: number } {
  const a = 6377563.396;
  const b = 6356256.909;
  const F0 = 0.9996012717;
  const lat0 = (49 * Math.PI) / 180;
  const lon0 = (-2 * Math.PI) / 180;
  const N0 = -100000;
  const E0 = 400000;
  const e2 = 1 - (b * b) / (a * a);
  const n = (a - b) / (a + b);
  const phi = (lat * Math.PI) / 180;
  const lambda = (lng * Math.PI) / 180;
  const sin = Math.sin(phi);
  const cos = Math.cos(phi);
  const nu = (a * F0) / Math.sqrt(1 - e2 * sin * sin);
  const rho = (a * F0 * (1 - e2)) / Math.pow(1 - e2 * sin * sin, 1.5);
  const eta2 = nu / rho - 1;
  const dp = phi - lat0;
  const sp = phi + lat0;
  const M =
    b *
    F0 *
    ((1 + n + (5 / 4) * n ** 2 + (5 / 4) * n ** 3) * dp -
      (3 * n + 3 * n ** 2 + (21 / 8) * n ** 3) * Math.sin(dp) * Math.cos(sp) +
      ((15 / 8) * n ** 2 + (15 / 8) * n ** 3) * Math.sin(2 * dp) * Math.cos(2 * sp) -
      (35 / 24) * n ** 3 * Math.sin(3 * dp) * Math.cos(3 * sp));
  const tan2 = Math.tan(phi) ** 2;
  const I = M + N0;
  const II = (nu / 2) * sin * cos;
  const III = (nu / 24) * sin * cos ** 3 * (5 - tan2 + 9 * eta2);
  const IIIA = (nu / 720) * sin * cos ** 5 * (61 - 58 * tan2 + tan2 ** 2);
  const IV = nu * cos;
  const V = (nu / 6) * cos ** 3 * (nu / rho - tan2);
  const VI = (nu / 120) * cos ** 5 * (5 - 18 * tan2 + tan2 ** 2 + 14 * eta2 - 58 * tan2 * eta2);
  const dl = lambda - lon0;
  const y = I + II * dl ** 2 + III * dl ** 4 + IIIA * dl ** 6;
  const x = E0 + IV * dl + V * dl ** 3 + VI * dl ** 5;
  return { x: Math.round(x), y: Math.round(y) };
}

/** The fee questions of a stored application, for the calculator. */
export function feeFor(
  row: Pick<Row, 'application_type' | 'answers' | 'fee_answers'>,
  day: string,
): FeeResult {
  const answers = row.answers ?? {};
  const fee = row.fee_answers ?? {};
  const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
  return calculateFee(
    {
      type: row.application_type ?? 'pp.full.householder',
      dwellingsAltered: num(answers.dwellingsAltered) || 1,
      newDwellings: num(answers.newDwellings),
      floorAreaM2: num(answers.floorAreaM2),
      disability: fee.disability === 'yes',
      parishCouncil: fee.parishCouncil === 'yes',
      resubmission:
        fee.resubmission === 'yes' &&
        typeof fee.earlierMade === 'string' &&
        typeof fee.earlierDecided === 'string'
          ? { earlierMade: fee.earlierMade, earlierDecided: fee.earlierDecided }
          : null,
    },
    day,
  );
}

function splitAddress(text: string) {
  // "12 Saggar Street, Kilnford, KF1 3CD"
  const [first = '', town = '', postcode = ''] = text.split(',').map((s) => s.trim());
  const match = first.match(/^(\S+)\s+(.*)$/);
  return { pao: match?.[1] ?? first, street: match?.[2] ?? first, town, postcode };
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

/** Builds the ODP application document of a submitted application. */
export function buildOdpDocument(row: Row, ctx: OdpContext): Record<string, unknown> {
  const type = row.application_type!;
  const answers = row.answers ?? {};
  const applicant = row.applicant!;
  const submittedAt = (row.submitted_at ?? new Date()).toISOString();
  const fee = feeFor(row, submittedAt.slice(0, 10));
  const { pao, street, town, postcode } = splitAddress(row.address_text ?? '');
  const grid = toNationalGrid(row.lat ?? 0, row.lng ?? 0);

  const applicantAddress = applicant.address
    ? {
        sameAsSiteAddress: false,
        line1: applicant.address.line1,
        town: applicant.address.town,
        postcode: applicant.address.postcode,
        country: 'UK',
      }
    : { sameAsSiteAddress: true };
  const base: Record<string, unknown> = {
    type: applicant.type,
    name: { first: applicant.firstName, last: applicant.lastName },
    email: applicant.email,
    phone: { primary: applicant.phone },
    address: applicantAddress,
    ...(applicant.company ? { company: { name: applicant.company } } : {}),
    siteContact: { role: row.user_role === 'agent' ? 'agent' : 'applicant' },
  };
  if (!type.startsWith('wtt') && !type.startsWith('ldc')) {
    base.ownership = {
      interest: applicant.ownership === 'a' ? 'owner.sole' : 'owner.co',
      certificate: applicant.ownership,
      declaration: { accurate: true },
    };
  }
  if (row.user_role === 'agent' && row.agent) {
    base.agent = {
      name: { first: row.agent.firstName, last: row.agent.lastName },
      email: row.agent.email,
      phone: { primary: row.agent.phone },
      address: { ...row.agent.address, country: 'UK' },
      ...(row.agent.company ? { company: { name: row.agent.company } } : {}),
    };
  }

  const boundary =
    row.site_boundary && row.site_area_m2
      ? {
          site: row.site_boundary,
          area: { hectares: round(row.site_area_m2 / 10_000, 6), squareMetres: round(row.site_area_m2, 2) },
        }
      : undefined;
  const projectTypes = (Array.isArray(answers.projectTypes) ? answers.projectTypes : []) as string[];
  const propertyType = String(answers.propertyType ?? 'residential.house');
  const proposal: Record<string, unknown> = {
    projectType: projectTypes.map((value) => ({ value, description: projectTypeLabels[value] ?? value })),
    description: row.description ?? '',
    ...(boundary ? { boundary } : {}),
  };
  const extendArea = Number(answers.extensionAreaM2 ?? 0);
  if (extendArea > 0) proposal.extend = { area: { squareMetres: extendArea } };

  const feeDocument: Record<string, unknown> = {
    calculated: fee.calculated / 100,
    payable: fee.payable / 100,
    category: fee.category,
    exemption: fee.exemption,
    reduction: fee.reduction,
    ...(ctx.paymentReference ? { reference: { govPay: ctx.paymentReference } } : {}),
  };
  const connection = {
    value: applicant.connection,
    ...(applicant.connection !== 'none' && applicant.connectionDescription
      ? { description: applicant.connectionDescription }
      : {}),
  };

  return {
    data: {
      application: {
        type: { value: type, description: applicationTypeLabels[type] },
        fee: feeDocument,
        declaration: { accurate: true, connection },
      },
      user: { role: row.user_role },
      applicant: base,
      property: {
        address: {
          latitude: row.lat,
          longitude: row.lng,
          x: grid.x,
          y: grid.y,
          title: (row.address_text ?? '').replace(/, [A-Z0-9 ]+$/, ''),
          singleLine: row.address_text,
          source: 'Ordnance Survey',
          uprn: row.uprn,
          usrn: row.usrn,
          pao,
          street,
          town,
          postcode: row.postcode ?? postcode,
        },
        localAuthorityDistrict: [ctx.councilName],
        region: ctx.region,
        ward: ctx.wardName,
        type: { value: propertyType, description: propertyTypeLabels[propertyType] ?? 'House' },
        ...(boundary ? { boundary } : {}),
      },
      proposal,
    },
    responses: ctx.responses.map((r) => ({
      question: r.question,
      responses: [{ value: r.answer }],
      metadata: { sectionName: r.section },
    })),
    files: ctx.documents.map((d) => ({
      name: `${ctx.publicUrl}/planning/documents/${d.id}`,
      type: [{ value: d.doc_type, description: docTypeLabels[d.doc_type] ?? d.doc_type }],
      description: d.name,
    })),
    metadata: {
      id: row.id,
      organisation: ctx.organisation,
      source: 'Any',
      schema: ODP_SCHEMA_URL,
      submittedAt: submittedAt.replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}
