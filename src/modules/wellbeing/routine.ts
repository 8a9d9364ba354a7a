// The routine model and the alert rules. Pure functions over one home's sensor readings, with no
// database or clock of their own: the service feeds them stored events, the evaluation feeds them
// simulated homes, so what is measured is exactly what runs.
//
// A "routine day" runs from 04:00 to 04:00 local time, so a night belongs to the day before it and
// a morning starts fresh. Times inside a day are minutes since 04:00 (0..1439).

export const sensorKinds = ['motion', 'front_door', 'fridge', 'kettle', 'bed', 'temperature'] as const;
export type SensorKind = (typeof sensorKinds)[number];
export const rooms = ['bedroom', 'bathroom', 'kitchen', 'living_room', 'hallway'] as const;
export type Room = (typeof rooms)[number];

export const alertTypes = [
  'no_activity',
  'long_inactivity',
  'night_activity',
  'fewer_meals',
  'bathroom_increase',
  'cold_home',
  'door_open_night',
  'sensor_offline',
  'low_battery',
  'declining_activity',
  'improvement',
  'missed_prompts',
] as const;
export type AlertType = (typeof alertTypes)[number];
export type Severity = 'high' | 'medium' | 'low' | 'info';

export const alertTypeLabels: Record<AlertType, string> = {
  no_activity: 'No activity by the usual time',
  long_inactivity: 'No movement for a long time',
  night_activity: 'Unusual night-time activity',
  fewer_meals: 'Fewer meals',
  bathroom_increase: 'More bathroom visits',
  cold_home: 'Cold home',
  door_open_night: 'Front door open at night',
  sensor_offline: 'Sensor or hub offline',
  low_battery: 'Low battery',
  declining_activity: 'Activity declining',
  improvement: 'Routine improving',
  missed_prompts: 'Missed reminders',
};

export const severities: Record<AlertType, Severity> = {
  no_activity: 'high',
  long_inactivity: 'high',
  door_open_night: 'high',
  cold_home: 'medium',
  night_activity: 'medium',
  fewer_meals: 'medium',
  bathroom_increase: 'medium',
  declining_activity: 'medium',
  missed_prompts: 'medium',
  sensor_offline: 'low',
  low_battery: 'low',
  improvement: 'info',
};

export const DAY_START_HOUR = 4;
const NIGHT_START = (23 - DAY_START_HOUR) * 60; // 23:00
const MEAL_START = (6 - DAY_START_HOUR) * 60; // 06:00
const MEAL_END = (21 - DAY_START_HOUR) * 60; // 21:00
export const COLD_CELSIUS = 16;
const COLD_MINUTES = 120;
const DOOR_OPEN_MINUTES = 15;
const UP_EVENTS = 4;
const HUB_SILENT_MINUTES = 45;
const SENSOR_SILENT_MINUTES = 180;
const LOW_BATTERY = 15;

/** One reading inside a routine day. */
export interface Reading {
  /** Minutes since 04:00 local time. */
  t: number;
  /** `hub`: the hub's heartbeat; `check`: a sensor's hourly check-in (battery), not activity. */
  kind: SensorKind | 'hub' | 'check';
  room: Room | null;
  sensorId: string;
  /** motion 1; door/fridge 1 open, 0 closed; kettle watts; bed 1 in bed, 0 out; temperature °C; hub 1. */
  value: number;
  battery?: number | null;
}

/** What a finished day comes to: the numbers the routine is learnt from. */
export interface DayFeatures {
  /** Whether the hub was heard at all (a day without it is missing, not quiet). */
  hasData: boolean;
  weekend: boolean;
  /** Minute by which the person was up: the fourth movement outside the bedroom after 04:00. */
  upAt: number | null;
  /** Activity events outside night hours (movement, doors, appliances). */
  activity: number;
  /** Movements by hour of day (0 = 04:00-05:00) and room. */
  hourRoom: Partial<Record<Room, number[]>>;
  meals: number;
  bathroom: number;
  /** Movements outside the bedroom between 23:00 and 04:00. */
  night: number;
  /** Longest spell without any reading between being up and 21:00, minutes, not counting time out. */
  longestGap: number;
  medianTemp: number | null;
}

