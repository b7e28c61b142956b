import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Dag, DagCycleError, walk } from '../../src/core/dag.js';

function graph(edges: Array<[string, string]>, nodes: string[] = []): Dag {
  const g = new Dag();
  for (const n of nodes) g.add(n);
  for (const [a, b] of edges) {
    g.add(a);
    g.add(b);
  }
  for (const [a, b] of edges) g.dependOn(a, b);
  return g;
}

describe('Dag', () => {
  // GIVEN a diamond: App waits for Db and Cache, both wait for Net
  const diamond = () =>
    graph(
      [
        ['Db', 'Net'],
        ['Cache', 'Net'],
        ['App', 'Db'],
        ['App', 'Cache'],
        ['App', 'Net'],
      ],
      ['Net'],
    );

  it('orders creation in waves', () => expect(diamond().waves()).toEqual([['Net'], ['Db', 'Cache'], ['App']]));
  it('orders deletion in reverse waves', () => expect(diamond().reverseWaves()).toEqual([['App'], ['Db', 'Cache'], ['Net']]));
  it('gives a topological order', () => expect(diamond().topologicalOrder()).toEqual(['Net', 'Db', 'Cache', 'App']));
  it('knows dependencies, dependents, ancestors and descendants', () => {
    const g = diamond();
    expect(g.dependencies('App')).toEqual(['Net', 'Db', 'Cache']);
    expect(g.dependents('Net')).toEqual(['Db', 'Cache', 'App']);
    expect([...g.ancestors('App')].sort()).toEqual(['Cache', 'Db', 'Net']);
    expect([...g.descendants('Db')]).toEqual(['App']);
  });
  it('drops implied edges in the transitive reduction, keeping the waves', () => {
    const r = diamond().reduce();
    expect(r.edges()).toEqual([
      ['Db', 'Net'],
      ['Cache', 'Net'],
      ['App', 'Db'],
      ['App', 'Cache'],
    ]);
    expect(r.waves()).toEqual(diamond().waves());
  });
  it('reports each cycle as a closed path', () => {
    const g = graph([
      ['A', 'B'],
      ['B', 'C'],
      ['C', 'A'],
      ['D', 'D'],
      ['E', 'A'],
    ]);
    expect(g.cycles()).toEqual([
      ['A', 'B', 'C', 'A'],
      ['D', 'D'],
    ]);
    expect(() => g.waves()).toThrow(DagCycleError);
    expect(() => g.waves()).toThrow('Circular dependency: A -> B -> C -> A; D -> D');
  });
  it('has no cycles when acyclic', () => expect(diamond().cycles()).toEqual([]));
  it('rejects edges to unknown nodes', () => expect(() => new Dag().add('a').dependOn('a', 'b')).toThrow(RangeError));
  it('keeps data and copies subgraphs', () => {
    const g = new Dag<number>().add('a', 1).add('b', 2).add('c', 3).dependOn('b', 'a').dependOn('c', 'b');
    expect(g.get('b')).toBe(2);
    const s = g.subgraph(['b', 'c']);
    expect(s.nodes()).toEqual(['b', 'c']);
    expect(s.edges()).toEqual([['c', 'b']]);
    expect(g.clone().edges()).toEqual(g.edges());
  });
  it('handles a long chain without recursion limits', () => {
    const g = new Dag();
    for (let i = 0; i < 20000; i++) g.add(`n${i}`);
    for (let i = 1; i < 20000; i++) g.dependOn(`n${i}`, `n${i - 1}`);
    expect(g.cycles()).toEqual([]);
    expect(g.waves()).toHaveLength(20000);
  });

  it('waves respect every edge, for any acyclic graph (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 80 }), (n, pairs) => {
        const g = new Dag();
        for (let i = 0; i < n; i++) g.add(`n${i}`);
        // Only edges from higher to lower index: acyclic by construction.
        for (const [x, y] of pairs) {
          const a = x % n;
          const b = y % n;
          if (a > b) g.dependOn(`n${a}`, `n${b}`);
        }
        const waveOf = new Map<string, number>();
        g.waves().forEach((w, i) => w.forEach((id) => waveOf.set(id, i)));
        expect(waveOf.size).toBe(n);
        for (const [a, b] of g.edges()) expect(waveOf.get(a)!).toBeGreaterThan(waveOf.get(b)!);
        const r = g.reduce();
        for (const [a, b] of g.edges()) expect(r.ancestors(a).has(b)).toBe(true);
      }),
    );
  });
});

