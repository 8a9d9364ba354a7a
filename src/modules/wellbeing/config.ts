import { z } from 'zod';

// The wellbeing module's settings, read from the environment (listed in docs/wellbeing.md and .env.example).
const schema = z.object({
  /** Unset: Kiln runs its own MQTT broker. Set (mqtt://host:1883): Kiln subscribes to that broker. */
  MQTT_URL: z.string().url().optional(),
  /** Port of Kiln's own broker (not 1883, where a real broker usually listens); 0 = any free port. */
  MQTT_BROKER_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  MQTT_BROKER_HOST: z.string().default('0.0.0.0'),
  /** Subscribe as a shared subscription of this group, so several Kiln processes split the readings. */
  WELLBEING_MQTT_SHARE_GROUP: z.string().optional(),
  /**
   * A fixed MQTT client id for the subscription: the broker then keeps Kiln's session and queues
   * readings while Kiln is away (restart, deploy). One per process; unset: a fresh session each start.
   */
  WELLBEING_MQTT_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  /** Readings the broker may send before Kiln's acknowledgements come back (MQTT 5 receive maximum). */
  WELLBEING_MQTT_RECEIVE_MAXIMUM: z.coerce.number().int().min(1).max(65535).default(1000),
  /** Derives each hub's key; falls back to SESSION_SECRET. Changing it changes every hub's key. */
  WELLBEING_DEVICE_SECRET: z.string().min(32).optional(),
  /** Readings held in memory while the database is unavailable; senders wait beyond it. */
  WELLBEING_BUFFER_MAX: z.coerce.number().int().min(1000).default(200_000),
  WELLBEING_BATCH_SIZE: z.coerce.number().int().min(1).max(20_000).default(5000),
  WELLBEING_FLUSH_MS: z.coerce.number().int().min(5).default(200),
  /** Start ingestion (broker or subscription) in this process; off for web-only processes. */
  WELLBEING_INGEST: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional(),
});

export type WellbeingConfig = z.infer<typeof schema>;

export function loadWellbeingConfig(env: NodeJS.ProcessEnv = process.env): WellbeingConfig {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
