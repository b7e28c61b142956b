// One small function per kind of node of the executor's graphs (graph.ts), each around one shared
// wrapper (`tracked`) that emits the resource's events and turns a failure into data: a StepFailed
// carrying `{ id, type, verb, cancelled, error, reason }`. Whether a failure is a cancellation is a
// fact the walker knows (the node's signal was aborted before it failed), never guessed from a
// message.
//
// The plan is the contract: an update or a replacement is checked against the real values before
// the provider is called (`decide` with what the resources it references really are now). A
// conditional step may take its lesser branch; anything beyond the plan — a planned update that the
// real values, or the provider, say needs a replacement, a resource that vanished — stops that
// resource with a PlanDeviation naming the planned and the needed step, and the run rolls back.
import { KilnError, errorMessage } from '../core/errors.js';
import { ReplacementRequired, ResourceMissing, type ResourceContext, type ResourceState } from '../model/provider.js';
import { allowedAtRunTime, canonical, decide, type DesiredResource } from '../stack/plan.js';
import type { ResourceRow, ResourceStatus } from '../state/store.js';
import type { RunContext } from './context.js';
import type { ExecNode, ForwardStep } from './graph.js';

type Verb = 'create' | 'update' | 'delete';

export interface StepFailure {
  id: string;
  type: string;
  verb: Verb;
  /** The step failed because the run was stopping (another failure, an interrupt), not by itself. */
  cancelled: boolean;
  error: unknown;
  /** What the FAILED event says (masked). */
  reason: string;
}

class StepFailed extends Error {
  constructor(readonly failure: StepFailure) {
    super(failure.reason);
    this.name = 'StepFailed';
  }
}

/** Reality needs another step than the plan says: the resource stops, the run rolls back. */
class PlanDeviation extends KilnError {
  constructor(
    readonly logicalId: string,
    readonly planned: 'update' | 'replace',
    readonly needed: 'create' | 'replace',
    readonly why: string,
  ) {
    super(
      'PLAN_DEVIATION',
      `planned ${planned}, but ${why}, which needs ${needed === 'create' ? 'a new resource (create)' : 'a replacement'}: kiln runs only the plan that was reviewed, so this resource stops and the stack rolls back; plan again`,
      'environment',
    );
  }
}

const EVENTS: Record<Verb, { start: ResourceStatus; done: ResourceStatus; failed: ResourceStatus; cancelled: string }> = {
  create: { start: 'CREATE_IN_PROGRESS', done: 'CREATE_COMPLETE', failed: 'CREATE_FAILED', cancelled: 'Resource creation cancelled' },
  update: { start: 'UPDATE_IN_PROGRESS', done: 'UPDATE_COMPLETE', failed: 'UPDATE_FAILED', cancelled: 'Resource update cancelled' },
  delete: { start: 'DELETE_IN_PROGRESS', done: 'DELETE_COMPLETE', failed: 'DELETE_FAILED', cancelled: 'Resource deletion cancelled' },
};

/** Where a step stands, for its events: the physical id to name (set once a new copy exists). */
interface At {
  physicalId: string | null;
}

/**
 * The shared wrapper: `<VERB>_IN_PROGRESS` (unless `announce` is false), the body, then
 * `<VERB>_COMPLETE`; on a failure `<VERB>_FAILED` with the reason (or the cancellation) and a
 * StepFailed for the walker.
 */
async function tracked(
  run: RunContext,
  s: { id: string; type: string; verb: Verb; physicalId: string | null; reason?: string; announce?: boolean },
  signal: AbortSignal,
  body: (at: At) => Promise<void>,
): Promise<void> {
  const ev = EVENTS[s.verb];
  const at: At = { physicalId: s.physicalId };
  if (s.announce !== false) run.emit(s.id, s.type, at.physicalId, ev.start, s.reason ?? null);
  try {
    await body(at);
  } catch (error) {
    const cancelled = signal.aborted && !(error instanceof PlanDeviation);
    const reason = cancelled ? ev.cancelled : errorMessage(error);
    run.emit(s.id, s.type, at.physicalId, ev.failed, reason);
    if (error instanceof PlanDeviation) run.event({ kind: 'deviation', logicalId: error.logicalId, planned: error.planned, needed: error.needed, reason: run.secrets.mask(error.why) });
    throw new StepFailed({ id: s.id, type: s.type, verb: s.verb, cancelled, error, reason: run.secrets.mask(reason) });
  }
  run.emit(s.id, s.type, at.physicalId, ev.done);
}

