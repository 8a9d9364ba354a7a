import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { instantOf, routinePosition } from './clock.ts';
import { evaluate } from './evaluation.ts';
import { hubKey, readingIfValid, readingSchema, sign, signedText } from './ingest.ts';
import { clock, dayFeatures, detect, learn, type Reading } from './routine.ts';
import { simulateHome } from './simulator.ts';

const published = JSON.parse(
  readFileSync(new URL('../../../docs/wellbeing-reading.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

test('the published JSON Schema is the one Kiln validates with', () => {
  const { $id, title, description, ...rest } = published;
  assert.ok($id && title && description);
  assert.deepEqual(rest, JSON.parse(JSON.stringify(z.toJSONSchema(readingSchema))));
  const ajv = new Ajv2020({ strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(published);
  const good = { seq: 7, time: '2026-11-25T07:41:03.120Z', type: 'motion', value: 1, battery: 88 };
  assert.equal(validate(good), true);
  assert.equal(readingSchema.safeParse(good).success, true);
  for (const bad of [
    { ...good, type: 'smell' },
    { ...good, seq: -1 },
    { ...good, time: 'yesterday' },
    { ...good, extra: true },
    { seq: 1, type: 'motion', value: 1 },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
    assert.equal(readingSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('the quick check of a reading gives the same answer as the schema', () => {
  const good = {
    seq: 7,
    time: '2026-11-25T07:41:03.120Z',
    type: 'motion',
    value: 1,
    battery: 88,
    hub: 'HB-AAAA-BB',
    sig: 'ab'.repeat(32),
  };
  const variants: Record<string, unknown[]> = {
    seq: [0, 1, 2 ** 53 - 1, 2 ** 53, -1, -0, 1.5, '7', null, true, 1e300],
    time: [
      '2026-11-25T07:41:03Z',
      '2026-11-25T07:41:03+01:00',
      '2026-11-25T07:41:03.123456789-05:30',
      '2024-02-29T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-11-25T24:00:00Z',
      '2026-11-25T07:41Z',
      '2026-11-25 07:41:03Z',
      '2026-11-25T07:41:03',
      '2026-11-25T07:41:03z',
      '2026-13-01T00:00:00Z',
      'yesterday',
      '',
      1764056463000,
    ],
    type: [...['motion', 'contact', 'power', 'bed', 'temperature', 'heartbeat'], 'smell', 'Motion', '', 3],
    value: [0, -100_000, 100_000, -100_000.5, 100_001, 21.5, 1e-9, '1', null, false],
    battery: [0, 100, 55, -1, 101, 50.5, '50', null],
    hub: ['ABC', 'A'.repeat(40), 'AB', 'A'.repeat(41), 'hb-aaaa', 'HB_1', '', 5],
    sig: ['0'.repeat(64), 'f'.repeat(64), 'F'.repeat(64), '0'.repeat(63), '0'.repeat(65), 'g'.repeat(64), 1],
  };
  const cases: unknown[] = [good, null, [], 'motion', 7, [good], {}];
  for (const [field, values] of Object.entries(variants)) {
    for (const v of values) cases.push({ ...good, [field]: v });
    const without: Record<string, unknown> = { ...good };
    delete without[field];
    cases.push(without);
  }
  cases.push(
    { ...good, extra: 1 },
    JSON.parse('{"__proto__":{"x":1},"seq":1,"time":"2026-11-25T07:41:03Z","type":"motion","value":1}'),
  );
  const { battery: _b, hub: _h, sig: _s, ...minimal } = good;
  cases.push(minimal);
  let accepted = 0;
  for (const input of cases) {
    const body = JSON.parse(JSON.stringify(input)) as unknown;
    const quick = readingIfValid(body);
    const full = readingSchema.safeParse(body);
    assert.equal(quick !== undefined, full.success, JSON.stringify(input));
    if (quick) {
      assert.deepEqual({ ...quick }, full.data, JSON.stringify(input));
      accepted++;
    }
  }
  assert.ok(accepted > 30 && accepted < cases.length - 30, `${accepted} of ${cases.length} accepted`);
});

test('a reading is signed over its topic and fields with the hub key', () => {
  const key = hubKey('x'.repeat(32), 'HB-AAAA-BB', 1);
  assert.notEqual(key, hubKey('x'.repeat(32), 'HB-AAAA-BB', 2), 'a new key version is a new key');
  const reading = { seq: 1, time: '2026-11-25T07:41:03Z', type: 'motion' as const, value: 1 };
  assert.equal(
    signedText('kiln/homes/H/sensors/S/events', reading),
    'kiln/homes/H/sensors/S/events\n1\n2026-11-25T07:41:03Z\nmotion\n1',
  );
  const sig = sign(key, 'kiln/homes/H/sensors/S/events', reading);
  assert.match(sig, /^[0-9a-f]{64}$/);
  assert.notEqual(sig, sign(key, 'kiln/homes/OTHER/sensors/S/events', reading));
});

test('routine days run from 4am to 4am London time, across the clock change', () => {
  assert.deepEqual(routinePosition(new Date('2026-07-01T02:30:00Z')), {
    day: '2026-06-30',
    t: 1410,
    weekend: false,
  });
  assert.deepEqual(routinePosition(new Date('2026-07-01T03:00:00Z')), {
    day: '2026-07-01',
    t: 0,
    weekend: false,
  });
  assert.deepEqual(routinePosition(new Date('2026-12-05T09:00:00Z')), {
    day: '2026-12-05',
    t: 300,
    weekend: true,
  });
  assert.equal(instantOf('2026-07-01', 0).toISOString(), '2026-07-01T03:00:00.000Z');
  assert.equal(instantOf('2026-12-01', 0).toISOString(), '2026-12-01T04:00:00.000Z');
  assert.equal(clock(0), '4:00am');
  assert.equal(clock(520), '12:40pm');
  assert.equal(clock(1300), '1:40am');
});

test('the model is learnt from days with data only, and a quiet morning is explained', () => {
  const home = simulateHome(11, 30, false);
  const features = home.days.map((d) => dayFeatures(d.readings, d.weekend));
  const missing = features.map((f, i) => (i % 5 === 0 ? { ...f, hasData: false } : f));
  const model = learn(missing.slice(0, 28));
  assert.equal(model.days, 28 - 6);
  const today = home.days[28]!;
  const usual = today.weekend ? model.upWeekend! : model.upWeekday!;
  // The hub is heard all morning; the person got out of bed early and nothing moved after.
  const readings: Reading[] = [
    ...today.readings.filter((r) => r.kind === 'hub'),
    { t: 30, kind: 'bed' as const, room: 'bedroom' as const, sensorId: 'bed-sensor', value: 0 },
    { t: 31, kind: 'motion' as const, room: 'hallway' as const, sensorId: 'hallway-motion', value: 1 },
  ].sort((a, b) => a.t - b.t);
  const early = detect(model, readings, usual.median, {
    weekend: today.weekend,
    history: missing.slice(0, 28),
    hubLastHeardBefore: -5,
  });
  assert.equal(early.filter((c) => c.type === 'no_activity').length, 0, 'not before the usual time');
  const late = detect(model, readings, usual.median + 60, {
    weekend: today.weekend,
    history: missing.slice(0, 28),
    hubLastHeardBefore: -5,
  });
  const alert = late.find((c) => c.type === 'no_activity');
  assert.ok(alert);
  assert.ok(alert.at <= usual.median + 60);
  assert.match(alert.explanation, /the bed sensor says the bed is empty/);
  assert.match(
    alert.explanation,
    new RegExp(`typically ${clock(usual.median).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
  );
  // Without the hub there is nothing to judge: that is a hub alert, not a welfare check.
  const silent = detect(
    model,
    readings.filter((r) => r.kind !== 'hub'),
    usual.median + 60,
    { weekend: today.weekend, history: [], hubLastHeardBefore: -5 },
  );
  assert.deepEqual(
    silent.map((c) => c.type),
    ['sensor_offline'],
  );
});

test('on simulated homes the welfare check meets its goals', () => {
  const result = evaluate(40, 70, 3);
  const welfare = result.rows.find((r) => r.type === 'no_activity')!;
  assert.ok(welfare.labels >= 3, `only ${welfare.labels} labelled falls`);
  assert.ok((welfare.recallInTime ?? 0) >= 0.8, `recall ${welfare.recallInTime}`);
  assert.ok((welfare.precision ?? 0) >= 0.7, `precision ${welfare.precision}`);
  assert.ok(
    result.falseAlertsPerHomePerMonth < 2,
    `${result.falseAlertsPerHomePerMonth} false alerts a month`,
  );
});
