/**
 * Weekly demand forecasts. Additive Holt-Winters (level, trend and a season) when there are two
 * full seasons of history; a seasonal naive forecast (the same week last season) when there is
 * one; otherwise Holt's linear trend. Each forecast is judged on held-out weeks: the model is fitted
 * without the last `holdout` weeks, forecasts them, and the error is measured against what happened.
 */

export interface Forecast {
  method: string;
  history: number[];
  forecast: number[];
  /** Mean absolute error and mean absolute scaled error on the held-out weeks, when there were enough. */
  error: { weeks: number; mae: number; mase: number | null } | null;
}

const SEASON = 52;

export function forecastWeekly(history: number[], horizon = 12, season = SEASON): Forecast {
  const method = methodFor(history.length, season);
  const forecast = predict(history, horizon, season, method).map((v) => Math.max(0, round1(v)));
  const holdout = Math.min(horizon, Math.floor(history.length / 4));
  let error: Forecast['error'] = null;
  if (holdout >= 2 && history.length - holdout >= 4) {
    const train = history.slice(0, history.length - holdout);
    const actual = history.slice(history.length - holdout);
    const predicted = predict(train, holdout, season, methodFor(train.length, season)).map((v) =>
      Math.max(0, v),
    );
    const mae = mean(actual.map((a, i) => Math.abs(a - predicted[i]!)));
    // Scaled by the in-sample error of "same as last week": below 1 beats that naive forecast.
    const naive = mean(train.slice(1).map((v, i) => Math.abs(v - train[i]!)));
    error = {
      weeks: holdout,
      mae: round1(mae),
      mase: naive > 0 ? Math.round((mae / naive) * 100) / 100 : null,
    };
  }
  return { method: methodLabels[method], history, forecast, error };
}

type Method = 'holt-winters' | 'seasonal-naive' | 'holt';
const methodLabels: Record<Method, string> = {
  'holt-winters': 'Holt-Winters (additive, 52-week season)',
  'seasonal-naive': 'Seasonal naive (same week last year)',
  holt: "Holt's linear trend (less than a year of history)",
};

function methodFor(n: number, season: number): Method {
  if (n >= 2 * season) return 'holt-winters';
  if (n >= season) return 'seasonal-naive';
  return 'holt';
}

function predict(y: number[], h: number, m: number, method: Method): number[] {
  if (y.length === 0) return Array.from({ length: h }, () => 0);
  if (method === 'seasonal-naive') return Array.from({ length: h }, (_, i) => y[y.length - m + (i % m)]!);
  if (method === 'holt') return holt(y, h);
  return holtWinters(y, h, m);
}

function holt(y: number[], h: number, alpha = 0.5, beta = 0.1): number[] {
  let level = y[0]!;
  let trend = y.length > 1 ? y[1]! - y[0]! : 0;
  for (let t = 1; t < y.length; t++) {
    const prev = level;
    level = alpha * y[t]! + (1 - alpha) * (level + trend);
    trend = beta * (level - prev) + (1 - beta) * trend;
  }
  return Array.from({ length: h }, (_, i) => level + (i + 1) * trend);
}

function holtWinters(y: number[], h: number, m: number, alpha = 0.3, beta = 0.05, gamma = 0.3): number[] {
  const first = mean(y.slice(0, m));
  const second = mean(y.slice(m, 2 * m));
  let level = first;
  let trend = (second - first) / m;
  const seasonal = y.slice(0, m).map((v) => v - first);
  for (let t = m; t < y.length; t++) {
    const s = seasonal[t % m]!;
    const prev = level;
    level = alpha * (y[t]! - s) + (1 - alpha) * (level + trend);
    trend = beta * (level - prev) + (1 - beta) * trend;
    seasonal[t % m] = gamma * (y[t]! - level) + (1 - gamma) * s;
  }
  return Array.from({ length: h }, (_, i) => level + (i + 1) * trend + seasonal[(y.length + i) % m]!);
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Fills the weeks with no cases with zero, from the first week seen to `until` (Monday dates). */
export function fillWeeks(points: Array<{ week: string; n: number }>, until: string): number[] {
  if (points.length === 0) return [];
  const byWeek = new Map(points.map((p) => [p.week, p.n]));
  const out: number[] = [];
  for (let d = new Date(`${points[0]!.week}T00:00:00Z`); d.toISOString().slice(0, 10) <= until;) {
    out.push(byWeek.get(d.toISOString().slice(0, 10)) ?? 0);
    d = new Date(d.getTime() + 7 * 86_400_000);
  }
  return out;
}
