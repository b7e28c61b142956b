// The executor's graphs, built from what is to be done by small named transforms over the one DAG in
// core (as Terraform's graph builders do), each testable alone by a text dump:
//
//   deploy:   addPlannedSteps → addDependencyEdges → addHeadStarts
//             one node per step of the plan (noops too, so ordering through an unchanged resource
//             holds), an edge for every dependency, and a head-start node before a first create
//             whose handler can prepare while the resources it does not need are still made.
//   cleanup:  addRowDeletes → addDeleteOrderEdges
//             (the cleanup phase, a rollback's cleanup, a destroy) one node per row to delete or
//             keep, a row after every row that depends on it (a subnet goes before its VPC).
//   restore:  addRestores → addRestoreEdges
//             (an update rolled back) one node per resource of the previous deployment, in its
//             dependency order.
//
// Node ids are logical ids for steps and restores, `head-start <id>` and `row <n>` otherwise; nothing
// ever reads meaning out of an id: the node's data says what it is.
import { Dag } from '../core/dag.js';
import type { JsonObject } from '../core/json.js';
import { collectReferences } from '../stack/refs.js';
import type { DesiredStack, Plan, Step } from '../stack/plan.js';
import type { DeletionPolicy } from '../model/policy.js';
import type { ResourceRow } from '../state/store.js';

export type ForwardStep = Exclude<Step, { kind: 'delete' }>;

export type ExecNode =
  | { kind: 'step'; step: ForwardStep }
  /** A head start for the first create of `id`: waits only for `waitsFor`. */
  | { kind: 'head-start'; id: string; type: string; waitsFor: string[] }
  /** `snapshot`: the row's Snapshot policy saves its data first (the provider can snapshot the type). */
  | { kind: 'delete'; row: ResourceRow; snapshot?: boolean }
  /** A row a policy keeps (DELETE_SKIPPED): `policy` says which. */
  | { kind: 'retain'; row: ResourceRow; policy: DeletionPolicy }
  /** A resource of the previous deployment, put back by a rollback. */
  | { kind: 'restore'; row: ResourceRow };

export type ExecGraph = Dag<ExecNode>;

interface GraphTransform {
  readonly name: string;
  apply(g: ExecGraph): void;
}

/** Runs the transforms in order on an empty graph. */
export function buildGraph(transforms: readonly GraphTransform[]): ExecGraph {
  const g = new Dag<ExecNode>();
  for (const t of transforms) t.apply(g);
  return g;
}

function nodeLabel(n: ExecNode): string {
  switch (n.kind) {
    case 'step':
      return `${n.step.kind} ${n.step.id}${n.step.kind !== 'create' && n.step.kind !== 'noop' && n.step.conditional ? ` (or ${n.step.conditional.otherwise})` : ''}`;
    case 'head-start':
      return `head-start ${n.id}`;
    case 'delete':
      return `delete ${n.row.logicalId} ${n.row.physicalId}${n.snapshot ? ' (Snapshot)' : ''}`;
    case 'retain':
      return `retain ${n.row.logicalId} ${n.row.physicalId} (${n.policy})`;
    case 'restore':
      return `restore ${n.row.logicalId} ${n.row.physicalId}`;
  }
}

/** The graph as text: each node in insertion order, then what it waits for, indented. */
export function dumpGraph(g: ExecGraph): string {
  const label = (id: string) => nodeLabel(g.get(id)!);
  const lines: string[] = [];
  for (const id of g.nodes()) {
    lines.push(label(id));
    for (const d of g.dependencies(id)) lines.push(`  ${label(d)}`);
  }
  return lines.join('\n') + '\n';
}

// ---- deploy ----------------------------------------------------------------------------------

/** One node per create, update, replace and noop of the plan (deletes belong to the cleanup graph). */
export function addPlannedSteps(plan: Plan): GraphTransform {
  return {
    name: 'addPlannedSteps',
    apply(g) {
      for (const step of plan.steps) if (step.kind !== 'delete') g.add(step.id, { kind: 'step', step });
    },
  };
}

/** A step waits for the steps of everything its resource needs (references and DependsOn). */
export function addDependencyEdges(desired: DesiredStack): GraphTransform {
  return {
    name: 'addDependencyEdges',
    apply(g) {
      for (const id of g.nodes()) {
        const n = g.get(id)!;
        if (n.kind !== 'step') continue;
        for (const d of desired.resources[id]?.dependsOn ?? []) if (d !== id && g.get(d)?.kind === 'step') g.dependOn(id, d);
      }
    },
  };
}

