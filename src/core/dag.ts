// A generic directed acyclic graph of string ids with optional data per node, and the one bounded
// parallel walk over it. Knows nothing about resources: the stack graph (src/stack/graph.ts), the
// planner and the executor's graphs (src/exec/graph.ts) build on it.
//
//   const g = new Dag<Res>();
//   g.add('Vpc', vpc); g.add('Subnet', subnet);
//   g.dependOn('Subnet', 'Vpc');          // Subnet waits for Vpc (edge Subnet -> Vpc)
//   g.cycles()      -> [['A', 'B', 'A']]  every cycle, as the path that closes it
//   g.waves()       -> [['Vpc'], ['Subnet']]   creation order; nodes in a wave are independent
//   g.reverseWaves()-> [['Subnet'], ['Vpc']]   deletion order
//   g.reduce()      -> a copy without edges implied by others (transitive reduction)
//   await walk(g, run, { limit: 10 })   run each node once its dependencies completed
//
// Order is deterministic: nodes keep insertion order everywhere (waves, topological order, cycles).
// Pure data structure; walk only awaits the callbacks it is given.

import { Limiter } from './limiter.js';

export class DagCycleError extends Error {
  constructor(readonly cycles: string[][]) {
    super(`Circular dependency: ${cycles.map((c) => c.join(' -> ')).join('; ')}`);
    this.name = 'DagCycleError';
  }
}

export class Dag<N = undefined> {
  private readonly order: string[] = [];
  private readonly rank = new Map<string, number>();
  private readonly values = new Map<string, N | undefined>();
  /** id -> what it waits for (outgoing edges). */
  private readonly out = new Map<string, Set<string>>();
  /** id -> who waits for it (incoming edges). */
  private readonly in = new Map<string, Set<string>>();

  /** Adds a node (again: replaces its data, keeps its edges). */
  add(id: string, data?: N): this {
    if (!this.values.has(id)) {
      this.rank.set(id, this.order.length);
      this.order.push(id);
      this.out.set(id, new Set());
      this.in.set(id, new Set());
    }
    this.values.set(id, data);
    return this;
  }

  has(id: string): boolean {
    return this.values.has(id);
  }

  get(id: string): N | undefined {
    return this.values.get(id);
  }

  /** Every id, in insertion order. */
  nodes(): string[] {
    return [...this.order];
  }

  get size(): number {
    return this.order.length;
  }

  /** `node` waits for `on`. Both must have been added. A self-edge is allowed (it is a cycle). */
  dependOn(node: string, on: string): this {
    if (!this.has(node)) throw new RangeError(`dependOn: unknown node '${node}'`);
    if (!this.has(on)) throw new RangeError(`dependOn: unknown node '${on}'`);
    this.out.get(node)!.add(on);
    this.in.get(on)!.add(node);
    return this;
  }

  /** What `id` waits for, in insertion order of those nodes. */
  dependencies(id: string): string[] {
    return this.ranked(this.out.get(id));
  }

  private ranked(s: Set<string> | undefined): string[] {
    if (!s || s.size === 0) return [];
    return [...s].sort((a, b) => this.rank.get(a)! - this.rank.get(b)!);
  }

  /** Who waits for `id`, in insertion order. */
  dependents(id: string): string[] {
    return this.ranked(this.in.get(id));
  }

