import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A port nobody is listening on right now. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port')),
      );
    });
  });
}

export interface Server {
  name: string;
  url: string;
  /** The process that serves HTTP (under `npm start` that is npm's grandchild, not npm). */
  pid: number;
  /** Every process doing the server's work, when it is more than `pid` (web copies, a worker). */
  pids?: () => number[];
  /** The last lines the process wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Variables of this process's environment the server must not inherit. */
  unsetEnv?: string[];
  port: number;
  /** A piece of the serving process's command line, to find it below npm and sh. */
  marker: string;
  startTimeoutMs?: number;
  /** What answers 200 once it is ready (default /health). */
  healthPath?: string;
}

/** Starts a server as a child process and waits until GET /health answers 200. */
export async function startServer(options: StartOptions): Promise<Server> {
  const env = { ...process.env, ...options.env };
  for (const name of options.unsetEnv ?? []) delete env[name];
  const child = spawn(options.command, options.args, {
    cwd: rootDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stopping it also stops whatever npm started.
    detached: true,
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 180_000);
  while (true) {
    if (hasExited) throw new Error(`${options.name} exited while starting:\n${tail}`);
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`${options.name} did not answer /health in time:\n${tail}`);
    }
    try {
      const response = await fetch(`${url}${options.healthPath ?? '/health'}`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  const pid = findProcess(child.pid!, options.marker) ?? child.pid!;
  return {
    name: options.name,
    url,
    pid,
    output: () => tail,
    async stop() {
      // The server's own SIGTERM handler closes the database cleanly (and writes a CPU profile).
      // One signal each: the server drains on the first, and a second would end it at once.
      if (pid !== child.pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await stopChild(child, exited);
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid!, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 20_000);
  await exited;
  clearTimeout(timer);
}

/** Depth-first search of a process's descendants for one whose command line contains `marker`. */
export function findProcess(rootPid: number, marker: string): number | undefined {
  const args = (readProc(`/proc/${rootPid}/cmdline`) ?? '').split('\0');
  if (/(^|\/)node$/.test(args[0] ?? '') && args.join(' ').includes(marker)) return rootPid;
  const children = (readProc(`/proc/${rootPid}/task/${rootPid}/children`) ?? '').trim().split(/\s+/);
  for (const child of children.filter(Boolean)) {
    const found = findProcess(Number(child), marker);
    if (found) return found;
  }
  return undefined;
}

/** Resident set size of a process in MB (VmRSS in /proc/<pid>/status). */
export function residentMegabytes(pid: number): number {
  const status = readProc(`/proc/${pid}/status`);
  const match = status?.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`No VmRSS for process ${pid}`);
  return Math.round((Number(match[1]) / 1024) * 10) / 10;
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readProc(`/proc/${pid}/stat`);
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (!fields || fields.length < 13) throw new Error(`No CPU time for process ${pid}`);
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** A process's children (Linux). */
export function childProcesses(pid: number): number[] {
  return (readProc(`/proc/${pid}/task/${pid}/children`) ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
}

/** CPU seconds of a server's processes together: all of them when it names several. */
export function serverCpuSeconds(server: Server): number {
  return (server.pids?.() ?? [server.pid]).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
