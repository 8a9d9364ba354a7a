import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Platform } from '../../platform/module.ts';
import { channels } from '../cases/index.ts';
import {
  detailFormValues,
  questionFormValues,
  readDetails,
  readQuestion,
  type FieldErrors,
} from './builder-input.ts';
import { questionTypeLabels, questionTypes, topics, type ServiceDefinition } from './definition.ts';
import { formFields, keptValues } from './form-input.ts';
import { CatalogueError, type CatalogueService } from './service.ts';
import * as store from './store.ts';

const config = { permission: 'catalogue:edit' as const };
type SlugParams = { Params: { slug: string } };
type QuestionParams = { Params: { slug: string; questionId: string } };

const channelLabels: Record<string, string> = {
  web: 'Website',
  app: 'App',
  chatbot: 'Chatbot',
  phone: 'Phone',
  face_to_face: 'Face to face',
  email: 'Email',
  letter: 'Letter',
  api: 'API',
};

/** The form builder: services, their details and questions, preview and publishing. Works without JavaScript. */
export function registerBuilder(app: FastifyInstance, platform: Platform, catalogue: CatalogueService): void {
  const teams = () => store.listTeams(platform.db);
  const notFound = (reply: FastifyReply) =>
    reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
  const base = { navSection: 'catalogue' };

  app.get('/staff/catalogue', { config }, async (_request, reply) => {
    const services = await catalogue.listForEditing();
    const rows = services.map(({ row, draft }) => [
      { html: `<a class="govuk-link" href="/staff/catalogue/${row.slug}">${escape(draft.title)}</a>` },
      { text: topics.find((t) => t.code === draft.topic)?.name ?? draft.topic },
      { text: statusLabel(row.status, row.draft_changed) },
      { text: row.live_version ? String(row.live_version) : '–', format: 'numeric' },
    ]);
    return reply.render('catalogue/views/builder-list.njk', { ...base, title: 'Service catalogue', rows });
  });

  async function renderDetails(
    reply: FastifyReply,
    values: Record<string, unknown>,
    errors: FieldErrors,
    slug?: string,
  ) {
    return reply.code(errors.length ? 400 : 200).render('catalogue/views/builder-details.njk', {
      ...base,
      title: slug ? 'Change service details' : 'Create a service',
      slug,
      values,
      errors,
      topics,
      teams: await teams(),
      channelItems: channels.map((c) => ({
        value: c,
        text: channelLabels[c],
        checked: [values.channels ?? []].flat().includes(c),
      })),
      backLink: slug ? `/staff/catalogue/${slug}` : '/staff/catalogue',
    });
  }

  app.get('/staff/catalogue/new', { config }, async (_request, reply) =>
    renderDetails(reply, { channels: ['web', 'phone', 'face_to_face'], slaUnit: 'working_days' }, []),
  );

  app.post('/staff/catalogue/new', { config }, async (request, reply) => {
    const fields = formFields(request.body);
    const read = readDetails(
      fields,
      (await teams()).map((t) => t.code),
    );
    if (!read.ok) return renderDetails(reply, keptValues(fields), read.errors);
    try {
      await catalogue.createService(read.details, actorOf(request));
    } catch (error) {
      if (error instanceof CatalogueError)
        return renderDetails(reply, keptValues(fields), [{ field: error.field, text: error.message }]);
      throw error;
    }
    request.session.set('flash', `${read.details.title} was created as a draft. Add its questions.`);
    return reply.redirect(`/staff/catalogue/${read.details.slug}`, 303);
  });

  app.get<SlugParams>('/staff/catalogue/:slug', { config }, async (request, reply) => {
    const found = await catalogue.findForEditing(request.params.slug);
    if (!found) return notFound(reply);
    return renderService(reply, found.row, found.draft, []);
  });

  function renderService(
    reply: FastifyReply,
    row: store.ServiceRow,
    draft: ServiceDefinition,
    errors: FieldErrors,
  ) {
    const team = draft.teamCode;
    return reply.code(errors.length ? 400 : 200).render('catalogue/views/builder-service.njk', {
      ...base,
      title: draft.title,
      service: draft,
      row,
      status: statusLabel(row.status, row.draft_changed),
      topicName: topics.find((t) => t.code === draft.topic)?.name,
      team,
      channelsText: draft.channels.map((c) => channelLabels[c]).join(', '),
      questions: draft.questions.map((q, i) => ({
        ...q,
        typeLabel: questionTypeLabels[q.type],
        first: i === 0,
        last: i === draft.questions.length - 1,
        conditionText: q.showWhen
          ? `Shown when “${draft.questions.find((x) => x.id === q.showWhen!.question)?.label ?? q.showWhen.question}” is ${(q.showWhen.in ?? [q.showWhen.equals]).join(' or ')}`
          : '',
      })),
      errors,
      backLink: '/staff/catalogue',
    });
  }

  app.get<SlugParams>('/staff/catalogue/:slug/details', { config }, async (request, reply) => {
    const found = await catalogue.findForEditing(request.params.slug);
    if (!found) return notFound(reply);
    return renderDetails(reply, detailFormValues(found.draft), [], found.draft.slug);
  });

  app.post<SlugParams>('/staff/catalogue/:slug/details', { config }, async (request, reply) => {
    const found = await catalogue.findForEditing(request.params.slug);
    if (!found) return notFound(reply);
    const fields = { ...formFields(request.body), slug: found.draft.slug };
    const read = readDetails(
      fields,
      (await teams()).map((t) => t.code),
    );
    if (!read.ok) return renderDetails(reply, keptValues(fields), read.errors, found.draft.slug);
    await catalogue.updateDetails(found.draft.slug, read.details, actorOf(request));
    request.session.set('flash', 'The service details were saved to the draft.');
    return reply.redirect(`/staff/catalogue/${found.draft.slug}`, 303);
  });

  function renderQuestionEditor(
    reply: FastifyReply,
    draft: ServiceDefinition,
    values: Record<string, unknown>,
    errors: FieldErrors,
    editing: string | null,
  ) {
    const index = editing ? draft.questions.findIndex((q) => q.id === editing) : draft.questions.length;
    const earlier = draft.questions.slice(0, index);
    return reply.code(errors.length ? 400 : 200).render('catalogue/views/builder-question.njk', {
      ...base,
      title: editing ? 'Change a question' : 'Add a question',
      service: draft,
      editing,
      values,
      errors,
      typeItems: questionTypes.map((t) => ({
        value: t,
        text: questionTypeLabels[t],
        checked: values.type === t,
      })),
      earlierItems: [
        { value: '', text: 'Always ask this question' },
        ...earlier.map((q) => ({ value: q.id, text: q.label, selected: values.showWhenQuestion === q.id })),
      ],
      action: editing
        ? `/staff/catalogue/${draft.slug}/questions/${editing}/edit`
        : `/staff/catalogue/${draft.slug}/questions/new`,
      backLink: `/staff/catalogue/${draft.slug}`,
    });
  }

  app.get<SlugParams>('/staff/catalogue/:slug/questions/new', { config }, async (request, reply) => {
    const found = await catalogue.findForEditing(request.params.slug);
    if (!found) return notFound(reply);
    return renderQuestionEditor(reply, found.draft, {}, [], null);
  });

  app.get<QuestionParams>(
    '/staff/catalogue/:slug/questions/:questionId/edit',
    { config },
    async (request, reply) => {
      const found = await catalogue.findForEditing(request.params.slug);
      const q = found?.draft.questions.find((x) => x.id === request.params.questionId);
      if (!found || !q) return notFound(reply);
      return renderQuestionEditor(reply, found.draft, questionFormValues(q), [], q.id);
    },
  );

  const saveQuestion = (editing: boolean) =>
    async function (request: FastifyRequest<QuestionParams>, reply: FastifyReply) {
      const found = await catalogue.findForEditing(request.params.slug);
      const originalId = editing ? request.params.questionId : null;
      if (!found || (editing && !found.draft.questions.some((q) => q.id === originalId)))
        return notFound(reply);
      const fields = formFields(request.body);
      const read = readQuestion(fields);
      if (!read.ok)
        return renderQuestionEditor(reply, found.draft, keptValues(fields), read.errors, originalId);
      try {
        await catalogue.saveQuestion(found.draft.slug, read.question, originalId, actorOf(request));
      } catch (error) {
        if (!(error instanceof CatalogueError)) throw error;
        const field = error.field.startsWith('questions')
          ? error.field.endsWith('showWhen')
            ? 'showWhenQuestion'
            : 'id'
          : error.field;
        return renderQuestionEditor(
          reply,
          found.draft,
          keptValues(fields),
          [{ field, text: error.message }],
          originalId,
        );
      }
      request.session.set('flash', `The question “${read.question.label}” was saved to the draft.`);
      return reply.redirect(`/staff/catalogue/${found.draft.slug}`, 303);
    };
  app.post<QuestionParams>('/staff/catalogue/:slug/questions/new', { config }, saveQuestion(false));
  app.post<QuestionParams>(
    '/staff/catalogue/:slug/questions/:questionId/edit',
    { config },
    saveQuestion(true),
  );

  app.post<QuestionParams>(
    '/staff/catalogue/:slug/questions/:questionId/move',
    { config },
    async (request, reply) => {
      const direction = formFields(request.body).direction === 'up' ? 'up' : 'down';
      try {
        await catalogue.moveQuestion(
          request.params.slug,
          request.params.questionId,
          direction,
          actorOf(request),
        );
      } catch (error) {
        if (!(error instanceof CatalogueError)) throw error;
        return serviceWithError(request.params.slug, reply, error);
      }
      return reply.redirect(`/staff/catalogue/${request.params.slug}#questions`, 303);
    },
  );

  app.post<QuestionParams>(
    '/staff/catalogue/:slug/questions/:questionId/remove',
    { config },
    async (request, reply) => {
      try {
        await catalogue.removeQuestion(request.params.slug, request.params.questionId, actorOf(request));
      } catch (error) {
        if (!(error instanceof CatalogueError)) throw error;
        return serviceWithError(request.params.slug, reply, error);
      }
      request.session.set('flash', 'The question was removed from the draft.');
      return reply.redirect(`/staff/catalogue/${request.params.slug}`, 303);
    },
  );

  app.post<SlugParams>('/staff/catalogue/:slug/publish', { config }, async (request, reply) => {
    let version: number;
    try {
      version = await catalogue.publish(request.params.slug, actorOf(request));
    } catch (error) {
      if (!(error instanceof CatalogueError)) throw error;
      return serviceWithError(request.params.slug, reply, error);
    }
    request.session.set('flash', `Version ${version} is now live.`);
    return reply.redirect(`/staff/catalogue/${request.params.slug}`, 303);
  });

  app.post<SlugParams>('/staff/catalogue/:slug/retire', { config }, async (request, reply) => {
    try {
      await catalogue.retire(request.params.slug, actorOf(request));
    } catch (error) {
      if (!(error instanceof CatalogueError)) throw error;
      return serviceWithError(request.params.slug, reply, error);
    }
    request.session.set('flash', 'The service is retired: residents can no longer find or use it.');
    return reply.redirect(`/staff/catalogue/${request.params.slug}`, 303);
  });

  async function serviceWithError(slug: string, reply: FastifyReply, error: CatalogueError) {
    const found = await catalogue.findForEditing(slug);
    if (!found) return notFound(reply);
    // A question-level problem is shown against the list of questions.
    return renderService(reply, found.row, found.draft, [{ field: 'questions', text: error.message }]);
  }
}

function statusLabel(status: string, draftChanged: boolean): string {
  if (status === 'live') return draftChanged ? 'Live (draft has unpublished changes)' : 'Live';
  if (status === 'retired') return 'Retired';
  return 'Draft';
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
