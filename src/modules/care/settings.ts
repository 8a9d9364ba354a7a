import { z } from 'zod';

// This module's settings, read from the environment once and checked, like the platform's config.
const schema = z.object({
  /** Who is told, the same day, each time someone breaks the glass on a care record. */
  CARE_PRIVACY_OFFICER_EMAIL: z.email().default('privacy.officer@kilnford.example'),
  /** Lifetime of an access token issued to a practitioner's FHIR client. */
  CARE_FHIR_TOKEN_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  /** Phone number of the social care duty team, shown with the emergency contacts. */
  CARE_DUTY_PHONE: z.string().min(1).default('01632 960 000'),
  /** Out-of-hours emergency duty team. */
  CARE_OUT_OF_HOURS_PHONE: z.string().min(1).default('01632 960 999'),
});

export type CareSettings = z.infer<typeof schema>;

/** The care module's settings from an environment (the process's by default). */
export function careSettings(env: NodeJS.ProcessEnv = process.env): CareSettings {
  return schema.parse({
    CARE_PRIVACY_OFFICER_EMAIL: env.CARE_PRIVACY_OFFICER_EMAIL || undefined,
    CARE_FHIR_TOKEN_MINUTES: env.CARE_FHIR_TOKEN_MINUTES || undefined,
    CARE_DUTY_PHONE: env.CARE_DUTY_PHONE || undefined,
    CARE_OUT_OF_HOURS_PHONE: env.CARE_OUT_OF_HOURS_PHONE || undefined,
  });
}
