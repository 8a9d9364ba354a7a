import bwipjs from 'bwip-js';
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { formatLondon } from '../../platform/time.ts';
import { printable, wrap } from '../../platform/pdf-text.ts';
import { groupedReference } from './paypoint.ts';

// Council tax bills and payment receipts as PDF, drawn with pdf-lib's standard fonts (no font
// files to ship). The pay-point barcode is drawn by bwip-js, the same Code 128 as the web card.

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 56;
const INK = rgb(0.05, 0.05, 0.05);
const GREY = rgb(0.3, 0.3, 0.3);
const RULE = rgb(0.7, 0.7, 0.7);

export function pounds(pence: number): string {
  const sign = pence < 0 ? '-' : '';
  return `${sign}£${(Math.abs(pence) / 100).toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

type FontName = 'regular' | 'bold';

class Writer {
  page!: PDFPage;
  y = 0;
  constructor(
    readonly doc: PDFDocument,
    readonly fonts: Record<FontName, PDFFont>,
    private readonly footer: string,
  ) {
    this.newPage();
  }
  newPage() {
    this.page = this.doc.addPage(A4);
    this.y = A4[1] - MARGIN;
    this.page.drawText(printable(this.footer), {
      x: MARGIN,
      y: 28,
      size: 8,
      font: this.fonts.regular,
      color: GREY,
    });
  }
  ensure(height: number) {
    if (this.y - height < MARGIN) this.newPage();
  }
  text(content: string, options: { size?: number; font?: FontName; gap?: number; x?: number } = {}) {
    const size = options.size ?? 11;
    const font = this.fonts[options.font ?? 'regular'];
    const lineHeight = size * 1.35;
    const x = options.x ?? MARGIN;
    for (const line of wrap(printable(content), font, size, A4[0] - MARGIN - x)) {
      this.ensure(lineHeight);
      this.y -= lineHeight;
      this.page.drawText(line, { x, y: this.y, size, font, color: INK });
    }
    this.y -= options.gap ?? size * 0.6;
  }
  /** Rows of cells at fixed x positions; numbers right-aligned where `right` says so. */
  table(columns: Array<{ x: number; right?: boolean }>, rows: string[][], header?: string[]) {
    const size = 10;
    const lineHeight = size * 1.6;
    const draw = (cells: string[], font: PDFFont) => {
      this.ensure(lineHeight);
      this.y -= lineHeight;
      cells.forEach((cell, i) => {
        const col = columns[i]!;
        const text = printable(cell);
        const x = col.right ? col.x - font.widthOfTextAtSize(text, size) : col.x;
        this.page.drawText(text, { x, y: this.y, size, font, color: INK });
      });
    };
    if (header) {
      draw(header, this.fonts.bold);
      this.page.drawLine({
        start: { x: MARGIN, y: this.y - 4 },
        end: { x: A4[0] - MARGIN, y: this.y - 4 },
        thickness: 0.5,
        color: RULE,
      });
    }
    for (const row of rows) draw(row, this.fonts.regular);
    this.y -= 10;
  }
  rule() {
    this.y -= 6;
    this.page.drawLine({
      start: { x: MARGIN, y: this.y },
      end: { x: A4[0] - MARGIN, y: this.y },
      thickness: 0.5,
      color: RULE,
    });
    this.y -= 12;
  }
}

async function start(title: string, author: string, footer: string) {
  const doc = await PDFDocument.create();
  doc.setTitle(title);
  doc.setAuthor(author);
  doc.setCreator('Kiln');
  doc.setProducer('Kiln');
  doc.setLanguage('en-GB');
  const fonts = {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
  };
  return new Writer(doc, fonts, footer);
}

/** The pay-point barcode as a PNG for the PDF bill. */
export async function code128Png(text: string): Promise<Buffer> {
  return bwipjs.toBuffer({ bcid: 'code128', text, height: 12, scale: 3, includetext: false });
}

export interface BillInput {
  councilName: string;
  account: {
    reference: string;
    name: string;
    propertyAddress: string;
    band: string;
    yearLabel: string;
    grossCharge: number;
    discountText: string | null;
    annualCharge: number;
  };
  issuedOn: string;
  instalments: Array<{ dueDate: string; amount: number }>;
  paymentMethod: string;
  paypointReference: string | null;
}

/** A council tax demand notice: the charge, the instalments, how to pay and the pay-point barcode. */
export async function councilTaxBillPdf(input: BillInput): Promise<Buffer> {
  const a = input.account;
  const w = await start(
    `Council tax bill ${a.yearLabel}: account ${a.reference}`,
    input.councilName,
    `${input.councilName} - council tax account ${a.reference} - issued ${formatLondon(input.issuedOn, false)}`,
  );
  w.text(input.councilName, { size: 10, font: 'bold' });
  w.text(`Council tax bill ${a.yearLabel}`, { size: 20, font: 'bold', gap: 12 });
  w.text(a.name, { font: 'bold', gap: 2 });
  w.text(a.propertyAddress, { gap: 12 });
  w.table(
    [{ x: MARGIN }, { x: 300 }],
    [
      ['Account number', a.reference],
      ['Date of bill', formatLondon(input.issuedOn, false)],
      ['Property band', a.band],
      ['How you pay', input.paymentMethod],
    ],
  );
  w.rule();
  w.text('Your charge', { size: 13, font: 'bold' });
  const lines: string[][] = [[`Council tax for band ${a.band}, 1 April to 31 March`, pounds(a.grossCharge)]];
  if (a.discountText) lines.push([a.discountText, pounds(a.annualCharge - a.grossCharge)]);
  lines.push(['Amount to pay for the year', pounds(a.annualCharge)]);
  w.table([{ x: MARGIN }, { x: A4[0] - MARGIN, right: true }], lines);
  w.text('Instalments', { size: 13, font: 'bold' });
  w.table(
    [{ x: MARGIN }, { x: 300, right: true }],
    input.instalments.map((i, n) => [`${n + 1}. ${formatLondon(i.dueDate, false)}`, pounds(i.amount)]),
    ['Due on or before', 'Amount'],
  );
  w.rule();
  w.text('How to pay', { size: 13, font: 'bold' });
  w.text(
    'Online by card in your account, or by Direct Debit (you choose the 1st, 15th or 28th of the month). ' +
      'In cash at any shop with a PayPoint or Payzone sign, or at a Post Office, with the barcode below.',
  );
  if (input.paypointReference) {
    const png = await w.doc.embedPng(await code128Png(input.paypointReference));
    const width = 260;
    const height = (png.height / png.width) * width;
    w.ensure(height + 40);
    w.y -= height + 6;
    w.page.drawImage(png, { x: MARGIN, y: w.y, width, height });
    w.y -= 4;
    w.text(`Payment reference: ${groupedReference(input.paypointReference)}`, { font: 'bold', size: 12 });
  }
  w.text(
    'If you cannot pay, contact us straight away: we can agree a different arrangement. ' +
      'You may be able to get Council Tax Reduction if you are on a low income.',
    { size: 10 },
  );
  return Buffer.from(await w.doc.save());
}

export interface ReceiptInput {
  councilName: string;
  payment: {
    reference: string;
    description: string;
    amount: number;
    method: string;
    paidBy: string;
    succeededAt: Date;
  };
  refunded: number;
  payerName: string | null;
}

/** A receipt for one successful payment. */
export async function receiptPdf(input: ReceiptInput): Promise<Buffer> {
  const p = input.payment;
  const w = await start(
    `Receipt for payment ${p.reference}`,
    input.councilName,
    `${input.councilName} - receipt for payment ${p.reference}`,
  );
  w.text(input.councilName, { size: 10, font: 'bold' });
  w.text('Payment receipt', { size: 20, font: 'bold', gap: 12 });
  if (input.payerName) w.text(`Received from ${input.payerName}`, { gap: 10 });
  const rows = [
    ['Payment reference', p.reference],
    ['Payment for', p.description],
    ['Amount paid', pounds(p.amount)],
    ['Paid on', formatLondon(p.succeededAt, true)],
    ['Paid by', p.paidBy],
  ];
  if (input.refunded > 0) rows.push(['Refunded since', pounds(input.refunded)]);
  w.table([{ x: MARGIN }, { x: 200 }], rows);
  w.rule();
  w.text('Thank you. Keep this receipt for your records.', {
    size: 10,
  });
  return Buffer.from(await w.doc.save());
}