function resourceContext(run: RunContext, want: DesiredResource, signal: AbortSignal): ResourceContext {
  const policies = want.policies ? (run.resolve(want.policies, run.lookups()) as ResourceContext['policies']) : undefined;
  return run.ctx(want.logicalId, want.type, signal, policies);
}

function rowBase(run: RunContext, want: DesiredResource) {
  return {
    stack: run.stack,
    logicalId: want.logicalId,
    type: want.type,
    dependsOn: want.dependsOn,
    deletionPolicy: want.deletionPolicy,
    updateReplacePolicy: want.updateReplacePolicy,
    noLocalEffect: run.handler(want.type).effect === 'none',
  };
}

// ---- forward steps ---------------------------------------------------------------------------

export async function createStep(run: RunContext, want: DesiredResource, signal: AbortSignal): Promise<void> {
  await tracked(run, { id: want.logicalId, type: want.type, verb: 'create', physicalId: null }, signal, async (at) => {
    const handler = run.handler(want.type);
    const props = run.resolved(want.properties);
    const ctx = resourceContext(run, want, signal);
    const state = await run.intent(
      { logicalId: want.logicalId, action: 'create', rowId: null, properties: null },
      () => handler.create(ctx, run.secrets.reveal(props)),
      (st) => {
        run.store.insertResource({ ...rowBase(run, want), physicalId: st.physicalId, properties: props, state: run.tokenState(st), status: 'live', deployment: run.deployment });
      },
    );
    at.physicalId = state.physicalId;
    run.emit(want.logicalId, want.type, state.physicalId, 'CREATE_IN_PROGRESS', 'Resource creation Initiated');
    if (handler.waitReady) await handler.waitReady(ctx, state, run.secrets.reveal(props));
  });
}

/** A new copy first; the old one stays (pendingDelete) for the cleanup phase or a rollback. */
async function replaceStep(run: RunContext, want: DesiredResource, old: ResourceRow, because: readonly string[], signal: AbortSignal): Promise<void> {
  const reason = `Requested update requires the creation of a new physical resource; hence creating one.${because.length ? ` (because ${because.join(', ')})` : ''}`;
  await tracked(run, { id: want.logicalId, type: want.type, verb: 'update', physicalId: old.physicalId, reason }, signal, async (at) => {
    const handler = run.handler(want.type);
    const props = run.resolved(want.properties);
    const ctx = resourceContext(run, want, signal);
    const state = await run.intent(
      { logicalId: want.logicalId, action: 'create', rowId: old.id, properties: null },
      () => handler.create(ctx, run.secrets.reveal(props)),
      (st) => {
        run.store.insertResource({ ...rowBase(run, want), physicalId: st.physicalId, properties: props, state: run.tokenState(st), status: 'live', deployment: run.deployment });
        run.store.updateResource(old.id, { status: 'pendingDelete' });
      },
    );
    at.physicalId = state.physicalId;
    run.emit(want.logicalId, want.type, state.physicalId, 'UPDATE_IN_PROGRESS', 'Resource creation Initiated');
    if (handler.waitReady) await handler.waitReady(ctx, state, run.secrets.reveal(props));
  });
}

/** An update in place. `planned` is the step's kind: a conditional replacement may still fall back to it. */
async function updateStep(run: RunContext, want: DesiredResource, old: ResourceRow, planned: 'update' | 'replace', signal: AbortSignal): Promise<'updated' | 'needs-replacement'> {
  let outcome: 'updated' | 'needs-replacement' = 'updated';
  await tracked(run, { id: want.logicalId, type: want.type, verb: 'update', physicalId: old.physicalId }, signal, async (at) => {
    const handler = run.handler(want.type);
    const props = run.resolved(want.properties);
    const ctx = resourceContext(run, want, signal);
    let state: ResourceState;
    try {
      state = await run.intent(
        { logicalId: want.logicalId, action: 'update', rowId: old.id, properties: props },
        () => handler.update!(ctx, run.secrets.reveal(props), { props: run.secrets.revealKnown(old.properties), state: run.revealState(old.state) }),
        (st) => run.store.updateResource(old.id, { properties: props, state: run.tokenState(st), physicalId: st.physicalId, dependsOn: want.dependsOn }),
      );
    } catch (e) {
      if (e instanceof ResourceMissing) {
        await forgetVanished(run, old, ctx);
        throw new PlanDeviation(want.logicalId, planned, 'create', `${old.physicalId} no longer exists (${e.message})`);
      }
      if (e instanceof ReplacementRequired) {
        if (planned === 'replace') {
          outcome = 'needs-replacement';
          return;
        }
        throw new PlanDeviation(want.logicalId, planned, 'replace', `the provider cannot update it in place (${e.message})`);
      }
      throw e;
    }
    at.physicalId = state.physicalId;
    if (handler.waitReady) await handler.waitReady(ctx, state, run.secrets.reveal(props));
  });
  return outcome;
}

