// The planner: the desired stack (an evaluated template) against what state says is deployed, to a
// change set. Pure: no I/O, inputs never mutated. The executor runs the plan; `kiln plan` prints it.
//
// Decisions (reference cloudformation.md §8.2, §9):
// - A resource in the template and not in state: `create`. In state and not in the template:
//   `delete` (with its DeletionPolicy, as recorded when it was deployed).
// - Otherwise its properties are resolved against the prior live values of its dependencies and
//   compared with the properties as deployed. Equal: `noop`. Different: `update` with the changed
//   top-level property paths, or `replace` (create-first) when one of them forces a new resource:
//     * the spec says `causesReplacement: yes` (createOnly) — adding or removing one replaces too;
//     * the spec says `maybe`: replaced unless the type is known to update it in place
//       (`MAYBE_IN_PLACE` below: an EC2 Instance's InstanceType and UserData update with
//       interruption as on AWS — the instance is restarted, its physical id kept — and
//       SecurityGroupIds without); a provider may still ask for replacement through `diff` (the
//       local Docker provider replaces an instance whose UserData changed, so the boot script
//       always matches the template);
//     * the provider's `diff` says so; or the handler cannot update at all.
// - Values known only after apply: a `Ref` to a resource being created or replaced is a new physical
//   id for sure, so the property holding it changes for sure and the step is definite (dependents
//   of a replaced resource are updated, or replaced when the property forces it). An attribute
//   (`Fn::GetAtt`) of a resource being created, replaced or updated in place may or may not change:
//   when the step would differ with the value changed or not, it is *conditional* (CloudFormation's
//   `Replacement: Conditional`): `replace` or `update` as planned if the value changes, `otherwise`
//   the lesser step. The executor takes the lesser branch only for such steps; any other difference
//   between the plan and the real values stops the resource and rolls the stack back.
// - Rows an earlier cleanup could not delete (`leftovers`) are planned as deletes again.
// - Types without a handler are refused here (no partial deploys); handlers with `effect: 'none'` are
//   marked "no local effect".
import type { Diagnostic } from '../core/diagnostics.js';
import { Dag, DagCycleError } from '../core/dag.js';
import type { Json, JsonObject } from './model.js';
import type { ResourceHandler, ResourceState } from '../model/provider.js';
import { refOf } from '../model/provider.js';
import type { DeletionPolicy, ReplacePolicy } from '../model/policy.js';

/** One resource of the evaluated template: conditions applied, parameters substituted, resource
 *  references still written as `Ref` / `Fn::GetAtt` / `Fn::Sub`… */
export interface DesiredResource {
  logicalId: string;
  type: string;
  properties: JsonObject;
  /** Every resource this one needs: its references and its DependsOn. */
  dependsOn: string[];
  /** The resources named in its `DependsOn` attribute alone (a head start for `create` waits for them). */
  explicitDependsOn?: string[];
  deletionPolicy: DeletionPolicy;
  updateReplacePolicy: ReplacePolicy;
  /** `UpdatePolicy` / `CreationPolicy` as written (intrinsics resolved at run time), for handlers that honour them. */
  policies?: { UpdatePolicy?: JsonObject; CreationPolicy?: JsonObject; Metadata?: JsonObject };
}

export interface DesiredStack {
  resources: Record<string, DesiredResource>;
  outputs: Record<string, { value: Json; description?: string; exportName?: Json }>;
}

/** A live resource as state records it (properties resolved as deployed). */
export interface PriorResource {
  logicalId: string;
  type: string;
  physicalId: string;
  properties: JsonObject;
  state: ResourceState;
  dependsOn: string[];
  deletionPolicy: DeletionPolicy;
  updateReplacePolicy: ReplacePolicy;
}

/**
 * A step whose outcome hangs on values known only after apply: `on` names the properties; if none
 * of them changes at run time the executor takes `otherwise` (a lesser step) instead of the planned one.
 */
export interface Conditional {
  on: string[];
  otherwise: 'update' | 'noop';
}

export type Step =
  | { kind: 'create'; id: string; type: string; noLocalEffect: boolean }
  | { kind: 'update'; id: string; type: string; physicalId: string; changed: string[]; afterApply: string[]; conditional?: Conditional; noLocalEffect: boolean }
  | {
      kind: 'replace';
      id: string;
      type: string;
      physicalId: string;
      order: 'create-first';
      because: string[];
      changed: string[];
      afterApply: string[];
      conditional?: Conditional;
      noLocalEffect: boolean;
    }
  | {
      kind: 'delete';
      id: string;
      type: string;
      physicalId: string;
      policy: DeletionPolicy;
      /** A copy an earlier cleanup could not delete (an old copy of a replaced resource, or a removed one). */
      leftover?: boolean;
      noLocalEffect: boolean;
    }
  | { kind: 'noop'; id: string; type: string; physicalId: string; noLocalEffect: boolean };