  edges(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const n of this.order) for (const d of this.dependencies(n)) out.push([n, d]);
    return out;
  }

  /** Everything `id` waits for, directly or not. */
  ancestors(id: string): Set<string> {
    return this.reach(id, this.out);
  }

  /** Everything that waits for `id`, directly or not. */
  descendants(id: string): Set<string> {
    return this.reach(id, this.in);
  }

  private reach(id: string, edges: Map<string, Set<string>>): Set<string> {
    const seen = new Set<string>();
    const stack = [...(edges.get(id) ?? [])];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const m of edges.get(n) ?? []) stack.push(m);
    }
    return seen;
  }

  /**
   * Every cycle, one per strongly connected component, as the path that closes it
   * (`['A', 'B', 'C', 'A']`; a self-edge is `['A', 'A']`). Empty when the graph is acyclic.
   */
  cycles(): string[][] {
    const rank = new Map(this.order.map((n, i) => [n, i]));
    return graphCycles(this.order, (n) => this.dependencies(n)).sort((a, b) => rank.get(a[0]!)! - rank.get(b[0]!)!);
  }

  /**
   * Creation waves: wave 0 holds the nodes that wait for nothing, wave k the nodes whose
   * dependencies are all in earlier waves. Throws DagCycleError when there is a cycle.
   */
  waves(): string[][] {
    return this.layers(this.out, this.in);
  }

  /** Deletion waves: a node goes only after everything that waits for it is gone. */
  reverseWaves(): string[][] {
    return this.layers(this.in, this.out);
  }

  /** Kahn's layering: a node is ready once all of `waitsFor` are in earlier layers; `waitedBy` is the reverse. */
  private layers(waitsFor: Map<string, Set<string>>, waitedBy: Map<string, Set<string>>): string[][] {
    const remaining = new Map(this.order.map((n) => [n, waitsFor.get(n)!.size]));
    const waves: string[][] = [];
    let ready = this.order.filter((n) => remaining.get(n) === 0);
    let done = 0;
    while (ready.length) {
      waves.push(ready);
      done += ready.length;
      const next = new Set<string>();
      for (const n of ready)
        for (const d of waitedBy.get(n)!) {
          const left = remaining.get(d)! - 1;
          remaining.set(d, left);
          if (left === 0) next.add(d);
        }
      ready = this.ranked(next);
    }
    if (done < this.order.length) throw new DagCycleError(this.cycles());
    return waves;
  }

  /**
   * The topological order that stays closest to insertion order: depth first, each node right after
   * everything it waits for (the planner lists steps so, as the template reads). Throws
   * DagCycleError when there is a cycle.
   */
  topologicalOrder(): string[] {
    const done = new Set<string>();
    const onPath = new Set<string>();
    const out: string[] = [];
    for (const root of this.order) {
      if (done.has(root)) continue;
      const work: Array<{ node: string; deps: string[]; i: number }> = [{ node: root, deps: this.dependencies(root), i: 0 }];
      onPath.add(root);
      while (work.length) {
        const top = work[work.length - 1]!;
        if (top.i < top.deps.length) {
          const next = top.deps[top.i++]!;
          if (done.has(next)) continue;
          if (onPath.has(next)) throw new DagCycleError(this.cycles());
          onPath.add(next);
          work.push({ node: next, deps: this.dependencies(next), i: 0 });
          continue;
        }
        work.pop();
        onPath.delete(top.node);
        done.add(top.node);
        out.push(top.node);
      }
    }
    return out;
  }

  /** A copy with the same nodes and data. */
  clone(): Dag<N> {
    const g = new Dag<N>();
    for (const n of this.order) g.add(n, this.values.get(n));
    for (const [a, b] of this.edges()) g.dependOn(a, b);
    return g;
  }

  /** The subgraph of the given ids (edges between them only). */
  subgraph(ids: Iterable<string>): Dag<N> {
    const keep = new Set(ids);
    const g = new Dag<N>();
    for (const n of this.order) if (keep.has(n)) g.add(n, this.values.get(n));
    for (const [a, b] of this.edges()) if (keep.has(a) && keep.has(b)) g.dependOn(a, b);
    return g;
  }

  /**
   * Transitive reduction: the copy without every edge a -> c for which a longer path a -> … -> c
   * exists. Same waves, fewer edges (for drawing). Requires an acyclic graph.
   */
  reduce(): Dag<N> {
    const g = new Dag<N>();
    for (const n of this.order) g.add(n, this.values.get(n));
    const order = this.topologicalOrder();
    const reachMemo = new Map<string, Set<string>>();
    for (const n of order) {
      const all = new Set<string>();
      for (const d of this.out.get(n)!) for (const x of reachMemo.get(d)!) all.add(x);
      const indirect = all; // everything reachable through some dependency
      for (const d of this.dependencies(n)) if (!indirect.has(d)) g.dependOn(n, d);
      const mine = new Set(indirect);
      for (const d of this.out.get(n)!) mine.add(d);
      reachMemo.set(n, mine);
    }
    return g;
  }
}

/**
 * The cycles of the graph whose nodes are `nodes` and whose edges from `n` are `edges(n)` (each
 * target must be one of `nodes`): one per strongly connected component, as the path that closes it,
 * starting and ending at the component's first member in `nodes` order (`['A', 'B', 'C', 'A']`; a
 * self-edge is `['A', 'A']`). Among equally short ways back, the one that follows `edges` order
 * first wins. Components come in the order Tarjan's algorithm completes them; empty when acyclic.
 */
export function graphCycles(nodes: readonly string[], edges: (n: string) => readonly string[]): string[][] {
  // Tarjan's algorithm, iterative (no recursion limit on long chains).
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; edges: readonly string[]; i: number }> = [];
    const visit = (n: string) => {
      index.set(n, counter);
      low.set(n, counter++);
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, edges: edges(n), i: 0 });
    };
    visit(root);
    while (work.length) {
      const top = work[work.length - 1]!;
      if (top.i < top.edges.length) {
        const next = top.edges[top.i++]!;
        if (!index.has(next)) visit(next);
        else if (onStack.has(next)) low.set(top.node, Math.min(low.get(top.node)!, index.get(next)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const comp: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          comp.push(m);
        } while (m !== top.node);
        components.push(comp);
      }
    }
  }
  const rank = new Map(nodes.map((n, i) => [n, i]));
  const cycles: string[][] = [];
  for (const comp of components) {
    const members = new Set(comp);
    const first = comp.reduce((a, b) => (rank.get(a)! < rank.get(b)! ? a : b));
    if (comp.length === 1 && !edges(first).includes(first)) continue;
    // Shortest way back to `first`, breadth-first inside the component.
    const prev = new Map<string, string>();
    const queue = [first];
    let closing: string | undefined;
    for (let qi = 0; qi < queue.length && closing === undefined; qi++) {
      const n = queue[qi]!;
      for (const t of edges(n)) {
        if (!members.has(t)) continue;
        if (t === first) {
          closing = n;
          break;
        }
        if (!prev.has(t)) {
          prev.set(t, n);
          queue.push(t);
        }
      }
    }
    const path = [first];
    for (let n = closing!; n !== first; n = prev.get(n)!) path.splice(1, 0, n);
    path.push(first);
    cycles.push(path);
  }
  return cycles;
}

