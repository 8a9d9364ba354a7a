// The evaluation: simulated homes with labelled events, run day by day through the same routine
// learning and alert rules as the live service, and scored against the labels.
import {
  alertTypes,
  dayFeatures,
  detect,
  learn,
  quietDays,
  type AlertType,
  type DayFeatures,
} from './routine.ts';
import { simSensors, simulateHome, type Label } from './simulator.ts';

export interface RaisedAlert {
  home: number;
  day: number;
  at: number;
  type: AlertType;
  sensorId?: string;
}

export interface TypeScore {
  type: AlertType;
  labels: number;
  alerts: number;
  truePositives: number;
  detected: number;
  precision: number | null;
  recall: number | null;
  /** Minutes from the onset of the labelled event to the alert (median of those detected). */
  medianMinutesToDetect: number | null;
  /** The welfare check only: detected no later than 60 minutes after the usual time. */
  detectedInTime?: number;
  recallInTime?: number | null;
  /** The welfare check only: median minutes from the person's usual time to the alert. */
  medianMinutesAfterUsual?: number | null;
}

export interface EvaluationResult {
  homes: number;
  days: number;
  scoredFromDay: number;
  rows: TypeScore[];
  falseAlerts: number;
  falseAlertsPerHomePerMonth: number;
  seconds: number;
}

/** Runs one home through the service's rules, day by day, as it would have gone live. */
export function runHome(index: number, days: number, seed: number) {
  const home = simulateHome(seed, days);
  const features: DayFeatures[] = [];
  const raised: RaisedAlert[] = [];
  const lastRaised = new Map<string, number>();
  const openOffline = new Set<string>();
  const lastHeard = new Map<string, number>();
  let inBedBefore: boolean | undefined;
  for (let d = 0; d < days; d++) {
    const { readings, weekend } = home.days[d]!;
    const history = features.slice(-42);
    const model = learn(history);
    const base = d * 1440;
    const candidates = detect(model, readings, 1440, {
      weekend,
      inBedBefore,
      history,
      hubLastHeardBefore: lastHeard.has('hub') ? lastHeard.get('hub')! - base : undefined,
      sensors: simSensors.map((s) => ({
        id: s.id,
        label: s.label,
        lastHeardBefore: lastHeard.has(s.id) ? lastHeard.get(s.id)! - base : null,
      })),
    });
    for (const r of readings) {
      if (r.kind === 'bed') inBedBefore = r.value === 1;
      lastHeard.set(r.sensorId, base + r.t);
      openOffline.delete(r.sensorId);
    }
    for (const c of candidates) {
      const key = `${c.type}:${c.sensorId ?? ''}`;
      if (c.type === 'sensor_offline') {
        if (openOffline.has(c.sensorId!)) continue;
        // Still quiet at the end of the day: the alert stays open until it is heard again.
        const heardAfter = readings.some((r) => r.sensorId === c.sensorId && r.t > c.at);
        if (!heardAfter) openOffline.add(c.sensorId!);
      } else {
        const prev = lastRaised.get(key);
        if (prev !== undefined && d - prev < quietDays[c.type]) continue;
      }
      lastRaised.set(key, d);
      raised.push({ home: index, day: d, at: c.at, type: c.type, sensorId: c.sensorId });
    }
    features.push(dayFeatures(readings, weekend));
  }
  return { labels: home.labels, raised };
}

function matches(alert: RaisedAlert, label: Label): boolean {
  if (alert.type !== label.type) return false;
  if (label.sensorId && alert.sensorId !== label.sensorId) return false;
  if (alert.day < label.day || alert.day > label.untilDay) return false;
  return alert.day > label.day || alert.at >= label.onset;
}

