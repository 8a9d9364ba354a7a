import type { FastifyInstance } from 'fastify';
import type { DemoPeople, ModuleDefinition, Platform } from '../../platform/module.ts';
import type { AccountsService } from '../accounts/index.ts';
import { registerCustomerTimelineSource } from '../cases/index.ts';
import { addDays, routinePosition } from './clock.ts';
import { loadWellbeingConfig, subscriptionClientId, type WellbeingConfig } from './config.ts';
import { feed } from './feed.ts';
import { DeviceDirectory, Ingestor } from './ingest.ts';
import { startBroker, subscribeExternal, type MqttIngestion } from './mqtt.ts';
import { alertTypeLabels, type Room, type SensorKind } from './routine.ts';
import { registerApiRoutes, registerPublicRoutes } from './routes-public.ts';
import { registerStaffRoutes } from './routes-staff.ts';
import { wellbeingMigrations } from './schema.ts';
import { createWellbeingService } from './service.ts';
import { simSensors, simulateHome } from './simulator.ts';
import * as store from './store.ts';

export type { WellbeingService } from './service.ts';
export { alertTypes, alertTypeLabels, type AlertType } from './routine.ts';

export const wellbeingModule: ModuleDefinition = {
  name: 'wellbeing',
  migrations: wellbeingMigrations,
  staffNavigation: [
    { href: '/staff/wellbeing', text: 'Wellbeing', section: 'wellbeing', permission: 'wellbeing:alerts' },
  ],
};

export interface WellbeingDependencies {
  /** My account's data download and deletion cover the person's monitoring data. */
  accounts?: Pick<AccountsService, 'personalData'>;
  config?: WellbeingConfig;
}

/** The payload of `wellbeing.alert_raised` and `wellbeing.alert_resolved` domain events. */
export interface WellbeingAlertEvent {
  alertId: string;
  reference: string;
  residentId: string;
  homeId: string;
  type: string;
  severity: string;
  explanation: string;
  raisedAt: string;
  outcome?: string;
  resolvedAt?: string;
}

