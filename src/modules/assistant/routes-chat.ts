import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { join } from 'node:path';
import { z } from 'zod';
import type { Platform } from '../../platform/module.ts';
import { rootDir } from '../../platform/views/index.ts';
import type { MessageRow } from './store.ts';
import { AssistantError, type AssistantService, type Turn } from './service.ts';

const SESSION_KEY = 'assistant';
const assetsDir = join(rootDir, 'src/modules/assistant/assets');

const messageSchema = z.object({
  message: z.string().max(1000, { error: 'Your message must be 1,000 characters or fewer' }).optional(),
  choice: z.string().max(300).optional(),
});

/** A message as the web chat shows it. */
export function viewMessage(m: MessageRow) {
  const meta = (m.meta ?? {}) as { options?: string[]; link?: { href: string; text: string } };
  const who = { resident: 'You', bot: 'Assistant', agent: 'Adviser', system: 'Update' }[m.author];
  return {
    id: Number(m.id),
    author: m.author,
    who,
    body: m.body,
    link: m.author === 'bot' ? meta.link : undefined,
    options: meta.options,
    at: m.created_at,
  };
}

const wantsJson = (request: FastifyRequest) =>
  String(request.headers.accept ?? '').includes('application/json');

/** The web chat: a plain page of messages and a form, which a small script turns into a live widget. */
export function registerChatRoutes(app: FastifyInstance, platform: Platform, assistant: AssistantService) {
  const conversationOf = async (request: FastifyRequest, includeClosed = false) => {
    const id = (request.session.get(SESSION_KEY) as { conversationId?: string } | undefined)?.conversationId;
    if (!id) return undefined;
    const c = await assistant.find(id);
    return c && (includeClosed || c.status !== 'closed') ? c : undefined;
  };

  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: Array<{ field: string; text: string }> = [],
    typed = '',
  ) {
    const conversation = await conversationOf(request);
    const messages = conversation ? (await assistant.messages(conversation.id)).map(viewMessage) : [];
    const last = messages.at(-1);
    return reply.code(errors.length ? 400 : 200).render('assistant/views/chat.njk', {
      title: 'Chat with us',
      messages,
      options: last?.author === 'bot' ? (last.options ?? []) : [],
      status: conversation?.status ?? 'bot',
      lastId: last?.id ?? 0,
      errors,
      typed,
      ended: !conversation && (request.query as Record<string, unknown>).ended === '1',
    });
  }

  app.get('/assistant', async (request, reply) => page(request, reply));

  app.post(
    '/assistant',
    { config: { rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      const parsed = messageSchema.safeParse(request.body ?? {});
      const text = parsed.success ? (parsed.data.choice ?? parsed.data.message ?? '').trim() : '';
      const error = !parsed.success
        ? (parsed.error.issues[0]?.message ?? 'Enter a message')
        : text
          ? null
          : 'Enter a message';
      if (error) {
        if (wantsJson(request)) return reply.code(400).send({ error });
        const typed =
          typeof (request.body as Record<string, unknown>)?.message === 'string'
            ? String((request.body as Record<string, unknown>).message).slice(0, 2000)
            : '';
        return page(request, reply, [{ field: 'message', text: error }], typed);
      }
      // The conversation in the session takes the message; its own read (inside the service) finds
      // a conversation that has ended or gone, and then a new one is opened for it, as it would be
      // for a first message. One read of the conversation per message, not three, and no read of
      // the whole transcript: the reply carries the rows this turn wrote.
      const residentId = request.resident?.id ?? null;
      const known = (request.session.get(SESSION_KEY) as { conversationId?: string } | undefined)
        ?.conversationId;
      let turn: Turn | undefined;
      if (known) {
        try {
          turn = await assistant.message(known, text, { residentId });
        } catch (e) {
          if (!(e instanceof AssistantError) || ![404, 409].includes(e.status)) throw e;
        }
      }
      if (!turn) {
        const conversation = await assistant.open('web', null, residentId);
        request.session.set(SESSION_KEY, { conversationId: conversation.id });
        try {
          turn = await assistant.message(conversation.id, text, { residentId });
        } catch (e) {
          if (!(e instanceof AssistantError)) throw e;
          request.session.set(SESSION_KEY, undefined);
          if (wantsJson(request)) return reply.code(e.status).send({ error: e.message });
          return reply.redirect('/assistant');
        }
      }
      if (wantsJson(request))
        return reply.send({ status: turn.status, messages: turn.messages.map(viewMessage) });
      return reply.redirect('/assistant#latest');
    },
  );

  // New messages since the last one shown, for the widget to fetch while an adviser is answering.
  app.get('/assistant/messages', async (request, reply) => {
    const after = Number((request.query as Record<string, unknown>).after ?? 0);
    // Closed conversations too: the widget shows an adviser's closing words.
    const conversation = await conversationOf(request, true);
    if (!conversation) return reply.send({ status: 'none', messages: [] });
    const messages = (await assistant.messages(conversation.id, Number.isSafeInteger(after) ? after : 0)).map(
      viewMessage,
    );
    return reply.header('cache-control', 'no-store').send({ status: conversation.status, messages });
  });

  app.post('/assistant/end', async (request, reply) => {
    const conversation = await conversationOf(request);
    if (conversation) await assistant.end(conversation.id);
    request.session.set(SESSION_KEY, undefined);
    return reply.redirect('/assistant?ended=1');
  });

  app.get('/assistant-assets/:file', (request, reply) => {
    const file = (request.params as { file: string }).file;
    if (!/^[\w-]+\.(js|css)$/.test(file)) return reply.callNotFound();
    return reply.header('Cache-Control', 'public, max-age=3600').sendFile(file, assetsDir);
  });
}
