import type { Gazetteer } from '../catalogue/gazetteer.ts';

/**
 * Entities in what a resident says: dates, times, streets and addresses from the gazetteer,
 * postcodes, case references, amounts of money and bin types. Rules, not a model: each is a
 * shape a council's data has, so they are exact where a model would guess.
 */
export type EntityType =
  'date' | 'time' | 'street' | 'address' | 'postcode' | 'reference' | 'amount' | 'bin_type';

export interface Entity {
  type: EntityType;
  /** The normalised value: ISO date, HH:MM, USRN, UPRN, tidy postcode, reference, pence, bin code. */
  value: string;
  /** The words it was found in. */
  text: string;
}

export interface StreetInfo {
  usrn: string;
  name: string;
  locality: string;
}

const weekdays = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const months = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** Bin types as residents name them. */
export const binTypes: Array<{ code: string; name: string; words: RegExp }> = [
  {
    code: 'general',
    name: 'general waste (black bin)',
    words: /\b(black|general|rubbish|refuse|landfill|grey)\b/,
  },
  {
    code: 'recycling',
    name: 'recycling (blue bin)',
    words: /\b(blue|recycl\w*|paper|cardboard|cans|plastics?)\b/,
  },
  { code: 'garden', name: 'garden waste (brown bin)', words: /\b(brown|garden|green waste|grass)\b/ },
  { code: 'food', name: 'food waste (caddy)', words: /\b(food|caddy|kitchen waste)\b/ },
  { code: 'glass', name: 'glass (box)', words: /\b(glass|bottles?|jars?)\b/ },
];

const suffixes: Record<string, string[]> = {
  street: ['street', 'st'],
  road: ['road', 'rd'],
  lane: ['lane', 'ln'],
  avenue: ['avenue', 'ave', 'av'],
  close: ['close', 'cl'],
  crescent: ['crescent', 'cres'],
  court: ['court', 'ct'],
  way: ['way'],
  row: ['row'],
  square: ['square', 'sq'],
  hill: ['hill'],
  side: ['side'],
};
// Names too common to stand for a street without their suffix ("high", "station").
const commonWords = new Set([
  'high',
  'church',
  'station',
  'market',
  'long',
  'canal',
  'clay',
  'oak tree',
  'beacon',
]);

