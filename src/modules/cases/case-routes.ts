import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { recordAudit } from '../../platform/audit/index.ts';
import { actorOf } from '../../platform/auth/identity.ts';
import { can } from '../../platform/auth/permissions.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { answerRows, fileIdsOf } from './answers.ts';
import { assignForm, formErrors, noteForm, publicUpdateForm, statusForm, type FormErrors } from './forms.ts';
import { CaseChangedError, CaseNotFoundError, CaseRuleError } from './handling.ts';
import { channelLabels, slaTags, statusLabels, statusTagClasses } from './labels.ts';
import { caseStatuses, type CaseStatus } from './schema.ts';
import type { CasesService } from './service.ts';
import { slaState } from './sla.ts';

const referencePattern = /^[A-Z0-9]{2,6}-[A-Z0-9]{4}-[A-Z0-9]{2,6}$/;

/** The case page, its actions (assign, status, note, public update) and its file downloads. */
export function registerCaseRoutes(app: FastifyInstance, platform: Platform, cases: CasesService) {
  const { db, files } = platform;

  async function load(reference: string) {
    const c = referencePattern.test(reference) ? await cases.findForHandling(db, reference) : undefined;
    if (!c) throw new HttpError(404, 'Case not found', `There is no case with the reference ${reference}.`);
    return c;
  }

  async function renderCase(
    request: FastifyRequest,
    reply: FastifyReply,
    reference: string,
    extra: { errors?: FormErrors; values?: Record<string, unknown>; status?: number } = {},
  ) {
    const c = await load(reference);
    const staff = request.staff!;
    const [resident, updates, workers] = await Promise.all([
      c.resident_id ? cases.findResident(db, c.resident_id) : Promise.resolve(undefined),
      cases.listUpdates(db, c.id),
      cases.listCaseWorkers(db),
    ]);
    const sla = slaState(c);
    const values = extra.values ?? {};
    const names = new Map(workers.map((w) => [w.id, w.name]));
    return reply.code(extra.status ?? 200).render('cases/views/case.njk', {
      title: `Case ${c.reference}`,
      navSection: 'cases',
      backLink: '/staff/cases',
      c,
      resident,
      assigneeName: c.assigned_to ? (names.get(c.assigned_to) ?? 'A former colleague') : null,
      statusLabel: statusLabels[c.status],
      statusClasses: statusTagClasses[c.status],
      slaTag: slaTags[sla],
      channelLabel: channelLabels[c.channel],
      answers: answerRows(c.answers),
      timeline: [...updates].reverse().map((u) => ({
        ...u,
        ...describeUpdate(u, names),
        who:
          u.author_name ??
          (u.author_type === 'resident' ? 'Resident' : u.author_type === 'system' ? 'Kiln' : 'Staff'),
      })),
      canWork: can(staff.role, 'cases:work'),
      canAssignOthers: can(staff.role, 'cases:assign'),
      assignedToMe: c.assigned_to === staff.id,
      workerItems: [
        { value: '', text: 'Choose a colleague' },
        ...workers.map((w) => ({ value: w.id, text: w.id === staff.id ? `${w.name} (me)` : w.name })),
      ].map((i) => ({ ...i, selected: i.value === (values.assignee ?? '') })),
      statusItems: caseStatuses
        .filter((s) => s !== c.status)
        .map((s) => ({ value: s, text: statusLabels[s], checked: s === values.status })),
      errors: extra.errors,
      values,
    });
  }

  app.get<{ Params: { reference: string } }>(
    '/staff/cases/:reference',
    { config: { permission: 'cases:read' } },
    (request, reply) => renderCase(request, reply, request.params.reference),
  );

  /** Runs one case action: validate, change in a transaction, and on any refusal show the page again with what was typed. */
  function action<S extends z.ZodType>(
    path: string,
    schema: S,
    textField: string,
    run: (
      tx: import('../../platform/db/index.ts').Db,
      caseId: string,
      form: z.infer<S>,
      request: FastifyRequest,
    ) => Promise<string>,
  ) {
    app.post<{ Params: { reference: string } }>(
      `/staff/cases/:reference/${path}`,
      { config: { permission: 'cases:work' } },
      async (request, reply) => {
        const reference = request.params.reference;
        const c = await load(reference);
        const body = (request.body ?? {}) as Record<string, unknown>;
        const values = Object.fromEntries(
          Object.entries(body).filter(([k]) => k !== '_csrf' && k !== 'version'),
        );
        const parsed = schema.safeParse(body);
        if (!parsed.success)
          return renderCase(request, reply, reference, {
            status: 400,
            errors: formErrors(parsed.error),
            values,
          });
        try {
          const flash = await db.transaction().execute((tx) => run(tx, c.id, parsed.data, request));
          request.session.set('flash', flash);
          return reply.redirect(`/staff/cases/${reference}`, 303);
        } catch (error) {
          if (error instanceof CaseChangedError)
            return renderCase(request, reply, reference, {
              status: 409,
              errors: [
                {
                  field: textField,
                  text: 'This case changed since you opened it. Check the latest details below, then send your change again.',
                },
              ],
              values,
            });
          if (error instanceof CaseRuleError)
            return renderCase(request, reply, reference, {
              status: 400,
              errors: [{ field: error.field, text: error.message }],
              values,
            });
          if (error instanceof CaseNotFoundError) throw new HttpError(404, 'Case not found');
          throw error;
        }
      },
    );
  }

  action('assign', assignForm, 'assignee', async (tx, caseId, form, request) => {
    const staff = request.staff!;
    const assigneeId = form.assignee === 'me' ? staff.id : form.assignee;
    // Working a case lets you take it; giving it to someone else is a team leader's call.
    if (assigneeId !== staff.id && !can(staff.role, 'cases:assign'))
      throw new HttpError(
        403,
        'You cannot assign cases to colleagues',
        'Ask a team leader to assign this case.',
      );
    const updated = await cases.assign(tx, {
      caseId,
      assigneeId,
      actor: actorOf(request),
      expectedVersion: form.version,
    });
    return assigneeId === staff.id
      ? `Case ${updated.reference} is assigned to you`
      : `Case ${updated.reference} assigned`;
  });

  action('status', statusForm, 'status', async (tx, caseId, form, request) => {
    const updated = await cases.changeStatus(tx, {
      caseId,
      status: form.status as CaseStatus,
      reason: form.reason,
      actor: actorOf(request),
      expectedVersion: form.version,
    });
    return `Status changed to ${statusLabels[updated.status].toLowerCase()}`;
  });

  action('notes', noteForm, 'note', async (tx, caseId, form, request) => {
    await cases.addNote(tx, {
      caseId,
      body: form.note,
      actor: actorOf(request),
      expectedVersion: form.version,
    });
    return 'Internal note added';
  });

  action('public-updates', publicUpdateForm, 'message', async (tx, caseId, form, request) => {
    const { notified } = await cases.postPublicUpdate(tx, {
      caseId,
      message: form.message,
      actor: actorOf(request),
      expectedVersion: form.version,
    });
    return notified > 0
      ? 'Update posted and sent to the resident'
      : 'Update posted. The resident has no email address or phone number, so it was not sent to them';
  });

  // Files attached to a case: staff with access to the case only, and only files among its answers.
  app.get<{ Params: { reference: string; fileId: string } }>(
    '/staff/cases/:reference/files/:fileId',
    { config: { permission: 'cases:read' } },
    async (request, reply) => {
      const c = await load(request.params.reference);
      const fileId = request.params.fileId;
      if (!fileIdsOf(c.answers).includes(fileId)) throw new HttpError(404, 'File not found');
      const file = await files.read(db, fileId);
      if (!file) throw new HttpError(404, 'File not found');
      await recordAudit(db, {
        actor: actorOf(request),
        action: 'case.file_downloaded',
        subjectType: 'case',
        subjectId: c.id,
        detail: { reference: c.reference, fileId },
      });
      return reply
        .type(file.mediaType)
        .header('Content-Disposition', `attachment; filename="${file.originalName.replace(/"/g, '')}"`)
        .header('Cache-Control', 'no-store')
        .send(file.content);
    },
  );
}

