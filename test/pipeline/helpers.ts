// Shared by the pipeline integration tests: a copy of a fixture project in a temp dir, `kiln …`
// in-process with a recorded IO, HTTP from the host, and cleanup by label and with destroyStack.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect } from 'vitest';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { client, removeByLabels } from '../docker.js';
import { LABELS } from '../../src/docker/client.js';
import { removeTestObjects } from '../image/build-helpers.js';

export interface Project {
  dir: string;
  stateDir: string;
  stack: string;
  testId: string;
  read(rel: string): string;
  write(rel: string, text: string): void;
  kiln(args: string[], env?: Record<string, string>): Promise<{ code: number; out: string; err: string }>;
  cleanup(): Promise<void>;
}

export function project(fixture: string, prefix: string): Project {
  const testId = `${prefix}-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `kiln-${prefix}-`));
  cpSync(join(import.meta.dirname, '..', 'fixtures', 'pipeline', fixture), dir, { recursive: true });
  const stateDir = join(dir, '.state');
  const stack = `${prefix}-${testId.slice(-8)}`;
  const env = { ...process.env, KILN_LABELS: `kiln.test=${testId}` };
  return {
    dir,
    stateDir,
    stack,
    testId,
    read: (rel) => readFileSync(join(dir, rel), 'utf8'),
    write: (rel, text) => writeFileSync(join(dir, rel), text),
    async kiln(args, extra = {}) {
      const io = memoryIO({ cwd: dir, env: { ...env, ...extra } });
      const code = await main([...args, '--state-dir', stateDir], io);
      return { code, out: io.stdout, err: io.stderr };
    },
    async cleanup() {
      try {
        const { destroyStack, openProvider } = await import('../../src/deploy/index.js');
        await destroyStack({ stack, stateDir, provider: await openProvider(process.env, client) }).catch(() => undefined);
      } finally {
        await removeByLabels({ [LABELS.stack]: stack }).catch(() => undefined);
        // what labels cannot find: the VPC network namespaces of the stack (if destroy did not run,
        // e.g. a watch loop still held the lock)
        const { removeOrphans } = await import('../../src/providers/docker/index.js');
        await removeOrphans(client, stack, new Set()).catch(() => undefined);
        await removeTestObjects(testId).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** GET over loopback; resolves with status and body, or rejects on a connection error. */
export function get(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `url` until `ok(body)` or the deadline; returns the last body. */
export async function waitFor(url: string, ok: (body: string) => boolean, ms = 20000): Promise<string> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    try {
      const r = await get(url);
      last = `${r.status} ${r.body}`;
      if (r.status === 200 && ok(r.body)) return r.body;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never answered as expected; last: ${last}`);
}

/** The `Name  value` lines of `Outputs:` in a command's stdout. */
export function outputsOf(out: string): Record<string, string> {
  const res: Record<string, string> = {};
  const i = out.indexOf('Outputs:\n');
  if (i < 0) return res;
  for (const line of out.slice(i + 9).split('\n')) {
    const m = /^\s+(\S+)\s+(\S+)/.exec(line);
    if (m) res[m[1]!] = m[2]!;
  }
  return res;
}

export interface LoadResult {
  total: number;
  failed: number;
  errors: Record<string, number>;
  versions: Record<string, number>;
  samples: Array<[number, number, number, string]>;
}

/** Starts bench/load.mjs (a second process): 4 clients for at most `seconds`, until stopped. */
export function startLoad(target: string, seconds = 120): { stop(): Promise<LoadResult> } {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bench', 'load.mjs'), '--url', target, '--concurrency', '4', '--duration', String(seconds)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out) as LoadResult;
    },
  };
}

/**
 * `kiln up` of the project after `change`, while bench/load.mjs keeps 4 clients on `url`: 3 s of
 * load at rest before, 1 s after. Returns the run, the load, how long `up` took, and the latencies
 * of the good answers at rest and during the run.
 */
export async function upUnderLoad(p: Project, url: string, change: () => void, seconds = 120) {
  const load = startLoad(url, seconds);
  await new Promise((r) => setTimeout(r, 3000)); // at rest
  change();
  const a = Date.now();
  const r = await p.kiln(['up', '.', '--stack', p.stack, '--yes']);
  const b = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  const l = await load.stop();
  const ok = l.samples.filter((s) => s[2]);
  return { r, l, ms: b - a, rest: ok.filter((s) => s[0] < a).map((s) => s[1]), during: ok.filter((s) => s[0] >= a && s[0] <= b).map((s) => s[1]) };
}

export function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.ceil(0.99 * s.length) - 1]! : 0;
}

/**
 * A fixture project brought up once for a test file (`kiln up` in beforeAll, until its Url answers
 * `ready`) and cleaned up after it. Read `p` and `url` inside tests and hooks registered later.
 */
export function upOnce(fixture: string, prefix: string, ready: (body: string) => boolean, timeouts: { up: number; down: number }): { p: Project; url: string } {
  const held = { p: undefined as unknown as Project, url: '' };
  beforeAll(async () => {
    held.p = project(fixture, prefix);
    const r = await held.p.kiln(['up', '.', '--stack', held.p.stack, '--yes']);
    expect(r.code, r.err).toBe(0);
    held.url = outputsOf(r.out).Url!;
    await waitFor(held.url, ready, 60_000);
  }, timeouts.up);
  afterAll(async () => {
    await held.p?.cleanup();
  }, timeouts.down);
  return held;
}
