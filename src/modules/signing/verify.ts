import { createHash, createVerify } from 'node:crypto';
import forge from 'node-forge';
import { certificateFingerprint } from './certificate.ts';

export type SealCheck =
  | { outcome: 'unsigned' }
  | { outcome: 'altered'; reason: string }
  | {
      outcome: 'intact';
      /** Whether it was sealed with this council's certificate. */
      fingerprint: string;
      subject: string;
      signingTime: Date | null;
    };

const OID_MESSAGE_DIGEST = forge.pki.oids.messageDigest!;
const OID_SIGNING_TIME = forge.pki.oids.signingTime!;

/**
 * Checks a PDF's last signature the way a PDF reader does: the signed byte ranges must cover the
 * whole file, their SHA-256 must match the signed digest, and the signature must verify with the
 * certificate inside it. Trust in that certificate is the caller's decision (its fingerprint).
 */
export function checkSeal(pdf: Buffer): SealCheck {
  const text = pdf.toString('latin1');
  const at = text.lastIndexOf('/ByteRange');
  if (at < 0) return { outcome: 'unsigned' };
  const match = /^\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/.exec(text.slice(at, at + 120));
  if (!match) return { outcome: 'altered', reason: 'The signature’s byte ranges cannot be read' };
  const [a, b, c, d] = match.slice(1).map(Number) as [number, number, number, number];
  if (a !== 0 || b <= 0 || c <= b || c + d !== pdf.length) {
    return { outcome: 'altered', reason: 'The file has been changed or added to since it was sealed' };
  }
  const contents = text.slice(b, c);
  if (!/^<[0-9a-fA-F]+>$/.test(contents)) {
    return { outcome: 'altered', reason: 'The signature in the file has been changed' };
  }
  try {
    const der = Buffer.from(contents.slice(1, -1), 'hex');
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')), {
      parseAllBytes: false,
    } as unknown as boolean);
    const message = forge.pkcs7.messageFromAsn1(asn1) as forge.pkcs7.PkcsSignedData & {
      rawCapture: { authenticatedAttributes?: forge.asn1.Asn1[]; signature: string };
    };
    const cert = message.certificates[0];
    const attributes = message.rawCapture.authenticatedAttributes;
    if (!cert || !attributes)
      return { outcome: 'altered', reason: 'The signature in the file is incomplete' };

    const digest = createHash('sha256')
      .update(pdf.subarray(a, b))
      .update(pdf.subarray(c, c + d))
      .digest();
    let signedDigest: Buffer | null = null;
    let signingTime: Date | null = null;
    for (const attribute of attributes) {
      const [oid, values] = attribute.value as forge.asn1.Asn1[];
      const type = forge.asn1.derToOid(oid!.value as string);
      const value = (values!.value as forge.asn1.Asn1[])[0]!;
      if (type === OID_MESSAGE_DIGEST) signedDigest = Buffer.from(value.value as string, 'binary');
      if (type === OID_SIGNING_TIME) {
        signingTime =
          value.type === forge.asn1.Type.UTCTIME
            ? forge.asn1.utcTimeToDate(value.value as string)
            : forge.asn1.generalizedTimeToDate(value.value as string);
      }
    }
    if (!signedDigest || !signedDigest.equals(digest)) {
      return {
        outcome: 'altered',
        reason: 'The content of the document has been changed since it was sealed',
      };
    }
    // The signature covers the signed attributes encoded as a SET (RFC 5652, 5.4).
    const set = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SET, true, attributes);
    const signedBytes = Buffer.from(forge.asn1.toDer(set).getBytes(), 'binary');
    const verifier = createVerify('sha256');
    verifier.update(signedBytes);
    const valid = verifier.verify(
      forge.pki.certificateToPem(cert),
      Buffer.from(message.rawCapture.signature, 'binary'),
    );
    if (!valid) return { outcome: 'altered', reason: 'The seal’s signature does not match its certificate' };
    return {
      outcome: 'intact',
      fingerprint: certificateFingerprint(cert),
      subject: String(cert.subject.getField('CN')?.value ?? ''),
      signingTime,
    };
  } catch {
    return { outcome: 'altered', reason: 'The signature in the file cannot be read' };
  }
}
