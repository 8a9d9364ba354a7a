import type { FastifyInstance } from 'fastify';
import { verifyAuditChain } from './audit/index.ts';
import type { Platform } from './module.ts';
import { purgeExpiredSessions } from './auth/sessions.ts';
import { purgeUsedSignInLinks } from './auth/routes.ts';

/** Pages that belong to no module (legal pages, staff home, outbox, audit status, demo inbox) and housekeeping. */
export function registerPlatformPages(app: FastifyInstance, platform: Platform): void {
  const { config, notify, db, jobs } = platform;

  jobs.define({
    name: 'platform.purge-expired',
    cron: '17 * * * *',
    retryLimit: 2,
    handler: async () => {
      await purgeExpiredSessions(db);
      await purgeUsedSignInLinks(db);
    },
  });

  app.get('/accessibility', { config: { pageCache: true } }, async (_request, reply) =>
    reply.render('pages/accessibility.njk', { title: 'Accessibility statement' }),
  );
  app.get('/privacy', { config: { pageCache: true } }, async (_request, reply) =>
    reply.render('pages/privacy.njk', { title: 'Privacy notice' }),
  );
  app.get('/cookies', { config: { pageCache: true } }, async (_request, reply) =>
    reply.render('pages/cookies.njk', { title: 'Cookies' }),
  );

  app.get('/staff', { config: { permission: 'backoffice:use' } }, async (_request, reply) =>
    reply.render('pages/staff-home.njk', { title: 'Back office', navSection: 'home' }),
  );

  app.get('/staff/outbox', { config: { permission: 'outbox:read' } }, async (request, reply) => {
    const recipient = String((request.query as Record<string, unknown>).recipient ?? '').trim();
    const messages = await notify.list(db, { recipient: recipient || undefined, limit: 200 });
    return reply.render('pages/staff-outbox.njk', {
      title: 'Outbox',
      navSection: 'outbox',
      messages,
      recipient,
      adapter: notify.adapterName,
    });
  });

  app.get('/staff/audit', { config: { permission: 'audit:read' } }, async (_request, reply) => {
    const report = await verifyAuditChain(db);
    return reply.render('pages/staff-audit.njk', { title: 'Audit log', navSection: 'audit', report });
  });

  // Demo mode only: nothing leaves the machine, so residents read their emails here.
  if (config.DEMO_MODE && config.NOTIFY_ADAPTER === 'sandbox') {
    app.get('/demo/inbox', async (request, reply) => {
      const email = String((request.query as Record<string, unknown>).email ?? request.resident?.email ?? '')
        .trim()
        .toLowerCase();
      const messages = email ? await notify.list(db, { recipient: email, limit: 50 }) : [];
      return reply.render('pages/demo-inbox.njk', {
        title: 'Demo inbox',
        navSection: 'demo-inbox',
        email,
        messages,
      });
    });
  }
}
