// Crash recovery. A run killed at any moment leaves: the stack in an *_IN_PROGRESS status, its lock
// held by a dead pid, its deployment open, and possibly one pending operation per provider call that
// was in flight. The next run calls `recover` (under the lock it just took over):
//   1. pending ops are reconciled: an interrupted create may have made an object state never learnt
//      about — every object labelled for the stack that state does not know is removed
//      (`provider.removeOrphans`); an interrupted update may have been applied in part — the row is
//      marked with the intended properties so the rollback updates it back; an interrupted delete is
//      simply run again (deleting what is gone succeeds).
//   2. the interrupted operation is finished the way CloudFormation would: a create or an update is
//      rolled back; a rollback, a cleanup phase or a destroy is carried on to its end.
import type { EventSink } from '../core/events.js';
import type { Provider } from '../model/provider.js';
import type { RuntimeResolve } from '../stack/plan.js';
import { IN_PROGRESS, type LockHolder, type StackStatus, type StackStore } from '../state/store.js';
import { Engine } from './engine.js';
import type { EngineEvent } from './events.js';
import type { Secrets } from './secrets.js';

interface RecoverOptions {
  store: StackStore;
  provider: Provider;
  stack: string;
  events: EventSink<EngineEvent>;
  secrets?: Secrets;
  resolve: RuntimeResolve;
  replacement(type: string): { always: readonly string[]; maybe: readonly string[] } | undefined;
  staleLock?: LockHolder;
  concurrency?: number;
}

/** True when the stack shows the marks of an interrupted run. */
export function needsRecovery(store: StackStore, stack: string): boolean {
  const st = store.stack(stack);
  return (st !== undefined && IN_PROGRESS.has(st.status)) || store.pendingOps(stack).length > 0 || store.openDeployment(stack) !== undefined;
}

export async function recover(o: RecoverOptions): Promise<{ recovered: boolean; status?: StackStatus; orphansRemoved: number }> {
  const { store, stack } = o;
  if (!needsRecovery(store, stack)) return { recovered: false, orphansRemoved: 0 };
  const st = store.stack(stack);
  const dep = store.openDeployment(stack);
  const notice = (message: string) => o.events.emit({ kind: 'notice', message });
  notice(
    `stack ${stack}: a previous run${o.staleLock ? ` (\`kiln ${o.staleLock.command}\`, pid ${o.staleLock.pid}, since ${o.staleLock.since})` : ''} stopped while ${st?.status ?? 'in progress'}; recovering`,
  );

  // 1. Reconcile pending operations.
  const ops = store.pendingOps(stack);
  store.transaction(() => {
    for (const op of ops) {
      if (op.action === 'update' && op.rowId !== null && op.properties) {
        const row = store.resourceRow(op.rowId);
        if (row) store.updateResource(row.id, { properties: op.properties });
      }
      store.endOp(op.id);
    }
  });
  let orphansRemoved = 0;
  if (o.provider.removeOrphans) {
    const known = new Set(store.resources(stack).map((r) => r.physicalId));
    orphansRemoved = await o.provider.removeOrphans(stack, known);
    if (orphansRemoved > 0) notice(`stack ${stack}: removed ${orphansRemoved} object(s) a killed run made but never recorded`);
  }
  if (!st || !dep) {
    if (st && IN_PROGRESS.has(st.status))
      store.setStackStatus(stack, st.status.startsWith('DELETE') ? 'DELETE_FAILED' : st.status.startsWith('CREATE') ? 'CREATE_FAILED' : 'UPDATE_FAILED', 'interrupted');
    return { recovered: true, orphansRemoved };
  }

  const engine = new Engine({
    store,
    provider: o.provider,
    stack,
    deployment: dep.id,
    events: o.events,
    resolve: o.resolve,
    replacement: o.replacement,
    ...(o.secrets ? { secrets: o.secrets } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  });
  const why = 'The previous operation was interrupted; rolling back.';
  const isCreate = !dep.prior.some((r) => r.status === 'live');
  let status: StackStatus;
  switch (st.status) {
    case 'CREATE_IN_PROGRESS':
    case 'ROLLBACK_IN_PROGRESS':
      status = await engine.rollbackCreate(st.status === 'CREATE_IN_PROGRESS' ? why : 'Continuing the interrupted rollback.');
      store.endDeployment(dep.id, status.endsWith('FAILED') ? 'ROLLBACK_FAILED' : 'ROLLED_BACK', 'interrupted');
      break;
    case 'UPDATE_IN_PROGRESS':
    case 'UPDATE_ROLLBACK_IN_PROGRESS':
    case 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS':
      status = isCreate ? await engine.rollbackCreate(why) : await engine.rollbackUpdate(dep, st.status === 'UPDATE_IN_PROGRESS' ? why : 'Continuing the interrupted rollback.');
      store.endDeployment(dep.id, status.endsWith('FAILED') ? 'ROLLBACK_FAILED' : 'ROLLED_BACK', 'interrupted');
      break;
    case 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS':
      status = (await engine.finishCleanup(false)).status;
      break;
    case 'DELETE_IN_PROGRESS':
      status = (await engine.destroy()).status;
      break;
    default:
      // The status was final but the deployment stayed open (killed between the two writes).
      store.endDeployment(dep.id, st.status.endsWith('FAILED') ? 'FAILED' : 'COMPLETE', 'interrupted');
      status = st.status;
  }
  return { recovered: true, status, orphansRemoved };
}
