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
// - A reference to a resource that will be created or replaced is "known after apply": the property
//   holding it counts as changed (so dependents of a replaced resource are updated, or replaced when
//   the property forces it), and the executor decides again with the real values at run time.
// - Types without a handler are refused here (no partial deploys); handlers with `effect: 'none'` are
//   marked "no local effect".
import type { Diagnostic } from '../core/diagnostics.js';
import type { Json, JsonObject } from './model.js';
import type { ResourceHandler, ResourceState } from '../model/provider.js';
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
  policies?: { UpdatePolicy?: JsonObject; CreationPolicy?: JsonObject };
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

export type Step =
  | { kind: 'create'; id: string; type: string; noLocalEffect: boolean }
  | { kind: 'update'; id: string; type: string; physicalId: string; changed: string[]; afterApply: string[]; noLocalEffect: boolean }
  | {
      kind: 'replace';
      id: string;
      type: string;
      physicalId: string;
      order: 'create-first';
      because: string[];
      changed: string[];
      afterApply: string[];
      noLocalEffect: boolean;
    }
  | { kind: 'delete'; id: string; type: string; physicalId: string; policy: DeletionPolicy; noLocalEffect: boolean }
  | { kind: 'noop'; id: string; type: string; physicalId: string; noLocalEffect: boolean };

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
  /** Spec facts: top-level properties whose change always / maybe replaces (src/stack/spec.ts). */
  replacement(type: string): { always: readonly string[]; maybe: readonly string[] } | undefined;
  resolve: RuntimeResolve;
  /** Logical ids to replace whatever their properties say (`kiln deploy --replace-drifted`). */
  forceReplace?: ReadonlySet<string>;
}

/** Marks a value that only exists once the resource it comes from has been created. */
export const AFTER_APPLY = '\u0000(known after apply)\u0000';

/** `maybe` properties a type updates in place (with or without interruption). */
export const MAYBE_IN_PLACE: Readonly<Record<string, readonly string[]>> = {
  'AWS::EC2::Instance': ['InstanceType', 'UserData', 'SecurityGroupIds', 'EbsOptimized', 'Monitoring'],
  'AWS::AutoScaling::AutoScalingGroup': ['LaunchTemplate', 'VPCZoneIdentifier', 'MinSize', 'MaxSize', 'DesiredCapacity'],
};

/**
 * `maybe` properties replaced only when they appear or disappear, updated in place otherwise (the
 * CloudFormation reference: "Replacement if you did not have a health check specified and you are
 * adding one or if you are removing the health check; otherwise no interruption").
 */
export const REPLACED_WHEN_ADDED_OR_REMOVED: Readonly<Record<string, readonly string[]>> = {
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

export function containsAfterApply(v: Json | undefined): boolean {
  if (typeof v === 'string') return v.includes(AFTER_APPLY);
  if (Array.isArray(v)) return v.some(containsAfterApply);
  if (v && typeof v === 'object') return Object.values(v).some(containsAfterApply);
  return false;
}

/** The top-level properties that differ between two property sets. */
export function changedPaths(before: JsonObject, after: JsonObject): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => canonical(before[k]) !== canonical(after[k])).sort();
}

export type Decision = { kind: 'noop' } | { kind: 'update'; changed: string[] } | { kind: 'replace'; changed: string[]; because: string[] };

/** Update or replace, given the properties as deployed and as wanted (used at plan and at run time). */
export function decide(type: string, before: JsonObject, after: JsonObject, opts: Pick<PlanOptions, 'handler' | 'replacement'>, force = false): Decision {
  const changed = changedPaths(before, after);
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

/** Dependency order (dependencies first); ties keep the template's order. Cycles are left to validation. */
export function topoOrder(ids: readonly string[], deps: (id: string) => readonly string[]): string[] {
  const known = new Set(ids);
  const out: string[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (id: string) => {
    if (state.get(id) === 2 || state.get(id) === 1) return;
    state.set(id, 1);
    for (const d of deps(id)) if (known.has(d)) visit(d);
    state.set(id, 2);
    out.push(id);
  };
  for (const id of ids) visit(id);
  return out;
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
        message: `Resource type ${r.type} has no local realisation (unrecognized resource type); nothing was deployed`,
        path: `Resources.${id}.Type`,
        segments: ['Resources', id, 'Type'],
      });
  }
  if (diagnostics.length > 0) return { steps: [], diagnostics, changes: false };

  const order = topoOrder(ids, (id) => desired.resources[id]!.dependsOn);
  const decided = new Map<string, Step>();
  const lookups = {
    ref(id: string): Json | undefined {
      const s = decided.get(id);
      if (!s || s.kind === 'create' || s.kind === 'replace') return AFTER_APPLY;
      return priorById.get(id)?.state.physicalId;
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
    const d = decide(want.type, have.properties, resolved, opts, opts.forceReplace?.has(id) ?? false);
    const afterApply = Object.keys(resolved).filter((k) => containsAfterApply(resolved[k])).sort();
    if (d.kind === 'noop') decided.set(id, { kind: 'noop', ...known });
    else if (d.kind === 'update') decided.set(id, { kind: 'update', ...known, changed: d.changed, afterApply });
    else decided.set(id, { kind: 'replace', ...known, order: 'create-first', because: d.because, changed: d.changed, afterApply });
  }
  const deletes: Step[] = [];
  // Deletes in reverse dependency order of the deployed resources.
  const removed = prior.filter((p) => !desired.resources[p.logicalId]).map((p) => p.logicalId);
  const delOrder = topoOrder(removed, (id) => priorById.get(id)!.dependsOn).reverse();
  for (const id of delOrder) {
    const p = priorById.get(id)!;
    deletes.push({ kind: 'delete', id, type: p.type, physicalId: p.physicalId, policy: p.deletionPolicy, noLocalEffect: opts.handler(p.type)?.effect === 'none' });
  }
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

export function assertNever(x: never): never {
  throw new Error(`unexpected plan step ${JSON.stringify(x)}`);
}
