/**
 * Bacs Standard 18 records (the 100-character data record, plus a 6-character processing day).
 *
 *   1-6   destination sorting code        7-14  destination account number
 *   15    destination account type (0)    16-17 transaction code
 *   18-23 originating sorting code        24-31 originating account number
 *   32-35 free format (spaces)            36-46 amount in pence, 11 digits
 *   47-64 originator's name, 18           65-82 reference (mandate reference), 18
 *   83-100 destination account name, 18   101-106 space and processing day as YYDDD
 *
 * Transaction codes: 0N new instruction, 0C cancelled instruction (AUDDIS); 01 first collection,
 * 17 collection; 99 the contra record that credits the council with the file's collections.
 */
export type TransactionCode = '0N' | '0C' | '01' | '17' | '99';

export interface Originator {
  /** Service user number. */
  sun: string;
  sortCode: string;
  accountNumber: string;
  name: string;
}

export interface Standard18Record {
  sortCode: string;
  accountNumber: string;
  code: TransactionCode;
  amount: number;
  reference: string;
  accountName: string;
}

/** Bacs accepts capital letters, digits, space and . & / - only. */
export function bacsText(value: string, length: number): string {
  return value
    .toUpperCase()
    .replace(/[^A-Z0-9 .&/-]/g, ' ')
    .slice(0, length)
    .padEnd(length, ' ');
}

export function julianDay(date: Date): string {
  const start = Date.UTC(date.getUTCFullYear(), 0, 0);
  const day = Math.floor((date.getTime() - start) / 86_400_000);
  return `${String(date.getUTCFullYear()).slice(2)}${String(day).padStart(3, '0')}`;
}

export function standard18Record(r: Standard18Record, originator: Originator, processingDay: Date): string {
  if (!/^\d{6}$/.test(r.sortCode) || !/^\d{8}$/.test(r.accountNumber))
    throw new Error('Bad bank details in a Bacs record');
  if (!Number.isInteger(r.amount) || r.amount < 0 || r.amount > 99_999_999_999)
    throw new Error('Bad amount in a Bacs record');
  const line =
    r.sortCode +
    r.accountNumber +
    '0' +
    r.code +
    originator.sortCode +
    originator.accountNumber +
    '    ' +
    String(r.amount).padStart(11, '0') +
    bacsText(originator.name, 18) +
    bacsText(r.reference, 18) +
    bacsText(r.accountName, 18) +
    ' ' +
    julianDay(processingDay);
  if (line.length !== 106) throw new Error(`A Standard 18 record must be 106 characters, not ${line.length}`);
  return line;
}

/**
 * A submission file: a UHL1 user header label, the AUDDIS instructions and collections, one contra
 * per day of collections, and a UTL1 trailer with the debit and credit totals and counts.
 */
export function standard18File(
  records: Standard18Record[],
  originator: Originator,
  processingDay: Date,
): { text: string; debits: number; debitCount: number } {
  const lines = records.map((r) => standard18Record(r, originator, processingDay));
  const collections = records.filter((r) => r.code === '01' || r.code === '17');
  const debits = collections.reduce((s, r) => s + r.amount, 0);
  if (collections.length) {
    lines.push(
      standard18Record(
        {
          sortCode: originator.sortCode,
          accountNumber: originator.accountNumber,
          code: '99',
          amount: debits,
          reference: 'CONTRA',
          accountName: originator.name,
        },
        originator,
        processingDay,
      ),
    );
  }
  const header = `UHL1 ${julianDay(processingDay)}${originator.sun.padStart(6, '0')}00000001`.padEnd(80, ' ');
  const trailer = (
    'UTL1' +
    String(debits).padStart(13, '0') +
    String(debits).padStart(13, '0') +
    String(collections.length).padStart(7, '0') +
    String(collections.length ? 1 : 0).padStart(7, '0')
  ).padEnd(80, ' ');
  return { text: [header, ...lines, trailer].join('\r\n') + '\r\n', debits, debitCount: collections.length };
}

/** Splits an annual amount into instalments in whole pence; the first carries the odd pence, as bills do. */
export function splitInstalments(total: number, count: number): number[] {
  const each = Math.floor(total / count);
  return [total - each * (count - 1), ...Array.from({ length: count - 1 }, () => each)];
}
