import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { createApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { phonePhoto } from '../../modules/requests/test-support.ts';
import { locateStreet } from '../../modules/requests/service.ts';
import { streetByUsrn } from '../../modules/requests/geography.ts';
import { sealAuditLog, verifyAuditChain } from '../audit/index.ts';
import { restoreCommand } from './cli.ts';
import { createBackup, restoreBackup, type RestoreTarget } from './index.ts';
import { readTar, tarEnd, tarHeader, tarPadding } from './tar.ts';

// The restore drill: a Kiln with demo data and a report with a photo is backed up, restored into
// a fresh database and data folder, and started again; the report, its photo and the audit chain
// must all be there. On embedded PGlite by default, on the PostgreSQL server when DATABASE_URL is set.

const serverUrl = process.env.DATABASE_URL;
const work = mkdtempSync(join(tmpdir(), 'kiln-backup-test-'));
const createdDatabases: string[] = [];

let kiln: TestKiln;
let reference: string;
let photoBytes: Buffer;
let backupFile: string;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh, empty target: a new database on the server, or a new embedded data folder. */
async function freshTarget(): Promise<{ target: RestoreTarget; dataDir: string; url?: string }> {
  const dataDir = mkdtempSync(join(work, 'restored-'));
  if (!serverUrl) return { target: { dataDir }, dataDir };
  const name = `kiln_restore_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  createdDatabases.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { target: { url: url.toString() }, dataDir, url: url.toString() };
}

async function targetIsEmpty(t: { dataDir: string; url?: string }): Promise<boolean> {
  if (!t.url) return !existsSync(join(t.dataDir, 'PG_VERSION'));
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>(
      `select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`,
    );
    return rows[0]!.n === 0;
  } finally {
    await c.end();
  }
}

before(async () => {
  kiln = await startTestApp();
  const requests = kiln.services.requests.service;
  const photo = await requests.storePhoto(kiln.platform.db, await phonePhoto(640, 480), 'IMG_2041.jpg');
  const report = await requests.submit({
    category: 'fly-tipping',
    answers: { what: 'furniture', amount: 'van' },
    description: 'A wardrobe left by the bus stop',
    location: locateStreet(streetByUsrn('41000018')!),
    address: null,
    locationNote: null,
    photoFileIds: [photo],
    channel: 'web',
    residentId: null,
    email: 'backup-drill@example.org',
    idempotencyKey: requests.newIdempotencyKey(),
    actor: { type: 'resident', id: null },
  });
  reference = report.reference;
  const shown = await new Client(kiln.app).get(`/reports/${reference}/photos/report/1`);
  assert.equal(shown.statusCode, 200);
  photoBytes = shown.rawPayload;
  while ((await sealAuditLog(kiln.platform.db)) > 0);
  backupFile = join(work, 'kiln-backup-drill.tar.gz');
  await createBackup({
    database: kiln.platform.database,
    uploadDir: kiln.platform.config.uploadDir,
    out: backupFile,
  });
});

after(async () => {
  await kiln.close();
  if (serverUrl) {
    for (const name of createdDatabases)
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
  }
});

describe('Backup and restore', () => {
  it('writes one read-only, checksummed archive that tar can list, and never overwrites it', async () => {
    assert.equal(statSync(backupFile).mode & 0o777, 0o444);
    const sidecar = readFileSync(`${backupFile}.sha256`, 'utf8');
    assert.match(sidecar, /^[0-9a-f]{64} {2}kiln-backup-drill\.tar\.gz\n$/);
    const listed = spawnSync('tar', ['-tzf', backupFile], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    const names = listed.stdout.trim().split('\n');
    assert.equal(names[0], serverUrl ? 'database.pgdump' : 'database.pglite.tgz');
    assert.ok(names.some((n) => /^files\/[0-9a-f]{2}\/[0-9a-f-]{36}$/.test(n)));
    assert.deepEqual(names.slice(-2), ['manifest.json', 'manifest.sha256']);
    const check = spawnSync('sha256sum', ['-c', `${backupFile}.sha256`], { cwd: work, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);

    await assert.rejects(
      createBackup({
        database: kiln.platform.database,
        uploadDir: kiln.platform.config.uploadDir,
        out: backupFile,
      }),
      /already exists: a backup never overwrites a file/,
    );
    assert.equal(statSync(backupFile).mode & 0o777, 0o444);
  });

  it('restores into a fresh database and data folder, and Kiln started on it shows the report and its photo', async () => {
    const fresh = await freshTarget();
    const uploadDir = join(fresh.dataDir, 'uploads');
    const summary = await restoreBackup({ file: backupFile, target: fresh.target, uploadDir });
    assert.equal(summary.audit.ok, true);
    assert.ok(summary.audit.checked > 0, 'the seeded data wrote audit entries');
    assert.ok(summary.filesRestored >= 1);
    assert.deepEqual(summary.filesMissing, []);

    const restored = await createApp({
      config: loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATA_DIR: fresh.dataDir,
        UPLOAD_DIR: uploadDir,
        RUN_WORKERS: 'false',
        SESSION_SECRET: randomBytes(24).toString('hex'),
        ...(fresh.url ? { DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: '3' } : {}),
      }),
    });
    try {
      const client = new Client(restored.app);
      const shown = await client.get(`/reports/${reference}`);
      assert.equal(shown.statusCode, 200);
      assert.equal(page(shown.body).heading(), 'Fly-tipping on Long Row');
      const photo = await client.get(`/reports/${reference}/photos/report/1`);
      assert.equal(photo.statusCode, 200);
      assert.equal(photo.headers['content-type'], 'image/jpeg');
      assert.ok(photo.rawPayload.equals(photoBytes), 'the photo is the one that was backed up');
      const chain = await verifyAuditChain(restored.platform.db);
      assert.equal(chain.ok, true);
      assert.equal(chain.checked, summary.audit.checked);
    } finally {
      await restored.close();
    }

    await assert.rejects(
      restoreBackup({ file: backupFile, target: fresh.target, uploadDir: join(work, 'empty-uploads') }),
      fresh.url ? /The target database is not empty/ : /already holds a database/,
    );
    await assert.rejects(
      restoreBackup({ file: backupFile, target: (await freshTarget()).target, uploadDir }),
      /already holds \d+ files: restore into an empty folder, or pass --force/,
    );
  });

  it('refuses a backup with one byte changed, and restores nothing from it', async () => {
    const flipped = join(work, 'flipped.tar.gz');
    copyFileSync(backupFile, flipped);
    copyFileSync(`${backupFile}.sha256`, `${flipped}.sha256`);
    const bytes = readFileSync(flipped);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    writeFileSync(flipped, bytes);
    writeFileSync(
      `${flipped}.sha256`,
      readFileSync(`${backupFile}.sha256`, 'utf8').replace('kiln-backup-drill', 'flipped'),
    );
    const fresh = await freshTarget();
    await assert.rejects(
      restoreBackup({ file: flipped, target: fresh.target, uploadDir: join(fresh.dataDir, 'uploads') }),
      /The backup failed its checks and nothing was restored: the file's SHA-256 is [0-9a-f]{64}, but flipped\.tar\.gz\.sha256 says/,
    );
    // Without the .sha256 beside it, the archive's own checks still catch the change.
    const alone = join(work, 'flipped-alone.tar.gz');
    copyFileSync(flipped, alone);
    await assert.rejects(
      restoreBackup({ file: alone, target: fresh.target, uploadDir: join(fresh.dataDir, 'uploads') }),
      /The backup failed its checks and nothing was restored/,
    );
    assert.equal(await targetIsEmpty(fresh), true);
    assert.equal(existsSync(join(fresh.dataDir, 'uploads')), false);

    // The command line says so and exits 1.
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      const code = await restoreCommand(
        loadConfig({ DATA_DIR: fresh.dataDir, ...(fresh.url ? { DATABASE_URL: fresh.url } : {}) }),
        [flipped],
      );
      assert.equal(code, 1);
    } finally {
      console.error = original;
    }
    assert.match(errors.join('\n'), /The backup failed its checks and nothing was restored/);
  });

  it('refuses a re-packed backup whose photo was changed but whose manifest was kept', async () => {
    const entries: Array<{ name: string; content: Buffer }> = [];
    await readTar(
      (async function* () {
        yield gunzipSync(readFileSync(backupFile));
      })(),
      async (header, content) => {
        const chunks: Buffer[] = [];
        for await (const c of content) chunks.push(c);
        entries.push({ name: header.name, content: Buffer.concat(chunks) });
      },
    );
    const photo = entries.find((e) => e.name.startsWith('files/'))!;
    photo.content = Buffer.from(photo.content);
    const at = photo.content.length - 3;
    photo.content[at] = photo.content[at]! ^ 0xff;
    const tar = Buffer.concat([
      ...entries.flatMap((e) => [
        tarHeader({ name: e.name, size: e.content.length }),
        e.content,
        tarPadding(e.content.length),
      ]),
      tarEnd,
    ]);
    const repacked = join(work, 'repacked.tar.gz');
    writeFileSync(repacked, gzipSync(tar));
    const fresh = await freshTarget();
    await assert.rejects(
      restoreBackup({ file: repacked, target: fresh.target, uploadDir: join(fresh.dataDir, 'uploads') }),
      new RegExp(
        `nothing was restored: ${photo.name.replace(/[.]/g, '\\.')} has SHA-256 [0-9a-f]{64}, but the manifest says`,
      ),
    );
    assert.equal(await targetIsEmpty(fresh), true);
  });
});
