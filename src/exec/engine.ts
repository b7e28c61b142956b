// The executor: runs a plan over a provider with CloudFormation's semantics (reference §8):
// dependency order with bounded parallelism, create-before-delete replacement with the old copies
// deleted in a cleanup phase, DeletionPolicy / UpdateReplacePolicy, automatic rollback, and an event
// for every status change. Every provider call is bracketed by an intent record (pending op) and its
// outcome, written in one transaction with the resource row, so a killed run can be recovered.
import type { EventSink } from '../core/events.js';
import { errorMessage } from '../core/errors.js';
import type { Json, JsonObject } from '../stack/model.js';
import type { KnownResource, Provider, ResourceContext, ResourceHandler, ResourceState } from '../model/provider.js';
import { canonical, decide, topoOrder, type DesiredStack, type Plan, type RuntimeResolve, type Step } from '../stack/plan.js';
import type { DeploymentRecord, ResourceRow, ResourceStatus, StackRecord, StackStatus, StackStore } from '../state/stacks.js';
import { STACK_TYPE, type EngineEvent } from './events.js';
import { Secrets } from './secrets.js';
import { walk } from './walk.js';
import { collectReferences } from '../stack/refs.js';

export interface EngineOptions {
  store: StackStore;
  provider: Provider;
  stack: string;
  deployment: string;
  events: EventSink<EngineEvent>;
  secrets?: Secrets;
  resolve: RuntimeResolve;
  /** Spec facts: top-level properties whose change always / maybe replaces (src/stack/spec.ts). */
  replacement(type: string): { always: readonly string[]; maybe: readonly string[] } | undefined;
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

const CANCELLED = /cancel/i;
/** Walk node id prefix of a head start (logical ids are alphanumeric, so no clash). */
const HEAD = 'prepare:';

function withoutKeys(o: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

export class Engine {
  private readonly store: StackStore;
  private readonly provider: Provider;
  readonly stack: string;
  readonly deployment: string;
  private readonly events: EventSink<EngineEvent>;
  private readonly secrets: Secrets;
  private readonly resolve: RuntimeResolve;
  private readonly replacement: EngineOptions['replacement'];
  private readonly limit: number;
  private readonly signal: AbortSignal | undefined;
  private readonly checkOutputs: EngineOptions['checkOutputs'];
  private stackId: string;

  constructor(o: EngineOptions) {
    this.store = o.store;
    this.provider = o.provider;
    this.stack = o.stack;
    this.deployment = o.deployment;
    this.events = o.events;
    this.secrets = o.secrets ?? new Secrets();
    this.resolve = o.resolve;
    this.replacement = o.replacement;
    this.limit = o.concurrency ?? 10;
    this.signal = o.signal;
    this.checkOutputs = o.checkOutputs;
    this.stackId = this.store.stack(o.stack)?.stackId ?? o.stack;
  }

  // ---- events -------------------------------------------------------------------------------

  private emit(logicalId: string, type: string, physicalId: string | null, status: ResourceStatus, reason: string | null = null): void {
    const ev = this.store.addEvent({
      stack: this.stack,
      stackId: this.stackId,
      deployment: this.deployment,
      logicalId,
      physicalId,
      type,
      status,
      reason: reason === null ? null : this.secrets.mask(reason),
    });
    this.events.emit({ kind: 'stack-event', event: ev });
  }

  stackStatus(status: StackStatus, reason: string | null = null): void {
    this.store.setStackStatus(this.stack, status, reason === null ? null : this.secrets.mask(reason));
    this.stackId = this.store.stack(this.stack)?.stackId ?? this.stackId;
    this.emit(this.stack, STACK_TYPE, this.stackId, status, reason);
  }

  notice(message: string): void {
    this.events.emit({ kind: 'notice', message: this.secrets.mask(message) });
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Provider state as stored: NoEcho values tokenised (attributes may echo a secret). */
  private tokenState(st: ResourceState): ResourceState {
    return this.secrets.tokenise(st as unknown as Json) as unknown as ResourceState;
  }

  private revealState(st: ResourceState): ResourceState {
    return this.secrets.revealKnown(st as unknown as Json) as unknown as ResourceState;
  }

  private handler(type: string): ResourceHandler {
    const h = this.provider.handler(type);
    if (!h) throw new Error(`no handler for resource type ${type}`);
    return h;
  }

  /** The template of the deploy in progress (ResourceContext.siblings). */
  private desired: DesiredStack | undefined;

  private ctx(logicalId: string, type: string, signal: AbortSignal, policies?: ResourceContext['policies']): ResourceContext {
    const desired = this.desired;
    const toKnown = (r: ResourceRow): KnownResource => ({ stack: r.stack, logicalId: r.logicalId, type: r.type, properties: this.secrets.revealKnown(r.properties), state: this.revealState(r.state) });
    return {
      stack: this.stack,
      logicalId,
      type,
      deployment: this.deployment,
      signal,
      events: { emit: (e) => this.events.emit({ kind: 'provider', event: { ...e, message: this.secrets.mask(e.message) } }) },
      lookup: (physicalId) => {
        const r = this.store.liveByPhysicalId(physicalId, this.stack);
        return r ? toKnown(r) : undefined;
      },
      resources: (stack) => this.store.resources(stack ?? this.stack, ['live']).map(toKnown),
      allResources: () => this.store.allLiveResources().map(toKnown),
      ...(desired
        ? { siblings: () => Object.values(desired.resources).filter((r) => r.logicalId !== logicalId).map((r) => ({ logicalId: r.logicalId, type: r.type, properties: r.properties })) }
        : {}),
      ...(policies ? { policies } : {}),
    };
  }

  private lookups(live: () => Map<string, ResourceRow>) {
    return {
      ref: (id: string): Json | undefined => live().get(id)?.state.physicalId,
      getAtt: (id: string, attribute: string): Json | undefined => live().get(id)?.state.attributes[attribute],
    };
  }

  /** Runs one provider call bracketed by an intent record; `commit` writes the outcome with the op's end. */
  private async intent<T>(op: { logicalId: string; action: 'create' | 'update' | 'delete'; rowId: number | null; properties: JsonObject | null }, call: () => Promise<T>, commit: (result: T) => void): Promise<T> {
    const opId = this.store.beginOp({ stack: this.stack, deployment: this.deployment, ...op });
    let result: T;
    try {
      result = await call();
    } catch (e) {
      this.store.endOp(opId);
      throw e;
    }
    this.store.transaction(() => {
      commit(result);
      this.store.endOp(opId);
    });
    return result;
  }

  // ---- deploy -------------------------------------------------------------------------------

  /**
   * Executes `plan` for `desired`. The stack row must exist. `rollback: false` keeps what was made
   * on failure (status *_FAILED). On success the old copies and removed resources are cleaned up.
   */
  async deploy(desired: DesiredStack, plan: Plan, opts: { rollback: boolean; forceReplace?: ReadonlySet<string> }): Promise<RunOutcome> {
    const dep = this.store.deployment(this.deployment)!;
    this.desired = desired;
    const isCreate = !dep.prior.some((r) => r.status === 'live');
    this.stackStatus(isCreate ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS', 'User Initiated');
    const steps = new Map<string, Step>(plan.steps.filter((s) => s.kind !== 'delete').map((s) => [s.id, s]));
    const failures: Array<{ id: string; type: string; verb: 'create' | 'update' }> = [];
    let firstReason: string | undefined;
    let liveCache: Map<string, ResourceRow> | undefined;
    const live = () => (liveCache ??= this.store.liveResources(this.stack));
    const invalidate = () => (liveCache = undefined);

    const runStep = async (id: string, signal: AbortSignal): Promise<void> => {
      const step = steps.get(id);
      if (!step || step.kind === 'noop' || step.kind === 'delete') return;
      const want = desired.resources[id]!;
      const handler = this.handler(want.type);
      const props = this.secrets.tokenise(this.resolve(want.properties, this.lookups(live)) as JsonObject);
      const row = live().get(id);
      let kind: 'create' | 'update' | 'replace' | 'noop' = step.kind === 'create' || !row ? 'create' : 'noop';
      let because: string[] = [];
      if (row) {
        const d = decide(want.type, row.properties, props, { handler: (t) => this.provider.handler(t), replacement: this.replacement }, opts.forceReplace?.has(id) ?? false);
        kind = row.type !== want.type ? 'replace' : d.kind;
        if (d.kind === 'replace') because = d.because;
      }
      const base = { stack: this.stack, logicalId: id, type: want.type, dependsOn: want.dependsOn, deletionPolicy: want.deletionPolicy, updateReplacePolicy: want.updateReplacePolicy, noLocalEffect: handler.effect === 'none' };
      const ctx = this.ctx(id, want.type, signal, want.policies ? (this.resolve(want.policies as JsonObject, this.lookups(live)) as ResourceContext['policies']) : undefined);
      if (kind === 'noop') return;
      if (kind === 'create') {
        this.emit(id, want.type, null, 'CREATE_IN_PROGRESS');
        try {
          let rowId = 0;
          const state = await this.intent({ logicalId: id, action: 'create', rowId: null, properties: null }, () => handler.create(ctx, this.secrets.reveal(props)), (st) => {
            rowId = this.store.insertResource({ ...base, physicalId: st.physicalId, properties: props, state: this.tokenState(st), status: 'live', deployment: this.deployment });
          });
          invalidate();
          this.emit(id, want.type, state.physicalId, 'CREATE_IN_PROGRESS', 'Resource creation Initiated');
          if (handler.waitReady) await handler.waitReady(ctx, state, this.secrets.reveal(props));
          void rowId;
          this.emit(id, want.type, state.physicalId, 'CREATE_COMPLETE');
        } catch (e) {
          const reason = signal.aborted && CANCELLED.test(errorMessage(e)) ? 'Resource creation cancelled' : errorMessage(e);
          this.emit(id, want.type, live().get(id)?.deployment === this.deployment ? live().get(id)!.physicalId : null, 'CREATE_FAILED', reason);
          if (!signal.aborted || !CANCELLED.test(errorMessage(e))) failures.push({ id, type: want.type, verb: 'create' });
          firstReason ??= `${id}: ${this.secrets.mask(reason)}`;
          throw e;
        }
        return;
      }
      const old = row!;
      if (kind === 'replace') {
        this.emit(id, want.type, old.physicalId, 'UPDATE_IN_PROGRESS', `Requested update requires the creation of a new physical resource; hence creating one.${because.length ? ` (because ${because.join(', ')})` : ''}`);
        try {
          const state = await this.intent({ logicalId: id, action: 'create', rowId: old.id, properties: null }, () => handler.create(ctx, this.secrets.reveal(props)), (st) => {
            this.store.insertResource({ ...base, physicalId: st.physicalId, properties: props, state: this.tokenState(st), status: 'live', deployment: this.deployment });
            this.store.updateResource(old.id, { status: 'pendingDelete' });
          });
          invalidate();
          this.emit(id, want.type, state.physicalId, 'UPDATE_IN_PROGRESS', 'Resource creation Initiated');
          if (handler.waitReady) await handler.waitReady(ctx, state, this.secrets.reveal(props));
          this.emit(id, want.type, state.physicalId, 'UPDATE_COMPLETE');
        } catch (e) {
          const reason = signal.aborted && CANCELLED.test(errorMessage(e)) ? 'Resource update cancelled' : errorMessage(e);
          this.emit(id, want.type, live().get(id)?.physicalId ?? old.physicalId, 'UPDATE_FAILED', reason);
          if (!signal.aborted || !CANCELLED.test(errorMessage(e))) failures.push({ id, type: want.type, verb: 'update' });
          firstReason ??= `${id}: ${this.secrets.mask(reason)}`;
          throw e;
        }
        return;
      }
      // update in place
      this.emit(id, want.type, old.physicalId, 'UPDATE_IN_PROGRESS');
      try {
        const state = await this.intent(
          { logicalId: id, action: 'update', rowId: old.id, properties: props },
          () => handler.update!(ctx, this.secrets.reveal(props), { props: this.secrets.revealKnown(old.properties), state: this.revealState(old.state) }),
          (st) => this.store.updateResource(old.id, { properties: props, state: this.tokenState(st), physicalId: st.physicalId, dependsOn: want.dependsOn }),
        );
        invalidate();
        if (handler.waitReady) await handler.waitReady(ctx, state, this.secrets.reveal(props));
        this.emit(id, want.type, state.physicalId, 'UPDATE_COMPLETE');
      } catch (e) {
        const reason = signal.aborted && CANCELLED.test(errorMessage(e)) ? 'Resource update cancelled' : errorMessage(e);
        this.emit(id, want.type, old.physicalId, 'UPDATE_FAILED', reason);
        if (!signal.aborted || !CANCELLED.test(errorMessage(e))) failures.push({ id, type: want.type, verb: 'update' });
        firstReason ??= `${id}: ${this.secrets.mask(reason)}`;
        throw e;
      }
    };

    // Head starts (ResourceHandler.prepare): a node `prepare:<id>` for each first create whose handler
    // has one. It waits only for what the properties it uses need; the resource waits for it.
    const heads = this.headStarts(desired, plan, live);
    const prepared = new Set<string>();
    const runHead = async (id: string, signal: AbortSignal): Promise<void> => {
      const want = desired.resources[id]!;
      const prep = this.handler(want.type).prepare!;
      prepared.add(id);
      try {
        const props = this.secrets.tokenise(this.resolve(withoutKeys(want.properties, prep.without), this.lookups(live)) as JsonObject);
        await prep.run(this.ctx(id, want.type, signal), this.secrets.reveal(props));
      } catch {
        // Only the head start is lost: `create` does the whole work and reports what is wrong.
      }
    };
    // Head starts first: among nodes ready at the same moment they get the first slots.
    const ids = [...[...heads.keys()].map((id) => HEAD + id), ...Object.keys(desired.resources)];
    const depsOf = (id: string): readonly string[] => {
      if (id.startsWith(HEAD)) return heads.get(id.slice(HEAD.length))!;
      const d = desired.resources[id]!.dependsOn;
      return heads.has(id) ? [...d, HEAD + id] : d;
    };
    const runNode = (id: string, signal: AbortSignal) => (id.startsWith(HEAD) ? runHead(id.slice(HEAD.length), signal) : runStep(id, signal));
    const result = await walk(ids, depsOf, runNode, { limit: this.limit, ...(this.signal ? { signal: this.signal } : {}) });
    // Whatever a head start made and its create did not adopt goes before any rollback.
    for (const id of prepared) {
      const want = desired.resources[id]!;
      await this.handler(want.type)
        .prepare!.discard(this.ctx(id, want.type, new AbortController().signal))
        .catch(() => undefined);
    }
    const refused = result.failed.length === 0 && !this.signal?.aborted ? this.checkOutputs?.(this.outputs(desired, live)) : undefined;
    if (result.failed.length > 0 || this.signal?.aborted || refused) {
      let reason = refused ?? firstReason ?? (result.failed[0] ? `${result.failed[0].id}: ${this.secrets.mask(errorMessage(result.failed[0].error))}` : 'interrupted');
      const failedList = failures.length ? failures : result.failed.map((f) => ({ id: f.id, type: '', verb: isCreate ? ('create' as const) : ('update' as const) }));
      if (!opts.rollback) {
        const status: StackStatus = isCreate ? 'CREATE_FAILED' : 'UPDATE_FAILED';
        this.stackStatus(status, reason);
        this.store.endDeployment(this.deployment, 'FAILED', reason);
        return { ok: false, status, reason };
      }
      const verb = failedList.every((f) => f.verb === 'create') ? 'create' : 'update';
      const interrupted = failures.length === 0 && this.signal?.aborted === true;
      const why = refused
        ? `${refused}.${isCreate ? ' Rollback requested by user.' : ''}`
        : interrupted
        ? `Operation interrupted (${errorMessage(this.signal!.reason ?? 'interrupted')}). Rollback requested by user.`
        : `The following resource(s) failed to ${verb}: [${[...new Set(failedList.map((f) => f.id))].join(', ')}]. ${isCreate ? 'Rollback requested by user.' : ''}`.trim();
      if (interrupted) reason = `interrupted: ${errorMessage(this.signal!.reason ?? 'interrupted')}`;
      const status = isCreate ? await this.rollbackCreate(why) : await this.rollbackUpdate(dep, why);
      this.store.endDeployment(this.deployment, status.endsWith('FAILED') ? 'ROLLBACK_FAILED' : 'ROLLED_BACK', reason);
      return { ok: false, status, reason };
    }

    // Success: remember policies and dependencies of unchanged resources, outputs, then clean up.
    this.store.transaction(() => {
      for (const r of this.store.resources(this.stack, ['live'])) {
        const want = desired.resources[r.logicalId];
        if (want) this.store.updateResource(r.id, { dependsOn: want.dependsOn, deletionPolicy: want.deletionPolicy, updateReplacePolicy: want.updateReplacePolicy });
        else this.store.updateResource(r.id, { status: 'pendingDelete' });
      }
      this.store.setDeploymentOutputs(this.deployment, this.outputs(desired, live));
      this.store.setStackDeployment(this.stack, this.deployment);
    });
    invalidate();
    return this.finishCleanup(isCreate);
  }

  /**
   * The head starts worth taking, each with what it waits for: first creates (no live row) whose
   * handler can prepare, when leaving out the properties the head start does not use drops at least
   * one dependency (otherwise it would start no earlier than the create itself).
   */
  private headStarts(desired: DesiredStack, plan: Plan, live: () => Map<string, ResourceRow>): Map<string, string[]> {
    const heads = new Map<string, string[]>();
    for (const s of plan.steps) {
      if (s.kind !== 'create' || live().has(s.id)) continue;
      const want = desired.resources[s.id];
      const prep = this.provider.handler(s.type)?.prepare;
      if (!want || !prep || !want.explicitDependsOn) continue;
      const deps = new Set(want.explicitDependsOn);
      for (const r of collectReferences(withoutKeys(want.properties, prep.without)))
        if (r.kind !== 'Condition' && r.kind !== 'If' && r.target !== s.id && desired.resources[r.target]) deps.add(r.target);
      if (want.dependsOn.every((d) => deps.has(d))) continue;
      heads.set(s.id, [...deps]);
    }
    return heads;
  }

  /** The outputs resolved against the live resources, NoEcho values masked. */
  private outputs(desired: DesiredStack, live: () => Map<string, ResourceRow>): DeploymentRecord['outputs'] {
    const out: DeploymentRecord['outputs'] = {};
    for (const [name, o] of Object.entries(desired.outputs)) {
      let value: Json;
      try {
        value = this.secrets.maskJson(this.resolve(o.value, this.lookups(live)));
      } catch (e) {
        value = `<unresolved: ${errorMessage(e)}>`;
      }
      let exportName: string | undefined;
      if (o.exportName !== undefined) {
        try {
          exportName = String(this.resolve(o.exportName, this.lookups(live)));
        } catch {
          exportName = undefined;
        }
      }
      out[name] = { value, ...(o.description !== undefined ? { description: o.description } : {}), ...(exportName !== undefined ? { exportName } : {}) };
    }
    return out;
  }

  /** The cleanup phase (also run by recovery): delete old copies and removed resources, then COMPLETE. */
  async finishCleanup(isCreate: boolean): Promise<RunOutcome> {
    const doomed = this.store.resources(this.stack, ['pendingDelete']);
    if (!isCreate || doomed.length > 0) {
      if (!isCreate) this.stackStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      const liveIds = new Set(this.store.resources(this.stack, ['live']).map((r) => r.logicalId));
      await this.deleteRows(doomed, (r) => (liveIds.has(r.logicalId) ? r.updateReplacePolicy : r.deletionPolicy), { onCreateRollback: false });
      // A failed cleanup delete does not fail the update (as CloudFormation): the row stays
      // pendingDelete and the next deploy tries again.
    }
    const status: StackStatus = isCreate ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE';
    this.stackStatus(status);
    this.store.endDeployment(this.deployment, 'COMPLETE');
    return { ok: true, status };
  }

  /**
   * Deletes rows in reverse dependency order (a row goes before the rows it depends on). Returns the
   * reasons of failed deletes. Retain leaves the object: `DELETE_SKIPPED`, row kept as `retained` so
   * orphan sweeps never remove it. Snapshot has no local meaning (no snapshots here), so it keeps the
   * object with its data the same way — except when the create that made it rolls back, where
   * there is nothing worth keeping (as RetainExceptOnCreate).
   */
  private async deleteRows(rows: readonly ResourceRow[], policy: (r: ResourceRow) => string, o: { onCreateRollback: boolean }): Promise<string[]> {
    const byKey = new Map(rows.map((r) => [String(r.id), r]));
    const keys = [...byKey.keys()];
    // Row B waits for every row A that depends on B's logical id.
    const mustWait = (k: string): string[] => {
      const b = byKey.get(k)!;
      return keys.filter((ka) => ka !== k && byKey.get(ka)!.dependsOn.includes(b.logicalId) && byKey.get(ka)!.logicalId !== b.logicalId);
    };
    const errors: string[] = [];
    const failedOrBlocked = new Set<string>();
    await walk(
      keys,
      mustWait,
      async (k) => {
        const r = byKey.get(k)!;
        // A row whose dependent could not be deleted stays: it is still in use.
        if (mustWait(k).some((w) => failedOrBlocked.has(w))) {
          failedOrBlocked.add(k);
          return;
        }
        const p = policy(r);
        if (p === 'Retain' || ((p === 'RetainExceptOnCreate' || p === 'Snapshot') && !o.onCreateRollback)) {
          this.store.updateResource(r.id, { status: 'retained' });
          this.emit(r.logicalId, r.type, r.physicalId, 'DELETE_SKIPPED', p === 'Snapshot' ? 'Snapshot: the local target takes no snapshots, so the resource is kept with its data' : null);
          return;
        }
        this.emit(r.logicalId, r.type, r.physicalId, 'DELETE_IN_PROGRESS');
        const handler = this.provider.handler(r.type);
        try {
          if (handler) {
            const ctx = this.ctx(r.logicalId, r.type, new AbortController().signal);
            await this.intent({ logicalId: r.logicalId, action: 'delete', rowId: r.id, properties: null }, () => handler.delete(ctx, this.revealState(r.state), this.secrets.revealKnown(r.properties)), () => this.store.deleteResource(r.id));
          } else this.store.deleteResource(r.id);
          this.emit(r.logicalId, r.type, r.physicalId, 'DELETE_COMPLETE');
        } catch (e) {
          failedOrBlocked.add(k);
          this.emit(r.logicalId, r.type, r.physicalId, 'DELETE_FAILED', errorMessage(e));
          errors.push(`${r.logicalId}: ${this.secrets.mask(errorMessage(e))}`);
        }
      },
      { limit: this.limit },
    );
    return errors;
  }

  // ---- rollback -----------------------------------------------------------------------------

  /** A failed first create: delete everything made, reverse order (`ROLLBACK_*`). */
  async rollbackCreate(reason: string | null): Promise<StackStatus> {
    this.stackStatus('ROLLBACK_IN_PROGRESS', reason);
    const rows = this.store.resources(this.stack, ['live', 'pendingDelete']);
    const errors = await this.deleteRows(rows, (r) => r.deletionPolicy, { onCreateRollback: true });
    const status: StackStatus = errors.length ? 'ROLLBACK_FAILED' : 'ROLLBACK_COMPLETE';
    this.stackStatus(status, errors.length ? `The following resource(s) failed to delete: [${errors.map((e) => e.split(':')[0]).join(', ')}]. ` : null);
    return status;
  }

  /**
   * A failed update: back to the resources of `dep.prior` (`UPDATE_ROLLBACK_*`). Resources updated in
   * place are updated back; replaced ones point back at their old copy (never deleted before cleanup);
   * then what this deployment created is deleted in `UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`.
   */
  async rollbackUpdate(dep: DeploymentRecord, reason: string | null): Promise<StackStatus> {
    this.stackStatus('UPDATE_ROLLBACK_IN_PROGRESS', reason);
    const prior = dep.prior.filter((r) => r.status === 'live');
    const priorById = new Map(prior.map((r) => [r.logicalId, r]));
    const errors: string[] = [];
    const order = topoOrder(
      prior.map((r) => r.logicalId),
      (id) => priorById.get(id)?.dependsOn ?? [],
    );
    const res = await walk(
      order,
      (id) => priorById.get(id)?.dependsOn ?? [],
      async (id) => {
        const p = priorById.get(id)!;
        const cur = this.store.resourceRow(p.id);
        if (!cur) return; // deleted: cannot be restored (only happens after a completed cleanup)
        if (cur.status === 'pendingDelete') {
          this.emit(id, p.type, p.physicalId, 'UPDATE_IN_PROGRESS');
          this.store.transaction(() => {
            for (const r of this.store.resources(this.stack, ['live'])) if (r.logicalId === id && r.id !== p.id) this.store.updateResource(r.id, { status: 'pendingDelete' });
            this.store.updateResource(p.id, { status: 'live' });
          });
        }
        const needsUpdate = canonical(cur.properties) !== canonical(p.properties);
        if (!needsUpdate) {
          if (cur.status === 'pendingDelete') this.emit(id, p.type, p.physicalId, 'UPDATE_COMPLETE');
          return;
        }
        if (cur.status !== 'pendingDelete') this.emit(id, p.type, p.physicalId, 'UPDATE_IN_PROGRESS');
        const handler = this.handler(p.type);
        try {
          const ctx = this.ctx(id, p.type, new AbortController().signal);
          const state: ResourceState = handler.update
            ? await this.intent(
                { logicalId: id, action: 'update', rowId: p.id, properties: p.properties },
                () => handler.update!(ctx, this.secrets.reveal(p.properties), { props: this.secrets.revealKnown(cur.properties), state: this.revealState(cur.state) }),
                (st) => this.store.updateResource(p.id, { properties: p.properties, state: this.tokenState(st) }),
              )
            : p.state;
          if (handler.waitReady) await handler.waitReady(ctx, state, this.secrets.reveal(p.properties));
          this.emit(id, p.type, p.physicalId, 'UPDATE_COMPLETE');
        } catch (e) {
          this.emit(id, p.type, p.physicalId, 'UPDATE_FAILED', errorMessage(e));
          errors.push(`${id}: ${this.secrets.mask(errorMessage(e))}`);
          throw e;
        }
      },
      { limit: this.limit },
    );
    if (res.failed.length > 0 || errors.length > 0) {
      this.stackStatus('UPDATE_ROLLBACK_FAILED', `The following resource(s) failed to update: [${errors.map((e) => e.split(':')[0]).join(', ')}]. `);
      return 'UPDATE_ROLLBACK_FAILED';
    }
    this.stackStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    const priorIds = new Set(dep.prior.map((r) => r.id));
    const made = this.store.resources(this.stack, ['live', 'pendingDelete']).filter((r) => !priorIds.has(r.id));
    const delErrors = await this.deleteRows(made, (r) => (priorById.has(r.logicalId) ? 'Delete' : r.deletionPolicy), { onCreateRollback: true });
    this.store.transaction(() => {
      for (const p of dep.prior) {
        const cur = this.store.resourceRow(p.id);
        if (cur) this.store.updateResource(p.id, { dependsOn: p.dependsOn, deletionPolicy: p.deletionPolicy, updateReplacePolicy: p.updateReplacePolicy, status: p.status === 'retained' ? 'retained' : cur.status });
      }
    });
    const status: StackStatus = delErrors.length ? 'UPDATE_ROLLBACK_FAILED' : 'UPDATE_ROLLBACK_COMPLETE';
    this.stackStatus(status, delErrors.length ? `The following resource(s) failed to delete: [${delErrors.map((e) => e.split(':')[0]).join(', ')}]. ` : null);
    return status;
  }

  // ---- destroy ------------------------------------------------------------------------------

  async destroy(): Promise<RunOutcome> {
    this.stackStatus('DELETE_IN_PROGRESS', 'User Initiated');
    const rows = this.store.resources(this.stack, ['live', 'pendingDelete']);
    const errors = await this.deleteRows(rows, (r) => r.deletionPolicy, { onCreateRollback: false });
    if (errors.length) {
      const reason = `The following resource(s) failed to delete: [${errors.map((e) => e.split(':')[0]).join(', ')}]. `;
      this.stackStatus('DELETE_FAILED', reason);
      this.store.endDeployment(this.deployment, 'FAILED', errors[0]!);
      return { ok: false, status: 'DELETE_FAILED', reason: errors[0]! };
    }
    this.store.setStackDeployment(this.stack, null);
    this.stackStatus('DELETE_COMPLETE');
    this.store.endDeployment(this.deployment, 'COMPLETE');
    return { ok: true, status: 'DELETE_COMPLETE' };
  }
}

export type { StackRecord };
