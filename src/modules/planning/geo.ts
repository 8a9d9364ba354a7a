import type { Address, Gazetteer } from '../catalogue/index.ts';
import { distanceMetres, insideBoundary, wardAt, type Point } from '../requests/index.ts';

/** A GeoJSON Feature holding one Polygon: the site's red line boundary. */
export interface SiteBoundary {
  type: 'Feature';
  geometry: { type: 'Polygon'; coordinates: Array<Array<[number, number]>> };
  properties: null;
}

export class BoundaryError extends Error {}

const RAD = Math.PI / 180;
const EARTH = 6_371_000;

function project(origin: Point, [lng, lat]: [number, number]): [number, number] {
  return [(lng - origin.lng) * RAD * Math.cos(origin.lat * RAD) * EARTH, (lat - origin.lat) * RAD * EARTH];
}

function segmentsCross(a: [number, number], b: [number, number], c: [number, number], d: [number, number]) {
  const orient = (p: [number, number], q: [number, number], r: [number, number]) =>
    Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  return orient(a, b, c) * orient(a, b, d) < 0 && orient(c, d, a) * orient(c, d, b) < 0;
}

/**
 * Reads a drawn boundary: GeoJSON (a Feature, or a bare Polygon) with one closed ring of at least
 * three distinct corners that does not cross itself, inside the council's area. Throws
 * BoundaryError with words fit for the applicant.
 */
export function parseBoundary(text: string): { feature: SiteBoundary; areaM2: number; centre: Point } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BoundaryError('The site boundary could not be read. Draw it again on the map');
  }
  const geometry =
    value && typeof value === 'object' && (value as { type?: string }).type === 'Feature'
      ? (value as { geometry?: unknown }).geometry
      : value;
  const g = geometry as { type?: string; coordinates?: unknown } | null;
  if (!g || g.type !== 'Polygon' || !Array.isArray(g.coordinates) || g.coordinates.length !== 1)
    throw new BoundaryError('The site boundary must be one area with a single outline');
  const ring = g.coordinates[0] as unknown[];
  if (
    !Array.isArray(ring) ||
    !ring.every(
      (p) =>
        Array.isArray(p) &&
        p.length >= 2 &&
        Number.isFinite(p[0]) &&
        Number.isFinite(p[1]) &&
        Math.abs(p[0] as number) <= 180 &&
        Math.abs(p[1] as number) <= 90,
    )
  )
    throw new BoundaryError('The site boundary has a point that is not a place on the map');
  const points = (ring as number[][]).map((p) => [p[0]!, p[1]!] as [number, number]);
  const first = points[0];
  const last = points.at(-1);
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) points.push([first[0], first[1]]);
  const corners = new Set(points.slice(0, -1).map((p) => p.join(',')));
  if (points.length < 4 || corners.size < 3)
    throw new BoundaryError('The site boundary needs at least 3 corners. Mark each corner of the site');
  if (points.length > 501) throw new BoundaryError('The site boundary has too many corners (500 at most)');
  const centre = {
    lng: points.slice(0, -1).reduce((s, p) => s + p[0], 0) / (points.length - 1),
    lat: points.slice(0, -1).reduce((s, p) => s + p[1], 0) / (points.length - 1),
  };
  const xy = points.map((p) => project(centre, p));
  for (let i = 0; i < xy.length - 1; i++) {
    for (let j = i + 2; j < xy.length - 1; j++) {
      if (i === 0 && j === xy.length - 2) continue; // the closing edge meets the first
      if (segmentsCross(xy[i]!, xy[i + 1]!, xy[j]!, xy[j + 1]!))
        throw new BoundaryError('The site boundary crosses itself. Draw the outline without crossing lines');
    }
  }
  let twice = 0;
  for (let i = 0; i < xy.length - 1; i++) twice += xy[i]![0] * xy[i + 1]![1] - xy[i + 1]![0] * xy[i]![1];
  const areaM2 = Math.abs(twice) / 2;
  if (areaM2 < 1) throw new BoundaryError('The site boundary encloses no area. Mark each corner of the site');
  if (areaM2 > 5_000_000)
    throw new BoundaryError('The site boundary is larger than 500 hectares. Check the corners you marked');
  if (!points.every(([lng, lat]) => insideBoundary({ lat, lng })))
    throw new BoundaryError(
      'The site boundary is outside Kilnford. Apply to the council whose area the site is in',
    );
  return {
    feature: { type: 'Feature', geometry: { type: 'Polygon', coordinates: [points] }, properties: null },
    areaM2: Math.round(areaM2 * 100) / 100,
    centre,
  };
}

/**
 * Where an address is. The gazetteer holds streets' positions, not each property's, so a house
 * is placed along its street by number: odd numbers on one side, even on the other, 12 m apart.
 * A gazetteer with AddressBase coordinates would give them directly.
 */
export function addressPoint(gazetteer: Gazetteer, address: Address): Point | undefined {
  const street = gazetteer.street(address.usrn);
  if (!street) return undefined;
  const n = Number(address.text.match(/^(\d+)/)?.[1] ?? 1);
  const along = Math.floor((n - 1) / 2) * 12;
  const side = n % 2 === 1 ? 8 : -8;
  const dLng = along / (111_320 * Math.cos(street.lat * RAD));
  const dLat = side / 111_320;
  return { lat: Number((street.lat + dLat).toFixed(6)), lng: Number((street.lng + dLng).toFixed(6)) };
}

/** A small square boundary around a point, as a starting shape for the map. */
export function squareAround(point: Point, halfMetres = 10): SiteBoundary {
  const dLat = halfMetres / 111_320;
  const dLng = halfMetres / (111_320 * Math.cos(point.lat * RAD));
  const r = (v: number) => Number(v.toFixed(7));
  const ring: Array<[number, number]> = [
    [r(point.lng - dLng), r(point.lat - dLat)],
    [r(point.lng + dLng), r(point.lat - dLat)],
    [r(point.lng + dLng), r(point.lat + dLat)],
    [r(point.lng - dLng), r(point.lat + dLat)],
    [r(point.lng - dLng), r(point.lat - dLat)],
  ];
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: null };
}

/** Addresses within `metres` of a site (other than the site itself): the neighbours to notify. */
export function neighboursOf(
  gazetteer: Gazetteer,
  site: { uprn: string; usrn: string; point: Point },
  metres = 40,
): Address[] {
  const street = gazetteer.street(site.usrn);
  if (!street) return [];
  // The gazetteer lists addresses by street; neighbours are on the site's street or one nearby.
  const candidates = gazetteer
    .findAddresses(street.name)
    .concat(
      ...[gazetteer.nearestStreet(site.point.lat, site.point.lng)]
        .filter((s) => s && s.usrn !== site.usrn)
        .map((s) => gazetteer.findAddresses(s!.name)),
    );
  const seen = new Set<string>();
  return candidates.filter((a) => {
    if (a.uprn === site.uprn || seen.has(a.uprn)) return false;
    seen.add(a.uprn);
    const p = addressPoint(gazetteer, a);
    return p !== undefined && distanceMetres(p, site.point) <= metres;
  });
}

export { wardAt, insideBoundary };
