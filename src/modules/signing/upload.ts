import { PDFDocument } from 'pdf-lib';
import { sniffMediaType } from '../../platform/files/index.ts';

/** Why an uploaded file cannot be used as a PDF, in words for the person who chose it; null if it can. */
export async function checkPdfUpload(content: Buffer, maxBytes: number): Promise<string | null> {
  if (content.length === 0) return 'The selected file is empty';
  if (content.length > maxBytes)
    return `The selected file must be smaller than ${Math.floor(maxBytes / 1_048_576)}MB`;
  if (sniffMediaType(content) !== 'application/pdf') return 'The selected file must be a PDF';
  // An encryption dictionary in a trailer: the content cannot be read or stamped.
  if (/\/Encrypt\s*\d+\s+\d+\s+R/.test(content.toString('latin1'))) {
    return 'The selected file is password protected. Upload a copy without a password';
  }
  try {
    await PDFDocument.load(content, { updateMetadata: false });
  } catch {
    return 'The selected file is damaged and cannot be read as a PDF';
  }
  return null;
}
