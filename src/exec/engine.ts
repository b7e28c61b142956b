// The executor: runs a plan over a provider with CloudFormation's semantics (reference §8). Each
// phase builds its graph from what is to be done (graph.ts: the plan's steps for a deploy, rows for a
// cleanup, a destroy or a rollback) and walks it with the one walker of core/dag.ts: dependency
// order with bounded parallelism, create-before-delete replacement with the old copies deleted in a
// cleanup phase, DeletionPolicy / UpdateReplacePolicy, automatic rollback, and an event for every
// status change. Every provider call is bracketed by an intent record (pending op) and its outcome,
// written in one transaction with the resource row, so a killed run can be recovered.
//
// What runs is the plan: the nodes are the plan's steps, and a step whose real values need more
// than the plan says stops (steps.ts), failing the run, which then rolls back.
import { walk, type WalkResult } from '../core/dag.js';
import { errorMessage } from '../core/errors.js';
import type { Json } from '../core/json.js';
import type { DesiredStack, Plan } from '../stack/plan.js';
import type { DeletionPolicy } from '../model/policy.js';
import type { DeploymentRecord, ResourceRow, StackStatus } from '../state/store.js';
import { RunContext, type RunOptions } from './context.js';
import { cleanupGraph, deployGraph, restoreGraph, type ExecGraph } from './graph.js';
import { changeStep, createStep, deleteStep, failureOf, headStartStep, restoreStep, retainStep, type StepFailure } from './steps.js';

interface EngineOptions extends RunOptions {
  /** Provider calls in flight at most (default 10, as Terraform). */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * Last word on a run whose resources all succeeded, given the new outputs: a reason fails it
   * (rolled back like any failure), e.g. an export another stack imports would change.
   */
  checkOutputs?: (outputs: DeploymentRecord['outputs']) => string | undefined;
}

export interface RunOutcome {
  ok: boolean;
  status: StackStatus;
  /** The first failure: `Web: <provider error>`. */
  reason?: string;
}

function ids(failures: readonly StepFailure[]): string {
  return [...new Set(failures.map((f) => f.id))].join(', ');
}

export class Engine {
  private readonly run: RunContext;
  private readonly limit: number;
  private readonly signal: AbortSignal | undefined;
  private readonly checkOutputs: EngineOptions['checkOutputs'];

  constructor(o: EngineOptions) {
    this.run = new RunContext(o);
    this.limit = o.concurrency ?? 10;
    this.signal = o.signal;
    this.checkOutputs = o.checkOutputs;
  }

  get stack(): string {
    return this.run.stack;
  }

  get deployment(): string {
    return this.run.deployment;
  }

  private failures(g: ExecGraph, r: WalkResult): StepFailure[] {
    return r.failed.map((f) => failureOf(f, g.get(f.id)));
  }

  // ---- deploy -------------------------------------------------------------------------------

