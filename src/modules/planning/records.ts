import { londonDay } from '../../platform/time.ts';
import { wardByCode } from '../requests/index.ts';
import { applicationTypeNames, publicStatus } from './labels.ts';
import type { ApplicationRow } from './store.ts';

/** The licence the register's data is published under. */
export const licence = {
  name: 'Open Government Licence v3.0',
  url: 'https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/',
  attribution: 'Contains public sector information licensed under the Open Government Licence v3.0.',
};

type Listed = Pick<
  ApplicationRow,
  | 'reference'
  | 'application_type'
  | 'status'
  | 'decision'
  | 'address_text'
  | 'ward_code'
  | 'description'
  | 'received_at'
  | 'decided_at'
  | 'lat'
  | 'lng'
  | 'consultation_start'
  | 'consultation_end'
> &
  Partial<
    Pick<ApplicationRow, 'site_boundary' | 'uprn' | 'valid_from' | 'determination_due' | 'extension_due'>
  >;

function wkt(row: Listed): { point: string; geometry: string } {
  const point = row.lat !== null && row.lng !== null ? `POINT (${row.lng} ${row.lat})` : '';
  const ring = (row.site_boundary as { geometry?: { coordinates?: number[][][] } } | null)?.geometry
    ?.coordinates?.[0];
  const geometry = ring ? `MULTIPOLYGON (((${ring.map(([x, y]) => `${x} ${y}`).join(', ')})))` : '';
  return { point, geometry };
}

/**
 * One planning application as a planning.data.gov.uk-style record: the `planning-application`
 * dataset's kebab-case fields (reference, name, description, point and geometry in WKT, dates as
 * YYYY-MM-DD), plus the register's own fields (address, ward, type, status, decision).
 */
export function planningRecord(row: Listed, publicUrl: string, today = londonDay()) {
  const { point, geometry } = wkt(row);
  return {
    dataset: 'planning-application',
    reference: row.reference,
    name: row.address_text ?? '',
    description: row.description ?? '',
    'address-text': row.address_text ?? '',
    uprn: row.uprn ?? '',
    'ward-code': row.ward_code ?? '',
    'ward-name': wardByCode(row.ward_code ?? '')?.name ?? '',
    'planning-application-type': row.application_type ?? '',
    'planning-application-type-name': row.application_type ? applicationTypeNames[row.application_type] : '',
    'planning-application-status': publicStatus(row, today),
    decision: row.decision ?? '',
    'received-date': row.received_at ? londonDay(row.received_at) : '',
    'valid-date': row.valid_from ?? '',
    'determination-date': row.extension_due ?? row.determination_due ?? '',
    'decision-date': row.decided_at ? londonDay(row.decided_at) : '',
    'consultation-end-date': row.consultation_end ?? '',
    point,
    geometry,
    'documentation-url': `${publicUrl}/planning/applications/${row.reference}`,
    organisation: 'local-authority:KLN',
    'entry-date': londonDay(),
    'start-date': row.received_at ? londonDay(row.received_at) : '',
    'end-date': '',
  };
}

export type PlanningRecord = ReturnType<typeof planningRecord>;

export const recordFields = Object.keys(
  planningRecord(
    {
      reference: '',
      application_type: null,
      status: 'submitted',
      decision: null,
      address_text: null,
      ward_code: null,
      description: null,
      received_at: null,
      decided_at: null,
      lat: null,
      lng: null,
      consultation_start: null,
      consultation_end: null,
    },
    '',
  ),
);

const csvCell = (value: unknown) => {
  let s = String(value ?? '');
  // A cell starting with = + - @ is a formula to a spreadsheet: prefix it so it stays text.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(records: PlanningRecord[]): string {
  const lines = [recordFields.join(',')];
  for (const r of records)
    lines.push(recordFields.map((f) => csvCell((r as Record<string, unknown>)[f])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function toGeoJson(rows: Listed[], publicUrl: string) {
  return {
    type: 'FeatureCollection',
    name: 'planning-application',
    licence: licence.name,
    features: rows
      .filter((r) => r.site_boundary || (r.lat !== null && r.lng !== null))
      .map((r) => {
        const { point: _p, geometry: _g, ...properties } = planningRecord(r, publicUrl);
        const boundary = (r.site_boundary as { geometry?: unknown } | null)?.geometry;
        return {
          type: 'Feature',
          geometry: boundary ?? { type: 'Point', coordinates: [r.lng, r.lat] },
          properties,
        };
      }),
  };
}

const xml = (s: unknown) =>
  String(s ?? '').replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/** An Atom feed of new applications and decisions. */
export function atomFeed(input: {
  title: string;
  selfUrl: string;
  publicUrl: string;
  rows: ApplicationRow[];
}) {
  const entries = input.rows.map((r) => {
    const decided = r.decided_at !== null;
    const updated = (r.decided_at ?? r.received_at ?? r.updated_at).toISOString();
    const title = decided
      ? `${r.decision === 'granted' ? 'Granted' : 'Refused'}: ${r.address_text}`
      : `New application: ${r.address_text}`;
    const link = `${input.publicUrl}/planning/applications/${r.reference}`;
    return `  <entry>
    <id>${xml(`${link}#${decided ? 'decision' : 'received'}`)}</id>
    <title>${xml(title)}</title>
    <link rel="alternate" type="text/html" href="${xml(link)}"/>
    <updated>${updated}</updated>
    <summary>${xml(`${r.reference}: ${r.description ?? ''}`)}</summary>
  </entry>`;
  });
  const updated = input.rows[0]
    ? (input.rows[0].decided_at ?? input.rows[0].received_at ?? new Date()).toISOString()
    : new Date().toISOString();
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${xml(input.selfUrl)}</id>
  <title>${xml(input.title)}</title>
  <link rel="self" href="${xml(input.selfUrl)}"/>
  <updated>${updated}</updated>
  <rights>${xml(licence.attribution)}</rights>
${entries.join('\n')}
</feed>
`;
}
