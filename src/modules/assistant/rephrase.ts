import type { AssistantSettings } from './settings.ts';

/**
 * Optional rephrasing of answers by an OpenAI-compatible chat completions endpoint. Off unless
 * ASSISTANT_REPHRASE_URL is set; never needed. The model only rewords: if it fails, is slow, or
 * drops a reference, the original words are used.
 */
export function createRephraser(settings: AssistantSettings, fetcher: typeof fetch = fetch) {
  const url = settings.ASSISTANT_REPHRASE_URL;
  if (!url) return async (text: string) => text;
  return async (text: string): Promise<string> => {
    try {
      const response = await fetcher(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(settings.ASSISTANT_REPHRASE_API_KEY
            ? { authorization: `Bearer ${settings.ASSISTANT_REPHRASE_API_KEY}` }
            : {}),
        },
        body: JSON.stringify({
          model: settings.ASSISTANT_REPHRASE_MODEL,
          temperature: 0.2,
          messages: [
            {
              role: 'system',
              content:
                'Rewrite the council assistant message in plain, friendly UK English. Keep every fact, number, date, reference and instruction exactly. Reply with the message only.',
            },
            { role: 'user', content: text },
          ],
        }),
        signal: AbortSignal.timeout(3000),
      });
      if (!response.ok) return text;
      const body = (await response.json()) as { choices?: Array<{ message?: { content?: string } }> };
      const out = body.choices?.[0]?.message?.content?.trim();
      if (!out || out.length > text.length * 2 + 200) return text;
      // Anything with a reference, date or number must keep it.
      const facts = text.match(/KLN-[A-Z0-9-]+|\d[\d:.,]*/g) ?? [];
      return facts.every((f) => out.includes(f)) ? out : text;
    } catch {
      return text;
    }
  };
}
