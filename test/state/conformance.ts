// The behaviour every StackStore must have (src/state/store.ts), as one suite each implementation
// runs (test/state/store.test.ts): the SQLite store and the in-memory one.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { ResourceRow, StackStore } from '../../src/state/store.js';

const row = (stack: string, logicalId: string, physicalId: string, extra: Partial<ResourceRow> = {}): Omit<ResourceRow, 'id'> => ({
  stack,
  logicalId,
  type: 'T',
  physicalId,
  properties: { V: 1, Nested: { A: [1, 2] } },
  state: { physicalId, attributes: { X: 'y' } },
  status: 'live',
  deployment: 'd1',
  dependsOn: [],
  deletionPolicy: 'Delete',
  updateReplacePolicy: 'Delete',
  noLocalEffect: false,
  ...extra,
});

const deployment = (id: string, stack: string) => ({ id, stack, kind: 'deploy' as const, templateHash: 'h', template: '{}', parameters: { P: { value: 'x' } }, outputs: {}, prior: [], images: {} });

export function stackStoreConformance(name: string, make: () => StackStore): void {
  describe(`${name} (StackStore conformance)`, () => {
    test('a stack is created in progress, then takes statuses and a deployment', () => {
      const s = make();
      expect(s.stack('web')).toBeUndefined();
      const a = s.createStack('web');
      expect(a).toMatchObject({ name: 'web', status: 'CREATE_IN_PROGRESS', reason: null, deployment: null });
      s.setStackStatus('web', 'CREATE_FAILED', 'because');
      s.setStackDeployment('web', 'd1');
      expect(s.stack('web')).toMatchObject({ status: 'CREATE_FAILED', reason: 'because', deployment: 'd1', stackId: a.stackId });
      s.createStack('app');
      expect(s.stacks().map((x) => x.name)).toEqual(['app', 'web']);
    });

    test('creating a stack again gives it a new id, so old events stay with the old creation', () => {
      const s = make();
      const a = s.createStack('web');
      s.addEvent({ stack: 'web', stackId: a.stackId, deployment: null, logicalId: 'web', physicalId: null, type: 'AWS::CloudFormation::Stack', status: 'DELETE_COMPLETE', reason: null });
      const b = s.createStack('web');
      expect(b.stackId).not.toBe(a.stackId);
      expect(s.events('web')).toEqual([]);
      expect(s.events('web', { all: true })).toHaveLength(1);
    });

    test('rows are inserted, found by status, logical id and physical id, updated and deleted', () => {
      const s = make();
      const a = s.insertResource(row('web', 'A', 'p-1'));
      const b = s.insertResource(row('web', 'B', 'p-2', { status: 'pendingDelete' }));
      s.insertResource(row('app', 'C', 'p-1'));
      expect(s.resources('web').map((r) => r.id)).toEqual([a, b]);
      expect(s.resources('web', ['pendingDelete']).map((r) => r.logicalId)).toEqual(['B']);
      expect([...s.liveResources('web').keys()]).toEqual(['A']);
      expect(s.allLiveResources().map((r) => r.logicalId)).toEqual(['A', 'C']);
      expect(s.liveByPhysicalId('p-1', 'app')!.logicalId).toBe('C');
      expect(s.liveByPhysicalId('p-1', 'web')!.logicalId).toBe('A');
      expect(s.liveByPhysicalId('p-1')!.logicalId).toBe('A');
      expect(s.resourceRow(a)).toEqual({ ...row('web', 'A', 'p-1'), id: a });
      s.updateResource(a, { properties: { V: 2 }, status: 'retained', dependsOn: ['B'] });
      expect(s.resourceRow(a)).toMatchObject({ properties: { V: 2 }, status: 'retained', dependsOn: ['B'], physicalId: 'p-1' });
      s.deleteResource(b);
      expect(s.resourceRow(b)).toBeUndefined();
    });

    test('what a caller gets is a copy: changing it changes nothing stored', () => {
      const s = make();
      const a = s.insertResource(row('web', 'A', 'p-1'));
      const got = s.resourceRow(a)!;
      (got.properties.Nested as { A: number[] }).A.push(3);
      expect(s.resourceRow(a)!.properties).toEqual({ V: 1, Nested: { A: [1, 2] } });
    });

    test('deployments begin open, end with a status, keep outputs, and list oldest first', () => {
      const s = make();
      s.createStack('web');
      s.beginDeployment(deployment('d1', 'web'));
      expect(s.openDeployment('web')!.id).toBe('d1');
      s.setDeploymentOutputs('d1', { Url: { value: 'http://x/', exportName: 'web-Url' } });
      s.endDeployment('d1', 'COMPLETE');
      s.beginDeployment(deployment('d2', 'web'));
      s.endDeployment('d2', 'ROLLED_BACK', 'A: failed');
      expect(s.openDeployment('web')).toBeUndefined();
      expect(s.deployments('web').map((d) => [d.id, d.status])).toEqual([
        ['d1', 'COMPLETE'],
        ['d2', 'ROLLED_BACK'],
      ]);
      expect(s.deployment('d2')).toMatchObject({ reason: 'A: failed', parameters: { P: { value: 'x' } } });
      expect(s.deployment('d1')!.endedAt).not.toBeNull();
    });

    test('exports are those of each stack’s current deployment, with the stacks importing them', () => {
      const s = make();
      s.createStack('net');
      s.beginDeployment(deployment('n1', 'net'));
      s.setDeploymentOutputs('n1', { VpcId: { value: 'vpc-1', exportName: 'net-VpcId' } });
      s.setStackDeployment('net', 'n1');
      s.createStack('app');
      s.beginDeployment(deployment('a1', 'app'));
      s.setDeploymentImports('a1', ['net-VpcId']);
      s.setStackDeployment('app', 'a1');
      expect(s.exportedValue('net-VpcId')).toEqual({ stack: 'net', value: 'vpc-1' });
      expect(s.importersOf('net-VpcId')).toEqual(['app']);
      expect(s.importersOf('net-VpcId', 'app')).toEqual([]);
      expect(s.allExports()).toEqual([{ name: 'net-VpcId', stack: 'net', output: 'VpcId', value: 'vpc-1', importers: ['app'] }]);
      s.setStackStatus('net', 'DELETE_COMPLETE');
      expect(s.exportedValue('net-VpcId')).toBeUndefined();
    });

    test('events: of the current creation by default, of one deployment, or all', () => {
      const s = make();
      const st = s.createStack('web');
      const e = s.addEvent({ stack: 'web', stackId: st.stackId, deployment: 'd1', logicalId: 'A', physicalId: 'p-1', type: 'T', status: 'CREATE_COMPLETE', reason: null });
      s.addEvent({ stack: 'web', stackId: st.stackId, deployment: 'd2', logicalId: 'A', physicalId: 'p-1', type: 'T', status: 'UPDATE_COMPLETE', reason: 'r' });
      expect(e.id).toBeGreaterThan(0);
      expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(s.events('web').map((x) => x.status)).toEqual(['CREATE_COMPLETE', 'UPDATE_COMPLETE']);
      expect(s.events('web', { deployment: 'd2' })).toMatchObject([{ status: 'UPDATE_COMPLETE', reason: 'r' }]);
      expect(s.events('nope')).toEqual([]);
    });

    test('a pending operation is visible until it ends', () => {
      const s = make();
      const op = s.beginOp({ stack: 'web', deployment: 'd1', logicalId: 'A', action: 'update', rowId: 3, properties: { V: 2 } });
      expect(s.pendingOps('web')).toMatchObject([{ id: op, action: 'update', rowId: 3, properties: { V: 2 } }]);
      expect(s.pendingOps('app')).toEqual([]);
      s.endOp(op);
      expect(s.pendingOps('web')).toEqual([]);
    });

    test('a transaction that throws leaves none of its writes', () => {
      const s = make();
      s.createStack('web');
      expect(() =>
        s.transaction(() => {
          s.insertResource(row('web', 'A', 'p-1'));
          s.setStackStatus('web', 'CREATE_COMPLETE');
          throw new Error('half way');
        }),
      ).toThrow('half way');
      expect(s.resources('web')).toEqual([]);
      expect(s.stack('web')!.status).toBe('CREATE_IN_PROGRESS');
      expect(s.transaction(() => s.insertResource(row('web', 'B', 'p-2')))).toBeGreaterThan(0);
      expect(s.resources('web').map((r) => r.logicalId)).toEqual(['B']);
    });

    test('the lock names its holder; a dead holder is taken over and reported as stale', () => {
      const s = make();
      const first = s.acquireLock('web', 'deploy');
      expect(() => s.acquireLock('web', 'destroy')).toThrow(/locked by `kiln deploy` \(pid \d+ on .+, since /);
      s.releaseLock('web', 'not-the-token');
      expect(s.lockHolder('web')!.token).toBe(first.token);
      s.releaseLock('web', first.token);
      expect(s.lockHolder('web')).toBeUndefined();
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      s.acquireLock('web', 'deploy', { pid: dead });
      const taken = s.acquireLock('web', 'deploy');
      expect(taken.stale).toMatchObject({ pid: dead, command: 'deploy' });
      expect(s.lockHolder('web')!.pid).toBe(process.pid);
    });

    test('the plan key is 32 bytes and the same every time', () => {
      const s = make();
      const k = s.planKey();
      expect(k).toHaveLength(32);
      expect(s.planKey().equals(k)).toBe(true);
    });
  });
}
