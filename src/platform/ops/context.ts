import { AsyncLocalStorage } from 'node:async_hooks';

/** What a log line should carry about the work in hand: the request, or the job and its request. */
export interface OpsContext {
  requestId?: string;
  job?: string;
  jobId?: string;
}

const storage = new AsyncLocalStorage<OpsContext>();

/** The context of the request or job this code runs for, if any. */
export function currentContext(): OpsContext | undefined {
  return storage.getStore();
}

/** Runs `fn` (and everything it starts) inside `context`. */
export function runInContext<T>(context: OpsContext, fn: () => T): T {
  return storage.run(context, fn);
}

const wellFormed = /^[A-Za-z0-9._:@-]{1,128}$/;

/** A request id from the proxy is accepted only when it is short and plain; otherwise null. */
export function acceptRequestId(value: unknown): string | null {
  return typeof value === 'string' && wellFormed.test(value) ? value : null;
}