interface WalkFailure {
  id: string;
  error: unknown;
  /** True when the node failed after the walk had begun to stop (its signal was aborted): a
   *  consequence of an earlier failure or of the caller's abort, not a root cause. */
  cancelled: boolean;
}

export interface WalkResult {
  /** Nodes that ran to the end, in completion order. */
  completed: string[];
  /** Nodes whose callback threw, in the order they failed (root causes have `cancelled: false`). */
  failed: WalkFailure[];
  /** Nodes that never ran: after a stop, or (skip-dependents) because something they wait for failed. */
  skipped: string[];
}

interface WalkOptions<N> {
  /** At most this many callbacks in flight: a shared Limiter or its size (default 10, as Terraform). */
  limit?: number | Limiter;
  /** Aborting stops the walk as a failure does: nothing new starts, nodes in flight see their signal aborted. */
  signal?: AbortSignal;
  /**
   * `stop` (default): after the first failure nothing new starts and the nodes in flight get an
   * aborted signal and are awaited. `skip-dependents`: only the nodes that wait for a failed one
   * (directly or not) are skipped; the rest runs.
   */
  onFailure?: 'stop' | 'skip-dependents';
  /** Among nodes that become ready together, lower runs first (default: insertion order). */
  priority?: (id: string, data: N | undefined) => number;
}

/**
 * The one walker: runs `run` for every node once everything it depends on has completed, at most
 * `limit` at a time. Resolves when nothing more can run and never rejects because of a callback
 * (failures are data in the result). Throws DagCycleError before running anything when the graph
 * has a cycle. Knows nothing about what the nodes are.
 */
export async function walk<N>(g: Dag<N>, run: (id: string, data: N | undefined, signal: AbortSignal) => Promise<void>, opts: WalkOptions<N> = {}): Promise<WalkResult> {
  const limiter = opts.limit instanceof Limiter ? opts.limit : new Limiter(opts.limit ?? 10);
  const cycles = g.cycles();
  if (cycles.length) throw new DagCycleError(cycles);
  const stopOnFailure = (opts.onFailure ?? 'stop') === 'stop';
  const rank = new Map(g.nodes().map((n, i) => [n, i]));
  const order = (ids: string[]) => (opts.priority ? ids.sort((a, b) => opts.priority!(a, g.get(a)) - opts.priority!(b, g.get(b)) || rank.get(a)! - rank.get(b)!) : ids);
  const waiting = new Map(g.nodes().map((n) => [n, new Set(g.dependencies(n))]));
  const abort = new AbortController();
  const onOuterAbort = () => stop(opts.signal?.reason);
  const result: WalkResult = { completed: [], failed: [], skipped: [] };
  const started = new Set<string>();
  let running = 0;
  let stopping = false;
  function stop(reason: unknown): void {
    if (stopping) return;
    stopping = true;
    abort.abort(reason ?? new Error('stopped'));
  }
  if (opts.signal?.aborted) stop(opts.signal.reason);
  else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  return new Promise<WalkResult>((resolve) => {
    const finishIfDone = () => {
      if (running > 0) return;
      result.skipped = g.nodes().filter((n) => !started.has(n));
      opts.signal?.removeEventListener('abort', onOuterAbort);
      resolve(result);
    };
    const start = (id: string) => {
      started.add(id);
      running++;
      void limiter
        .run(async () => {
          // A node queued behind the limit when the walk began to stop never runs.
          if (stopping) return 'skipped' as const;
          try {
            await run(id, g.get(id), abort.signal);
            return 'done' as const;
          } catch (error) {
            // Stop before the limiter hands this slot to a queued node.
            result.failed.push({ id, error, cancelled: abort.signal.aborted });
            if (stopOnFailure) stop(error);
            return 'failed' as const;
          }
        })
        .then((how) => {
          running--;
          if (how === 'skipped') started.delete(id);
          if (how === 'done') {
            result.completed.push(id);
            const ready: string[] = [];
            for (const d of g.dependents(id)) {
              const w = waiting.get(d)!;
              w.delete(id);
              if (w.size === 0 && !stopping) ready.push(d);
            }
            for (const d of order(ready)) start(d);
          }
          finishIfDone();
        });
    };
    if (!stopping) for (const id of order(g.nodes().filter((n) => waiting.get(n)!.size === 0))) start(id);
    finishIfDone();
  });
}
