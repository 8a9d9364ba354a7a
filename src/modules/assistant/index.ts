import type { FastifyInstance } from 'fastify';
import type { ModuleDefinition, Platform } from '../../platform/module.ts';
import type { AccountsService } from '../accounts/index.ts';
import { registerCustomerTimelineSource, type CasesService } from '../cases/index.ts';
import type { CatalogueService } from '../catalogue/index.ts';
import type { RequestsService } from '../requests/index.ts';
import { createAlexaVerifier, defaultAlexaTrust, type AlexaTrust } from './alexa.ts';
import type { BulkyBookings } from './engine.ts';
import { registerChannelRoutes } from './routes-channels.ts';
import { registerChatRoutes } from './routes-chat.ts';
import { registerStaffRoutes } from './routes-staff.ts';
import { assistantMigrations } from './schema.ts';
import { createAssistantService } from './service.ts';
import { assistantSettings } from './settings.ts';
import * as store from './store.ts';

export type { AssistantService, Turn } from './service.ts';
export type { AlexaTrust } from './alexa.ts';

export const assistantModule: ModuleDefinition = {
  name: 'assistant',
  migrations: assistantMigrations,
  staffNavigation: [
    { href: '/staff/assistant', text: 'Chats', section: 'assistant', permission: 'assistant:handle' },
  ],
};

export interface AssistantDependencies {
  catalogue: CatalogueService;
  requests: RequestsService;
  cases: CasesService;
  accounts?: Pick<AccountsService, 'personalData'>;
  /** Bulky waste booking by conversation, when bookings is there. */
  bookings?: BulkyBookings;
}

/** Builds the assistant: web chat, text messages, the voice line and Alexa over one engine, and the advisers' console. */
export function createAssistant(platform: Platform, deps: AssistantDependencies) {
  const settings = assistantSettings();
  const service = createAssistantService(platform, deps, settings);
  let alexaTrust: AlexaTrust = defaultAlexaTrust();
  const verifyAlexa = createAlexaVerifier(() => alexaTrust);

  deps.accounts?.personalData.add({
    name: 'conversations',
    async export(db, residentId) {
      const conversations = await store.conversationsForResident(db, residentId);
      return Promise.all(
        conversations.map(async (c) => ({
          channel: c.channel,
          startedAt: c.created_at,
          messages: (await store.listMessages(db, c.id)).map((m) => ({
            from: m.author,
            text: m.body,
            at: m.created_at,
          })),
        })),
      );
    },
    erase: (tx, residentId) => store.eraseResident(tx, residentId),
  });

  // The customer view shows each conversation, linking to its transcript.
  registerCustomerTimelineSource('assistant', async (db, residentId) => {
    const conversations = await store.conversationsForResident(db, residentId);
    return conversations.map((c) => ({
      at: c.created_at,
      title: c.status === 'closed' ? 'Chat with the assistant' : 'Chat with the assistant (open)',
      text: `${{ web: 'Web chat', sms: 'Text message', voice: 'Phone line', alexa: 'Alexa' }[c.channel]}`,
      href: `/staff/assistant/conversations/${c.id}`,
    }));
  });

  // Conversations left idle are closed, and any unfinished form with them.
  platform.jobs.define({
    name: 'assistant.close-idle',
    cron: '*/10 * * * *',
    handler: async () => {
      await service.closeIdle();
    },
  });

  return {
    service,
    /** Which certificates an Alexa request may be signed with (tests bring their own root). */
    setAlexaTrust(trust: AlexaTrust) {
      alexaTrust = trust;
    },
    async register(app: FastifyInstance) {
      registerChatRoutes(app, platform, service);
      registerChannelRoutes(app, platform, service, verifyAlexa);
      registerStaffRoutes(app, platform, service);
    },
  };
}
