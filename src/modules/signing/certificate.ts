import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

/** The council's sealing certificate: a PKCS#12 with its passphrase. */
export interface SealingCertificate {
  p12: Buffer;
  passphrase: string;
  /** SHA-256 of the certificate's DER, to recognise Kiln's own seal when verifying. */
  fingerprint: string;
  subject: string;
  selfSigned: boolean;
}

export interface CertificateSource {
  /** Base64 PKCS#12 given by the environment (production). */
  p12Base64?: string;
  passphrase?: string;
  /** Folder for the demo certificate made at first start. */
  dataDir: string;
  councilName: string;
}

/** Loads the configured PKCS#12, or makes (once) and reuses a self-signed demo certificate. */
export function loadSealingCertificate(source: CertificateSource): SealingCertificate {
  if (source.p12Base64) {
    const p12 = Buffer.from(source.p12Base64, 'base64');
    return describe(p12, source.passphrase ?? '', false);
  }
  const dir = join(source.dataDir, 'signing');
  const file = join(dir, 'demo-seal.p12');
  const passFile = join(dir, 'demo-seal.passphrase');
  if (existsSync(file) && existsSync(passFile)) {
    return describe(readFileSync(file), readFileSync(passFile, 'utf8').trim(), true);
  }
  const passphrase = randomBytes(18).toString('base64url');
  const p12 = makeSelfSigned(source.councilName, passphrase);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, p12, { mode: 0o600 });
  writeFileSync(passFile, passphrase, { mode: 0o600 });
  return describe(p12, passphrase, true);
}

function makeSelfSigned(councilName: string, passphrase: string): Buffer {
  // node:crypto makes the key in milliseconds; forge's pure-JS RSA would take seconds.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const pub = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = '01' + randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  const attrs = [
    { name: 'commonName', value: `${councilName} document seal (demonstration)` },
    { name: 'organizationName', value: councilName },
    { name: 'countryName', value: 'GB' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true },
  ]);
  cert.sign(key, forge.md.sha256.create());
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert], passphrase, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

function describe(p12: Buffer, passphrase: string, selfSigned: boolean): SealingCertificate {
  const asn1 = forge.asn1.fromDer(forge.util.createBuffer(p12.toString('binary')));
  const parsed = forge.pkcs12.pkcs12FromAsn1(asn1, passphrase);
  const bags = parsed.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const cert = bags[0]?.cert;
  if (!cert) throw new Error('The sealing PKCS#12 holds no certificate');
  return {
    p12,
    passphrase,
    fingerprint: certificateFingerprint(cert),
    subject: cert.subject.getField('CN')?.value ?? cert.subject.getField('O')?.value ?? 'unknown',
    selfSigned,
  };
}

/** SHA-256 of a certificate's DER, hex. */
export function certificateFingerprint(cert: forge.pki.Certificate): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  return forge.md.sha256.create().update(der).digest().toHex();
}
