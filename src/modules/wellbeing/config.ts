import { hostname } from 'node:os';
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
   * The MQTT client id of the subscription, whose session (and queue) the broker keeps while Kiln
   * is away. One per process; unset: kiln-wellbeing-<host>-<port> (subscriptionClientId).
   */
  WELLBEING_MQTT_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  /** How long the broker keeps Kiln's session and queue while Kiln is away (default two days). */
  WELLBEING_MQTT_SESSION_EXPIRY_SECONDS: z.coerce.number().int().min(0).max(4_294_967_295).default(172_800),
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

/**
 * The client id of Kiln's subscription to an external broker. It must be stable across restarts
 * (the broker keeps the session and queue under it) and differ between processes (a second
 * connection with the same id takes the session from the first). Unset, it is made of the host
 * name and the port this process listens on, which no other process on the host has: the worker
 * health port for `kiln worker`, else the web port.
 */
export function subscriptionClientId(
  config: Pick<WellbeingConfig, 'WELLBEING_MQTT_CLIENT_ID'>,
  platform: { PORT: number; WORKER_HEALTH_PORT?: number | undefined },
  host = hostname(),
): string {
  if (config.WELLBEING_MQTT_CLIENT_ID) return config.WELLBEING_MQTT_CLIENT_ID;
  const port = platform.WORKER_HEALTH_PORT ?? platform.PORT;
  const name = host.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  return `kiln-wellbeing-${name}-${port}`;
}
