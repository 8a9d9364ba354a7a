import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import type { IngestMetrics } from './ingest.ts';
import type { BrokerStatus } from './mqtt.ts';
import { alertTypeLabels, clock, rooms, sensorKinds, type RoutineModel } from './routine.ts';
import { outcomes } from './schema.ts';
import { outcomeLabels, sensorKindLabels, WellbeingError, type WellbeingService } from './service.ts';

const V = 'wellbeing/views';
const alerts = { permission: 'wellbeing:alerts' as const };
const install = { permission: 'wellbeing:install' as const };

type Errors = Array<{ field: string; text: string }>;
const errorsOf = (error: z.ZodError): Errors =>
  error.issues.map((i) => ({ field: String(i.path[0] ?? 'form'), text: i.message }));

const roomLabels: Record<(typeof rooms)[number], string> = {
  bedroom: 'Bedroom',
  bathroom: 'Bathroom',
  kitchen: 'Kitchen',
  living_room: 'Living room',
  hallway: 'Hallway',
};

const consentMethods = {
  signed_form: 'Signed consent form',
  verbal_recorded: 'Verbal consent, recorded in the care plan',
  attorney: 'Lasting power of attorney for health and welfare',
  best_interests: 'Best interests decision (Mental Capacity Act)',
} as const;

const homeSchema = z.object({
  residentReference: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]{4,20}$/, { error: 'Enter the resident’s customer reference, like CU-DEMO-01' }),
  address: z.string().trim().min(5, { error: 'Enter the address of the home' }).max(200),
  consentMethod: z.enum(Object.keys(consentMethods) as [keyof typeof consentMethods], {
    error: 'Choose how the person gave consent',
  }),
  consentConfirmed: z.literal('yes', { error: 'Confirm that you have recorded the person’s consent' }),
  familyViewConsent: z.enum(['yes', 'no'], { error: 'Choose whether family may see a daily summary' }),
});

const sensorSchema = z.object({
  kind: z.enum(sensorKinds, { error: 'Choose the type of sensor' }),
  room: z.enum(rooms, { error: 'Choose the room' }),
  label: z.string().trim().max(60).optional(),
});

const actionSchema = z.object({
  action: z.enum(['acknowledged', 'called', 'visited', 'note'], { error: 'Choose what you did' }),
  note: z.string().trim().max(1000, { error: 'Notes must be 1,000 characters or fewer' }).default(''),
});

const resolveSchema = z.object({
  outcome: z.enum(outcomes, { error: 'Choose the outcome' }),
  note: z.string().trim().max(1000, { error: 'Notes must be 1,000 characters or fewer' }).default(''),
});

const familySchema = z.object({
  name: z.string().trim().min(1, { error: 'Enter the family member’s name' }).max(100),
  relationship: z
    .string()
    .trim()
    .min(1, { error: 'Enter how they are related, for example Daughter' })
    .max(60),
  email: z.email({ error: 'Enter an email address in the correct format, like name@example.com' }).max(200),
});

const reminderSchema = z.object({
  kind: z.enum(['medication', 'hydration'], { error: 'Choose the kind of reminder' }),
  label: z
    .string()
    .trim()
    .min(1, { error: 'Enter what the reminder is for, for example morning tablets' })
    .max(60),
  timeOfDay: z
    .string()
    .trim()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'Enter a time in 24-hour format, like 08:30' }),
  channel: z.enum(['sms', 'voice'], { error: 'Choose text message or voice call' }),
  phone: z
    .string()
    .trim()
    .regex(/^(\+44\s?|0)\d{4}\s?\d{3}\s?\d{3}$/, { error: 'Enter a UK phone number, like 07700 900 982' }),
});

/** The routine as staff read it: the numbers the alerts are judged against. */
export function describeRoutine(model: RoutineModel) {
  const lines: Array<{ key: string; value: string }> = [];
  lines.push({ key: 'Learnt from', value: `${model.days} of the last ${model.window} days` });
  if (model.upWeekday)
    lines.push({
      key: 'Up and about (weekdays)',
      value: `typically ${clock(model.upWeekday.median)}, by ${clock(model.upWeekday.p90)} on 9 days in 10`,
    });
  if (model.upWeekend && model.upWeekend !== model.upWeekday)
    lines.push({ key: 'Up and about (weekends)', value: `typically ${clock(model.upWeekend.median)}` });
  if (model.meals) lines.push({ key: 'Meals or drinks made', value: `${model.meals.mean.toFixed(1)} a day` });
  if (model.bathroom)
    lines.push({
      key: 'Bathroom visits',
      value: `${model.bathroom.mean.toFixed(1)} a day (at most ${model.bathroom.max})`,
    });
  if (model.night)
    lines.push({
      key: 'Movements at night (11pm to 4am)',
      value: `about ${model.night.median} (at most ${model.night.max})`,
    });
  if (model.temperature)
    lines.push({ key: 'Home temperature', value: `about ${model.temperature.median.toFixed(0)}°C` });
  const slack = Object.entries(model.slack).filter(([, v]) => v);
  if (slack.length)
    lines.push({
      key: 'Loosened after false alarms',
      value: slack
        .map(([k, v]) => `${alertTypeLabels[k as keyof typeof alertTypeLabels]} (+${v})`)
        .join(', '),
    });
  return lines;
}

