import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Platform } from '../../platform/module.ts';
import type { SigningService } from './service.ts';

async function requireResident(request: FastifyRequest, reply: FastifyReply) {
  if (request.resident) return;
  const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/sign-in${returnTo}`, 303);
}

/** My account: documents, bills and letters delivered to the resident, and the paperless choice. */
export function registerResidentRoutes(app: FastifyInstance, platform: Platform, service: SigningService) {
  const { db } = platform;
  const signedIn = { preHandler: requireResident };

  app.get('/account/documents', signedIn, async (request, reply) => {
    const residentId = request.resident!.id;
    const [documents, paperless] = await Promise.all([
      service.listDocumentsForResident(db, residentId),
      service.isPaperless(db, residentId),
    ]);
    return reply.render('signing/views/account-documents.njk', {
      title: 'Your documents and letters',
      navSection: 'account',
      backLink: '/account',
      documents,
      paperless,
    });
  });

  app.get('/account/documents/paperless', signedIn, async (request, reply) =>
    reply.render('signing/views/account-paperless.njk', {
      title: 'How do you want to get bills and letters?',
      navSection: 'account',
      backLink: '/account/documents',
      values: { paperless: (await service.isPaperless(db, request.resident!.id)) ? 'yes' : 'no' },
    }),
  );

  app.post('/account/documents/paperless', signedIn, async (request, reply) => {
    const choice = String((request.body as Record<string, unknown>)?.paperless ?? '');
    if (choice !== 'yes' && choice !== 'no') {
      return reply.code(400).render('signing/views/account-paperless.njk', {
        title: 'How do you want to get bills and letters?',
        navSection: 'account',
        backLink: '/account/documents',
        values: {},
        errors: [{ field: 'paperless', text: 'Select how you want to get bills and letters' }],
      });
    }
    await service.setPaperless(actorOf(request), request.resident!.id, choice === 'yes');
    request.session.set(
      'flash',
      choice === 'yes'
        ? 'You will get bills and letters in your account, with an email when one arrives'
        : 'You will get bills and letters by post',
    );
    return reply.redirect('/account/documents', 303);
  });

  app.get('/account/documents/:reference', signedIn, async (request, reply) => {
    const reference = String((request.params as { reference: string }).reference).toUpperCase();
    const document = await service.documentForResident(db, request.resident!.id, reference);
    // Someone else's document looks exactly like one that does not exist.
    if (!document) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply
      .type('application/pdf')
      .header('Content-Disposition', `inline; filename="${document.reference}.pdf"`)
      .header('Cache-Control', 'no-store')
      .send(document.pdf);
  });
}