export interface Stats {
  n: number;
  median: number;
  p10: number;
  p90: number;
  mean: number;
  sd: number;
  max: number;
}

/** What Kiln has learnt about one home: small, readable numbers, shown to staff as they are. */
export interface RoutineModel {
  /** Days of the window with data. */
  days: number;
  window: number;
  upWeekday: Stats | null;
  upWeekend: Stats | null;
  meals: Stats | null;
  bathroom: Stats | null;
  night: Stats | null;
  longestGap: Stats | null;
  temperature: Stats | null;
  /** Average movements per hour of day and room over the window. */
  hourRoom: Partial<Record<Room, number[]>>;
  /** Per alert type, minutes or units added to thresholds after false alarms. */
  slack: Partial<Record<AlertType, number>>;
}

export interface Candidate {
  type: AlertType;
  severity: Severity;
  /** Minute of the routine day at which the evidence was complete. */
  at: number;
  explanation: string;
  evidence: Record<string, unknown>;
  /** Sensor an offline or battery alert is about. */
  sensorId?: string;
}

export function stats(values: number[]): Stats | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length);
  return { n: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9), mean, sd, max: s[s.length - 1]! };
}

const isActivity = (r: Reading) =>
  r.kind === 'motion' ||
  ((r.kind === 'front_door' || r.kind === 'fridge') && r.value === 1) ||
  (r.kind === 'kettle' && r.value > 500);
const outsideBedroom = (r: Reading) => isActivity(r) && r.room !== 'bedroom';

/** Turns a day's readings (sorted by time) into its features. */
export function dayFeatures(readings: Reading[], weekend: boolean): DayFeatures {
  const hourRoom: Partial<Record<Room, number[]>> = {};
  let hasData = false;
  let upAt: number | null = null;
  let upCount = 0;
  let activity = 0;
  let night = 0;
  let meals = 0;
  let lastMeal = -1e9;
  let bathroom = 0;
  let lastBathroom = -1e9;
  const temps: number[] = [];
  let longestGap = 0;
  let lastActive: number | null = null;
  let lastWasDoor = false;
  for (const r of readings) {
    hasData = true;
    if (r.kind === 'temperature') temps.push(r.value);
    if (!isActivity(r)) continue;
    if (r.t < NIGHT_START) activity++;
    if (r.kind === 'motion' && r.room) {
      const row = (hourRoom[r.room] ??= new Array<number>(24).fill(0));
      row[Math.floor(r.t / 60)]!++;
    }
    if (outsideBedroom(r)) {
      if (upAt === null && ++upCount >= UP_EVENTS) upAt = r.t;
      if (r.t >= NIGHT_START) night++;
    }
    if ((r.kind === 'fridge' || r.kind === 'kettle') && r.t >= MEAL_START && r.t < MEAL_END) {
      if (r.t - lastMeal > 90) meals++;
      lastMeal = r.t;
    }
    if (r.kind === 'motion' && r.room === 'bathroom') {
      if (r.t - lastBathroom > 15) bathroom++;
      lastBathroom = r.t;
    }
    if (upAt !== null && r.t <= MEAL_END) {
      if (lastActive !== null && !lastWasDoor) longestGap = Math.max(longestGap, r.t - lastActive);
      lastActive = r.t;
      lastWasDoor = r.kind === 'front_door';
    }
  }
  return {
    hasData,
    weekend,
    upAt,
    activity,
    hourRoom,
    meals,
    bathroom,
    night,
    longestGap,
    medianTemp: stats(temps)?.median ?? null,
  };
}