/** Back-office pages: the care team's alert queue, and homes installed by a care technician. */
export function registerStaffRoutes(
  app: FastifyInstance,
  service: WellbeingService,
  ingestion: { metrics: () => IngestMetrics; broker: () => BrokerStatus | null },
) {
  app.get('/staff/wellbeing', { config: alerts }, async (_request, reply) => {
    const queue = await service.queue();
    return reply.render(`${V}/staff-queue.njk`, {
      title: 'Wellbeing alerts',
      navSection: 'wellbeing',
      alerts: queue.map((a) => ({ ...a, typeLabel: alertTypeLabels[a.type] })),
      resolved: (await service.resolvedAlerts()).map((a) => ({ ...a, typeLabel: alertTypeLabels[a.type] })),
    });
  });

  async function alertPage(reply: FastifyReply, reference: string, extra: Record<string, unknown> = {}) {
    const alert = await service.alert(reference);
    return reply.render(`${V}/staff-alert.njk`, {
      title: `${alertTypeLabels[alert.type]}: ${alert.resident_name}`,
      navSection: 'wellbeing',
      backLink: '/staff/wellbeing',
      alert: { ...alert, typeLabel: alertTypeLabels[alert.type] },
      actions: await service.actions(alert.id),
      outcomes: outcomes.map((o) => ({ value: o, text: outcomeLabels[o] })),
      values: {},
      errors: [],
      ...extra,
    });
  }

  app.get('/staff/wellbeing/alerts/:reference', { config: alerts }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return alertPage(reply, reference);
  });

  app.post('/staff/wellbeing/alerts/:reference/actions', { config: alerts }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const parsed = actionSchema.safeParse(request.body ?? {});
    if (!parsed.success) return alertPage(reply.code(400), reference, { errors: errorsOf(parsed.error) });
    try {
      await service.act(actorOf(request), reference, parsed.data.action, parsed.data.note);
    } catch (error) {
      if (error instanceof WellbeingError && error.code === 'state')
        return alertPage(reply.code(409), reference, { errors: [{ field: 'action', text: error.message }] });
      throw error;
    }
    request.session.set('flash', 'Recorded');
    return reply.redirect(`/staff/wellbeing/alerts/${reference}`, 303);
  });

  app.post('/staff/wellbeing/alerts/:reference/resolve', { config: alerts }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const parsed = resolveSchema.safeParse(request.body ?? {});
    if (!parsed.success)
      return alertPage(reply.code(400), reference, { errors: errorsOf(parsed.error), values: request.body });
    try {
      await service.resolve(actorOf(request), reference, parsed.data.outcome, parsed.data.note);
    } catch (error) {
      if (error instanceof WellbeingError && error.code === 'state')
        return alertPage(reply.code(409), reference, { errors: [{ field: 'outcome', text: error.message }] });
      throw error;
    }
    request.session.set('flash', `Alert ${reference} resolved`);
    return reply.redirect('/staff/wellbeing', 303);
  });

  app.get('/staff/wellbeing/homes', { config: install }, async (_request, reply) =>
    reply.render(`${V}/staff-homes.njk`, {
      title: 'Homes with sensors',
      navSection: 'wellbeing',
      homes: await service.listHomes(),
    }),
  );

  function newHomePage(reply: FastifyReply, values: Record<string, unknown> = {}, errors: Errors = []) {
    return reply.render(`${V}/staff-home-new.njk`, {
      title: 'Install sensors in a home',
      navSection: 'wellbeing',
      backLink: '/staff/wellbeing/homes',
      consentMethods: Object.entries(consentMethods).map(([value, text]) => ({ value, text })),
      values,
      errors,
    });
  }

  app.get('/staff/wellbeing/homes/new', { config: install }, async (_request, reply) => newHomePage(reply));

  app.post('/staff/wellbeing/homes', { config: install }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = homeSchema.safeParse(body);
    if (!parsed.success) return newHomePage(reply.code(400), body, errorsOf(parsed.error));
    try {
      const home = await service.installHome(actorOf(request), {
        residentReference: parsed.data.residentReference,
        address: parsed.data.address,
        consentMethod: parsed.data.consentMethod,
        familyViewConsent: parsed.data.familyViewConsent === 'yes',
      });
      request.session.set('flash', `Home ${home.reference} set up. Next, add the hub.`);
      return reply.redirect(`/staff/wellbeing/homes/${home.reference}`, 303);
    } catch (error) {
      if (error instanceof WellbeingError)
        return newHomePage(reply.code(400), body, [{ field: 'residentReference', text: error.message }]);
      throw error;
    }
  });

  async function homePage(reply: FastifyReply, reference: string, extra: Record<string, unknown> = {}) {
    const home = await service.home(reference);
    const routine = await service.routine(home.id);
    return reply.render(`${V}/staff-home.njk`, {
      title: `${home.resident_name}: home ${home.reference}`,
      navSection: 'wellbeing',
      backLink: '/staff/wellbeing/homes',
      home,
      devices: (await service.devices(home.id)).map((d) => ({
        ...d,
        kindLabel: d.role === 'hub' ? 'Hub' : sensorKindLabels[d.kind as keyof typeof sensorKindLabels],
        roomLabel: d.room ? roomLabels[d.room] : '',
      })),
      routine: routine ? describeRoutine(routine.model) : null,
      alerts: (await service.alertsOfHome(home.id)).map((a) => ({
        ...a,
        typeLabel: alertTypeLabels[a.type],
      })),
      family: await service.family(home.id),
      reminders: await service.reminders(home.id),
      prompts: await service.prompts(home.id),
      sensorKinds: sensorKinds.map((k) => ({ value: k, text: sensorKindLabels[k] })),
      rooms: rooms.map((r) => ({ value: r, text: roomLabels[r] })),
      values: {},
      errors: [],
      ...extra,
    });
  }

  app.get('/staff/wellbeing/homes/:reference', { config: install }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    return homePage(reply, reference);
  });

  app.post('/staff/wellbeing/homes/:reference/hub', { config: install }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const { device, key } = await service.addHub(actorOf(request), reference);
    // The key is shown once, on this page, and never stored: only its hash is.
    return reply.header('cache-control', 'no-store').render(`${V}/staff-hub-key.njk`, {
      title: 'Hub added',
      navSection: 'wellbeing',
      homeReference: reference,
      hub: device,
      key,
    });
  });

  app.post('/staff/wellbeing/homes/:reference/sensors', { config: install }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = sensorSchema.safeParse(body);
    if (!parsed.success)
      return homePage(reply.code(400), reference, { errors: errorsOf(parsed.error), values: body });
    const label =
      parsed.data.label ||
      `${roomLabels[parsed.data.room].toLowerCase()} ${sensorKindLabels[parsed.data.kind].toLowerCase()}`;
    const sensor = await service.addSensor(actorOf(request), reference, { ...parsed.data, label });
    request.session.set(
      'flash',
      `Added ${label} (${sensor.device_ref}). Pair it with the hub using this reference.`,
    );
    return reply.redirect(`/staff/wellbeing/homes/${reference}`, 303);
  });

  app.post('/staff/wellbeing/homes/:reference/family', { config: alerts }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = familySchema.safeParse(body);
    const errors = parsed.success
      ? []
      : errorsOf(parsed.error).map((e) => ({ ...e, field: `family-${e.field}` }));
    if (!parsed.success) return homePage(reply.code(400), reference, { errors, values: body });
    try {
      await service.addFamily(actorOf(request), reference, parsed.data);
    } catch (error) {
      if (error instanceof WellbeingError && error.code === 'state')
        return homePage(reply.code(409), reference, {
          errors: [{ field: 'family-name', text: error.message }],
          values: body,
        });
      throw error;
    }
    request.session.set('flash', `${parsed.data.name} has been emailed a link to the daily summary`);
    return reply.redirect(`/staff/wellbeing/homes/${reference}`, 303);
  });

  app.post('/staff/wellbeing/homes/:reference/reminders', { config: alerts }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = reminderSchema.safeParse(body);
    const errors = parsed.success
      ? []
      : errorsOf(parsed.error).map((e) => ({ ...e, field: `reminder-${e.field}` }));
    if (!parsed.success) return homePage(reply.code(400), reference, { errors, values: body });
    await service.addReminder(actorOf(request), reference, parsed.data);
    request.session.set('flash', `Reminder added: ${parsed.data.label} at ${parsed.data.timeOfDay}`);
    return reply.redirect(`/staff/wellbeing/homes/${reference}`, 303);
  });

  app.get('/staff/wellbeing/ingestion', { config: install }, async (_request, reply) => {
    const m = ingestion.metrics();
    return reply.render(`${V}/staff-ingestion.njk`, {
      title: 'Sensor readings received',
      navSection: 'wellbeing',
      metrics: m,
      rejected: Object.entries(m.rejected).map(([reason, n]) => ({ reason: reason.replace(/_/g, ' '), n })),
      broker: ingestion.broker(),
    });
  });

  app.get('/staff/wellbeing/ingestion.json', { config: install }, async (_request, reply) =>
    reply.send({ ...ingestion.metrics(), broker: ingestion.broker() }),
  );
}
