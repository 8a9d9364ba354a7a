import { z } from 'zod';

// The bookings module's settings, read from the environment (listed in docs/bookings.md).
const schema = z.object({
  /**
   * Bookables' availability (per bookable and range) each process keeps while its stamp is
   * unchanged; 0 turns the cache off.
   */
  BOOKINGS_AVAILABILITY_CACHE_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(1_000),
  /** Video consultation links: this prefix and a random room name. */
  BOOKINGS_MEETING_URL_PREFIX: z.string().url().default('https://meet.jit.si/kilnford-'),
  /** Hours a person offered a place from the waiting list has to accept it. */
  BOOKINGS_OFFER_HOURS: z.coerce.number().min(0.05).max(168).default(12),
  /** Hours before the start that a reminder is sent. */
  BOOKINGS_REMINDER_HOURS: z.coerce.number().int().min(1).max(168).default(24),
  /** The council's waste carrier registration, printed on waste transfer notes. */
  BOOKINGS_WASTE_CARRIER_REGISTRATION: z.string().min(1).default('CBDU000000 (demo registration)'),
});

export type BookingsConfig = z.infer<typeof schema>;

export function loadBookingsConfig(env: NodeJS.ProcessEnv = process.env): BookingsConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