describe('walk', () => {
  const tick = () => new Promise((r) => setTimeout(r, 1));
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('cancelled'));
      });
    });

  it('runs dependencies first, independent nodes in parallel, within the limit', async () => {
    const g = graph([
      ['Db', 'Net'],
      ['Cache', 'Net'],
      ['App', 'Db'],
      ['App', 'Cache'],
    ]);
    const log: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const r = await walk(
      g,
      async (id) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        log.push(`start ${id}`);
        await tick();
        log.push(`end ${id}`);
        inFlight--;
      },
      { limit: 2 },
    );
    expect(r.completed.sort()).toEqual(['App', 'Cache', 'Db', 'Net']);
    expect(log.indexOf('end Net')).toBeLessThan(log.indexOf('start Db'));
    expect(log.indexOf('end Db')).toBeLessThan(log.indexOf('start App'));
    expect(log.indexOf('end Cache')).toBeLessThan(log.indexOf('start App'));
    expect(maxInFlight).toBe(2);
  });

  it('never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const g = new Dag();
    for (let i = 0; i < 25; i++) g.add(`N${i}`);
    const r = await walk(
      g,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(2);
        running--;
      },
      { limit: 4 },
    );
    expect(peak).toBe(4);
    expect(r.completed).toHaveLength(25);
  });

  it('skip-dependents: skips what waits for a failure and runs the rest', async () => {
    const g = graph(
      [
        ['Db', 'Net'],
        ['App', 'Db'],
      ],
      ['Other'],
    );
    const ran: string[] = [];
    const r = await walk(
      g,
      async (id) => {
        ran.push(id);
        if (id === 'Db') throw new Error('disk full');
      },
      { onFailure: 'skip-dependents' },
    );
    expect(r.completed.sort()).toEqual(['Net', 'Other']);
    expect(r.failed.map((f) => [f.id, (f.error as Error).message, f.cancelled])).toEqual([['Db', 'disk full', false]]);
    expect(r.skipped).toEqual(['App']);
    expect(ran).not.toContain('App');
  });

  it('stop (the default): after the first failure nothing new starts, in-flight nodes are cancelled, dependents never run', async () => {
    const g = graph([['After', 'Bad']], ['Bad', 'Slow', 'After', 'Later']);
    const started: string[] = [];
    const r = await walk(
      g,
      async (id, _data, signal) => {
        started.push(id);
        if (id === 'Bad') throw new Error('boom');
        await sleep(id === 'Slow' ? 1000 : 1, signal);
      },
      { limit: 2 },
    );
    expect(r.failed.map((f) => [f.id, f.cancelled])).toEqual([
      ['Bad', false],
      ['Slow', true],
    ]);
    expect(started).not.toContain('After');
    expect(started).not.toContain('Later'); // was waiting for a free slot
    expect(r.skipped.sort()).toEqual(['After', 'Later']);
  });

  it('an abort from the caller stops the walk the same way, failures after it marked cancelled', async () => {
    const g = graph([['B', 'A']], ['A', 'B']);
    const abort = new AbortController();
    const r = await walk(
      g,
      async (_id, _data, signal) => {
        setTimeout(() => abort.abort(new Error('Ctrl-C')), 5);
        await sleep(1000, signal);
      },
      { signal: abort.signal },
    );
    expect(r.failed).toMatchObject([{ id: 'A', cancelled: true }]);
    expect(r.skipped).toEqual(['B']);
  });

  it('among nodes ready together, a lower priority runs first', async () => {
    const g = new Dag<{ first: boolean }>().add('a', { first: false }).add('b', { first: false }).add('c', { first: true });
    const ran: string[] = [];
    await walk(g, async (id) => void ran.push(id), { limit: 1, priority: (_id, d) => (d?.first ? 0 : 1) });
    expect(ran).toEqual(['c', 'a', 'b']);
  });

  it('rejects a bad limit', async () => {
    await expect(walk(new Dag().add('a'), async () => {}, { limit: 0 })).rejects.toThrow(RangeError);
  });

  it('refuses a cyclic graph before running anything', async () => {
    const g = graph([
      ['A', 'B'],
      ['B', 'A'],
    ]);
    let ran = false;
    await expect(walk(g, async () => void (ran = true))).rejects.toThrow(DagCycleError);
    expect(ran).toBe(false);
  });

  it('resolves at once for an empty graph', async () => expect(await walk(new Dag(), async () => {})).toEqual({ completed: [], failed: [], skipped: [] }));
});
