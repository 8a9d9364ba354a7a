import assert from 'node:assert/strict';
import { createSign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { providerSignature } from './twiml.ts';

process.env.ASSISTANT_AGENT_HOURS = 'always';

let kiln: TestKiln;
before(async () => {
  kiln = await startTestApp();
  kiln.services.assistant.setAlexaTrust({
    roots: [alexa.rootPem],
    fetchCertChain: async () => alexa.chainPem,
  });
});
after(async () => kiln?.close());

const caseByReference = (reference: string) =>
  kiln.platform.db.selectFrom('cases').selectAll().where('reference', '=', reference).executeTakeFirst();
const countCases = async () =>
  Number(
    (
      await kiln.platform.db
        .selectFrom('cases')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

// ---- Text messages ----

async function text(from: string, body: string) {
  const response = await kiln.app.inject({
    method: 'POST',
    url: '/api/assistant/sms',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ From: from, Body: body, MessageSid: `SM${Math.random().toString(36).slice(2)}` }),
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.match(response.headers['content-type'] as string, /text\/xml/);
  const sent = await kiln.platform.notify.list(kiln.platform.db, { recipient: from, limit: 1 });
  return sent[0]!.body;
}

describe('text messages', () => {
  test('a pothole reported by SMS: the webhook takes each text, replies go out through notify, numbered choices', async () => {
    const from = '+447700900123';
    let reply = await text(from, 'Pothole on Saggar Street');
    assert.match(reply, /How big is the pothole\?\n1 Smaller than a dinner plate\n2 Between/);
    reply = await text(from, '1');
    assert.match(reply, /How deep is it\?/);
    reply = await text(from, '1');
    assert.match(reply, /Where is it\?/);
    reply = await text(from, 'road');
    assert.match(reply, /anything else/i);
    reply = await text(from, 'skip');
    assert.doesNotMatch(reply, /email/); // a text conversation answers by text
    assert.match(reply, /Shall I send this report\?\n1 Yes, send it\n2 No/);
    reply = await text(from, '1');
    const reference = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/.exec(reply)?.[0];
    assert.ok(reference, reply);
    assert.match(reply, /http:\/\/localhost:3000\/reports\/KLN-/);
    assert.equal((await caseByReference(reference))?.channel, 'sms');
    // The same phone may ask about it; the request is theirs.
    assert.match(await text(from, `status of ${reference}`), /Status: Received/);
    // Another phone is asked for the identity check first.
    assert.match(await text('+447700900999', `status of ${reference}`), /email address or postcode/);
  });

  test('refuses malformed or unsigned webhooks', async () => {
    let response = await kiln.app.inject({
      method: 'POST',
      url: '/api/assistant/sms',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ Body: 'hello' }),
    });
    assert.equal(response.statusCode, 400);
    assert.match(response.headers['content-type'] as string, /application\/problem\+json/);
    const settings = kiln.services.assistant.service.settings;
    settings.ASSISTANT_WEBHOOK_AUTH_TOKEN = 'provider-secret';
    try {
      const fields = { From: '+447700900555', Body: 'hi' };
      response = await kiln.app.inject({
        method: 'POST',
        url: '/api/assistant/sms',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'forged' },
        payload: form(fields),
      });
      assert.equal(response.statusCode, 403);
      response = await kiln.app.inject({
        method: 'POST',
        url: '/api/assistant/sms',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': providerSignature(
            'provider-secret',
            'http://localhost:3000/api/assistant/sms',
            fields,
          ),
        },
        payload: form(fields),
      });
      assert.equal(response.statusCode, 200);
    } finally {
      settings.ASSISTANT_WEBHOOK_AUTH_TOKEN = undefined;
    }
    // Binary and very long bodies are read as text, cut short, and answered safely.
    const reply = await text('+447700900556', `\u0001\u0002${'ÿ'.repeat(1500)}`);
    assert.ok(reply.length > 0);
  });
});

