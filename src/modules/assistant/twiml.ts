import { createHmac, timingSafeEqual } from 'node:crypto';

/** TwiML-compatible replies for the voice line: say, then listen for speech. */

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const say = (text: string) => `<Say language="en-GB">${xmlEscape(text)}</Say>`;

/** Speaks and gathers the caller's answer; silence falls through to a prompt and back. */
export function gather(text: string, action: string, silenceCount: number): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><Response>' +
    `<Gather input="speech" action="${xmlEscape(action)}" method="POST" speechTimeout="auto" language="en-GB">${say(text)}</Gather>` +
    `<Redirect method="POST">${xmlEscape(`${action}?silence=${silenceCount + 1}`)}</Redirect>` +
    '</Response>'
  );
}

export function sayAndHangUp(text: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${say(text)}<Hangup/></Response>`;
}

export function sayAndDial(text: string, number: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${say(text)}<Dial>${xmlEscape(number)}</Dial></Response>`;
}

export const emptyResponse = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/**
 * The telephony provider's request signature (the X-Twilio-Signature scheme): base64 HMAC-SHA1
 * of the full URL followed by each form field's name and value, sorted by name.
 */
export function providerSignature(authToken: string, url: string, fields: Record<string, unknown>): string {
  const data =
    url +
    Object.keys(fields)
      .sort()
      .map((k) => `${k}${[fields[k]].flat().join('')}`)
      .join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export function validProviderSignature(
  authToken: string,
  url: string,
  fields: Record<string, unknown>,
  given: unknown,
): boolean {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(providerSignature(authToken, url, fields));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
