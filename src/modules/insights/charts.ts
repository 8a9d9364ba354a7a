/**
 * Charts drawn on the server as SVG: an image with a title and a description that says what it
 * shows in words, so the figure is readable without the picture; a table of the same numbers sits
 * beside every chart.
 */

export interface Series {
  label: string;
  values: Array<number | null>;
}

export interface ChartSpec {
  id: string;
  title: string;
  description: string;
  labels: string[];
  series: Series[];
  /** A horizontal target line, in the units of the values. */
  target?: number | null;
  /** Values are shares from 0 to 1, shown as percentages. */
  percent?: boolean;
  kind?: 'line' | 'bar';
}

const W = 640;
const H = 240;
const PAD = { left: 48, right: 12, top: 12, bottom: 36 };
// GOV.UK colours with at least 3:1 contrast against white, as WCAG asks of graphics.
const COLOURS = ['#1d70b8', '#d4351c', '#00703c', '#4c2c92', '#b58840'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function formatValue(value: number | null, percent = false): string {
  if (value === null || Number.isNaN(value)) return '–';
  if (percent) return `${Math.round(value * 1000) / 10}%`;
  return Number.isInteger(value) ? value.toLocaleString('en-GB') : value.toFixed(1);
}

export function renderChart(spec: ChartSpec): string {
  const id = escapeXml(spec.id);
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (spec.target != null) values.push(spec.target);
  const max = spec.percent ? 1 : niceMax(Math.max(1, ...values));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const n = Math.max(1, spec.labels.length);
  const x = (i: number) => PAD.left + (n === 1 ? innerW / 2 : (i * innerW) / (n - 1));
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#b1b4b6" stroke-width="1"/>`,
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="12" fill="#0b0c0c">${escapeXml(formatValue(spec.percent ? v : Math.round(v), spec.percent))}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(n / 6));
  spec.labels.forEach((label, i) => {
    if (i % step === 0)
      parts.push(
        `<text x="${x(i)}" y="${H - 12}" text-anchor="middle" font-size="12" fill="#0b0c0c">${escapeXml(shortLabel(label))}</text>`,
      );
  });
  spec.series.forEach((s, si) => {
    const colour = COLOURS[si % COLOURS.length];
    if (spec.kind === 'bar') {
      const bw = Math.max(2, innerW / n / (spec.series.length + 1));
      s.values.forEach((v, i) => {
        if (v === null) return;
        const cx = PAD.left + ((i + 0.5) * innerW) / n - (bw * spec.series.length) / 2 + si * bw;
        parts.push(`<rect x="${cx}" y="${y(v)}" width="${bw}" height="${y(0) - y(v)}" fill="${colour}"/>`);
      });
      return;
    }
    const points = s.values
      .map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
      .filter(Boolean);
    if (points.length > 1)
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="3" points="${points.join(' ')}"/>`);
    s.values.forEach((v, i) => {
      if (v !== null) parts.push(`<circle cx="${x(i)}" cy="${y(v)}" r="3.5" fill="${colour}"/>`);
    });
  });
  if (spec.target != null)
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(spec.target)}" y2="${y(spec.target)}" stroke="#0b0c0c" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" ` +
    `aria-labelledby="${id}-title ${id}-desc" focusable="false" class="kiln-chart">` +
    `<title id="${id}-title">${escapeXml(spec.title)}</title><desc id="${id}-desc">${escapeXml(spec.description)}</desc>` +
    parts.join('') +
    `</svg>`
  );
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function shortLabel(label: string): string {
  // Weeks are labelled by their Monday: 2026-11-23 reads "23 Nov".
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(label);
  if (!m) return label.length > 14 ? `${label.slice(0, 13)}…` : label;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${Number(m[3])} ${months[Number(m[2]) - 1]}`;
}

/** A CSV cell: quoted when needed, and never read as a formula by a spreadsheet. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: string[], rows: Array<Record<string, unknown>>): string {
  return (
    [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join(
      '\r\n',
    ) + '\r\n'
  );
}
