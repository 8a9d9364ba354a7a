/**
 * A FIFO lock. The embedded database has one connection; this queues its users.
 * A waiter that waits longer than `warnAfterMs` is almost always code that used the root
 * database handle inside an open transaction, which can never finish: it fails loudly instead.
 */
export class Mutex {
  private locked = false;
  private waiters: Array<() => void> = [];
  constructor(private readonly deadlockAfterMs = 30_000) {}

  acquire(): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const grant = () => {
        this.locked = true;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const next = this.waiters.shift();
          if (next) next();
          else this.locked = false;
        });
      };
      if (!this.locked) return grant();
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `Waited ${this.deadlockAfterMs} ms for the embedded database: is the root db used inside a transaction?`,
          ),
        );
      }, this.deadlockAfterMs);
      timer.unref();
      const waiter = () => {
        clearTimeout(timer);
        grant();
      };
      this.waiters.push(waiter);
    });
  }

  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
