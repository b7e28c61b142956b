// A JavaScript regular expression matched with a time budget: in a worker thread, waited for
// synchronously (Atomics.wait), and terminated when the budget runs out. For patterns that need a
// backtracking engine (src/stack/pattern.ts); everything else goes to the linear-time engine.
//
//   matchWithBudget(source, flags, values, budgetMs)
//     -> { kind: 'results', results: boolean[] } | { kind: 'timeout' } | { kind: 'error', error }
//
// One worker is kept (unref'd: it never holds the process open) and replaced after a timeout.
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
Atomics.store(workerData.ready, 0, 1);
Atomics.notify(workerData.ready, 0);
parentPort.on('message', ({ source, flags, values, signal, port }) => {
  let out;
  try {
    const re = new RegExp(source, flags);
    out = { results: values.map((v) => re.test(v)) };
  } catch (e) {
    out = { error: String((e && e.message) || e) };
  }
  port.postMessage(out);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});`;

/** Time allowed for a new worker to start, before the budget starts (a loaded machine is slow at it). */
const START_MS = 10_000;

let worker: Worker | undefined;

type BudgetResult = { kind: 'results'; results: boolean[] } | { kind: 'timeout' } | { kind: 'error'; error: string };

export function matchWithBudget(source: string, flags: string, values: readonly string[], budgetMs: number): BudgetResult {
  if (!worker) {
    const ready = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(WORKER, { eval: true, workerData: { ready }, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 } });
    w.unref();
    w.on('error', () => {
      if (worker === w) worker = undefined;
    });
    if (Atomics.wait(ready, 0, 0, START_MS) === 'timed-out') {
      void w.terminate();
      return { kind: 'error', error: 'the regex worker did not start' };
    }
    worker = w;
  }
  const w = worker;
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  try {
    w.postMessage({ source, flags, values: [...values], signal, port: port2 }, [port2]);
    const waited = Atomics.wait(signal, 0, 0, budgetMs);
    const msg = receiveMessageOnPort(port1)?.message as { results?: boolean[]; error?: string } | undefined;
    if (waited === 'timed-out' || !msg) {
      worker = undefined;
      void w.terminate();
      return { kind: 'timeout' };
    }
    if (msg.error !== undefined) return { kind: 'error', error: msg.error };
    return { kind: 'results', results: msg.results ?? [] };
  } finally {
    port1.close();
  }
}
