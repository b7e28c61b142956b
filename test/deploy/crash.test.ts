// kill -9 of `kiln deploy` at random moments, then run again: every run ends clean — the stack in a
// *_COMPLETE status, no pending operation, no lock, and the objects that exist are exactly the ones
// state knows. The real CLI runs in a child process; the fake provider keeps its objects in a file.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { bundleCli } from './cli-bundle.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState, closeAllStates } from '../../src/state/db.js';

let dir: string;
let cli: { entry: string; env: NodeJS.ProcessEnv };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-crash-'));
  cli = await bundleCli('crash');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function template(version: number): string {
  const f = join(dir, `v${version}.json`);
  const d = (n: number) => 20 + ((n * 37 + version * 11) % 60);
  const t = {
    Resources: {
      Net: { Type: 'Test::Fake::Resource', Properties: { Name: `net-${version % 2}`, Delay: d(1) } },
      Sg: { Type: 'Test::Fake::Resource', Properties: { Value: { Ref: 'Net' }, Delay: d(2) } },
      Db: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::Sub': '${Sg}-db' }, Delay: d(3) } },
      ...Object.fromEntries(
        Array.from({ length: 4 }, (_, i) => [
          `Web${i}`,
          { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::Join': ['/', [{ Ref: 'Sg' }, { Ref: 'Db' }, `v${version}`]] }, Delay: d(4 + i) } },
        ]),
      ),
      ...(version % 3 === 0 ? { Extra: { Type: 'Test::Fake::Resource', Properties: { Value: { Ref: 'Web0' }, Delay: d(9) } } } : {}),
    },
  };
  writeFileSync(f, JSON.stringify(t));
  return f;
}

function run(args: string[], killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli.entry, ...args, '--state-dir', join(dir, 'state')], {
      env: { ...process.env, ...cli.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(dir, 'fake.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', () => undefined);
    // The kill comes `killAfterMs` after the run has begun (its first *_IN_PROGRESS line), so it
    // lands in the middle of the work rather than during Node's start-up.
    let t: NodeJS.Timeout | undefined;
    const arm = (d: Buffer) => {
      if (killAfterMs !== undefined && !t && /_IN_PROGRESS/.test(String(d))) t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    child.stderr.on('data', arm);
    child.on('exit', (code, signal) => {
      if (t) clearTimeout(t);
      resolve({ code, signal, err });
    });
  });
}

function check(): void {
  closeAllStates();
  const store = new StackStore(openState(join(dir, 'state')));
  const st = store.stack('crashy')!;
  expect(st.status).toMatch(/^(CREATE|UPDATE|UPDATE_ROLLBACK|ROLLBACK)_COMPLETE$/);
  expect(store.pendingOps('crashy')).toEqual([]);
  expect(store.lockHolder('crashy')).toBeUndefined();
  expect(store.openDeployment('crashy')).toBeUndefined();
  const known = store
    .resources('crashy')
    .map((r) => r.physicalId)
    .sort();
  const objects = existsSync(join(dir, 'fake.json')) ? (JSON.parse(readFileSync(join(dir, 'fake.json'), 'utf8')) as Array<{ physicalId: string }>).map((o) => o.physicalId).sort() : [];
  expect(objects).toEqual(known);
  expect(store.resources('crashy', ['pendingDelete'])).toEqual([]);
  closeAllStates();
}

let landed = 0;
/** True when the killed run left its marks (a lock, an operation in progress). */
function interrupted(): boolean {
  closeAllStates();
  if (!existsSync(join(dir, 'state', 'state.db'))) return false;
  const store = new StackStore(openState(join(dir, 'state')));
  const hit = store.lockHolder('crashy') !== undefined;
  closeAllStates();
  return hit;
}

test('repeated kill -9 at random points, then a clean run: state and reality agree', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 600 })), { minLength: 2, maxLength: 3 }), async (kills) => {
      for (const [version, ms] of kills) {
        const r = await run(['deploy', template(version), '--stack', 'crashy'], ms);
        if (r.signal === 'SIGKILL' && interrupted()) landed++;
      }
      const last = kills[kills.length - 1]![0];
      const r = await run(['deploy', template(last), '--stack', 'crashy']);
      expect(r.err).not.toMatch(/internal error/);
      expect(r.code, r.err).toBe(0);
      check();
    }),
    { numRuns: 6, endOnFailure: true },
  );
  // the kills did land in the middle of runs (not only before start or after the end)
  expect(landed).toBeGreaterThan(3);
  const d = await run(['destroy', '--stack', 'crashy']);
  expect(d.code, d.err).toBe(0);
  const objects = JSON.parse(readFileSync(join(dir, 'fake.json'), 'utf8')) as unknown[];
  expect(objects).toEqual([]);
}, 180_000);

test('Ctrl-C during a first deploy stops starting new work and rolls back: nothing is left', async () => {
  const f = join(dir, 'slow.json');
  const chain: Record<string, unknown> = {};
  for (let i = 0; i < 6; i++) chain[`S${i}`] = { Type: 'Test::Fake::Resource', Properties: { Delay: 150, ...(i > 0 ? { Value: { Ref: `S${i - 1}` } } : {}) } };
  writeFileSync(f, JSON.stringify({ Resources: chain }));
  const env = { ...process.env, ...cli.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(dir, 'sigint.json') };
  const child = spawn(process.execPath, [cli.entry, 'deploy', f, '--stack', 'sigint', '--state-dir', join(dir, 'state')], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  let sent = false;
  child.stderr.on('data', (d) => {
    err += d;
    if (!sent && /S1\s+CREATE_COMPLETE/.test(err)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  child.stdout.on('data', () => undefined);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  expect(code, err).toBe(1);
  expect(err).toContain('interrupted; finishing what is in flight, then rolling back');
  expect(err).toMatch(/sigint\s+ROLLBACK_IN_PROGRESS\s+Operation interrupted \(interrupted by the user\)\. Rollback requested by user\./);
  expect(err).toMatch(/sigint\s+ROLLBACK_COMPLETE/);
  expect(err).toContain('kiln deploy: stack sigint ROLLBACK_COMPLETE: interrupted: interrupted by the user');
  expect(err).not.toMatch(/S5\s+CREATE_IN_PROGRESS/);
  expect(JSON.parse(readFileSync(join(dir, 'sigint.json'), 'utf8'))).toEqual([]);
}, 60_000);
