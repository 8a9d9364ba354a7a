import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Platform } from '../../platform/module.ts';
import { SigningError, type SigningService } from './service.ts';

const SESSION_KEY = 'signingSignerId';

const headings: Record<SigningError['code'], string> = {
  link_invalid: 'This link is not right',
  link_expired: 'This link has expired',
  link_used: 'This link has already been used',
  not_open: 'This document can no longer be signed',
  code_wrong: 'The code is not right',
  code_expired: 'The code has expired',
  locked: 'Signing is locked',
  not_verified: 'Confirm it is you first',
  out_of_order: 'It is not your turn to sign yet',
  altered: 'This document cannot be signed',
  invalid: 'There is a problem',
  not_found: 'Page not found',
};

function problemPage(reply: FastifyReply, error: SigningError) {
  const status =
    error.code === 'not_found' || error.code === 'link_invalid'
      ? 404
      : error.code === 'not_verified'
        ? 403
        : 410;
  return reply.code(status).render('signing/views/sign-problem.njk', {
    title: headings[error.code],
    message: error.message,
  });
}

const signForm = z.object({
  read: z.literal('yes', { error: 'Confirm you have read the whole document' }),
  consent: z.literal('yes', { error: 'Confirm you agree to sign electronically' }),
  typedName: z
    .string()
    .trim()
    .min(1, { error: 'Enter your full name to sign' })
    .max(100, { error: 'Your name must be 100 characters or fewer' }),
  drawnSignature: z.string().max(200_000).optional(),
});

// The document as a web page: "# " lines are headings, blank lines separate paragraphs.
function documentBlocks(text: string | null) {
  if (!text) return [];
  return text
    .split(/\n\s*\n/)
    .map((b) => b.trim())
    .filter(Boolean)
    .map((b) => (b.startsWith('# ') ? { heading: b.slice(2) } : { text: b.replace(/\n/g, ' ') }));
}

const PNG_DATA_URL = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/;

