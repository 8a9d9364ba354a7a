/** The NHS number's FHIR identifier system. */
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

/** Digits only: people write NHS numbers as "943 476 5919" or "943-476-5919". */
export function normaliseNhsNumber(value: string): string {
  return value.replace(/[\s-]/g, '');
}

/**
 * Whether a 10-digit NHS number has a valid check digit (modulus 11): the first nine digits are
 * weighted 10 down to 2, the remainder of the sum by 11 is taken from 11, 11 becomes 0, and 10 is
 * never issued.
 */
export function isValidNhsNumber(value: string): boolean {
  const digits = normaliseNhsNumber(value);
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  if (check === 10) return false;
  return check === Number(digits[9]);
}

/** Why an NHS number is refused, in words for the person who typed it, or null when it is valid. */
export function nhsNumberProblem(value: string): string | null {
  const digits = normaliseNhsNumber(value);
  if (!digits) return 'Enter an NHS number';
  if (!/^\d+$/.test(digits)) return 'NHS number must only include numbers';
  if (digits.length !== 10) return 'NHS number must be 10 digits';
  if (!isValidNhsNumber(digits)) return 'Enter a valid NHS number: the last digit does not match the others';
  return null;
}

/** Shown the NHS way: 3 3 4 digits. */
export function formatNhsNumber(value: string | null): string {
  if (!value) return '';
  const d = normaliseNhsNumber(value);
  return d.length === 10 ? `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}` : value;
}

/** A valid NHS number from nine digits (its check digit added), or null when none can be made. */
export function withCheckDigit(nine: string): string | null {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  return check === 10 ? null : `${nine}${check}`;
}
