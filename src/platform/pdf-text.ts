import type { PDFFont } from 'pdf-lib';

// Text for PDFs drawn with pdf-lib's standard fonts (no font files to ship).

/** The standard fonts carry WinAnsi only: replace what they cannot draw rather than fail a document. */
export function printable(text: string): string {
  return text
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/[^\x20-\x7e\u00a0-\u00ff£]/g, '?');
}

/** Breaks text into lines no wider than `width` points at `size` (a word longer than that keeps its own line). */
export function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (font.widthOfTextAtSize(candidate, size) <= width) line = candidate;
    else {
      if (line) lines.push(line);
      line = word;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}
