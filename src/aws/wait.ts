// Waiting for an AWS state (instance running, image available, …) on an injectable clock. The first
// look is immediate; then the delay grows from 1 s to 15 s, unless the user fixed it (Packer's
// `aws_polling`, `AWS_POLL_DELAY_SECONDS`, `AWS_MAX_ATTEMPTS`, `AWS_TIMEOUT_SECONDS`).
import { systemClock, type Clock } from '../core/clock.js';
import { KilnError } from '../core/errors.js';

type Probe<T> = { done: true; value: T } | { done: false; state: string } | { failed: string };

export interface PollSettings {
  /** Fixed delay between looks; 0 = growing from 1 s to 15 s. */
  delayMs: number;
  /** Give up after this long. */
  timeoutMs: number;
}

/** Packer's polling knobs: builder `aws_polling` first, then the environment, then `defaultTimeoutMs`. */
export function pollSettings(defaultTimeoutMs: number, o: { delayMs?: number; maxAttempts?: number; env?: Record<string, string | undefined> }): PollSettings {
  const env = o.env ?? {};
  const num = (s: string | undefined): number | undefined => (s !== undefined && s !== '' && Number.isFinite(Number(s)) && Number(s) >= 0 ? Number(s) : undefined);
  const delayMs = o.delayMs || (num(env.AWS_POLL_DELAY_SECONDS) ?? 0) * 1000;
  const attempts = o.maxAttempts || num(env.AWS_MAX_ATTEMPTS);
  const timeoutS = num(env.AWS_TIMEOUT_SECONDS);
  if (attempts && delayMs) return { delayMs, timeoutMs: attempts * delayMs };
  if (attempts) return { delayMs: 0, timeoutMs: attempts * 15_000 };
  if (timeoutS !== undefined) return { delayMs, timeoutMs: timeoutS * 1000 };
  return { delayMs, timeoutMs: defaultTimeoutMs };
}

export async function waitUntil<T>(probe: () => Promise<Probe<T>>, o: PollSettings & { what: string; clock?: Clock; signal?: AbortSignal }): Promise<T> {
  const clock = o.clock ?? systemClock;
  const start = clock.now();
  let delay = o.delayMs || 1000;
  let looks = 0;
  let state = 'unknown';
  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
    looks++;
    const r = await probe();
    if ('failed' in r) throw new KilnError('AWS_WAIT_FAILED', `${o.what}: ${r.failed}`, 'environment');
    if (r.done) return r.value;
    state = r.state;
    const elapsed = clock.now() - start;
    if (elapsed + delay >= o.timeoutMs) {
      throw new KilnError(
        'AWS_WAIT_TIMEOUT',
        `timed out waiting for ${o.what}: still ${state} after ${Math.round(elapsed / 1000)}s and ${looks} look(s) (raise aws_polling.max_attempts or AWS_TIMEOUT_SECONDS to wait longer)`,
        'environment',
      );
    }
    await clock.sleep(delay, o.signal);
    if (!o.delayMs) delay = Math.min(15_000, delay * 2);
  }
}
