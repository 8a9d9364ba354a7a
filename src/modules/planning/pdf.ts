import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { formatLondon } from '../../platform/time.ts';

export interface DecisionNotice {
  councilName: string;
  reference: string;
  address: string;
  applicant: string;
  type: string;
  description: string;
  received: string;
  decided: string;
  decision: 'granted' | 'refused';
  /** Conditions of a grant, or reasons for refusal. */
  terms: string[];
  officer: string;
}

function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      const next = line ? `${line} ${word}` : word;
      if (font.widthOfTextAtSize(next, size) > width && line) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
  }
  return lines;
}

// Standard fonts cover WinAnsi only: replace what they cannot draw.
const printable = (s: string) =>
  s
    .replace(/[‘’]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/[–—]/g, '-')
    .replace(/[^\x20-\x7e£\n]/g, '?');

/** The formal decision notice, as a PDF: what was decided, when, and the conditions or reasons. */
export async function decisionNoticePdf(n: DecisionNotice): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(`Decision notice ${n.reference}`);
  pdf.setAuthor(n.councilName);
  pdf.setSubject(`${n.type}: ${n.address}`);
  pdf.setLanguage('en-GB');
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const margin = 56;
  const width = 595.28 - margin * 2;
  let page: PDFPage = pdf.addPage([595.28, 841.89]);
  let y = 841.89 - margin;
  const write = (
    text: string,
    options: { size?: number; font?: PDFFont; gap?: number; indent?: number } = {},
  ) => {
    const size = options.size ?? 11;
    const font = options.font ?? regular;
    const indent = options.indent ?? 0;
    for (const line of wrap(printable(text), font, size, width - indent)) {
      if (y < margin + size) {
        page = pdf.addPage([595.28, 841.89]);
        y = 841.89 - margin;
      }
      page.drawText(line, { x: margin + indent, y, size, font, color: rgb(0.04, 0.05, 0.05) });
      y -= size * 1.35;
    }
    y -= options.gap ?? 6;
  };
  const day = (d: string) => formatLondon(`${d}T12:00:00Z`, false);

  write(n.councilName, { size: 16, font: bold, gap: 2 });
  write('Town and Country Planning Act 1990', { size: 10, gap: 14 });
  write(
    n.decision === 'granted' ? 'Decision notice: permission granted' : 'Decision notice: permission refused',
    {
      size: 18,
      font: bold,
      gap: 12,
    },
  );
  const rows: Array<[string, string]> = [
    ['Reference', n.reference],
    ['Application', n.type],
    ['Site', n.address],
    ['Applicant', n.applicant],
    ['Proposal', n.description],
    ['Received', day(n.received)],
    ['Decided', day(n.decided)],
  ];
  for (const [label, value] of rows) {
    write(label, { font: bold, gap: 0 });
    write(value || '-', { gap: 8 });
  }
  y -= 6;
  write(
    n.decision === 'granted'
      ? `${n.councilName} grants permission for the development described above, subject to the following conditions.`
      : `${n.councilName} refuses permission for the development described above, for the following reasons.`,
    { gap: 10 },
  );
  write(n.decision === 'granted' ? 'Conditions' : 'Reasons for refusal', { size: 13, font: bold, gap: 6 });
  n.terms.forEach((term, i) => write(`${i + 1}. ${term}`, { indent: 8, gap: 6 }));
  y -= 10;
  write(`Signed on behalf of the council by ${n.officer || 'the planning service'}.`, { gap: 10 });
  write(
    n.decision === 'granted'
      ? 'This permission does not remove the need for any other consent, such as building regulations approval.'
      : 'If you disagree with this decision you can appeal to the Planning Inspectorate within 12 weeks of the date of this notice (6 months for most other applications).',
    { size: 9 },
  );
  return pdf.save();
}

export interface NeighbourLetters {
  councilName: string;
  /** Where letters by post go. */
  postalAddress: string;
  reference: string;
  site: string;
  type: string;
  description: string;
  /** The day the letters are dated, and the last day for comments (YYYY-MM-DD). */
  sent: string;
  closes: string;
  /** The application's public page, where comments are made online. */
  commentUrl: string;
  addresses: string[];
}

/**
 * Neighbour notification letters, as one PDF to print: a page for each address, to the occupier,
 * with the application, how to comment online and by post, and the last day for comments.
 */
export async function neighbourLettersPdf(n: NeighbourLetters): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(`Neighbour notification letters ${n.reference}`);
  pdf.setAuthor(n.councilName);
  pdf.setSubject(`${n.type}: ${n.site}`);
  pdf.setLanguage('en-GB');
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const margin = 56;
  const width = 595.28 - margin * 2;
  const day = (d: string) => formatLondon(`${d}T12:00:00Z`, false);
  for (const address of n.addresses) {
    const page = pdf.addPage([595.28, 841.89]);
    let y = 841.89 - margin;
    const write = (text: string, options: { size?: number; font?: PDFFont; gap?: number } = {}) => {
      const size = options.size ?? 11;
      const font = options.font ?? regular;
      for (const line of wrap(printable(text), font, size, width)) {
        // A letter is one page: what does not fit is cut rather than spilling onto the next letter.
        if (y < margin) return;
        page.drawText(line, { x: margin, y, size, font, color: rgb(0.04, 0.05, 0.05) });
        y -= size * 1.35;
      }
      y -= options.gap ?? 6;
    };
    write(n.councilName, { size: 16, font: bold, gap: 2 });
    write(`Planning Services, ${n.postalAddress}`, { size: 9, gap: 20 });
    write('The occupier', { gap: 0 });
    for (const part of address.split(/,\s*/)) write(part, { gap: 0 });
    y -= 14;
    write(day(n.sent), { gap: 14 });
    write(`Planning application ${n.reference}`, { size: 14, font: bold, gap: 8 });
    write('Dear occupier,', { gap: 8 });
    write(
      `We have received a planning application for a site near you. You can look at it and tell us what you think before we decide it.`,
      { gap: 10 },
    );
    const rows: Array<[string, string]> = [
      ['Site', n.site],
      ['Application', n.type],
      ['Proposal', n.description],
      ['Reference', n.reference],
    ];
    for (const [label, value] of rows) {
      write(label, { font: bold, gap: 0 });
      write(value || '-', { gap: 6 });
    }
    y -= 4;
    write(`Comments must reach us by ${day(n.closes)}`, { size: 13, font: bold, gap: 8 });
    write('Comment online', { font: bold, gap: 0 });
    write(`See the plans and documents and comment at ${n.commentUrl}`, { gap: 8 });
    write('Comment by post', { font: bold, gap: 0 });
    write(
      `Write to Planning Services, ${n.postalAddress}, quoting reference ${n.reference}. Give your name and address.`,
      { gap: 10 },
    );
    write(
      'Comments are published on the application page with your name, but never your address or email address. We can only take account of planning matters, such as loss of light or privacy, design, traffic and parking.',
      { size: 9, gap: 4 },
    );
    write(`If you need this letter in another format, contact ${n.councilName} quoting ${n.reference}.`, {
      size: 9,
    });
  }
  return pdf.save();
}
