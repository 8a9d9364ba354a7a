import { z } from 'zod';

// Every setting Kiln reads, in one place. Each is listed with its default in .env.example.
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.string().url().default('http://localhost:3000'),
  /** Unset: embedded PGlite in DATA_DIR. Set: a PostgreSQL server. */
  DATABASE_URL: z.string().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Prepare repeated statements on each connection; false behind a pooler in transaction mode. */
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  DATA_DIR: z.string().default('./data'),
  /** Signs CSRF tokens; must be set (32+ characters) in production. */
  SESSION_SECRET: z.string().min(32).optional(),
  SESSION_TTL_HOURS: z.coerce.number().positive().default(12),
  TRUST_PROXY: bool.default(false),
  COUNCIL_NAME: z.string().default('Kilnford City Council'),
  DEMO_MODE: bool.default(true),
  SEED_DEMO_DATA: bool.default(true),
  RUN_WORKERS: bool.default(true),
  /** `kiln web`: copies of the web server sharing PORT, one per core (needs DATABASE_URL). */
  WEB_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
  /** Run pending migrations when a process starts; unset = only `kiln all` (npm start) does. */
  MIGRATE_ON_START: bool.optional(),
  /** `kiln worker`: serve /healthz, /readyz and /metrics on this port; unset = no listener. */
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Bearer token for /metrics (16+ characters); unset = /metrics answers 404. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** On SIGTERM: how long to drain requests and running jobs before exiting anyway. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_048_576),
  UPLOAD_LIMIT_BYTES: z.coerce.number().int().positive().default(10_485_760),
  RATE_LIMIT_SIGN_IN_PER_MINUTE: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_SUBMISSIONS_PER_MINUTE: z.coerce.number().int().positive().default(30),
  RATE_LIMIT_API_PER_MINUTE: z.coerce.number().int().positive().default(6000),
  NOTIFY_ADAPTER: z.enum(['sandbox', 'govuk-notify']).default('sandbox'),
  NOTIFY_API_KEY: z.string().optional(),
  /** JSON object mapping Kiln template names to GOV.UK Notify template ids. */
  NOTIFY_TEMPLATE_IDS: z.string().default('{}'),
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  /** Name of the ID-token claim carrying group or role values (Entra ID: "roles" or "groups"). */
  OIDC_ROLES_CLAIM: z.string().default('roles'),
  UPLOAD_DIR: z.string().optional(),
  WEBAUTHN_RP_ID: z.string().optional(),
  /** Kiln Sign: the council's sealing certificate, a base64 PKCS#12; unset = a self-signed demo one. */
  SIGNING_P12_BASE64: z.string().optional(),
  SIGNING_P12_PASSPHRASE: z.string().optional(),
});

export type Config = z.infer<typeof schema> & {
  sessionSecret: string;
  uploadDir: string;
  webauthnRpId: string;
  secureCookies: boolean;
};

/** Reads and validates the environment once; fails fast on anything wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty value (`NAME=` in an env file) means unset.
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.NODE_ENV === 'production' && !c.SESSION_SECRET) {
    throw new Error('Invalid configuration:\n  SESSION_SECRET: required in production (32+ characters)');
  }
  const url = new URL(c.PUBLIC_URL);
  return {
    ...c,
    // Outside production a fixed development secret keeps sign-in working across restarts.
    sessionSecret: c.SESSION_SECRET ?? 'kiln-development-secret-not-for-production-use',
    uploadDir: c.UPLOAD_DIR ?? `${c.DATA_DIR}/uploads`,
    webauthnRpId: c.WEBAUTHN_RP_ID ?? url.hostname,
    secureCookies: url.protocol === 'https:',
  };
}