function describeUpdate(
  u: { kind: string; body: string | null; detail: unknown },
  names: Map<string, string>,
): { heading: string; text: string | null; internal: boolean } {
  const d = (u.detail ?? {}) as Record<string, unknown>;
  switch (u.kind) {
    case 'created':
      return {
        heading: `Case created (${channelLabels[d.channel as keyof typeof channelLabels] ?? 'unknown channel'})`,
        text: null,
        internal: false,
      };
    case 'status_change': {
      const from = statusLabels[d.from as CaseStatus] ?? String(d.from);
      const to = statusLabels[d.to as CaseStatus] ?? String(d.to);
      return {
        heading: `${d.reopened ? 'Reopened' : 'Status changed'}: ${from} to ${to}`,
        text: u.body ? `Reason: ${u.body}` : null,
        internal: false,
      };
    }
    case 'assignment':
      return {
        heading: d.to
          ? `Assigned to ${String(d.toName ?? names.get(String(d.to)) ?? 'a colleague')}`
          : 'Unassigned',
        text: null,
        internal: true,
      };
    case 'note':
      return { heading: 'Internal note', text: u.body, internal: true };
    case 'public_update':
      return {
        heading: d.notified
          ? 'Public update, sent to the resident'
          : 'Public update, shown in the resident’s account',
        text: u.body,
        internal: false,
      };
    default:
      return { heading: u.kind, text: u.body, internal: true };
  }
}
