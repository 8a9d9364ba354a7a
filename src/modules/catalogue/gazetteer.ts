/**
 * Address and street look-up. Councils hold these in their gazetteer (LLPG/NSG); Kiln ships a
 * local one of fictional Kilnford streets so journeys work out of the box. A real adapter
 * (an LLPG export or an address API) implements the same interface.
 */
export interface Street {
  usrn: string;
  name: string;
  locality: string;
  lat: number;
  lng: number;
}

export interface Address {
  uprn: string;
  usrn: string;
  text: string;
  postcode: string;
}

export interface Gazetteer {
  /** Addresses at a postcode, or on streets whose name matches. */
  findAddresses(query: string): Address[];
  address(uprn: string): Address | undefined;
  /** Streets whose name matches, best first. */
  findStreets(query: string): Street[];
  street(usrn: string): Street | undefined;
  /** The nearest street to a point, for a map pin. */
  nearestStreet(lat: number, lng: number): Street | undefined;
}

// Fictional streets around a fictional town centre (52.95, -2.15): name, locality, postcode, houses.
const streetList: Array<[string, string, string, number]> = [
  ['Bottle Kiln Lane', 'Kilnford', 'KF1 2AB', 24],
  ['Saggar Street', 'Kilnford', 'KF1 3CD', 30],
  ['Glaze Row', 'Kilnford', 'KF1 4EF', 16],
  ['Potters Way', 'Kilnford', 'KF1 5GH', 40],
  ['Marl Pit Road', 'Kilnford', 'KF2 1JK', 28],
  ['Canal Side', 'Kilnford', 'KF2 2LM', 12],
  ['Wharf Street', 'Kilnford', 'KF2 3NP', 20],
  ['Flint Mill Close', 'Etherley', 'KF3 1QR', 14],
  ['Slip House Lane', 'Etherley', 'KF3 2ST', 22],
  ['Throwers Court', 'Etherley', 'KF3 3UV', 10],
  ['Church Street', 'Kilnford', 'KF1 6WX', 36],
  ['High Street', 'Kilnford', 'KF1 1AA', 60],
  ['Station Road', 'Kilnford', 'KF1 7BB', 44],
  ['Market Square', 'Kilnford', 'KF1 1CC', 18],
  ['Oak Tree Avenue', 'Burslow', 'KF4 1DD', 32],
  ['Willow Crescent', 'Burslow', 'KF4 2EE', 26],
  ['Beacon Hill', 'Burslow', 'KF4 3FF', 15],
  ['Long Row', 'Kilnford', 'KF2 4GG', 50],
  ['Clay Lane', 'Etherley', 'KF3 4HH', 19],
  ['Furnace Road', 'Kilnford', 'KF2 5JJ', 34],
];

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

function build() {
  const streets: Street[] = [];
  const addresses: Address[] = [];
  streetList.forEach(([name, locality, postcode, houses], i) => {
    const usrn = String(41000001 + i);
    const street = {
      usrn,
      name,
      locality,
      lat: Number((52.95 + ((i % 5) - 2) * 0.004).toFixed(5)),
      lng: Number((-2.15 + (Math.floor(i / 5) - 2) * 0.006).toFixed(5)),
    };
    streets.push(street);
    for (let n = 1; n <= houses; n++) {
      addresses.push({
        uprn: String(100090000000 + i * 1000 + n),
        usrn,
        text: `${n} ${name}, ${locality}, ${postcode}`,
        postcode,
      });
    }
  });
  return { streets, addresses };
}

/** The built-in gazetteer of fictional Kilnford streets and addresses. */
export function localGazetteer(): Gazetteer {
  const { streets, addresses } = build();
  const byUprn = new Map(addresses.map((a) => [a.uprn, a]));
  const byUsrn = new Map(streets.map((s) => [s.usrn, s]));
  // Normalised once: every street search (and every located report) compares against them all.
  const searchable = streets.map((street) => ({
    street,
    name: normalise(street.name),
    withLocality: normalise(`${street.name}${street.locality}`),
  }));
  const matchStreets = (query: string) => {
    const q = normalise(query);
    if (q.length < 2) return [];
    return searchable
      .filter((s) => s.name.includes(q) || s.withLocality.includes(q))
      .sort((a, b) => Number(b.name.startsWith(q)) - Number(a.name.startsWith(q)))
      .map((s) => s.street);
  };
  return {
    findAddresses(query) {
      const q = normalise(query);
      if (q.length < 2) return [];
      const atPostcode = addresses.filter((a) => normalise(a.postcode) === q);
      if (atPostcode.length) return atPostcode;
      // "12 Saggar Street" narrows to the house; "Saggar" lists the street.
      const number = query.trim().match(/^(\d+)\s+(.*)$/);
      const onStreets = new Set(matchStreets(number ? number[2]! : query).map((s) => s.usrn));
      return addresses
        .filter((a) => onStreets.has(a.usrn))
        .filter((a) => !number || a.text.startsWith(`${number[1]} `))
        .slice(0, 100);
    },
    address: (uprn) => byUprn.get(uprn),
    findStreets: (query) => matchStreets(query).slice(0, 20),
    street: (usrn) => byUsrn.get(usrn),
    nearestStreet(lat, lng) {
      let best: Street | undefined;
      let bestDistance = Infinity;
      for (const s of streets) {
        const d = (s.lat - lat) ** 2 + (s.lng - lng) ** 2;
        if (d < bestDistance) [best, bestDistance] = [s, d];
      }
      // Further than about 5 km from any street is not in Kilnford.
      return bestDistance < 0.05 ** 2 ? best : undefined;
    },
  };
}
