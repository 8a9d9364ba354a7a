import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { calculateFee, isMajor } from './fees.ts';

// Figures from the schedule in force from 1 April 2025 (SI 2012/2920 Schedule 1, as amended).
const day = '2026-11-25';

describe('the English planning fee schedule', () => {
  test('householder: £528 for one home, £1,043 for two or more', () => {
    const one = calculateFee({ type: 'pp.full.householder' }, day);
    assert.equal(one.calculated, 52_800);
    assert.equal(one.payable, 52_800);
    assert.deepEqual(one.category, { sixAndSeven: 528 });
    assert.match(one.reasons[0]!, /single home is £528/);
    assert.equal(calculateFee({ type: 'pp.full.householder', dwellingsAltered: 2 }, day).payable, 104_300);
  });

  test('new homes: £588 each up to 10, £635 each to 50, then a base plus £189 each to a maximum', () => {
    assert.equal(calculateFee({ type: 'pp.full.minor', newDwellings: 3 }, day).payable, 3 * 58_800);
    assert.equal(calculateFee({ type: 'pp.full.major', newDwellings: 10 }, day).payable, 10 * 58_800);
    assert.equal(calculateFee({ type: 'pp.full.major', newDwellings: 11 }, day).payable, 11 * 63_500);
    assert.equal(
      calculateFee({ type: 'pp.full.major', newDwellings: 60 }, day).payable,
      3_138_500 + 10 * 18_900,
    );
    assert.equal(calculateFee({ type: 'pp.full.major', newDwellings: 5000 }, day).payable, 41_188_500);
  });

  test('other buildings: £298 to 40 m², then £588 for each 75 m² or part', () => {
    assert.equal(calculateFee({ type: 'pp.full.minor', floorAreaM2: 30 }, day).payable, 29_800);
    assert.equal(calculateFee({ type: 'pp.full.minor', floorAreaM2: 0 }, day).payable, 29_800);
    // 100 m² is two parts of 75 m².
    assert.equal(calculateFee({ type: 'pp.full.minor', floorAreaM2: 100 }, day).payable, 2 * 58_800);
    assert.equal(calculateFee({ type: 'pp.full.major', floorAreaM2: 1500 }, day).payable, 20 * 63_500);
    const mixed = calculateFee({ type: 'pp.full.minor', newDwellings: 2, floorAreaM2: 50 }, day);
    assert.equal(mixed.payable, 2 * 58_800 + 58_800);
    assert.deepEqual(mixed.category, { one: 1176, two: 588 });
  });

  test('a certificate of lawfulness for proposed works is half the fee; prior approval £240; trees free', () => {
    assert.equal(calculateFee({ type: 'ldc.proposed' }, day).payable, 26_400);
    assert.equal(calculateFee({ type: 'pa.part1.classA' }, day).payable, 24_000);
    assert.equal(calculateFee({ type: 'wtt.consent' }, day).payable, 0);
    assert.equal(calculateFee({ type: 'wtt.notice' }, day).payable, 0);
  });

  test('works for a disabled resident are exempt; the calculated fee is still shown', () => {
    const fee = calculateFee({ type: 'pp.full.householder', disability: true }, day);
    assert.equal(fee.calculated, 52_800);
    assert.equal(fee.payable, 0);
    assert.equal(fee.exemption.disability, true);
    assert.match(fee.reasons.at(-1)!, /disabled person/);
    // The exemption is for homes, not for new buildings.
    assert.equal(
      calculateFee({ type: 'pp.full.minor', newDwellings: 1, disability: true }, day).payable,
      58_800,
    );
  });

  test('the free resubmission applies only to applications made before 6 December 2023', () => {
    const old = calculateFee(
      {
        type: 'pp.full.householder',
        resubmission: { earlierMade: '2023-11-01', earlierDecided: '2026-01-10' },
      },
      day,
    );
    assert.equal(old.payable, 0);
    assert.equal(old.exemption.resubmission, true);
    const recent = calculateFee(
      {
        type: 'pp.full.householder',
        resubmission: { earlierMade: '2024-02-01', earlierDecided: '2026-01-10' },
      },
      day,
    );
    assert.equal(recent.payable, 52_800);
    assert.match(recent.reasons.at(-1)!, /6 December 2023/);
  });

  test('a parish council pays half', () => {
    const fee = calculateFee({ type: 'pp.full.minor', floorAreaM2: 100, parishCouncil: true }, day);
    assert.equal(fee.payable, 58_800);
    assert.equal(fee.reduction.parishCouncil, true);
  });

  test('a major development is 10 or more homes or 1,000 m² or more', () => {
    assert.equal(isMajor(9, 999), false);
    assert.equal(isMajor(10, 0), true);
    assert.equal(isMajor(0, 1000), true);
  });
});
