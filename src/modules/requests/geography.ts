/**
 * Where Kilnford is: the council's boundary, its wards, and the streets of its gazetteer. The
 * shapes are fictional and small; a council replaces them with its own (from the OS Boundary-Line
 * and its LLPG/NSG) without changing the code that uses them.
 */

export interface Point {
  lat: number;
  lng: number;
}

type Ring = Array<[number, number]>; // [lng, lat], as GeoJSON orders them

export interface Ward {
  code: string;
  name: string;
  ring: Ring;
}

export interface Street {
  usrn: string;
  name: string;
  locality: string;
  postcode: string;
  lat: number;
  lng: number;
}

/** The council's area: a rough hexagon around the town centre (52.95, -2.15). */
export const boundary: Ring = [
  [-2.178, 52.936],
  [-2.15, 52.931],
  [-2.122, 52.937],
  [-2.121, 52.962],
  [-2.15, 52.968],
  [-2.179, 52.963],
  [-2.178, 52.936],
];

/** Who looks after places just outside the boundary: named on the "not our area" message. */
export const neighbour = {
  name: 'North Marlshire Council',
  phone: '0300 555 0142',
  url: 'https://www.north-marlshire.example/report',
};

/** Three wards, dividing the area from west to east. */
export const wards: Ward[] = [
  {
    code: 'E05099001',
    name: 'Kiln Bank',
    ring: [
      [-2.18, 52.93],
      [-2.153, 52.93],
      [-2.153, 52.97],
      [-2.18, 52.97],
      [-2.18, 52.93],
    ],
  },
  {
    code: 'E05099002',
    name: 'Town Centre',
    ring: [
      [-2.153, 52.93],
      [-2.147, 52.93],
      [-2.147, 52.97],
      [-2.153, 52.97],
      [-2.153, 52.93],
    ],
  },
  {
    code: 'E05099003',
    name: 'Canalside',
    ring: [
      [-2.147, 52.93],
      [-2.12, 52.93],
      [-2.12, 52.97],
      [-2.147, 52.97],
      [-2.147, 52.93],
    ],
  },
];

// The same fictional streets, USRNs and positions as the catalogue's gazetteer.
const streetList: Array<[string, string, string]> = [
  ['Bottle Kiln Lane', 'Kilnford', 'KF1 2AB'],
  ['Saggar Street', 'Kilnford', 'KF1 3CD'],
  ['Glaze Row', 'Kilnford', 'KF1 4EF'],
  ['Potters Way', 'Kilnford', 'KF1 5GH'],
  ['Marl Pit Road', 'Kilnford', 'KF2 1JK'],
  ['Canal Side', 'Kilnford', 'KF2 2LM'],
  ['Wharf Street', 'Kilnford', 'KF2 3NP'],
  ['Flint Mill Close', 'Etherley', 'KF3 1QR'],
  ['Slip House Lane', 'Etherley', 'KF3 2ST'],
  ['Throwers Court', 'Etherley', 'KF3 3UV'],
  ['Church Street', 'Kilnford', 'KF1 6WX'],
  ['High Street', 'Kilnford', 'KF1 1AA'],
  ['Station Road', 'Kilnford', 'KF1 7BB'],
  ['Market Square', 'Kilnford', 'KF1 1CC'],
  ['Oak Tree Avenue', 'Burslow', 'KF4 1DD'],
  ['Willow Crescent', 'Burslow', 'KF4 2EE'],
  ['Beacon Hill', 'Burslow', 'KF4 3FF'],
  ['Long Row', 'Kilnford', 'KF2 4GG'],
  ['Clay Lane', 'Etherley', 'KF3 4HH'],
  ['Furnace Road', 'Kilnford', 'KF2 5JJ'],
];

export const streets: Street[] = streetList.map(([name, locality, postcode], i) => ({
  usrn: String(41000001 + i),
  name,
  locality,
  postcode,
  lat: Number((52.95 + ((i % 5) - 2) * 0.004).toFixed(5)),
  lng: Number((-2.15 + (Math.floor(i / 5) - 2) * 0.006).toFixed(5)),
}));

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Streets whose name (or postcode) matches what a person typed, best first. */
export function findStreets(query: string): Street[] {
  const q = normalise(query);
  if (q.length < 2) return [];
  const scored = streets
    .map((s) => {
      const name = normalise(s.name);
      const score =
        name === q ? 0 : name.startsWith(q) ? 1 : name.includes(q) ? 2 : normalise(s.postcode) === q ? 3 : -1;
      return { s, score };
    })
    .filter((x) => x.score >= 0);
  return scored.sort((a, b) => a.score - b.score || a.s.name.localeCompare(b.s.name)).map((x) => x.s);
}

export function streetByUsrn(usrn: string): Street | undefined {
  return streets.find((s) => s.usrn === usrn);
}

/** Metres between two points; an equirectangular approximation, exact enough within a town. */
export function distanceMetres(a: Point, b: Point): number {
  const rad = Math.PI / 180;
  const x = (b.lng - a.lng) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.sqrt(x * x + y * y) * 6_371_000;
}

export function nearestStreet(point: Point): Street {
  let best = streets[0]!;
  let bestDistance = Infinity;
  for (const s of streets) {
    const d = distanceMetres(point, s);
    if (d < bestDistance) [best, bestDistance] = [s, d];
  }
  return best;
}

function inRing(point: Point, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > point.lat !== yj > point.lat && point.lng < ((xj - xi) * (point.lat - yi)) / (yj - yi) + xi)
      inside = !inside;
  }
  return inside;
}

/** Whether the council looks after a point. */
export function insideBoundary(point: Point): boolean {
  return inRing(point, boundary);
}

/** The ward a point inside the boundary falls in. */
export function wardAt(point: Point): Ward | undefined {
  return wards.find((w) => inRing(point, w.ring));
}

export function wardByCode(code: string): Ward | undefined {
  return wards.find((w) => w.code === code);
}

/** Whether two numbers can be a latitude and longitude at all. */
export function isCoordinate(lat: number, lng: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180;
}

/** Degrees of latitude and longitude that span `metres` around a latitude: a bounding box for queries. */
export function degreesAround(lat: number, metres: number): { dLat: number; dLng: number } {
  const dLat = metres / 111_320;
  return { dLat, dLng: dLat / Math.cos((lat * Math.PI) / 180) };
}
