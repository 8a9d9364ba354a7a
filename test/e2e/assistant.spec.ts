import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { E2e, type KilnPage } from './support/journey.ts';
import { signInStaff } from './support/people.ts';

// The assistant's web chat in a real browser: a plain page of messages and forms without
// JavaScript, a live widget with it, and an adviser taking over from the bot. Axe checks every page.
const REFERENCE = /KLN-[A-Z0-9]{4}-[A-Z0-9]{2}/;
// Advisers answer at any hour here (the assistant reads its settings from the environment).
process.env.ASSISTANT_AGENT_HOURS = 'always';

describe('Web chat', () => {
  let e2e: E2e;
  before(async () => {
    e2e = await E2e.start();
  });
  after(async () => e2e?.close());

  test('every public page offers "Chat with us" in its footer, also from the page cache, without JavaScript', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    const footer = page.page.getByRole('contentinfo');
    // The services page is cached for visitors without a session: the second visit is served from the cache.
    for (const path of ['/', '/services', '/services', '/accessibility', '/sign-in']) {
      await page.goto(path);
      const chat = (await page.links(footer)).filter((l) => l.text === 'Chat with us');
      assert.deepEqual(chat, [{ text: 'Chat with us', href: '/assistant' }], `footer of ${path}`);
    }
    await page.follow('Chat with us', { within: footer });
    assert.equal(page.path(), '/assistant');
    assert.equal(await page.heading(), 'Chat with us');
    // The back office is not a public page: no chat there.
    await page.goto('/staff/sign-in');
    assert.equal((await page.links(footer)).filter((l) => l.text === 'Chat with us').length, 0);
  });

  test('without JavaScript at 360px: a pothole reported by forms and buttons, with an error summary for an empty message', async () => {
    const page = await e2e.visitor({ viewport: 'mobile', javaScript: false });
    await page.goto('/assistant');
    assert.equal(await page.heading(), 'Chat with us');
    await page.submit('Send', { status: 400 });
    assert.deepEqual(await page.errorSummary(), ['Enter a message']);
    await page.fill('Your message', 'there is a pothole on Saggar Street');
    await page.submit('Send');
    assert.match(await page.mainText(), /How big is the pothole\?/);
    // No script ran: the answers are the server's own submit buttons in a plain form.
    assert.equal(
      await page.page.locator('form[action="/assistant"] button[type="submit"][name="choice"]').count(),
      3,
    );
    await page.submit('Larger than a car tyre');
    await page.submit('More than 10cm');
    await page.submit('On the road');
    await page.fill('Your message', 'skip');
    await page.submit('Send');
    await page.fill('Your message', 'widget-nojs@example.com');
    await page.submit('Send');
    assert.match(await page.mainText(), /Shall I send this report\?/);
    await page.submit('Yes, send it');
    const text = await page.mainText();
    assert.match(text, REFERENCE);
    assert.match(text, /make it safe within 24 hours/);
    await page.submit('End chat');
    assert.match(await page.mainText(), /Your chat has ended/);
  });

  test('with JavaScript at 1280px: the widget answers in place, and an adviser takes over', async () => {
    const resident = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await resident.goto('/assistant');
    // A mark on this page's window: a page load would wipe it.
    await resident.page.evaluate(() => Object.assign(window, { kilnSamePage: true }));
    const samePage = () =>
      resident.page.evaluate(() => (window as unknown as { kilnSamePage?: boolean }).kilnSamePage === true);
    const messages = resident.page.getByRole('list', { name: 'Conversation' });
    const say = async (text: string) => {
      await resident.fill('Your message', text);
      await resident.page.getByRole('button', { name: 'Send', exact: true }).click();
    };
    await say('when is bin day for KF1 3CD');
    await messages.getByText('What is your house number at KF1 3CD?').waitFor();
    assert.equal(resident.path(), '/assistant');
    assert.ok(await samePage(), 'the reply appeared without a page load');
    await say('12');
    await messages.getByText(/Collections at 12 Saggar Street/).waitFor();
    await e2e.audit(resident);
    await say('I would like to talk to a person');
    await messages.getByText(/passing you to an adviser/).waitFor();
    await resident.page.getByText('Waiting for an adviser.').waitFor();
    await e2e.audit(resident);

    const agent = await e2e.visitor({ viewport: 'desktop', javaScript: true });
    await signInStaff(agent, 'agent@kilnford.example');
    await agent.goto('/staff/assistant');
    assert.equal(await agent.heading(), 'Chats');
    await agent.follow(/Web chat conversation, waiting for an adviser/);
    assert.match(await agent.mainText(), /when is bin day for KF1 3CD/);
    await agent.submit('Accept this conversation');
    await agent.fill('Your reply', 'Hello, this is Priya. How can I help?');
    await agent.submit('Send reply');
    assert.match(await agent.mainText(), /Hello, this is Priya/);

    // The widget fetches the adviser's words by itself.
    await messages.getByText('Hello, this is Priya. How can I help?').waitFor({ timeout: 10_000 });
    assert.ok(await samePage(), 'the adviser’s reply appeared without a page load');
    await say('Thank you, that is all');
    await agent.goto(agent.path());
    assert.match(await agent.mainText(), /Thank you, that is all/);
    await agent.submit('Close conversation');
    assert.equal(await agent.heading(), 'Chats');
    await messages.getByText(/The adviser has closed this conversation/).waitFor({ timeout: 10_000 });
    assert.ok(await samePage(), 'the whole conversation happened on one page');
    await e2e.audit(resident);
  });
});

export type { KilnPage };
