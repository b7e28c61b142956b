// The stack state store on a real SQLite file.
import { afterEach, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState, closeAllStates } from '../../src/state/db.js';

const dirs: string[] = [];
afterEach(() => {
  closeAllStates();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});
function store(): { s: StackStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-state-'));
  dirs.push(dir);
  return { s: new StackStore(openState(dir)), dir };
}

test('rows, deployments, events and pending operations survive reopening the file', () => {
  const { s, dir } = store();
  s.createStack('web');
  s.beginDeployment({ id: 'd1', stack: 'web', kind: 'deploy', templateHash: 'h', template: '{}', parameters: { P: { value: 'x' } }, outputs: {}, prior: [], images: { Web: 'sha256:abc' } });
  const id = s.insertResource({
    stack: 'web',
    logicalId: 'A',
    type: 'T',
    physicalId: 'p-1',
    properties: { V: 1 },
    state: { physicalId: 'p-1', attributes: { X: 'y' } },
    status: 'live',
    deployment: 'd1',
    dependsOn: ['B'],
    deletionPolicy: 'Retain',
    updateReplacePolicy: 'Delete',
    noLocalEffect: false,
  });
  s.addEvent({ stack: 'web', stackId: s.stack('web')!.stackId, deployment: 'd1', logicalId: 'A', physicalId: 'p-1', type: 'T', status: 'CREATE_COMPLETE', reason: null });
  const op = s.beginOp({ stack: 'web', deployment: 'd1', logicalId: 'A', action: 'update', rowId: id, properties: { V: 2 } });
  closeAllStates();
  const again = new StackStore(openState(dir));
  expect(again.resourceRow(id)).toMatchObject({ logicalId: 'A', properties: { V: 1 }, dependsOn: ['B'], deletionPolicy: 'Retain', state: { attributes: { X: 'y' } } });
  expect(again.deployment('d1')).toMatchObject({ images: { Web: 'sha256:abc' }, endedAt: null });
  expect(again.openDeployment('web')!.id).toBe('d1');
  expect(again.events('web').map((e) => e.status)).toEqual(['CREATE_COMPLETE']);
  expect(again.pendingOps('web')).toMatchObject([{ id: op, action: 'update', rowId: id, properties: { V: 2 } }]);
  again.endOp(op);
  again.endDeployment('d1', 'COMPLETE');
  expect(again.pendingOps('web')).toEqual([]);
  expect(again.openDeployment('web')).toBeUndefined();
});

// The lock and the creation ids are part of the StackStore conformance suite (conformance.ts), which
// this store runs in store.test.ts.
