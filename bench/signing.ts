// Kiln Sign benchmark: seal 100 ten-page documents and print p50 and p99 per document.
//   1. The seal alone: stamp the signatures, append the certificate of completion, sign (PAdES).
//   2. The last signature through the service on the embedded database, which seals inside the
//      signer's transaction (document check, seal, store, copies to everyone).
// Run alone: `node --import tsx bench/signing.ts` (BENCH_SIGNING_DOCUMENTS to change the count).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument } from 'pdf-lib';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/platform/db/index.ts';
import { seedDemoData } from '../src/seed/index.ts';
import { loadSealingCertificate } from '../src/modules/signing/certificate.ts';
import { renderDocument, sealDocument } from '../src/modules/signing/pdf.ts';

export interface SigningFigures {
  documents: number;
  pages: number;
  sealP50Ms: number;
  sealP99Ms: number;
  lastSignatureP50Ms: number;
  lastSignatureP99Ms: number;
  sealedBytes: number;
  pdfsigValid: boolean | null;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 10) / 10;

/** A body that renders to exactly `pages` A4 pages. */
async function tenPageBody(pages: number): Promise<string> {
  const clause = (i: number) =>
    `# Clause ${i}\n\nThe tenant agrees to keep the home at 4 Saggar Row in good order, to pay the rent on time, ` +
    `to report repairs promptly and to allow access for safety checks with reasonable notice. ` +
    `The council agrees to keep the structure and installations in repair and to respond within the published times.`;
  let count = 10;
  for (;;) {
    const body = Array.from({ length: count }, (_, i) => clause(i + 1)).join('\n\n');
    const pdf = await renderDocument({
      title: 'Tenancy agreement',
      body,
      councilName: 'Kilnford City Council',
      reference: 'SG-BNCH-01',
    });
    const n = (await PDFDocument.load(pdf)).getPageCount();
    if (n === pages) return body;
    if (n > pages) return Array.from({ length: count - 1 }, (_, i) => clause(i + 1)).join('\n\n');
    count += 2;
  }
}

export async function run(
  documents = Number(process.env.BENCH_SIGNING_DOCUMENTS ?? 100),
): Promise<SigningFigures> {
  const pages = 10;
  const body = await tenPageBody(pages);
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-sign-'));
  const certificate = loadSealingCertificate({ dataDir, councilName: 'Kilnford City Council' });
  const original = await renderDocument({
    title: 'Tenancy agreement',
    body,
    councilName: 'Kilnford City Council',
    reference: 'SG-BNCH-01',
  });
  const signedAt = new Date();
  const signatures = ['Alex Moreton', 'Casey Lindqvist', 'Tom Bradwell'].map((name, i) => ({
    name,
    role: ['Tenant', 'Joint tenant', 'Housing officer'][i]!,
    method: 'typed' as const,
    typedName: name,
    drawnPng: null,
    signedAt,
  }));
  const events = Array.from({ length: 15 }, (_, i) => ({
    at: signedAt,
    description: `Event ${i + 1} of the envelope`,
  }));

  const sealTimes: number[] = [];
  let last: Buffer = Buffer.alloc(0);
  for (let i = 0; i < documents + 5; i++) {
    const start = performance.now();
    last = await sealDocument({
      original,
      reference: 'SG-BNCH-01',
      title: 'Tenancy agreement',
      councilName: 'Kilnford City Council',
      documentSha256: '0'.repeat(64),
      signatures,
      events,
      certificate,
      sealedAt: new Date(),
    });
    if (i >= 5) sealTimes.push(performance.now() - start); // the first few warm the JIT
  }
  let pdfsigValid: boolean | null = null;
  try {
    const file = join(dataDir, 'sample.pdf');
    writeFileSync(file, last);
    pdfsigValid = /Signature is Valid/.test(execFileSync('pdfsig', [file]).toString());
  } catch {
    pdfsigValid = null; // pdfsig not installed
  }

  // The last signature through the service: one signer per envelope, so each sign() seals.
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    RUN_WORKERS: 'false',
  });
  const database = await openDatabase({});
  const kiln = await createApp({ config, database });
  const signTimes: number[] = [];
  try {
    await seedDemoData(kiln);
    const signing = kiln.services.signing.service;
    const officer = await kiln.platform.db
      .selectFrom('staff_users')
      .select('id')
      .where('email', '=', 'officer@kilnford.example')
      .executeTakeFirstOrThrow();
    const letterBody = body.replace(/\(\(/g, '(');
    await signing.saveTemplate(
      { type: 'staff', id: officer.id },
      { slug: 'bench-tenancy', kind: 'tenancy_agreement', title: 'Tenancy agreement', body: letterBody },
    );
    for (let i = 0; i < documents; i++) {
      const email = `bench-${i}@example.com`;
      const { firstLink } = await signing.sendEnvelope(
        { type: 'staff', id: officer.id as string },
        {
          title: 'Tenancy agreement',
          template: { slug: 'bench-tenancy', values: {} },
          signers: [{ name: 'Alex Moreton', role: 'Tenant', email }],
        },
      );
      const signerId = await signing.startSigning(firstLink);
      const [message] = await kiln.platform.notify.list(kiln.platform.db, { recipient: email, limit: 1 });
      await signing.checkCode(signerId, message!.body.match(/\d{6}/)![0]);
      const start = performance.now();
      const result = await signing.sign(signerId, { typedName: 'Alex Moreton' });
      signTimes.push(performance.now() - start);
      if (!result.completed) throw new Error('expected the envelope to be sealed');
    }
  } finally {
    await kiln.close();
    await database.close();
  }

  sealTimes.sort((a, b) => a - b);
  signTimes.sort((a, b) => a - b);
  return {
    documents,
    pages,
    sealP50Ms: round(percentile(sealTimes, 50)),
    sealP99Ms: round(percentile(sealTimes, 99)),
    lastSignatureP50Ms: round(percentile(signTimes, 50)),
    lastSignatureP99Ms: round(percentile(signTimes, 99)),
    sealedBytes: last.length,
    pdfsigValid,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = await run();
  console.log(
    `Sealing ${f.documents} documents of ${f.pages} pages (3 signatures, certificate of completion, PAdES seal, ${Math.round(f.sealedBytes / 1024)} KB each):`,
  );
  console.log(
    `  seal alone:                               p50 ${f.sealP50Ms} ms, p99 ${f.sealP99Ms} ms per document`,
  );
  console.log(
    `  last signature through the service (PGlite): p50 ${f.lastSignatureP50Ms} ms, p99 ${f.lastSignatureP99Ms} ms per document`,
  );
  console.log(
    `  pdfsig on a sample: ${f.pdfsigValid === null ? 'not installed' : f.pdfsigValid ? 'Signature is Valid' : 'NOT valid'}`,
  );
  process.exit(f.pdfsigValid === false ? 1 : 0);
}
