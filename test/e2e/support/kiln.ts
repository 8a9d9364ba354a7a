import { createServer } from 'node:net';
import { startTestApp, type TestKiln } from '../../support/app.ts';

export interface RunningKiln {
  kiln: TestKiln;
  /** Where the browser reaches Kiln, e.g. http://127.0.0.1:41873 (also PUBLIC_URL, so emailed links work). */
  baseURL: string;
  close(): Promise<void>;
}

/** The real Kiln (createApp, fresh database, demo data) listening on a free port of 127.0.0.1. */
export async function startKiln(env: Record<string, string> = {}): Promise<RunningKiln> {
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const kiln = await startTestApp({ PUBLIC_URL: baseURL, ...env });
  await kiln.app.listen({ host: '127.0.0.1', port });
  return { kiln, baseURL, close: () => kiln.close() };
}

// PUBLIC_URL must be known before the app is built, so the port is chosen first.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