/** How far a step goes: a run-time decision may fall back but never go beyond the plan. */
const RANK: Record<'noop' | 'update' | 'replace', number> = { noop: 0, update: 1, replace: 2 };

/**
 * What the executor may do for a planned step given what the real values need (`needed`, from
 * `decide` at run time): the planned kind, or for a conditional step anything down to `otherwise`;
 * `undefined` when the real values need more than the plan says (the resource must stop).
 */
export function allowedAtRunTime(step: Extract<Step, { kind: 'update' | 'replace' }>, needed: Decision['kind']): 'noop' | 'update' | 'replace' | undefined {
  if (RANK[needed] > RANK[step.kind]) return undefined;
  const floor = step.conditional?.otherwise ?? step.kind;
  return RANK[needed] >= RANK[floor] ? needed : floor;
}

export interface Plan {
  /** Creates, updates and replaces in dependency order, then deletes, then noops. */
  steps: Step[];
  diagnostics: Diagnostic[];
  /** False when deploying would change no resource (outputs may still differ). */
  changes: boolean;
}

/** Resolves run-time intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`…) of a property value. */
export type RuntimeResolve = (value: Json, lookups: { ref(logicalId: string): Json | undefined; getAtt(logicalId: string, attribute: string): Json | undefined }) => Json;

export interface PlanOptions {
  handler(type: string): ResourceHandler | undefined;
  /** Why the target refuses a type it has no handler for (Provider.refusal). */
  refusal?(type: string): string | undefined;
  /** Spec facts: top-level properties whose change always / maybe replaces (src/stack/spec.ts). */
  replacement(type: string): { always: readonly string[]; maybe: readonly string[] } | undefined;
  resolve: RuntimeResolve;
  /** Logical ids to replace whatever their properties say (`kiln deploy --replace-drifted`). */
  forceReplace?: ReadonlySet<string>;
  /** Logical ids the target replaces because others change, with why (Provider.coupledReplacements). */
  mustReplace?: ReadonlyMap<string, readonly string[]>;
  /** Rows an earlier cleanup could not delete (state `pendingDelete`): deleted again by this plan. */
  leftovers?: readonly PriorResource[];
}

/** Marks a value known only after apply, which may or may not differ from the value deployed. */
export const AFTER_APPLY = '\u0000(known after apply)\u0000';
/** Marks the physical id of a resource being created or replaced: known after apply, new for sure. */
const NEW_ID = '\u0000(new physical id)\u0000';

/** `maybe` properties a type updates in place (with or without interruption). */
const MAYBE_IN_PLACE: Readonly<Record<string, readonly string[]>> = {
  'AWS::EC2::Instance': ['InstanceType', 'UserData', 'SecurityGroupIds', 'EbsOptimized', 'Monitoring'],
  'AWS::AutoScaling::AutoScalingGroup': ['LaunchTemplate', 'VPCZoneIdentifier', 'MinSize', 'MaxSize', 'DesiredCapacity'],
};

/**
 * `maybe` properties replaced only when they appear or disappear, updated in place otherwise (the
 * CloudFormation reference: "Replacement if you did not have a health check specified and you are
 * adding one or if you are removing the health check; otherwise no interruption").
 */
const REPLACED_WHEN_ADDED_OR_REMOVED: Readonly<Record<string, readonly string[]>> = {
  'AWS::ElasticLoadBalancing::LoadBalancer': ['AvailabilityZones', 'HealthCheck', 'Subnets'],
};

function present(v: Json | undefined): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

export function canonical(v: Json | undefined): string {
  if (v === undefined) return 'undefined';
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o: JsonObject = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]!);
    return o;
  }
  return v;
}

function contains(v: Json | undefined, marker: string): boolean {
  if (typeof v === 'string') return v.includes(marker);
  if (Array.isArray(v)) return v.some((x) => contains(x, marker));
  if (v && typeof v === 'object') return Object.values(v).some((x) => contains(x, marker));
  return false;
}

