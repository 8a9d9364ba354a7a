import { PDFDocument, StandardFonts, rgb } from 'pdf-lib';
import { printable, wrap } from '../../platform/pdf-text.ts';
import { formatLondon } from '../../platform/time.ts';
import { binStreams, frequencies, type BinStream, type Frequency } from './business.ts';

/**
 * A duty-of-care waste transfer note (Environmental Protection Act 1990, section 34; Waste
 * (England and Wales) Regulations 2011) covering a year of a trade waste contract: a "season
 * ticket" for repeated transfers of the same waste.
 */
export async function wasteTransferNote(input: {
  councilName: string;
  carrierRegistration: string;
  contract: { reference: string; starts_on: string; terms: Record<string, unknown> };
  business: { name: string; billing_address: string; company_number: string | null };
}): Promise<Uint8Array> {
  const { doc, line } = await textPage({
    title: `Waste transfer note ${input.contract.reference}`,
    author: input.councilName,
    subject: 'Duty of care waste transfer note',
  });
  const terms = input.contract.terms as {
    stream: BinStream;
    size: number;
    bins: number;
    frequency: Frequency;
  };
  const stream = binStreams[terms.stream] ?? binStreams.general;
  const start = new Date(`${input.contract.starts_on}T12:00:00Z`);
  const end = new Date(start);
  end.setUTCFullYear(end.getUTCFullYear() + 1);
  end.setUTCDate(end.getUTCDate() - 1);

  line('Waste transfer note', { size: 20, strong: true, gap: 6 });
  line(`Annual note for repeated transfers. Reference ${input.contract.reference}`, { gap: 12 });
  line('Section A: the waste', { size: 13, strong: true });
  line(`Description: ${stream.description} (${stream.name.toLowerCase()})`);
  line(`List of Wastes (EWC) code: ${stream.ewc}`);
  line(`Containment: ${terms.bins} × ${terms.size} litre wheeled bin${terms.bins === 1 ? '' : 's'}`);
  line(
    `Quantity: up to ${terms.bins * terms.size} litres each collection, ${frequencies[terms.frequency]?.name.toLowerCase() ?? ''}`,
  );
  line('The waste hierarchy (Waste Regulations 2011, regulation 12) has been applied.', { gap: 12 });
  line('Section B: the current holder (transferor)', { size: 13, strong: true });
  line(`Business: ${input.business.name}`);
  if (input.business.company_number) line(`Company number: ${input.business.company_number}`);
  line(`Address: ${input.business.billing_address}`);
  line('The transferor is the producer of the waste.', { gap: 12 });
  line('Section C: the person collecting the waste (transferee)', { size: 13, strong: true });
  line(`${input.councilName}, waste collection authority`);
  line(`Registered waste carrier: ${input.carrierRegistration}`, { gap: 12 });
  line('Section D: the transfer', { size: 13, strong: true });
  line(`Period covered: ${formatLondon(start, false)} to ${formatLondon(end, false)}`);
  line('Place of transfer: the transferor’s premises, at the kerbside on collection days');
  line(`Issued: ${formatLondon(new Date(), false)}`, { gap: 12 });
  line(
    'Both parties confirm that they have fulfilled their duty of care under section 34 of the Environmental Protection Act 1990 and that the information above is correct. Keep this note for at least two years.',
  );
  return doc.save();
}

/** The trade waste contract as agreed online, as a PDF to send for signature. */
export async function contractAgreement(input: {
  councilName: string;
  contract: {
    reference: string;
    starts_on: string;
    terms: Record<string, unknown>;
    monthly: string;
    payBy: string;
    noticeDays: number;
  };
  business: { name: string; billing_address: string; company_number: string | null };
}): Promise<Uint8Array> {
  const { doc, line } = await textPage({
    title: `Trade waste contract ${input.contract.reference}`,
    author: input.councilName,
  });
  const lines = (input.contract.terms as { lines?: Array<{ text: string }> }).lines ?? [];
  line(`Trade waste contract ${input.contract.reference}`, { size: 20, strong: true, gap: 8 });
  line(`Between ${input.councilName} (the council) and ${input.business.name} (the customer)`, { gap: 10 });
  line('The customer', { size: 13, strong: true });
  line(`Business: ${input.business.name}`);
  if (input.business.company_number) line(`Company number: ${input.business.company_number}`);
  line(`Address and place of collection: ${input.business.billing_address}`, { gap: 10 });
  line('The service', { size: 13, strong: true });
  for (const l of lines) line(l.text);
  line(`Collections start in the week of ${input.contract.starts_on}.`, { gap: 10 });
  line('Price and payment', { size: 13, strong: true });
  line(`${input.contract.monthly} each month, paid by ${input.contract.payBy}.`, { gap: 10 });
  line('Changes and ending', { size: 13, strong: true });
  line(
    `Either party may end this contract by giving ${input.contract.noticeDays} days' notice. The customer may ask for changes (bins, sizes, frequency) from My account; changes take effect once the council confirms them.`,
  );
  return doc.save();
}

/**
 * An A4 page and a writer for it: each call draws a paragraph, wrapped to the page's width, and
 * moves down. Text the standard fonts cannot draw is replaced rather than failing the document.
 */
async function textPage(meta: { title: string; author: string; subject?: string }) {
  const doc = await PDFDocument.create();
  doc.setTitle(meta.title);
  doc.setAuthor(meta.author);
  if (meta.subject) doc.setSubject(meta.subject);
  doc.setLanguage('en-GB');
  const page = doc.addPage([595, 842]);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  let y = 790;
  const line = (text: string, options: { size?: number; strong?: boolean; gap?: number } = {}) => {
    const size = options.size ?? 10;
    const face = options.strong ? bold : font;
    for (const chunk of wrap(printable(text), face, size, 495)) {
      page.drawText(chunk, { x: 50, y, size, font: face, color: rgb(0.04, 0.05, 0.05) });
      y -= size + 4;
    }
    y -= options.gap ?? 2;
  };
  return { doc, line };
}
