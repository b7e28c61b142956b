// The step runner: steps run in order; every step that started gets its cleanup, in reverse order,
// on success, on failure and on cancel (AbortSignal). With `onError: 'abort'` a failed run skips
// every cleanup, leaving the machine for inspection (Packer's `-on-error=abort`).

export interface Step<C> {
  name: string;
  run(ctx: C, signal: AbortSignal): Promise<void>;
  cleanup?(ctx: C, failed: boolean): Promise<void>;
}

interface RunnerHooks {
  onCleanupError?(step: string, error: unknown): void;
  onAbortSkip?(step: string): void;
}

export async function runSteps<C>(steps: readonly Step<C>[], ctx: C, opts: { signal: AbortSignal; onError: 'cleanup' | 'abort'; hooks?: RunnerHooks }): Promise<void> {
  const started: Step<C>[] = [];
  let failure: unknown;
  let failed = false;
  try {
    for (const s of steps) {
      if (opts.signal.aborted) throw opts.signal.reason ?? new Error('cancelled');
      started.push(s);
      await s.run(ctx, opts.signal);
    }
  } catch (e) {
    failure = e;
    failed = true;
  }
  if (failed && opts.onError === 'abort') {
    for (const s of started.reverse()) if (s.cleanup) opts.hooks?.onAbortSkip?.(s.name);
    throw failure;
  }
  for (const s of started.reverse()) {
    if (!s.cleanup) continue;
    try {
      await s.cleanup(ctx, failed);
    } catch (e) {
      opts.hooks?.onCleanupError?.(s.name, e);
    }
  }
  if (failed) throw failure;
}
