import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { residentClient as signInResident } from '../../../test/support/resident.ts';

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/**
 * A passkey authenticator in software: an ES256 key pair, "none" attestation, CBOR as the
 * WebAuthn specification lays it out. It answers the same options a browser would pass on.
 */
class SoftwareAuthenticator {
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly credentialId = randomBytes(16);
  counter = 0;
  constructor(
    private readonly rpId: string,
    private readonly origin: string,
  ) {}

  private authenticatorData(withCredential: boolean): Buffer {
    const flags = 0x01 | 0x04 | (withCredential ? 0x40 : 0); // user present, user verified, credential data
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const parts = [sha256(this.rpId), Buffer.from([flags]), counter];
    if (withCredential) {
      const jwk = this.keys.publicKey.export({ format: 'jwk' });
      const cose = isoCBOR.encode(
        new Map<number, number | Uint8Array>([
          [1, 2], // kty: EC2
          [3, -7], // alg: ES256
          [-1, 1], // crv: P-256
          [-2, Buffer.from(jwk.x!, 'base64url')],
          [-3, Buffer.from(jwk.y!, 'base64url')],
        ]),
      );
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), idLength, this.credentialId, Buffer.from(cose));
    }
    return Buffer.concat(parts);
  }

  register(options: { challenge: string }, origin = this.origin) {
    const clientData = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin });
    const attestation = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', this.authenticatorData(true)],
      ]),
    );
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientData),
        attestationObject: b64url(attestation),
        transports: ['internal'],
      },
      clientExtensionResults: {},
    };
  }

  authenticate(
    options: { challenge: string },
    { key = this.keys.privateKey as KeyObject, origin = this.origin } = {},
  ) {
    this.counter += 1;
    const clientData = JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin });
    const data = this.authenticatorData(false);
    const signature = sign('sha256', Buffer.concat([data, sha256(clientData)]), key);
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(data),
        signature: b64url(signature),
      },
      clientExtensionResults: {},
    };
  }
}

