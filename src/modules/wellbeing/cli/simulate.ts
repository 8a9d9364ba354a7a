// npm run simulate:homes: simulated homes for demonstrations, load and evaluation.
//
//   npm run simulate:homes -- --homes 200 --days 35           set up: residents, homes, hubs and sensors,
//                                                             history written in bulk, routines learnt
//   npm run simulate:homes -- --live                          publish today's readings over MQTT as they happen
//
// Set-up opens Kiln's database (DATABASE_URL, or the embedded one in DATA_DIR: stop Kiln first, it
// holds that one open) and writes the hubs' keys and each home's injected, labelled events to
// --file (default data/wellbeing-simulated-homes.json). Live mode needs only that file and the
// broker: Kiln's own (--url mqtt://127.0.0.1:1884, the default) where hubs log in with their keys,
// or another broker (--url mqtt://127.0.0.1:1883 --sign) where each reading is signed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { systemActor } from '../../../platform/actor.ts';
import { addDays, instantOf, routinePosition } from '../clock.ts';
import { feed } from '../feed.ts';
import { sign } from '../ingest.ts';
import { random, simulateHome } from '../simulator.ts';

const { values: args } = parseArgs({
  options: {
    homes: { type: 'string', default: '200' },
    days: { type: 'string', default: '35' },
    seed: { type: 'string', default: '1' },
    live: { type: 'boolean', default: false },
    url: { type: 'string', default: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884' },
    sign: { type: 'boolean', default: false },
    file: { type: 'string', default: `${process.env.DATA_DIR ?? './data'}/wellbeing-simulated-homes.json` },
    'no-inject': { type: 'boolean', default: false },
  },
});

interface SimulatedHomeFile {
  seed: number;
  homeRef: string;
  hubRef: string;
  key: string;
  refs: Record<string, string>;
  /** The routine day that is the simulation's day 0, and the number of history days. */
  firstDay: string;
  days: number;
  seqs: Record<string, number>;
  labels: Array<{ type: string; from: string; until: string; onset: string }>;
}

const first = [
  'Margaret',
  'Albert',
  'Dorothy',
  'Harold',
  'Joan',
  'Ernest',
  'Elsie',
  'Frank',
  'Irene',
  'Stanley',
  'Mabel',
  'Walter',
];
const last = [
  'Ashby',
  'Brindley',
  'Clayton',
  'Dunmore',
  'Etruria',
  'Fenton',
  'Glaze',
  'Hanley',
  'Ivory',
  'Jasper',
  'Kilner',
  'Longton',
];

async function setUp() {
  const homes = Number(args.homes);
  const days = Number(args.days);
  const seed = Number(args.seed);
  const { createApp } = await import('../../../app.ts');
  const { loadConfig } = await import('../../../config.ts');
  process.env.WELLBEING_INGEST = 'false';
  const kiln = await createApp({
    config: loadConfig({ ...process.env, RUN_WORKERS: 'false', LOG_LEVEL: 'warn' }),
  });
  // A fresh installation: the demo council's people first, as `npm start` would add them.
  if (!(await kiln.platform.db.selectFrom('staff_users').select('id').executeTakeFirst())) {
    const { seedDemoData } = await import('../../../seed/index.ts');
    await seedDemoData(kiln);
  }
  const technician = await kiln.platform.db
    .selectFrom('staff_users')
    .select('id')
    .where('email', '=', 'technician@kilnford.example')
    .executeTakeFirst();
  const staffId =
    technician?.id ??
    (await kiln.platform.db.selectFrom('staff_users').select('id').executeTakeFirstOrThrow()).id;
  const today = routinePosition(new Date()).day;
  const firstDay = addDays(today, -days);
  const out: SimulatedHomeFile[] = [];
  const started = Date.now();
  for (let i = 0; i < homes; i++) {
    const homeSeed = seed * 100_003 + i;
    const r = random(homeSeed);
    const name = `${r.pick(first)} ${r.pick(last)}`;
    const resident = await kiln.platform.db.transaction().execute((tx) =>
      kiln.services.cases.service.createResident(tx, {
        name,
        email: null,
        // Ofcom's range for drama: never a real number.
        phone: `07700 900 ${String(i % 1000).padStart(3, '0')}`,
        address: `${i + 1} Simulation Street, Kilnford`,
        actor: systemActor,
      }),
    );
    const w = kiln.services.wellbeing;
    const { home, hub, key, refs } = await w.installSimulatedHome(
      resident.reference,
      `${i + 1} Simulation Street, Kilnford`,
      staffId as string,
    );
    const sim = simulateHome(homeSeed, days + 1, !args['no-inject']);
    const seqs = new Map<string, number>();
    await w.bulkWrite(home.id, feed({ ...sim, days: sim.days.slice(0, days) }, firstDay, refs, seqs));
    await w.service.learnHome(home.id);
    out.push({
      seed: homeSeed,
      homeRef: home.reference,
      hubRef: hub.device_ref,
      key,
      refs: Object.fromEntries(refs),
      firstDay,
      days,
      seqs: Object.fromEntries(seqs),
      labels: sim.labels.map((l) => ({
        type: l.type,
        from: addDays(firstDay, l.day),
        until: addDays(firstDay, l.untilDay),
        onset: instantOf(addDays(firstDay, l.day), l.onset).toISOString(),
      })),
    });
    if ((i + 1) % 10 === 0 || i + 1 === homes)
      console.log(`${i + 1}/${homes} homes, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  mkdirSync(dirname(args.file), { recursive: true });
  writeFileSync(args.file, JSON.stringify(out, null, 2));
  console.log(`Wrote ${args.file}: hub keys and the injected events of ${homes} homes (fictional people).`);
  const today_ = out.flatMap((h) =>
    h.labels.filter((l) => l.from === today).map((l) => `${h.homeRef} ${l.type}`),
  );
  if (today_.length) console.log(`Injected for today (${today_.length}): ${today_.slice(0, 10).join(', ')}`);
  await kiln.close();
}

async function live() {
  const homes = JSON.parse(readFileSync(args.file, 'utf8')) as SimulatedHomeFile[];
  const today = routinePosition(new Date()).day;
  type Pending = { at: number; client: mqtt.MqttClient; topic: string; body: string };
  const queue: Pending[] = [];
  const clients: mqtt.MqttClient[] = [];
  for (const h of homes) {
    const client = await mqtt.connectAsync(args.url, {
      clientId: `sim-${h.hubRef}`,
      ...(args.sign ? {} : { username: h.hubRef, password: h.key }),
      reconnectPeriod: 1000,
    });
    clients.push(client);
    const sim = simulateHome(h.seed, h.days + 1, !args['no-inject']);
    const day = sim.days[h.days]!;
    // Today's readings (the simulation's next day), numbered on from the history's.
    const seqs = new Map(Object.entries(h.seqs));
    for (const r of feed({ ...sim, days: [day] }, today, new Map(Object.entries(h.refs)), seqs)) {
      const { sensor, ...reading } = r;
      const topic = `kiln/homes/${h.homeRef}/sensors/${sensor}/events`;
      const body = args.sign ? { ...reading, hub: h.hubRef, sig: sign(h.key, topic, reading) } : reading;
      queue.push({ at: Date.parse(r.time), client, topic, body: JSON.stringify(body) });
    }
  }
  queue.sort((a, b) => a.at - b.at);
  console.log(
    `${homes.length} hubs connected to ${args.url}; ${queue.length} readings today. Ctrl-C to stop.`,
  );
  let sent = 0;
  let i = 0;
  const stop = () => {
    console.log(`\nPublished ${sent} readings.`);
    for (const c of clients) c.end(true);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  while (i < queue.length) {
    const now = Date.now();
    const batch: Promise<unknown>[] = [];
    while (i < queue.length && queue[i]!.at <= now) {
      const p = queue[i++]!;
      batch.push(p.client.publishAsync(p.topic, p.body, { qos: 1 }));
    }
    await Promise.all(batch);
    sent += batch.length;
    if (batch.length) console.log(`${new Date().toISOString()} published ${batch.length} (total ${sent})`);
    const next = queue[i]?.at ?? now;
    await new Promise((r) => setTimeout(r, Math.min(Math.max(0, next - Date.now()), 10_000)));
  }
  stop();
}

await (args.live ? live() : setUp());