  /**
   * Executes `plan` for `desired`: exactly its steps. The stack record must exist. `rollback: false`
   * keeps what was made on failure (status *_FAILED). On success the old copies and removed
   * resources are cleaned up.
   */
  async deploy(desired: DesiredStack, plan: Plan, opts: { rollback: boolean }): Promise<RunOutcome> {
    const run = this.run;
    const dep = run.store.deployment(run.deployment)!;
    run.desired = desired;
    const isCreate = !dep.prior.some((r) => r.status === 'live');
    run.stackStatus(isCreate ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS', 'User Initiated');

    const g = deployGraph(plan, desired, (t) => run.provider.handler(t)?.prepare);
    const prepared = new Set<string>();
    const result = await walk(
      g,
      async (_id, n, signal) => {
        if (n!.kind === 'head-start') return headStartStep(run, desired.resources[n!.id]!, prepared, signal);
        if (n!.kind !== 'step') return;
        const step = n!.step;
        if (step.kind === 'noop') return;
        const want = desired.resources[step.id]!;
        if (step.kind === 'create') return createStep(run, want, signal);
        return changeStep(run, step, want, signal);
      },
      // Head starts first: among nodes ready at the same moment they get the first slots.
      { limit: this.limit, priority: (_id, n) => (n?.kind === 'head-start' ? 0 : 1), ...(this.signal ? { signal: this.signal } : {}) },
    );
    // Whatever a head start made and its create did not adopt goes before any rollback.
    for (const id of prepared) {
      const want = desired.resources[id]!;
      await run
        .handler(want.type)
        .prepare!.discard(run.ctx(id, want.type, new AbortController().signal))
        .catch(() => undefined);
    }
    const failures = this.failures(g, result);
    const roots = failures.filter((f) => !f.cancelled);
    const interrupted = roots.length === 0 && this.signal?.aborted === true;
    const refused = failures.length === 0 && !interrupted ? this.checkOutputs?.(this.outputs(desired)) : undefined;
    if (failures.length > 0 || interrupted || refused) {
      const first = roots[0] ?? failures[0];
      const interruption = `interrupted: ${errorMessage(this.signal?.reason ?? 'interrupted')}`;
      const reason = refused ?? (interrupted ? interruption : `${first!.id}: ${first!.reason}`);
      if (!opts.rollback) {
        const status: StackStatus = isCreate ? 'CREATE_FAILED' : 'UPDATE_FAILED';
        run.stackStatus(status, reason);
        run.store.endDeployment(run.deployment, 'FAILED', reason);
        return { ok: false, status, reason };
      }
      const verb = roots.every((f) => f.verb === 'create') ? 'create' : 'update';
      const why = refused
        ? `${refused}.${isCreate ? ' Rollback requested by user.' : ''}`
        : interrupted
          ? `Operation interrupted (${errorMessage(this.signal!.reason ?? 'interrupted')}). Rollback requested by user.`
          : `The following resource(s) failed to ${verb}: [${ids(roots)}]. ${isCreate ? 'Rollback requested by user.' : ''}`.trim();
      const status = isCreate ? await this.rollbackCreate(why) : await this.rollbackUpdate(dep, why);
      run.store.endDeployment(run.deployment, status.endsWith('FAILED') ? 'ROLLBACK_FAILED' : 'ROLLED_BACK', reason);
      return { ok: false, status, reason };
    }

    // Success: remember policies and dependencies of unchanged resources, outputs, then clean up.
    run.store.transaction(() => {
      for (const r of run.store.resources(run.stack, ['live'])) {
        const want = desired.resources[r.logicalId];
        if (want) run.store.updateResource(r.id, { dependsOn: want.dependsOn, deletionPolicy: want.deletionPolicy, updateReplacePolicy: want.updateReplacePolicy });
        else run.store.updateResource(r.id, { status: 'pendingDelete' });
      }
      run.store.setDeploymentOutputs(run.deployment, this.outputs(desired));
      run.store.setStackDeployment(run.stack, run.deployment);
    });
    run.invalidate();
    return this.finishCleanup(isCreate);
  }

  /** The outputs resolved against the live resources, NoEcho values masked. */
  private outputs(desired: DesiredStack): DeploymentRecord['outputs'] {
    const run = this.run;
    const out: DeploymentRecord['outputs'] = {};
    for (const [name, o] of Object.entries(desired.outputs)) {
      let value: Json;
      // Secret by what it was built from (taint), never by how its masked text looks.
      let secret = false;
      try {
        const raw = run.resolve(o.value, run.lookups());
        secret = run.secrets.holds(raw);
        value = run.secrets.maskJson(raw);
      } catch (e) {
        value = `<unresolved: ${errorMessage(e)}>`;
      }
      let exportName: string | undefined;
      if (o.exportName !== undefined) {
        try {
          exportName = String(run.resolve(o.exportName, run.lookups()));
        } catch {
          exportName = undefined;
        }
      }
      out[name] = { value, ...(o.description !== undefined ? { description: o.description } : {}), ...(exportName !== undefined ? { exportName, secret } : secret ? { secret } : {}) };
    }
    return out;
  }

  /** The cleanup phase (also run by recovery): delete old copies and removed resources, then COMPLETE. */
  async finishCleanup(isCreate: boolean): Promise<RunOutcome> {
    const run = this.run;
    const doomed = run.store.resources(run.stack, ['pendingDelete']);
    if (!isCreate || doomed.length > 0) {
      if (!isCreate) run.stackStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      const liveIds = new Set(run.store.resources(run.stack, ['live']).map((r) => r.logicalId));
      await this.deleteRows(doomed, (r) => (liveIds.has(r.logicalId) ? r.updateReplacePolicy : r.deletionPolicy), false);
      // A failed cleanup delete does not fail the update (as CloudFormation): the row stays
      // pendingDelete and the next plan deletes it again.
    }
    const status: StackStatus = isCreate ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE';
    run.stackStatus(status);
    run.store.endDeployment(run.deployment, 'COMPLETE');
    return { ok: true, status };
  }

  /**
   * Deletes (or keeps, by policy) rows in reverse dependency order. A row whose dependent could not
   * be deleted stays: it is still in use. Returns the failures.
   */
  private async deleteRows(rows: readonly ResourceRow[], policyOf: (r: ResourceRow) => DeletionPolicy, onCreateRollback: boolean): Promise<StepFailure[]> {
    const run = this.run;
    const g = cleanupGraph(rows, policyOf, onCreateRollback, (type) => !!run.provider.handler(type)?.snapshot);
    const result = await walk(
      g,
      async (_id, n, signal) => {
        if (n!.kind === 'retain') retainStep(run, n!.row, n!.policy);
        else if (n!.kind === 'delete') await deleteStep(run, n!.row, signal, n!.snapshot);
      },
      { limit: this.limit, onFailure: 'skip-dependents' },
    );
    run.invalidate();
    return this.failures(g, result);
  }

  // ---- rollback -----------------------------------------------------------------------------

  /** A failed first create: delete everything made, reverse order (`ROLLBACK_*`). */
  async rollbackCreate(reason: string | null): Promise<StackStatus> {
    const run = this.run;
    run.stackStatus('ROLLBACK_IN_PROGRESS', reason);
    const rows = run.store.resources(run.stack, ['live', 'pendingDelete']);
    const failed = await this.deleteRows(rows, (r) => r.deletionPolicy, true);
    const status: StackStatus = failed.length ? 'ROLLBACK_FAILED' : 'ROLLBACK_COMPLETE';
    run.stackStatus(status, failed.length ? `The following resource(s) failed to delete: [${ids(failed)}]. ` : null);
    return status;
  }

  /**
   * A failed update: back to the resources of `dep.prior` (`UPDATE_ROLLBACK_*`). Resources updated in
   * place are updated back; replaced ones point back at their old copy (never deleted before cleanup);
   * then what this deployment created is deleted in `UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`.
   */
  async rollbackUpdate(dep: DeploymentRecord, reason: string | null): Promise<StackStatus> {
    const run = this.run;
    run.desired = undefined;
    run.stackStatus('UPDATE_ROLLBACK_IN_PROGRESS', reason);
    const g = restoreGraph(dep.prior);
    const result = await walk(g, async (_id, n, signal) => (n!.kind === 'restore' ? restoreStep(run, n!.row, signal) : undefined), { limit: this.limit });
    const failed = this.failures(g, result);
    if (failed.length > 0) {
      run.stackStatus('UPDATE_ROLLBACK_FAILED', `The following resource(s) failed to update: [${ids(failed)}]. `);
      return 'UPDATE_ROLLBACK_FAILED';
    }
    run.stackStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    const priorIds = new Set(dep.prior.map((r) => r.id));
    const priorLive = new Set(dep.prior.filter((r) => r.status === 'live').map((r) => r.logicalId));
    const made = run.store.resources(run.stack, ['live', 'pendingDelete']).filter((r) => !priorIds.has(r.id));
    const delFailed = await this.deleteRows(made, (r) => (priorLive.has(r.logicalId) ? 'Delete' : r.deletionPolicy), true);
    run.store.transaction(() => {
      for (const p of dep.prior) {
        const cur = run.store.resourceRow(p.id);
        if (cur)
          run.store.updateResource(p.id, {
            dependsOn: p.dependsOn,
            deletionPolicy: p.deletionPolicy,
            updateReplacePolicy: p.updateReplacePolicy,
            status: p.status === 'retained' ? 'retained' : cur.status,
          });
      }
    });
    run.invalidate();
    const status: StackStatus = delFailed.length ? 'UPDATE_ROLLBACK_FAILED' : 'UPDATE_ROLLBACK_COMPLETE';
    run.stackStatus(status, delFailed.length ? `The following resource(s) failed to delete: [${ids(delFailed)}]. ` : null);
    return status;
  }

  // ---- destroy ------------------------------------------------------------------------------

  async destroy(): Promise<RunOutcome> {
    const run = this.run;
    run.stackStatus('DELETE_IN_PROGRESS', 'User Initiated');
    const rows = run.store.resources(run.stack, ['live', 'pendingDelete']);
    const failed = await this.deleteRows(rows, (r) => r.deletionPolicy, false);
    if (failed.length) {
      const first = `${failed[0]!.id}: ${failed[0]!.reason}`;
      run.stackStatus('DELETE_FAILED', `The following resource(s) failed to delete: [${ids(failed)}]. `);
      run.store.endDeployment(run.deployment, 'FAILED', first);
      return { ok: false, status: 'DELETE_FAILED', reason: first };
    }
    run.store.setStackDeployment(run.stack, null);
    run.stackStatus('DELETE_COMPLETE');
    run.store.endDeployment(run.deployment, 'COMPLETE');
    return { ok: true, status: 'DELETE_COMPLETE' };
  }
}
