import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from './db/index.ts';
import { freshReference, shortReference } from './references.ts';

test('short references are read-aloud friendly: prefix, then 4 and 2 of 32 characters', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const reference = shortReference('BK');
    assert.match(reference, /^BK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$/);
    seen.add(reference);
  }
  assert.ok(seen.size > 990, `${seen.size} distinct of 1000`);
});

test('a fresh reference is drawn again while the one drawn is taken, and gives up after five', async () => {
  const database = await openDatabase({});
  try {
    const db = database.db;
    await sql`create table things (reference text not null unique, device_ref text)`.execute(db);
    await sql`insert into things values ('TH-AAAA-AA', 'HB-CCCC-CC'), ('TH-BBBB-BB', null)`.execute(db);
    // Draws the given references in turn, keeping what was drawn.
    const drawing = (...references: string[]) => {
      const drawn: string[] = [];
      const draw = () => {
        const next = references[drawn.length]!;
        drawn.push(next);
        return next;
      };
      return { drawn, draw };
    };

    const free = drawing('TH-CCCC-CC', 'TH-DDDD-DD');
    assert.equal(await freshReference(db, 'things', 'TH', { draw: free.draw }), 'TH-CCCC-CC');
    assert.deepEqual(free.drawn, ['TH-CCCC-CC']);

    const taken = drawing('TH-AAAA-AA', 'TH-BBBB-BB', 'TH-CCCC-CC');
    assert.equal(await freshReference(db, 'things', 'TH', { draw: taken.draw }), 'TH-CCCC-CC');
    assert.equal(taken.drawn.length, 3);

    // Another column, such as a device's: a reference taken there is drawn again.
    const device = drawing('HB-CCCC-CC', 'HB-EEEE-EE');
    assert.equal(
      await freshReference(db, 'things', 'HB', { column: 'device_ref', draw: device.draw }),
      'HB-EEEE-EE',
    );

    await assert.rejects(
      freshReference(db, 'things', 'TH', { draw: () => 'TH-AAAA-AA' }),
      /No free TH reference in things after 5 attempts/,
    );
  } finally {
    await database.close();
  }
});
