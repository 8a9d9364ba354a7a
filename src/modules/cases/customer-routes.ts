import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../../platform/audit/index.ts';
import { actorOf } from '../../platform/auth/identity.ts';
import { HttpError } from '../../platform/http/errors.ts';
import { can } from '../../platform/auth/permissions.ts';
import type { Platform } from '../../platform/module.ts';
import { channelLabels, slaTags, statusLabels, statusTagClasses } from './labels.ts';
import type { CasesService } from './service.ts';

/** The customer view: find a resident, then everything about them on one page. */
export function registerCustomerRoutes(app: FastifyInstance, platform: Platform, cases: CasesService) {
  const { db } = platform;

  app.get('/staff/customers', { config: { permission: 'customers:read' } }, async (request, reply) => {
    const q = String((request.query as Record<string, unknown>).q ?? '')
      .trim()
      .slice(0, 200);
    const tooShort = q.length > 0 && q.length < 2;
    const results = q && !tooShort ? await cases.searchResidents(db, q) : [];
    return reply.code(tooShort ? 400 : 200).render('cases/views/customers.njk', {
      title: 'Find a resident',
      navSection: 'customers',
      q,
      searched: Boolean(q) && !tooShort,
      results,
      errors: tooShort ? [{ field: 'q', text: 'Enter at least 2 characters to search' }] : undefined,
    });
  });

  app.get<{ Params: { reference: string } }>(
    '/staff/customers/:reference',
    { config: { permission: 'customers:read' } },
    async (request, reply) => {
      const reference = request.params.reference;
      const view = /^[A-Z0-9-]{3,30}$/.test(reference) ? await cases.customerView(db, reference) : undefined;
      if (!view)
        throw new HttpError(
          404,
          'Resident not found',
          `There is no resident with the reference ${reference}.`,
        );
      // Opening someone's whole record is itself recorded: who looked, and when (UK GDPR accountability).
      await recordAudit(db, {
        actor: actorOf(request),
        action: 'resident.record_viewed',
        subjectType: 'resident',
        subjectId: view.resident.id,
      });
      return reply.render('cases/views/customer.njk', {
        title: view.resident.name,
        navSection: 'customers',
        backLink: '/staff/customers',
        ...view,
        cases: view.cases.map((c) => ({
          ...c,
          statusLabel: statusLabels[c.status],
          statusClasses: statusTagClasses[c.status],
          slaTag: slaTags[c.sla],
          channelLabel: channelLabels[c.channel],
        })),
        canAct: can(request.staff!.role, 'assisted:act'),
      });
    },
  );
}
