import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { sendProblem, sendValidationProblem, type FieldProblem } from '../../platform/http/problem.ts';
import type { Platform } from '../../platform/module.ts';
import { categories, categoryByCode, checkAnswers } from './categories.ts';
import { text, uploads } from './form.ts';
import { streetByUsrn, streets } from './geography.ts';
import { PhotoError, maxPhotos } from './photos.ts';
import { locatePoint, locateStreet, type ReportLocation, type RequestsService } from './service.ts';

const keySchema = z.uuid();
const emailSchema = z.email('Enter an email address in the correct format, like name@example.com').max(254);

/**
 * The installable app: a one-page report form that also works offline (the page queues the report
 * in IndexedDB and sends it once back online), the JSON endpoint it sends to, and its service worker.
 */
export function registerApp(app: FastifyInstance, platform: Platform, service: RequestsService) {
  const { db } = platform;

  app.get('/report/app', async (_request, reply) =>
    reply.render('requests/views/app-form.njk', {
      title: 'Report a problem',
      navSection: 'report',
      categories,
      streets: [...streets].sort((a, b) => a.name.localeCompare(b.name)),
    }),
  );
  app.get('/report/mine', async (_request, reply) =>
    reply.render('requests/views/mine.njk', { title: 'Reports made on this phone', navSection: 'report' }),
  );

  app.get('/report-sw.js', (_request, reply) =>
    reply
      .header('Service-Worker-Allowed', '/')
      .header('Cache-Control', 'no-cache')
      .type('text/javascript; charset=utf-8')
      .sendFile('sw.js', new URL('./assets/', import.meta.url).pathname),
  );

  const problem = (reply: FastifyReply, errors: FieldProblem[]) => sendValidationProblem(reply, errors);

  // Sent by the app with a key made on the phone: sending twice (a retry after a lost answer) makes one report.
  app.post(
    '/api/v1/street-reports',
    { config: { rateLimit: platform.rateLimits.submissions } },
    async (request, reply) => {
      const key = keySchema.safeParse(request.headers['idempotency-key']);
      if (!key.success)
        return sendProblem(reply, { title: 'An Idempotency-Key header (a UUID) is required', status: 400 });
      const token = `app-${key.data}`;
      const existing = await service.findByToken(db, token);
      if (existing)
        return reply
          .code(200)
          .send({ reference: existing.reference, notice: existing.service_notice, created: false });

      const body = request.body;
      const errors: FieldProblem[] = [];
      const category = categoryByCode(text(body, 'category'));
      if (!category) errors.push({ pointer: '/category', detail: 'Select what you want to report' });
      const given: Record<string, string> = {};
      for (const q of category?.questions ?? []) given[q.id] = text(body, `answer.${q.id}`);
      const checked = category ? checkAnswers(category, given) : { answers: {}, errors: [] };
      for (const e of checked.errors) errors.push({ pointer: `/answer.${e.field}`, detail: e.text });
      const email = emailSchema.safeParse(text(body, 'email'));
      if (!email.success)
        errors.push({
          pointer: '/email',
          detail: text(body, 'email') ? email.error.issues[0]!.message : 'Enter your email address',
        });
      const description = text(body, 'description');
      if (description.length > 2000)
        errors.push({ pointer: '/description', detail: 'Description must be 2,000 characters or fewer' });
      const house = text(body, 'house');
      if (category?.addressBased && !house)
        errors.push({ pointer: '/house', detail: 'Enter the house number or name' });

      let location: ReportLocation | undefined;
      const lat = text(body, 'lat');
      const lng = text(body, 'lng');
      if (lat && lng && !category?.addressBased) {
        const placed = locatePoint(Number(lat), Number(lng));
        if (!placed.ok && placed.reason === 'outside')
          return sendProblem(reply, {
            title: 'This location is outside Kilnford',
            status: 422,
            detail: placed.message,
          });
        if (!placed.ok) errors.push({ pointer: '/lat', detail: placed.message });
        else location = placed.location;
      } else {
        const street = streetByUsrn(text(body, 'usrn'));
        if (!street) errors.push({ pointer: '/usrn', detail: 'Select the street, or use your location' });
        else location = locateStreet(street);
      }
      const files = await uploads(body, 'photo');
      if (files.length > maxPhotos)
        errors.push({ pointer: '/photo', detail: `You can add up to ${maxPhotos} photos` });
      if (errors.length || !category || !location || !email.success) return problem(reply, errors);

      const photoIds: string[] = [];
      for (const file of files) {
        try {
          photoIds.push(await service.storePhoto(db, file.content, file.filename));
        } catch (error) {
          if (error instanceof PhotoError)
            return problem(reply, [{ pointer: '/photo', detail: error.message }]);
          throw error;
        }
      }
      const submitted = await service.submit({
        category: category.code,
        answers: checked.answers,
        description: description || null,
        location,
        address: category.addressBased ? house : null,
        locationNote: null,
        photoFileIds: photoIds,
        channel: 'app',
        residentId: null,
        email: email.data,
        idempotencyKey: token,
        token,
        actor: { type: 'resident', id: null },
      });
      return reply
        .code(submitted.created ? 201 : 200)
        .send({ reference: submitted.reference, notice: submitted.notice, created: submitted.created });
    },
  );
}