/** Learns the routine from up to `window` previous days; days without data are left out. */
export function learn(history: DayFeatures[], slack: RoutineModel['slack'] = {}, window = 28): RoutineModel {
  const days = history.slice(-window).filter((d) => d.hasData);
  const pick = (f: (d: DayFeatures) => number | null, from = days) =>
    stats(from.map(f).filter((v): v is number => v !== null));
  const hourRoom: Partial<Record<Room, number[]>> = {};
  for (const d of days) {
    for (const [room, counts] of Object.entries(d.hourRoom) as Array<[Room, number[]]>) {
      const row = (hourRoom[room] ??= new Array<number>(24).fill(0));
      counts.forEach((c, h) => (row[h]! += c / days.length));
    }
  }
  for (const row of Object.values(hourRoom)) row.forEach((v, h) => (row[h] = Math.round(v * 10) / 10));
  const weekdays = days.filter((d) => !d.weekend);
  const weekends = days.filter((d) => d.weekend);
  const upWeekday = pick((d) => d.upAt, weekdays);
  return {
    days: days.length,
    window,
    upWeekday,
    // Too few weekends to learn from: use the weekdays.
    upWeekend: weekends.length >= 4 ? pick((d) => d.upAt, weekends) : upWeekday,
    meals: pick((d) => d.meals),
    bathroom: pick((d) => d.bathroom),
    night: pick((d) => d.night),
    longestGap: pick((d) => d.longestGap),
    temperature: pick((d) => d.medianTemp),
    hourRoom,
    slack,
  };
}

