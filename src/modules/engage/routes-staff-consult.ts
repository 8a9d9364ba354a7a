import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { can } from '../../platform/auth/permissions.ts';
import type { Platform } from '../../platform/module.ts';
import { formFields, londonDate, text, uploadedFile } from './form-body.ts';
import { equalityViews, questionViews } from './question-view.ts';
import { questionKinds, responseChannels, type ResponseChannel } from './schema.ts';
import { channelLabels, EngageError, type EngageService } from './service.ts';

type Errors = Array<{ field: string; text: string }>;

const detailsSchema = z.object({
  title: z
    .string()
    .trim()
    .min(1, { error: 'Enter a title' })
    .max(150, { error: 'Title must be 150 characters or fewer' }),
  summary: z
    .string()
    .trim()
    .min(1, { error: 'Enter a one-sentence summary' })
    .max(300, { error: 'Summary must be 300 characters or fewer' }),
  background: z
    .string()
    .trim()
    .min(1, { error: 'Enter the background residents need to know' })
    .max(20_000, { error: 'Background must be 20,000 characters or fewer' }),
  opensAt: z.string().refine((v) => londonDate(v) !== null, { error: 'Enter a real opening date' }),
  closesAt: z.string().refine((v) => londonDate(v, true) !== null, { error: 'Enter a real closing date' }),
});

const questionSchema = z.object({
  kind: z.enum(questionKinds, { error: 'Choose the type of question' }),
  text: z
    .string()
    .trim()
    .min(1, { error: 'Enter the question' })
    .max(300, { error: 'Question must be 300 characters or fewer' }),
  hint: z.string().trim().max(300, { error: 'Hint must be 300 characters or fewer' }),
  options: z.string().max(5000),
});

const outcomeSchema = z.object({
  youSaid: z.string().trim().min(1, { error: 'Enter what people said' }).max(20_000),
  weDid: z.string().trim().min(1, { error: 'Enter what the council did as a result' }).max(20_000),
  decisionTitle: z.string().trim().min(1, { error: 'Enter the name of the decision' }).max(200),
  decisionUrl: z
    .string()
    .trim()
    .regex(/^(https:\/\/|\/)\S+$/, { error: 'Enter the web address of the decision, starting https:// or /' })
    .max(500),
  changedServiceSlug: z.string().trim().max(80),
});

const kindItems = [
  { value: 'single', text: 'Choose one answer' },
  { value: 'multiple', text: 'Choose several answers' },
  { value: 'scale', text: 'Agree or disagree (a five-point scale)' },
  { value: 'text', text: 'Free text' },
];

function issues(error: z.ZodError): Errors {
  return error.issues.map((i) => ({ field: String(i.path[0]), text: i.message }));
}

