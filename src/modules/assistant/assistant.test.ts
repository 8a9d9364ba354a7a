import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';

process.env.ASSISTANT_AGENT_HOURS = 'always';

let kiln: TestKiln;
before(async () => {
  kiln = await startTestApp();
});
after(async () => kiln?.close());

/** A resident in the web chat without JavaScript: each message is a form post and a new page. */
async function say(client: Client, message: string, field: 'message' | 'choice' = 'message') {
  const response = await client.post('/assistant', { [field]: message });
  assert.equal(
    response.statusCode,
    302,
    `posting “${message}” gave ${response.statusCode}: ${response.body.slice(0, 300)}`,
  );
  const shown = await client.get('/assistant');
  return lastBot(shown.body);
}

function lastBot(html: string): string {
  const p = page(html);
  const items = p.root.querySelectorAll('.kiln-chat__message');
  const last = items.at(-1);
  return last ? last.text.replace(/\s+/g, ' ').trim() : '';
}

function choices(html: string): string[] {
  return page(html)
    .root.querySelectorAll('button[name="choice"]')
    .map((b) => b.getAttribute('value') ?? '');
}

async function newChat() {
  const client = new Client(kiln.app);
  const first = await client.get('/assistant');
  assert.equal(first.statusCode, 200);
  assert.equal(page(first.body).heading(), 'Chat with us');
  return client;
}

const caseByReference = (reference: string) =>
  kiln.platform.db.selectFrom('cases').selectAll().where('reference', '=', reference).executeTakeFirst();

