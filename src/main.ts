import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { seedDemoData } from './seed/index.ts';

// Starts Kiln: web server and, unless RUN_WORKERS=false, the background workers.
const config = loadConfig();
const kiln = await createApp({ config });
if (config.SEED_DEMO_DATA) {
  const seeded = await seedDemoData(kiln);
  if (seeded) kiln.app.log.info('Demo data for %s added', config.COUNCIL_NAME);
}
await kiln.app.listen({ host: config.HOST, port: config.PORT });
kiln.app.log.info(
  'Kiln is serving %s at %s (%s database)',
  config.COUNCIL_NAME,
  config.PUBLIC_URL,
  kiln.platform.database.kind,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    kiln.app.log.info('Stopping on %s', signal);
    kiln.close().then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
