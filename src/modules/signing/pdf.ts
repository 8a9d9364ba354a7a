import { pdflibAddPlaceholder } from '@signpdf/placeholder-pdf-lib';
import { P12Signer } from '@signpdf/signer-p12';
import { SignPdf } from '@signpdf/signpdf';
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { formatLondon } from '../../platform/views/index.ts';
import { printable, wrap } from '../../platform/pdf-text.ts';
import type { SealingCertificate } from './certificate.ts';

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 56;
const INK = rgb(0.05, 0.05, 0.05);
const GREY = rgb(0.3, 0.3, 0.3);

/** Writes lines of text down pages, adding a page when one is full. */
class Writer {
  page!: PDFPage;
  y = 0;
  constructor(
    private readonly doc: PDFDocument,
    private readonly fonts: { regular: PDFFont; bold: PDFFont; italic: PDFFont },
    private readonly footer: string,
  ) {
    this.newPage();
  }
  newPage() {
    this.page = this.doc.addPage(A4);
    this.y = A4[1] - MARGIN;
    this.page.drawText(this.footer, { x: MARGIN, y: 28, size: 8, font: this.fonts.regular, color: GREY });
  }
  space(points: number) {
    this.y -= points;
  }
  text(content: string, options: { size?: number; font?: 'regular' | 'bold' | 'italic'; gap?: number } = {}) {
    const size = options.size ?? 11;
    const font = this.fonts[options.font ?? 'regular'];
    const lineHeight = size * 1.35;
    for (const line of wrap(printable(content), font, size, A4[0] - 2 * MARGIN)) {
      if (this.y - lineHeight < MARGIN) this.newPage();
      this.y -= lineHeight;
      this.page.drawText(line, { x: MARGIN, y: this.y, size, font, color: INK });
    }
    this.y -= options.gap ?? size * 0.6;
  }
}

async function fontsOf(doc: PDFDocument) {
  return {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
    italic: await doc.embedFont(StandardFonts.HelveticaOblique),
  };
}

/** A document from a template's filled text: "# " starts a heading, a blank line a paragraph. */
export async function renderDocument(input: {
  title: string;
  body: string;
  councilName: string;
  reference: string;
}): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.setTitle(input.title);
  doc.setAuthor(input.councilName);
  doc.setCreator('Kiln');
  doc.setProducer('Kiln');
  // A fixed date keeps the bytes, and so the SHA-256, a function of the content alone.
  doc.setCreationDate(new Date(0));
  doc.setModificationDate(new Date(0));
  const writer = new Writer(doc, await fontsOf(doc), `${input.councilName} - ${input.reference}`);
  writer.text(input.councilName, { size: 10, font: 'bold' });
  writer.text(input.title, { size: 18, font: 'bold', gap: 14 });
  for (const block of input.body.split(/\n\s*\n/)) {
    const trimmed = block.trim();
    if (!trimmed) continue;
    if (trimmed.startsWith('# ')) writer.text(trimmed.slice(2), { size: 13, font: 'bold', gap: 6 });
    else writer.text(trimmed.replace(/\n/g, ' '));
  }
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}

export interface SealSignature {
  name: string;
  role: string;
  method: 'typed' | 'drawn';
  typedName: string;
  drawnPng: Buffer | null;
  signedAt: Date;
}

export interface SealEvent {
  at: Date;
  description: string;
}

export interface SealInput {
  original: Buffer;
  reference: string;
  title: string;
  councilName: string;
  documentSha256: string;
  signatures: SealSignature[];
  events: SealEvent[];
  certificate: SealingCertificate;
  sealedAt: Date;
}

/**
 * Stamps the signatures into the document, appends the certificate of completion and seals the
 * whole with the council's certificate as a PDF signature (CAdES detached, PAdES baseline B).
 */
export async function sealDocument(input: SealInput): Promise<Buffer> {
  const doc = await PDFDocument.load(input.original, { updateMetadata: false });
  const fonts = await fontsOf(doc);
  const stamp = `${input.reference}: signed electronically by ${input.signatures.map((s) => s.name).join(', ')}`;
  for (const page of doc.getPages()) {
    page.drawText(printable(stamp).slice(0, 140), {
      x: MARGIN,
      y: 16,
      size: 7,
      font: fonts.regular,
      color: GREY,
    });
  }

  const writer = new Writer(
    doc,
    fonts,
    `${input.councilName} - ${input.reference} - certificate of completion`,
  );
  writer.text('Signatures', { size: 16, font: 'bold', gap: 12 });
  for (const s of input.signatures) {
    writer.text(`${s.name} (${s.role})`, { font: 'bold', gap: 4 });
    if (s.drawnPng) {
      const image = await doc.embedPng(s.drawnPng);
      const scale = Math.min(200 / image.width, 60 / image.height, 1);
      if (writer.y - 70 < MARGIN) writer.newPage();
      writer.space(image.height * scale + 4);
      writer.page.drawImage(image, {
        x: MARGIN,
        y: writer.y,
        width: image.width * scale,
        height: image.height * scale,
      });
      writer.space(6);
    } else {
      writer.text(s.typedName, { size: 20, font: 'italic', gap: 4 });
    }
    writer.text(
      `Signed electronically (${s.method === 'drawn' ? 'drawn signature' : 'typed name'}) on ${formatLondon(s.signedAt, true)}`,
      { size: 9, gap: 14 },
    );
  }

  writer.newPage();
  writer.text('Certificate of completion', { size: 16, font: 'bold', gap: 10 });
  writer.text(`Document: ${input.title}`);
  writer.text(`Reference: ${input.reference}`);
  writer.text(`Issued by: ${input.councilName}`);
  writer.text(`SHA-256 of the document as sent: ${input.documentSha256}`, { size: 9 });
  writer.text(
    `Sealed: ${formatLondon(input.sealedAt, true)} (UK time) with the certificate "${input.certificate.subject}"`,
    {
      size: 9,
      gap: 14,
    },
  );
  writer.text('Events', { size: 13, font: 'bold', gap: 6 });
  for (const event of input.events) {
    writer.text(`${formatLondon(event.at, true)} - ${event.description}`, { size: 9, gap: 4 });
  }
  writer.space(10);
  writer.text(
    'This document is sealed with a PDF digital signature. Any change to it after sealing breaks the seal. ' +
      'Check it at the council website, "Verify a document", or with any PDF signature checker.',
    { size: 9 },
  );

  pdflibAddPlaceholder({
    pdfDoc: doc,
    reason: `Sealed on completion of ${input.reference}`,
    contactInfo: input.councilName,
    name: input.councilName,
    location: 'United Kingdom',
    signingTime: input.sealedAt,
    subFilter: 'ETSI.CAdES.detached',
    signatureLength: 16_384,
    appName: 'Kiln',
  });
  const prepared = Buffer.from(await doc.save({ useObjectStreams: false }));
  const signer = new P12Signer(input.certificate.p12, { passphrase: input.certificate.passphrase });
  return new SignPdf().sign(prepared, signer, input.sealedAt);
}
