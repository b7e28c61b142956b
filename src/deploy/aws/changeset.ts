// CloudFormation's answers in kiln's shapes (pure): a change set as kiln's plan (+ create, ~ update,
// +/- replace with the property that forces it, - delete, = unchanged), a stack event as kiln's
// stack event (the live display and `kiln events` render both targets alike), outputs as kiln's.
import type { Change, Output, StackEvent as CfnEvent, StackResource } from '@aws-sdk/client-cloudformation';
import type { Plan, Step } from '../../stack/plan.js';
import type { StackEvent, ResourceStatus } from '../../state/store.js';

/** The names of what changes in a resource change (`Properties.ImageId` → `ImageId`). */
function changedNames(details: NonNullable<Change['ResourceChange']>['Details']): { all: string[]; recreate: string[]; conditional: string[] } {
  const all: string[] = [];
  const recreate: string[] = [];
  const conditional: string[] = [];
  for (const d of details ?? []) {
    const t = d.Target;
    const name = t?.Name ?? t?.Attribute ?? '';
    if (!name) continue;
    if (!all.includes(name)) all.push(name);
    if (t?.RequiresRecreation === 'Always' && !recreate.includes(name)) recreate.push(name);
    if (t?.RequiresRecreation === 'Conditionally' && !conditional.includes(name)) conditional.push(name);
  }
  return { all, recreate, conditional };
}

/**
 * A change set as kiln's plan. `unchanged` (the stack's resources) adds the `=` lines for what the
 * change set does not touch. CloudFormation replaces create-first, as kiln's local target does.
 */
export function changeSetToPlan(changes: readonly Change[], unchanged: readonly StackResource[] = []): Plan {
  const steps: Step[] = [];
  const touched = new Set<string>();
  for (const c of changes) {
    const rc = c.ResourceChange;
    if (!rc?.LogicalResourceId) continue;
    const id = rc.LogicalResourceId;
    const type = rc.ResourceType ?? '';
    const physicalId = rc.PhysicalResourceId ?? '';
    touched.add(id);
    const names = changedNames(rc.Details);
    switch (rc.Action) {
      case 'Add':
      case 'Import':
        steps.push({ kind: 'create', id, type, noLocalEffect: false });
        break;
      case 'Remove':
        steps.push({ kind: 'delete', id, type, physicalId, policy: rc.PolicyAction === 'Retain' ? 'Retain' : 'Delete', noLocalEffect: false });
        break;
      case 'Modify':
      case 'Dynamic':
        if (rc.Replacement === 'True' || rc.Replacement === 'Conditional') {
          const because =
            rc.Replacement === 'True' ? (names.recreate.length ? names.recreate : names.all) : (names.conditional.length ? names.conditional : names.all).map((n) => `${n} (may replace: Conditional)`);
          steps.push({
            kind: 'replace',
            id,
            type,
            physicalId,
            order: 'create-first',
            because: because.length ? because : ['CloudFormation says so'],
            changed: names.all,
            afterApply: [],
            noLocalEffect: false,
          });
        } else steps.push({ kind: 'update', id, type, physicalId, changed: names.all.length ? names.all : [...(rc.Scope ?? [])], afterApply: [], noLocalEffect: false });
        break;
      default:
        steps.push({ kind: 'update', id, type, physicalId, changed: [String(rc.Action ?? 'change')], afterApply: [], noLocalEffect: false });
    }
  }
  const order: Record<Step['kind'], number> = { create: 0, update: 0, replace: 0, delete: 1, noop: 2 };
  steps.sort((a, b) => order[a.kind] - order[b.kind]);
  for (const r of unchanged)
    if (r.LogicalResourceId && !touched.has(r.LogicalResourceId))
      steps.push({ kind: 'noop', id: r.LogicalResourceId, type: r.ResourceType ?? '', physicalId: r.PhysicalResourceId ?? '', noLocalEffect: false });
  return { steps, diagnostics: [], changes: steps.some((s) => s.kind !== 'noop') };
}

/** A CloudFormation stack event as kiln's (the id is a running number within one listing). */
export function toStackEvent(e: CfnEvent, n: number, mask: (s: string) => string = (s) => s): StackEvent {
  return {
    id: n,
    stack: e.StackName ?? '',
    stackId: e.StackId ?? '',
    deployment: null,
    timestamp: (e.Timestamp instanceof Date ? e.Timestamp : new Date(e.Timestamp ?? 0)).toISOString(),
    logicalId: e.LogicalResourceId ?? '',
    physicalId: e.PhysicalResourceId ? mask(e.PhysicalResourceId) : null,
    type: e.ResourceType ?? '',
    status: (e.ResourceStatus ?? 'UNKNOWN') as ResourceStatus,
    reason: e.ResourceStatusReason ? mask(e.ResourceStatusReason) : null,
  };
}

export interface StackOutput {
  value: string;
  description?: string;
  exportName?: string;
}

export function toOutputs(outputs: readonly Output[] | undefined, mask: (s: string) => string = (s) => s): Record<string, StackOutput> {
  const out: Record<string, StackOutput> = {};
  for (const o of outputs ?? []) {
    if (!o.OutputKey) continue;
    out[o.OutputKey] = { value: mask(o.OutputValue ?? ''), ...(o.Description ? { description: o.Description } : {}), ...(o.ExportName ? { exportName: o.ExportName } : {}) };
  }
  return out;
}

/** Stack statuses that mean "done" (no operation in progress). */
export function isSettled(status: string): boolean {
  return !status.endsWith('_IN_PROGRESS');
}

/** Statuses that end a create/update/delete badly. */
export function isFailedOutcome(status: string): boolean {
  return status.endsWith('_FAILED') || status === 'ROLLBACK_COMPLETE' || status === 'UPDATE_ROLLBACK_COMPLETE' || status === 'IMPORT_ROLLBACK_COMPLETE';
}

/** The first failing resource's reason in chronological events (not the "cancelled" echoes). */
export function firstFailure(events: readonly StackEvent[]): string | undefined {
  const resource = events.find((e) => e.status.endsWith('_FAILED') && e.type !== 'AWS::CloudFormation::Stack' && e.reason && !/Resource (creation|update) cancelled/.test(e.reason));
  if (resource) return `${resource.logicalId} (${resource.type}): ${resource.reason}`;
  const any = events.find((e) => e.status.endsWith('_FAILED') && e.reason);
  return any ? `${any.logicalId}: ${any.reason}` : undefined;
}
