import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { can } from '../../platform/auth/permissions.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { code128Svg } from './barcode.ts';
import type { CashService } from './cash-service.ts';
import { groupedReference, isValidPaypointReference, PAYPOINT_FILE_HEADER } from './paypoint.ts';

interface UploadedFile {
  type: 'file';
  filename: string;
  toBuffer(): Promise<Buffer>;
}

/** The printable pay-point card, and the back-office import of the operator's daily file. */
export function registerCashRoutes(app: FastifyInstance, platform: Platform, cash: CashService) {
  const { db } = platform;

  async function cardFor(request: FastifyRequest) {
    const { reference } = request.params as { reference: string };
    if (!isValidPaypointReference(reference)) throw new HttpError(404, 'Page not found');
    const ref = await cash.getReference(db, reference);
    const mayView =
      ref &&
      ((request.staff && can(request.staff.role, 'payments:read')) ||
        (request.resident && ref.payer_resident_id === request.resident.id));
    if (!ref || !mayView) throw new HttpError(404, 'Page not found');
    return ref;
  }

  app.get('/pay/cash/:reference', async (request, reply) => {
    const ref = await cardFor(request);
    return reply.render('payments/views/cash-card.njk', {
      title: 'Pay in cash at a shop',
      ref,
      grouped: groupedReference(ref.reference),
      barcode: code128Svg(ref.reference),
    });
  });

  app.get('/pay/cash/:reference/barcode.svg', async (request, reply) => {
    const ref = await cardFor(request);
    return reply
      .type('image/svg+xml')
      .header('cache-control', 'private, max-age=86400')
      .send(code128Svg(ref.reference));
  });

  async function showImport(reply: FastifyReply, extra: Record<string, unknown> = {}) {
    return reply.code(extra.errors ? 400 : 200).render('payments/views/staff-paypoint-import.njk', {
      title: `${extra.errors ? 'Error: ' : ''}Import a pay-point file`,
      navSection: 'payments',
      header: PAYPOINT_FILE_HEADER,
      imports: await cash.listImports(db),
      ...extra,
    });
  }

  app.get(
    '/staff/payments/paypoint',
    { config: { permission: 'payments:reconcile' } },
    async (_request, reply) => showImport(reply),
  );

  app.post(
    '/staff/payments/paypoint',
    { config: { permission: 'payments:reconcile' } },
    async (request, reply) => {
      const file = (request.body as Record<string, unknown> | null)?.file as UploadedFile | undefined;
      if (!file || file.type !== 'file' || !file.filename)
        return showImport(reply, {
          errors: [{ field: 'file', text: 'Choose the pay-point transaction file' }],
        });
      const buffer = await file.toBuffer();
      const text = buffer.toString('utf8');
      if (buffer.includes(0) || text.includes('\uFFFD'))
        return showImport(reply, { errors: [{ field: 'file', text: 'The file must be a CSV text file' }] });
      const result = await cash.importFile({ fileName: file.filename, text, actor: actorOf(request) });
      if (!result.ok) {
        const shown = result.errors.slice(0, 50);
        if (result.errors.length > shown.length)
          shown.push(`and ${result.errors.length - shown.length} more problems`);
        return showImport(reply, {
          errors: shown.map((text) => ({ field: 'file', text })),
          refused: true,
        });
      }
      request.session.set(
        'flash',
        `${result.imported} cash payments (£${(result.total / 100).toFixed(2)}) recorded` +
          (result.alreadyImported ? `; ${result.alreadyImported} already recorded from an earlier file` : ''),
      );
      return reply.redirect('/staff/payments/paypoint', 303);
    },
  );
}
