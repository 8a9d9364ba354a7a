import { residentMegabytes, sleep } from './support/processes.ts';

/** Samples a process's resident set size while something runs, and returns the peak in MB. */
export async function peakResidentWhile<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; peakMb: number }> {
  let peakMb = residentMegabytes(pid);
  let running = true;
  const sampler = (async () => {
    while (running) {
      peakMb = Math.max(peakMb, residentMegabytes(pid));
      await sleep(250);
    }
  })();
  try {
    const result = await work();
    return { result, peakMb };
  } finally {
    running = false;
    await sampler;
  }
}

/** Resident set size once the process has settled after start (workers polling, nothing else). */
export async function idleResident(pid: number, settleMs = 5000): Promise<number> {
  await sleep(settleMs);
  return residentMegabytes(pid);
}