/** Builds wellbeing: device registry, MQTT and HTTP ingestion, routines, alerts, family view and reminders. */
export function createWellbeing(platform: Platform, deps: WellbeingDependencies = {}) {
  const config = deps.config ?? loadWellbeingConfig();
  const service = createWellbeingService(platform, {
    deviceSecret: config.WELLBEING_DEVICE_SECRET ?? platform.config.sessionSecret,
    publicUrl: platform.config.PUBLIC_URL,
  });
  const directory = new DeviceDirectory(() => platform.db);

  // Homes with new readings are judged again soon (each home at most every two seconds), so an
  // alert that a reading completes does not wait for the minute job. They are judged as at their
  // latest reading: a hub sending a backlog is catching up, not silent since its first reading.
  const JUDGE_GAP_MS = 2000;
  const pending = new Map<string, Date>();
  const lastJudged = new Map<string, number>();
  let judging = false;
  const judge = async () => {
    if (judging) return;
    judging = true;
    try {
      while (pending.size) {
        const now = Date.now();
        const due: Array<[string, Date]> = [];
        let next = Infinity;
        for (const [id, latest] of pending) {
          const at = (lastJudged.get(id) ?? 0) + JUDGE_GAP_MS;
          if (at <= now) due.push([id, latest]);
          else next = Math.min(next, at);
        }
        if (!due.length) {
          await new Promise((r) => setTimeout(r, next - now));
          continue;
        }
        if (lastJudged.size > 50_000)
          for (const [id, at] of lastJudged) if (at + JUDGE_GAP_MS <= now) lastJudged.delete(id);
        for (const [id, seen] of due) {
          // Readings may have come for it since: judge as at the latest.
          const latest = pending.get(id) ?? seen;
          pending.delete(id);
          lastJudged.set(id, Date.now());
          const at = new Date(Math.min(Date.now(), latest.getTime() + 1000));
          await service.evaluateHome(id, at).catch(() => {});
        }
      }
    } finally {
      judging = false;
    }
  };
  const ingestor = new Ingestor({
    db: () => platform.db,
    directory,
    secret: config.WELLBEING_DEVICE_SECRET ?? platform.config.sessionSecret,
    maxBuffered: config.WELLBEING_BUFFER_MAX,
    batchSize: config.WELLBEING_BATCH_SIZE,
    flushMs: config.WELLBEING_FLUSH_MS,
    onStored: (homes) => {
      if (!platform.config.RUN_WORKERS) return;
      for (const [h, latest] of homes) {
        const before = pending.get(h);
        if (!before || before < latest) pending.set(h, latest);
      }
      void judge();
    },
  });
  let mqtt: MqttIngestion | null = null;

  deps.accounts?.personalData.add({
    name: 'home sensors',
    async export(db, residentId) {
      const homes = await store.homesForResident(db, residentId);
      const alerts = await store.alertsOfResident(db, residentId);
      return {
        homes: await Promise.all(
          homes.map(async (h) => ({
            reference: h.reference,
            address: h.address,
            consentRecordedAt: h.consent_recorded_at,
            consentMethod: h.consent_method,
            familyViewConsent: h.family_view_consent,
            sensors: (await store.devicesOfHome(db, h.id)).map((d) => ({
              reference: d.device_ref,
              kind: d.kind,
              room: d.room,
            })),
            readingsStored: await store.countEvents(db, h.id),
            routine: (await store.routineOf(db, h.id))?.model ?? null,
          })),
        ),
        alerts: alerts.map((a) => ({
          reference: a.reference,
          type: alertTypeLabels[a.type],
          raisedAt: a.raised_at,
          explanation: a.explanation,
          outcome: a.outcome,
        })),
      };
    },
    erase: (tx, residentId) => store.eraseResident(tx, residentId),
  });

  registerCustomerTimelineSource('wellbeing', async (db, residentId) =>
    (await store.alertsOfResident(db, residentId)).map((a) => ({
      at: a.raised_at,
      title: `Wellbeing alert: ${alertTypeLabels[a.type]}`,
      text: `${a.reference}: ${a.explanation}`,
      href: `/staff/wellbeing/alerts/${a.reference}`,
    })),
  );

  // Every minute: judge every home (no movement is noticed by the clock, not by a reading),
  // escalate unacknowledged alerts, send due reminders and note missed ones.
  platform.jobs.define({
    name: 'wellbeing.minute',
    cron: '* * * * *',
    handler: async () => {
      await service.evaluateAll();
      await service.escalate();
      await service.runReminders();
    },
  });

  /** Writes readings straight to the store (simulated history, demo data, bulk import). */
  async function bulkWrite(
    homeId: string,
    readings: Iterable<{
      sensor: string;
      seq: number;
      time: string;
      type: string;
      value: number;
      battery?: number;
    }>,
  ) {
    const devices = new Map(
      (await store.devicesOfHome(platform.db, homeId)).map((d) => [d.device_ref, d.id]),
    );
    let batch: store.EventRow[] = [];
    let written = 0;
    for (const r of readings) {
      const id = devices.get(r.sensor);
      if (!id) continue;
      batch.push({
        home_id: homeId,
        device_id: id,
        seq: r.seq,
        type: r.type,
        value: r.value,
        battery: r.battery ?? null,
        occurred_at: new Date(r.time),
      });
      if (batch.length >= 5000) {
        written += await store.insertEvents(platform.db, batch);
        batch = [];
      }
    }
    written += await store.insertEvents(platform.db, batch);
    return written;
  }

  /** Installs a simulated home (hub and the standard ten sensors) for a resident; returns the device map. */
  async function installSimulatedHome(residentReference: string, address: string, staffId: string) {
    const actor = { type: 'staff' as const, id: staffId };
    const home = await service.installHome(actor, {
      residentReference,
      address,
      consentMethod: 'signed_form',
      familyViewConsent: true,
    });
    const { device: hub, key } = await service.addHub(actor, home.reference);
    const refs = new Map<string, string>([['hub', hub.device_ref]]);
    for (const s of simSensors) {
      const d = await service.addSensor(actor, home.reference, {
        kind: s.kind as SensorKind,
        room: s.room as Room,
        label: s.label,
      });
      refs.set(s.id, d.device_ref);
    }
    return { home, hub, key, refs };
  }

  return {
    service,
    ingestor,
    directory,
    bulkWrite,
    installSimulatedHome,
    /** The MQTT side: Kiln's own broker's port, or the external broker's status. */
    mqtt: () => mqtt,
    async seedDemoData(demo: DemoPeople) {
      const technician = demo.staff.find((s) => s.email === 'technician@kilnford.example') ?? demo.staff[0];
      if (!technician) return;
      const { home, refs } = await installSimulatedHome(
        demo.resident.reference,
        '14 Kiln Lane, Kilnford KF1 2AB',
        technician.id,
      );
      // A week of an ordinary routine, ending yesterday, so the home has a learnt routine to show.
      const sim = simulateHome(7, 8, false);
      const today = routinePosition(new Date()).day;
      await bulkWrite(home.id, feed(sim, addDays(today, -8), refs));
      await service.learnHome(home.id);
      await service.addReminder({ type: 'staff', id: technician.id }, home.reference, {
        kind: 'medication',
        label: 'morning tablets',
        timeOfDay: '08:30',
        channel: 'sms',
        phone: '07700 900 982',
      });
    },
    async register(app: FastifyInstance) {
      const ingest = config.WELLBEING_INGEST ?? platform.config.RUN_WORKERS;
      if (ingest) {
        mqtt = config.MQTT_URL
          ? await subscribeExternal(config.MQTT_URL, ingestor, {
              clientId: subscriptionClientId(config, platform.config),
              shareGroup: config.WELLBEING_MQTT_SHARE_GROUP,
              receiveMaximum: config.WELLBEING_MQTT_RECEIVE_MAXIMUM,
              sessionExpirySeconds: config.WELLBEING_MQTT_SESSION_EXPIRY_SECONDS,
              log: { warn: (m) => app.log.warn(m), error: (m) => app.log.error(m) },
            })
          : await startBroker(
              config.MQTT_BROKER_PORT ?? (platform.config.NODE_ENV === 'test' ? 0 : 1884),
              platform.config.NODE_ENV === 'test' ? '127.0.0.1' : config.MQTT_BROKER_HOST,
              directory,
              ingestor,
            ).catch((error: NodeJS.ErrnoException) => {
              // Another process already has the port (a second Kiln on one machine): this one
              // serves pages and the HTTP batch endpoint; the other takes MQTT.
              if (error.code !== 'EADDRINUSE') throw error;
              app.log.error({ err: error }, 'wellbeing: MQTT broker port in use; not starting a broker here');
              return null;
            });
      }
      app.addHook('onClose', async () => {
        await mqtt?.close();
        await ingestor.close();
      });
      registerStaffRoutes(app, service, {
        metrics: () => ingestor.metrics,
        broker: () => mqtt?.status() ?? null,
      });
      registerPublicRoutes(app, platform, service);
      registerApiRoutes(app, platform, directory, ingestor);
    },
  };
}