const postcodePattern = /\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b/i;
const referencePattern = /\b(KLN)[\s-]?([2-9A-Z]{4})[\s-]?([2-9A-Z]{2})\b/i;

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function createEntityExtractor(streets: StreetInfo[], gazetteer: Gazetteer) {
  // Each street's ways of being named, longest first so "Oak Tree Avenue" beats "Oak".
  const aliases: Array<{ pattern: RegExp; street: StreetInfo; core: boolean }> = [];
  for (const street of streets) {
    const words = street.name.toLowerCase().split(/\s+/);
    const last = words.at(-1)!;
    const core = words.slice(0, -1).join(' ');
    const variants = suffixes[last] ?? [last];
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    aliases.push({
      pattern: new RegExp(`\\b${esc(core)}\\s*(?:${variants.map(esc).join('|')})\\b\\.?`, 'i'),
      street,
      core: false,
    });
    if (core.length >= 4 && !commonWords.has(core))
      aliases.push({ pattern: new RegExp(`\\b${esc(core)}\\b`, 'i'), street, core: true });
  }

  function findStreet(text: string): { street: StreetInfo; text: string; index: number } | undefined {
    let best: { street: StreetInfo; text: string; index: number; core: boolean } | undefined;
    for (const a of aliases) {
      const m = a.pattern.exec(text);
      if (!m) continue;
      const better =
        !best || (best.core && !a.core) || (best.core === a.core && m[0].length > best.text.length);
      if (better) best = { street: a.street, text: m[0], index: m.index, core: a.core };
    }
    return best;
  }

  function findDate(text: string, today: Date): Entity | undefined {
    const lower = text.toLowerCase();
    const day = (offset: number) =>
      new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + offset));
    let m: RegExpExecArray | null;
    if ((m = /\b(today|tonight|this morning)\b/.exec(lower)))
      return { type: 'date', value: iso(day(0)), text: m[0] };
    if ((m = /\b(tomorrow|tmrw|tomoz)\b/.exec(lower)))
      return { type: 'date', value: iso(day(1)), text: m[0] };
    if ((m = /\b(yesterday)\b/.exec(lower))) return { type: 'date', value: iso(day(-1)), text: m[0] };
    if ((m = /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/.exec(lower))) {
      const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!));
      if (d.getUTCDate() === +m[3]!) return { type: 'date', value: iso(d), text: m[0] };
    }
    if ((m = /\b(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})\b/.exec(lower))) {
      const year = m[3]!.length === 2 ? 2000 + +m[3]! : +m[3]!;
      const d = new Date(Date.UTC(year, +m[2]! - 1, +m[1]!));
      if (d.getUTCDate() === +m[1]! && d.getUTCMonth() === +m[2]! - 1)
        return { type: 'date', value: iso(d), text: m[0] };
    }
    const monthNames = months.map((n) => `${n.slice(0, 3)}(?:${n.slice(3)})?`).join('|');
    m = new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?(${monthNames})\\b(?:\\s+(\\d{4}))?`).exec(
      lower,
    );
    if (m) {
      const month = months.findIndex((n) => m![2]!.startsWith(n.slice(0, 3)));
      let year = m[3] ? +m[3] : today.getUTCFullYear();
      let d = new Date(Date.UTC(year, month, +m[1]!));
      if (!m[3] && d < day(0)) d = new Date(Date.UTC(++year, month, +m[1]!));
      if (d.getUTCDate() === +m[1]!) return { type: 'date', value: iso(d), text: m[0] };
    }
    if ((m = /\b(next\s+)?(mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b/.exec(lower))) {
      const target = weekdays.findIndex((w) => w.startsWith(m![2]!.slice(0, 3)));
      let offset = (target - today.getUTCDay() + 7) % 7;
      if (offset === 0 || m[1]) offset = offset === 0 ? 7 : offset;
      return { type: 'date', value: iso(day(offset)), text: m[0] };
    }
    return undefined;
  }

  function findTime(text: string): Entity | undefined {
    const lower = text.toLowerCase();
    let m = /\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)\b/.exec(lower);
    if (m) {
      let h = +m[1]! % 12;
      if (m[3] === 'pm') h += 12;
      if (+m[1]! <= 12)
        return { type: 'time', value: `${String(h).padStart(2, '0')}:${m[2] ?? '00'}`, text: m[0] };
    }
    m = /\b([01]?\d|2[0-3]):([0-5]\d)\b/.exec(lower);
    if (m) return { type: 'time', value: `${m[1]!.padStart(2, '0')}:${m[2]}`, text: m[0] };
    if ((m = /\b(midday|noon)\b/.exec(lower))) return { type: 'time', value: '12:00', text: m[0] };
    return undefined;
  }

  function findAmount(text: string): Entity | undefined {
    const lower = text.toLowerCase();
    let m = /£\s?(\d{1,6}(?:,\d{3})*)(?:\.(\d{1,2}))?/.exec(lower);
    if (!m) m = /\b(\d{1,6})(?:\.(\d{1,2}))?\s?(?:pounds?|quid|gbp)\b/.exec(lower);
    if (m) {
      const pence = +m[1]!.replace(/,/g, '') * 100 + (m[2] ? +m[2].padEnd(2, '0') : 0);
      return { type: 'amount', value: String(pence), text: m[0] };
    }
    if ((m = /\b(\d{1,4})\s?(?:p|pence)\b/.exec(lower))) return { type: 'amount', value: m[1]!, text: m[0] };
    return undefined;
  }

  return {
    findStreet,
    /** Every entity found in the text. `today` sets what "tomorrow" means. */
    extract(text: string, today = new Date()): Entity[] {
      const found: Entity[] = [];
      const ref = referencePattern.exec(text);
      if (ref)
        found.push({
          type: 'reference',
          value: `${ref[1]}-${ref[2]}-${ref[3]}`.toUpperCase(),
          text: ref[0],
        });
      // References look a little like postcodes; look for a postcode in what is left.
      const rest = ref ? text.replace(ref[0], ' ') : text;
      const pc = postcodePattern.exec(rest);
      if (pc) found.push({ type: 'postcode', value: `${pc[1]} ${pc[2]}`.toUpperCase(), text: pc[0] });
      const street = findStreet(rest);
      if (street) {
        found.push({ type: 'street', value: street.street.usrn, text: street.text });
        const before = rest.slice(0, street.index).match(/\b(\d{1,4})[a-z]?\s*,?\s*$/i);
        if (before) {
          const addresses = gazetteer.findAddresses(`${before[1]} ${street.street.name}`);
          if (addresses.length === 1)
            found.push({ type: 'address', value: addresses[0]!.uprn, text: `${before[0]}${street.text}` });
        }
      }
      const date = findDate(rest, today);
      if (date) found.push(date);
      const time = findTime(rest);
      if (time) found.push(time);
      const amount = findAmount(rest);
      if (amount) found.push(amount);
      const lower = rest.toLowerCase();
      for (const b of binTypes) {
        const m = b.words.exec(lower);
        if (m) found.push({ type: 'bin_type', value: b.code, text: m[0] });
      }
      return found;
    },
  };
}

export type EntityExtractor = ReturnType<typeof createEntityExtractor>;

/**
 * The text with places, postcodes and references taken out: "pothole on Oak Tree Avenue" is
 * about a pothole, not a tree. The classifier reads what is left.
 */
export function maskEntities(text: string, found: Entity[]): string {
  let out = text;
  for (const e of found)
    if (e.type === 'street' || e.type === 'postcode' || e.type === 'reference' || e.type === 'address')
      out = out.replace(e.text, ' ');
  return out.replace(/\s+/g, ' ').trim();
}
