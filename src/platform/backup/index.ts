import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, type WriteStream } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { verifyAuditChain, type ChainReport } from '../audit/index.ts';
import { openDatabase, type Database } from '../db/index.ts';
import { readTar, tarEnd, tarHeader, tarPadding } from './tar.ts';

// A Kiln backup is one .tar.gz holding, in this order:
//   database.pgdump       pg_dump --format=custom of a PostgreSQL server (one consistent snapshot), or
//   database.pglite.tgz   the embedded database's data directory, dumped by PGlite
//   files/<storage key>   every uploaded file
//   manifest.json         what it holds, with the SHA-256 of every part and of them all together
//   manifest.sha256       the SHA-256 of manifest.json
// and beside it <backup>.sha256, the SHA-256 of the whole file in `sha256sum -c` form.
// The database is dumped before the files are copied: a file is written before the row that
// names it commits, so every file the dumped database refers to is already on disk.

export const FORMAT = 'kiln-backup';
export const FORMAT_VERSION = 1;

export interface ManifestPart {
  name: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  version: number;
  createdAt: string;
  database: { kind: 'postgres' | 'embedded'; part: string; serverVersion?: string };
  files: { count: number; bytes: number };
  parts: ManifestPart[];
  /** SHA-256 over every part's line `<sha256>  <name>\n`, in order. */
  sha256: string;
}

/** A backup that cannot be made or restored, with words fit for the operator. */
export class BackupError extends Error {}

export interface BackupSummary {
  file: string;
  bytes: number;
  sha256: string;
  manifest: Manifest;
}

function partsDigest(parts: ManifestPart[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(`${p.sha256}  ${p.name}\n`);
  return hash.digest('hex');
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** Runs a PostgreSQL client program; the password goes by environment, never on the command line. */
function runClient(program: string, args: string[], url: string): Promise<void> {
  const target = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (target.password) env.PGPASSWORD = decodeURIComponent(target.password);
  target.password = '';
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args, '--dbname', target.toString()], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('error', (error) =>
      reject(
        new BackupError(`Could not run ${program}: ${error.message}. Is the PostgreSQL client installed?`),
      ),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new BackupError(`${program} failed (exit ${code}): ${stderr.trim() || 'no message'}`)),
    );
  });
}

const pgDump = () => process.env.PG_DUMP ?? 'pg_dump';
const pgRestore = () => process.env.PG_RESTORE ?? 'pg_restore';

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>('show server_version');
    return rows[0]!.v;
  } finally {
    await client.end();
  }
}

/**
 * Writes one backup file of a database and the uploaded files. The file is created exclusively
 * (an existing file is never overwritten) and made read-only once complete.
 */
