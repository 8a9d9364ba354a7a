import { NHS_NUMBER_SYSTEM } from './nhs-number.ts';
import type { CareTables } from './schema.ts';
import type * as store from './store.ts';

// FHIR R4 resources made from the record's rows. Each is checked in the tests against the
// published FHIR R4 JSON schema.

export type Resource = { resourceType: string; id?: string } & Record<string, unknown>;

export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const KILN_SYSTEM = 'https://kiln.example/fhir/CodeSystem';
const SNOMED = 'http://snomed.info/sct';
const DMD = 'https://dmd.nhs.uk';

const ref = (type: string, id: string, display?: string) => ({
  reference: `${type}/${id}`,
  ...(display ? { display } : {}),
});
const instant = (d: Date | string) => new Date(d).toISOString();
/** meta.versionId and meta.lastUpdated of a row: its version (1 until it changes) and its last change. */
const meta = (row: {
  version_id?: number;
  updated_at?: Date | string;
  created_at?: Date | string;
  recorded_at?: Date | string;
}) => {
  const at = row.updated_at ?? row.created_at ?? row.recorded_at;
  return { meta: { versionId: String(row.version_id ?? 1), ...(at ? { lastUpdated: instant(at) } : {}) } };
};
const escapeXml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const narrative = (text: string) => ({
  status: 'generated',
  div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${escapeXml(text)}</p></div>`,
});

/** Of a care team, what a Patient resource shows: its GPs (as `generalPractitioner`). */
export type TeamForPatient = ReadonlyArray<
  Pick<
    Awaited<ReturnType<typeof store.teamOf>>[number],
    'person_id' | 'organisation_kind' | 'practitioner_id' | 'name'
  >
>;

export function patient(p: store.Person, team: TeamForPatient, councilId: string): Resource {
  const gps = team.filter((m) => m.person_id === p.id && m.organisation_kind === 'gp_practice');
  return {
    resourceType: 'Patient',
    id: p.id,
    ...meta(p),
    ...(p.nhs_number ? { identifier: [{ system: NHS_NUMBER_SYSTEM, value: p.nhs_number }] } : {}),
    active: true,
    name: [{ use: 'official', family: p.family_name, given: [p.given_name] }],
    ...(p.phone ? { telecom: [{ system: 'phone', value: p.phone, use: 'home' }] } : {}),
    gender: p.gender,
    birthDate: p.date_of_birth,
    ...(p.address || p.postcode
      ? {
          address: [
            {
              use: 'home',
              ...(p.address ? { text: p.address } : {}),
              ...(p.postcode ? { postalCode: p.postcode } : {}),
            },
          ],
        }
      : {}),
    ...(gps.length
      ? { generalPractitioner: gps.map((g) => ref('Practitioner', g.practitioner_id, g.name)) }
      : {}),
    managingOrganization: ref('Organization', councilId),
  };
}

export function practitioner(row: store.PractitionerRow): Resource {
  return {
    resourceType: 'Practitioner',
    id: row.id,
    active: true,
    name: [{ text: row.name }],
    ...(row.email ? { telecom: [{ system: 'email', value: row.email, use: 'work' }] } : {}),
  };
}

export function organisation(row: store.OrganisationRow): Resource {
  const telecom = [
    ...(row.phone ? [{ system: 'phone', value: row.phone }] : []),
    ...(row.email ? [{ system: 'email', value: row.email }] : []),
    ...(row.url ? [{ system: 'url', value: row.url }] : []),
  ];
  return {
    resourceType: 'Organization',
    id: row.id,
    ...(row.ods_code ? { identifier: [{ system: ODS_SYSTEM, value: row.ods_code }] } : {}),
    active: true,
    type: [
      {
        coding: [{ system: `${KILN_SYSTEM}/organisation-kind`, code: row.kind }],
        text: row.kind.replace('_', ' '),
      },
    ],
    name: row.name,
    ...(telecom.length ? { telecom } : {}),
  };
}

export function careTeam(
  p: store.Person,
  team: Awaited<ReturnType<typeof store.teamOf>>,
  councilId: string,
): Resource {
  return {
    resourceType: 'CareTeam',
    id: p.id,
    status: 'active',
    name: `Care team of ${p.given_name} ${p.family_name}`,
    subject: ref('Patient', p.id),
    participant: team
      .filter((m) => m.person_id === p.id)
      .map((m) => ({
        role: [{ text: m.role || m.practitioner_role }],
        member: ref('Practitioner', m.practitioner_id, m.name),
        onBehalfOf: ref('Organization', m.organisation_id, m.organisation_name),
        period: { start: instant(m.added_at) },
      })),
    managingOrganization: [ref('Organization', councilId)],
  };
}

export function relatedPerson(row: CareTables['care_related_people']): Resource {
  const telecom = [
    ...(row.phone ? [{ system: 'phone', value: row.phone }] : []),
    ...(row.email ? [{ system: 'email', value: row.email }] : []),
  ];
  return {
    resourceType: 'RelatedPerson',
    id: row.id,
    ...meta(row),
    active: true,
    patient: ref('Patient', row.person_id),
    relationship: [
      { text: row.relationship },
      ...(row.emergency_contact
        ? [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/v2-0131',
                  code: 'C',
                  display: 'Emergency Contact',
                },
              ],
            },
          ]
        : []),
    ],
    name: [{ text: row.name }],
    ...(telecom.length ? { telecom } : {}),
  };
}

export function condition(row: Awaited<ReturnType<typeof store.conditions>>['rows'][number]): Resource {
  return {
    resourceType: 'Condition',
    id: row.id,
    ...meta(row),
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: row.clinical_status },
      ],
    },
    code: {
      ...(row.code ? { coding: [{ system: SNOMED, code: row.code, display: row.display }] } : {}),
      text: row.display,
    },
    subject: ref('Patient', row.person_id),
    ...(row.onset_date ? { onsetDateTime: row.onset_date } : {}),
    recordedDate: instant(row.recorded_at),
    ...(row.recorded_by ? { recorder: ref('Practitioner', row.recorded_by) } : {}),
  };
}

export function medicationStatement(
  row: Awaited<ReturnType<typeof store.medications>>['rows'][number],
): Resource {
  return {
    resourceType: 'MedicationStatement',
    id: row.id,
    ...meta(row),
    status: row.status,
    medicationCodeableConcept: {
      ...(row.code ? { coding: [{ system: DMD, code: row.code, display: row.display }] } : {}),
      text: row.display,
    },
    subject: ref('Patient', row.person_id),
    ...(row.effective_from ? { effectivePeriod: { start: row.effective_from } } : {}),
    dateAsserted: instant(row.recorded_at),
    ...(row.recorded_by ? { informationSource: ref('Practitioner', row.recorded_by) } : {}),
    ...(row.dosage ? { dosage: [{ text: row.dosage }] } : {}),
  };
}

export function carePlan(row: Awaited<ReturnType<typeof store.carePlans>>['rows'][number]): Resource {
  return {
    resourceType: 'CarePlan',
    id: row.id,
    ...meta(row),
    status: row.status,
    intent: 'plan',
    title: row.title,
    ...(row.description ? { description: row.description } : {}),
    subject: ref('Patient', row.person_id),
    ...(row.period_start || row.period_end
      ? {
          period: {
            ...(row.period_start ? { start: row.period_start } : {}),
            ...(row.period_end ? { end: row.period_end } : {}),
          },
        }
      : {}),
    created: instant(row.created_at),
    ...(row.author_id ? { author: ref('Practitioner', row.author_id) } : {}),
    careTeam: [ref('CareTeam', row.person_id)],
  };
}

export const encounterKinds: Record<string, { code: string; display: string; text: string }> = {
  home_visit: { code: 'HH', display: 'home health', text: 'Home visit' },
  assessment: { code: 'AMB', display: 'ambulatory', text: 'Assessment' },
  review: { code: 'AMB', display: 'ambulatory', text: 'Review' },
  phone: { code: 'VR', display: 'virtual', text: 'Phone call' },
  video: { code: 'VR', display: 'virtual', text: 'Video consultation' },
  gp_appointment: { code: 'AMB', display: 'ambulatory', text: 'GP appointment' },
  hospital_admission: { code: 'IMP', display: 'inpatient encounter', text: 'Hospital admission' },
  school_meeting: { code: 'FLD', display: 'field', text: 'School meeting' },
};

export function encounter(row: CareTables['care_encounters']): Resource {
  const kind = encounterKinds[row.kind] ?? { code: 'AMB', display: 'ambulatory', text: row.kind };
  return {
    resourceType: 'Encounter',
    id: row.id,
    ...meta(row),
    ...(row.notes ? { text: narrative(row.notes) } : {}),
    status: row.status,
    class: {
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
      code: kind.code,
      display: kind.display,
    },
    type: [{ coding: [{ system: `${KILN_SYSTEM}/encounter-kind`, code: row.kind }], text: kind.text }],
    subject: ref('Patient', row.person_id),
    ...(row.practitioner_id
      ? { participant: [{ individual: ref('Practitioner', row.practitioner_id) }] }
      : {}),
    period: { start: instant(row.start_at), ...(row.end_at ? { end: instant(row.end_at) } : {}) },
    ...(row.organisation_id ? { serviceProvider: ref('Organization', row.organisation_id) } : {}),
  };
}

export function observation(row: CareTables['care_observations']): Resource {
  return {
    resourceType: 'Observation',
    id: String(row.id),
    ...meta(row),
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: row.source === 'wellbeing' ? 'activity' : 'survey',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: `${KILN_SYSTEM}/observation`, code: row.code, display: row.display }],
      text: row.display,
    },
    subject: ref('Patient', row.person_id),
    effectiveDateTime: instant(row.effective_at),
    ...(row.value_quantity !== null && row.value_quantity !== undefined
      ? { valueQuantity: { value: Number(row.value_quantity), ...(row.unit ? { unit: row.unit } : {}) } }
      : row.value_text
        ? { valueString: row.value_text }
        : {}),
    ...(row.source === 'wellbeing' ? { device: { display: 'Home sensors (care technology)' } } : {}),
  };
}

export function flag(row: CareTables['care_flags']): Resource {
  return {
    resourceType: 'Flag',
    id: row.id,
    ...meta(row),
    status: row.status,
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: row.category }] },
    ],
    code: { coding: [{ system: `${KILN_SYSTEM}/flag`, code: row.code }], text: row.display },
    subject: ref('Patient', row.person_id),
    period: { start: instant(row.period_start), ...(row.period_end ? { end: instant(row.period_end) } : {}) },
  };
}

export function consent(p: store.Person, councilId: string): Resource {
  return {
    resourceType: 'Consent',
    id: p.id,
    status: 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: ref('Patient', p.id),
    dateTime: instant(p.objection_recorded_at ?? p.created_at),
    organization: [ref('Organization', councilId)],
    policyRule: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
          code: p.sharing_objection ? 'OPTOUT' : 'OPTIN',
        },
      ],
      text: p.sharing_objection
        ? 'Objects to sharing the care record outside the council'
        : 'Shared with the care team across organisations',
    },
    provision: { type: p.sharing_objection ? 'deny' : 'permit' },
  };
}

export function documentReference(row: CareTables['care_documents'], base: string): Resource {
  return {
    resourceType: 'DocumentReference',
    id: row.id,
    ...meta(row),
    status: 'current',
    type: { text: row.title },
    subject: ref('Patient', row.person_id),
    date: instant(row.created_at),
    ...(row.author_id ? { author: [ref('Practitioner', row.author_id)] } : {}),
    description: row.title,
    content: [
      {
        attachment: {
          contentType: row.media_type,
          url: `${base}/Binary/${row.id}`,
          title: row.title,
          creation: instant(row.created_at),
        },
      },
    ],
  };
}

export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'not-supported'
  | 'not-found'
  | 'forbidden'
  | 'security'
  | 'login'
  | 'processing'
  | 'duplicate'
  | 'transient'
  | 'exception';

export function operationOutcome(
  code: IssueCode,
  diagnostics: string,
  extra: Array<{ code: IssueCode; diagnostics: string; expression?: string[] }> = [],
): Resource {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics }, ...extra.map((e) => ({ severity: 'error', ...e }))],
  };
}
