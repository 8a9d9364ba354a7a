import cluster, { type Worker } from 'node:cluster';

export interface CopiesOptions {
  /** How many copies of the server to run. */
  count: number;
  log: (message: string) => void;
  /** Copies that die this many times within a minute mean something is wrong: stop them all. */
  maxRestartsPerMinute?: number;
}

/**
 * Runs copies of this process's server sharing its listening port (node:cluster: this process
 * accepts connections and hands each to a copy in turn), so a web server uses every core of its
 * machine. Call it in the primary; each copy runs the same command and finds itself a cluster
 * worker. A copy that dies is replaced; SIGTERM or SIGINT is passed to every copy, each drains its
 * requests, and this resolves with the worst exit code once all have stopped.
 */
export function runCopies(options: CopiesOptions): Promise<number> {
  const maxRestarts = options.maxRestartsPerMinute ?? options.count * 3;
  const restarts: number[] = [];
  let stopping = false;
  let worst = 0;

  return new Promise((resolve) => {
    const start = () => cluster.fork();
    const stopAll = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      options.log(`Stopping ${liveCopies().length} web processes on ${signal}`);
      for (const copy of liveCopies()) copy.process.kill('SIGTERM');
    };
    cluster.on('exit', (copy: Worker, code: number | null, signal: string | null) => {
      // A copy that died and was replaced is in the log; the exit code tells how the stop went.
      if (stopping && code !== 0) worst = Math.max(worst, code ?? 1);
      if (!stopping) {
        const now = Date.now();
        restarts.push(now);
        while (restarts[0]! < now - 60_000) restarts.shift();
        if (restarts.length > maxRestarts) {
          options.log(`Web processes died ${restarts.length} times in a minute: stopping`);
          worst = Math.max(worst, 1);
          stopAll('SIGTERM');
        } else {
          options.log(
            `Web process ${copy.process.pid} ended (${signal ?? `code ${code}`}); starting another`,
          );
          start();
        }
      }
      if (stopping && liveCopies().length === 0) resolve(worst);
    });
    // Said once every copy listens: until then the first ones take every connection.
    let listening = 0;
    cluster.on('listening', () => {
      listening += 1;
      if (listening === options.count) options.log(`All ${options.count} web processes are listening`);
    });
    process.on('SIGTERM', stopAll);
    process.on('SIGINT', stopAll);
    for (let i = 0; i < options.count; i++) start();
  });
}

function liveCopies(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
}
