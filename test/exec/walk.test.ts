// The DAG walker: dependency order, bounded parallelism, and what happens after a failure.
import { expect, test } from 'vitest';
import { walk } from '../../src/exec/walk.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('cancelled'));
    });
  });

test('a node starts only after everything it depends on has finished', async () => {
  const log: string[] = [];
  const deps: Record<string, string[]> = { A: [], B: ['A'], C: ['A'], D: ['B', 'C'] };
  await walk(Object.keys(deps), (id) => deps[id]!, async (id) => {
    log.push(`start ${id}`);
    await sleep(5);
    log.push(`end ${id}`);
  }, { limit: 10 });
  expect(log.indexOf('start B')).toBeGreaterThan(log.indexOf('end A'));
  expect(log.indexOf('start D')).toBeGreaterThan(Math.max(log.indexOf('end B'), log.indexOf('end C')));
  // B and C ran at the same time
  expect(log.indexOf('start C')).toBeLessThan(log.indexOf('end B'));
});

test('never more than `limit` nodes run at once', async () => {
  let running = 0;
  let peak = 0;
  const ids = Array.from({ length: 25 }, (_, i) => `N${i}`);
  const r = await walk(ids, () => [], async () => {
    running++;
    peak = Math.max(peak, running);
    await sleep(2);
    running--;
  }, { limit: 4 });
  expect(peak).toBe(4);
  expect(r.completed).toHaveLength(25);
});

test('after the first failure nothing new starts, in-flight nodes are cancelled, dependents never run', async () => {
  const started: string[] = [];
  const deps: Record<string, string[]> = { Bad: [], Slow: [], After: ['Bad'], Later: [] };
  const r = await walk(Object.keys(deps), (id) => deps[id]!, async (id, signal) => {
    started.push(id);
    if (id === 'Bad') throw new Error('boom');
    await sleep(id === 'Slow' ? 1000 : 1, signal);
  }, { limit: 2 });
  expect(r.failed.map((f) => [f.id, f.cancelled])).toEqual([['Bad', false], ['Slow', true]]);
  expect(started).not.toContain('After');
  expect(started).not.toContain('Later'); // was waiting for a free slot
  expect(r.notRun.sort()).toEqual(['After', 'Later']);
});

test('a cycle is reported rather than hanging', async () => {
  const deps: Record<string, string[]> = { A: ['B'], B: ['A'] };
  const r = await walk(['A', 'B'], (id) => deps[id]!, async () => undefined, { limit: 2 });
  expect(String(r.failed[0]!.error)).toMatch(/dependency cycle among: A, B/);
});
