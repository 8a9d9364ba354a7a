import { z } from 'zod';

// This module's settings, read from the environment when the assistant is built, with defaults so nothing is needed.
const schema = z.object({
  /** When advisers answer chats: "always", "never", or days and London times like "Mon-Fri 08:30-17:00". */
  ASSISTANT_AGENT_HOURS: z.string().default('Mon-Fri 08:30-17:00'),
  /** Under this NLU score the assistant says it does not know. */
  ASSISTANT_NLU_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  /** The Alexa skill's application id; unset accepts any skill (the signature is still checked). */
  ASSISTANT_ALEXA_SKILL_ID: z.string().optional(),
  /** The telephony provider's auth token: when set, SMS and voice webhooks must carry its HMAC-SHA1 signature. */
  ASSISTANT_WEBHOOK_AUTH_TOKEN: z.string().optional(),
  /** Where the voice line transfers a caller who asks for a person, in hours. */
  ASSISTANT_VOICE_TRANSFER_NUMBER: z.string().default('+441632960000'),
  /** An OpenAI-compatible chat completions endpoint to rephrase answers; unset (the default) turns it off. */
  ASSISTANT_REPHRASE_URL: z.url().optional(),
  ASSISTANT_REPHRASE_API_KEY: z.string().optional(),
  ASSISTANT_REPHRASE_MODEL: z.string().default('gpt-4o-mini'),
  /** Conversations with the bot left this long are closed and any unfinished form dropped. */
  ASSISTANT_IDLE_MINUTES: z.coerce.number().int().positive().default(60),
});

export type AssistantSettings = z.infer<typeof schema>;

export function assistantSettings(env: NodeJS.ProcessEnv = process.env): AssistantSettings {
  const picked = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  return schema.parse(picked);
}

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Whether advisers are answering at `now`, by London time. */
export function withinHours(spec: string, now = new Date()): boolean {
  const s = spec.trim().toLowerCase();
  if (s === 'always') return true;
  if (s === 'never') return false;
  const m = /^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(s);
  if (!m) return false;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  const day = dayNames.indexOf(String(parts.weekday).slice(0, 3).toLowerCase());
  const from = dayNames.indexOf(m[1]!);
  const to = dayNames.indexOf(m[2] ?? m[1]!);
  const inDays = from <= to ? day >= from && day <= to : day >= from || day <= to;
  const minutes = Number(parts.hour) * 60 + Number(parts.minute);
  return inDays && minutes >= +m[3]! * 60 + +m[4]! && minutes < +m[5]! * 60 + +m[6]!;
}
