import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { registerOperation } from '../../platform/http/openapi.ts';
import type { Platform } from '../../platform/module.ts';
import { formFields, text } from './form-body.ts';
import { placeOffers, type PlaceOffer } from './schema.ts';
import {
  EngageError,
  fibreStatusLabels,
  offerLabels,
  siteKindLabels,
  eligibilityReasons,
  LOAN_DAYS,
  type EngageService,
} from './service.ts';

type Errors = Array<{ field: string; text: string }>;
const FORM_KEY = 'engageForm';

const phonePattern = /^(\+44\s?|0)[\d\s]{9,13}$/;
const emailSchema = z
  .email({ error: 'Enter an email address in the correct format, like name@example.com' })
  .max(254);

const helpSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, { error: 'Enter your name' })
      .max(100, { error: 'Name must be 100 characters or fewer' }),
    task: z
      .string()
      .trim()
      .min(1, { error: 'Tell us what you need to do online' })
      .max(1000, { error: 'Tell us in 1,000 characters or fewer' }),
    contactBy: z.enum(['email', 'phone'], { error: 'Choose how we should contact you' }),
    email: z.string().trim().max(254),
    phone: z.string().trim().max(20),
  })
  .superRefine((v, ctx) => {
    if (v.contactBy === 'email' && !emailSchema.safeParse(v.email).success)
      ctx.addIssue({
        code: 'custom',
        path: ['email'],
        message: 'Enter an email address in the correct format, like name@example.com',
      });
    if (v.contactBy === 'phone' && !phonePattern.test(v.phone))
      ctx.addIssue({
        code: 'custom',
        path: ['phone'],
        message: 'Enter a UK phone number, like 01632 960 001 or 07700 900 982',
      });
  });

const fibreSchema = z.object({
  organisation: z.string().trim().min(1, { error: 'Enter the name of your organisation' }).max(150),
  name: z.string().trim().min(1, { error: 'Enter your name' }).max(100),
  email: emailSchema,
  phone: z
    .string()
    .trim()
    .refine((v) => v === '' || phonePattern.test(v), {
      error: 'Enter a UK phone number, like 01632 960 001',
    }),
  route: z.string().trim().min(1, { error: 'Tell us which sites or route you want to connect' }).max(1000),
  purpose: z.string().trim().min(1, { error: 'Tell us what the fibre is for' }).max(1000),
});

function issues(error: z.ZodError): Errors {
  return error.issues.map((i) => ({ field: String(i.path[0]), text: i.message }));
}

