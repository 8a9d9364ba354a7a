import { createVerify, X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';

/**
 * Verifying that a request really comes from Alexa, as the Alexa Skills Kit requires of a skill
 * hosted as a web service: the certificate chain URL, the chain itself, the SHA-256 signature of
 * the exact body, and a timestamp no more than 150 seconds old.
 */

export class AlexaVerificationError extends Error {}

/** Where certificates come from and which roots are trusted; tests bring their own. */
export interface AlexaTrust {
  fetchCertChain(url: string): Promise<string>;
  roots: string[];
}

export const ALEXA_TOLERANCE_SECONDS = 150;

/** Amazon's rule for the SignatureCertChainUrl header. */
export function checkCertChainUrl(raw: string | undefined): URL {
  if (!raw) throw new AlexaVerificationError('The SignatureCertChainUrl header is missing');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AlexaVerificationError('The certificate chain URL is not a URL');
  }
  // new URL has normalised the path ("/echo.api/../" is gone) and lower-cased scheme and host.
  if (url.protocol !== 'https:') throw new AlexaVerificationError('The certificate chain URL must use https');
  if (url.hostname !== 's3.amazonaws.com')
    throw new AlexaVerificationError('The certificate chain URL has the wrong host');
  if (url.port !== '' && url.port !== '443')
    throw new AlexaVerificationError('The certificate chain URL has the wrong port');
  if (!url.pathname.startsWith('/echo.api/'))
    throw new AlexaVerificationError('The certificate chain URL has the wrong path');
  return url;
}

function splitPem(chain: string): string[] {
  return chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** The default trust: certificates fetched from Amazon, cached; the system's root certificates. */
export function defaultAlexaTrust(): AlexaTrust {
  const cache = new Map<string, { pem: string; at: number }>();
  return {
    roots: [...rootCertificates],
    async fetchCertChain(url) {
      const hit = cache.get(url);
      if (hit && Date.now() - hit.at < 3_600_000) return hit.pem;
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new AlexaVerificationError('The certificate chain could not be fetched');
      const pem = await response.text();
      cache.set(url, { pem, at: Date.now() });
      return pem;
    },
  };
}

export function createAlexaVerifier(getTrust: () => AlexaTrust) {
  let parsedRoots: { source: string[]; certs: X509Certificate[] } | null = null;
  const roots = (trust: AlexaTrust) => {
    if (parsedRoots?.source !== trust.roots) {
      const certs: X509Certificate[] = [];
      for (const pem of trust.roots)
        try {
          certs.push(new X509Certificate(pem));
        } catch {
          // A root this platform cannot read is not one Amazon uses.
        }
      parsedRoots = { source: trust.roots, certs };
    }
    return parsedRoots.certs;
  };

  return async function verify(input: {
    certChainUrl: string | undefined;
    signature: string | undefined;
    body: string;
    now?: Date;
  }): Promise<void> {
    const now = input.now ?? new Date();
    const url = checkCertChainUrl(input.certChainUrl);
    if (!input.signature) throw new AlexaVerificationError('The Signature-256 header is missing');
    const trust = getTrust();
    const pems = splitPem(await trust.fetchCertChain(url.toString()));
    if (pems.length === 0) throw new AlexaVerificationError('The certificate chain is empty');
    let chain: X509Certificate[];
    try {
      chain = pems.map((p) => new X509Certificate(p));
    } catch {
      throw new AlexaVerificationError('The certificate chain cannot be read');
    }
    const leaf = chain[0]!;
    if (now < new Date(leaf.validFrom) || now > new Date(leaf.validTo))
      throw new AlexaVerificationError('The signing certificate has expired or is not yet valid');
    const names = (leaf.subjectAltName ?? '').split(',').map((s) => s.trim());
    if (!names.includes('DNS:echo-api.amazon.com'))
      throw new AlexaVerificationError('The signing certificate is not for echo-api.amazon.com');
    for (let i = 0; i < chain.length - 1; i++) {
      const cert = chain[i]!;
      const issuer = chain[i + 1]!;
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
        throw new AlexaVerificationError('The certificate chain is broken');
      if (now < new Date(issuer.validFrom) || now > new Date(issuer.validTo))
        throw new AlexaVerificationError('A certificate in the chain has expired');
    }
    const top = chain.at(-1)!;
    const trusted = roots(trust).some(
      (root) =>
        top.fingerprint256 === root.fingerprint256 || (top.checkIssued(root) && top.verify(root.publicKey)),
    );
    if (!trusted) throw new AlexaVerificationError('The certificate chain does not lead to a trusted root');
    const ok = createVerify('RSA-SHA256')
      .update(input.body, 'utf8')
      .verify(leaf.publicKey, input.signature, 'base64');
    if (!ok) throw new AlexaVerificationError('The request signature is not valid');
    let timestamp: number;
    try {
      timestamp = Date.parse(
        (JSON.parse(input.body) as { request?: { timestamp?: string } }).request?.timestamp ?? '',
      );
    } catch {
      throw new AlexaVerificationError('The request is not JSON');
    }
    if (!Number.isFinite(timestamp) || Math.abs(now.getTime() - timestamp) > ALEXA_TOLERANCE_SECONDS * 1000)
      throw new AlexaVerificationError('The request timestamp is too old or in the future');
  };
}

/** An Alexa response that speaks and, unless the conversation is over, keeps listening. */
export function alexaResponse(text: string, end: boolean) {
  const speech = text.slice(0, 7000);
  return {
    version: '1.0',
    response: {
      outputSpeech: { type: 'PlainText', text: speech },
      ...(end
        ? {}
        : { reprompt: { outputSpeech: { type: 'PlainText', text: 'What would you like to do?' } } }),
      shouldEndSession: end,
    },
  };
}
