import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { openDatabase, type Db } from './index.ts';
import { PreparedStatements, selectsStar } from './prepared.ts';

test('a statement is named from its second use, and only with parameters', () => {
  const statements = new PreparedStatements();
  const text = 'insert into "notes" ("body") values ($1)';
  assert.equal(statements.config(text, ['a']).name, undefined);
  const second = statements.config(text, ['b']);
  assert.match(second.name ?? '', /^kiln_\d+$/);
  assert.equal(statements.config(text, ['c']).name, second.name);
  assert.deepEqual(statements.config(text, ['c']).values, ['c']);
  // No parameters: begin, commit and their like stay on the simple protocol.
  statements.config('commit', []);
  assert.equal(statements.config('commit', []).name, undefined);
  // Another text gets another name.
  const other = 'select "body" from "notes" where "id" = $1';
  statements.config(other, [1]);
  assert.notEqual(statements.config(other, [1]).name, second.name);
});

test('whole-row results are never prepared; multiplications may be', () => {
  for (const text of [
    'select * from "cases" where "id" = $1',
    'insert into "cases" ("a") values ($1) returning *',
    'select "c".*, "r"."email" from "cases" as "c" join "residents" as "r" on true where "c"."id" = $1',
    'select distinct * from t where a = $1',
    'select a, * from t where a = $1',
  ])
    assert.equal(selectsStar(text), true, text);
  for (const text of [
    'select count(*) as n from "cases" where "team_code" = $1',
    "update t set due = now() + $1 * interval '1s' where id = $2",
    'select (a * 2) as twice from t where id = $1',
  ])
    assert.equal(selectsStar(text), false, text);

  const statements = new PreparedStatements();
  const star = 'select * from "cases" where "id" = $1';
  statements.config(star, [1]);
  assert.equal(statements.config(star, [1]).name, undefined);
});

test('a statement whose result changed shape is not prepared again', () => {
  const statements = new PreparedStatements();
  const text = 'select "a" from t where id = $1';
  statements.config(text, [1]);
  assert.ok(statements.config(text, [1]).name);
  statements.failed(
    text,
    Object.assign(new Error('cached plan must not change result type'), { code: '0A000' }),
  );
  assert.equal(statements.config(text, [1]).name, undefined);
  assert.equal(statements.config(text, [1]).name, undefined);
  // Other errors (a constraint, say) leave the name alone.
  const insert = 'insert into t (a) values ($1)';
  statements.config(insert, [1]);
  const name = statements.config(insert, [1]).name;
  statements.failed(insert, Object.assign(new Error('duplicate key'), { code: '23505' }));
  assert.equal(statements.config(insert, [1]).name, name);
});

test('a cap on how many statements are kept', () => {
  const statements = new PreparedStatements(2);
  const named = [1, 2, 3].map((i) => {
    const text = `select "a${i}" from t where id = $1`;
    statements.config(text, [i]);
    return statements.config(text, [i]).name;
  });
  assert.ok(named[0] && named[1]);
  assert.equal(named[2], undefined);
});

/** A scratch database: on the PostgreSQL server of DATABASE_URL, through the preparing pool; else embedded. */
async function scratchDatabase(): Promise<{ db: Db; server: boolean; close(): Promise<void> }> {
  if (!process.env.DATABASE_URL) {
    const database = await openDatabase({});
    return { db: database.db, server: false, close: () => database.close() };
  }
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const name = `kiln_prepared_${randomBytes(4).toString('hex')}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  const db: Db = new Kysely({ dialect: new PostgresDialect({ pool: new PreparedStatements().wrap(pool) }) });
  return {
    db,
    server: true,
    close: async () => {
      await db.destroy();
      const cleanup = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name}`);
      await cleanup.end();
    },
  };
}

// On a server (npm run test:pg) statements really are prepared once per connection; on both, a
// migration that adds a column while connections are live breaks no query.
test('repeated statements are prepared on a server, and a new column breaks no query', async () => {
  const { db, server, close } = await scratchDatabase();
  try {
    await sql`create table notes (id int primary key, body text)`.execute(db);
    for (let i = 1; i <= 5; i++)
      await db
        .insertInto('notes')
        .values({ id: i, body: `note ${i}` })
        .execute();
    const read = () => db.selectFrom('notes').select(['id', 'body']).where('id', '=', 3).executeTakeFirst();
    const readAll = () => db.selectFrom('notes').selectAll().where('id', '=', 3).executeTakeFirst();
    await read();
    await readAll();
    assert.deepEqual(await read(), { id: 3, body: 'note 3' });
    assert.deepEqual(await readAll(), { id: 3, body: 'note 3' });
    if (server) {
      const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
        db,
      );
      const prepared = rows.map((r) => r.statement);
      assert.ok(
        prepared.some((s) => s.startsWith('insert into "notes"')),
        prepared.join('\n'),
      );
      assert.ok(
        prepared.some((s) => s.startsWith('select "id", "body" from "notes"')),
        prepared.join('\n'),
      );
      assert.ok(!prepared.some((s) => s.startsWith('select * from "notes"')), prepared.join('\n'));
    }

    // As a rolling deploy's migration does while older processes still run.
    await sql`alter table notes add column author text`.execute(db);
    assert.deepEqual(await read(), { id: 3, body: 'note 3' });
    assert.deepEqual(await readAll(), { id: 3, body: 'note 3', author: null });
  } finally {
    await close();
  }
});
