import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Permission } from '../../platform/auth/permissions.ts';
import { UploadError } from '../../platform/files/index.ts';
import type { Platform } from '../../platform/module.ts';
import { channels, type Channel } from '../cases/index.ts';
import { topics, type Question } from './definition.ts';
import { answerInput, formFields, keptValues, type UploadedFile } from './form-input.ts';
import {
  firstUnanswered,
  formatAnswer,
  nextQuestion,
  previousQuestion,
  questionsToAsk,
  relevantAnswers,
  validateAnswer,
  type Answers,
  type AskContext,
  type Validation,
} from './form-engine.ts';
import { choiceItems, errorField, valuesFromAnswer, type QuestionView } from './question-view.ts';
import type { CatalogueService, LiveService } from './service.ts';

/** What the session holds for a form in progress. Small: ids and answers, nothing else. */
interface JourneyState {
  slug: string;
  answers: Answers;
  /** Idempotency key of the check answers page last shown. */
  key?: string;
  /** References this browser submitted, so only it sees their confirmation pages. */
  submitted?: Array<{ key: string; reference: string; slug: string; paymentId?: string }>;
}

/** The resident journey, or the staff preview of a draft (same pages, nothing submitted). */
export interface JourneyMode {
  prefix: string;
  preview: boolean;
  sessionKey: string;
  permission?: Permission;
  load(slug: string): Promise<LiveService | undefined>;
}

const uploadTypes = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/heic', 'application/pdf'];

/** Who is filling in the form: a signed-in resident, staff acting for one, or someone anonymous. */
function whoIsAnswering(request: FastifyRequest, mode: JourneyMode) {
  const acting = request.staff ? request.session.data.actingFor : undefined;
  const actingChannel =
    acting && (channels as readonly string[]).includes(acting.channel) ? (acting.channel as Channel) : null;
  const residentId = mode.preview
    ? null
    : acting && actingChannel
      ? acting.residentId
      : (request.resident?.id ?? null);
  return {
    residentId,
    channel: (acting && actingChannel ? actingChannel : 'web') as Channel,
    /** Drafts are kept for residents answering for themselves. */
    keepsDraft: !mode.preview && !acting && Boolean(request.resident),
    ctx: { knownResident: Boolean(residentId) } as AskContext,
  };
}