/** Back-office pages to run a consultation from draft to "you said, we did". */
export function registerStaffConsultRoutes(app: FastifyInstance, platform: Platform, service: EngageService) {
  const { consultations, responses, results } = service;
  const read = { permission: 'engage:read' as const };
  const consult = { permission: 'engage:consult' as const };
  const enter = { permission: 'engage:enter' as const };
  const base = (reference: string) => `/staff/engage/consultations/${reference}`;

  app.get('/staff/engage', { config: read }, async (_request, reply) => {
    const [list, measures, loans] = await Promise.all([
      consultations.list(),
      service.connectivity.measures(),
      service.devices.loans({ open: true }),
    ]);
    return reply.render('engage/views/staff-home.njk', {
      title: 'Engage and include',
      navSection: 'engage',
      consultations: list.map((c) => ({ ...c, state: consultations.stateOf(c) })),
      measures,
      openLoans: loans.length,
      overdue: loans.filter((l) => l.due_at < new Date()).length,
    });
  });

  const newPage = (reply: FastifyReply, values: Record<string, unknown>, errors: Errors = []) =>
    reply.render('engage/views/staff-consultation-new.njk', {
      title: 'New consultation',
      navSection: 'engage',
      values,
      errors,
      backLink: '/staff/engage',
    });

  app.get('/staff/engage/consultations/new', { config: consult }, async (_request, reply) =>
    newPage(reply, { onePerPerson: 'yes' }),
  );

  const slugOf = (title: string) =>
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60);

  function parseDetails(fields: Record<string, string | string[]>) {
    const parsed = detailsSchema.safeParse({
      title: text(fields, 'title'),
      summary: text(fields, 'summary'),
      background: text(fields, 'background'),
      opensAt: text(fields, 'opensAt'),
      closesAt: text(fields, 'closesAt'),
    });
    if (!parsed.success) return { errors: issues(parsed.error) } as const;
    return {
      value: {
        title: parsed.data.title,
        summary: parsed.data.summary,
        background: parsed.data.background,
        opensAt: londonDate(parsed.data.opensAt)!,
        closesAt: londonDate(parsed.data.closesAt, true)!,
        onePerPerson: text(fields, 'onePerPerson') === 'yes',
        equalityMonitoring: text(fields, 'equalityMonitoring') === 'yes',
      },
    } as const;
  }

  app.post('/staff/engage/consultations', { config: consult }, async (request, reply) => {
    const fields = formFields(request.body);
    const details = parseDetails(fields);
    if ('errors' in details) return newPage(reply.code(400), fields, details.errors);
    const slug = slugOf(details.value.title);
    if (slug.length < 3)
      return newPage(reply.code(400), fields, [
        { field: 'title', text: 'Enter a title with at least three letters' },
      ]);
    try {
      const c = await consultations.create(actorOf(request), { ...details.value, slug });
      request.session.set('flash', 'Draft consultation created. Add its questions, then publish it.');
      return reply.redirect(base(c.reference), 303);
    } catch (error) {
      if (error instanceof EngageError && error.code === 'invalid')
        return newPage(reply.code(400), fields, [
          { field: error.field === 'slug' ? 'title' : (error.field ?? 'title'), text: error.message },
        ]);
      throw error;
    }
  });

  async function detailPage(
    request: FastifyRequest,
    reply: FastifyReply,
    reference: string,
    extra: { errors?: Errors; values?: Record<string, unknown>; question?: Record<string, unknown> } = {},
  ) {
    const c = await consultations.byReference(reference);
    if (!c) return reply.callNotFound();
    const [questions, documents, events, count] = await Promise.all([
      consultations.questions(c.id),
      consultations.documents(c.id),
      consultations.events(c.id),
      results.of(reference).then((r) => r?.total ?? 0),
    ]);
    const day = (d: Date | null) =>
      d ? new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(d) : '';
    return reply.render('engage/views/staff-consultation.njk', {
      title: c.title,
      navSection: 'engage',
      c,
      state: consultations.stateOf(c),
      questions,
      documents,
      events,
      responses: count,
      kindItems: kindItems.map((k) => ({ ...k, checked: extra.question?.kind === k.value })),
      question: extra.question ?? {},
      values: extra.values ?? {
        title: c.title,
        summary: c.summary,
        background: c.background,
        opensAt: day(c.opens_at),
        closesAt: day(c.closes_at),
        onePerPerson: c.one_per_person ? 'yes' : '',
        equalityMonitoring: c.equality_monitoring ? 'yes' : '',
      },
      publicLink: `${platform.config.PUBLIC_URL}/consultations/${c.slug}`,
      canConsult: Boolean(request.staff && can(request.staff.role, 'engage:consult')),
      errors: extra.errors ?? [],
    });
  }

  app.get('/staff/engage/consultations/:reference', { config: read }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return detailPage(request, reply, reference);
  });

  // Every action redirects back to the consultation, with the refusal as the flash when there is one.
  async function act(
    request: FastifyRequest,
    reply: FastifyReply,
    reference: string,
    run: () => Promise<string>,
  ) {
    try {
      request.session.set('flash', await run());
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      if (error.code === 'not_found') return reply.callNotFound();
      return detailPage(request, reply.code(error.code === 'invalid' ? 400 : 409), reference, {
        errors: [{ field: error.field ?? 'actions', text: error.message }],
      });
    }
    return reply.redirect(base(reference), 303);
  }

  app.post('/staff/engage/consultations/:reference/details', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const fields = formFields(request.body);
    const details = parseDetails(fields);
    if ('errors' in details)
      return detailPage(request, reply.code(400), reference, { errors: details.errors, values: fields });
    return act(request, reply, reference, async () => {
      await consultations.updateDetails(actorOf(request), reference, details.value);
      return 'Details saved';
    });
  });

  app.post(
    '/staff/engage/consultations/:reference/questions',
    { config: consult },
    async (request, reply) => {
      const { reference } = request.params as { reference: string };
      const fields = formFields(request.body);
      const parsed = questionSchema.safeParse({
        kind: text(fields, 'kind'),
        text: text(fields, 'text'),
        hint: text(fields, 'hint'),
        options: text(fields, 'options'),
      });
      if (!parsed.success)
        return detailPage(request, reply.code(400), reference, {
          errors: issues(parsed.error),
          question: fields,
        });
      try {
        await consultations.addQuestion(actorOf(request), reference, {
          kind: parsed.data.kind,
          text: parsed.data.text,
          hint: parsed.data.hint,
          options: parsed.data.options.split(/\r?\n/),
          required: text(fields, 'required') === 'yes',
        });
      } catch (error) {
        if (!(error instanceof EngageError)) throw error;
        if (error.code === 'not_found') return reply.callNotFound();
        return detailPage(request, reply.code(400), reference, {
          errors: [{ field: error.field ?? 'text', text: error.message }],
          question: fields,
        });
      }
      request.session.set('flash', 'Question added');
      return reply.redirect(`${base(reference)}#questions`, 303);
    },
  );

  app.post(
    '/staff/engage/consultations/:reference/questions/:id/remove',
    { config: consult },
    async (request, reply) => {
      const { reference, id } = request.params as { reference: string; id: string };
      if (!/^[0-9a-f-]{36}$/.test(id)) return reply.callNotFound();
      return act(request, reply, reference, async () => {
        await consultations.removeQuestion(actorOf(request), reference, id);
        return 'Question removed';
      });
    },
  );

  app.post(
    '/staff/engage/consultations/:reference/documents',
    {
      config: consult,
      errorHandler: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
        if (error.code === 'FST_REQ_FILE_TOO_LARGE' || error.statusCode === 413) {
          const { reference } = request.params as { reference: string };
          return detailPage(request, reply.code(413), reference, {
            errors: [
              {
                field: 'document',
                text: `The selected file must be smaller than ${Math.floor(platform.config.UPLOAD_LIMIT_BYTES / 1_048_576)}MB`,
              },
            ],
          });
        }
        throw error;
      },
    },
    async (request, reply) => {
      const { reference } = request.params as { reference: string };
      const fields = formFields(request.body);
      const title = text(fields, 'documentTitle');
      const file = await uploadedFile(request.body, 'document');
      const errors: Errors = [];
      if (!title) errors.push({ field: 'documentTitle', text: 'Enter the title of the document' });
      else if (title.length > 150)
        errors.push({ field: 'documentTitle', text: 'Title must be 150 characters or fewer' });
      if (!file) errors.push({ field: 'document', text: 'Select a PDF or image to upload' });
      if (errors.length) return detailPage(request, reply.code(400), reference, { errors });
      return act(request, reply, reference, async () => {
        await consultations.addDocument(actorOf(request), reference, {
          title,
          name: file!.name,
          content: file!.content,
        });
        return 'Document added';
      });
    },
  );

  app.post('/staff/engage/consultations/:reference/events', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const fields = formFields(request.body);
    const title = text(fields, 'eventTitle');
    const place = text(fields, 'eventPlace');
    const day = londonDate(text(fields, 'eventDate'));
    const times = [text(fields, 'eventStart'), text(fields, 'eventEnd')].map((t) =>
      t.match(/^([01]\d|2[0-3]):([0-5]\d)$/),
    );
    const errors: Errors = [];
    if (!title || title.length > 150)
      errors.push({ field: 'eventTitle', text: 'Enter the name of the event, up to 150 characters' });
    if (!place || place.length > 200)
      errors.push({ field: 'eventPlace', text: 'Enter where it is, up to 200 characters' });
    if (!day) errors.push({ field: 'eventDate', text: 'Enter a real date' });
    if (!times[0]) errors.push({ field: 'eventStart', text: 'Enter the start time like 18:30' });
    if (!times[1]) errors.push({ field: 'eventEnd', text: 'Enter the end time like 20:00' });
    if (errors.length) return detailPage(request, reply.code(400), reference, { errors });
    const at = (m: RegExpMatchArray) =>
      new Date(day!.getTime() + (Number(m[1]) * 60 + Number(m[2])) * 60_000);
    const bookingReference = text(fields, 'bookingReference').slice(0, 100) || null;
    return act(request, reply, reference, async () => {
      await consultations.addEvent(actorOf(request), reference, {
        title,
        place,
        startsAt: at(times[0]!),
        endsAt: at(times[1]!),
        bookingReference,
      });
      return 'Event added';
    });
  });

  app.post('/staff/engage/consultations/:reference/publish', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return act(request, reply, reference, async () => {
      await consultations.publish(actorOf(request), reference);
      return 'Published. Residents can respond from the opening date.';
    });
  });

  app.post('/staff/engage/consultations/:reference/close', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return act(request, reply, reference, async () => {
      await consultations.close(actorOf(request), reference);
      return 'Closed. No more responses will be counted.';
    });
  });

  // In-person, phone and paper responses, entered by staff with the channel recorded.
  async function enterPage(
    reply: FastifyReply,
    reference: string,
    values: Record<string, unknown>,
    errors: Errors = [],
  ) {
    const c = await consultations.byReference(reference);
    if (!c) return reply.callNotFound();
    const questions = await consultations.questions(c.id);
    return reply.render('engage/views/staff-enter-response.njk', {
      title: `Enter a response: ${c.title}`,
      navSection: 'engage',
      c,
      questions: questionViews(questions, values),
      equality: c.equality_monitoring ? equalityViews(values) : [],
      channelItems: responseChannels
        .filter((ch) => ch !== 'web')
        .map((ch) => ({ value: ch, text: channelLabels[ch], checked: values.channel === ch })),
      email: typeof values.email === 'string' ? values.email : '',
      errors,
      backLink: base(reference),
    });
  }

  app.get(
    '/staff/engage/consultations/:reference/responses/new',
    { config: enter },
    async (request, reply) => {
      const { reference } = request.params as { reference: string };
      return enterPage(reply, reference, {});
    },
  );

  app.post('/staff/engage/consultations/:reference/responses', { config: enter }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const fields = formFields(request.body);
    const channel = text(fields, 'channel') as ResponseChannel;
    if (!responseChannels.includes(channel) || channel === 'web')
      return enterPage(reply.code(400), reference, fields, [
        { field: 'channel', text: 'Select how the response was given' },
      ]);
    try {
      const row = await responses.enterOnBehalf(actorOf(request), reference, channel, fields);
      request.session.set(
        'flash',
        `Response ${row.reference} recorded (${channelLabels[channel].toLowerCase()})`,
      );
      return reply.redirect(`${base(reference)}/responses/new`, 303);
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      if (error.code === 'not_found') return reply.callNotFound();
      return enterPage(
        reply.code(error.code === 'invalid' ? 400 : 409),
        reference,
        fields,
        error.errors.length ? error.errors : [{ field: error.field ?? 'channel', text: error.message }],
      );
    }
  });

  async function resultsPage(
    request: FastifyRequest,
    reply: FastifyReply,
    reference: string,
    errors: Errors = [],
  ) {
    const r = await results.of(reference);
    if (!r) return reply.callNotFound();
    return reply.render('engage/views/staff-results.njk', {
      title: `Results: ${r.consultation.title}`,
      navSection: 'engage',
      ...r,
      c: r.consultation,
      state: consultations.stateOf(r.consultation),
      errors,
      backLink: base(reference),
    });
  }

  app.get('/staff/engage/consultations/:reference/results', { config: read }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return resultsPage(request, reply, reference);
  });

  app.post('/staff/engage/consultations/:reference/themes', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const fields = formFields(request.body);
    const questionId = text(fields, 'questionId');
    const name = text(fields, 'name');
    if (!name || name.length > 80)
      return resultsPage(request, reply.code(400), reference, [
        { field: `theme-${questionId}`, text: 'Enter a theme of up to 80 characters' },
      ]);
    try {
      await results.addTheme(actorOf(request), reference, questionId, name);
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      if (error.code === 'not_found') return reply.callNotFound();
      return resultsPage(request, reply.code(400), reference, [
        { field: error.field ?? `theme-${questionId}`, text: error.message },
      ]);
    }
    request.session.set('flash', `Theme "${name}" added`);
    return reply.redirect(`${base(reference)}/results#question-${questionId}`, 303);
  });

  app.post('/staff/engage/consultations/:reference/tags', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const fields = formFields(request.body);
    const themes = [fields.themes ?? []].flat();
    try {
      await results.tag(
        actorOf(request),
        reference,
        text(fields, 'responseId'),
        text(fields, 'questionId'),
        themes,
      );
    } catch (error) {
      if (error instanceof EngageError && error.code === 'not_found') return reply.callNotFound();
      throw error;
    }
    request.session.set('flash', 'Themes saved');
    return reply.redirect(`${base(reference)}/results#response-${text(fields, 'responseId')}`, 303);
  });

  app.get(
    '/staff/engage/consultations/:reference/responses.csv',
    { config: consult },
    async (request, reply) => {
      const { reference } = request.params as { reference: string };
      const csv = await results.csv(reference);
      if (csv === undefined) return reply.callNotFound();
      return reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="${reference}-responses.csv"`)
        .send(`\uFEFF${csv}`);
    },
  );

  async function outcomePage(
    reply: FastifyReply,
    reference: string,
    values?: Record<string, unknown>,
    errors: Errors = [],
  ) {
    const c = await consultations.byReference(reference);
    if (!c) return reply.callNotFound();
    const services = await service.serviceOptions();
    const current = values ?? {
      youSaid: c.you_said ?? '',
      weDid: c.we_did ?? '',
      decisionTitle: c.decision_title ?? '',
      decisionUrl: c.decision_url ?? '',
      changedServiceSlug: c.changed_service_slug ?? '',
    };
    return reply.render('engage/views/staff-outcome.njk', {
      title: `You said, we did: ${c.title}`,
      navSection: 'engage',
      c,
      values: current,
      serviceItems: [
        { value: '', text: 'No service changed' },
        ...services.map((s) => ({
          value: s.slug,
          text: s.title,
          selected: current.changedServiceSlug === s.slug,
        })),
      ],
      errors,
      backLink: base(reference),
    });
  }

  app.get('/staff/engage/consultations/:reference/outcome', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return outcomePage(reply, reference);
  });

  app.post('/staff/engage/consultations/:reference/outcome', { config: consult }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const fields = formFields(request.body);
    const parsed = outcomeSchema.safeParse({
      youSaid: text(fields, 'youSaid'),
      weDid: text(fields, 'weDid'),
      decisionTitle: text(fields, 'decisionTitle'),
      decisionUrl: text(fields, 'decisionUrl'),
      changedServiceSlug: text(fields, 'changedServiceSlug'),
    });
    if (!parsed.success) return outcomePage(reply.code(400), reference, fields, issues(parsed.error));
    try {
      const { told } = await results.publishOutcome(actorOf(request), reference, {
        ...parsed.data,
        changedServiceSlug: parsed.data.changedServiceSlug || null,
      });
      request.session.set(
        'flash',
        `"You said, we did" is published.${told ? ` We are telling ${told} ${told === 1 ? 'respondent' : 'respondents'}.` : ''}`,
      );
      return reply.redirect(base(reference), 303);
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      if (error.code === 'not_found') return reply.callNotFound();
      return outcomePage(reply.code(error.code === 'invalid' ? 400 : 409), reference, fields, [
        { field: error.field ?? 'youSaid', text: error.message },
      ]);
    }
  });
}