function withoutKeys(o: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/**
 * The head starts worth taking: first creates whose handler can prepare (`without`: the properties
 * the head start leaves out), when leaving those out drops at least one dependency (otherwise it
 * would start no earlier than the create itself). Each waits for the resource's explicit DependsOn
 * and what the remaining properties reference; the create waits for its head start.
 */
export function addHeadStarts(desired: DesiredStack, prepares: (type: string) => { without: readonly string[] } | undefined): GraphTransform {
  return {
    name: 'addHeadStarts',
    apply(g) {
      for (const id of g.nodes()) {
        const n = g.get(id)!;
        if (n.kind !== 'step' || n.step.kind !== 'create') continue;
        const want = desired.resources[id];
        const prep = prepares(n.step.type);
        if (!want || !prep || !want.explicitDependsOn) continue;
        const deps = new Set(want.explicitDependsOn);
        for (const r of collectReferences(withoutKeys(want.properties, prep.without)))
          if (r.kind !== 'Condition' && r.kind !== 'If' && r.target !== id && desired.resources[r.target]) deps.add(r.target);
        if (want.dependsOn.every((d) => deps.has(d))) continue;
        const head = `head-start ${id}`;
        const waitsFor = [...deps].filter((d) => g.has(d));
        g.add(head, { kind: 'head-start', id, type: n.step.type, waitsFor });
        for (const d of waitsFor) g.dependOn(head, d);
        g.dependOn(id, head);
      }
    },
  };
}

export function deployGraph(plan: Plan, desired: DesiredStack, prepares: (type: string) => { without: readonly string[] } | undefined): ExecGraph {
  return buildGraph([addPlannedSteps(plan), addDependencyEdges(desired), addHeadStarts(desired, prepares)]);
}

// ---- cleanup, rollback of a create, destroy -------------------------------------------------

/**
 * One node per row: `delete`, or `retain` when its policy keeps it. Retain always keeps;
 * RetainExceptOnCreate keeps except when the create that made the row rolls back
 * (`onCreateRollback`), where there is nothing worth keeping. Snapshot saves the data and deletes,
 * as on AWS, when the provider can snapshot the type (`canSnapshot`); otherwise it keeps the object
 * with its data. A create rolling back takes no snapshot.
 */
export function addRowDeletes(
  rows: readonly ResourceRow[],
  policyOf: (r: ResourceRow) => DeletionPolicy,
  onCreateRollback: boolean,
  canSnapshot: (type: string) => boolean = () => false,
): GraphTransform {
  return {
    name: 'addRowDeletes',
    apply(g) {
      for (const row of rows) {
        const policy = policyOf(row);
        const snapshot = policy === 'Snapshot' && !onCreateRollback && canSnapshot(row.type);
        const keep = policy === 'Retain' || ((policy === 'RetainExceptOnCreate' || policy === 'Snapshot') && !onCreateRollback && !snapshot);
        g.add(`row ${row.id}`, keep ? { kind: 'retain', row, policy } : { kind: 'delete', row, ...(snapshot ? { snapshot } : {}) });
      }
    },
  };
}

/** A row goes only after every row that depends on it (reverse dependency order). */
export function addDeleteOrderEdges(): GraphTransform {
  return {
    name: 'addDeleteOrderEdges',
    apply(g) {
      const rows = g.nodes().flatMap((id) => {
        const n = g.get(id)!;
        return n.kind === 'delete' || n.kind === 'retain' ? [{ id, row: n.row }] : [];
      });
      for (const b of rows) for (const a of rows) if (a.row.logicalId !== b.row.logicalId && a.row.dependsOn.includes(b.row.logicalId)) g.dependOn(b.id, a.id);
    },
  };
}

export function cleanupGraph(rows: readonly ResourceRow[], policyOf: (r: ResourceRow) => DeletionPolicy, onCreateRollback: boolean, canSnapshot?: (type: string) => boolean): ExecGraph {
  return buildGraph([addRowDeletes(rows, policyOf, onCreateRollback, canSnapshot), addDeleteOrderEdges()]);
}

// ---- rollback of an update ------------------------------------------------------------------

/** One node per live row of the previous deployment. */
export function addRestores(prior: readonly ResourceRow[]): GraphTransform {
  return {
    name: 'addRestores',
    apply(g) {
      for (const row of prior) if (row.status === 'live') g.add(row.logicalId, { kind: 'restore', row });
    },
  };
}

/** A restore waits for the restores of what the resource depended on then. */
export function addRestoreEdges(): GraphTransform {
  return {
    name: 'addRestoreEdges',
    apply(g) {
      for (const id of g.nodes()) {
        const n = g.get(id)!;
        if (n.kind !== 'restore') continue;
        for (const d of n.row.dependsOn) if (d !== id && g.get(d)?.kind === 'restore') g.dependOn(id, d);
      }
    },
  };
}

export function restoreGraph(prior: readonly ResourceRow[]): ExecGraph {
  return buildGraph([addRestores(prior), addRestoreEdges()]);
}
