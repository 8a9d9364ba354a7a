import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { slaDueAt, slaState } from './sla.ts';

const at = (iso: string) => new Date(iso);
const hours = (n: number) => n * 3_600_000;

describe('SLA due dates', () => {
  test('working days skip the weekend', () => {
    // Friday 27 November 2026, mid-morning.
    assert.equal(
      slaDueAt(at('2026-11-27T10:00:00Z'), { value: 1, unit: 'working_days' }).toISOString(),
      '2026-11-30T10:00:00.000Z',
    );
    assert.equal(
      slaDueAt(at('2026-11-27T10:00:00Z'), { value: 3, unit: 'working_days' }).toISOString(),
      '2026-12-02T10:00:00.000Z',
    );
  });

  test('working days skip bank holidays as well as the weekend', () => {
    // Christmas Eve 2026 is a Thursday; Christmas Day and the substitute Boxing Day (Mon 28th) are holidays.
    assert.equal(
      slaDueAt(at('2026-12-24T10:00:00Z'), { value: 1, unit: 'working_days' }).toISOString(),
      '2026-12-29T10:00:00.000Z',
    );
    assert.equal(
      slaDueAt(at('2026-12-24T10:00:00Z'), { value: 2, unit: 'working_days' }).toISOString(),
      '2026-12-30T10:00:00.000Z',
    );
  });

  test('hours run round the clock, weekends included', () => {
    assert.equal(
      slaDueAt(at('2026-11-27T22:00:00Z'), { value: 48, unit: 'hours' }).toISOString(),
      '2026-11-29T22:00:00.000Z',
    );
  });
});

describe('SLA states', () => {
  const created = at('2026-11-02T09:00:00Z');
  const due = new Date(created.getTime() + hours(240)); // ten days allowed; at risk in the last two
  const open = { created_at: created, sla_due_at: due, resolved_at: null };

  test('on track early, at risk in the last fifth of the time, breached once past due', () => {
    assert.equal(slaState(open, new Date(created.getTime() + hours(24))), 'on_track');
    assert.equal(slaState(open, new Date(due.getTime() - hours(49))), 'on_track');
    assert.equal(slaState(open, new Date(due.getTime() - hours(47))), 'at_risk');
    assert.equal(slaState(open, new Date(due.getTime() - 1)), 'at_risk');
    assert.equal(slaState(open, new Date(due.getTime() + 1)), 'breached');
  });

  test('a short target is at risk for at least its last four hours', () => {
    const c = { created_at: created, sla_due_at: new Date(created.getTime() + hours(5)), resolved_at: null };
    assert.equal(slaState(c, new Date(created.getTime() + hours(0.5))), 'on_track');
    assert.equal(slaState(c, new Date(created.getTime() + hours(1.5))), 'at_risk');
  });

  test('resolving stops the clock: met in time, breached when late, whatever the time now', () => {
    const later = new Date(due.getTime() + hours(500));
    assert.equal(slaState({ ...open, resolved_at: new Date(due.getTime() - hours(1)) }, later), 'met');
    assert.equal(slaState({ ...open, resolved_at: new Date(due.getTime() + hours(1)) }, later), 'breached');
    assert.equal(slaState({ ...open, closed_at: new Date(due.getTime() - hours(1)) }, later), 'met');
  });

  test('no target, no state', () => {
    assert.equal(slaState({ created_at: created, sla_due_at: null, resolved_at: null }), 'none');
  });
});
