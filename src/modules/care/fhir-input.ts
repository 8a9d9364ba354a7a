import { z } from 'zod';
import { isUuid } from './directory.ts';
import { encounterKinds, KILN_SYSTEM } from './fhir-resources.ts';
import { NHS_NUMBER_SYSTEM, nhsNumberProblem, normaliseNhsNumber } from './nhs-number.ts';
import type { NewPerson } from './record.ts';

// What the API accepts when a client creates or updates the council's own resources. Anything
// that does not conform is refused with an OperationOutcome naming each element at fault.

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date, YYYY-MM-DD' });
const dateTime = z.iso.datetime({
  offset: true,
  error: 'must be an instant with a time zone, like 2026-11-25T10:00:00Z',
});
const text = (max: number) => z.string().trim().min(1).max(max);
const reference = z.object({
  reference: z.string().regex(/^(Patient\/)[0-9a-f-]{36}$/i, { error: 'must be Patient/<id>' }),
});
const codeable = z.object({
  coding: z
    .array(
      z.object({
        system: z.string().optional(),
        code: z.string().max(100).optional(),
        display: z.string().max(300).optional(),
      }),
    )
    .optional(),
  text: z.string().max(300).optional(),
});
const idOf = (ref: { reference: string }) => ref.reference.split('/')[1]!;
const nameOf = (c: z.infer<typeof codeable>) =>
  c.text || c.coding?.find((x) => x.display)?.display || c.coding?.[0]?.code || '';

const patient = z.object({
  resourceType: z.literal('Patient'),
  id: z.string().optional(),
  identifier: z.array(z.object({ system: z.string(), value: z.string() })).optional(),
  name: z.array(z.object({ family: text(100), given: z.array(text(100)).min(1) })).min(1),
  gender: z.enum(['male', 'female', 'other', 'unknown']).default('unknown'),
  birthDate: date,
  telecom: z.array(z.object({ system: z.string(), value: z.string().max(100) })).optional(),
  address: z
    .array(z.object({ text: z.string().max(300).optional(), postalCode: z.string().max(10).optional() }))
    .optional(),
});

const encounter = z.object({
  resourceType: z.literal('Encounter'),
  id: z.string().optional(),
  status: z.enum(['planned', 'in-progress', 'finished', 'cancelled']),
  type: z.array(codeable).optional(),
  subject: reference,
  period: z.object({ start: dateTime, end: dateTime.optional() }),
  text: z.object({ div: z.string().max(20_000) }).optional(),
});

const condition = z.object({
  resourceType: z.literal('Condition'),
  clinicalStatus: z
    .object({ coding: z.array(z.object({ code: z.enum(['active', 'inactive', 'resolved']) })).min(1) })
    .optional(),
  code: codeable,
  subject: reference,
  onsetDateTime: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}/, { error: 'must start with a date, YYYY-MM-DD' })
    .optional(),
});

const observation = z.object({
  resourceType: z.literal('Observation'),
  status: z.enum(['registered', 'preliminary', 'final', 'amended']),
  code: codeable,
  subject: reference,
  effectiveDateTime: dateTime,
  valueQuantity: z.object({ value: z.number(), unit: z.string().max(50).optional() }).optional(),
  valueString: z.string().max(1000).optional(),
});

const carePlan = z.object({
  resourceType: z.literal('CarePlan'),
  id: z.string().optional(),
  status: z.enum(['draft', 'active', 'completed', 'revoked']),
  intent: z.literal('plan'),
  title: text(200),
  description: z.string().max(10_000).optional(),
  subject: reference,
  period: z.object({ start: date.optional(), end: date.optional() }).optional(),
});

const flag = z.object({
  resourceType: z.literal('Flag'),
  id: z.string().optional(),
  status: z.enum(['active', 'inactive']),
  category: z.array(z.object({ coding: z.array(z.object({ code: z.string().max(50) })).min(1) })).optional(),
  code: codeable,
  subject: reference,
});

const relatedPerson = z.object({
  resourceType: z.literal('RelatedPerson'),
  patient: reference,
  relationship: z.array(codeable).optional(),
  name: z
    .array(
      z.object({
        text: z.string().max(100).optional(),
        family: z.string().max(100).optional(),
        given: z.array(z.string()).optional(),
      }),
    )
    .min(1),
  telecom: z.array(z.object({ system: z.string(), value: z.string().max(100) })).optional(),
});

const medicationStatement = z.object({
  resourceType: z.literal('MedicationStatement'),
  status: z.enum(['active', 'completed', 'stopped']),
  medicationCodeableConcept: codeable,
  subject: reference,
  dosage: z.array(z.object({ text: z.string().max(200) })).optional(),
  effectivePeriod: z.object({ start: date.optional() }).optional(),
});

export const writableTypes = [
  'Patient',
  'RelatedPerson',
  'Encounter',
  'Condition',
  'Observation',
  'MedicationStatement',
  'CarePlan',
  'Flag',
] as const;
export const updatableTypes = ['Patient', 'Encounter', 'CarePlan', 'Flag'] as const;

export interface InputIssue {
  expression: string;
  diagnostics: string;
}

export class InvalidResource extends Error {
  constructor(readonly issues: InputIssue[]) {
    super(issues.map((i) => `${i.expression}: ${i.diagnostics}`).join('; '));
  }
}

