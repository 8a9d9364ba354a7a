import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import type { Config } from '../../config.ts';
import { openDatabase } from '../db/index.ts';
import { BackupError, createBackup, restoreBackup } from './index.ts';

function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
}

function fail(error: unknown): number {
  if (error instanceof BackupError) {
    console.error(error.message);
    return 1;
  }
  throw error;
}

export const backupUsage = `kiln backup [--out <file>] [--dir <folder>]
  Writes one .tar.gz of the database (pg_dump of DATABASE_URL, or the embedded database in
  DATA_DIR: stop Kiln first) and the uploaded files, with a manifest of SHA-256 checksums and a
  <file>.sha256 beside it. It never overwrites a file and leaves the backup read-only.
  --out   the file to write (default <dir>/kiln-backup-<UTC time>.tar.gz)
  --dir   the folder for it (default ./backups; point it at write-once storage)`;

/** `kiln backup`: writes one checksummed backup file and prints where. */
export async function backupCommand(config: Config, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log(backupUsage);
    return 0;
  }
  const out = resolve(values.out ?? join(values.dir ?? 'backups', `kiln-backup-${stamp()}.tar.gz`));
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2 });
  try {
    const started = Date.now();
    const summary = await createBackup({ database, uploadDir: config.uploadDir, out });
    console.log(`Backup written: ${summary.file}`);
    console.log(`  ${summary.bytes} bytes, SHA-256 ${summary.sha256} (also in ${summary.file}.sha256)`);
    console.log(
      `  database: ${summary.manifest.database.kind}${summary.manifest.database.serverVersion ? ` (PostgreSQL ${summary.manifest.database.serverVersion})` : ''}; ` +
        `${summary.manifest.files.count} uploaded files, ${summary.manifest.files.bytes} bytes; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  } catch (error) {
    return fail(error);
  } finally {
    await database.close();
  }
}

export const restoreUsage = `kiln restore <file> [--force]
  Checks every checksum in the backup first and refuses a damaged one, then restores the database
  into DATABASE_URL (which must be empty) or into DATA_DIR (which must hold no database), restores
  the uploaded files into the upload folder, and checks the audit chain.
  --force  restore over a database and files that are already there`;

/** `kiln restore <file>`: verifies, restores and checks; exit 1 when anything is wrong. */
export async function restoreCommand(config: Config, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { force: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help || positionals.length !== 1) {
    console.log(restoreUsage);
    return values.help ? 0 : 2;
  }
  try {
    const summary = await restoreBackup({
      file: resolve(positionals[0]!),
      target: config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: config.DATA_DIR },
      uploadDir: config.uploadDir,
      force: values.force ?? false,
      log: (line) => console.log(line),
    });
    console.log('Restore finished');
    console.log(
      `  backup made ${summary.manifest.createdAt} of a ${summary.manifest.database.kind} database`,
    );
    console.log(`  uploaded files restored: ${summary.filesRestored}`);
    if (summary.filesMissing.length > 0) {
      console.error(`  files the database names but the backup lacks: ${summary.filesMissing.length}`);
    }
    if (summary.audit.ok) {
      console.log(
        `  audit chain intact: ${summary.audit.checked} sealed entries checked, ${summary.audit.unsealed} not yet sealed`,
      );
    } else {
      const b = summary.audit.firstBroken!;
      console.error(
        `  audit chain BROKEN at entry id ${b.id} (chain position ${b.chainPosition}): ${b.reason}`,
      );
    }
    return summary.audit.ok && summary.filesMissing.length === 0 ? 0 : 1;
  } catch (error) {
    return fail(error);
  }
}
