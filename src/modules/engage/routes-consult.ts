import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Platform } from '../../platform/module.ts';
import { formFields, text } from './form-body.ts';
import { equalityViews, questionViews } from './question-view.ts';
import { EngageError, type EngageService } from './service.ts';
import type { ConsultationRow } from './store.ts';

const BROWSER_COOKIE = 'kiln_engage';
const RESUME_KEY = 'engageResume';
const DONE_KEY = 'engageDone';

/** Background text: a blank line starts a new paragraph. */
export function paragraphs(value: string | null | undefined): string[] {
  return (value ?? '')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Residents' consultation pages: the list, a consultation, responding, saving and "you said, we did". */
export function registerConsultRoutes(
  app: FastifyInstance,
  platform: Platform,
  service: EngageService,
  bookingHref: (reference: string) => Promise<string | null>,
) {
  const { consultations, responses } = service;
  const limit = { rateLimit: platform.rateLimits.submissions };

  const browserToken = (request: FastifyRequest) => {
    const value = request.cookies[BROWSER_COOKIE];
    return value && /^[\w-]{20,64}$/.test(value) ? value : null;
  };
  // An anonymous respondent's browser gets its own token, so it finds its draft again and cannot
  // respond twice where one response per person is the rule. It is essential, not tracking.
  const ensureBrowserToken = (request: FastifyRequest, reply: FastifyReply) => {
    const existing = browserToken(request);
    if (existing || request.resident) return existing;
    const created = randomBytes(24).toString('base64url');
    reply.setCookie(BROWSER_COOKIE, created, {
      path: '/consultations',
      httpOnly: true,
      sameSite: 'lax',
      secure: platform.config.secureCookies,
      maxAge: 365 * 86_400,
    });
    return created;
  };
  const resumeToken = (request: FastifyRequest, slug: string) => {
    const saved = request.session.get(RESUME_KEY) as { slug: string; token: string } | undefined;
    return saved?.slug === slug ? saved.token : null;
  };
  const respondent = (request: FastifyRequest, slug: string, token: string | null) => ({
    residentId: request.resident?.id ?? null,
    browserToken: token,
    resumeToken: resumeToken(request, slug),
  });

  async function publicConsultation(slug: string) {
    const c = await consultations.bySlug(slug);
    return c && c.status !== 'draft' ? c : undefined;
  }

  function datesOf(c: ConsultationRow) {
    return { opens: c.opens_at, closes: c.closes_at };
  }

  app.get('/consultations', { config: { pageCache: true } }, async (_request, reply) => {
    const all = await consultations.listPublic();
    return reply.render('engage/views/consultations.njk', {
      title: 'Consultations',
      open: all.filter((c) => c.state.key === 'open' || c.state.key === 'upcoming'),
      closed: all.filter((c) => c.state.key === 'closed' || c.state.key === 'outcome'),
    });
  });

  app.get('/consultations/:slug', { config: { pageCache: true } }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const c = await publicConsultation(slug);
    if (!c) return reply.callNotFound();
    const [documents, events, questions] = await Promise.all([
      consultations.documents(c.id),
      consultations.events(c.id),
      consultations.questions(c.id),
    ]);
    const link = `${platform.config.PUBLIC_URL}/consultations/${c.slug}`;
    return reply.render('engage/views/consultation.njk', {
      title: c.title,
      c,
      state: consultations.stateOf(c),
      background: paragraphs(c.background),
      documents,
      events: await Promise.all(
        events.map(async (e) => ({
          ...e,
          bookingHref: e.booking_reference ? await bookingHref(e.booking_reference) : null,
        })),
      ),
      questionCount: questions.length,
      link,
      shareMail: `mailto:?subject=${encodeURIComponent(`Have your say: ${c.title}`)}&body=${encodeURIComponent(`${c.summary}\n\n${link}`)}`,
      ...datesOf(c),
    });
  });

  app.get('/consultations/documents/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const doc = await consultations.document(id, Boolean(request.staff));
    if (!doc) return reply.callNotFound();
    const extension = doc.media_type === 'application/pdf' ? 'pdf' : doc.media_type.split('/')[1];
    return reply
      .type(doc.media_type)
      .header('Content-Disposition', `inline; filename="${doc.title.replace(/[^\w .-]/g, '_')}.${extension}"`)
      .send(doc.content);
  });

  async function formPage(
    request: FastifyRequest,
    reply: FastifyReply,
    c: ConsultationRow,
    values: Record<string, unknown>,
    errors: Array<{ field: string; text: string }> = [],
  ) {
    const questions = await consultations.questions(c.id);
    return reply.render('engage/views/respond.njk', {
      title: `Respond: ${c.title}`,
      c,
      questions: questionViews(questions, values),
      equality: c.equality_monitoring ? equalityViews(values) : [],
      email: typeof values.email === 'string' ? values.email : '',
      signedIn: Boolean(request.resident),
      errors,
      backLink: `/consultations/${c.slug}`,
      ...datesOf(c),
    });
  }

  function statePage(reply: FastifyReply, c: ConsultationRow, heading: string, message: string) {
    return reply.render('engage/views/respond-refused.njk', { title: heading, c, message });
  }

  app.get('/consultations/:slug/respond', async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const c = await publicConsultation(slug);
    if (!c) return reply.callNotFound();
    const token = ensureBrowserToken(request, reply);
    if (!consultations.isOpen(c)) {
      return statePage(
        reply,
        c,
        'This consultation is not open',
        c.opens_at && c.opens_at > new Date()
          ? 'It is not open for responses yet. Come back when it opens.'
          : 'It has closed, so no more responses can be counted.',
      );
    }
    const own = await responses.own(c.id, respondent(request, slug, token));
    if (own?.status === 'submitted' && c.one_per_person) {
      return statePage(
        reply,
        c,
        'You have already responded',
        `Thank you: we have your response (reference ${own.reference}). Only one response per person is counted.`,
      );
    }
    const values: Record<string, unknown> =
      own?.status === 'draft' ? { ...own.answers, ...own.equality, email: own.email ?? '' } : {};
    return formPage(request, reply, c, values);
  });

  app.post('/consultations/:slug/respond', { config: limit }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const c = await publicConsultation(slug);
    if (!c) return reply.callNotFound();
    const fields = formFields(request.body);
    // The field people cannot see: only a program filling in every field would write in it.
    if (text(fields, 'website')) {
      return statePage(
        reply.code(400),
        c,
        'Your response could not be accepted',
        'It looked as if it was sent by a program, not a person. If you filled it in yourself, go back to the consultation and try again, or contact us to respond another way.',
      );
    }
    const token = ensureBrowserToken(request, reply);
    const submit = text(fields, 'action') !== 'save';
    try {
      const result = await responses.respond(slug, respondent(request, slug, token), fields, { submit });
      if (result.status === 'draft') {
        if (result.resumeToken) request.session.set(RESUME_KEY, { slug, token: result.resumeToken });
        return reply.redirect(`/consultations/${slug}/saved`, 303);
      }
      request.session.set(RESUME_KEY, undefined);
      request.session.set(DONE_KEY, { slug, reference: result.reference });
      return reply.redirect(`/consultations/${slug}/done`, 303);
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      if (error.code === 'invalid') return formPage(request, reply.code(400), c, fields, error.errors);
      if (error.code === 'duplicate')
        return statePage(reply.code(409), c, 'You have already responded', error.message);
      if (error.code === 'closed')
        return statePage(reply.code(409), c, 'This consultation is not open', error.message);
      if (error.code === 'not_found') return reply.callNotFound();
      throw error;
    }
  });

  app.get('/consultations/:slug/saved', async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const c = await publicConsultation(slug);
    if (!c) return reply.callNotFound();
    const token = resumeToken(request, slug);
    return reply.render('engage/views/saved.njk', {
      title: 'Your answers are saved',
      c,
      signedIn: Boolean(request.resident),
      resumeLink: token ? `${platform.config.PUBLIC_URL}/consultations/${slug}/resume/${token}` : null,
      errors: [],
    });
  });

  app.post('/consultations/:slug/saved', { config: limit }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const c = await publicConsultation(slug);
    if (!c) return reply.callNotFound();
    const token = resumeToken(request, slug);
    const email = text(formFields(request.body), 'email').toLowerCase();
    const again = (errors: Array<{ field: string; text: string }>) =>
      reply.code(400).render('engage/views/saved.njk', {
        title: 'Your answers are saved',
        c,
        signedIn: Boolean(request.resident),
        resumeLink: token ? `${platform.config.PUBLIC_URL}/consultations/${slug}/resume/${token}` : null,
        errors,
        email,
      });
    if (!token) return reply.redirect(`/consultations/${slug}/respond`, 303);
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
      return again([
        { field: 'email', text: 'Enter an email address in the correct format, like name@example.com' },
      ]);
    try {
      await responses.emailResumeLink(slug, token, email);
    } catch (error) {
      if (error instanceof EngageError) return again([{ field: 'email', text: error.message }]);
      throw error;
    }
    request.session.set('flash', `We have emailed the link to ${email}`);
    return reply.redirect(`/consultations/${slug}/saved`, 303);
  });

  app.get('/consultations/:slug/resume/:token', async (request, reply) => {
    const { slug, token } = request.params as { slug: string; token: string };
    const c = await publicConsultation(slug);
    if (!c) return reply.callNotFound();
    const draft = /^[\w-]{20,64}$/.test(token) ? await responses.byResumeToken(token) : undefined;
    if (!draft || draft.consultation_id !== c.id || draft.status !== 'draft') {
      return statePage(
        reply.code(404),
        c,
        'That link has expired',
        'The answers saved with this link have been sent or removed. You can start a new response while the consultation is open.',
      );
    }
    request.session.set(RESUME_KEY, { slug, token });
    return reply.redirect(`/consultations/${slug}/respond`, 303);
  });

  app.get('/consultations/:slug/done', async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const c = await publicConsultation(slug);
    const done = request.session.get(DONE_KEY) as { slug: string; reference: string } | undefined;
    if (!c || done?.slug !== slug) return reply.redirect(`/consultations/${slug}`, 303);
    return reply.render('engage/views/done.njk', { title: 'Response sent', c, reference: done.reference });
  });

  app.get('/consultations/:slug/outcome', { config: { pageCache: true } }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const c = await publicConsultation(slug);
    if (!c || !c.outcome_published_at) return reply.callNotFound();
    const results = await service.results.of(c.reference);
    const changed = c.changed_service_slug ? await service.changedService(c.changed_service_slug) : undefined;
    return reply.render('engage/views/outcome.njk', {
      title: `You said, we did: ${c.title}`,
      c,
      youSaid: paragraphs(c.you_said),
      weDid: paragraphs(c.we_did),
      total: results?.total ?? 0,
      charts: (results?.perQuestion ?? []).filter((q) => q.question.kind !== 'text'),
      changed,
    });
  });
}
