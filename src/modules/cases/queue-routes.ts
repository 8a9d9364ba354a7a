import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import { can } from '../../platform/auth/permissions.ts';
import type { Platform } from '../../platform/module.ts';
import { bulkForm, formErrors, queueQuery, type FormErrors } from './forms.ts';
import { channelLabels, slaTags, statusLabels, statusTagClasses } from './labels.ts';
import { caseStatuses, channels, type CaseStatus } from './schema.ts';
import type { CasesService } from './service.ts';
import type { QueueFilter } from './store.ts';

const PAGE_SIZE = 25;
const openStatuses: CaseStatus[] = ['received', 'in_progress', 'waiting_for_customer'];

/** The team queues, their filters, and bulk assign and close. */
export function registerQueueRoutes(app: FastifyInstance, platform: Platform, cases: CasesService) {
  const { db } = platform;

  async function renderQueue(
    request: FastifyRequest,
    reply: import('fastify').FastifyReply,
    extra: { errors?: FormErrors; values?: Record<string, unknown>; status?: number } = {},
  ) {
    const staff = request.staff!;
    const query = queueQuery.parse(request.query ?? {});
    const team = query.team === undefined ? (staff.teamCode ?? 'all') : query.team || 'all';
    const status = query.status ?? 'open';
    const assignee = query.assignee || 'anyone';
    const sort = query.sort ?? 'due';
    const filter: QueueFilter = {
      team: team === 'all' ? null : team,
      statuses: status === 'all' ? null : status === 'open' ? openStatuses : [status],
      assignee:
        assignee === 'me'
          ? { kind: 'staff', id: staff.id }
          : assignee === 'unassigned'
            ? { kind: 'unassigned' }
            : assignee === 'anyone'
              ? { kind: 'anyone' }
              : { kind: 'staff', id: /^[0-9a-f-]{36}$/i.test(assignee) ? assignee : staff.id },
      sla: query.sla ?? null,
      service: query.service || null,
      channel: query.channel ?? null,
      sort,
    };
    const pageNumber = query.page;
    const result = await cases.queue(db, filter, { offset: (pageNumber - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    const [teams, services, workers] = await Promise.all([
      cases.listTeams(db),
      cases.listServices(db),
      cases.listCaseWorkers(db),
    ]);
    const params = {
      team,
      status,
      assignee,
      sla: query.sla ?? '',
      service: query.service ?? '',
      channel: query.channel ?? '',
      sort,
    };
    const link = (changes: Record<string, string | number>) => {
      const merged: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...params, ...changes }))
        if (v !== '' && v !== undefined) merged[k] = String(v);
      return `/staff/cases?${new URLSearchParams(merged).toString()}`;
    };
    const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    const teamName = team === 'all' ? 'All teams' : (teams.find((t) => t.code === team)?.name ?? team);
    return reply.code(extra.status ?? 200).render('cases/views/queue.njk', {
      title: `Cases: ${teamName}`,
      navSection: 'cases',
      teamName,
      rows: result.rows.map((c) => ({
        ...c,
        statusLabel: statusLabels[c.status],
        statusClasses: statusTagClasses[c.status],
        slaTag: slaTags[c.sla],
        channelLabel: channelLabels[c.channel],
      })),
      total: result.total,
      statusCounts: [...openStatuses, 'resolved', 'closed'].map((s) => ({
        text: statusLabels[s as CaseStatus],
        count: result.byStatus[s] ?? 0,
        href: link({ status: s, page: 1 }),
        current: status === s,
      })),
      params,
      canBulk: can(staff.role, 'cases:bulk'),
      teamItems: [
        { value: 'all', text: 'All teams' },
        ...teams.map((t) => ({ value: t.code, text: t.name })),
      ].map((i) => ({ ...i, selected: i.value === team })),
      statusItems: [
        { value: 'open', text: 'Open (not resolved or closed)' },
        { value: 'all', text: 'Any status' },
        ...caseStatuses.map((s) => ({ value: s, text: statusLabels[s] })),
      ].map((i) => ({ ...i, selected: i.value === status })),
      assigneeItems: [
        { value: 'anyone', text: 'Anyone' },
        { value: 'me', text: 'Me' },
        { value: 'unassigned', text: 'Unassigned' },
        ...workers.filter((w) => w.id !== staff.id).map((w) => ({ value: w.id, text: w.name })),
      ].map((i) => ({ ...i, selected: i.value === assignee })),
      slaItems: [
        { value: '', text: 'Any' },
        ...(['on_track', 'at_risk', 'breached', 'met', 'none'] as const).map((s) => ({
          value: s,
          text: slaTags[s].text,
        })),
      ].map((i) => ({ ...i, selected: i.value === (query.sla ?? '') })),
      serviceItems: [
        { value: '', text: 'Any service' },
        ...services.map((s) => ({ value: s.service_slug, text: s.service_title })),
      ].map((i) => ({ ...i, selected: i.value === (query.service ?? '') })),
      channelItems: [
        { value: '', text: 'Any channel' },
        ...channels.map((c) => ({ value: c, text: channelLabels[c] })),
      ].map((i) => ({ ...i, selected: i.value === (query.channel ?? '') })),
      sortItems: [
        { value: 'due', text: 'Due date (soonest first)' },
        { value: 'received', text: 'Received (newest first)' },
        { value: 'updated', text: 'Last updated (newest first)' },
      ].map((i) => ({ ...i, selected: i.value === sort })),
      workerItems: [
        { value: '', text: 'Choose a colleague' },
        ...workers.map((w) => ({ value: w.id, text: w.id === staff.id ? `${w.name} (me)` : w.name })),
      ].map((i) => ({ ...i, selected: i.value === extra.values?.bulkAssignee })),
      pagination: {
        previous: pageNumber > 1 ? { href: link({ page: pageNumber - 1 }) } : undefined,
        next: pageNumber < pages ? { href: link({ page: pageNumber + 1 }) } : undefined,
        items: pageItems(pageNumber, pages).map((n) =>
          n === null ? { ellipsis: true } : { number: n, href: link({ page: n }), current: n === pageNumber },
        ),
      },
      pageNumber,
      pages,
      returnTo: link({ page: pageNumber }),
      errors: extra.errors,
      values: extra.values ?? {},
    });
  }

  app.get('/staff/cases', { config: { permission: 'cases:read' } }, (request, reply) =>
    renderQueue(request, reply),
  );

  app.post('/staff/cases/bulk', { config: { permission: 'cases:bulk' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const returnTo =
      typeof body.returnTo === 'string' && /^\/staff\/cases\?[\w\-.=&%+]*$/.test(body.returnTo)
        ? body.returnTo
        : '/staff/cases';
    request.query = Object.fromEntries(new URL(returnTo, 'http://x').searchParams);
    const values = {
      bulkAssignee: body.bulkAssignee,
      bulkReason: body.bulkReason,
      cases: [body.cases ?? []].flat(),
    };
    const parsed = bulkForm.safeParse(body);
    if (!parsed.success)
      return renderQueue(request, reply, { status: 400, errors: formErrors(parsed.error), values });
    const actor = actorOf(request);
    const form = parsed.data;
    const result = await db
      .transaction()
      .execute((tx) =>
        form.action === 'assign'
          ? cases.bulkAssign(tx, { references: form.cases, assigneeId: form.bulkAssignee, actor })
          : cases.bulkClose(tx, { references: form.cases, reason: form.bulkReason, actor }),
      );
    if (result.done.length === 0 && result.skipped.length > 0) {
      return renderQueue(request, reply, {
        status: 400,
        errors: [
          {
            field: form.action === 'assign' ? 'bulkAssignee' : 'bulkReason',
            text: `No cases were changed: ${result.skipped.map((s) => `${s.reference} (${s.why})`).join(', ')}`,
          },
        ],
        values,
      });
    }
    const verb = form.action === 'assign' ? 'assigned' : 'closed';
    const skipped = result.skipped.length
      ? ` ${result.skipped.length} not changed: ${result.skipped.map((s) => `${s.reference} (${s.why})`).join(', ')}.`
      : '';
    request.session.set(
      'flash',
      `${result.done.length} case${result.done.length === 1 ? '' : 's'} ${verb}.${skipped}`,
    );
    return reply.redirect(returnTo, 303);
  });
}

// Page numbers to show: the first, the last, and those around the current one.
function pageItems(current: number, pages: number): Array<number | null> {
  const out: Array<number | null> = [];
  for (let n = 1; n <= pages; n++) {
    if (n === 1 || n === pages || Math.abs(n - current) <= 1) out.push(n);
    else if (out.at(-1) !== null) out.push(null);
  }
  return out;
}
