// Issue 12, hole 7: a lock cannot outlive its owner for ever. Locks record host, PID and the
// process's start time; a lock whose owner is provably gone on this host is taken over with a
// message; `kiln unlock --stack NAME` breaks one from elsewhere, saying whose it was.
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { processStart } from '../../src/state/locks.js';
import type { SqliteStackStore } from '../../src/state/stacks.js';
import { fake, harness } from '../deploy/harness.js';
import { crashed, kiln } from './cli.js';

let h: ReturnType<typeof harness> | undefined;
afterEach(() => h?.cleanup());

describe('a stack lock knows its holder well enough to tell when it is gone', () => {
  it('records host, PID and the process start time', () => {
    h = harness();
    h.store.acquireLock('demo', 'deploy');
    const held = h.store.lockHolder('demo')!;
    expect(held).toMatchObject({ pid: process.pid, host: hostname(), command: 'deploy', started: processStart(process.pid) });
    expect(held.started).toMatch(/^[0-9a-f-]{36}:\d+$/);
  });

  it.each<[string, (store: NonNullable<typeof h>['store']) => void, RegExp | null]>([
    ['a dead PID on this host', (s) => s.acquireLock('demo', 'deploy', { pid: spawnSync(process.execPath, ['-e', '0']).pid! }), /took over the lock of `kiln deploy` \(pid \d+/],
    [
      'a PID now used by another process (the start time differs)',
      (s) => {
        s.acquireLock('demo', 'deploy', { pid: process.pid });
        (s as SqliteStackStore).db.prepare('UPDATE stack_locks SET started = ? WHERE stack = ?').run('00000000-0000-0000-0000-000000000000:1', 'demo');
      },
      /took over the lock of `kiln deploy` \(pid \d+/,
    ],
    ['a live process on this host', (s) => s.acquireLock('demo', 'deploy', { pid: process.pid }), null],
    ['a process on another host (it cannot be checked from here)', (s) => s.acquireLock('demo', 'deploy', { pid: 4242, host: 'ci-runner-7' }), null],
  ])('held by %s', async (_what, hold, takeover) => {
    h = harness();
    hold(h.store);
    if (takeover) {
      const r = await h.deploy({ Resources: { A: fake() } });
      expect(r.finalStatus).toBe('CREATE_COMPLETE');
      expect(h.log.events.some((e) => e.kind === 'notice' && takeover.test(e.message))).toBe(true);
      expect(h.store.lockHolder('demo')).toBeUndefined();
    } else {
      await expect(h.deploy({ Resources: { A: fake() } })).rejects.toThrow(/stack demo is locked by `kiln deploy`/);
      expect(h.provider.all()).toEqual([]);
    }
  });

  it('a lock from another host says how to break it', async () => {
    h = harness();
    h.store.acquireLock('demo', 'deploy', { pid: 4242, host: 'ci-runner-7' });
    await expect(h.deploy({ Resources: { A: fake() } })).rejects.toThrow(/pid 4242 on ci-runner-7, since .*`kiln unlock --stack demo`/);
  });
});

describe('kiln unlock --stack NAME', () => {
  it('breaks a lock held on another host, saying whose it was; the next deploy runs', async () => {
    h = harness();
    h.store.acquireLock('demo', 'deploy', { pid: 4242, host: 'ci-runner-7' });
    const env = { KILN_HOME: h.dir, KILN_PROVIDER: 'fake' };
    const r = await kiln(['unlock', '--stack', 'demo'], { env });
    expect(crashed(r)).toBe(false);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stack demo: broke the lock held by `kiln deploy` \(pid 4242 on ci-runner-7, since \d{4}-/);
    expect(h.store.lockHolder('demo')).toBeUndefined();
    expect((await h.deploy({ Resources: { A: fake() } })).finalStatus).toBe('CREATE_COMPLETE');
  });

  it('refuses to break the lock of a live process on this host', async () => {
    h = harness();
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      h.store.acquireLock('demo', 'deploy', { pid: live.pid! });
      const r = await kiln(['unlock', '--stack', 'demo'], { env: { KILN_HOME: h.dir } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/a live process on this host: stop it instead/);
      expect(h.store.lockHolder('demo')?.pid).toBe(live.pid);
    } finally {
      live.kill();
    }
  });

  it('says so when the stack is not locked', async () => {
    h = harness();
    const r = await kiln(['unlock', '--stack', 'demo'], { env: { KILN_HOME: h.dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stack demo is not locked');
  });
});