function containsAfterApply(v: Json | undefined): boolean {
  return contains(v, AFTER_APPLY) || contains(v, NEW_ID);
}

/** The top-level properties that differ between two property sets. */
function changedPaths(before: JsonObject, after: JsonObject): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => canonical(before[k]) !== canonical(after[k])).sort();
}

type Decision = { kind: 'noop' } | { kind: 'update'; changed: string[] } | { kind: 'replace'; changed: string[]; because: string[] };

/** Update or replace, given the properties as deployed and as wanted (used at plan and at run time). */
export function decide(type: string, before: JsonObject, after: JsonObject, opts: Pick<PlanOptions, 'handler' | 'replacement'>, force: boolean | readonly string[] = false): Decision {
  const changed = changedPaths(before, after);
  if (Array.isArray(force)) return { kind: 'replace', changed, because: [...force] };
  if (force) return { kind: 'replace', changed, because: changed.length ? changed : ['drift'] };
  if (changed.length === 0) return { kind: 'noop' };
  const handler = opts.handler(type);
  const spec = opts.replacement(type);
  const inPlace = new Set(MAYBE_IN_PLACE[type] ?? []);
  const addedOrRemoved = new Set(REPLACED_WHEN_ADDED_OR_REMOVED[type] ?? []);
  const because = new Set<string>();
  for (const p of changed) {
    if (spec?.always.includes(p)) because.add(p);
    else if (addedOrRemoved.has(p)) {
      if (present(before[p]) !== present(after[p])) because.add(p);
    } else if (spec?.maybe.includes(p) && !inPlace.has(p)) because.add(p);
  }
  if (handler?.diff) for (const p of handler.diff(before, after).requiresReplacement) if (changed.includes(p.split('.')[0]!)) because.add(p);
  if (!handler?.update) for (const p of changed) because.add(p);
  return because.size > 0 ? { kind: 'replace', changed, because: [...because].sort() } : { kind: 'update', changed };
}

/** Dependency order (dependencies first), ties in the given order, over the core DAG. */
function dependencyOrder(ids: readonly string[], deps: (id: string) => readonly string[]): string[] {
  const g = new Dag();
  for (const id of ids) g.add(id);
  for (const id of ids) for (const d of deps(id)) if (g.has(d) && d !== id) g.dependOn(id, d);
  return g.topologicalOrder();
}

/**
 * The step for a resource that exists, given its resolved properties (with markers where values are
 * known only after apply): definite when the decision is the same whether the uncertain values
 * change or not, conditional otherwise.
 */
function stepFor(want: DesiredResource, have: PriorResource, resolved: JsonObject, opts: PlanOptions, noLocalEffect: boolean): Step {
  const known = { id: want.logicalId, type: want.type, physicalId: have.physicalId, noLocalEffect };
  const force = opts.mustReplace?.get(want.logicalId) ?? opts.forceReplace?.has(want.logicalId) ?? false;
  const afterApply = Object.keys(resolved)
    .filter((k) => containsAfterApply(resolved[k]))
    .sort();
  const uncertain = afterApply.filter((k) => contains(resolved[k], AFTER_APPLY) && !contains(resolved[k], NEW_ID));
  const ifChanged = decide(want.type, have.properties, resolved, opts, force);
  let conditional: Conditional | undefined;
  if (uncertain.length > 0) {
    const unchanged: JsonObject = { ...resolved };
    for (const k of uncertain) {
      if (have.properties[k] === undefined) delete unchanged[k];
      else unchanged[k] = have.properties[k]!;
    }
    const ifSame = decide(want.type, have.properties, unchanged, opts, force);
    if (ifSame.kind !== ifChanged.kind && ifSame.kind !== 'replace') conditional = { on: uncertain, otherwise: ifSame.kind };
  }
  const cond = conditional ? { conditional } : {};
  if (ifChanged.kind === 'noop') return { kind: 'noop', ...known };
  if (ifChanged.kind === 'update') return { kind: 'update', ...known, changed: ifChanged.changed, afterApply, ...cond };
  return { kind: 'replace', ...known, order: 'create-first', because: ifChanged.because, changed: ifChanged.changed, afterApply, ...cond };
}