export async function createBackup(options: {
  database: Database;
  uploadDir: string;
  out: string;
}): Promise<BackupSummary> {
  const { database, uploadDir, out } = options;
  if (existsSync(out)) throw new BackupError(`${out} already exists: a backup never overwrites a file`);
  await mkdir(dirname(out), { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'kiln-backup-'));
  try {
    let databasePart: { name: string; path: string };
    let version: string | undefined;
    if (database.kind === 'postgres') {
      const url = (database.jobConnection as { connectionString: string }).connectionString;
      version = await serverVersion(url);
      databasePart = { name: 'database.pgdump', path: join(work, 'database.pgdump') };
      await runClient(
        pgDump(),
        ['--format=custom', '--no-owner', '--no-privileges', '--file', databasePart.path],
        url,
      );
    } else {
      if (!database.dump) throw new BackupError('This embedded database cannot be dumped');
      const blob = await database.dump();
      databasePart = { name: 'database.pglite.tgz', path: join(work, 'database.pglite.tgz') };
      await writeFile(databasePart.path, Buffer.from(await blob.arrayBuffer()));
    }
    const uploads = await listFiles(uploadDir);
    const entries = [
      databasePart,
      ...uploads.map((path) => ({ name: `files/${relative(uploadDir, path).split(sep).join('/')}`, path })),
    ];

    const parts: ManifestPart[] = [];
    let fileBytes = 0;
    let written: Manifest | undefined;
    async function* archive(): AsyncIterable<Buffer> {
      for (const entry of entries) {
        const info = await stat(entry.path);
        yield tarHeader({ name: entry.name, size: info.size, mtime: info.mtime });
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of createReadStream(entry.path)) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (size !== info.size) throw new BackupError(`${entry.path} changed while it was being backed up`);
        yield tarPadding(size);
        parts.push({ name: entry.name, size, sha256: hash.digest('hex') });
        if (entry.name.startsWith('files/')) fileBytes += size;
      }
      const manifest: Manifest = {
        format: FORMAT,
        version: FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        database: { kind: database.kind, part: databasePart.name, serverVersion: version },
        files: { count: uploads.length, bytes: fileBytes },
        parts,
        sha256: partsDigest(parts),
      };
      const manifestJson = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      yield tarHeader({ name: 'manifest.json', size: manifestJson.length });
      yield manifestJson;
      yield tarPadding(manifestJson.length);
      const manifestSum = Buffer.from(
        `${createHash('sha256').update(manifestJson).digest('hex')}  manifest.json\n`,
      );
      yield tarHeader({ name: 'manifest.sha256', size: manifestSum.length });
      yield manifestSum;
      yield tarPadding(manifestSum.length);
      yield tarEnd;
      written = manifest;
    }
    let stream: WriteStream | undefined;
    try {
      stream = createWriteStream(out, { flags: 'wx', mode: 0o600 });
      await pipeline(archive, createGzip({ level: 6 }), stream);
    } catch (error) {
      // A half-written backup must not pass for a whole one.
      if (stream && (error as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(out).catch(() => {});
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new BackupError(`${out} already exists: a backup never overwrites a file`);
      }
      throw error;
    }
    await chmod(out, 0o444);
    const sha256 = await sha256OfFile(out);
    await writeFile(`${out}.sha256`, `${sha256}  ${basename(out)}\n`, { flag: 'wx', mode: 0o444 });
    return { file: out, bytes: (await stat(out)).size, sha256, manifest: written! };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Where a restore puts the database: a PostgreSQL server's (empty) database, or an embedded data folder. */
export type RestoreTarget = { url: string } | { dataDir: string };

export interface RestoreSummary {
  manifest: Manifest;
  databaseKind: 'postgres' | 'embedded';
  filesRestored: number;
  filesMissing: string[];
  audit: ChainReport;
}

function damaged(reason: string): BackupError {
  return new BackupError(`The backup failed its checks and nothing was restored: ${reason}`);
}

/**
 * Reads a backup into a work folder, checking every part against the manifest, the manifest
 * against its own checksum and, when the .sha256 file is beside it, the whole file.
 */
export async function verifyBackup(file: string, work: string): Promise<Manifest> {
  if (!existsSync(file)) throw new BackupError(`${file} does not exist`);
  const sidecar = `${file}.sha256`;
  if (existsSync(sidecar)) {
    const expected = (await readFile(sidecar, 'utf8')).trim().split(/\s+/)[0];
    const actual = await sha256OfFile(file);
    if (expected !== actual) {
      throw damaged(`the file's SHA-256 is ${actual}, but ${basename(sidecar)} says ${expected}`);
    }
  }
  const seen = new Map<string, ManifestPart>();
  let manifestJson: Buffer | undefined;
  let manifestSum: string | undefined;
  try {
    const gunzip = createGunzip();
    const source = createReadStream(file).pipe(gunzip);
    await readTar(source, async (header, content) => {
      const name = header.name;
      if (name === 'manifest.json' || name === 'manifest.sha256') {
        const chunks: Buffer[] = [];
        for await (const c of content) chunks.push(c);
        if (name === 'manifest.json') manifestJson = Buffer.concat(chunks);
        else manifestSum = Buffer.concat(chunks).toString('utf8').trim().split(/\s+/)[0];
        return;
      }
      // Only the names a backup writes: never a path that climbs out of the work folder.
      if (
        !/^(database\.pgdump|database\.pglite\.tgz|files\/[\w.-]+(\/[\w.-]+)*)$/.test(name) ||
        /(^|\/)\.\.?(\/|$)/.test(name)
      ) {
        throw damaged(`it holds an unexpected entry ${JSON.stringify(name)}`);
      }
      if (seen.has(name)) throw damaged(`it holds ${name} twice`);
      const path = join(work, name);
      await mkdir(dirname(path), { recursive: true });
      const hash = createHash('sha256');
      let size = 0;
      const sink = createWriteStream(path, { mode: 0o600 });
      await pipeline(
        (async function* () {
          for await (const chunk of content) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        })(),
        sink,
      );
      seen.set(name, { name, size, sha256: hash.digest('hex') });
    });
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw damaged(`it is not a readable Kiln backup (${(error as Error).message})`);
  }
  if (!manifestJson || !manifestSum) throw damaged('it has no manifest');
  if (createHash('sha256').update(manifestJson).digest('hex') !== manifestSum) {
    throw damaged('manifest.json does not match its checksum');
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifestJson.toString('utf8')) as Manifest;
  } catch {
    throw damaged('manifest.json is not JSON');
  }
  if (manifest.format !== FORMAT || manifest.version !== FORMAT_VERSION) {
    throw damaged(`it is not a Kiln backup of format ${FORMAT_VERSION}`);
  }
  if (partsDigest(manifest.parts) !== manifest.sha256)
    throw damaged('the manifest does not match its own total');
  for (const part of manifest.parts) {
    const got = seen.get(part.name);
    if (!got) throw damaged(`${part.name} is missing`);
    if (got.size !== part.size || got.sha256 !== part.sha256) {
      throw damaged(`${part.name} has SHA-256 ${got.sha256}, but the manifest says ${part.sha256}`);
    }
    seen.delete(part.name);
  }
  if (seen.size > 0) throw damaged(`it holds ${[...seen.keys()][0]}, which the manifest does not list`);
  return manifest;
}

async function databaseIsEmpty(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm', 'S')
          and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'`,
    );
    return rows[0]!.n === 0;
  } finally {
    await client.end();
  }
}

