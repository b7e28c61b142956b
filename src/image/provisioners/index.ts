// Runs one prepared provisioner with its meta keys: pause_before, max_retries, timeout.
// kiln applies `timeout` even when `pause_before` is set (Packer 1.6.6 silently drops it, reference
// §4.1) and says what timed out instead of only `context canceled`.
import { KilnError, errorMessage } from '../../core/errors.js';
import type { PreparedProvisioner } from '../types.js';
import { goDuration, sleep, type ProvisionContext } from './context.js';
import { provisionShell } from './shell.js';
import { provisionFile } from './file.js';
import { runShellLocal } from './shell-local.js';

export { ProvisionerError } from './context.js';
export type { ProvisionContext } from './context.js';

async function dispatch(p: PreparedProvisioner, ctx: ProvisionContext): Promise<void> {
  const c = p.config;
  switch (c.type) {
    case 'shell':
      return provisionShell(c, ctx);
    case 'file':
      return provisionFile(c, ctx);
    case 'shell-local':
      return runShellLocal(c, ctx);
    case 'sleep':
      // Packer's built-in `sleep` provisioner: waits, changes nothing.
      return sleep(c.durationMs, ctx.signal);
  }
}

export async function runProvisioner(p: PreparedProvisioner, ctx: ProvisionContext): Promise<void> {
  const { pauseBeforeMs, maxRetries, timeoutMs } = p.meta;
  if (pauseBeforeMs > 0) {
    ctx.ui.say(`Pausing ${goDuration(pauseBeforeMs)} before the next provisioner...`);
    await sleep(pauseBeforeMs, ctx.signal);
  }
  const ac = new AbortController();
  const onOuter = (): void => ac.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new KilnError('PROVISIONER_TIMEOUT', `the ${p.type} provisioner (provisioners[${p.index}]) timed out after ${goDuration(timeoutMs)} (timeout: ${goDuration(timeoutMs)})`, 'user', {
    exitCode: 124,
  });
  if (timeoutMs > 0) {
    ctx.ui.say(`Setting a ${goDuration(timeoutMs)} timeout for the next provisioner...`);
    timer = setTimeout(() => {
      ctx.ui.error('Cancelling provisioner after a timeout...');
      ac.abort(timedOut);
    }, timeoutMs);
  }
  const inner: ProvisionContext = { ...ctx, signal: ac.signal };
  try {
    let attemptsLeft = maxRetries;
    for (;;) {
      try {
        // Racing the abort makes a step that ignores its signal stop anyway.
        await Promise.race([
          dispatch(p, inner),
          new Promise<never>((_, reject) => {
            if (ac.signal.aborted) reject(ac.signal.reason);
            ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
          }),
        ]);
        return;
      } catch (e) {
        if (ac.signal.aborted) throw ac.signal.reason === timedOut ? timedOut : (ac.signal.reason ?? e);
        if (attemptsLeft <= 0) {
          if (maxRetries > 0) ctx.ui.error('retry limit reached.');
          throw e;
        }
        ctx.ui.error(`Provisioner failed with "${errorMessage(e).split('\n')[0]}", retrying with ${attemptsLeft} trie(s) left`);
        attemptsLeft--;
      }
    }
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onOuter);
  }
}
