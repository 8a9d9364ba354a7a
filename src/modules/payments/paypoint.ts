/**
 * Pay-point payment references and the pay-point operator's daily transaction file.
 *
 * A reference is 20 digits: the council's prefix 9826, a 15-digit serial and a Luhn check digit,
 * so a mistyped or misread reference is caught before it books money anywhere.
 */
export const PAYPOINT_PREFIX = '9826';

export function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function paypointReference(serial: number): string {
  const body = `${PAYPOINT_PREFIX}${String(serial).padStart(15, '0')}`;
  return body + luhnCheckDigit(body);
}

export function isValidPaypointReference(reference: string): boolean {
  return /^\d{20}$/.test(reference) && luhnCheckDigit(reference.slice(0, 19)) === reference[19];
}

/** Shown in groups of four, as printed under the barcode. */
export function groupedReference(reference: string): string {
  return reference.replace(/(\d{4})(?=\d)/g, '$1 ');
}

export const PAYPOINT_FILE_HEADER = 'transaction_id,paid_at,payment_reference,amount_pence,outlet_id';

export interface PaypointLine {
  line: number;
  transactionId: string;
  paidAt: Date;
  reference: string;
  amount: number;
  outletId: string;
}

/**
 * Reads a daily transaction file. Either every line is good and all are returned, or the file is
 * refused with one message per bad line: money is never booked from half a file.
 */
export function parsePaypointFile(
  text: string,
  maxLines = 100_000,
): { lines: PaypointLine[]; errors: string[] } {
  const errors: string[] = [];
  const lines: PaypointLine[] = [];
  const rows = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (rows.length && rows.at(-1)!.trim() === '') rows.pop();
  if (!rows.length) return { lines, errors: ['The file is empty'] };
  if (rows[0]!.trim() !== PAYPOINT_FILE_HEADER)
    return { lines, errors: [`Line 1: the header must be exactly ${PAYPOINT_FILE_HEADER}`] };
  if (rows.length - 1 > maxLines)
    return { lines, errors: [`The file has more than ${maxLines} transactions`] };
  const seen = new Set<string>();
  rows.slice(1).forEach((row, index) => {
    const n = index + 2;
    if (row.trim() === '') return void errors.push(`Line ${n}: the line is empty`);
    const cells = row.split(',').map((c) => c.trim());
    if (cells.length !== 5)
      return void errors.push(`Line ${n}: expected 5 values separated by commas, found ${cells.length}`);
    const [transactionId, paidAtText, reference, amountText, outletId] = cells as [
      string,
      string,
      string,
      string,
      string,
    ];
    const before = errors.length;
    if (!/^[A-Za-z0-9-]{1,40}$/.test(transactionId))
      errors.push(`Line ${n}: the transaction id must be 1 to 40 letters, digits or dashes`);
    else if (seen.has(transactionId))
      errors.push(`Line ${n}: transaction ${transactionId} appears twice in the file`);
    seen.add(transactionId);
    const paidAt = new Date(paidAtText);
    if (
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(paidAtText) ||
      Number.isNaN(paidAt.getTime())
    )
      errors.push(`Line ${n}: paid_at must be a date and time like 2026-11-25T10:15:00Z`);
    if (!/^\d{20}$/.test(reference)) errors.push(`Line ${n}: the payment reference must be 20 digits`);
    else if (!isValidPaypointReference(reference))
      errors.push(`Line ${n}: the payment reference ${reference} fails its check digit`);
    if (!/^\d{1,8}$/.test(amountText) || Number(amountText) < 1 || Number(amountText) > 10_000_000)
      errors.push(`Line ${n}: the amount must be a whole number of pence from 1 to 10000000`);
    if (!/^[A-Za-z0-9-]{1,40}$/.test(outletId))
      errors.push(`Line ${n}: the outlet id must be 1 to 40 letters, digits or dashes`);
    if (errors.length === before)
      lines.push({ line: n, transactionId, paidAt, reference, amount: Number(amountText), outletId });
  });
  return errors.length ? { lines: [], errors } : { lines, errors };
}