describe('web chat without JavaScript', () => {
  test('reports a pothole: asks only what it lacks, checks answers as the web form does, confirms, then makes the case', async () => {
    const client = await newChat();
    let bot = await say(client, "there's a massive pothole on saggar st");
    assert.match(bot, /How big is the pothole\?/);
    const sizes = choices((await client.get('/assistant')).body);
    assert.deepEqual(sizes, [
      'Smaller than a dinner plate',
      'Between a dinner plate and a car tyre',
      'Larger than a car tyre',
    ]);
    bot = await say(client, 'the size of a bus'); // not an option: asked again with the form's own message
    assert.match(bot, /Select how big the pothole is/);
    bot = await say(client, 'Larger than a car tyre', 'choice');
    assert.match(bot, /How deep is it\?/);
    bot = await say(client, '3');
    assert.match(bot, /Where is it\?/);
    bot = await say(client, 'on the road');
    assert.match(bot, /anything else/i);
    bot = await say(client, 'outside number 12');
    assert.match(bot, /email address/);
    bot = await say(client, 'not an email');
    assert.match(bot, /correct format/);
    bot = await say(client, 'reporter@example.com');
    assert.match(
      bot,
      /Report a pothole on Saggar Street.*Larger than a car tyre.*Shall I send this report\?/,
    );
    const before = await kiln.platform.db
      .selectFrom('cases')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    bot = await say(client, 'Yes, send it', 'choice');
    const reference = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/.exec(bot)?.[0];
    assert.ok(reference, bot);
    assert.match(bot, /dangerous pothole|24 hours/i);
    const made = await caseByReference(reference);
    assert.equal(made?.channel, 'chatbot');
    assert.equal(made?.contact_email, 'reporter@example.com');
    assert.equal(made?.service_slug, 'report-pothole');
    const report = await kiln.platform.db
      .selectFrom('street_reports')
      .selectAll()
      .where('reference', '=', reference)
      .executeTakeFirst();
    assert.equal(report?.street_name, 'Saggar Street');
    assert.equal(report?.description, 'outside number 12');
    // Saying yes again does not make a second case.
    await say(client, 'yes');
    const afterward = await kiln.platform.db
      .selectFrom('cases')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(afterward.n), Number(before.n) + 1);
  });

  test('fills any catalogue form by conversation with the same validation, and submits the same case as the web', async () => {
    const client = await newChat();
    let bot = await say(client, 'how do I get a library card');
    assert.match(bot, /full name/);
    bot = await say(client, 'Robin Ashby');
    assert.match(bot, /date of birth/);
    bot = await say(client, '31 February 1990');
    assert.match(bot, /must be a real date/);
    bot = await say(client, '2 March 1990');
    assert.match(bot, /address/);
    bot = await say(client, 'KF1 3CD');
    assert.match(bot, /house number/);
    bot = await say(client, '7 Saggar Street');
    assert.match(bot, /email/i);
    bot = await say(client, 'robin@example.com');
    assert.match(bot, /Robin Ashby.*2 March 1990.*7 Saggar Street.*Shall I send this\?/);
    bot = await say(client, 'yes');
    const reference = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/.exec(bot)?.[0];
    assert.ok(reference, bot);
    const made = await caseByReference(reference);
    assert.equal(made?.service_slug, 'join-the-library');
    assert.equal(made?.channel, 'chatbot');
    const answers = made?.answers as Record<string, { answer: string }>;
    assert.equal(answers['date-of-birth']?.answer, '2 March 1990');
    assert.match(answers.address!.answer, /^7 Saggar Street, Kilnford, KF1 3CD$/);
  });

  test('tells a bin day for an address, and answers content questions with a link', async () => {
    const client = await newChat();
    let bot = await say(client, 'wot day r my bins collected');
    assert.match(bot, /postcode/);
    bot = await say(client, 'KF1 3CD');
    assert.match(bot, /house number/);
    bot = await say(client, '12');
    assert.match(
      bot,
      /Collections at 12 Saggar Street, Kilnford, KF1 3CD are on (Mon|Tues|Wednes|Thurs|Fri)days/,
    );
    const html = (await client.get('/assistant')).body;
    assert.ok(
      page(html)
        .links()
        .some((l) => l.href === '/services#bins-and-recycling'),
    );
    bot = await say(client, 'when is the blue bin emptied at 4 Glaze Row');
    assert.match(bot, /recycling \(blue bin\) is next collected on/);
    bot = await say(client, 'what time does the civic centre open');
    assert.match(bot, /9am to 5pm/);
  });

  test('knows when it does not know', async () => {
    const client = await newChat();
    const bot = await say(client, 'who will win the premier league this year');
    assert.match(bot, /I do not know about that/);
  });

  test('gives the status of a request only after an identity check', async () => {
    const reporter = await newChat();
    await say(reporter, 'report a blocked drain on Glaze Row');
    await say(reporter, 'no');
    await say(reporter, 'skip');
    await say(reporter, 'owner@example.com');
    const done = await say(reporter, 'yes');
    const reference = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/.exec(done)![0];
    // The same conversation may ask straight away.
    assert.match(await say(reporter, `what's happening with ${reference}`), /Status: Received/);

    const stranger = await newChat();
    let bot = await say(stranger, `status of ${reference.toLowerCase()}`);
    assert.match(bot, /what is the email address or postcode/);
    bot = await say(stranger, 'someone@example.com');
    assert.match(bot, /cannot share/);
    assert.doesNotMatch(bot, /Received|Blocked drain/);
    // An unknown reference gets the same question, so a reference alone reveals nothing.
    bot = await say(stranger, 'check KLN-ZZZZ-ZZ');
    assert.match(bot, /what is the email address or postcode/);
    bot = await say(stranger, 'owner@example.com');
    assert.match(bot, /cannot share/);
    bot = await say(stranger, `status ${reference}`);
    bot = await say(stranger, 'KF1 4EF'); // Glaze Row's postcode
    assert.match(bot, /Status: Received/);
  });

  test('bad input is refused or handled safely, and nothing half-done is sent', async () => {
    const client = await newChat();
    let response = await client.post('/assistant', { message: '   ' });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(page(response.body).errorSummary(), ['Enter a message']);
    response = await client.post('/assistant', { message: 'x'.repeat(1001) });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(page(response.body).errorSummary(), ['Your message must be 1,000 characters or fewer']);
    await say(client, '<script>alert(1)</script><img src=x onerror=alert(2)>');
    const html = (await client.get('/assistant')).body;
    assert.ok(!html.includes('<script>alert(1)</script>'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    // Control characters and undecodable bytes (NUL is refused before any route sees it).
    const bot = await say(client, '\u0001\u0002\u001b\ufffd\ufffd');
    assert.match(bot, /did not catch that/);
    // A form started and abandoned: cancel, and no case.
    await say(client, 'pothole on Bottle Kiln Lane');
    const cancelled = await say(client, 'cancel');
    assert.match(cancelled, /Nothing has been sent/);
    const json = await client.post('/assistant', { message: '' });
    assert.equal(json.statusCode, 400);
  });
});

describe('handover to an adviser', () => {
  test('queue, accept, transcript, reply, return to the bot and close', async () => {
    const resident = await newChat();
    await say(resident, 'my bin was missed');
    const bot = await say(resident, 'I want to talk to a person');
    assert.match(bot, /passing you to an adviser/);

    const agent = await staffClient(kiln, 'agent@kilnford.example');
    let consolePage = await agent.get('/staff/assistant');
    assert.equal(consolePage.statusCode, 200);
    const link = page(consolePage.body)
      .links()
      .find((l) => l.href.startsWith('/staff/assistant/conversations/'));
    assert.ok(link, 'the waiting chat is in the queue');
    let conversation = await agent.get(link.href);
    assert.match(page(conversation.body).text(), /my bin was missed/);
    let response = await agent.post(`${link.href}/accept`, {});
    assert.equal(response.statusCode, 302);
    response = await agent.post(`${link.href}/reply`, { reply: '' });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(page(response.body).errorSummary(), ['Enter a reply']);
    response = await agent.post(`${link.href}/reply`, { reply: 'Hello, I am Priya. Which bin was it?' });
    assert.equal(response.statusCode, 302);

    // The resident sees the adviser's words; their own go to the adviser, not the bot.
    assert.match(lastBot((await resident.get('/assistant')).body), /Hello, I am Priya/);
    const polled = await resident.get('/assistant/messages?after=0');
    assert.ok(
      (polled.json() as { messages: Array<{ author: string }> }).messages.some((m) => m.author === 'agent'),
    );
    await resident.post('/assistant', { message: 'the blue one' });
    conversation = await agent.get(link.href);
    assert.match(page(conversation.body).text(), /the blue one/);

    response = await agent.post(`${link.href}/return`, {});
    assert.equal(response.statusCode, 302);
    assert.match(await say(resident, 'what are your opening hours'), /9am to 5pm/);
    response = await agent.post(`${link.href}/close`, {});
    assert.equal(response.statusCode, 302);
    consolePage = await agent.get('/staff/assistant');
    assert.equal(consolePage.statusCode, 200);

    // An officer may read a transcript but not take chats.
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    assert.equal((await officer.get(link.href)).statusCode, 200);
    assert.equal((await officer.get('/staff/assistant')).statusCode, 403);
  });

  test('out of hours, the resident is told what they can do now', async () => {
    const saved = kiln.services.assistant.service.settings.ASSISTANT_AGENT_HOURS;
    kiln.services.assistant.service.settings.ASSISTANT_AGENT_HOURS = 'never';
    try {
      const resident = await newChat();
      const bot = await say(resident, 'speak to a human');
      assert.match(bot, /not available right now.*01632 960 000/);
    } finally {
      kiln.services.assistant.service.settings.ASSISTANT_AGENT_HOURS = saved;
    }
  });
});

describe('web chat with JavaScript (the widget’s JSON)', () => {
  /** A widget's conversation: the page's cookies and token, then messages asking for JSON. */
  async function widget() {
    const cookies = new Map<string, string>();
    const keep = (r: { cookies: unknown }) => {
      for (const c of r.cookies as Array<{ name: string; value: string }>) cookies.set(c.name, c.value);
    };
    const first = await kiln.app.inject({ method: 'GET', url: '/assistant' });
    keep(first);
    const token = /name="_csrf" value="([^"]+)"/.exec(first.body)?.[1] ?? '';
    return async (message: string) => {
      const r = await kiln.app.inject({
        method: 'POST',
        url: '/assistant',
        headers: {
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
          cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        },
        payload: new URLSearchParams({ _csrf: token, message }).toString(),
      });
      keep(r);
      assert.equal(r.statusCode, 200, r.body.slice(0, 300));
      return r.json() as { status: string; messages: Array<{ id: number; author: string; body: string }> };
    };
  }
  const conversationOf = async (messageId: number) =>
    (
      await kiln.platform.db
        .selectFrom('assistant_messages')
        .select('conversation_id')
        .where('id', '=', messageId)
        .executeTakeFirstOrThrow()
    ).conversation_id as string;

  test('each reply carries just that turn’s messages, in order; an ended conversation gives way to a new one', async () => {
    const send = await widget();
    let turn = await send('hello');
    assert.equal(turn.status, 'bot');
    assert.deepEqual(
      turn.messages.map((m) => m.author),
      ['resident', 'bot'],
    );
    assert.equal(turn.messages[0]!.body, 'hello');
    assert.match(turn.messages[1]!.body, /I am the Kilnford City Council assistant/);
    const first = await conversationOf(turn.messages[0]!.id);

    turn = await send('what are your opening hours');
    assert.deepEqual(
      turn.messages.map((m) => m.author),
      ['resident', 'bot'],
    );
    assert.ok(turn.messages[0]!.id < turn.messages[1]!.id);
    assert.match(turn.messages[1]!.body, /9am to 5pm/);
    assert.equal(await conversationOf(turn.messages[0]!.id), first);
    const transcript = await kiln.services.assistant.service.messages(first);
    assert.equal(transcript.length, 4, 'two turns, two messages each, all kept');

    // The line goes quiet and the conversation ends: the next message opens a new one.
    await kiln.services.assistant.service.hangUp(first, 'The chat was idle');
    turn = await send('what are your opening hours');
    assert.equal(turn.status, 'bot');
    assert.match(turn.messages.at(-1)!.body, /9am to 5pm/);
    const second = await conversationOf(turn.messages[0]!.id);
    assert.notEqual(second, first);
    assert.equal((await kiln.services.assistant.service.find(first))?.status, 'closed');
    assert.equal(
      (await kiln.services.assistant.service.messages(first)).length,
      5,
      'the ended conversation got only the closing note',
    );

    // With an adviser, the reply is the resident's message alone.
    turn = await send('I want to talk to a person');
    assert.equal(turn.status, 'waiting');
    turn = await send('are you there?');
    assert.equal(turn.status, 'waiting');
    assert.deepEqual(
      turn.messages.map((m) => [m.author, m.body]),
      [['resident', 'are you there?']],
    );
  });
});