/** Residents' "get online" pages: the finder, a place, help with a task online, borrowing a device; and the connectivity register. */
export function registerOnlineRoutes(
  app: FastifyInstance,
  platform: Platform,
  service: EngageService,
  bookingHref: (reference: string) => Promise<string | null>,
) {
  const { places, help, connectivity } = service;
  const limit = { rateLimit: platform.rateLimits.submissions };
  // One key per form shown, so a refresh or double click makes one case, not two.
  const formKey = (request: FastifyRequest) => {
    const key = request.session.get(FORM_KEY) as string | undefined;
    return key ?? randomUUID();
  };

  const needItems = (chosen: string[]) =>
    placeOffers.map((o) => ({ value: o, text: offerLabels[o], checked: chosen.includes(o) }));

  app.get('/get-online', { config: { pageCache: true } }, async (_request, reply) =>
    reply.render('engage/views/get-online.njk', {
      title: 'Get online: free help, computers and Wi-Fi',
      needItems: needItems([]),
      values: {},
    }),
  );

  app.get('/get-online/places', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const postcode = typeof query.postcode === 'string' ? query.postcode.slice(0, 12) : '';
    const needs = [query.need ?? []]
      .flat()
      .map(String)
      .filter((n): n is PlaceOffer => (placeOffers as readonly string[]).includes(n));
    try {
      const found = await places.near(postcode, needs);
      return reply.render('engage/views/places.njk', {
        title: `Places near ${found.from.postcode}`,
        from: found.from,
        places: found.places.slice(0, 10),
        needs: needs.map((n) => offerLabels[n]),
        backLink: '/get-online',
      });
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      return reply.code(400).render('engage/views/get-online.njk', {
        title: 'Get online: free help, computers and Wi-Fi',
        needItems: needItems(needs),
        values: { postcode },
        errors: [{ field: 'postcode', text: error.message }],
      });
    }
  });

  app.get('/get-online/places/:slug', { config: { pageCache: true } }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const place = await places.bySlug(slug);
    if (!place) return reply.callNotFound();
    return reply.render('engage/views/place.njk', {
      title: place.name,
      place,
      hours: places.openingHoursRows(place.opening_hours),
      offers: place.offers.map((o) => offerLabels[o]),
      bookingHref: place.booking_reference ? await bookingHref(place.booking_reference) : null,
      classHref: await bookingHref('digital-skills-basics'),
      backLink: '/get-online',
    });
  });

  const helpPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    values: Record<string, unknown>,
    errors: Errors = [],
  ) => {
    const key = formKey(request);
    request.session.set(FORM_KEY, key);
    const all = await places.list();
    return reply.render('engage/views/help.njk', {
      title: 'Ask for help to do something online',
      values,
      errors,
      placeItems: [
        { value: '', text: 'Anywhere, or by phone' },
        ...all.map((p) => ({ value: p.slug, text: p.name, selected: values.place === p.slug })),
      ],
      backLink: '/get-online',
    });
  };

  app.get('/get-online/help', async (request, reply) =>
    helpPage(request, reply, {
      name: request.resident?.name ?? '',
      email: request.resident?.email ?? '',
      place: (request.query as Record<string, string>).place ?? '',
    }),
  );

  app.post('/get-online/help', { config: limit }, async (request, reply) => {
    const fields = formFields(request.body);
    if (text(fields, 'website'))
      return reply.code(400).render('engage/views/refused.njk', { title: 'Your request could not be sent' });
    const parsed = helpSchema.safeParse({
      name: text(fields, 'name'),
      task: text(fields, 'task'),
      contactBy: text(fields, 'contactBy'),
      email: text(fields, 'email'),
      phone: text(fields, 'phone'),
    });
    if (!parsed.success) return helpPage(request, reply.code(400), fields, issues(parsed.error));
    const created = await help.requestHelp(actorOf(request), {
      residentId: request.resident?.id ?? null,
      name: parsed.data.name,
      task: parsed.data.task,
      contactBy: parsed.data.contactBy === 'email' ? 'Email' : 'Phone',
      email: parsed.data.contactBy === 'email' ? parsed.data.email.toLowerCase() : null,
      phone: parsed.data.contactBy === 'phone' ? parsed.data.phone : null,
      placeSlug: text(fields, 'place') || null,
      idempotencyKey: `engage-help:${formKey(request)}`,
    });
    request.session.set(FORM_KEY, undefined);
    request.session.set('engageSent', created.reference);
    return reply.redirect('/get-online/help/sent', 303);
  });

  app.get('/get-online/help/sent', async (request, reply) => {
    const reference = request.session.get('engageSent') as string | undefined;
    if (!reference) return reply.redirect('/get-online/help', 303);
    return reply.render('engage/views/help-sent.njk', { title: 'Request sent', reference });
  });

  app.get('/get-online/borrow-a-device', { config: { pageCache: true } }, async (_request, reply) =>
    reply.render('engage/views/borrow.njk', {
      title: 'Borrow a laptop or tablet',
      reasons: eligibilityReasons,
      loanDays: LOAN_DAYS,
    }),
  );

  app.get('/connectivity', { config: { pageCache: true } }, async (_request, reply) => {
    const [sites, measures] = await Promise.all([connectivity.sites(), connectivity.measures()]);
    return reply.render('engage/views/connectivity.njk', {
      title: 'Full fibre and the council’s network',
      measures,
      council: sites.filter((s) => s.council_owned).map(siteView),
      partners: sites.filter((s) => !s.council_owned).map(siteView),
    });
  });

  const fibrePage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    values: Record<string, unknown>,
    errors: Errors = [],
  ) => {
    request.session.set(FORM_KEY, formKey(request));
    return reply.render('engage/views/dark-fibre.njk', {
      title: 'Enquire about leasing dark fibre',
      values,
      errors,
      backLink: '/connectivity',
    });
  };

  app.get('/connectivity/dark-fibre', async (request, reply) => fibrePage(request, reply, {}));

  app.post('/connectivity/dark-fibre', { config: limit }, async (request, reply) => {
    const fields = formFields(request.body);
    if (text(fields, 'website'))
      return reply.code(400).render('engage/views/refused.njk', { title: 'Your enquiry could not be sent' });
    const parsed = fibreSchema.safeParse(
      Object.fromEntries(
        ['organisation', 'name', 'email', 'phone', 'route', 'purpose'].map((k) => [k, text(fields, k)]),
      ),
    );
    if (!parsed.success) return fibrePage(request, reply.code(400), fields, issues(parsed.error));
    const created = await help.darkFibreEnquiry(actorOf(request), {
      ...parsed.data,
      email: parsed.data.email.toLowerCase(),
      phone: parsed.data.phone || null,
      idempotencyKey: `engage-fibre:${formKey(request)}`,
    });
    request.session.set(FORM_KEY, undefined);
    request.session.set('engageSent', created.reference);
    return reply.redirect('/connectivity/dark-fibre/sent', 303);
  });

  app.get('/connectivity/dark-fibre/sent', async (request, reply) => {
    const reference = request.session.get('engageSent') as string | undefined;
    if (!reference) return reply.redirect('/connectivity/dark-fibre', 303);
    return reply.render('engage/views/dark-fibre-sent.njk', { title: 'Enquiry sent', reference });
  });

  /** The register as open data: every site and the share connected. */
  registerOperation({
    method: 'get',
    path: '/api/v1/engage/connectivity',
    summary: 'The connectivity register: council buildings and network sites with their full-fibre status',
    tags: ['Engage'],
    responses: { '200': { description: 'The share connected and every site, as open data' } },
  });
  app.get('/api/v1/engage/connectivity', async () => {
    const [sites, measures] = await Promise.all([connectivity.sites(), connectivity.measures()]);
    return {
      measures,
      sites: sites.map((s) => ({
        code: s.code,
        name: s.name,
        kind: s.kind,
        councilOwned: s.council_owned,
        postcode: s.postcode,
        fibreStatus: s.fibre_status,
        plannedDate: s.planned_date,
        connectedDate: s.connected_date,
        bandwidthMbps: s.bandwidth_mbps,
      })),
    };
  });
}

export function siteView<
  S extends { kind: keyof typeof siteKindLabels; fibre_status: keyof typeof fibreStatusLabels },
>(s: S) {
  return { ...s, kindLabel: siteKindLabels[s.kind], statusLabel: fibreStatusLabels[s.fibre_status] };
}