/** Simulates `homes` homes for `days` days and scores every alert type. */
export function evaluate(homes = 200, days = 90, seed = 1, scoredFromDay = 28): EvaluationResult {
  const started = Date.now();
  const rows = new Map<AlertType, TypeScore & { delays: number[]; afterUsual: number[] }>();
  for (const type of alertTypes) {
    rows.set(type, {
      type,
      labels: 0,
      alerts: 0,
      truePositives: 0,
      detected: 0,
      precision: null,
      recall: null,
      medianMinutesToDetect: null,
      delays: [],
      afterUsual: [],
      ...(type === 'no_activity' ? { detectedInTime: 0 } : {}),
    });
  }
  let falseAlerts = 0;
  for (let h = 0; h < homes; h++) {
    const { labels, raised } = runHome(h, days, seed * 100_003 + h);
    const scored = raised.filter((a) => a.day >= scoredFromDay);
    for (const a of scored) {
      const row = rows.get(a.type)!;
      row.alerts++;
      if (labels.some((l) => matches(a, l))) row.truePositives++;
      else if (a.type !== 'improvement') falseAlerts++;
    }
    for (const l of labels) {
      const row = rows.get(l.type)!;
      row.labels++;
      const hit = scored.filter((a) => matches(a, l)).sort((a, b) => a.day - b.day || a.at - b.at)[0];
      if (!hit) continue;
      row.detected++;
      row.delays.push((hit.day - l.day) * 1440 + hit.at - l.onset);
      if (l.dueBy !== undefined && hit.day === l.day && hit.at <= l.dueBy) row.detectedInTime!++;
      if (l.dueBy !== undefined && hit.day === l.day) row.afterUsual.push(hit.at - (l.dueBy - 60));
    }
  }
  const out: TypeScore[] = [];
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : null;
  };
  for (const { delays, afterUsual, ...row } of rows.values()) {
    row.precision = row.alerts ? row.truePositives / row.alerts : null;
    row.recall = row.labels ? row.detected / row.labels : null;
    if (row.detectedInTime !== undefined)
      row.recallInTime = row.labels ? row.detectedInTime / row.labels : null;
    row.medianMinutesToDetect = median(delays);
    if (row.type === 'no_activity') row.medianMinutesAfterUsual = median(afterUsual);
    out.push(row);
  }
  const months = (homes * (days - scoredFromDay)) / 30;
  return {
    homes,
    days,
    scoredFromDay,
    rows: out,
    falseAlerts,
    falseAlertsPerHomePerMonth: falseAlerts / homes / ((days - scoredFromDay) / 30),
    seconds: (Date.now() - started) / 1000,
    ...(months ? {} : {}),
  };
}

/** The evaluation as a table for a terminal. */
export function formatEvaluation(result: EvaluationResult): string {
  const f = (v: number | null | undefined, digits = 2) =>
    v === null || v === undefined ? '-' : v.toFixed(digits);
  const minutes = (v: number | null) =>
    v === null ? '-' : v >= 1440 ? `${(v / 1440).toFixed(1)} d` : `${Math.round(v)} min`;
  const lines = [
    `Wellbeing evaluation: ${result.homes} simulated homes x ${result.days} days, alerts scored from day ${result.scoredFromDay} (after 28 days of learning)`,
    '',
    `${'alert type'.padEnd(20)} ${'labels'.padStart(6)} ${'alerts'.padStart(6)} ${'precision'.padStart(9)} ${'recall'.padStart(6)} ${'median detect'.padStart(13)}`,
  ];
  for (const row of result.rows) {
    lines.push(
      `${row.type.padEnd(20)} ${String(row.labels).padStart(6)} ${String(row.alerts).padStart(6)} ${f(row.precision).padStart(9)} ${f(row.recall).padStart(6)} ${minutes(row.medianMinutesToDetect).padStart(13)}`,
    );
  }
  const welfare = result.rows.find((r) => r.type === 'no_activity')!;
  lines.push(
    '',
    `No activity by the usual time, within 60 minutes of the usual time: recall ${f(welfare.recallInTime ?? null)} (goal >= 0.90), precision ${f(welfare.precision)} (goal >= 0.80), median ${minutes(welfare.medianMinutesAfterUsual ?? null)} after the usual time`,
    'Median detect is from the onset of the labelled event (for the welfare check, the fall before getting up).',
    `False alerts: ${result.falseAlerts}, ${result.falseAlertsPerHomePerMonth.toFixed(2)} per home per month (goal < 2; "improvement" notices not counted)`,
    `Took ${result.seconds.toFixed(1)} s`,
  );
  return lines.join('\n');
}