/**
 * Rebuilds Kiln from a backup: checks it whole first, restores the database into an empty target
 * (or over an existing one with `force`), restores the uploaded files, then checks the audit chain.
 */
export async function restoreBackup(options: {
  file: string;
  target: RestoreTarget;
  uploadDir: string;
  force?: boolean;
  log?: (line: string) => void;
}): Promise<RestoreSummary> {
  const { file, target, uploadDir, force = false } = options;
  const log = options.log ?? (() => {});
  const work = await mkdtemp(join(tmpdir(), 'kiln-restore-'));
  try {
    log(`Checking ${file}`);
    const manifest = await verifyBackup(file, work);
    log(`Every checksum matches (${manifest.parts.length} parts, made ${manifest.createdAt})`);
    const kind = 'url' in target ? 'postgres' : 'embedded';
    if (manifest.database.kind !== kind) {
      throw new BackupError(
        `This backup is of ${manifest.database.kind === 'postgres' ? 'a PostgreSQL server' : 'the embedded database'}; restore it into the same kind (set or unset DATABASE_URL)`,
      );
    }
    const existingUploads = await listFiles(uploadDir);
    if (existingUploads.length > 0 && !force) {
      throw new BackupError(
        `${uploadDir} already holds ${existingUploads.length} files: restore into an empty folder, or pass --force`,
      );
    }

    const dumpPath = join(work, manifest.database.part);
    if ('url' in target) {
      if (!(await databaseIsEmpty(target.url)) && !force) {
        throw new BackupError(
          'The target database is not empty: restore into an empty database, or pass --force to replace what it holds',
        );
      }
      log('Restoring the database');
      await runClient(
        pgRestore(),
        [
          '--no-owner',
          '--no-privileges',
          '--exit-on-error',
          '--single-transaction',
          ...(force ? ['--clean', '--if-exists'] : []),
          dumpPath,
        ],
        target.url,
      );
    } else {
      const dir = target.dataDir;
      if (existsSync(join(dir, 'PG_VERSION'))) {
        if (!force) {
          throw new BackupError(
            `${dir} already holds a database: restore into an empty folder, or pass --force`,
          );
        }
        const aside = `${dir}.before-restore-${Date.now()}`;
        await rename(dir, aside);
        log(`Moved the existing data folder aside to ${aside}`);
      }
      log('Restoring the database');
      await mkdir(dir, { recursive: true });
      const pglite = await PGlite.create(`file://${dir}`, {
        loadDataDir: new Blob([new Uint8Array(await readFile(dumpPath))]),
      });
      await pglite.close();
    }

    log('Restoring uploaded files');
    let filesRestored = 0;
    for (const part of manifest.parts.filter((p) => p.name.startsWith('files/'))) {
      const to = join(uploadDir, ...part.name.slice('files/'.length).split('/'));
      await mkdir(dirname(to), { recursive: true });
      await pipeline(createReadStream(join(work, part.name)), createWriteStream(to, { mode: 0o600 }));
      filesRestored += 1;
    }

    log('Checking the audit chain');
    const database = await openDatabase(
      'url' in target ? { url: target.url, poolSize: 2 } : { dataDir: target.dataDir },
    );
    try {
      const audit = await verifyAuditChain(database.db);
      const { rows } = await database.db
        .selectFrom('files')
        .select(['storage_key'])
        .execute()
        .then((r) => ({ rows: r as Array<{ storage_key: string }> }));
      const filesMissing = rows
        .map((r) => r.storage_key)
        .filter((key) => !existsSync(join(uploadDir, ...key.split('/'))));
      return { manifest, databaseKind: kind, filesRestored, filesMissing, audit };
    } finally {
      await database.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
