import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../../platform/actor.ts';
import type { Platform } from '../../platform/module.ts';
import { answerText, categories, categoryByCode, checkAnswers, type Category } from './categories.ts';
import { findStreets, streetByUsrn } from './geography.ts';
import { text, uploads } from './form.ts';
import { PhotoError, maxPhotos } from './photos.ts';
import {
  locatePoint,
  locateStreet,
  ReportError,
  type ReportLocation,
  type RequestsService,
} from './service.ts';
import { mapSettings } from './settings.ts';

/** A report in progress, kept in the session between the question pages. */
interface Draft {
  key: string;
  category?: string;
  location?: ReportLocation;
  address?: string;
  locationNote?: string;
  answers?: Record<string, string>;
  description?: string;
  photos: string[];
  email?: string;
  meToo?: string;
}

type Errors = Array<{ field: string; text: string }>;

const SESSION_KEY = 'reportIt';
const DONE_KEY = 'reportItDone';
const emailSchema = z
  .email({ message: 'Enter an email address in the correct format, like name@example.com' })
  .max(254);

/** The resident journey at /report: category, place, nearby reports, questions, photos, contact, check, confirmation. */
export function registerReportJourney(app: FastifyInstance, platform: Platform, service: RequestsService) {
  const { db } = platform;
  const submissionLimit = { rateLimit: platform.rateLimits.submissions };

  const draftOf = (request: FastifyRequest) => request.session.get(SESSION_KEY) as Draft | undefined;
  const save = (request: FastifyRequest, draft: Draft) => request.session.set(SESSION_KEY, draft);
  const actorOf = (request: FastifyRequest): Actor =>
    request.resident ? { type: 'resident', id: request.resident.id } : { type: 'resident', id: null };
  const channelOf = (request: FastifyRequest) => (request.session.get('reportItApp') ? 'app' : 'web');

  // Each page needs the answers before it; a person arriving out of order starts from the first missing one.
  function guard(
    request: FastifyRequest,
    reply: FastifyReply,
    needs: Array<'category' | 'location' | 'details'>,
  ) {
    const draft = draftOf(request);
    if (!draft || !draft.category || !categoryByCode(draft.category)) {
      reply.redirect('/report');
      return null;
    }
    if (needs.includes('location') && !draft.location) {
      reply.redirect('/report/location');
      return null;
    }
    if (needs.includes('details') && !draft.answers) {
      reply.redirect('/report/details');
      return null;
    }
    return { draft, category: categoryByCode(draft.category)! };
  }

  const render = (reply: FastifyReply, view: string, context: Record<string, unknown>) =>
    reply.render(`requests/views/${view}.njk`, { navSection: 'report', ...context });

  // ---- What are you reporting? ----
  const categoryPage = (reply: FastifyReply, selected: string | undefined, errors: Errors = []) =>
    render(reply.code(errors.length ? 400 : 200), 'category', {
      title: 'What do you want to report?',
      categories,
      selected,
      errors,
    });

  app.get('/report', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    if (query.source === 'app') request.session.set('reportItApp', true);
    return categoryPage(reply, draftOf(request)?.category);
  });

  app.post('/report', async (request, reply) => {
    const code = text(request.body, 'category');
    const category = categoryByCode(code);
    if (!category)
      return categoryPage(reply, undefined, [{ field: 'category', text: 'Select what you want to report' }]);
    const previous = draftOf(request);
    // A change of category keeps the place and photos but not answers to another category's questions.
    save(request, {
      key: previous?.key ?? service.newIdempotencyKey(),
      ...previous,
      category: category.code,
      answers: previous?.category === category.code ? previous.answers : undefined,
      photos: previous?.photos ?? [],
    });
    return reply.redirect('/report/location');
  });

  // ---- Where is it? ----
  const locationPage = (
    reply: FastifyReply,
    category: Category,
    context: { street?: string; house?: string; note?: string; matches?: unknown[]; errors?: Errors },
  ) =>
    render(reply.code(context.errors?.length ? 400 : 200), 'location', {
      title: category.addressBased ? 'What is the address?' : `Where is ${category.noun}?`,
      category,
      map: mapSettings(),
      backLink: '/report',
      ...context,
    });

  app.get('/report/location', async (request, reply) => {
    const state = guard(request, reply, []);
    if (!state) return reply;
    const { draft, category } = state;
    return locationPage(reply, category, {
      street: draft.location?.streetName,
      house: draft.address,
      note: draft.locationNote,
    });
  });

  app.post('/report/location', { config: submissionLimit }, async (request, reply) => {
    const state = guard(request, reply, []);
    if (!state) return reply;
    const { draft, category } = state;
    const body = request.body;
    const street = text(body, 'street');
    const house = text(body, 'house');
    const note = text(body, 'note');
    const usrn = text(body, 'usrn');
    const lat = text(body, 'lat');
    const lng = text(body, 'lng');
    const errors: Errors = [];
    if (note.length > 200)
      errors.push({ field: 'note', text: 'Description of the place must be 200 characters or fewer' });
    if (category.addressBased && !house)
      errors.push({ field: 'house', text: 'Enter the house number or name' });
    if (house.length > 60)
      errors.push({ field: 'house', text: 'House number or name must be 60 characters or fewer' });

    let location: ReportLocation | undefined;
    if (lat && lng && !category.addressBased) {
      const placed = locatePoint(Number(lat), Number(lng));
      if (!placed.ok && placed.reason === 'outside')
        return render(reply.code(400), 'outside', {
          title: 'We do not look after this location',
          backLink: '/report/location',
        });
      if (!placed.ok) errors.push({ field: 'street', text: placed.message });
      else location = placed.location;
    } else if (usrn) {
      const chosen = streetByUsrn(usrn);
      if (!chosen) errors.push({ field: 'street', text: 'Select the street from the list' });
      else location = locateStreet(chosen);
    } else if (!street) {
      errors.push({
        field: 'street',
        text: category.addressBased ? 'Enter the street name' : 'Enter a street name, or use the map',
      });
    } else {
      const matches = findStreets(street);
      if (matches.length === 0)
        errors.push({
          field: 'street',
          text: `We could not find a street in Kilnford called "${street.slice(0, 60)}". Check the spelling, or enter a nearby street`,
        });
      else if (matches.length === 1) location = locateStreet(matches[0]!);
      else if (errors.length === 0)
        return locationPage(reply, category, { street, house, note, matches: matches.slice(0, 20) });
    }
    if (errors.length || !location) return locationPage(reply, category, { street, house, note, errors });
    save(request, {
      ...draft,
      location,
      address: house || undefined,
      locationNote: note || undefined,
      meToo: undefined,
    });
    if (!category.addressBased) {
      const nearby = await service.nearbyOpen(db, category.code, location.lat, location.lng);
      if (nearby.length) return reply.redirect('/report/nearby');
    }
    return reply.redirect('/report/details');
  });

  // ---- Is it one of these? ----
  const nearbyPage = async (request: FastifyRequest, reply: FastifyReply, errors: Errors = []) => {
    const state = guard(request, reply, ['location']);
    if (!state) return reply;
    const { draft, category } = state;
    const nearby = await service.nearbyOpen(db, category.code, draft.location!.lat, draft.location!.lng);
    if (!nearby.length) return reply.redirect('/report/details');
    return render(reply.code(errors.length ? 400 : 200), 'nearby', {
      title: `Has ${category.noun} here already been reported?`,
      category,
      nearby: nearby.map((n) => ({ ...n, distance: Math.round(n.distance) })),
      backLink: '/report/location',
      errors,
    });
  };
  app.get('/report/nearby', (request, reply) => nearbyPage(request, reply));
  app.post('/report/nearby', async (request, reply) => {
    const state = guard(request, reply, ['location']);
    if (!state) return reply;
    const choice = text(request.body, 'existing');
    if (!choice)
      return nearbyPage(request, reply, [
        {
          field: 'existing',
          text: 'Select the report that is your problem, or select that it is a different problem',
        },
      ]);
    if (choice === 'new') return reply.redirect('/report/details');
    const nearby = await service.nearbyOpen(
      db,
      state.category.code,
      state.draft.location!.lat,
      state.draft.location!.lng,
    );
    if (!nearby.some((n) => n.reference === choice))
      return nearbyPage(request, reply, [{ field: 'existing', text: 'Select one of the reports listed' }]);
    save(request, { ...state.draft, meToo: choice });
    return reply.redirect('/report/me-too');
  });

  // ---- Me too ----
  const meTooPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    email: string,
    errors: Errors = [],
  ) => {
    const draft = draftOf(request);
    const report = draft?.meToo ? await service.findByReference(db, draft.meToo) : undefined;
    if (!draft || !report) return reply.redirect('/report');
    return render(reply.code(errors.length ? 400 : 200), 'me-too', {
      title: 'Get updates on this report',
      report,
      category: categoryByCode(report.category),
      email,
      backLink: '/report/nearby',
      errors,
    });
  };
  app.get('/report/me-too', (request, reply) => meTooPage(request, reply, ''));
  app.post('/report/me-too', { config: submissionLimit }, async (request, reply) => {
    const draft = draftOf(request);
    if (!draft?.meToo) return reply.redirect('/report');
    let email: string | null = null;
    if (!request.resident) {
      const parsed = emailSchema.safeParse(text(request.body, 'email'));
      if (!parsed.success)
        return meTooPage(request, reply, text(request.body, 'email'), [
          {
            field: 'email',
            text: text(request.body, 'email') ? parsed.error.issues[0]!.message : 'Enter your email address',
          },
        ]);
      email = parsed.data;
    }
    try {
      const { report } = await service.follow({
        reference: draft.meToo,
        residentId: request.resident?.id ?? null,
        email,
        reason: 'me_too',
        actor: actorOf(request),
      });
      request.session.set(SESSION_KEY, undefined);
      request.session.set(DONE_KEY, { reference: report.reference, meToo: true });
      return reply.redirect('/report/confirmation');
    } catch (error) {
      if (error instanceof ReportError) return reply.redirect('/report/nearby');
      throw error;
    }
  });

  // ---- Tell us about it ----
  const detailsPage = (
    reply: FastifyReply,
    category: Category,
    values: Record<string, string>,
    errors: Errors = [],
  ) =>
    render(reply.code(errors.length ? 400 : 200), 'details', {
      title: `Tell us about ${category.noun}`,
      category,
      values,
      backLink: '/report/location',
      errors,
    });
  app.get('/report/details', async (request, reply) => {
    const state = guard(request, reply, ['location']);
    if (!state) return reply;
    return detailsPage(reply, state.category, {
      ...state.draft.answers,
      description: state.draft.description ?? '',
    });
  });
  app.post('/report/details', async (request, reply) => {
    const state = guard(request, reply, ['location']);
    if (!state) return reply;
    const given: Record<string, string> = {};
    for (const q of state.category.questions) given[q.id] = text(request.body, q.id);
    const description = text(request.body, 'description');
    const { answers, errors } = checkAnswers(state.category, given);
    if (description.length > 2000)
      errors.push({ field: 'description', text: 'Description must be 2,000 characters or fewer' });
    if (errors.length) return detailsPage(reply, state.category, { ...given, description }, errors);
    save(request, { ...state.draft, answers, description: description || undefined });
    return reply.redirect('/report/photos');
  });

  // ---- Photos ----
  const photosPage = (reply: FastifyReply, draft: Draft, errors: Errors = []) =>
    render(reply.code(errors.length ? 400 : 200), 'photos', {
      title: 'Add photos (optional)',
      photos: draft.photos.map((_, i) => i + 1),
      canAdd: draft.photos.length < maxPhotos,
      maxPhotos,
      backLink: '/report/details',
      errors,
    });
  app.get('/report/photos', async (request, reply) => {
    const state = guard(request, reply, ['location', 'details']);
    if (!state) return reply;
    return photosPage(reply, state.draft);
  });
  app.post(
    '/report/photos',
    {
      config: submissionLimit,
      // An oversized upload is refused while the body is read: answer on the page, not with an error page.
      errorHandler: (error, request, reply) => {
        const draft = draftOf(request);
        const code = (error as { code?: string }).code ?? '';
        if (draft && /FST_(REQ_FILE_TOO_LARGE|FILES_LIMIT|PARTS_LIMIT)/.test(code))
          return photosPage(reply.code(400), draft, [
            { field: 'photo', text: 'The selected file must be smaller than 10MB' },
          ]);
        throw error;
      },
    },
    async (request, reply) => {
      const state = guard(request, reply, ['location', 'details']);
      if (!state) return reply;
      const { draft } = state;
      const action = text(request.body, 'action');
      const remove = text(request.body, 'remove');
      if (remove) {
        const index = Number(remove) - 1;
        if (Number.isInteger(index) && index >= 0 && index < draft.photos.length)
          draft.photos.splice(index, 1);
        save(request, draft);
        return reply.redirect('/report/photos');
      }
      const files = await uploads(request.body, 'photo');
      if (files.length === 0) {
        if (action === 'upload')
          return photosPage(reply, draft, [{ field: 'photo', text: 'Select a photo' }]);
        return reply.redirect(request.resident ? '/report/check' : '/report/contact');
      }
      if (draft.photos.length + files.length > maxPhotos)
        return photosPage(reply, draft, [{ field: 'photo', text: `You can add up to ${maxPhotos} photos` }]);
      for (const file of files) {
        try {
          draft.photos.push(await service.storePhoto(db, file.content, file.filename));
        } catch (error) {
          if (error instanceof PhotoError)
            return photosPage(reply, draft, [{ field: 'photo', text: error.message }]);
          throw error;
        }
      }
      save(request, draft);
      if (action === 'upload') return reply.redirect('/report/photos');
      return reply.redirect(request.resident ? '/report/check' : '/report/contact');
    },
  );
  // A photo in a report still being made: only the session that uploaded it can see it.
  app.get('/report/photos/:n', async (request, reply) => {
    const draft = draftOf(request);
    const n = Number((request.params as { n: string }).n);
    const fileId = draft?.photos[n - 1];
    if (!fileId) return reply.callNotFound();
    const file = await platform.files.read(db, fileId);
    if (!file) return reply.callNotFound();
    return reply.type(file.mediaType).header('Cache-Control', 'private, no-store').send(file.content);
  });

  // ---- How can we contact you? ----
  const contactPage = (reply: FastifyReply, email: string, errors: Errors = []) =>
    render(reply.code(errors.length ? 400 : 200), 'contact', {
      title: 'What is your email address?',
      email,
      backLink: '/report/photos',
      errors,
    });
  app.get('/report/contact', async (request, reply) => {
    const state = guard(request, reply, ['location', 'details']);
    if (!state) return reply;
    if (request.resident) return reply.redirect('/report/check');
    return contactPage(reply, state.draft.email ?? '');
  });
  app.post('/report/contact', async (request, reply) => {
    const state = guard(request, reply, ['location', 'details']);
    if (!state) return reply;
    const given = text(request.body, 'email');
    const parsed = emailSchema.safeParse(given);
    if (!parsed.success)
      return contactPage(reply, given, [
        { field: 'email', text: given ? parsed.error.issues[0]!.message : 'Enter your email address' },
      ]);
    save(request, { ...state.draft, email: parsed.data });
    return reply.redirect('/report/check');
  });

  // ---- Check your answers ----
  app.get('/report/check', async (request, reply) => {
    const state = guard(request, reply, ['location', 'details']);
    if (!state) return reply;
    const { draft, category } = state;
    if (!request.resident && !draft.email) return reply.redirect('/report/contact');
    return render(reply, 'check', {
      title: 'Check your report before sending it',
      category,
      draft,
      answers: category.questions
        .filter((q) => draft.answers?.[q.id])
        .map((q) => ({
          id: q.id,
          question: q.text,
          answer: answerText(category, q.id, draft.answers![q.id]!),
        })),
      photos: draft.photos.map((_, i) => i + 1),
      backLink: '/report/photos',
    });
  });
  app.post('/report/check', { config: submissionLimit }, async (request, reply) => {
    const state = guard(request, reply, ['location', 'details']);
    if (!state) return reply;
    const { draft, category } = state;
    if (!request.resident && !draft.email) return reply.redirect('/report/contact');
    const submitted = await service.submit({
      category: category.code,
      answers: draft.answers!,
      description: draft.description ?? null,
      location: draft.location!,
      address: draft.address ?? null,
      locationNote: draft.locationNote ?? null,
      photoFileIds: draft.photos,
      channel: channelOf(request),
      residentId: request.resident?.id ?? null,
      email: request.resident ? null : draft.email!,
      idempotencyKey: draft.key,
      actor: actorOf(request),
    });
    request.session.set(SESSION_KEY, undefined);
    request.session.set(DONE_KEY, { reference: submitted.reference, meToo: false, notice: submitted.notice });
    return reply.redirect('/report/confirmation');
  });

  app.get('/report/confirmation', async (request, reply) => {
    const done = request.session.get(DONE_KEY) as
      { reference: string; meToo: boolean; notice?: string } | undefined;
    if (!done) return reply.redirect('/report');
    return render(reply, 'confirmation', {
      title: done.meToo ? 'You will get updates on this report' : 'Report sent',
      done,
      signedIn: Boolean(request.resident),
    });
  });
}
