import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import type { Actor } from '../../platform/actor.ts';
import type { FactTable } from './service.ts';

const subjects = ['a', 'b', 'c', 'd'].map((s) => `00000000-0000-4000-8000-00000000000${s}`);

const eventArb = fc.oneof(
  fc.record({
    type: fc.constant('case.created'),
    subjectType: fc.constant('case'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record(
      {
        reference: fc.constantFrom('KLN-AAAA-01', 'KLN-BBBB-02'),
        service: fc.constantFrom('missed-bin', 'council-tax-discount'),
        channel: fc.constantFrom('web', 'phone', 'app', 'face_to_face'),
        team: fc.constantFrom('waste', 'revenues'),
        ward: fc.constantFrom('E05099001', 'E05099002'),
        // Carried by case.created now; older events have none.
        slaDueAt: fc.constantFrom('2020-01-01T00:00:00.000Z', '2099-01-01T00:00:00.000Z', null),
      },
      { requiredKeys: ['reference', 'service', 'channel', 'team'] },
    ),
  }),
  fc.record({
    type: fc.constantFrom('booking.held', 'booking.confirmed'),
    subjectType: fc.constant('booking'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record({
      bookable: fc.constantFrom('library-pc-1', 'video-consultation', 'bulky-waste'),
      ward: fc.constantFrom('E05099001', 'E05099002'),
    }),
  }),
  fc.record({
    type: fc.constant('wellbeing.home_installed'),
    subjectType: fc.constant('home'),
    subject: fc.constantFrom(...subjects),
    payload: fc.constant({}),
  }),
  fc.record({
    type: fc.constant('case.status_changed'),
    subjectType: fc.constant('case'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record({
      to: fc.constantFrom('in_progress', 'resolved', 'closed', 'received'),
      reason: fc.constantFrom('Fixed by Jo Bloggs, call 07700 900123', 'Done'),
    }),
  }),
  fc.record({
    type: fc.constant('street_report.created'),
    subjectType: fc.constant('case'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record({
      category: fc.constantFrom('pothole', 'fly-tipping'),
      ward: fc.constantFrom('E05099001', 'E05099002'),
      team: fc.constant('streets'),
    }),
  }),
  fc.record({
    type: fc.constant('case.assigned'),
    subjectType: fc.constant('case'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record({ to: fc.constantFrom(subjects[0]!, subjects[1]!) }),
  }),
  fc.record({
    type: fc.constantFrom(
      'payment.created',
      'payment.succeeded',
      'payment.success',
      'payment.failed',
      'payment.refunded',
    ),
    subjectType: fc.constant('payment'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record({
      amount: fc.integer({ min: 1, max: 50_000 }),
      method: fc.constantFrom('card', 'cash_desk', 'direct_debit'),
    }),
  }),
  fc.record({
    type: fc.constant('signing.paperless_changed'),
    subjectType: fc.constant('resident'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record({ paperless: fc.boolean() }),
  }),
  // Modules insights has no code for: counted generically by type, day and whatever codes they carry.
  fc.record({
    type: fc.constantFrom('bookings.created', 'planning.application_decided', 'wellbeing.alert_raised'),
    subjectType: fc.constantFrom('booking', 'planning_application', 'alert'),
    subject: fc.constantFrom(...subjects),
    payload: fc.record({
      reference: fc.constantFrom('PL-26-0001', 'BK-1'),
      withinTime: fc.boolean(),
      channel: fc.constantFrom('web', 'video'),
      status: fc.constantFrom('approved', 'free text with spaces, not a code'),
    }),
  }),
);

type Command = typeof commandArb extends fc.Arbitrary<infer T> ? T : never;

function createdWithSla(slaDueAt: string) {
  return {
    type: 'case.created',
    subjectType: 'case',
    subject: subjects[0]!,
    payload: { reference: 'KLN-AAAA-01', service: 'missed-bin', channel: 'web', team: 'waste', slaDueAt },
  };
}

const commandArb = fc.oneof(
  { weight: 6, arbitrary: eventArb.map((e) => ({ kind: 'publish' as const, event: e })) },
  { weight: 1, arbitrary: eventArb.map((e) => ({ kind: 'rolled-back' as const, event: e })) },
  // Committed late, and about an earlier day: its day's rollups must change.
  {
    weight: 2,
    arbitrary: fc
      .tuple(eventArb, fc.integer({ min: 0, max: 3 }))
      .map(([e, daysAgo]) => ({ kind: 'late' as const, event: e, daysAgo })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'load' as const }) },
);

describe('Insights warehouse: incremental loads equal a rebuild from scratch', () => {
  let kiln: TestKiln;
  const actor: Actor = { type: 'system', id: null };

  before(async () => {
    // No background loads: the property decides when loads happen.
    kiln = await startTestApp({ RUN_WORKERS: 'false' });
  });
  after(async () => kiln.close());

  async function snapshot() {
    const tables = kiln.services.insights.service.factTables.filter((t: FactTable) => t !== 'fact_sign_in');
    const out: Record<string, unknown> = {};
    for (const t of tables) out[t] = await kiln.services.insights.service.tableRows(t);
    return out;
  }

  test('after any sequence of events, loads, late commits and rollbacks', async () => {
    const db = kiln.platform.db;
    const insights = kiln.services.insights.service;
    await fc
      .assert(
        fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 25 }), async (commands) => {
          // Ids taken now and committed later: what a slow concurrent transaction looks like to the loader.
          const late: Array<{ id: number; event: (typeof commands)[number] & { kind: 'late' } }> = [];
          for (const command of commands) {
            if (command.kind === 'load') {
              await insights.load();
              for (const l of late.splice(0)) {
                const e = l.event.event;
                await sql`insert into domain_events (id, type, subject_type, subject_id, actor_type, payload, occurred_at)
                        values (${l.id}, ${e.type}, ${e.subjectType}, ${e.subject}, 'system', ${JSON.stringify(e.payload)}::jsonb,
                                now() - make_interval(days => ${l.event.daysAgo}))`.execute(db);
              }
              continue;
            }
            if (command.kind === 'late') {
              const { rows } = await sql<{
                id: number;
              }>`select nextval(pg_get_serial_sequence('domain_events', 'id'))::int as id`.execute(db);
              late.push({ id: rows[0]!.id, event: command });
              continue;
            }
            const e = command.event;
            const publish = (tx: typeof db) =>
              kiln.platform.events.publish(tx, {
                type: e.type,
                subjectType: e.subjectType,
                subjectId: e.subject,
                actor,
                payload: e.payload,
              });
            if (command.kind === 'publish') await db.transaction().execute(publish);
            else
              await db
                .transaction()
                .execute(async (tx) => {
                  await publish(tx);
                  throw new Error('roll back');
                })
                .catch(() => undefined);
          }
          for (const l of late.splice(0)) {
            const e = l.event.event;
            await sql`insert into domain_events (id, type, subject_type, subject_id, actor_type, payload, occurred_at)
                    values (${l.id}, ${e.type}, ${e.subjectType}, ${e.subject}, 'system', ${JSON.stringify(e.payload)}::jsonb,
                            now() - make_interval(days => ${l.event.daysAgo}))`.execute(db);
          }
          await insights.load();
          const incremental = await snapshot();
          await insights.rebuild(actor);
          const rebuilt = await snapshot();
          for (const table of Object.keys(incremental))
            assert.deepEqual(incremental[table], rebuilt[table], `${table} differs from its rebuild`);
          // The rollups are also rebuildable on their own, from the facts.
          await insights.rebuildRollups();
          const rolledUp = await snapshot();
          for (const table of Object.keys(incremental).filter((t) => t.startsWith('rollup_')))
            assert.deepEqual(incremental[table], rolledUp[table], `${table} differs from its rollup rebuild`);
          assert.ok((incremental.rollup_event_day as unknown[]).length > 0, 'no event rollup');
          // Every committed event is in the warehouse, and no free text is.
          const { rows } = await sql<{ n: number }>`select count(*)::int as n from domain_events`.execute(db);
          assert.equal(
            (incremental.fact_event as unknown[]).length,
            rows[0]!.n,
            'events missing from the warehouse',
          );
          assert.ok(!JSON.stringify(incremental).includes('07700'));
          assert.ok(!JSON.stringify(incremental).includes('free text'));
        }),
        {
          numRuns: 12,
          // A case created twice, the earlier event (lower id) committed late with another SLA due
          // date: the later event's date must win, as in a rebuild.
          examples: [
            [
              [
                { kind: 'late', event: createdWithSla('2020-01-01T00:00:00.000Z'), daysAgo: 0 },
                { kind: 'publish', event: createdWithSla('2099-01-01T00:00:00.000Z') },
                { kind: 'load' },
                { kind: 'load' },
              ],
            ],
          ] as Array<[Command[]]>,
        },
      )
      .catch((error: Error) => {
        // fast-check keeps the failing assertion as the cause: show it.
        throw error.cause instanceof Error
          ? Object.assign(error.cause, { message: `${error.message}\n${error.cause.message}` })
          : error;
      });
  });
});
