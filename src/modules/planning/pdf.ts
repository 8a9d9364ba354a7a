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
