/**
 * Bar charts drawn on the server as SVG, so results read the same with JavaScript off, print
 * well and scale to a phone. Each chart has a title and a description for screen readers, and
 * the page shows the same figures in a table beside it: the chart is never the only copy.
 */
export interface ChartBar {
  label: string;
  count: number;
  /** Percentage of the base, rounded to a whole number. */
  percent: number;
}

export interface BarChart {
  id: string;
  title: string;
  description: string;
  width: number;
  height: number;
  bars: Array<
    ChartBar & {
      labelY: number;
      barY: number;
      barWidth: number;
      valueX: number;
      valueY: number;
    }
  >;
}

const WIDTH = 640;
const ROW = 52;
const BAR = 22;
const MAX_BAR = 520;

/** Lays out a horizontal bar chart: a label above each bar, the count and share after it. */
export function barChart(
  id: string,
  title: string,
  base: number,
  counts: Array<{ label: string; count: number }>,
): BarChart {
  const max = Math.max(1, ...counts.map((c) => c.count));
  const bars = counts.map((c, i) => {
    const top = i * ROW;
    const barWidth = c.count === 0 ? 0 : Math.max(2, Math.round((c.count / max) * MAX_BAR));
    return {
      label: c.label,
      count: c.count,
      percent: base > 0 ? Math.round((c.count / base) * 100) : 0,
      labelY: top + 16,
      barY: top + 22,
      barWidth,
      valueX: barWidth + 8,
      valueY: top + 22 + BAR - 6,
    };
  });
  const description = bars.map((b) => `${b.label}: ${b.count} (${b.percent}%)`).join('; ');
  return { id, title, description, width: WIDTH, height: Math.max(ROW, counts.length * ROW), bars };
}