export function plan(desired: DesiredStack, prior: readonly PriorResource[], opts: PlanOptions): Plan {
  const diagnostics: Diagnostic[] = [];
  const priorById = new Map(prior.map((p) => [p.logicalId, p]));
  const ids = Object.keys(desired.resources);
  for (const id of ids) {
    const r = desired.resources[id]!;
    if (!opts.handler(r.type))
      diagnostics.push({
        severity: 'error',
        code: 'UNSUPPORTED_RESOURCE_TYPE',
        message: `Resource type ${r.type} has no local realisation (${opts.refusal?.(r.type) ?? 'unrecognized resource type'}); nothing was deployed`,
        path: `Resources.${id}.Type`,
        segments: ['Resources', id, 'Type'],
      });
  }
  if (diagnostics.length > 0) return { steps: [], diagnostics, changes: false };

  let order: string[];
  try {
    order = dependencyOrder(ids, (id) => desired.resources[id]!.dependsOn);
  } catch (e) {
    if (!(e instanceof DagCycleError)) throw e;
    const message = e.message;
    return { steps: [], diagnostics: [{ severity: 'error', code: 'E3004', message, path: 'Resources', segments: ['Resources'] }], changes: false };
  }
  const decided = new Map<string, Step>();
  const lookups = {
    ref(id: string): Json | undefined {
      const s = decided.get(id);
      if (!s || s.kind === 'create' || s.kind === 'replace') return NEW_ID;
      const st = priorById.get(id)?.state;
      return st ? refOf(st) : undefined;
    },
    getAtt(id: string, attribute: string): Json | undefined {
      const s = decided.get(id);
      // An update in place keeps the physical id (Ref) but may change attributes (a launch
      // template's LatestVersionNumber): dependents learn them only after the update.
      if (!s || s.kind === 'create' || s.kind === 'replace' || s.kind === 'update') return AFTER_APPLY;
      return priorById.get(id)?.state.attributes[attribute];
    },
  };
  for (const id of order) {
    const want = desired.resources[id]!;
    const handler = opts.handler(want.type)!;
    const noLocalEffect = handler.effect === 'none';
    const have = priorById.get(id);
    if (!have) {
      decided.set(id, { kind: 'create', id, type: want.type, noLocalEffect });
      continue;
    }
    const known = { id, type: want.type, physicalId: have.physicalId, noLocalEffect };
    if (have.type !== want.type) {
      decided.set(id, { kind: 'replace', ...known, order: 'create-first', because: ['Type'], changed: ['Type'], afterApply: [] });
      continue;
    }
    let resolved: JsonObject;
    try {
      resolved = opts.resolve(want.properties, lookups) as JsonObject;
    } catch (e) {
      diagnostics.push({ severity: 'error', code: 'RESOLVE', message: (e as Error).message, path: `Resources.${id}.Properties`, segments: ['Resources', id, 'Properties'] });
      continue;
    }
    decided.set(id, stepFor(want, have, resolved, opts, noLocalEffect));
  }
  // Deletes (removed resources and leftovers of earlier cleanups) in reverse dependency order.
  const doomed = [...prior.filter((p) => !desired.resources[p.logicalId]), ...(opts.leftovers ?? [])];
  const keys = doomed.map((_, i) => String(i));
  const waitsFor = (k: string) => keys.filter((o) => o !== k && doomed[Number(o)]!.logicalId !== doomed[Number(k)]!.logicalId && doomed[Number(o)]!.dependsOn.includes(doomed[Number(k)]!.logicalId));
  const deletes: Step[] = dependencyOrder(keys, waitsFor).map((k) => {
    const p = doomed[Number(k)]!;
    const leftover = Number(k) >= doomed.length - (opts.leftovers?.length ?? 0);
    const policy = leftover && desired.resources[p.logicalId] ? p.updateReplacePolicy : p.deletionPolicy;
    return { kind: 'delete', id: p.logicalId, type: p.type, physicalId: p.physicalId, policy, ...(leftover ? { leftover: true } : {}), noLocalEffect: opts.handler(p.type)?.effect === 'none' };
  });
  const forward = order.map((id) => decided.get(id)).filter((s): s is Step => s !== undefined);
  const steps = [...forward.filter((s) => s.kind !== 'noop'), ...deletes, ...forward.filter((s) => s.kind === 'noop')];
  return { steps, diagnostics, changes: steps.some((s) => s.kind !== 'noop') };
}

/** Counts per kind, for summaries: `2 to create, 1 to replace, 0 to update, 1 to delete`. */
export function summarize(p: Plan): Record<Step['kind'], number> {
  const out: Record<Step['kind'], number> = { create: 0, update: 0, replace: 0, delete: 0, noop: 0 };
  for (const s of p.steps) out[s.kind]++;
  return out;
}
