// Free times of a bookable, kept compact: a month across fifty resources is some 15,000 times, and
// making a Slot (an object and two Dates) for each one cost more than everything else in the
// answer, in CPU and in garbage. The times of a day are shared by every resource with the same
// opening hours and slot length; what is particular to one resource is only how many places are
// left at each, which goes in a typed array. Slot objects are made only for the callers that want
// them (`toSlots`), and the API writes its JSON straight from the shared times.

/** One bookable time, its instants and London labels worked out once and shared. */
export interface TimeOfDay {
  start: number;
  end: number;
  /** London day and time, for pages and forms. */
  day: string;
  time: string;
  label: string;
  /** ISO strings, made the first time the API serves this time. */
  startIso?: string;
  endIso?: string;
}

/** One bookable time and how many places are left. */
export interface Slot {
  startsAt: Date;
  endsAt: Date;
  /** London day and time, for pages and forms. */
  day: string;
  time: string;
  label: string;
  capacity: number;
  remaining: number;
}

/** The free (or, when asked for, all) times of one bookable, in order, with places left. */
export class FreeTimes {
  readonly #times: TimeOfDay[] = [];
  // Places left and capacity of time i at [2i] and [2i + 1]; grown by doubling.
  #places = new Int32Array(64);
  // The API's JSON text, made once: kept FreeTimes are served many times, and writing 15,000
  // times out costs more than everything else in a cached answer.
  #jsonText: string | undefined;

  /** Adds a time (in order). */
  add(time: TimeOfDay, capacity: number, remaining: number): void {
    const i = this.#times.length;
    if (2 * i + 1 >= this.#places.length) {
      const bigger = new Int32Array(this.#places.length * 2);
      bigger.set(this.#places);
      this.#places = bigger;
    }
    this.#jsonText = undefined;
    this.#times.push(time);
    this.#places[2 * i] = Math.max(0, remaining);
    this.#places[2 * i + 1] = capacity;
  }

  /** How many times there are. */
  get count(): number {
    return this.#times.length;
  }

  /** The London days with at least one place left, in order. */
  daysWithPlaces(): string[] {
    const days: string[] = [];
    for (let i = 0; i < this.#times.length; i++) {
      const day = this.#times[i]!.day;
      if (this.#places[2 * i]! > 0 && days[days.length - 1] !== day) days.push(day);
    }
    return days;
  }

  /** Calls `visit` for each time with its places (no objects made). */
  forEach(visit: (time: TimeOfDay, remaining: number, capacity: number) => void): void {
    for (let i = 0; i < this.#times.length; i++)
      visit(this.#times[i]!, this.#places[2 * i]!, this.#places[2 * i + 1]!);
  }

  /** The times as Slot objects, for pages and callers that want them. */
  toSlots(): Slot[] {
    const slots: Slot[] = [];
    this.forEach((t, remaining, capacity) =>
      slots.push({
        startsAt: new Date(t.start),
        endsAt: new Date(t.end),
        day: t.day,
        time: t.time,
        label: t.label,
        capacity,
        remaining,
      }),
    );
    return slots;
  }

  /** The times as the API serves them: ISO instants (remembered on the shared time), places. */
  toJson(): Array<{ startsAt: string; endsAt: string; capacity: number; remaining: number }> {
    const out: Array<{ startsAt: string; endsAt: string; capacity: number; remaining: number }> = [];
    this.forEach((t, remaining, capacity) => {
      t.startIso ??= new Date(t.start).toISOString();
      t.endIso ??= new Date(t.end).toISOString();
      out.push({ startsAt: t.startIso, endsAt: t.endIso, capacity, remaining });
    });
    return out;
  }

  /** `toJson()` as JSON text, made once. */
  toJsonText(): string {
    this.#jsonText ??= JSON.stringify(this.toJson());
    return this.#jsonText;
  }
}

/**
 * JSON text of an object with one more field whose value is JSON text already: kept text is
 * joined in, not parsed and written out again.
 */
export function jsonWithField(value: Record<string, unknown>, name: string, jsonText: string): string {
  const text = JSON.stringify(value);
  const joiner = text === '{}' ? '' : ',';
  return `${text.slice(0, -1)}${joiner}${JSON.stringify(name)}:${jsonText}}`;
}

/**
 * Availability kept by key (a bookable and a range) with the stamp it was read at: an entry is
 * only given back for the same stamp. Least recently used entries go first once `capacity` is
 * reached; a capacity of 0 turns it off.
 */
export class AvailabilityCache<T extends { stamp: string }> {
  readonly #entries = new Map<string, T>();
  #fromCache = 0;
  #read = 0;

  constructor(readonly capacity: number) {}

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** The entry kept for `key` if it was read at `stamp`. */
  get(key: string, stamp: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry || entry.stamp !== stamp) return undefined;
    // Map keeps insertion order: taking it out and back makes it the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: T): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Counts bookables answered from the cache and read from the database. */
  counted(fromCache: number, read: number): void {
    this.#fromCache += fromCache;
    this.#read += read;
  }

  counts(): { fromCache: number; read: number } {
    return { fromCache: this.#fromCache, read: this.#read };
  }
}
