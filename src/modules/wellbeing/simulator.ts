// Simulated homes for the evaluation, the demo, tests and the benchmark: a person's routine with
// day-to-day noise, weekends, outings, visitors and sensor faults, and injected, labelled events
// (a fall, an infection, a decline, a cold snap, a door left open, a sensor or hub failing).
import type { AlertType, Reading, Room, SensorKind } from './routine.ts';

/** A small, seedable random generator (mulberry32), so a simulated home is the same every run. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (lo: number, hi: number) => lo + (hi - lo) * next(),
    int: (lo: number, hi: number) => Math.floor(lo + (hi - lo + 1) * next()),
    normal: (mean: number, sd: number) => {
      const u = Math.max(1e-12, next());
      return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  };
}
export type Random = ReturnType<typeof random>;

export interface SimSensor {
  id: string;
  kind: SensorKind;
  room: Room;
  label: string;
}

export const simSensors: SimSensor[] = [
  { id: 'bedroom-motion', kind: 'motion', room: 'bedroom', label: 'bedroom motion sensor' },
  { id: 'bathroom-motion', kind: 'motion', room: 'bathroom', label: 'bathroom motion sensor' },
  { id: 'kitchen-motion', kind: 'motion', room: 'kitchen', label: 'kitchen motion sensor' },
  { id: 'living-motion', kind: 'motion', room: 'living_room', label: 'living room motion sensor' },
  { id: 'hallway-motion', kind: 'motion', room: 'hallway', label: 'hallway motion sensor' },
  { id: 'front-door', kind: 'front_door', room: 'hallway', label: 'front door contact' },
  { id: 'fridge-door', kind: 'fridge', room: 'kitchen', label: 'fridge door contact' },
  { id: 'kettle-plug', kind: 'kettle', room: 'kitchen', label: 'kettle plug' },
  { id: 'bed-sensor', kind: 'bed', room: 'bedroom', label: 'bed occupancy pad' },
  { id: 'living-temperature', kind: 'temperature', room: 'living_room', label: 'living room thermometer' },
];

export interface Profile {
  /** Usual minute (since 04:00) of getting up on weekdays, and its day-to-day spread. */
  wake: number;
  wakeSd: number;
  weekendShift: number;
  sleep: number;
  /** Movements an hour while up. */
  rate: number;
  bathroom: number;
  nightTrips: number;
  outings: number;
  visitors: number;
  lunchSkip: number;
  warmth: number;
}

export interface Label {
  type: AlertType;
  /** First day (index) and minute at which the condition exists. */
  day: number;
  onset: number;
  /** Last day on which an alert still counts as detecting it. */
  untilDay: number;
  /** For the welfare check: the minute by which it should have been raised (usual time + 60). */
  dueBy?: number;
  sensorId?: string;
}

export interface SimDay {
  weekend: boolean;
  readings: Reading[];
}

export interface SimHome {
  seed: number;
  profile: Profile;
  days: SimDay[];
  labels: Label[];
}

const activeRooms: Room[] = ['living_room', 'living_room', 'living_room', 'kitchen', 'kitchen', 'hallway'];

/** Makes a person's profile: when they get up and go to bed, how busy they are. */
export function makeProfile(r: Random): Profile {
  return {
    wake: r.between(120, 300),
    wakeSd: r.between(8, 25),
    weekendShift: r.between(0, 50),
    sleep: r.between(1050, 1170),
    rate: r.between(6, 14),
    bathroom: r.between(4, 7),
    nightTrips: r.between(0.2, 1.3),
    outings: r.between(0.1, 0.6),
    visitors: r.between(0.05, 0.25),
    lunchSkip: r.between(0, 0.25),
    warmth: r.between(18.5, 21.5),
  };
}

type Injection =
  | { kind: 'fall_morning' | 'fall_day' | 'cold' | 'door' | 'hub_outage' | 'low_battery'; day: number }
  | { kind: 'infection'; day: number; length: number }
  | { kind: 'decline'; day: number }
  | { kind: 'sensor_fault'; day: number; sensor: string };

/**
 * Simulates one home for `days` days. `inject` chooses injected events (from day 35 on, once the
 * routine has been learnt); a home without them is an ordinary home whose alerts are all false.
 */