// ---- Voice ----

async function call(fields: Record<string, string>, query = '') {
  const response = await kiln.app.inject({
    method: 'POST',
    url: `/api/assistant/voice${query}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form(fields),
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.match(response.headers['content-type'] as string, /text\/xml/);
  return response.body;
}
const spoken = (xml: string) =>
  [...xml.matchAll(/<Say[^>]*>([^<]*)<\/Say>/g)]
    .map((m) => m[1]!.replace(/&apos;/g, "'").replace(/&amp;/g, '&'))
    .join(' ');

describe('the voice line (TwiML)', () => {
  test('a caller reports a pothole by speech; the reference is read out', async () => {
    const CallSid = 'CA0000000000000000000000000000001';
    let xml = await call({ CallSid, From: '+441632960123', CallStatus: 'in-progress' });
    assert.match(xml, /<Gather input="speech" action="\/api\/assistant\/voice" method="POST"/);
    assert.match(spoken(xml), /How can I help\?/);
    xml = await call({ CallSid, SpeechResult: "There's a pothole on Potters Way." });
    assert.match(
      spoken(xml),
      /How big is the pothole\? You can say: Smaller than a dinner plate, .* or Larger than a car tyre\./,
    );
    xml = await call({ CallSid, SpeechResult: 'Larger than a car tyre.' });
    xml = await call({ CallSid, SpeechResult: 'More than 10cm.' });
    assert.match(spoken(xml), /Where is it\?/);
    xml = await call({ CallSid, SpeechResult: 'In the cycle lane.' });
    xml = await call({ CallSid, SpeechResult: 'No.' });
    assert.match(spoken(xml), /Shall I send this report\?/);
    xml = await call({ CallSid, SpeechResult: 'Yes please.' });
    const said = spoken(xml);
    const letters = /reference is ([A-Z0-9 ,]+)\./.exec(said)?.[1];
    assert.ok(letters, said);
    const reference = letters.replace(/[ ,]/g, '').replace(/^(KLN)(\w{4})(\w{2})$/, '$1-$2-$3');
    const made = await caseByReference(reference);
    assert.equal(made?.channel, 'voice');
    assert.equal(made?.service_slug, 'report-pothole');
  });

  test('a caller who hangs up mid-form leaves nothing half-submitted; silence ends the call', async () => {
    const before = await countCases();
    const CallSid = 'CA0000000000000000000000000000002';
    await call({ CallSid, CallStatus: 'in-progress' });
    await call({ CallSid, SpeechResult: 'pothole on Glaze Row' });
    await call({ CallSid, SpeechResult: 'small' });
    assert.equal(
      await call({ CallSid, CallStatus: 'completed' }),
      '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    );
    assert.equal(await countCases(), before);
    const conversation = await kiln.platform.db
      .selectFrom('assistant_conversations')
      .selectAll()
      .where('external_id', '=', CallSid)
      .executeTakeFirstOrThrow();
    assert.equal(conversation.status, 'closed');
    assert.deepEqual(conversation.state, {});

    const quiet = 'CA0000000000000000000000000000003';
    await call({ CallSid: quiet });
    let xml = await call({ CallSid: quiet }, '?silence=1');
    assert.match(spoken(xml), /did not hear anything/);
    xml = await call({ CallSid: quiet }, '?silence=2');
    assert.match(xml, /<Hangup\/>/);
    // Script or markup in speech is spoken back as text, never as TwiML.
    const odd = 'CA0000000000000000000000000000004';
    await call({ CallSid: odd });
    xml = await call({ CallSid: odd, SpeechResult: '</Say><Dial>+449999</Dial>' });
    assert.doesNotMatch(xml, /<Dial>\+449999/);
  });
});

// ---- Alexa ----

const alexa = makeAlexaCertificates();

function makeAlexaCertificates() {
  const pki = forge.pki;
  const rootKeys = pki.rsa.generateKeyPair(2048);
  const root = pki.createCertificate();
  root.publicKey = rootKeys.publicKey;
  root.serialNumber = '01';
  root.validity.notBefore = new Date(Date.now() - 86_400_000);
  root.validity.notAfter = new Date(Date.now() + 86_400_000 * 30);
  const rootName = [{ name: 'commonName', value: 'Kiln Test Root' }];
  root.setSubject(rootName);
  root.setIssuer(rootName);
  root.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true },
  ]);
  root.sign(rootKeys.privateKey, forge.md.sha256.create());
  const leafFor = (host: string) => {
    const keys = pki.rsa.generateKeyPair(2048);
    const leaf = pki.createCertificate();
    leaf.publicKey = keys.publicKey;
    leaf.serialNumber = '02';
    leaf.validity.notBefore = new Date(Date.now() - 86_400_000);
    leaf.validity.notAfter = new Date(Date.now() + 86_400_000 * 10);
    leaf.setSubject([{ name: 'commonName', value: host }]);
    leaf.setIssuer(rootName);
    leaf.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: host }] }]);
    leaf.sign(rootKeys.privateKey, forge.md.sha256.create());
    return { pem: pki.certificateToPem(leaf), key: pki.privateKeyToPem(keys.privateKey) };
  };
  const good = leafFor('echo-api.amazon.com');
  const wrongHost = leafFor('not-amazon.example');
  return { rootPem: pki.certificateToPem(root), chainPem: good.pem, key: good.key, wrongHost };
}

const certUrl = 'https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem';

async function alexaRequest(
  request: Record<string, unknown>,
  options: { sessionId?: string; key?: string; url?: string; body?: string; signature?: string } = {},
) {
  const body =
    options.body ??
    JSON.stringify({
      version: '1.0',
      session: {
        sessionId: options.sessionId ?? 'amzn1.echo-api.session.test-1',
        application: { applicationId: 'amzn1.ask.skill.kilnford' },
      },
      context: { System: { application: { applicationId: 'amzn1.ask.skill.kilnford' } } },
      request: {
        requestId: 'amzn1.echo-api.request.1',
        timestamp: new Date().toISOString(),
        locale: 'en-GB',
        ...request,
      },
    });
  const signature =
    options.signature ??
    createSign('RSA-SHA256')
      .update(body)
      .sign(options.key ?? alexa.key, 'base64');
  return kiln.app.inject({
    method: 'POST',
    url: '/api/assistant/alexa',
    headers: {
      'content-type': 'application/json',
      signaturecertchainurl: options.url ?? certUrl,
      'signature-256': signature,
    },
    payload: body,
  });
}
const utterance = (value: string, sessionId: string) =>
  alexaRequest(
    {
      type: 'IntentRequest',
      intent: { name: 'ResidentUtterance', slots: { utterance: { name: 'utterance', value } } },
    },
    { sessionId },
  );
const speech = (response: { json(): unknown }) =>
  (response.json() as { response: { outputSpeech: { text: string } } }).response.outputSpeech.text;

describe('Alexa', () => {
  test('a signed conversation reports a pothole', async () => {
    const sessionId = 'amzn1.echo-api.session.pothole';
    let response = await alexaRequest({ type: 'LaunchRequest' }, { sessionId });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(speech(response), /How can I help\?/);
    response = await utterance('report a pothole on glaze row', sessionId);
    assert.match(speech(response), /How big is the pothole\?/);
    for (const said of ['smaller than a dinner plate', 'less than 4cm', 'on the pavement', 'no'])
      response = await utterance(said, sessionId);
    assert.match(speech(response), /Shall I send this report\?/);
    assert.equal(
      (response.json() as { response: { shouldEndSession: boolean } }).response.shouldEndSession,
      false,
    );
    response = await alexaRequest(
      { type: 'IntentRequest', intent: { name: 'AMAZON.YesIntent' } },
      { sessionId },
    );
    const letters = /reference is ([A-Z0-9 ,]+)\./.exec(speech(response))?.[1];
    assert.ok(letters, speech(response));
    const reference = letters.replace(/[ ,]/g, '').replace(/^(KLN)(\w{4})(\w{2})$/, '$1-$2-$3');
    assert.equal((await caseByReference(reference))?.channel, 'voice');
    response = await alexaRequest(
      { type: 'IntentRequest', intent: { name: 'AMAZON.StopIntent' } },
      { sessionId },
    );
    assert.equal(
      (response.json() as { response: { shouldEndSession: boolean } }).response.shouldEndSession,
      true,
    );
  });

  test('refuses a bad signature, a stale timestamp, a wrong certificate URL or a certificate for another host', async () => {
    const problems: Array<[string, Awaited<ReturnType<typeof alexaRequest>>]> = [
      [
        'bad signature',
        await alexaRequest(
          { type: 'LaunchRequest' },
          { signature: Buffer.from('forged').toString('base64') },
        ),
      ],
      [
        'stale timestamp',
        await alexaRequest({
          type: 'LaunchRequest',
          timestamp: new Date(Date.now() - 151_000).toISOString(),
        }),
      ],
      [
        'http URL',
        await alexaRequest(
          { type: 'LaunchRequest' },
          { url: 'http://s3.amazonaws.com/echo.api/echo-api-cert.pem' },
        ),
      ],
      [
        'wrong host',
        await alexaRequest(
          { type: 'LaunchRequest' },
          { url: 'https://notamazon.com/echo.api/echo-api-cert.pem' },
        ),
      ],
      [
        'wrong path',
        await alexaRequest(
          { type: 'LaunchRequest' },
          { url: 'https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem' },
        ),
      ],
      [
        'path escape',
        await alexaRequest(
          { type: 'LaunchRequest' },
          { url: 'https://s3.amazonaws.com/echo.api/../invalid.pem' },
        ),
      ],
      [
        'wrong port',
        await alexaRequest(
          { type: 'LaunchRequest' },
          { url: 'https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem' },
        ),
      ],
    ];
    for (const [why, response] of problems) {
      assert.equal(response.statusCode, 400, why);
      assert.match(response.headers['content-type'] as string, /application\/problem\+json/, why);
    }
    // A body changed after signing.
    const body = JSON.stringify({
      version: '1.0',
      session: { sessionId: 's' },
      request: { type: 'LaunchRequest', timestamp: new Date().toISOString() },
    });
    const signature = createSign('RSA-SHA256').update(body).sign(alexa.key, 'base64');
    const tampered = await alexaRequest(
      {},
      { body: body.replace('LaunchRequest', 'IntentRequest'), signature },
    );
    assert.equal(tampered.statusCode, 400);
    // A certificate chain that is not for echo-api.amazon.com.
    kiln.services.assistant.setAlexaTrust({
      roots: [alexa.rootPem],
      fetchCertChain: async () => alexa.wrongHost.pem,
    });
    try {
      const response = await alexaRequest({ type: 'LaunchRequest' }, { key: alexa.wrongHost.key });
      assert.equal(response.statusCode, 400);
      assert.match(response.body, /echo-api\.amazon\.com/);
    } finally {
      kiln.services.assistant.setAlexaTrust({
        roots: [alexa.rootPem],
        fetchCertChain: async () => alexa.chainPem,
      });
    }
    // A root nobody trusts.
    kiln.services.assistant.setAlexaTrust({ roots: [], fetchCertChain: async () => alexa.chainPem });
    try {
      assert.equal((await alexaRequest({ type: 'LaunchRequest' })).statusCode, 400);
    } finally {
      kiln.services.assistant.setAlexaTrust({
        roots: [alexa.rootPem],
        fetchCertChain: async () => alexa.chainPem,
      });
    }
  });
});

// ---- Bulky waste on every channel ----

const bookingByReference = (reference: string) =>
  kiln.platform.db
    .selectFrom('booking_bookings')
    .selectAll()
    .where('reference', '=', reference)
    .executeTakeFirst();
/** A booking reference as written, or as read out letter by letter on voice channels. */
const bookingReference = (said: string) => {
  const written = /BK-[A-Z0-9]{4}-[A-Z0-9]{2}/.exec(said)?.[0];
  if (written) return written;
  const letters = /reference is (B K[A-Z0-9 ,]+)\./.exec(said)?.[1];
  return letters?.replace(/[ ,]/g, '').replace(/^(BK)(\w{4})(\w{2})$/, '$1-$2-$3');
};
/** The booking: the right channel, address and items, held for payment (the £20 minimum) and not yet confirmed. */
async function assertBulkyBooking(reference: string | undefined, channel: string, uprnText: string) {
  assert.ok(reference, 'no booking reference in the reply');
  const booking = await bookingByReference(reference);
  assert.ok(booking, `no booking ${reference}`);
  assert.equal(booking.channel, channel);
  assert.deepEqual(booking.items, { sofa: 1 });
  assert.match(booking.address ?? '', new RegExp(`^${uprnText}`));
  assert.equal(booking.fee_pence, 2000);
  assert.equal(booking.status, 'held');
  assert.ok(booking.payment_id, 'held for an online payment');
}

describe('bulky waste collection booked end to end on each wire format', () => {
  test('web chat: form posts and pages, as without JavaScript', async () => {
    const client = new Client(kiln.app);
    assert.equal((await client.get('/assistant')).statusCode, 200);
    const post = async (fields: Record<string, string>) => {
      const response = await client.post('/assistant', fields);
      assert.equal(response.statusCode, 302, response.body.slice(0, 300));
      const shown = page((await client.get('/assistant')).body);
      return {
        bot:
          shown.root.querySelectorAll('.kiln-chat__message').at(-1)?.text.replace(/\s+/g, ' ').trim() ?? '',
        choices: shown.root
          .querySelectorAll('button[name="choice"]')
          .map((b) => b.getAttribute('value') ?? ''),
      };
    };
    let shown = await post({ message: 'can you take away my old sofa' });
    assert.match(shown.bot, /postcode/i);
    shown = await post({ message: 'KF1 5GH' });
    assert.match(shown.bot, /house number at KF1 5GH/);
    shown = await post({ message: '12' });
    assert.match(shown.bot, /That is 1 sofa: £20\.00\. Which day should we collect\?/);
    assert.equal(shown.choices.length, 3);
    shown = await post({ choice: shown.choices[0]! });
    assert.match(shown.bot, /What is your name\?/);
    shown = await post({ message: 'Robin Testperson' });
    assert.match(shown.bot, /What is your email address\?/);
    shown = await post({ message: 'not an email' });
    assert.match(shown.bot, /correct format/);
    shown = await post({ message: 'robin@example.com' });
    assert.match(
      shown.bot,
      /Bulky waste collection on .* from 12 Potters Way.*£20\.00, receipt to robin@example\.com\. Shall I book it\?/,
    );
    assert.deepEqual(shown.choices, ['Yes, book it', 'No']);
    shown = await post({ choice: 'Yes, book it' });
    const said = shown.bot;
    console.log(
      'DEBUG',
      page((await client.get('/assistant')).body)
        .root.querySelectorAll('.kiln-chat__message')
        .map((m) => m.text.replace(/\s+/g, ' '))
        .slice(-4),
    );
    assert.match(said, /I have held the collection on .*Pay £20\.00 online/);
    await assertBulkyBooking(bookingReference(said), 'chatbot', '12 Potters Way');
  });

  test('text messages: numbered choices, the phone number kept on the booking', async () => {
    const from = '+447700900321';
    let reply = await text(from, 'I need a sofa collected');
    assert.match(reply, /postcode/i);
    reply = await text(from, 'kf1 5gh');
    assert.match(reply, /house number/);
    reply = await text(from, '14');
    assert.match(reply, /Which day should we collect\?\n1 \w+day/);
    reply = await text(from, '2');
    assert.match(reply, /What is your name\?/);
    reply = await text(from, 'Sam Sample');
    assert.match(reply, /email address/);
    reply = await text(from, 'sam@example.com');
    assert.match(reply, /Shall I book it\?\n1 Yes, book it\n2 No/);
    reply = await text(from, '1');
    const reference = bookingReference(reply);
    await assertBulkyBooking(reference, 'sms', '14 Potters Way');
    assert.equal((await bookingByReference(reference!))?.phone, from);
  });

  test('the voice line: speech in, TwiML out, the reference read out letter by letter', async () => {
    const CallSid = 'CA0000000000000000000000000000010';
    await call({ CallSid, From: '+441632960124', CallStatus: 'in-progress' });
    let xml = await call({ CallSid, SpeechResult: 'I want to get rid of an old sofa.' });
    assert.match(spoken(xml), /postcode/i);
    assert.match(xml, /<Gather input="speech"/);
    xml = await call({ CallSid, SpeechResult: 'K F 1 5 G H' });
    xml = spoken(xml).includes('house number') ? xml : await call({ CallSid, SpeechResult: 'KF1 5GH' });
    assert.match(spoken(xml), /house number at KF1 5GH/);
    xml = await call({ CallSid, SpeechResult: 'Number 16.' });
    assert.match(spoken(xml), /Which day should we collect\?/);
    const firstDay = /You can say: (\w+day \d+ \w+)/.exec(spoken(xml))?.[1];
    assert.ok(firstDay, spoken(xml));
    xml = await call({ CallSid, SpeechResult: `${firstDay} please` });
    assert.match(spoken(xml), /What is your name\?/);
    xml = await call({ CallSid, SpeechResult: 'Jo Example' });
    assert.match(spoken(xml), /email address, for the receipt\? Say it like: jo at example dot com\./);
    xml = await call({ CallSid, SpeechResult: 'jo at example dot com.' });
    assert.match(spoken(xml), /receipt to jo@example\.com/);
    assert.match(spoken(xml), /Shall I book it\?/);
    xml = await call({ CallSid, SpeechResult: 'Yes.' });
    await assertBulkyBooking(bookingReference(spoken(xml)), 'voice', '16 Potters Way');
  });

  test('Alexa: a signed conversation books the collection', async () => {
    const sessionId = 'amzn1.echo-api.session.bulky';
    let response = await alexaRequest({ type: 'LaunchRequest' }, { sessionId });
    assert.equal(response.statusCode, 200, response.body);
    response = await utterance('book a bulky waste collection for a sofa', sessionId);
    assert.match(speech(response), /postcode/i);
    response = await utterance('KF1 5GH', sessionId);
    assert.match(speech(response), /house number/);
    response = await utterance('18', sessionId);
    const firstDay = /You can say: (\w+day \d+ \w+)/.exec(speech(response))?.[1];
    assert.ok(firstDay, speech(response));
    response = await utterance(firstDay, sessionId);
    assert.match(speech(response), /What is your name\?/);
    response = await utterance('Lee Placeholder', sessionId);
    assert.match(speech(response), /email address/);
    response = await utterance('lee dot placeholder at example dot com', sessionId);
    assert.match(speech(response), /receipt to lee\.placeholder@example\.com/);
    assert.match(speech(response), /Shall I book it\?/);
    response = await alexaRequest(
      { type: 'IntentRequest', intent: { name: 'AMAZON.YesIntent' } },
      { sessionId },
    );
    assert.equal(response.statusCode, 200, response.body);
    await assertBulkyBooking(bookingReference(speech(response)), 'voice', '18 Potters Way');
  });
});
