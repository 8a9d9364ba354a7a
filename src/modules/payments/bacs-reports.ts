/**
 * Bacs reports, read as the XML Bacs sends: ARUDD (collections returned unpaid) and ADDACS
 * (instructions cancelled or changed by the payer's bank). Only the elements Kiln acts on are
 * read; an element missing what Kiln needs refuses the whole report, with its line number.
 */
export interface ReturnedDebit {
  line: number;
  reference: string;
  amount: number;
  returnCode: string;
  description: string;
}

export interface InstructionAdvice {
  line: number;
  reference: string;
  reasonCode: string;
}

// A Map, not an object: ARUDD has an attribute called valueOf.
function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) out.set(m[1]!, m[2]!);
  return out;
}

function elements(xml: string, name: string): Array<{ line: number; attrs: Map<string, string> }> {
  const out: Array<{ line: number; attrs: Map<string, string> }> = [];
  for (const m of xml.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'g'))) {
    out.push({ line: xml.slice(0, m.index).split('\n').length, attrs: attributes(m[1]!) });
  }
  return out;
}

function wellFormed(xml: string, report: string): string[] {
  if (!/^\s*(<\?xml[^>]*>\s*)?<BACSDocument\b/.test(xml))
    return [`Line 1: this is not a Bacs ${report} report (no BACSDocument)`];
  if (!xml.includes('</BACSDocument>'))
    return [`The ${report} report is cut short (no closing BACSDocument)`];
  return [];
}

const mandateRef = /^DD-[A-Z0-9]{4}-[A-Z0-9]{2}$/;

export function parseArudd(xml: string): { items: ReturnedDebit[]; errors: string[] } {
  const errors = wellFormed(xml, 'ARUDD');
  if (errors.length) return { items: [], errors };
  const items: ReturnedDebit[] = [];
  for (const { line, attrs } of elements(xml, 'ReturnedDebitItem')) {
    const before = errors.length;
    if (!mandateRef.test(attrs.get('ref') ?? ''))
      errors.push(
        `Line ${line}: the reference "${attrs.get('ref') ?? ''}" is not a Kiln Direct Debit reference`,
      );
    if (!/^\d{1,9}\.\d{2}$/.test(attrs.get('valueOf') ?? ''))
      errors.push(`Line ${line}: the amount "${attrs.get('valueOf') ?? ''}" is not in pounds and pence`);
    if (!/^\w{1,4}$/.test(attrs.get('returnCode') ?? ''))
      errors.push(`Line ${line}: there is no return code`);
    if (errors.length === before)
      items.push({
        line,
        reference: attrs.get('ref')!,
        amount: Math.round(Number(attrs.get('valueOf')) * 100),
        returnCode: attrs.get('returnCode')!,
        description: (attrs.get('returnDescription') ?? 'Returned unpaid').slice(0, 100),
      });
  }
  if (!errors.length && !items.length) errors.push('The ARUDD report lists no returned debits');
  return errors.length ? { items: [], errors } : { items, errors };
}

export function parseAddacs(xml: string): { items: InstructionAdvice[]; errors: string[] } {
  const errors = wellFormed(xml, 'ADDACS');
  if (errors.length) return { items: [], errors };
  const items: InstructionAdvice[] = [];
  for (const { line, attrs } of elements(xml, 'MessagingAdvice')) {
    const before = errors.length;
    if (!mandateRef.test(attrs.get('reference') ?? ''))
      errors.push(
        `Line ${line}: the reference "${attrs.get('reference') ?? ''}" is not a Kiln Direct Debit reference`,
      );
    if (!/^[0-9A-Z]$/.test(attrs.get('reason-code') ?? ''))
      errors.push(`Line ${line}: there is no reason code`);
    if (errors.length === before)
      items.push({ line, reference: attrs.get('reference')!, reasonCode: attrs.get('reason-code')! });
  }
  if (!errors.length && !items.length) errors.push('The ADDACS report lists no advices');
  return errors.length ? { items: [], errors } : { items, errors };
}

/** ADDACS reason codes that end an instruction (0 bank cancelled, 1 payer cancelled, 2 payer deceased, B account closed). */
export const cancellingReasons: Record<string, string> = {
  '0': 'Your bank cancelled the Direct Debit',
  '1': 'The Direct Debit was cancelled at your request',
  '2': 'The account holder has died',
  B: 'The account has been closed',
};
