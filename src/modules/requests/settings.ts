import { z } from 'zod';

// This module's settings, read from the environment once and checked, like the platform's config.
const schema = z.object({
  MAP_TILE_URL: z.url().default('https://tile.openstreetmap.org/{z}/{x}/{y}.png'),
  MAP_TILE_ATTRIBUTION: z.string().default('© OpenStreetMap contributors'),
  OPEN311_JURISDICTION_ID: z.string().min(1).default('kilnford.example'),
});

let cached: z.infer<typeof schema> | null = null;

function settings() {
  cached ??= schema.parse({
    MAP_TILE_URL: process.env.MAP_TILE_URL || undefined,
    MAP_TILE_ATTRIBUTION: process.env.MAP_TILE_ATTRIBUTION || undefined,
    OPEN311_JURISDICTION_ID: process.env.OPEN311_JURISDICTION_ID || undefined,
  });
  return cached;
}

/** What the map script needs: where tiles come from and whom to credit. */
export function mapSettings() {
  return { tileUrl: settings().MAP_TILE_URL, attribution: settings().MAP_TILE_ATTRIBUTION };
}

/** The tile server's origin, for the Content Security Policy's img-src. */
export function tileOrigin(): string {
  // https://{s}.tile.example/… becomes https://*.tile.example, which a CSP source may say.
  const match = /^(https?:\/\/[^/]+)/.exec(settings().MAP_TILE_URL);
  return (match?.[1] ?? '').replace(/\{[a-z]\}/g, '*');
}

export function jurisdictionId(): string {
  return settings().OPEN311_JURISDICTION_ID;
}