/** The signer's journey: link, security code, read, agree and sign (or decline). Works without JavaScript. */
export function registerSignerRoutes(app: FastifyInstance, platform: Platform, service: SigningService) {
  const { db } = platform;
  const padScript = readFileSync(join(import.meta.dirname, 'assets/signature-pad.js'));
  app.get('/sign/signature-pad.js', async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('Cache-Control', 'public, max-age=3600')
      .send(padScript),
  );
  const limit = { rateLimit: platform.rateLimits.submissions };
  const signerId = (request: FastifyRequest) => request.session.get(SESSION_KEY) as string | undefined;

  app.get('/sign/:link', async (request, reply) => {
    const { link } = request.params as { link: string };
    try {
      const { envelope, signer } = await service.inspectLink(db, link);
      return reply.render('signing/views/sign-start.njk', {
        title: `Sign ${envelope.title}`,
        envelope,
        signer,
        link,
      });
    } catch (error) {
      if (error instanceof SigningError) return problemPage(reply, error);
      throw error;
    }
  });

  app.post('/sign/:link', { config: limit }, async (request, reply) => {
    const { link } = request.params as { link: string };
    try {
      const id = await service.startSigning(link);
      request.session.set(SESSION_KEY, id);
      request.session.rotate(); // a new session id once the link is used, so a planted one is worth nothing
      return reply.redirect('/sign/code', 303);
    } catch (error) {
      if (error instanceof SigningError) return problemPage(reply, error);
      throw error;
    }
  });

  app.get('/sign/code', async (request, reply) => {
    if (!signerId(request))
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    return reply.render('signing/views/sign-code.njk', { title: 'Enter your security code', values: {} });
  });

  app.post('/sign/code', { config: limit }, async (request, reply) => {
    const id = signerId(request);
    if (!id)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    const code = String((request.body as Record<string, unknown>)?.code ?? '').trim();
    const render = (text: string) =>
      reply.code(400).render('signing/views/sign-code.njk', {
        title: 'Enter your security code',
        errors: [{ field: 'code', text }],
        values: { code },
      });
    if (!/^\d{6}$/.test(code.replace(/\s/g, ''))) return render('Enter the 6-digit code we sent you');
    try {
      await service.checkCode(id, code);
      return reply.redirect('/sign/document', 303);
    } catch (error) {
      if (error instanceof SigningError && (error.code === 'code_wrong' || error.code === 'code_expired'))
        return render(error.message);
      if (error instanceof SigningError) return problemPage(reply, error);
      throw error;
    }
  });

  app.post('/sign/code/new', { config: limit }, async (request, reply) => {
    const id = signerId(request);
    if (!id)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    try {
      await service.resendCode(id);
      request.session.set('flash', 'We have sent you a new code');
      return reply.redirect('/sign/code', 303);
    } catch (error) {
      if (error instanceof SigningError) return problemPage(reply, error);
      throw error;
    }
  });

  async function documentPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
  ) {
    const id = signerId(request);
    if (!id)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    try {
      const { signer, envelope, signers } = await service.signerDocument(db, id);
      if (signer.status !== 'invited' || envelope.status !== 'in_progress')
        return reply.redirect('/sign/done', 303);
      return reply.render('signing/views/sign-document.njk', {
        title: envelope.title,
        envelope,
        signer,
        signers,
        blocks: documentBlocks(envelope.document_text),
        values: { typedName: '' },
        ...extra,
      });
    } catch (error) {
      if (error instanceof SigningError && error.code === 'not_verified')
        return reply.redirect('/sign/code', 303);
      throw error;
    }
  }

  app.get('/sign/document', (request, reply) => documentPage(request, reply));

  app.get('/sign/document.pdf', async (request, reply) => {
    const id = signerId(request);
    if (!id)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    try {
      const { envelope } = await service.signerDocument(db, id);
      return reply
        .type('application/pdf')
        .header('Content-Disposition', `inline; filename="${envelope.reference}.pdf"`)
        .header('Cache-Control', 'no-store')
        .send(envelope.document);
    } catch (error) {
      if (error instanceof SigningError) return problemPage(reply, error);
      throw error;
    }
  });

  app.post('/sign/document', { config: limit }, async (request, reply) => {
    const id = signerId(request);
    if (!id)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = signForm.safeParse(body);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((i) => ({ field: String(i.path[0]), text: i.message }));
      return documentPage(request, reply.code(400), {
        errors,
        values: { typedName: String(body.typedName ?? ''), read: body.read, consent: body.consent },
      });
    }
    const drawn = parsed.data.drawnSignature?.match(PNG_DATA_URL)?.[1];
    try {
      await service.sign(id, {
        typedName: parsed.data.typedName,
        drawnPng: drawn ? Buffer.from(drawn, 'base64') : null,
      });
      return reply.redirect('/sign/done', 303);
    } catch (error) {
      if (error instanceof SigningError && error.code === 'invalid') {
        return documentPage(request, reply.code(400), {
          errors: [{ field: 'typedName', text: error.message }],
          values: { typedName: parsed.data.typedName, read: 'yes', consent: 'yes' },
        });
      }
      if (error instanceof SigningError) return problemPage(reply, error);
      throw error;
    }
  });

  app.get('/sign/done', async (request, reply) => {
    const id = signerId(request);
    if (!id)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    const { signer, envelope, signers } = await service
      .signerDocument(db, id)
      .catch(() => ({ signer: null, envelope: null, signers: [] }));
    if (!signer || !envelope)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    if (signer.status === 'invited') return reply.redirect('/sign/document', 303);
    const next = signers.find((s) => s.status !== 'signed');
    return reply.render('signing/views/sign-done.njk', {
      title: signer.status === 'declined' ? 'You declined to sign' : 'Document signed',
      signer,
      envelope,
      next,
    });
  });

  app.get('/sign/decline', async (request, reply) => {
    if (!signerId(request))
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    return reply.render('signing/views/sign-decline.njk', {
      title: 'Tell us why you do not want to sign',
      values: {},
    });
  });

  app.post('/sign/decline', { config: limit }, async (request, reply) => {
    const id = signerId(request);
    if (!id)
      return problemPage(reply, new SigningError('not_verified', 'Open the link in your email to start.'));
    const reason = String((request.body as Record<string, unknown>)?.reason ?? '').trim();
    const errorText = !reason
      ? 'Enter why you do not want to sign'
      : reason.length > 500
        ? 'Your reason must be 500 characters or fewer'
        : null;
    if (errorText) {
      return reply.code(400).render('signing/views/sign-decline.njk', {
        title: 'Tell us why you do not want to sign',
        errors: [{ field: 'reason', text: errorText }],
        values: { reason },
      });
    }
    try {
      await service.decline(id, reason);
      return reply.redirect('/sign/done', 303);
    } catch (error) {
      if (error instanceof SigningError) return problemPage(reply, error);
      throw error;
    }
  });

  app.get('/signed/:copy', async (request, reply) => {
    const { copy } = request.params as { copy: string };
    const found = await service.sealedCopy(db, copy);
    if (!found)
      return problemPage(
        reply,
        new SigningError(
          'link_invalid',
          'This link is not right. Check you copied the whole link from the email.',
        ),
      );
    return reply
      .type('application/pdf')
      .header('Content-Disposition', `attachment; filename="${found.reference}-sealed.pdf"`)
      .header('Cache-Control', 'no-store')
      .send(found.pdf);
  });
}