/**
 * A resource the provider found gone: what it left (addresses, ports) is released and state forgets
 * it, so state says what exists and the next plan creates it. Nothing is created here.
 */
async function forgetVanished(run: RunContext, old: ResourceRow, ctx: ResourceContext): Promise<void> {
  try {
    await removeRow(run, old, ctx);
  } catch (e) {
    run.event({ kind: 'notice', message: run.secrets.mask(`${old.logicalId}: ${old.physicalId} no longer exists, but what it left could not be released (${errorMessage(e)}); state keeps it`) });
    return;
  }
  run.event({ kind: 'notice', message: `${old.logicalId}: ${old.physicalId} no longer exists; state forgets it, so the next plan creates it` });
}

/**
 * An update or a replacement, as planned — checked first against the real values. A conditional
 * step takes the branch they call for (never beyond the plan); a definite one runs as planned.
 */
export async function changeStep(run: RunContext, step: Extract<ForwardStep, { kind: 'update' | 'replace' }>, want: DesiredResource, signal: AbortSignal): Promise<void> {
  const old = run.live().get(step.id);
  if (!old) {
    await tracked(run, { id: step.id, type: step.type, verb: 'update', physicalId: step.physicalId }, signal, async () => {
      throw new PlanDeviation(step.id, step.kind, 'create', 'state holds no live copy of it any more');
    });
    return;
  }
  const props = run.resolved(want.properties);
  const needed =
    old.type !== want.type ? { kind: 'replace' as const, because: ['Type'] } : decide(want.type, old.properties, props, { handler: (t) => run.provider.handler(t), replacement: run.replacement });
  const take = allowedAtRunTime(step, needed.kind);
  if (take === undefined) {
    const because = needed.kind === 'replace' ? needed.because.join(', ') : '';
    await tracked(run, { id: step.id, type: step.type, verb: 'update', physicalId: old.physicalId }, signal, async () => {
      throw new PlanDeviation(step.id, step.kind, 'replace', `with the real values ${because} changes`);
    });
    return;
  }
  if (take === 'noop') return; // a conditional step whose uncertain values did not change
  if (take === 'update' && (await updateStep(run, want, old, step.kind, signal)) === 'updated') return;
  const because = needed.kind === 'replace' ? needed.because : step.kind === 'replace' ? step.because : [];
  await replaceStep(run, want, old, because, signal);
}

/**
 * A head start (ResourceHandler.prepare): the properties it uses, resolved as soon as their
 * resources exist. A failing head start costs only itself: `create` does the whole work.
 */
export async function headStartStep(run: RunContext, want: DesiredResource, prepared: Set<string>, signal: AbortSignal): Promise<void> {
  const prep = run.handler(want.type).prepare!;
  prepared.add(want.logicalId);
  try {
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(want.properties)) if (!prep.without.includes(k)) props[k] = v;
    const resolved = run.resolved(props as typeof want.properties);
    await prep.run(run.ctx(want.logicalId, want.type, signal), run.secrets.reveal(resolved));
  } catch {
    // Only the head start is lost.
  }
}

// ---- deletes ---------------------------------------------------------------------------------

/** Deletes a row's object; with `snapshot` (its Snapshot policy), the provider saves its data first. */
export async function deleteStep(run: RunContext, row: ResourceRow, signal: AbortSignal, snapshot = false): Promise<void> {
  await tracked(run, { id: row.logicalId, type: row.type, verb: 'delete', physicalId: row.physicalId }, signal, () => removeRow(run, row, run.ctx(row.logicalId, row.type, signal), snapshot));
}