/** Minutes since 04:00 as a clock time people read: "8:40am". */
export function clock(t: number): string {
  const minutes = (((Math.round(t) + DAY_START_HOUR * 60) % 1440) + 1440) % 1440;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const suffix = h < 12 ? 'am' : 'pm';
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${h12}:${String(m).padStart(2, '0')}${suffix}`;
}

function duration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = Math.round(minutes % 60);
  if (h === 0) return `${m} minutes`;
  return m === 0 ? `${h} hour${h === 1 ? '' : 's'}` : `${h} hour${h === 1 ? '' : 's'} ${m} minutes`;
}

/** The time by which no movement becomes worth a welfare check, and how it was worked out. */
export function upThreshold(model: RoutineModel, weekend: boolean) {
  const s = weekend ? model.upWeekend : model.upWeekday;
  if (!s || s.n < 7) return null;
  const slack = model.slack.no_activity ?? 0;
  // Late enough to leave room for an ordinary late morning, never more than an hour past the usual time.
  const at = Math.min(Math.max(s.p90 + 15, s.median + 30) + slack, s.median + 50 + slack);
  return { at, usual: s.median, usualBy: s.p90, days: s.n };
}

export interface DayContext {
  weekend: boolean;
  /** Previous days' features, oldest first (for several-day rules). */
  history: DayFeatures[];
  /** Minute of the last hub heartbeat before this day, relative to this day's start (may be negative). */
  hubLastHeardBefore?: number;
  /** Whether the bed sensor last said "in bed" before this day began (unknown without one). */
  inBedBefore?: boolean;
  /** Sensors of the home and the minute each was last heard before this day (relative, may be negative). */
  sensors?: Array<{ id: string; label: string; lastHeardBefore: number | null }>;
}

/**
 * Evaluates one routine day's readings up to minute `now` (1440 = the day is over) and returns
 * every alert whose evidence is complete by then, each with the minute it became complete.
 */
export function detect(model: RoutineModel, readings: Reading[], now: number, ctx: DayContext): Candidate[] {
  const out: Candidate[] = [];
  const seen = readings.filter((r) => r.t <= now);
  const hub = seen.filter((r) => r.kind === 'hub');
  const hubHeardAt = (t: number) => {
    let last = ctx.hubLastHeardBefore ?? null;
    for (const r of hub) {
      if (r.t > t) break;
      last = r.t;
    }
    return last;
  };
  const hubUp = (t: number) => {
    const last = hubHeardAt(t);
    return last !== null && t - last <= HUB_SILENT_MINUTES;
  };

  const hubUpThroughout = (from: number, to: number) => {
    for (let t = Math.max(from, -HUB_SILENT_MINUTES); t <= to; t += 10) if (!hubUp(t)) return false;
    return hubUp(to);
  };

  // Hub offline: nothing else can be judged while it is silent.
  {
    let last = ctx.hubLastHeardBefore ?? null;
    for (const r of [...hub, { t: now + 1 } as Reading]) {
      if (last !== null && r.t - last > HUB_SILENT_MINUTES && last + HUB_SILENT_MINUTES <= now) {
        const at = Math.max(0, last + HUB_SILENT_MINUTES);
        out.push({
          type: 'sensor_offline',
          severity: severities.sensor_offline,
          at,
          sensorId: 'hub',
          explanation: `The home hub has not been heard from since ${clock(last)}: no sensor in the home can be read until it is back. Check the power and broadband.`,
          evidence: { device: 'hub', lastHeard: clock(last) },
        });
        break;
      }
      last = r.t;
    }
  }

  // No activity by the usual time: the welfare check. Someone the bed sensor says is still in bed is
  // having a lie-in or is unwell in bed: they get a longer allowance; an empty bed and a silent home
  // is what a fall looks like.
  const up = upThreshold(model, ctx.weekend);
  if (up) {
    const bedAt = (t: number) => {
      let state = ctx.inBedBefore;
      for (const r of seen) {
        if (r.t >= t) break;
        if (r.kind === 'bed') state = r.value === 1;
      }
      return state;
    };
    const inBed = bedAt(up.at) === true;
    let at = inBed ? up.usual + 150 + (model.slack.no_activity ?? 0) : up.at;
    // Someone moving in the last half hour is getting up, not lying on the floor: wait for a quiet half hour.
    for (let i = 0; i < 20; i++) {
      let last: number | null = null;
      for (const r of seen) if (r.t < at && isActivity(r)) last = r.t;
      if (last === null || at - last >= 30) break;
      at = last + 30;
    }
    const before = seen.filter((r) => r.t < at && outsideBedroom(r));
    if (at <= now && at < 1440 && before.length < UP_EVENTS && hubUp(at) && (!inBed || bedAt(at) === true)) {
      const bedroom = seen.filter((r) => r.t < at && isActivity(r) && r.room === 'bedroom').length;
      out.push({
        type: 'no_activity',
        severity: inBed ? 'medium' : severities.no_activity,
        at,
        explanation:
          (inBed
            ? `Still in bed at ${clock(at)}, with no movement around the home`
            : `No movement around the home by ${clock(at)}` +
              (before.length ? ` (only ${before.length} since 4am)` : '') +
              (bedAt(at) === false ? ', and the bed sensor says the bed is empty' : '') +
              (bedroom ? `; ${bedroom} movement${bedroom === 1 ? '' : 's'} in the bedroom` : '')) +
          `. Usually up by ${clock(up.usualBy)}, typically ${clock(up.usual)}, over the last ${up.days} ${ctx.weekend ? 'weekend days' : 'weekdays'} with data.`,
        evidence: {
          threshold: clock(at),
          usual: clock(up.usual),
          usualBy: clock(up.usualBy),
          days: up.days,
          movements: before.length,
          inBed: bedAt(at) ?? null,
        },
      });
    }
  }

  // A long spell with no movement during the day, once up, unless the last thing was the front door.
  if (model.longestGap && model.longestGap.n >= 7) {
    const limit = Math.max(150, model.longestGap.p90 * 1.5) + (model.slack.long_inactivity ?? 0);
    let count = 0;
    let last: Reading | null = null;
    for (const r of [...seen.filter(isActivity), null]) {
      const t = r ? r.t : now;
      if (last && count >= UP_EVENTS && last.kind !== 'front_door' && t - last.t > limit) {
        const at = last.t + limit;
        if (at <= MEAL_END && at <= now && hubUp(at)) {
          out.push({
            type: 'long_inactivity',
            severity: severities.long_inactivity,
            at,
            explanation: `No movement anywhere in the home since ${clock(last.t)} (last seen in the ${roomName(last.room)}), ${duration(limit)} by ${clock(at)}. The longest quiet spell on a usual day is about ${duration(model.longestGap.p90)}, and the front door has not opened.`,
            evidence: { lastMovement: clock(last.t), room: last.room, limitMinutes: Math.round(limit) },
          });
          break;
        }
      }
      if (!r) break;
      if (outsideBedroom(r) || count >= UP_EVENTS) count++;
      last = r;
    }
  }

  // Front door left open at night.
  for (const r of seen) {
    if (r.kind !== 'front_door' || r.value !== 1) continue;
    const night = r.t >= NIGHT_START || r.t < 2 * 60;
    if (!night) continue;
    const closed = seen.find((c) => c.kind === 'front_door' && c.value === 0 && c.t >= r.t);
    const deadline = r.t + DOOR_OPEN_MINUTES;
    if ((!closed || closed.t > deadline) && deadline <= now) {
      out.push({
        type: 'door_open_night',
        severity: severities.door_open_night,
        at: deadline,
        explanation: `The front door opened at ${clock(r.t)} and was still open ${DOOR_OPEN_MINUTES} minutes later${closed ? ` (closed at ${clock(closed.t)})` : ''}. It is not usually opened at night.`,
        evidence: { opened: clock(r.t), closed: closed ? clock(closed.t) : null },
      });
      break;
    }
  }

  // Cold home: below 16°C for two hours.
  {
    let since: number | null = null;
    let lowest = Infinity;
    for (const r of seen) {
      if (r.kind !== 'temperature') continue;
      if (r.value < COLD_CELSIUS) {
        since ??= r.t;
        lowest = Math.min(lowest, r.value);
        if (r.t - since >= COLD_MINUTES) {
          const usual = model.temperature;
          out.push({
            type: 'cold_home',
            severity: lowest < 12 ? 'high' : severities.cold_home,
            at: r.t,
            explanation: `The ${roomName(r.room)} has been below ${COLD_CELSIUS}°C since ${clock(since)} (lowest ${lowest.toFixed(1)}°C)${usual ? `; usually about ${usual.median.toFixed(0)}°C` : ''}. Cold homes raise the risk of falls, strokes and chest infections.`,
            evidence: { since: clock(since), lowest, usual: usual?.median ?? null },
          });
          break;
        }
      } else {
        since = null;
        lowest = Infinity;
      }
    }
  }

  // Sensors that stopped reporting, and low batteries.
  for (const sensor of ctx.sensors ?? []) {
    const mine = seen.filter((r) => r.sensorId === sensor.id);
    let last = sensor.lastHeardBefore;
    for (const r of [...mine, null]) {
      const t = r ? r.t : now;
      if (
        last !== null &&
        t - last > SENSOR_SILENT_MINUTES &&
        hubUpThroughout(last, last + SENSOR_SILENT_MINUTES)
      ) {
        out.push({
          type: 'sensor_offline',
          severity: severities.sensor_offline,
          at: last + SENSOR_SILENT_MINUTES,
          sensorId: sensor.id,
          explanation: `The ${sensor.label} has not reported since ${clock(last)} while the hub is online: it may be unplugged, out of range or faulty, and its room is not being watched.`,
          evidence: { sensor: sensor.label, lastHeard: clock(last) },
        });
        break;
      }
      if (!r) break;
      last = r.t;
    }
    const low = mine.find((r) => r.battery != null && r.battery < LOW_BATTERY);
    if (low) {
      out.push({
        type: 'low_battery',
        severity: severities.low_battery,
        at: low.t,
        sensorId: sensor.id,
        explanation: `The ${sensor.label} battery is at ${low.battery}%: replace it within a week so the sensor does not stop.`,
        evidence: { sensor: sensor.label, battery: low.battery },
      });
    }
  }

  if (now < 1440) return out;
  // Rules over whole days, judged once the day (and its night) is over.
  const today = dayFeatures(readings, ctx.weekend);
  if (!today.hasData) return out;

  if (model.night && model.night.n >= 7) {
    const limit = Math.max(model.night.max + 4, model.night.mean + 4 * model.night.sd, 8);
    const l = limit + (model.slack.night_activity ?? 0);
    if (today.night > l) {
      out.push({
        type: 'night_activity',
        severity: severities.night_activity,
        at: 1440,
        explanation: `Up and about last night: ${today.night} movements around the home between 11pm and 4am; usually about ${Math.round(model.night.median)}, and no more than ${model.night.max} on the last ${model.night.n} nights.`,
        evidence: { movements: today.night, usual: model.night.median, most: model.night.max },
      });
    }
  }

  const recent = [...ctx.history.filter((d) => d.hasData).slice(-2), today];
  if (model.bathroom && model.bathroom.n >= 7 && recent.length === 3) {
    const limit =
      model.bathroom.mean + Math.max(3, 3 * model.bathroom.sd) + (model.slack.bathroom_increase ?? 0);
    const lastTwo = recent.slice(-2);
    if (lastTwo.every((d) => d.bathroom > limit)) {
      out.push({
        type: 'bathroom_increase',
        severity: severities.bathroom_increase,
        at: 1440,
        explanation: `${lastTwo[1]!.bathroom} bathroom visits today and ${lastTwo[0]!.bathroom} the day before; usually about ${Math.round(model.bathroom.mean)} a day (at most ${model.bathroom.max}). A sudden rise can be a sign of a urine infection.`,
        evidence: { visits: lastTwo.map((d) => d.bathroom), usual: model.bathroom.mean },
      });
    }
  }

  if (model.meals && model.meals.n >= 7 && model.meals.mean >= 2 && recent.length === 3) {
    const avg = recent.reduce((a, d) => a + d.meals, 0) / 3;
    const limit = model.meals.mean * 0.6 - (model.slack.fewer_meals ?? 0);
    if (avg < limit && recent.every((d) => d.meals <= model.meals!.mean - 1)) {
      out.push({
        type: 'fewer_meals',
        severity: severities.fewer_meals,
        at: 1440,
        explanation: `The kettle and fridge suggest ${avg.toFixed(1)} meals a day over the last 3 days (${recent.map((d) => d.meals).join(', ')}); usually ${model.meals.mean.toFixed(1)} a day over the last ${model.meals.n} days.`,
        evidence: { meals: recent.map((d) => d.meals), usual: model.meals.mean },
      });
    }
  }

  // Slow change: the last two weeks against the four weeks before them.
  const all = [...ctx.history, today].filter((d) => d.hasData);
  if (all.length >= 35) {
    const lastTwo = all.slice(-14);
    const before = all.slice(-42, -14);
    const mean = (xs: DayFeatures[]) => xs.reduce((a, d) => a + d.activity, 0) / xs.length;
    const ratio = mean(lastTwo) / Math.max(1, mean(before));
    if (ratio < 0.75 - (model.slack.declining_activity ?? 0)) {
      out.push({
        type: 'declining_activity',
        severity: severities.declining_activity,
        at: 1440,
        explanation: `Movement around the home has fallen by ${Math.round((1 - ratio) * 100)}% over the last two weeks: about ${Math.round(mean(lastTwo))} a day, against ${Math.round(mean(before))} in the four weeks before. A slow decline can mean illness, low mood or growing frailty.`,
        evidence: { recent: mean(lastTwo), before: mean(before), ratio },
      });
    } else if (ratio > 1.3) {
      out.push({
        type: 'improvement',
        severity: severities.improvement,
        at: 1440,
        explanation: `More active: about ${Math.round(mean(lastTwo))} movements a day over the last two weeks, against ${Math.round(mean(before))} in the four weeks before (up ${Math.round((ratio - 1) * 100)}%).`,
        evidence: { recent: mean(lastTwo), before: mean(before), ratio },
      });
    }
  }
  return out;
}

/** How many days an alert of a type stays quiet after it is raised, so one change is one alert. */
export const quietDays: Record<AlertType, number> = {
  no_activity: 1,
  long_inactivity: 1,
  night_activity: 1,
  door_open_night: 1,
  cold_home: 1,
  sensor_offline: 1,
  low_battery: 7,
  fewer_meals: 7,
  bathroom_increase: 7,
  declining_activity: 14,
  improvement: 28,
  missed_prompts: 7,
};

export function roomName(room: Room | null): string {
  return room ? room.replace('_', ' ') : 'home';
}
