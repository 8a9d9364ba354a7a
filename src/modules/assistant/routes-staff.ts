import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../../platform/http/errors.ts';
import { can } from '../../platform/auth/permissions.ts';
import type { Platform } from '../../platform/module.ts';
import { withinHours } from './settings.ts';
import { viewMessage } from './routes-chat.ts';
import { AssistantError, type AssistantService } from './service.ts';

const channelNames = { web: 'Web chat', sms: 'Text message', voice: 'Phone line', alexa: 'Alexa' } as const;
const statusNames = {
  bot: 'With the assistant',
  waiting: 'Waiting for an adviser',
  agent: 'With an adviser',
  closed: 'Closed',
} as const;
const idSchema = z.uuid();
const replySchema = z.object({
  reply: z
    .string()
    .trim()
    .min(1, { error: 'Enter a reply' })
    .max(2000, { error: 'The reply must be 2,000 characters or fewer' }),
});

/** The advisers' console: the queue of chats waiting for a person, and each conversation's transcript. */
export function registerStaffRoutes(app: FastifyInstance, platform: Platform, assistant: AssistantService) {
  const handle = { permission: 'assistant:handle' as const };
  const read = { permission: 'assistant:read' as const };

  app.get('/staff/assistant', { config: handle }, async (_request, reply) => {
    const [waiting, active, recent] = await Promise.all([
      assistant.console.waiting(),
      assistant.console.active(),
      assistant.console.recent(),
    ]);
    const row = (c: (typeof waiting)[number]) => ({
      ...c,
      channelName: channelNames[c.channel],
      statusName: statusNames[c.status],
    });
    return reply.render('assistant/views/staff-console.njk', {
      title: 'Chats',
      navSection: 'assistant',
      waiting: waiting.map(row),
      active: active.map(row),
      recent: recent.map(row),
      inHours: withinHours(assistant.settings.ASSISTANT_AGENT_HOURS),
      hours: assistant.settings.ASSISTANT_AGENT_HOURS,
    });
  });

  async function conversationPage(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const id = (request.params as { id: string }).id;
    const conversation = idSchema.safeParse(id).success ? await assistant.find(id) : undefined;
    if (!conversation)
      throw new HttpError(404, 'Conversation not found', 'There is no conversation at this address.');
    const messages = (await assistant.messages(conversation.id)).map(viewMessage);
    const staff = request.staff!;
    const mayHandle = can(staff.role, 'assistant:handle');
    return reply.code(errors.length ? 400 : 200).render('assistant/views/staff-conversation.njk', {
      title: `${channelNames[conversation.channel]} conversation`,
      navSection: 'assistant',
      conversation,
      channelName: channelNames[conversation.channel],
      statusName: statusNames[conversation.status],
      messages,
      mine: conversation.agent_id === staff.id,
      mayHandle,
      errors,
    });
  }

  app.get('/staff/assistant/conversations/:id', { config: read }, async (request, reply) =>
    conversationPage(request, reply),
  );

  const act = (
    path: string,
    work: (id: string, staffId: string, request: FastifyRequest) => Promise<void>,
    done: (id: string) => string,
  ) =>
    app.post(`/staff/assistant/conversations/:id/${path}`, { config: handle }, async (request, reply) => {
      const id = (request.params as { id: string }).id;
      if (!idSchema.safeParse(id).success) throw new HttpError(404, 'Conversation not found');
      try {
        await work(id, request.staff!.id, request);
      } catch (e) {
        if (e instanceof z.ZodError)
          return conversationPage(request, reply, [{ field: 'reply', text: e.issues[0]!.message }]);
        if (e instanceof AssistantError) {
          if (e.status === 404) throw new HttpError(404, 'Conversation not found');
          return conversationPage(request, reply, [
            { field: path === 'reply' ? 'reply' : 'actions', text: e.message },
          ]);
        }
        throw e;
      }
      return reply.redirect(done(id));
    });

  const page = (id: string) => `/staff/assistant/conversations/${id}`;
  act('accept', (id, staffId) => assistant.accept(id, staffId), page);
  act(
    'reply',
    (id, staffId, request) => assistant.reply(id, staffId, replySchema.parse(request.body ?? {}).reply),
    (id) => `${page(id)}#latest`,
  );
  act(
    'return',
    (id, staffId) => assistant.returnToBot(id, staffId),
    () => '/staff/assistant',
  );
  act(
    'close',
    (id, staffId) => assistant.close(id, staffId),
    () => '/staff/assistant',
  );
}
