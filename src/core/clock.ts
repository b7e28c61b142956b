// Injectable time, so pollers and timeouts can be tested without waiting.

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Calls `probe` until it returns a value other than undefined, or the deadline passes. */
export async function retryUntil<T>(probe: () => Promise<T | undefined>, opts: { timeoutMs: number; intervalMs: number; clock?: Clock; signal?: AbortSignal; onTimeout: () => Error }): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const deadline = clock.now() + opts.timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (clock.now() >= deadline) throw opts.onTimeout();
    await clock.sleep(opts.intervalMs, opts.signal);
  }
}
