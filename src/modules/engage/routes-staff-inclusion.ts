import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Platform } from '../../platform/module.ts';
import { formFields, text } from './form-body.ts';
import { siteView } from './routes-online.ts';
import { deviceKinds, fibreStatuses, type FibreStatus } from './schema.ts';
import { EngageError, eligibilityReasons, fibreStatusLabels, type EngageService } from './service.ts';

type Errors = Array<{ field: string; text: string }>;
const kindLabels = { laptop: 'Laptop', tablet: 'Tablet', hotspot: 'Mobile Wi-Fi hotspot' } as const;

const deviceSchema = z.object({
  assetTag: z
    .string()
    .trim()
    .regex(/^[A-Z0-9-]{3,20}$/i, { error: 'Enter the asset tag: 3 to 20 letters, numbers or hyphens' }),
  kind: z.enum(deviceKinds, { error: 'Choose the kind of device' }),
  model: z.string().trim().min(1, { error: 'Enter the make and model' }).max(100),
  notes: z.string().trim().max(500),
});

const lendSchema = z.object({
  assetTag: z.string().trim().min(1, { error: 'Enter the asset tag of the device' }).max(20),
  borrowerName: z.string().trim().min(1, { error: 'Enter the borrower’s name' }).max(100),
  borrowerEmail: z
    .string()
    .trim()
    .refine((v) => v === '' || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), {
      error: 'Enter an email address in the correct format, like name@example.com',
    }),
  borrowerPhone: z
    .string()
    .trim()
    .refine((v) => v === '' || /^(\+44\s?|0)[\d\s]{9,13}$/.test(v), { error: 'Enter a UK phone number' }),
  eligibility: z.string().min(1, { error: 'Select why the borrower is eligible' }),
});

const dateSchema = z
  .string()
  .trim()
  .refine((v) => v === '' || (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v))), {
    error: 'Enter a real date',
  });

function issues(error: z.ZodError): Errors {
  return error.issues.map((i) => ({ field: String(i.path[0]), text: i.message }));
}

