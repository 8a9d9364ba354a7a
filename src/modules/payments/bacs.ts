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

/** Blanks for a label field. */
const blank = (n: number) => ' '.repeat(n);

function label(text: string): string {
  if (text.length !== 80)
    throw new Error(`A Bacs label must be 80 characters, not ${text.length}: ${text.slice(0, 4)}`);
  return text;
}

/**
 * The Standard 18 labels around the data records, each 80 characters:
 *
 *   VOL1  1-4 VOL1, 5-10 submission serial number, 11 accessibility, 12-41 blank,
 *         42-47 service user number (owner), 48-79 blank, 80 label standard level 1
 *   HDR1  1-4 HDR1, 5-21 file identifier (A, SUN, S, blanks, SUN), 22-27 set identifier (the
 *         serial), 28-31 section 0001, 32-35 sequence 0001, 36-41 blank, 42-47 creation date
 *         and 48-53 expiry date as space + YYDDD, 54 blank, 55-60 block count 000000, 61-80 blank
 *   HDR2  1-4 HDR2, 5 record format F, 6-10 block length, 11-15 record length, 16-50 blank,
 *         51-52 buffer offset 00, 53-80 blank
 *   UHL1  1-4 UHL1, 5-10 processing day as space + YYDDD, 11-20 receiving party (SUN),
 *         21-22 currency 00, 23-28 country 000000, 29-37 work code "1 DAILY", 38-40 file
 *         number, 41-80 blank
 *   EOF1, EOF2  as HDR1 and HDR2
 *   UTL1  1-4 UTL1, 5-17 debit total, 18-30 credit total (pence), 31-37 debit count,
 *         38-44 credit count, 45-80 blank
 */
export function standard18Labels(
  originator: Originator,
  options: { serial: string; created: Date; processingDay: Date },
) {
  const sun = originator.sun.padStart(6, '0');
  if (!/^\d{6}$/.test(sun)) throw new Error('The service user number must be 6 digits');
  const serial = options.serial.padStart(6, '0').slice(-6);
  if (!/^[A-Z0-9]{6}$/.test(serial) || /^0+$/.test(serial))
    throw new Error('The submission serial must be 6 letters or digits, not all zeros');
  const created = ` ${julianDay(options.created)}`;
  const expires = ` ${julianDay(new Date(options.created.getTime() + 30 * 86_400_000))}`;
  const vol1 = label(`VOL1${serial} ${blank(30)}${sun}${blank(32)}1`);
  const hdr1Body = `A${sun}S${blank(3)}${sun}${serial}00010001${blank(6)}${created}${expires} 000000${blank(20)}`;
  const hdr2Body = `F0200000106${blank(35)}00${blank(28)}`;
  return {
    vol1,
    hdr1: label(`HDR1${hdr1Body}`),
    hdr2: label(`HDR2${hdr2Body}`),
    uhl1: label(
      `UHL1 ${julianDay(options.processingDay)}${sun}${blank(4)}00000000${'1 DAILY'.padEnd(9, ' ')}001${blank(40)}`,
    ),
    eof1: label(`EOF1${hdr1Body}`),
    eof2: label(`EOF2${hdr2Body}`),
    utl1: (debits: number, credits: number, debitCount: number, creditCount: number) =>
      label(
        `UTL1${String(debits).padStart(13, '0')}${String(credits).padStart(13, '0')}` +
          `${String(debitCount).padStart(7, '0')}${String(creditCount).padStart(7, '0')}${blank(36)}`,
      ),
  };
}

/**
 * A submission file: the VOL1, HDR1, HDR2 and UHL1 labels, the AUDDIS instructions and
 * collections, one contra for the day's collections, then EOF1, EOF2 and the UTL1 trailer with the
 * debit and credit totals and counts. Lines end CR LF.
 */
export function standard18File(
  records: Standard18Record[],
  originator: Originator,
  processingDay: Date,
  options: { serial: string; created: Date } = { serial: '000001', created: processingDay },
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
  const labels = standard18Labels(originator, { ...options, processingDay });
  const text = [
    labels.vol1,
    labels.hdr1,
    labels.hdr2,
    labels.uhl1,
    ...lines,
    labels.eof1,
    labels.eof2,
    labels.utl1(debits, debits, collections.length, collections.length ? 1 : 0),
  ].join('\r\n');
  return { text: text + '\r\n', debits, debitCount: collections.length };
}

/** Splits an annual amount into instalments in whole pence; the first carries the odd pence, as bills do. */
export function splitInstalments(total: number, count: number): number[] {
  const each = Math.floor(total / count);
  return [total - each * (count - 1), ...Array.from({ length: count - 1 }, () => each)];
}
