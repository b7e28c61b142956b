// What every step of a run shares: the store, the provider, the secrets, the run-time resolver, the
// events (each written to state and emitted), the resource context handed to handlers, and the intent
// records around provider calls. One per run; the step functions (steps.ts) and the phases
// (engine.ts) receive it.
import type { EventSink } from '../core/events.js';
import type { Json, JsonObject } from '../core/json.js';
import type { KnownResource, Provider, ResourceContext, ResourceHandler, ResourceState } from '../model/provider.js';
import { refOf } from '../model/provider.js';
import type { DesiredStack, RuntimeResolve } from '../stack/plan.js';
import type { ResourceRow, ResourceStatus, StackStatus, StackStore } from '../state/store.js';
import { STACK_TYPE, type EngineEvent } from './events.js';
import { Secrets } from './secrets.js';

export interface RunOptions {
  store: StackStore;
  provider: Provider;
  stack: string;
  deployment: string;
  events: EventSink<EngineEvent>;
  secrets?: Secrets;
  resolve: RuntimeResolve;
  /** Spec facts: top-level properties whose change always / maybe replaces (src/stack/spec.ts). */
  replacement(type: string): { always: readonly string[]; maybe: readonly string[] } | undefined;
}

export class RunContext {
  readonly store: StackStore;
  readonly provider: Provider;
  readonly stack: string;
  readonly deployment: string;
  readonly secrets: Secrets;
  readonly resolve: RuntimeResolve;
  readonly replacement: RunOptions['replacement'];
  private readonly events: EventSink<EngineEvent>;
  private stackId: string;
  private liveCache: Map<string, ResourceRow> | undefined;
  /** The template of the deploy in progress (ResourceContext.siblings). */
  desired: DesiredStack | undefined;

  constructor(o: RunOptions) {
    this.store = o.store;
    this.provider = o.provider;
    this.stack = o.stack;
    this.deployment = o.deployment;
    this.events = o.events;
    this.secrets = o.secrets ?? new Secrets();
    this.resolve = o.resolve;
    this.replacement = o.replacement;
    this.stackId = this.store.stack(o.stack)?.stackId ?? o.stack;
  }

  // ---- events -------------------------------------------------------------------------------

  /** A resource status change: written to state, then emitted (reasons masked). */
  emit(logicalId: string, type: string, physicalId: string | null, status: ResourceStatus, reason: string | null = null): void {
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

  event(e: EngineEvent): void {
    this.events.emit(e);
  }

  // ---- live resources -----------------------------------------------------------------------

  /** The live row of each logical id (cached until a step changes one). */
  live(): Map<string, ResourceRow> {
    return (this.liveCache ??= this.store.liveResources(this.stack));
  }

  invalidate(): void {
    this.liveCache = undefined;
  }

  lookups() {
    return {
      ref: (id: string): Json | undefined => {
        const st = this.live().get(id)?.state;
        return st ? refOf(st) : undefined;
      },
      getAtt: (id: string, attribute: string): Json | undefined => this.live().get(id)?.state.attributes[attribute],
    };
  }

  /** Properties resolved against the live resources, NoEcho values tokenised (as state stores them). */
  resolved(properties: JsonObject): JsonObject {
    return this.secrets.tokenise(this.resolve(properties, this.lookups()) as JsonObject);
  }

  // ---- handlers -----------------------------------------------------------------------------

  handler(type: string): ResourceHandler {
    const h = this.provider.handler(type);
    if (!h) throw new Error(`no handler for resource type ${type}`);
    return h;
  }

  /** Provider state as stored: NoEcho values tokenised (attributes may echo a secret). */
  tokenState(st: ResourceState): ResourceState {
    return this.secrets.tokenise(st as unknown as Json) as unknown as ResourceState;
  }

  revealState(st: ResourceState): ResourceState {
    return this.secrets.revealKnown(st as unknown as Json) as unknown as ResourceState;
  }

  ctx(logicalId: string, type: string, signal: AbortSignal, policies?: ResourceContext['policies']): ResourceContext {
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
        ? {
            siblings: () =>
              Object.values(desired.resources)
                .filter((r) => r.logicalId !== logicalId)
                .map((r) => ({ logicalId: r.logicalId, type: r.type, properties: r.properties })),
          }
        : {}),
      ...(policies ? { policies } : {}),
    };
  }

  /** Runs one provider call bracketed by an intent record; `commit` writes the outcome with the op's end. */
  async intent<T>(
    op: { logicalId: string; action: 'create' | 'update' | 'delete'; rowId: number | null; properties: JsonObject | null },
    call: () => Promise<T>,
    commit: (result: T) => void,
  ): Promise<T> {
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
    this.invalidate();
    return result;
  }
}