export function registerJourney(
  app: FastifyInstance,
  platform: Platform,
  catalogue: CatalogueService,
  mode: JourneyMode,
) {
  const base = (slug: string) => `${mode.prefix}/${slug}`;
  const config = mode.permission ? { permission: mode.permission } : {};
  // Start and question pages look the same to every visitor who has not begun: keep them briefly.
  const pageConfig = mode.preview ? config : { ...config, pageCache: true };
  const layout = { preview: mode.preview, navSection: 'services' };

  const stateFor = (request: FastifyRequest, slug: string): JourneyState => {
    const state = request.session.get(mode.sessionKey) as JourneyState | undefined;
    if (state?.slug === slug) return state;
    return { slug, answers: {}, submitted: state?.submitted };
  };
  const saveState = (request: FastifyRequest, state: JourneyState) =>
    request.session.set(mode.sessionKey, state);

  async function loadOr404(slug: string) {
    const live = await mode.load(slug);
    if (!live) return null;
    return live;
  }
  const notFound = (reply: FastifyReply) =>
    reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });

  // Start page.
  app.get<{ Params: { slug: string } }>(
    `${mode.prefix}/:slug`,
    { config: pageConfig },
    async (request, reply) => {
      const live = await loadOr404(request.params.slug);
      if (!live) return notFound(reply);
      const who = whoIsAnswering(request, mode);
      const hasDraft =
        who.keepsDraft && (await catalogue.findDraftAnswers(request.resident!.id, live.definition.slug));
      return reply.render('catalogue/views/start.njk', {
        ...layout,
        title: live.definition.title,
        service: live.definition,
        base: base(live.definition.slug),
        hasDraft: Boolean(hasDraft),
        topicName: topics.find((t) => t.code === live.definition.topic)?.name,
        backLink: mode.preview ? `/staff/catalogue/${live.definition.slug}` : '/services',
      });
    },
  );

  app.get<{ Params: { slug: string } }>(`${mode.prefix}/:slug/start`, { config }, async (request, reply) => {
    const live = await loadOr404(request.params.slug);
    if (!live) return notFound(reply);
    const state = stateFor(request, live.definition.slug);
    saveState(request, state);
    const who = whoIsAnswering(request, mode);
    const first = firstUnanswered(live.definition, state.answers, who.ctx);
    return reply.redirect(
      first ? `${base(live.definition.slug)}/questions/${first.id}` : `${base(live.definition.slug)}/check`,
      303,
    );
  });

  // A signed-in resident with saved answers may throw them away and begin again.
  app.post<{ Params: { slug: string } }>(
    `${mode.prefix}/:slug/start-again`,
    { config },
    async (request, reply) => {
      const live = await loadOr404(request.params.slug);
      if (!live) return notFound(reply);
      const who = whoIsAnswering(request, mode);
      const slug = live.definition.slug;
      if (who.keepsDraft) await catalogue.discardDraftAnswers(request.resident!.id, slug);
      saveState(request, { ...stateFor(request, slug), answers: {}, key: undefined });
      return reply.redirect(`${base(slug)}/start`, 303);
    },
  );

  // A signed-in resident carries on from their saved answers.
  app.get<{ Params: { slug: string } }>(`${mode.prefix}/:slug/resume`, { config }, async (request, reply) => {
    const live = await loadOr404(request.params.slug);
    if (!live) return notFound(reply);
    const who = whoIsAnswering(request, mode);
    const slug = live.definition.slug;
    const saved = who.keepsDraft ? await catalogue.findDraftAnswers(request.resident!.id, slug) : undefined;
    const state = stateFor(request, slug);
    if (saved) state.answers = relevantAnswers(live.definition, saved, who.ctx);
    saveState(request, state);
    const first = firstUnanswered(live.definition, state.answers, who.ctx);
    return reply.redirect(first ? `${base(slug)}/questions/${first.id}` : `${base(slug)}/check`, 303);
  });

  app.get<{ Params: { slug: string; questionId: string }; Querystring: Record<string, string> }>(
    `${mode.prefix}/:slug/questions/:questionId`,
    { config: pageConfig },
    async (request, reply) => {
      const live = await loadOr404(request.params.slug);
      if (!live) return notFound(reply);
      const def = live.definition;
      const who = whoIsAnswering(request, mode);
      const state = stateFor(request, def.slug);
      const asked = questionsToAsk(def, state.answers, who.ctx);
      const at = asked.findIndex((q) => q.id === request.params.questionId);
      const firstGap = asked.findIndex((q) => !(q.id in state.answers));
      // No skipping ahead past unanswered questions, and no questions that do not apply.
      if (at < 0 || (firstGap >= 0 && firstGap < at)) {
        const to =
          firstGap >= 0 ? `${base(def.slug)}/questions/${asked[firstGap]!.id}` : `${base(def.slug)}/check`;
        return reply.redirect(to, 303);
      }
      const q = asked[at]!;
      const view: QuestionView = { q, values: valuesFromAnswer(q, state.answers[q.id]) };
      await addressOrLocationSteps(view, request.query, state.answers[q.id]);
      return renderQuestion(reply, live, state, q, view, [], request.query.change === '1', who.ctx);
    },
  );

  async function addressOrLocationSteps(view: QuestionView, query: Record<string, string>, current: unknown) {
    const q = view.q;
    if (q.type === 'address') {
      view.current = current ? formatAnswer(q, current as never) : undefined;
      if (query.manual === '1') view.addressMode = 'manual';
      else if (typeof query.lookup === 'string' && query.lookup.trim()) {
        view.addressMode = 'select';
        view.lookup = query.lookup.trim().slice(0, 100);
        view.addresses = catalogue.gazetteer.findAddresses(view.lookup);
      } else view.addressMode = 'search';
    }
    if (q.type === 'file') view.current = current ? formatAnswer(q, current as never) : undefined;
  }

  function renderQuestion(
    reply: FastifyReply,
    live: LiveService,
    state: JourneyState,
    q: Question,
    view: QuestionView,
    errors: Array<{ field: string; text: string }>,
    change: boolean,
    ctx: AskContext,
  ) {
    const def = live.definition;
    const previous = previousQuestion(def, state.answers, q.id, ctx);
    view.items = ['yes_no', 'single_choice', 'multiple_choice'].includes(q.type)
      ? choiceItems(q, view.values)
      : undefined;
    const action = `${base(def.slug)}/questions/${q.id}${change ? '?change=1' : ''}`;
    return reply.code(errors.length ? 400 : 200).render('catalogue/views/question.njk', {
      ...layout,
      title: q.label,
      service: def,
      base: base(def.slug),
      view,
      action,
      errors,
      change,
      backLink: change
        ? `${base(def.slug)}/check`
        : previous
          ? `${base(def.slug)}/questions/${previous.id}`
          : base(def.slug),
    });
  }

  app.post<{ Params: { slug: string; questionId: string }; Querystring: Record<string, string> }>(
    `${mode.prefix}/:slug/questions/:questionId`,
    // Answering a question creates nothing; only sending the request is rate limited.
    { config },
    async (request, reply) => {
      const live = await loadOr404(request.params.slug);
      if (!live) return notFound(reply);
      const def = live.definition;
      const who = whoIsAnswering(request, mode);
      const state = stateFor(request, def.slug);
      const q = questionsToAsk(def, state.answers, who.ctx).find((x) => x.id === request.params.questionId);
      if (!q) return reply.redirect(`${base(def.slug)}/start`, 303);
      const change = request.query.change === '1';
      const fields = formFields(request.body);
      let result: Validation;
      if (q.type === 'file') result = await uploaded(q, fields[q.id], state.answers[q.id], request);
      else if (q.type === 'address' && fields.mode === 'select' && !fields[`${q.id}-uprn`])
        result = { ok: false, message: 'Select an address', part: 'uprn' };
      else result = validateAnswer(q, answerInput(q, fields), catalogue.gazetteer);

      if (!result.ok) {
        const view: QuestionView = { q, values: keptValues(fields), streets: result.streets };
        if (q.type === 'address') {
          const lookup = typeof fields.lookup === 'string' ? fields.lookup : '';
          await addressOrLocationSteps(
            view,
            fields.mode === 'manual' ? { manual: '1' } : { lookup },
            state.answers[q.id],
          );
        }
        if (q.type === 'file')
          view.current = state.answers[q.id] ? formatAnswer(q, state.answers[q.id]) : undefined;
        return renderQuestion(
          reply,
          live,
          state,
          q,
          view,
          [{ field: errorField(q, result.part), text: result.message }],
          change,
          who.ctx,
        );
      }

      state.answers = relevantAnswers(def, { ...state.answers, [q.id]: result.value }, who.ctx);
      saveState(request, state);
      if (who.keepsDraft) await catalogue.saveDraftAnswers(request.resident!.id, def.slug, state.answers);
      const next = nextQuestion(def, state.answers, q.id, who.ctx);
      // After a change, go back to check answers unless the change opened a new question.
      const to =
        next && (!change || !(next.id in state.answers))
          ? `${base(def.slug)}/questions/${next.id}`
          : `${base(def.slug)}/check`;
      return reply.redirect(to, 303);
    },
  );

  async function uploaded(
    q: Question,
    file: unknown,
    current: unknown,
    request: FastifyRequest,
  ): Promise<Validation> {
    if (!file || typeof file !== 'object' || Array.isArray(file)) {
      // Continuing without choosing again keeps the file already uploaded.
      if (current) return { ok: true, value: current as never };
      return validateAnswer(q, null, catalogue.gazetteer);
    }
    if (mode.preview)
      return { ok: true, value: { fileId: 'preview', name: (file as UploadedFile).filename.slice(0, 120) } };
    try {
      const stored = await platform.files.store(platform.db, {
        name: (file as UploadedFile).filename,
        content: (file as UploadedFile).content,
        accept: uploadTypes,
        uploadedBy: request.resident?.id ?? request.staff?.id,
      });
      return { ok: true, value: { fileId: stored.id, name: stored.originalName } };
    } catch (error) {
      if (error instanceof UploadError) return { ok: false, message: error.message };
      throw error;
    }
  }

  app.get<{ Params: { slug: string } }>(`${mode.prefix}/:slug/check`, { config }, async (request, reply) => {
    const live = await loadOr404(request.params.slug);
    if (!live) return notFound(reply);
    const def = live.definition;
    const who = whoIsAnswering(request, mode);
    const state = stateFor(request, def.slug);
    const gap = firstUnanswered(def, state.answers, who.ctx);
    if (gap) return reply.redirect(`${base(def.slug)}/questions/${gap.id}`, 303);
    state.key ??= randomUUID();
    saveState(request, state);
    return renderCheck(reply, live, state, who.ctx, []);
  });

  function renderCheck(
    reply: FastifyReply,
    live: LiveService,
    state: JourneyState,
    ctx: AskContext,
    errors: Array<{ field: string; text: string }>,
  ) {
    const def = live.definition;
    const rows = questionsToAsk(def, state.answers, ctx).map((q) => ({
      key: { text: q.label },
      value: { text: formatAnswer(q, state.answers[q.id]) },
      actions: {
        items: [
          {
            href: `${base(def.slug)}/questions/${q.id}?change=1`,
            text: 'Change',
            visuallyHiddenText: q.label.toLowerCase(),
          },
        ],
      },
    }));
    return reply.code(errors.length ? 400 : 200).render('catalogue/views/check.njk', {
      ...layout,
      title: 'Check your answers before sending your request',
      service: def,
      base: base(def.slug),
      rows,
      key: state.key,
      errors,
      backLink: `${base(def.slug)}/questions/${questionsToAsk(def, state.answers, ctx).at(-1)?.id}`,
    });
  }

  app.post<{ Params: { slug: string } }>(
    `${mode.prefix}/:slug/check`,
    { config: { ...config, rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      const live = await loadOr404(request.params.slug);
      if (!live) return notFound(reply);
      const def = live.definition;
      const who = whoIsAnswering(request, mode);
      const state = stateFor(request, def.slug);
      const sent = formFields(request.body).key;
      // The same form sent twice: the first one made the case, show its confirmation.
      const done = state.submitted?.find((s) => s.key === sent && s.slug === def.slug);
      if (done) return reply.redirect(`${base(def.slug)}/confirmation/${done.reference}`, 303);
      const gap = firstUnanswered(def, state.answers, who.ctx);
      if (gap) return reply.redirect(`${base(def.slug)}/questions/${gap.id}`, 303);
      // Only a key this session issued is used: a forged one could claim someone else's case.
      if (!state.key || sent !== state.key) return reply.redirect(`${base(def.slug)}/check`, 303);
      if (mode.preview) {
        return renderCheck(reply, live, state, who.ctx, [
          {
            field: 'submit',
            text: 'This is a preview: nothing was sent. Publish the service to take requests.',
          },
        ]);
      }
      const answers = relevantAnswers(def, state.answers, who.ctx);
      const contactQuestion = def.questions.find((q) => q.contactEmail && typeof answers[q.id] === 'string');
      const created = await catalogue.submit({
        live,
        answers,
        residentId: who.residentId,
        channel: who.channel,
        actor: actorOf(request),
        idempotencyKey: `web:${state.key}`,
        contactEmail: contactQuestion ? (answers[contactQuestion.id] as string) : null,
      });
      saveState(request, {
        slug: def.slug,
        answers: {},
        submitted: [
          ...(state.submitted ?? []),
          { key: state.key, reference: created.reference, slug: def.slug, paymentId: created.payment?.id },
        ].slice(-5),
      });
      const confirmation = `${base(def.slug)}/confirmation/${created.reference}`;
      // A fee is paid on the payment pages, which come back to the confirmation page.
      const payAt = await catalogue.paymentStep(created.payment, confirmation);
      return reply.redirect(payAt ?? confirmation, 303);
    },
  );

  if (!mode.preview) {
    app.get<{ Params: { slug: string; reference: string } }>(
      `${mode.prefix}/:slug/confirmation/:reference`,
      async (request, reply) => {
        const live = await loadOr404(request.params.slug);
        if (!live) return notFound(reply);
        const state = request.session.get(mode.sessionKey) as JourneyState | undefined;
        // Only the browser that sent the request sees its confirmation.
        const mine = state?.submitted?.find(
          (s) => s.reference === request.params.reference && s.slug === live.definition.slug,
        );
        if (!mine) return notFound(reply);
        const payment = await catalogue.feePaymentOf(mine.paymentId ? { id: mine.paymentId } : undefined);
        return reply.render('catalogue/views/confirmation.njk', {
          ...layout,
          title: 'Request sent',
          service: live.definition,
          reference: request.params.reference,
          signedIn: Boolean(request.resident),
          payment,
          base: base(live.definition.slug),
        });
      },
    );

    // Pay a fee not yet paid (the first attempt failed or was abandoned).
    app.post<{ Params: { slug: string; reference: string } }>(
      `${mode.prefix}/:slug/confirmation/:reference/pay`,
      async (request, reply) => {
        const state = request.session.get(mode.sessionKey) as JourneyState | undefined;
        const mine = state?.submitted?.find(
          (s) => s.reference === request.params.reference && s.slug === request.params.slug,
        );
        if (!mine?.paymentId) return notFound(reply);
        const confirmation = `${base(request.params.slug)}/confirmation/${mine.reference}`;
        const payment = await catalogue.feePaymentOf({ id: mine.paymentId });
        const payAt = payment ? await catalogue.paymentStep(payment, confirmation) : null;
        return reply.redirect(payAt ?? confirmation, 303);
      },
    );
  }
}