/**
 * The one way a row's object is deleted and the row forgotten, under a delete intent (a delete step,
 * or what a vanished resource left); with `snapshot`, the provider saves its data first. A type with
 * no handler any more has nothing to delete: only the row goes.
 */
async function removeRow(run: RunContext, row: ResourceRow, ctx: ResourceContext, snapshot = false): Promise<void> {
  const handler = run.provider.handler(row.type);
  if (!handler) {
    run.store.deleteResource(row.id);
    return;
  }
  await run.intent(
    { logicalId: row.logicalId, action: 'delete', rowId: row.id, properties: null },
    async () => {
      const state = run.revealState(row.state);
      const props = run.secrets.revealKnown(row.properties);
      if (snapshot && handler.snapshot) {
        const name = await handler.snapshot(ctx, state, props);
        if (name) run.emit(row.logicalId, row.type, row.physicalId, 'DELETE_IN_PROGRESS', `Snapshot: final snapshot ${name} saved before the delete`);
      }
      await handler.delete(ctx, state, props);
    },
    () => run.store.deleteResource(row.id),
  );
}

/** A policy keeps the object: the row stays as `retained` so orphan sweeps never remove it. */
export function retainStep(run: RunContext, row: ResourceRow, policy: string): void {
  run.store.updateResource(row.id, { status: 'retained' });
  run.emit(row.logicalId, row.type, row.physicalId, 'DELETE_SKIPPED', policy === 'Snapshot' ? `Snapshot: the local target cannot snapshot ${row.type}, so the resource is kept with its data` : null);
}

// ---- rollback of an update -------------------------------------------------------------------

/**
 * Puts back a resource of the previous deployment: its old copy becomes live again if it was
 * replaced (never deleted before cleanup), and it is updated back if its properties changed.
 */
export async function restoreStep(run: RunContext, prior: ResourceRow, signal: AbortSignal): Promise<void> {
  const cur = run.store.resourceRow(prior.id);
  if (!cur) return; // deleted: cannot be restored (only happens after a completed cleanup)
  const repoint = cur.status === 'pendingDelete';
  if (repoint) {
    run.emit(prior.logicalId, prior.type, prior.physicalId, 'UPDATE_IN_PROGRESS');
    run.store.transaction(() => {
      for (const r of run.store.resources(run.stack, ['live'])) if (r.logicalId === prior.logicalId && r.id !== prior.id) run.store.updateResource(r.id, { status: 'pendingDelete' });
      run.store.updateResource(prior.id, { status: 'live' });
    });
    run.invalidate();
  }
  if (canonical(cur.properties) === canonical(prior.properties)) {
    if (repoint) run.emit(prior.logicalId, prior.type, prior.physicalId, 'UPDATE_COMPLETE');
    return;
  }
  await tracked(run, { id: prior.logicalId, type: prior.type, verb: 'update', physicalId: prior.physicalId, announce: !repoint }, signal, async () => {
    const handler = run.handler(prior.type);
    const ctx = run.ctx(prior.logicalId, prior.type, new AbortController().signal);
    const state: ResourceState = handler.update
      ? await run.intent(
          { logicalId: prior.logicalId, action: 'update', rowId: prior.id, properties: prior.properties },
          () => handler.update!(ctx, run.secrets.reveal(prior.properties), { props: run.secrets.revealKnown(cur.properties), state: run.revealState(cur.state) }),
          (st) => run.store.updateResource(prior.id, { properties: prior.properties, state: run.tokenState(st) }),
        )
      : prior.state;
    if (handler.waitReady) await handler.waitReady(ctx, state, run.secrets.reveal(prior.properties));
  });
}

/** The failure record of a walk failure (a StepFailed, or anything else a node threw). */
export function failureOf(f: { id: string; error: unknown; cancelled: boolean }, node: ExecNode | undefined): StepFailure {
  if (f.error instanceof StepFailed) return f.error.failure;
  const type = node?.kind === 'step' ? node.step.type : node && 'row' in node ? node.row.type : '';
  const verb: Verb = node?.kind === 'step' && node.step.kind === 'create' ? 'create' : node?.kind === 'delete' ? 'delete' : 'update';
  return { id: node?.kind === 'step' ? node.step.id : f.id, type, verb, cancelled: f.cancelled, error: f.error, reason: errorMessage(f.error) };
}