export function simulateHome(seed: number, days: number, inject = true, startWeekday = 1): SimHome {
  const r = random(seed);
  const profile = makeProfile(r);
  const injections: Injection[] = [];
  if (inject && days > 40) {
    const kinds = [
      'fall_morning',
      'fall_day',
      'infection',
      'decline',
      'cold',
      'door',
      'sensor_fault',
      'hub_outage',
      'low_battery',
    ] as const;
    const count = r.int(1, 3);
    const used = new Set<number>();
    for (let i = 0; i < count; i++) {
      const kind = r.pick(kinds);
      if (kind === 'decline' && injections.some((x) => x.kind === 'decline')) continue;
      const day = kind === 'decline' ? r.int(45, Math.max(45, days - 30)) : r.int(36, days - 3);
      if ([day - 1, day, day + 1].some((d) => used.has(d))) continue;
      for (let d = day - 1; d <= day + 5; d++) used.add(d);
      if (kind === 'infection') injections.push({ kind, day, length: r.int(3, 5) });
      else if (kind === 'sensor_fault')
        injections.push({ kind, day, sensor: r.pick(simSensors.filter((s) => s.kind !== 'temperature')).id });
      else injections.push({ kind, day });
    }
  }
  const labels: Label[] = [];
  const out: SimDay[] = [];
  const battery = new Map(simSensors.map((s) => [s.id, r.between(60, 100)]));
  const offline = new Map<string, number>(); // sensor -> day index it comes back
  for (let d = 0; d < days; d++) {
    const weekend = (startWeekday + d) % 7 === 0 || (startWeekday + d) % 7 === 6;
    const readings: Reading[] = [];
    const here = injections.filter((x) => x.day === d);
    const infection = injections.find((x) => x.kind === 'infection' && d >= x.day && d < x.day + x.length);
    const decline = injections.find((x) => x.kind === 'decline' && d >= x.day);
    const declineFactor = decline ? Math.max(0.45, 1 - ((d - decline.day) / 21) * 0.55) : 1;
    const usualWake = profile.wake + (weekend ? profile.weekendShift : 0);
    let wake = r.normal(usualWake, profile.wakeSd);
    if (r.chance(0.02)) wake += r.between(40, 80); // an ordinary late morning
    wake = Math.max(60, wake);
    const sleep = r.normal(profile.sleep, 20);
    // Where the person stops moving today (a fall), if they do.
    let stopAt = Infinity;
    if (here.some((x) => x.kind === 'fall_morning')) {
      stopAt = r.between(20, Math.max(30, usualWake - 60));
      labels.push({ type: 'no_activity', day: d, onset: stopAt, untilDay: d, dueBy: usualWake + 60 });
    }
    if (here.some((x) => x.kind === 'fall_day')) {
      stopAt = r.between(wake + 90, Math.min(sleep - 120, 15 * 60));
      labels.push({ type: 'long_inactivity', day: d, onset: stopAt, untilDay: d });
    }
    const motion = (t: number, room: Room) => {
      if (t >= stopAt || t < 0 || t >= 1440) return;
      const sensor = simSensors.find((s) => s.kind === 'motion' && s.room === room)!;
      readings.push({ t, kind: 'motion', room, sensorId: sensor.id, value: 1 });
    };
    const device = (t: number, id: string, value: number) => {
      if (t >= stopAt || t < 0 || t >= 1440) return;
      const s = simSensors.find((x) => x.id === id)!;
      readings.push({ t, kind: s.kind, room: s.room, sensorId: id, value });
    };
    const trip = (t: number, partial = false) => {
      device(t, 'bed-sensor', 0);
      motion(t + 0.5, 'bedroom');
      motion(t + 1, 'hallway');
      motion(t + 2, 'bathroom');
      if (partial) return;
      motion(t + 5, 'hallway');
      device(t + 6, 'bed-sensor', 1);
    };
    // Early morning before getting up, and the fall if it happens then.
    const earlyTrips = Math.floor(r.between(0, profile.nightTrips * 0.5 + 0.5));
    for (let i = 0; i < earlyTrips; i++) trip(r.between(0, Math.max(1, wake - 20)));
    if (stopAt < wake) trip(stopAt - 3, true);
    // Getting up: bedroom, bathroom, kitchen breakfast.
    device(wake, 'bed-sensor', 0);
    motion(wake, 'bedroom');
    motion(wake + 1, 'hallway');
    motion(wake + 2, 'bathroom');
    motion(wake + 6, 'bathroom');
    motion(wake + 12, 'hallway');
    motion(wake + 14, 'kitchen');
    device(wake + 15, 'kettle-plug', 2200);
    device(wake + 18, 'kettle-plug', 0);
    device(wake + 20, 'fridge-door', 1);
    device(wake + 20.5, 'fridge-door', 0);
    // Meals: lunch and dinner, fewer when declining.
    const meals = [r.normal(8.5 * 60, 30), r.normal(13.5 * 60, 30)];
    const mealChance = decline ? declineFactor * 0.9 : 1;
    const outings: Array<[number, number]> = [];
    if (r.chance(profile.outings * declineFactor)) {
      const start = r.between(wake + 90, Math.max(wake + 100, 12 * 60));
      outings.push([start, start + r.between(60, 200)]);
    }
    const out_ = (t: number) => outings.some(([a, b]) => t > a - 3 && t < b + 1);
    // A nap in the chair: motion sensors see nobody sitting still.
    const nap: [number, number] | null = r.chance(0.3) ? [r.between(13 * 60, 16 * 60), 0] : null;
    if (nap) nap[1] = nap[0] + r.between(30, 100);
    const still = (t: number) => out_(t) || (nap !== null && t > nap[0] && t < nap[1]);
    meals.forEach((m, i) => {
      if (still(m)) return;
      if (i === 0 && r.chance(profile.lunchSkip)) return;
      if (!r.chance(mealChance)) return;
      motion(m, 'kitchen');
      device(m + 1, 'fridge-door', 1);
      device(m + 1.5, 'fridge-door', 0);
      if (r.chance(0.7)) {
        device(m + 3, 'kettle-plug', 2200);
        device(m + 6, 'kettle-plug', 0);
      }
      motion(m + 8, 'kitchen');
    });
    // Outings: the door, then nothing, then the door.
    for (const [a, b] of outings) {
      motion(a - 2, 'hallway');
      device(a, 'front-door', 1);
      device(a + 0.5, 'front-door', 0);
      device(b, 'front-door', 1);
      device(b + 0.5, 'front-door', 0);
      motion(b + 1, 'hallway');
    }
    // Daytime movement.
    const rate = profile.rate * declineFactor;
    for (let t = wake + 25; t < sleep; t += r.between(0, (2 * 60) / rate)) {
      if (still(t)) continue;
      motion(t, r.pick(activeRooms));
    }
    // Bathroom visits through the day.
    const visits = Math.round(r.normal(profile.bathroom, 1)) + (infection ? r.int(6, 9) : 0);
    for (let i = 0; i < visits; i++) {
      const t = r.between(wake + 30, sleep);
      if (still(t)) continue;
      motion(t, 'bathroom');
      motion(t + 3, 'bathroom');
    }
    // Visitors: more movement, the door.
    const v = r.between(10 * 60, 15 * 60);
    const clash = outings.some(([a, b]) => a < v + 95 && b > v - 5) || (nap && nap[0] < v + 95 && nap[1] > v);
    if (r.chance(profile.visitors) && !clash) {
      device(v, 'front-door', 1);
      device(v + 0.5, 'front-door', 0);
      for (let t = v; t < v + 90; t += r.between(1, 6))
        motion(t, r.pick(['living_room', 'kitchen'] as Room[]));
    }
    // Bed time and the night.
    motion(sleep, 'hallway');
    motion(sleep + 2, 'bathroom');
    motion(sleep + 8, 'bedroom');
    device(sleep + 10, 'bed-sensor', 1);
    const nightTrips = Math.floor(r.between(0, profile.nightTrips * 1.5)) + (infection ? r.int(4, 6) : 0);
    for (let i = 0; i < nightTrips; i++) trip(r.between(Math.max(sleep + 30, 19 * 60), 1430));
    // A door left open at night.
    if (here.some((x) => x.kind === 'door')) {
      const t = r.between(19.5 * 60, 21.5 * 60);
      motion(t - 1, 'hallway');
      device(t, 'front-door', 1);
      device(t + r.between(45, 150), 'front-door', 0);
      labels.push({ type: 'door_open_night', day: d, onset: t, untilDay: d });
    }
    if (here.some((x) => x.kind === 'infection')) {
      const inf = here.find((x) => x.kind === 'infection') as { length: number };
      labels.push({ type: 'bathroom_increase', day: d, onset: 0, untilDay: d + inf.length + 1 });
      labels.push({ type: 'night_activity', day: d, onset: 0, untilDay: d + inf.length });
    }
    if (here.some((x) => x.kind === 'decline')) {
      labels.push({ type: 'declining_activity', day: d + 7, onset: 0, untilDay: days });
      labels.push({ type: 'fewer_meals', day: d + 7, onset: 0, untilDay: days });
    }
    // Temperature every half hour; a cold snap takes the heating with it.
    const cold = here.some((x) => x.kind === 'cold');
    if (cold) labels.push({ type: 'cold_home', day: d, onset: 0, untilDay: d });
    for (let t = 5; t < 1440; t += 30) {
      const night = t < wake || t > sleep + 60;
      let temp = profile.warmth - (night ? 1.5 : 0) + r.normal(0, 0.3);
      if (cold && t < 10 * 60) temp = Math.min(temp, 13 + r.normal(0, 0.5) + t / 300);
      readings.push({
        t,
        kind: 'temperature',
        room: 'living_room',
        sensorId: 'living-temperature',
        value: Math.round(temp * 10) / 10,
      });
    }
    // Check-ins: the hub every 10 minutes, each sensor hourly with its battery.
    let hubDown: [number, number] | null = null;
    if (here.some((x) => x.kind === 'hub_outage')) {
      const a = r.between(7 * 60, 14 * 60);
      hubDown = [a, a + r.between(120, 420)];
      labels.push({ type: 'sensor_offline', day: d, onset: a, untilDay: d, sensorId: 'hub' });
    }
    const fault = here.find((x) => x.kind === 'sensor_fault') as { sensor: string } | undefined;
    let faultAt = Infinity;
    if (fault) {
      faultAt = r.between(8 * 60, 16 * 60);
      offline.set(fault.sensor, d + r.int(1, 3));
      labels.push({
        type: 'sensor_offline',
        day: d,
        onset: faultAt,
        untilDay: d + 1,
        sensorId: fault.sensor,
      });
    }
    if (here.some((x) => x.kind === 'low_battery')) {
      const s = r.pick(simSensors).id;
      battery.set(s, 14);
      labels.push({ type: 'low_battery', day: d, onset: 0, untilDay: d + 1, sensorId: s });
    }
    for (let t = 1; t < 1440; t += 10)
      readings.push({ t, kind: 'hub', room: null, sensorId: 'hub', value: 1 });
    for (const s of simSensors) {
      const level = battery.get(s.id)!;
      const next = level < 15 ? 100 : Math.max(15, level - 0.05); // replaced once reported low
      battery.set(s.id, next);
      for (let t = 30; t < 1440; t += 60) {
        readings.push({
          t: t + 0.1,
          kind: 'check',
          room: s.room,
          sensorId: s.id,
          value: 1,
          battery: Math.floor(level),
        });
      }
    }
    // Faults: a sensor gone quiet, the hub gone quiet (with everything behind it).
    let kept = readings;
    for (const [id, back] of [...offline]) {
      if (d >= back) {
        offline.delete(id);
        continue;
      }
      const from = fault?.sensor === id ? faultAt : -1;
      kept = kept.filter((x) => x.sensorId !== id || x.t < from);
    }
    if (hubDown) kept = kept.filter((x) => x.t < hubDown[0] || x.t >= hubDown[1]);
    kept.sort((a, b) => a.t - b.t);
    out.push({ weekend, readings: kept });
  }
  return { seed, profile, days: out, labels };
}