describe('passkeys', () => {
  let kiln: TestKiln;
  const origin = 'http://localhost:3000';
  before(async () => {
    kiln = await startTestApp();
  });
  after(async () => kiln.close());

  async function addPasskey(client: Client, authenticator: SoftwareAuthenticator, label: string) {
    await client.get('/account/passkeys');
    const options = (await client.post('/account/passkeys/options', {})).json();
    return client.post('/account/passkeys', {
      label,
      response: JSON.stringify(authenticator.register(options)),
    });
  }

  async function passkeySignIn(
    authenticator: SoftwareAuthenticator,
    tamper: Parameters<SoftwareAuthenticator['authenticate']>[1] = {},
  ) {
    const browser = new Client(kiln.app);
    await browser.get('/sign-in/passkey');
    const options = (await browser.post('/sign-in/passkey/options', {})).json();
    assert.equal(options.rpId, 'localhost');
    const res = await browser.post('/sign-in/passkey', {
      response: JSON.stringify(authenticator.authenticate(options, tamper)),
    });
    return { browser, res };
  }

  test('without JavaScript the sign-in page explains and offers the email link', async () => {
    const res = await kiln.app.inject({ url: '/sign-in/passkey' });
    const p = page(res.body);
    assert.equal(p.heading(), 'Sign in with a passkey');
    assert.match(p.text(), /needs JavaScript/);
    assert.ok(p.links().some((l) => l.href === '/sign-in'));
    assert.equal(
      p.root.querySelector('form[data-passkey]')?.getAttribute('hidden'),
      '',
      'the form waits for the script',
    );
    assert.ok(p.root.querySelector('script[src="/assets/passkeys.js"]'));
    const script = await kiln.app.inject({ url: '/assets/passkeys.js' });
    assert.equal(script.statusCode, 200);
  });

  test('a resident adds a passkey, signs in with it, and the signature counter moves on', async () => {
    const client = await signInResident(kiln, 'pat.key@example.com');
    await client.get('/account/passkeys');
    const options = (await client.post('/account/passkeys/options', {})).json();
    assert.equal(options.rp.id, 'localhost');
    assert.match(
      options.user.name,
      /^CU-/,
      'the authenticator is given the account reference, not the email',
    );
    assert.equal(options.attestation, 'none');

    const authenticator = new SoftwareAuthenticator('localhost', origin);
    const added = await client.post('/account/passkeys', {
      label: 'My phone',
      response: JSON.stringify(authenticator.register(options)),
    });
    assert.equal(added.statusCode, 303);
    const list = await client.follow(added);
    assert.match(page(list.body).text(), /Passkey added/);
    assert.match(page(list.body).text(), /My phone/);

    const { browser, res } = await passkeySignIn(authenticator);
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/account');
    const account = await browser.get('/account');
    assert.equal(account.statusCode, 200);
    assert.equal(page(account.body).heading(), 'Your account');

    const stored = await kiln.platform.db
      .selectFrom('passkeys')
      .select(['counter', 'last_used_at', 'label'])
      .where('credential_id', '=', b64url(authenticator.credentialId))
      .executeTakeFirstOrThrow();
    assert.equal(Number(stored.counter), 1);
    assert.ok(stored.last_used_at);

    // A counter that goes backwards looks like a cloned authenticator: refused and audited.
    authenticator.counter = 0;
    const cloned = await passkeySignIn(authenticator);
    assert.equal(cloned.res.statusCode, 400);
    assert.deepEqual(page(cloned.res.body).errorSummary(), [
      'We could not sign you in with that passkey. Try again, or sign in with an email link',
    ]);
    const audit = await kiln.platform.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'resident.passkey_refused')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.deepEqual(audit.detail, { reason: 'counter' });
  });

  test('bad responses are refused: wrong key, wrong origin, no challenge, junk, a passkey added twice', async () => {
    const client = await signInResident(kiln, 'robin.key@example.com');
    const authenticator = new SoftwareAuthenticator('localhost', origin);
    assert.equal((await addPasskey(client, authenticator, 'Laptop')).statusCode, 303);

    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.equal((await passkeySignIn(authenticator, { key: stranger })).res.statusCode, 400);
    assert.equal(
      (await passkeySignIn(authenticator, { origin: 'https://kilnford.example.evil' })).res.statusCode,
      400,
    );

    const noChallenge = new Client(kiln.app);
    await noChallenge.get('/sign-in/passkey');
    const res = await noChallenge.post('/sign-in/passkey', {
      response: JSON.stringify(authenticator.authenticate({ challenge: b64url(randomBytes(32)) })),
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(page(res.body).errorSummary(), ['The sign-in took too long. Try again']);

    const junk = new Client(kiln.app);
    await junk.get('/sign-in/passkey');
    await junk.post('/sign-in/passkey/options', {});
    assert.equal((await junk.post('/sign-in/passkey', { response: '{not json' })).statusCode, 400);
    assert.equal((await junk.post('/sign-in/passkey', {})).statusCode, 400);

    const again = await addPasskey(client, authenticator, 'Laptop again');
    assert.equal(again.statusCode, 400);
    assert.deepEqual(page(again.body).errorSummary(), ['That passkey is already in your account']);

    await client.get('/account/passkeys');
    const cancelled = await client.post('/account/passkeys', { label: 'Tablet', response: '' });
    assert.deepEqual(page(cancelled.body).errorSummary(), ['Adding the passkey took too long. Try again']);
    await client.post('/account/passkeys/options', {});
    const wrongOrigin = await client.post('/account/passkeys', {
      label: 'Tablet',
      response: JSON.stringify(
        new SoftwareAuthenticator('localhost', origin).register(
          { challenge: 'x' },
          'https://elsewhere.example',
        ),
      ),
    });
    assert.deepEqual(page(wrongOrigin.body).errorSummary(), [
      'Your device did not create a passkey. Try again',
    ]);
  });

  test("a resident removes their own passkey and cannot touch another resident's", async () => {
    const owner = await signInResident(kiln, 'sky.owner@example.com');
    const other = await signInResident(kiln, 'kit.other@example.com');
    const authenticator = new SoftwareAuthenticator('localhost', origin);
    await addPasskey(owner, authenticator, 'Work phone');
    const id = b64url(authenticator.credentialId);

    const peek = await other.get(`/account/passkeys/${id}/remove`);
    assert.equal(peek.statusCode, 404);
    await other.get('/account/passkeys');
    const steal = await other.post(`/account/passkeys/${id}/remove`, {});
    assert.equal(steal.statusCode, 404);

    const confirm = await owner.get(`/account/passkeys/${id}/remove`);
    assert.equal(page(confirm.body).heading(), 'Remove the passkey Work phone?');
    const removed = await owner.post(`/account/passkeys/${id}/remove`, {});
    assert.equal(removed.statusCode, 303);
    assert.equal(
      (await passkeySignIn(authenticator)).res.statusCode,
      400,
      'a removed passkey no longer signs in',
    );
  });

  test('signed-out visitors cannot ask for registration options', async () => {
    const visitor = new Client(kiln.app);
    await visitor.get('/sign-in/passkey');
    const res = await visitor.post('/account/passkeys/options', {});
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /^\/sign-in/);
  });
});