/** Back-office pages for device lending, the get-online places and the connectivity register. */
export function registerStaffInclusionRoutes(
  app: FastifyInstance,
  _platform: Platform,
  service: EngageService,
) {
  const { devices, places, connectivity } = service;
  const lend = { permission: 'engage:lend' as const };
  const read = { permission: 'engage:read' as const };
  const network = { permission: 'engage:connectivity' as const };

  async function devicesPage(
    reply: FastifyReply,
    extra: { errors?: Errors; values?: Record<string, unknown>; device?: Record<string, unknown> } = {},
  ) {
    const [stock, loans] = await Promise.all([devices.list(), devices.loans({ open: true })]);
    const now = new Date();
    return reply.render('engage/views/staff-devices.njk', {
      title: 'Device lending',
      navSection: 'engage',
      stock: stock.map((d) => ({ ...d, kindLabel: kindLabels[d.kind] })),
      loans: loans.map((l) => ({ ...l, overdue: l.due_at < now, kindLabel: kindLabels[l.kind] })),
      available: stock
        .filter((d) => d.status === 'available')
        .map((d) => ({ value: d.asset_tag, text: `${d.asset_tag}: ${kindLabels[d.kind]}, ${d.model}` })),
      eligibilityItems: eligibilityReasons.map((r) => ({
        value: r.value,
        text: r.text,
        checked: extra.values?.eligibility === r.value,
      })),
      kindItems: deviceKinds.map((k) => ({
        value: k,
        text: kindLabels[k],
        checked: extra.device?.kind === k,
      })),
      values: extra.values ?? {},
      device: extra.device ?? {},
      errors: extra.errors ?? [],
      backLink: '/staff/engage',
    });
  }

  app.get('/staff/engage/devices', { config: lend }, async (_request, reply) => devicesPage(reply));

  app.post('/staff/engage/devices', { config: lend }, async (request, reply) => {
    const fields = formFields(request.body);
    const parsed = deviceSchema.safeParse({
      assetTag: text(fields, 'newAssetTag'),
      kind: text(fields, 'kind'),
      model: text(fields, 'model'),
      notes: text(fields, 'notes'),
    });
    const fieldOf = (f: string) => (f === 'assetTag' ? 'newAssetTag' : f);
    if (!parsed.success)
      return devicesPage(reply.code(400), {
        device: fields,
        errors: issues(parsed.error).map((e) => ({ ...e, field: fieldOf(e.field) })),
      });
    try {
      await devices.add(actorOf(request), { ...parsed.data, assetTag: parsed.data.assetTag.toUpperCase() });
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      return devicesPage(reply.code(400), {
        device: fields,
        errors: [{ field: fieldOf(error.field ?? 'assetTag'), text: error.message }],
      });
    }
    request.session.set('flash', `${parsed.data.assetTag.toUpperCase()} added to stock`);
    return reply.redirect('/staff/engage/devices', 303);
  });

  app.post('/staff/engage/loans', { config: lend }, async (request, reply) => {
    const fields = formFields(request.body);
    const parsed = lendSchema.safeParse({
      assetTag: text(fields, 'assetTag'),
      borrowerName: text(fields, 'borrowerName'),
      borrowerEmail: text(fields, 'borrowerEmail'),
      borrowerPhone: text(fields, 'borrowerPhone'),
      eligibility: text(fields, 'eligibility'),
    });
    if (!parsed.success)
      return devicesPage(reply.code(400), { values: fields, errors: issues(parsed.error) });
    try {
      const loan = await devices.lend(actorOf(request), {
        assetTag: parsed.data.assetTag.toUpperCase(),
        borrowerName: parsed.data.borrowerName,
        borrowerEmail: parsed.data.borrowerEmail.toLowerCase() || null,
        borrowerPhone: parsed.data.borrowerPhone || null,
        residentId: null,
        eligibility: parsed.data.eligibility,
      });
      request.session.set(
        'flash',
        `Lent ${parsed.data.assetTag.toUpperCase()} to ${loan.borrower_name}: loan ${loan.reference}`,
      );
      return reply.redirect(`/staff/engage/loans/${loan.reference}`, 303);
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      return devicesPage(reply.code(error.code === 'unavailable' ? 409 : 400), {
        values: fields,
        errors: [{ field: error.field ?? 'assetTag', text: error.message }],
      });
    }
  });

  async function loanPage(
    request: FastifyRequest,
    reply: FastifyReply,
    reference: string,
    errors: Errors = [],
  ) {
    const loan = await devices.loan(reference);
    if (!loan) return reply.callNotFound();
    return reply.render('engage/views/staff-loan.njk', {
      title: `Loan ${loan.reference}`,
      navSection: 'engage',
      loan: {
        ...loan,
        kindLabel: kindLabels[loan.kind],
        overdue: !loan.returned_at && loan.due_at < new Date(),
      },
      eligibility: eligibilityReasons.find((r) => r.value === loan.eligibility)?.text ?? loan.eligibility,
      errors,
      backLink: '/staff/engage/devices',
    });
  }

  app.get('/staff/engage/loans/:reference', { config: lend }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return loanPage(request, reply, reference);
  });

  app.post('/staff/engage/loans/:reference/return', { config: lend }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const fields = formFields(request.body);
    const condition = text(fields, 'condition');
    if (condition !== 'good' && condition !== 'damaged')
      return loanPage(request, reply.code(400), reference, [
        { field: 'condition', text: 'Select the condition it came back in' },
      ]);
    try {
      await devices.return(actorOf(request), reference, condition, text(fields, 'note').slice(0, 500));
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      if (error.code === 'not_found') return reply.callNotFound();
      return loanPage(request, reply.code(409), reference, [{ field: 'condition', text: error.message }]);
    }
    request.session.set(
      'flash',
      condition === 'good' ? 'Returned and back in stock' : 'Returned and sent for repair',
    );
    return reply.redirect(`/staff/engage/loans/${reference}`, 303);
  });

  app.get('/staff/engage/places', { config: read }, async (_request, reply) => {
    const all = await places.list();
    return reply.render('engage/views/staff-places.njk', {
      title: 'Get online places',
      navSection: 'engage',
      places: all,
      backLink: '/staff/engage',
    });
  });

  async function connectivityPage(
    reply: FastifyReply,
    errors: Errors = [],
    values: Record<string, unknown> = {},
  ) {
    const [sites, measures] = await Promise.all([connectivity.sites(), connectivity.measures()]);
    return reply.render('engage/views/staff-connectivity.njk', {
      title: 'Connectivity register',
      navSection: 'engage',
      sites: sites.map(siteView),
      measures,
      siteItems: sites.map((s) => ({
        value: s.code,
        text: `${s.name} (${s.code})`,
        selected: values.code === s.code,
      })),
      statusItems: fibreStatuses.map((s) => ({
        value: s,
        text: fibreStatusLabels[s],
        checked: values.status === s,
      })),
      values,
      errors,
      backLink: '/staff/engage',
    });
  }

  app.get('/staff/engage/connectivity', { config: network }, async (_request, reply) =>
    connectivityPage(reply),
  );

  app.post('/staff/engage/connectivity', { config: network }, async (request, reply) => {
    const fields = formFields(request.body);
    const status = text(fields, 'status') as FibreStatus;
    const errors: Errors = [];
    if (!fibreStatuses.includes(status))
      errors.push({ field: 'status', text: 'Select the full fibre status' });
    const planned = dateSchema.safeParse(text(fields, 'plannedDate'));
    const connected = dateSchema.safeParse(text(fields, 'connectedDate'));
    if (!planned.success) errors.push({ field: 'plannedDate', text: 'Enter a real planned date' });
    if (!connected.success) errors.push({ field: 'connectedDate', text: 'Enter a real connection date' });
    const bandwidthText = text(fields, 'bandwidthMbps');
    const bandwidth = bandwidthText ? Number(bandwidthText) : null;
    if (bandwidth !== null && (!Number.isInteger(bandwidth) || bandwidth < 1 || bandwidth > 100_000))
      errors.push({
        field: 'bandwidthMbps',
        text: 'Enter the bandwidth as a whole number of megabits per second',
      });
    if (errors.length) return connectivityPage(reply.code(400), errors, fields);
    try {
      await connectivity.update(actorOf(request), text(fields, 'code'), {
        status,
        plannedDate: planned.data || null,
        connectedDate: connected.data || null,
        bandwidthMbps: bandwidth,
      });
    } catch (error) {
      if (!(error instanceof EngageError)) throw error;
      return connectivityPage(
        reply.code(400),
        [{ field: error.field ?? 'code', text: error.message }],
        fields,
      );
    }
    request.session.set('flash', 'Connectivity updated');
    return reply.redirect('/staff/engage/connectivity', 303);
  });
}
