// One writer per stack: a second deploy is refused with who holds the lock; a lock left by a dead
// process is taken over and what it left is recovered.
import { afterEach, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { harness, fake } from './harness.js';

let h: ReturnType<typeof harness>;
afterEach(() => h?.cleanup());

test('a second deploy while one holds the lock is refused with pid, host and since', async () => {
  h = harness();
  h.store.acquireLock('demo', 'deploy', { pid: process.pid }); // a live process holds it
  await expect(h.deploy({ Resources: { A: fake() } })).rejects.toThrow(new RegExp(`stack demo is locked by \`kiln deploy\` \\(pid ${process.pid} on ${hostname()}, since \\d{4}-`));
  expect(h.provider.all()).toEqual([]);
});

test('a lock whose process is dead is taken over', async () => {
  h = harness();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  h.store.acquireLock('demo', 'deploy', { pid: dead });
  const r = await h.deploy({ Resources: { A: fake() } });
  expect(r.finalStatus).toBe('CREATE_COMPLETE');
  expect(h.store.lockHolder('demo')).toBeUndefined();
});

test('a run killed mid-create is rolled back by the next run, and the object it never recorded is removed', async () => {
  h = harness();
  await h.deploy({ Resources: { A: fake({ Value: 1 }) } });
  h.log.events.length = 0;
  // GIVEN a killed update: stack UPDATE_IN_PROGRESS, lock held by a dead pid, an open deployment,
  // a pending create whose object exists but was never recorded
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  h.store.acquireLock('demo', 'deploy', { pid: dead });
  h.store.setStackStatus('demo', 'UPDATE_IN_PROGRESS');
  h.store.beginDeployment({ id: 'd-killed', stack: 'demo', kind: 'deploy', templateHash: null, template: null, parameters: {}, outputs: {}, prior: h.store.resources('demo'), images: {} });
  h.store.beginOp({ stack: 'demo', deployment: 'd-killed', logicalId: 'B', action: 'create', rowId: null, properties: null });
  const orphan = h.provider.plant({ type: 'Test::Fake::Resource', stack: 'demo', logicalId: 'B', deployment: 'd-killed', properties: {} });
  // WHEN the next deploy runs
  const r = await h.deploy({ Resources: { A: fake({ Value: 1 }), B: fake() } });
  // THEN it recovered first (rolled back, orphan gone), then deployed
  expect(h.provider.get(orphan.physicalId)).toBeUndefined();
  expect(h.statuses((e) => e.logicalId === 'demo')).toEqual([
    'demo UPDATE_ROLLBACK_IN_PROGRESS',
    'demo UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
    'demo UPDATE_ROLLBACK_COMPLETE',
    'demo UPDATE_IN_PROGRESS',
    'demo UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
    'demo UPDATE_COMPLETE',
  ]);
  expect(r.finalStatus).toBe('UPDATE_COMPLETE');
  expect(h.store.pendingOps('demo')).toEqual([]);
  expect(h.store.deployment('d-killed')!.status).toBe('ROLLED_BACK');
  expect(
    h.provider
      .all()
      .map((o) => o.logicalId)
      .sort(),
  ).toEqual(['A', 'B']);
  expect(h.log.events.some((e) => e.kind === 'notice' && /removed 1 object/.test(e.message))).toBe(true);
});
