import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Platform } from '../../platform/module.ts';
import { uploadedFile } from './form-body.ts';
import { SigningError, type SigningService } from './service.ts';

const TITLE = 'Verify a document';

/** The public page where anyone checks whether a PDF is an intact document sealed by the council. */
export function registerVerifyRoutes(app: FastifyInstance, platform: Platform, service: SigningService) {
  const form = (reply: FastifyReply, errors: Array<{ field: string; text: string }> = [], status = 400) =>
    reply
      .code(errors.length ? status : 200)
      .render('signing/views/verify-form.njk', { title: TITLE, errors });

  app.get('/verify-a-document', async (_request, reply) => form(reply));

  app.post(
    '/verify-a-document',
    {
      config: { rateLimit: platform.rateLimits.submissions },
      errorHandler: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
        if (error.code === 'FST_REQ_FILE_TOO_LARGE' || error.statusCode === 413) {
          const limit = Math.floor(platform.config.UPLOAD_LIMIT_BYTES / 1_048_576);
          return form(
            reply,
            [{ field: 'document', text: `The selected file must be smaller than ${limit}MB` }],
            413,
          );
        }
        throw error;
      },
    },
    async (request, reply) => {
      const pdf = await uploadedFile(request.body, 'document');
      if (!pdf) return form(reply, [{ field: 'document', text: 'Select a PDF to check' }]);
      try {
        // The upload is checked in memory and never stored.
        const result = await service.verify(platform.db, pdf);
        return reply.render('signing/views/verify-result.njk', { title: resultTitle(result), result });
      } catch (error) {
        if (error instanceof SigningError && error.code === 'invalid')
          return form(reply, [{ field: 'document', text: error.message }]);
        throw error;
      }
    },
  );
}

function resultTitle(result: Awaited<ReturnType<SigningService['verify']>>): string {
  if (result.outcome === 'unsigned') return 'This document is not sealed';
  if (result.outcome === 'altered') return 'This document has been changed since it was sealed';
  if (!('ours' in result) || !result.ours) return 'This document is sealed, but not by this council';
  return 'This document is genuine and has not been changed';
}
