import type { Category } from './categories.ts';

/** Open311 answers in JSON or XML, chosen by the path's extension. */
export type Format = 'json' | 'xml';

type XmlValue = string | number | boolean | null | undefined | XmlValue[] | { [k: string]: XmlValue };

const escape = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

// Arrays repeat their item element: { values: [{key}] } with itemNames.values = 'value'.
function toXml(name: string, value: XmlValue, itemNames: Record<string, string>): string {
  if (value === null || value === undefined) return `<${name}/>`;
  if (Array.isArray(value)) {
    const item = itemNames[name] ?? 'item';
    return `<${name}>${value.map((v) => toXml(item, v, itemNames)).join('')}</${name}>`;
  }
  if (typeof value === 'object')
    return `<${name}>${Object.entries(value)
      .map(([k, v]) => toXml(k, v, itemNames))
      .join('')}</${name}>`;
  return `<${name}>${escape(String(value))}</${name}>`;
}

const itemNames = {
  services: 'service',
  service_requests: 'request',
  attributes: 'attribute',
  values: 'value',
  errors: 'error',
  service_request_updates: 'request_update',
};

/** The body for a list: a JSON array, or an XML root element repeating its item. */
export function serialise(
  format: Format,
  root: keyof typeof itemNames | 'service_definition',
  value: XmlValue,
): string {
  if (format === 'json') return JSON.stringify(value);
  return `<?xml version="1.0" encoding="utf-8"?>${toXml(root, value, itemNames)}`;
}

export const contentType = (format: Format) =>
  format === 'json' ? 'application/json; charset=utf-8' : 'text/xml; charset=utf-8';

/** An Open311 service: one of the categories. */
export function serviceOf(category: Category) {
  return {
    service_code: category.code,
    service_name: category.name,
    description: `Report ${category.noun} in Kilnford`,
    metadata: category.questions.length > 0,
    type: 'realtime',
    keywords: category.keywords,
    group: category.group,
  };
}

/** A service definition: the category's questions as Open311 attributes. */
export function definitionOf(category: Category) {
  return {
    service_code: category.code,
    attributes: category.questions.map((q, i) => ({
      variable: true,
      code: q.id,
      datatype: q.type === 'text' ? 'string' : 'singlevaluelist',
      required: q.required,
      datatype_description: q.hint ?? null,
      order: i + 1,
      description: q.text,
      ...(q.options ? { values: q.options.map((o) => ({ key: o.value, name: o.text })) } : {}),
    })),
  };
}
