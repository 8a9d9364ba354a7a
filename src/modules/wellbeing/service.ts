import { randomBytes } from 'node:crypto';
import type { Actor } from '../../platform/actor.ts';
import { systemActor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { formatLondon } from '../../platform/time.ts';
import { addDays, instantOf, routinePosition } from './clock.ts';
import { hubKey, sha256 } from './ingest.ts';
import {
  alertTypeLabels,
  clock,
  DAY_START_HOUR,
  dayFeatures,
  detect,
  learn,
  quietDays,
  severities,
  type AlertType,
  type Candidate,
  type DayFeatures,
  type Reading,
  type Room,
  type RoutineModel,
  type SensorKind,
} from './routine.ts';
import type { Outcome } from './schema.ts';
import * as store from './store.ts';

/** A refusal with words fit to show staff. */
export class WellbeingError extends Error {
  constructor(
    readonly code: 'not_found' | 'invalid' | 'state',
    message: string,
  ) {
    super(message);
  }
}

export const sensorKindLabels: Record<SensorKind, string> = {
  motion: 'Motion sensor',
  front_door: 'Front door contact',
  fridge: 'Fridge door contact',
  kettle: 'Kettle smart plug',
  bed: 'Bed occupancy pad',
  temperature: 'Thermometer',
};

export const outcomeLabels: Record<Outcome, string> = {
  well_no_action: 'Spoke to them: well, no action needed',
  visited_helped: 'Visited and helped',
  gp_or_111: 'Referred to GP or NHS 111',
  ambulance: 'Ambulance called',
  family_informed: 'Family informed and taking it from here',
  sensor_fixed: 'Sensor or hub fixed',
  false_alarm: 'False alarm: the routine was normal',
};

// How much a false alarm loosens a home's threshold for that type of alert (and the most it may).
const slackPerFalseAlarm: Partial<Record<AlertType, [number, number]>> = {
  no_activity: [15, 60],
  long_inactivity: [30, 120],
  night_activity: [3, 15],
  bathroom_increase: [1, 4],
  fewer_meals: [0.2, 0.6],
  declining_activity: [0.05, 0.15],
};

export interface WellbeingSettings {
  deviceSecret: string;
  publicUrl: string;
}

export type WellbeingService = ReturnType<typeof createWellbeingService>;

export function createWellbeingService(platform: Platform, settings: WellbeingSettings) {
  const { db } = platform;
  const council = platform.config.COUNCIL_NAME;

  platform.notify.defineTemplate('wellbeing-family-invitation', {
    subject: 'Daily updates about ((resident))',
    body:
      'Dear ((name)),\n\n((resident)) has agreed that you can see a daily summary of their routine from the home sensors ' +
      '((council)) has installed. It shows how their day went, not what they do minute by minute.\n\n' +
      'Open your page: ((link))\n\nKeep this link private. Ask the care team if you want it stopped.',
  });
  platform.notify.defineTemplate('wellbeing-prompt-sms', {
    subject: '',
    body: '((council)): time for your ((label)). Done? Tap to tell us: ((link))',
  });
  platform.notify.defineTemplate('wellbeing-prompt-voice', {
    subject: '',
    body: 'This is a reminder call from ((council)). It is time for your ((label)). Press 1 when you have done it. ((link))',
  });
  platform.notify.defineTemplate('wellbeing-escalation', {
    subject: 'Wellbeing alert not acknowledged: ((reference))',
    body:
      'Alert ((reference)) for ((resident)) (((type))) was raised at ((raised)) and has not been acknowledged ' +
      'within ((minutes)) minutes.\n\n((explanation))\n\nOpen it: ((link))',
  });

  async function resolveHome(reference: string) {
    const home = await store.homeByReference(db, reference);
    if (!home) throw new WellbeingError('not_found', 'No home with that reference');
    return home;
  }

  function readingOf(
    e: Awaited<ReturnType<typeof store.eventsOfHome>>[number],
    dayStart: number,
  ): Reading | null {
    const t = (e.occurred_at.getTime() - dayStart) / 60_000;
    if (e.role === 'hub') return { t, kind: 'hub', room: null, sensorId: e.device_ref, value: 1 };
    if (e.type === 'heartbeat')
      return {
        t,
        kind: 'check',
        room: e.room as Room | null,
        sensorId: e.device_ref,
        value: 1,
        battery: e.battery,
      };
    return {
      t,
      kind: e.kind as SensorKind,
      room: (e.room as Room | null) ?? null,
      sensorId: e.device_ref,
      value: e.value,
      battery: e.battery,
    };
  }

  /** A routine day's readings, from its 04:00 up to `until` (at most the day's end). */
  async function readingsOf(homeId: string, day: string, until?: Date) {
    const start = instantOf(day, 0);
    const end = instantOf(addDays(day, 1), 0);
    const to = until && until < end ? until : end;
    const events = await store.eventsOfHome(db, homeId, start, to);
    return events.map((e) => readingOf(e, start.getTime())).filter((r): r is Reading => r !== null);
  }

  async function slackOf(homeId: string): Promise<RoutineModel['slack']> {
    const slack: RoutineModel['slack'] = {};
    for (const { type, n } of await store.falseAlarmCounts(db, homeId)) {
      const rule = slackPerFalseAlarm[type as AlertType];
      if (rule) slack[type as AlertType] = Math.min(rule[1], rule[0] * Number(n));
    }
    return slack;
  }

  /** Features of finished days missing from the store, then the model from the last 28. */
  async function learnHome(homeId: string, at = new Date()): Promise<RoutineModel> {
    const today = routinePosition(at).day;
    const from = addDays(today, -42);
    const stored = await store.daysOfHome(db, homeId, from, today);
    const have = new Set(stored.map((d) => d.day));
    for (let day = from; day < today; day = addDays(day, 1)) {
      if (have.has(day)) continue;
      const readings = await readingsOf(homeId, day);
      if (readings.length === 0) continue;
      const features = dayFeatures(readings, routinePosition(instantOf(day, 600)).weekend);
      await store.upsertDay(db, homeId, day, features);
      stored.push({ day, features });
    }
    stored.sort((a, b) => a.day.localeCompare(b.day));
    const model = learn(
      stored.map((d) => d.features),
      await slackOf(homeId),
    );
    await store.saveRoutine(db, homeId, model);
    return model;
  }

  async function history(homeId: string, day: string): Promise<DayFeatures[]> {
    const rows = await store.daysOfHome(db, homeId, addDays(day, -42), day);
    return rows.map((r) => r.features);
  }

  async function context(homeId: string, day: string, weekend: boolean) {
    const start = instantOf(day, 0);
    const devices = await store.devicesOfHome(db, homeId);
    const last = new Map(
      (await store.lastReadingBefore(db, homeId, start)).map((r) => [r.device_ref, new Date(r.at as never)]),
    );
    const rel = (d: Date | undefined) => (d ? (d.getTime() - start.getTime()) / 60_000 : null);
    const hub = devices.find((d) => d.role === 'hub');
    return {
      weekend,
      history: await history(homeId, day),
      hubLastHeardBefore: hub ? (rel(last.get(hub.device_ref)) ?? undefined) : undefined,
      inBedBefore: await store.lastBedStateBefore(db, homeId, start),
      sensors: devices
        .filter((d) => d.role === 'sensor')
        .map((d) => ({
          id: d.device_ref,
          label: d.label,
          lastHeardBefore: rel(last.get(d.device_ref)) ?? (d.created_at < start ? rel(d.created_at) : null),
        })),
    };
  }

  /** Raises an alert unless the same change was already raised; returns it when new. */
  async function raise(homeId: string, day: string, c: Candidate, raisedAt: Date) {
    const home = await store.homeById(db, homeId);
    if (!home || home.status !== 'active') return null;
    return db.transaction().execute(async (tx) => {
      const latest = await store.latestAlert(tx, homeId, c.type, c.sensorId ?? null);
      if (latest) {
        const latestDay = store.dayString(latest.day);
        const gap = (Date.parse(day) - Date.parse(latestDay)) / 86_400_000;
        // A sensor stays one alert until someone resolves it; other changes once per quiet period.
        if ((c.type === 'sensor_offline' || c.type === 'low_battery') && latest.status !== 'resolved')
          return null;
        if (gap < quietDays[c.type]) return null;
      }
      const alert = await store.insertAlert(tx, {
        reference: await freshReference(tx, 'wellbeing_alerts', 'WA'),
        home_id: homeId,
        resident_id: home.resident_id,
        type: c.type,
        severity: c.severity,
        sensor_ref: c.sensorId ?? null,
        day,
        explanation: c.explanation,
        evidence: { ...c.evidence, detectedAt: instantOf(day, c.at).toISOString() },
        raised_at: raisedAt,
      });
      await store.insertAction(tx, { alert_id: alert.id, action: 'raised', note: null, staff_id: null });
      await recordAudit(tx, {
        actor: systemActor,
        action: 'wellbeing.alert_raised',
        subjectType: 'wellbeing_alert',
        subjectId: alert.id,
        detail: { reference: alert.reference, type: c.type, home: home.reference },
      });
      await platform.events.publish(tx, {
        type: 'wellbeing.alert_raised',
        subjectType: 'wellbeing_alert',
        subjectId: alert.id,
        actor: systemActor,
        payload: eventPayload(alert),
      });
      return alert;
    });
  }

  function eventPayload(alert: store.AlertRow) {
    return {
      alertId: alert.id,
      reference: alert.reference,
      residentId: alert.resident_id,
      homeId: alert.home_id,
      type: alert.type,
      severity: alert.severity,
      explanation: alert.explanation,
      raisedAt: alert.raised_at.toISOString(),
    };
  }

  /**
   * Judges a home at an instant: finishes the previous routine day if it has not been (its
   * night and whole-day rules, and learning), then today's readings so far.
   */
  async function evaluateHome(homeId: string, at = new Date()) {
    const pos = routinePosition(at);
    const yesterday = addDays(pos.day, -1);
    const raised: store.AlertRow[] = [];
    const stored = await store.daysOfHome(db, homeId, yesterday, pos.day);
    let routine = await store.routineOf(db, homeId);
    // Yesterday is finished once its features are stored. A day without readings never is, so
    // learning it again is left until its readings come (a hub catching up) or the next day:
    // homes are judged every few seconds while readings flow, and learning reads six weeks.
    const today = instantOf(pos.day, 0);
    const finish =
      !routine ||
      (stored.length === 0 &&
        (new Date(routine.learnt_at) < today ||
          (await store.hasEventsBetween(db, homeId, instantOf(yesterday, 0), today))));
    if (finish) {
      const readings = await readingsOf(homeId, yesterday);
      if (readings.length && routine) {
        const ctx = await context(homeId, yesterday, !!routinePosition(instantOf(yesterday, 600)).weekend);
        for (const c of detect(routine.model, readings, 1440, ctx)) {
          const alert = await raise(homeId, yesterday, c, at);
          if (alert) raised.push(alert);
        }
      }
      await learnHome(homeId, at);
      routine = await store.routineOf(db, homeId);
    }
    if (!routine) return raised;
    const readings = await readingsOf(homeId, pos.day, at);
    const ctx = await context(homeId, pos.day, pos.weekend);
    for (const c of detect(routine.model, readings, pos.t, ctx)) {
      const alert = await raise(homeId, pos.day, c, at);
      if (alert) raised.push(alert);
    }
    return raised;
  }

  async function alertForStaff(reference: string, tx: Db = db, forUpdate = false) {
    const alert = await store.alertByReference(tx, reference, forUpdate);
    if (!alert) throw new WellbeingError('not_found', 'No alert with that reference');
    return alert;
  }

  return {
    evaluateHome,
    learnHome,
    readingsOf,

    /** Every active home, judged now (the minute job). */
    async evaluateAll(at = new Date()) {
      let count = 0;
      for (const id of await store.activeHomeIds(db)) count += (await evaluateHome(id, at)).length;
      return count;
    },

    /** A technician installs a home for a resident who has given consent. */
    async installHome(
      actor: Actor,
      input: {
        residentReference: string;
        address: string;
        consentMethod: string;
        familyViewConsent: boolean;
      },
    ) {
      const resident = await store.residentByReference(db, input.residentReference);
      if (!resident) throw new WellbeingError('invalid', 'No resident with that customer reference');
      return db.transaction().execute(async (tx) => {
        const home = await store.insertHome(tx, {
          reference: await freshReference(tx, 'wellbeing_homes', 'WH'),
          resident_id: resident.id,
          address: input.address,
          consent_recorded_at: new Date(),
          consent_recorded_by: actor.id!,
          consent_method: input.consentMethod,
          family_view_consent: input.familyViewConsent,
        });
        await recordAudit(tx, {
          actor,
          action: 'wellbeing.home_installed',
          subjectType: 'wellbeing_home',
          subjectId: home.id,
          detail: {
            reference: home.reference,
            consentMethod: input.consentMethod,
            resident: resident.reference,
          },
        });
        return home;
      });
    },

    /** Adds the home's hub and returns its key: shown once, to type into the hub. */
    async addHub(actor: Actor, homeReference: string) {
      const home = await resolveHome(homeReference);
      const ref = await freshReference(db, 'wellbeing_devices', 'HB', { column: 'device_ref' });
      const key = hubKey(settings.deviceSecret, ref, 1);
      const device = await db.transaction().execute(async (tx) => {
        const d = await store.insertDevice(tx, {
          home_id: home.id,
          device_ref: ref,
          role: 'hub',
          kind: 'hub',
          room: 'hallway',
          label: 'home hub',
          key_hash: sha256(key),
        });
        await store.setHome(tx, home.id, { installed_at: new Date() });
        await recordAudit(tx, {
          actor,
          action: 'wellbeing.hub_added',
          subjectType: 'wellbeing_home',
          subjectId: home.id,
          detail: { hub: ref },
        });
        return d;
      });
      return { device, key };
    },

    async addSensor(
      actor: Actor,
      homeReference: string,
      input: { kind: SensorKind; room: Room; label: string },
    ) {
      const home = await resolveHome(homeReference);
      return db.transaction().execute(async (tx) => {
        const d = await store.insertDevice(tx, {
          home_id: home.id,
          device_ref: await freshReference(tx, 'wellbeing_devices', 'SN', { column: 'device_ref' }),
          role: 'sensor',
          kind: input.kind,
          room: input.room,
          label: input.label,
          key_hash: null,
        });
        await recordAudit(tx, {
          actor,
          action: 'wellbeing.sensor_added',
          subjectType: 'wellbeing_home',
          subjectId: home.id,
          detail: { sensor: d.device_ref, kind: input.kind, room: input.room },
        });
        return d;
      });
    },

    home: resolveHome,
    listHomes: () => store.listHomes(db),
    devices: (homeId: string) => store.devicesOfHome(db, homeId),
    routine: (homeId: string) => store.routineOf(db, homeId),

    queue: () => store.listAlerts(db, ['open', 'acknowledged']),
    resolvedAlerts: () => store.listAlerts(db, ['resolved'], undefined, 50),
    alertsOfHome: (homeId: string) => store.listAlerts(db, ['open', 'acknowledged', 'resolved'], homeId, 50),
    alert: (reference: string) => alertForStaff(reference),
    actions: (alertId: string) => store.actionsOf(db, alertId),

    /** Records what a member of the care team did: acknowledged, called, visited, or a note. */
    async act(
      actor: Actor,
      reference: string,
      action: 'acknowledged' | 'called' | 'visited' | 'note',
      note: string,
    ) {
      return db.transaction().execute(async (tx) => {
        const alert = await alertForStaff(reference, tx, true);
        if (alert.status === 'resolved') throw new WellbeingError('state', 'This alert is already resolved');
        if (action === 'acknowledged' && alert.status !== 'open')
          throw new WellbeingError('state', 'This alert is already acknowledged');
        if (alert.status === 'open')
          await store.updateAlert(tx, alert.id, {
            status: 'acknowledged',
            acknowledged_at: new Date(),
            acknowledged_by: actor.id,
          });
        await store.insertAction(tx, { alert_id: alert.id, action, note: note || null, staff_id: actor.id });
        await recordAudit(tx, {
          actor,
          action: `wellbeing.alert_${action}`,
          subjectType: 'wellbeing_alert',
          subjectId: alert.id,
          detail: { reference, note: note || undefined },
        });
      });
    },

    /** Closes an alert with its outcome; a false alarm loosens that home's threshold for the type. */
    async resolve(actor: Actor, reference: string, outcome: Outcome, note: string) {
      const alert = await db.transaction().execute(async (tx) => {
        const a = await alertForStaff(reference, tx, true);
        if (a.status === 'resolved') throw new WellbeingError('state', 'This alert is already resolved');
        const now = new Date();
        await store.updateAlert(tx, a.id, {
          status: 'resolved',
          acknowledged_at: a.acknowledged_at ?? now,
          acknowledged_by: a.acknowledged_by ?? actor.id,
          resolved_at: now,
          resolved_by: actor.id,
          outcome,
          false_alarm: outcome === 'false_alarm',
        });
        await store.insertAction(tx, {
          alert_id: a.id,
          action: 'resolved',
          note: `${outcomeLabels[outcome]}${note ? `: ${note}` : ''}`,
          staff_id: actor.id,
        });
        await recordAudit(tx, {
          actor,
          action: 'wellbeing.alert_resolved',
          subjectType: 'wellbeing_alert',
          subjectId: a.id,
          detail: { reference, outcome },
        });
        await platform.events.publish(tx, {
          type: 'wellbeing.alert_resolved',
          subjectType: 'wellbeing_alert',
          subjectId: a.id,
          actor,
          payload: { ...eventPayload(a), outcome, resolvedAt: now.toISOString() },
        });
        return a;
      });
      if (outcome === 'false_alarm') {
        const routine = await store.routineOf(db, alert.home_id);
        if (routine)
          await store.saveRoutine(db, alert.home_id, {
            ...routine.model,
            slack: await slackOf(alert.home_id),
          });
      }
    },

    /** Alerts not acknowledged in time go to the team leaders of adult social care. */
    async escalate(now = new Date()) {
      const due = await store.alertsToEscalate(db, now);
      for (const a of due) {
        await db.transaction().execute(async (tx) => {
          await store.updateAlert(tx, a.id, { escalated_at: now });
          await store.insertAction(tx, { alert_id: a.id, action: 'escalated', note: null, staff_id: null });
          const home = await store.homeById(tx, a.home_id);
          const leads = await store.staffEmailsOfTeams(
            tx,
            ['team_lead'],
            ['adult-social-care', 'care-technology'],
          );
          const fallback = leads.length ? leads : await store.staffEmailsOfTeams(tx, ['admin'], ['digital']);
          for (const { email } of fallback) {
            await platform.notify.send(
              tx,
              { channel: 'email', recipient: email },
              {
                template: 'wellbeing-escalation',
                personalisation: {
                  reference: a.reference,
                  resident: home?.resident_name ?? 'a resident',
                  type: alertTypeLabels[a.type],
                  raised: formatLondon(a.raised_at, true),
                  minutes: String(home?.escalation_minutes ?? 30),
                  explanation: a.explanation,
                  link: `${settings.publicUrl}/staff/wellbeing/alerts/${a.reference}`,
                },
              },
            );
          }
          await recordAudit(tx, {
            actor: systemActor,
            action: 'wellbeing.alert_escalated',
            subjectType: 'wellbeing_alert',
            subjectId: a.id,
            detail: { reference: a.reference, notified: fallback.length },
          });
        });
      }
      return due.length;
    },

    /** Adds a family member with the person's consent; they are emailed their private link. */
    async addFamily(
      actor: Actor,
      homeReference: string,
      input: { name: string; relationship: string; email: string },
    ) {
      const home = await resolveHome(homeReference);
      if (!home.family_view_consent)
        throw new WellbeingError(
          'state',
          'The person has not agreed to a family view: record their consent first',
        );
      const token = randomBytes(24).toString('base64url');
      await db.transaction().execute(async (tx) => {
        const f = await store.insertFamily(tx, {
          home_id: home.id,
          name: input.name,
          relationship: input.relationship,
          email: input.email,
          token_hash: sha256(token),
          consent_recorded_at: new Date(),
        });
        await platform.notify.send(
          tx,
          { channel: 'email', recipient: input.email },
          {
            template: 'wellbeing-family-invitation',
            personalisation: {
              name: input.name,
              resident: home.resident_name,
              council,
              link: `${settings.publicUrl}/wellbeing/family/${token}`,
            },
          },
        );
        await recordAudit(tx, {
          actor,
          action: 'wellbeing.family_added',
          subjectType: 'wellbeing_home',
          subjectId: home.id,
          detail: { family: f.id, relationship: input.relationship },
        });
      });
      return token;
    },

    async setFamilyConsent(actor: Actor, homeReference: string, consent: boolean) {
      const home = await resolveHome(homeReference);
      await db.transaction().execute(async (tx) => {
        await store.setHome(tx, home.id, { family_view_consent: consent });
        await recordAudit(tx, {
          actor,
          action: 'wellbeing.family_consent_changed',
          subjectType: 'wellbeing_home',
          subjectId: home.id,
          detail: { consent },
        });
      });
    },

    family: (homeId: string) => store.familyOfHome(db, homeId),

    /** The family's view: a short daily summary for the last week, never raw readings. */
    async familySummary(token: string, at = new Date()) {
      const member = await store.familyByToken(db, sha256(token));
      if (!member) return null;
      const home = await store.homeById(db, member.home_id);
      if (!home || !home.family_view_consent || home.status === 'closed') return null;
      const today = routinePosition(at).day;
      const days = await store.daysOfHome(db, home.id, addDays(today, -7), today);
      const routine = await store.routineOf(db, home.id);
      const todaySoFar = dayFeatures(await readingsOf(home.id, today, at), routinePosition(at).weekend);
      const summaries = [
        { day: today, features: todaySoFar, partial: true },
        ...days.reverse().map((d) => ({ ...d, partial: false })),
      ].map((d) => ({
        day: d.day,
        title: d.partial ? 'Today so far' : formatLondon(instantOf(d.day, 600), false),
        lines: summaryLines(d.features, routine?.model ?? null, d.partial),
      }));
      const open = (await store.listAlerts(db, ['open', 'acknowledged'], home.id)).filter(
        (a) => a.severity !== 'info',
      );
      return { member, residentName: home.resident_name, summaries, careTeamLooking: open.length > 0 };
    },

    /** A medication or hydration prompt at a local time each day, by text message or voice call. */
    async addReminder(
      actor: Actor,
      homeReference: string,
      input: {
        kind: 'medication' | 'hydration';
        label: string;
        timeOfDay: string;
        channel: 'sms' | 'voice';
        phone: string;
      },
    ) {
      const home = await resolveHome(homeReference);
      return db.transaction().execute(async (tx) => {
        const r = await store.insertReminder(tx, {
          home_id: home.id,
          kind: input.kind,
          label: input.label,
          time_of_day: input.timeOfDay,
          channel: input.channel,
          phone: input.phone,
        });
        await recordAudit(tx, {
          actor,
          action: 'wellbeing.reminder_added',
          subjectType: 'wellbeing_home',
          subjectId: home.id,
          detail: { kind: input.kind, time: input.timeOfDay, channel: input.channel },
        });
        return r;
      });
    },

    reminders: (homeId: string) => store.remindersOfHome(db, homeId),
    prompts: (homeId: string) => store.promptsOfHomeSince(db, homeId, new Date(Date.now() - 7 * 86_400_000)),

    /** Sends the prompts now due, marks unanswered ones missed, and raises a missed-pattern alert. */
    async runReminders(now = new Date()) {
      let sent = 0;
      for (const r of await store.activeReminders(db)) {
        const [h, m] = r.time_of_day.split(':').map(Number) as [number, number];
        const pos = routinePosition(now);
        const due = instantOf(pos.day, (h * 60 + m - DAY_START_HOUR * 60 + 1440) % 1440);
        if (due > now || now.getTime() - due.getTime() > 15 * 60_000) continue;
        const token = randomBytes(18).toString('base64url');
        await db.transaction().execute(async (tx) => {
          const prompt = await store.insertPrompt(tx, {
            reminder_id: r.id,
            home_id: r.home_id,
            due_at: due,
            token_hash: sha256(token),
          });
          if (!prompt) return;
          sent++;
          await platform.notify.send(
            tx,
            { channel: 'sms', recipient: r.phone },
            {
              template: r.channel === 'voice' ? 'wellbeing-prompt-voice' : 'wellbeing-prompt-sms',
              personalisation: {
                council,
                label: r.label,
                link: `${settings.publicUrl}/wellbeing/prompts/${token}`,
              },
            },
          );
        });
      }
      const missed = await store.markMissedPrompts(db, new Date(now.getTime() - 60 * 60_000));
      for (const homeId of new Set(missed.map((m) => m.home_id))) {
        const week = await store.promptsOfHomeSince(db, homeId, new Date(now.getTime() - 7 * 86_400_000));
        const missedOnes = week.filter((p) => p.status === 'missed');
        if (missedOnes.length >= 3) {
          const pos = routinePosition(now);
          await raise(
            homeId,
            pos.day,
            {
              type: 'missed_prompts',
              severity: severities.missed_prompts,
              at: pos.t,
              explanation: `${missedOnes.length} of the last ${week.length} reminders this week were not confirmed (${[...new Set(missedOnes.map((p) => p.label))].join(', ')}). Missed medication or drinks can lead to a fall or confusion.`,
              evidence: { missed: missedOnes.length, prompts: week.length },
            },
            now,
          );
        }
      }
      return { sent, missed: missed.length };
    },

    async prompt(token: string) {
      return (await store.promptByToken(db, sha256(token))) ?? null;
    },

    async confirmPrompt(token: string) {
      const p = await store.promptByToken(db, sha256(token));
      if (!p) throw new WellbeingError('not_found', 'This reminder link is not valid');
      if (p.status === 'confirmed') return p;
      await store.setPrompt(db, p.id, { status: 'confirmed', answered_at: new Date() });
      return { ...p, status: 'confirmed' as const };
    },

    alertsOfResident: (residentId: string) => store.alertsOfResident(db, residentId),
    homesOfResident: (residentId: string) => store.homesForResident(db, residentId),
    hubKeyFor: (ref: string, version = 1) => hubKey(settings.deviceSecret, ref, version),
  };
}

/** A day in words for the family: how the day went, not what was done minute by minute. */
export function summaryLines(f: DayFeatures, model: RoutineModel | null, partial: boolean): string[] {
  if (!f.hasData) return ['No readings: the home hub may have been offline.'];
  const lines: string[] = [];
  lines.push(
    f.upAt !== null
      ? `Up and about by ${clock(f.upAt)}`
      : partial
        ? 'Not up and about yet'
        : 'Stayed in the bedroom most of the day',
  );
  lines.push(`${f.meals} ${f.meals === 1 ? 'meal' : 'meals'} or drinks made in the kitchen`);
  if (!partial) {
    const usualNight = model?.night?.median ?? 2;
    lines.push(f.night <= usualNight + 3 ? 'A settled night' : 'A restless night, up more than usual');
  }
  if (f.medianTemp !== null)
    lines.push(`Home ${f.medianTemp < 16 ? 'cold' : 'warm'}, about ${Math.round(f.medianTemp)}°C`);
  return lines;
}
