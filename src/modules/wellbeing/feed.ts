// Turns simulated homes into what hubs send: readings with sensor references, sequence numbers
// and times, for publishing over MQTT, posting to the batch endpoint or writing in bulk.
import { instantOf } from './clock.ts';
import type { ReadingPayload } from './ingest.ts';
import type { SensorKind } from './routine.ts';
import type { SimHome } from './simulator.ts';

export interface FeedReading extends ReadingPayload {
  sensor: string;
}

const typeOf: Record<SensorKind, ReadingPayload['type']> = {
  motion: 'motion',
  front_door: 'contact',
  fridge: 'contact',
  kettle: 'power',
  bed: 'bed',
  temperature: 'temperature',
};

/**
 * The readings of a simulated home from `firstDay` (YYYY-MM-DD, its day 0), with `refs` mapping
 * the simulator's sensor names (and "hub") to the installed devices' references.
 */
export function* feed(
  home: SimHome,
  firstDay: string,
  refs: Map<string, string>,
  seqs = new Map<string, number>(),
) {
  const start = Date.parse(`${firstDay}T00:00:00Z`);
  for (const [index, day] of home.days.entries()) {
    const date = new Date(start + index * 86_400_000).toISOString().slice(0, 10);
    for (const r of day.readings) {
      const sensor = refs.get(r.sensorId);
      if (!sensor) continue;
      const seq = (seqs.get(sensor) ?? 0) + 1;
      seqs.set(sensor, seq);
      const time = instantOf(date, r.t).toISOString();
      const reading: FeedReading =
        r.kind === 'hub' || r.kind === 'check'
          ? {
              sensor,
              seq,
              time,
              type: 'heartbeat',
              value: 1,
              ...(r.battery != null ? { battery: r.battery } : {}),
            }
          : { sensor, seq, time, type: typeOf[r.kind], value: r.value };
      yield reading;
    }
  }
}
