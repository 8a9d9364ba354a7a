import { testCards } from './sandbox.ts';

export interface CardForm {
  cardNumber: string;
  expiryMonth: string;
  expiryYear: string;
  cardholderName: string;
  cvc: string;
}

export interface FieldError {
  field: string;
  text: string;
}

/** Passes the Luhn check every real card number passes. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Checks card details as GOV.UK Pay's card page does, one message per field. */
export function checkCard(form: CardForm, now = new Date()): { errors: FieldError[]; number: string } {
  const errors: FieldError[] = [];
  const number = form.cardNumber.replace(/[\s-]/g, '');
  if (!number) errors.push({ field: 'cardNumber', text: 'Enter your card number' });
  else if (!/^\d{12,19}$/.test(number) || !luhnValid(number))
    errors.push({ field: 'cardNumber', text: 'Enter a valid card number' });
  else if (!testCards[number])
    errors.push({
      field: 'cardNumber',
      text: 'This is a test payment page: use one of the test card numbers listed',
    });

  const month = Number(form.expiryMonth);
  let year = Number(form.expiryYear);
  if (!form.expiryMonth.trim() || !form.expiryYear.trim()) {
    errors.push({ field: 'expiryMonth', text: 'Enter the expiry date' });
  } else if (
    !Number.isInteger(month) ||
    month < 1 ||
    month > 12 ||
    !/^\d{2}(\d{2})?$/.test(form.expiryYear.trim())
  ) {
    errors.push({ field: 'expiryMonth', text: 'Enter a real expiry date, for example 03 30' });
  } else {
    if (year < 100) year += 2000;
    const endOfMonth = new Date(Date.UTC(year, month, 1));
    if (endOfMonth <= now)
      errors.push({ field: 'expiryMonth', text: 'The expiry date must be in the future' });
  }
  if (!form.cardholderName.trim())
    errors.push({ field: 'cardholderName', text: 'Enter the name as it appears on the card' });
  else if (form.cardholderName.length > 100)
    errors.push({ field: 'cardholderName', text: 'The name must be 100 characters or fewer' });
  if (!form.cvc.trim()) errors.push({ field: 'cvc', text: 'Enter the card security code' });
  else if (!/^\d{3,4}$/.test(form.cvc.trim()))
    errors.push({ field: 'cvc', text: 'The card security code must be 3 or 4 digits' });
  return { errors, number };
}