function parse<T extends z.ZodType>(schema: T, type: string, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new InvalidResource(
      result.error.issues.map((issue) => ({
        expression: [type, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
          .join('')
          .replace(/\.\[/g, '['),
        diagnostics: issue.message,
      })),
    );
  return result.data;
}

const stripTags = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

/** Each writable resource, turned into what the record stores (with the person it is about). */
export function readInput(type: string, body: unknown) {
  if (!body || typeof body !== 'object' || (body as { resourceType?: unknown }).resourceType !== type)
    throw new InvalidResource([{ expression: `${type}.resourceType`, diagnostics: `must be '${type}'` }]);
  switch (type) {
    case 'Patient': {
      const p = parse(patient, type, body);
      const nhs = p.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM);
      if (nhs) {
        const problem = nhsNumberProblem(nhs.value);
        if (problem)
          throw new InvalidResource([
            {
              expression: 'Patient.identifier.value',
              diagnostics: `${nhs.value} is not a valid NHS number: ${problem}`,
            },
          ]);
      }
      const person: NewPerson = {
        nhsNumber: nhs ? normaliseNhsNumber(nhs.value) : null,
        givenName: p.name[0]!.given.join(' '),
        familyName: p.name[0]!.family,
        dateOfBirth: p.birthDate,
        gender: p.gender,
        address: p.address?.[0]?.text ?? null,
        postcode: p.address?.[0]?.postalCode ?? null,
        phone: p.telecom?.find((t) => t.system === 'phone')?.value ?? null,
      };
      return { type, id: p.id, personId: null as string | null, person };
    }
    case 'Encounter': {
      const e = parse(encounter, type, body);
      const code = e.type?.[0]?.coding?.find((c) => c.system === `${KILN_SYSTEM}/encounter-kind`)?.code;
      return {
        type,
        id: e.id,
        personId: idOf(e.subject),
        encounter: {
          kind: code && encounterKinds[code] ? code : 'assessment',
          status: e.status,
          startAt: new Date(e.period.start),
          endAt: e.period.end ? new Date(e.period.end) : null,
          notes: e.text ? stripTags(e.text.div).slice(0, 5000) || null : null,
        },
      };
    }
    case 'Condition': {
      const c = parse(condition, type, body);
      const display = nameOf(c.code);
      if (!display)
        throw new InvalidResource([
          { expression: 'Condition.code', diagnostics: 'needs a text or a coding with a display' },
        ]);
      return {
        type,
        personId: idOf(c.subject),
        condition: {
          code: c.code.coding?.find((x) => x.system === 'http://snomed.info/sct')?.code ?? null,
          display,
          clinicalStatus: c.clinicalStatus?.coding[0]?.code ?? 'active',
          onsetDate: c.onsetDateTime?.slice(0, 10) ?? null,
        },
      };
    }
    case 'Observation': {
      const o = parse(observation, type, body);
      const display = nameOf(o.code);
      if (!display)
        throw new InvalidResource([
          { expression: 'Observation.code', diagnostics: 'needs a text or a coding with a display' },
        ]);
      return {
        type,
        personId: idOf(o.subject),
        observation: {
          code: o.code.coding?.[0]?.code ?? 'note',
          display,
          value_text: o.valueString ?? null,
          value_quantity: o.valueQuantity?.value ?? null,
          unit: o.valueQuantity?.unit ?? null,
          effective_at: new Date(o.effectiveDateTime),
          source: 'api',
          alert_id: null,
        },
      };
    }
    case 'CarePlan': {
      const c = parse(carePlan, type, body);
      return {
        type,
        id: c.id,
        personId: idOf(c.subject),
        carePlan: {
          title: c.title,
          description: c.description ?? '',
          status: c.status,
          periodStart: c.period?.start ?? null,
          periodEnd: c.period?.end ?? null,
        },
      };
    }
    case 'Flag': {
      const f = parse(flag, type, body);
      const display = nameOf(f.code);
      if (!display) throw new InvalidResource([{ expression: 'Flag.code', diagnostics: 'needs a text' }]);
      return {
        type,
        id: f.id,
        personId: idOf(f.subject),
        flag: {
          status: f.status,
          code: f.code.coding?.[0]?.code ?? 'api-alert',
          display,
          category: f.category?.[0]?.coding[0]?.code ?? 'safety',
        },
      };
    }
    case 'RelatedPerson': {
      const r = parse(relatedPerson, type, body);
      const n = r.name[0]!;
      const name = n.text || [...(n.given ?? []), n.family ?? ''].join(' ').trim();
      if (!name)
        throw new InvalidResource([
          { expression: 'RelatedPerson.name', diagnostics: 'needs a text or a family name' },
        ]);
      return {
        type,
        personId: idOf(r.patient),
        relatedPerson: {
          name,
          relationship: (r.relationship?.[0] && nameOf(r.relationship[0])) || 'Contact',
          phone: r.telecom?.find((t) => t.system === 'phone')?.value ?? null,
          email: r.telecom?.find((t) => t.system === 'email')?.value ?? null,
          emergency_contact: Boolean(r.relationship?.some((x) => x.coding?.some((c) => c.code === 'C'))),
        },
      };
    }
    case 'MedicationStatement': {
      const m = parse(medicationStatement, type, body);
      const display = nameOf(m.medicationCodeableConcept);
      if (!display)
        throw new InvalidResource([
          { expression: 'MedicationStatement.medicationCodeableConcept', diagnostics: 'needs a text' },
        ]);
      return {
        type,
        personId: idOf(m.subject),
        medication: {
          code: m.medicationCodeableConcept.coding?.[0]?.code ?? null,
          display,
          dosage: m.dosage?.[0]?.text ?? null,
          status: m.status,
          effectiveFrom: m.effectivePeriod?.start ?? null,
        },
      };
    }
  }
  throw new InvalidResource([
    { expression: type, diagnostics: `${type} cannot be created through this API` },
  ]);
}

export function assertId(id: string, numeric = false) {
  return numeric ? /^\d{1,18}$/.test(id) : isUuid(id);
}
