// Walks a dependency graph with bounded parallelism: a node starts once everything it depends on has
// finished; at most `limit` run at once (a Limiter, never an unbounded Promise.all). After the first
// failure nothing new starts, the nodes in flight get an aborted signal and are awaited, and the
// result lists the failures (root causes first), what completed and what never ran. The walker knows
// nothing about resources.
import { Limiter } from '../core/limiter.js';

export interface WalkResult {
  failed: Array<{ id: string; error: unknown; cancelled: boolean }>;
  completed: string[];
  notRun: string[];
}

class WalkFailure extends Error {
  constructor(
    readonly walkError: unknown,
    readonly cancelled: boolean,
  ) {
    super('walk failure');
  }
}

export async function walk(
  ids: readonly string[],
  deps: (id: string) => readonly string[],
  run: (id: string, signal: AbortSignal) => Promise<void>,
  opts: { limit: number; signal?: AbortSignal },
): Promise<WalkResult> {
  const limiter = new Limiter(opts.limit);
  const nodes = new Set(ids);
  const waitingOn = new Map<string, Set<string>>();
  const dependents = new Map<string, string[]>();
  for (const id of ids) {
    const ds = new Set(deps(id).filter((d) => nodes.has(d) && d !== id));
    waitingOn.set(id, ds);
    for (const d of ds) dependents.set(d, [...(dependents.get(d) ?? []), id]);
  }
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const result: WalkResult = { failed: [], completed: [], notRun: [] };
  const started = new Set<string>();
  let running = 0;
  let stopping = false;

  return new Promise<WalkResult>((resolve) => {
    const finishIfDone = () => {
      if (running > 0) return;
      const pending = ids.filter((id) => !started.has(id));
      if (!stopping && pending.length > 0 && !opts.signal?.aborted) {
        // Nothing ready and nothing running, yet nodes remain: a cycle (validation should prevent it).
        result.failed.push({ id: pending[0]!, error: new Error(`dependency cycle among: ${pending.join(', ')}`), cancelled: false });
      }
      result.notRun = pending;
      opts.signal?.removeEventListener('abort', onOuterAbort);
      resolve(result);
    };
    const start = (id: string) => {
      started.add(id);
      running++;
      limiter
        .run(async () => {
          if (stopping || opts.signal?.aborted) {
            started.delete(id);
            return 'skipped' as const;
          }
          try {
            await run(id, abort.signal);
          } catch (e) {
            // Stop before the limiter hands this slot to a queued node.
            const cancelled = stopping;
            if (!stopping) {
              stopping = true;
              abort.abort(new Error('cancelled'));
            }
            throw new WalkFailure(e, cancelled);
          }
          return 'done' as const;
        })
        .then(
          (how) => {
            running--;
            if (how === 'done') {
              result.completed.push(id);
              for (const dep of dependents.get(id) ?? []) {
                const w = waitingOn.get(dep)!;
                w.delete(id);
                if (w.size === 0 && !stopping && !opts.signal?.aborted) start(dep);
              }
            }
            finishIfDone();
          },
          (thrown: WalkFailure) => {
            running--;
            result.failed.push({ id, error: thrown.walkError, cancelled: thrown.cancelled });
            finishIfDone();
          },
        );
    };
    const roots = ids.filter((id) => waitingOn.get(id)!.size === 0);
    for (const id of roots) start(id);
    finishIfDone();
  });
}
