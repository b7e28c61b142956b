// The stack state as the engine sees it: an interface (as Terraform's state managers and Pulumi's
// snapshot manager are), with a SQLite implementation (stacks.ts, the one kiln uses) and an in-memory
// one (memory.ts); both pass one conformance suite (test/state/conformance.ts).
//
// What it keeps: one record per stack (status, the last successful deployment), one row per physical
// copy of a resource (a replaced resource has two for a while: the new one `live`, the old one
// `pendingDelete` until the cleanup phase deletes it; `retained` rows remember objects a policy kept),
// one record per deployment (template, parameters with NoEcho masked, outputs, the prior rows: the
// rollback target), CloudFormation-shaped events, one lock per stack, and the intent recorded before
// each provider call (a pending operation) until its outcome is written.
import type { Json, JsonObject } from '../core/json.js';
import type { DeletionPolicy, ReplacePolicy } from '../model/policy.js';
import type { ResourceState } from '../model/provider.js';

export type StackStatus =
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_FAILED'
  | 'CREATE_COMPLETE'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_FAILED'
  | 'ROLLBACK_COMPLETE'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_FAILED'
  | 'DELETE_COMPLETE'
  | 'UPDATE_IN_PROGRESS'
  | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'
  | 'UPDATE_COMPLETE'
  | 'UPDATE_FAILED'
  | 'UPDATE_ROLLBACK_IN_PROGRESS'
  | 'UPDATE_ROLLBACK_FAILED'
  | 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'
  | 'UPDATE_ROLLBACK_COMPLETE';

export type ResourceStatus =
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_FAILED'
  | 'CREATE_COMPLETE'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_FAILED'
  | 'DELETE_COMPLETE'
  | 'DELETE_SKIPPED'
  | 'UPDATE_IN_PROGRESS'
  | 'UPDATE_FAILED'
  | 'UPDATE_COMPLETE'
  | StackStatus;

/** Stack statuses in which an operation was running: found at the start of a run, they mean a crash. */
export const IN_PROGRESS: ReadonlySet<string> = new Set([
  'CREATE_IN_PROGRESS',
  'ROLLBACK_IN_PROGRESS',
  'DELETE_IN_PROGRESS',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
]);

/** `live`: in use; `pendingDelete`: an old copy or a removed resource awaiting the cleanup phase;
 *  `retained`: left behind under DeletionPolicy/UpdateReplacePolicy Retain (kept so sweeps spare it). */
export type RowStatus = 'live' | 'pendingDelete' | 'retained';

export interface StackRecord {
  name: string;
  /** A new id each time the stack is created from nothing (events belong to one creation). */
  stackId: string;
  status: StackStatus;
  reason: string | null;
  /** The last deployment that completed (its template, parameters and outputs are the stack's). */
  deployment: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ResourceRow {
  id: number;
  stack: string;
  logicalId: string;
  type: string;
  physicalId: string;
  /** Properties as deployed: resolved, NoEcho values tokenised. */
  properties: JsonObject;
  state: ResourceState;
  status: RowStatus;
  /** The deployment that created this physical copy. */
  deployment: string;
  dependsOn: string[];
  deletionPolicy: DeletionPolicy;
  updateReplacePolicy: ReplacePolicy;
  noLocalEffect: boolean;
}

export type StoredParam = { value: Json; fromDefault?: boolean } | { noEcho: true; hash: string; salt: string; fromDefault?: boolean };

export interface DeploymentRecord {
  id: string;
  stack: string;
  kind: 'deploy' | 'destroy';
  status: string;
  startedAt: string;
  endedAt: string | null;
  templateHash: string | null;
  template: string | null;
  parameters: Record<string, StoredParam>;
  /** `secret`: the value was built from a NoEcho parameter (it is stored masked); set on every export. */
  outputs: Record<string, { value: Json; description?: string; exportName?: string; secret?: boolean }>;
  /** The resource rows as they were when the deployment began: the target of a rollback. */
  prior: ResourceRow[];
  images: Record<string, string>;
  reason: string | null;
}

export interface StackEvent {
  id: number;
  stack: string;
  stackId: string;
  deployment: string | null;
  timestamp: string;
  logicalId: string;
  physicalId: string | null;
  type: string;
  status: ResourceStatus;
  reason: string | null;
}

export interface PendingOp {
  id: number;
  stack: string;
  deployment: string;
  logicalId: string;
  action: 'create' | 'update' | 'delete';
  /** The row acted on (update, delete), absent for a create. */
  rowId: number | null;
  /** The intended properties (tokenised), for an update. */
  properties: JsonObject | null;
  startedAt: string;
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  token: string;
  command: string;
  /** The holder's process start (src/state/locks.ts), to tell a reused PID from the holder. */
  started?: string | null;
}

export interface StackStore {
  /** Runs `fn` atomically: all of its writes or none. */
  transaction<T>(fn: () => T): T;

  stack(name: string): StackRecord | undefined;
  stacks(): StackRecord[];
  /** Creates the stack record, or gives it a new creation id when it was deleted or never got made. */
  createStack(name: string): StackRecord;
  setStackStatus(name: string, status: StackStatus, reason?: string | null): void;
  setStackDeployment(name: string, deployment: string | null): void;

  /** The rows of a stack in insertion order, optionally only those with the given statuses. */
  resources(stack: string, statuses?: readonly RowStatus[]): ResourceRow[];
  /** Live rows of every stack (VPCs, subnets and groups are shared across stacks through exports). */
  allLiveResources(): ResourceRow[];
  /** The live row with this physical id: in `prefer` (a stack) if it has one, else in any stack. */
  liveByPhysicalId(physicalId: string, prefer?: string): ResourceRow | undefined;
  /** The live row of each logical id. */
  liveResources(stack: string): Map<string, ResourceRow>;
  resourceRow(id: number): ResourceRow | undefined;
  insertResource(r: Omit<ResourceRow, 'id'>): number;
  updateResource(id: number, patch: Partial<Omit<ResourceRow, 'id' | 'stack'>>): void;
  deleteResource(id: number): void;

  beginDeployment(d: Omit<DeploymentRecord, 'startedAt' | 'endedAt' | 'status' | 'reason'> & { status?: string }): DeploymentRecord;
  endDeployment(id: string, status: string, reason?: string | null): void;
  setDeploymentOutputs(id: string, outputs: DeploymentRecord['outputs']): void;
  deployment(id: string): DeploymentRecord | undefined;
  /** The deployments of a stack, oldest first. */
  deployments(stack: string): DeploymentRecord[];
  /** The deployment that is still open (a crash left it), if any. */
  openDeployment(stack: string): DeploymentRecord | undefined;
  /** Records the export names a deployment's template imports (Fn::ImportValue). */
  setDeploymentImports(id: string, names: readonly string[]): void;
  /** Stacks other than `except` whose current deployment imports `name`, sorted. */
  importersOf(name: string, except?: string): string[];
  /** Every export of every stack's current deployment, with the stacks importing it, by name. */
  allExports(): Array<{ name: string; stack: string; output: string; value: Json; importers: string[] }>;
  /** The value exported under `name` by the current deployment of any stack. */
  exportedValue(name: string): { stack: string; value: Json; secret?: boolean } | undefined;

  addEvent(e: Omit<StackEvent, 'id' | 'timestamp'> & { timestamp?: string }): StackEvent;
  /** Events of the stack's current creation (or of one deployment, or all), oldest first. */
  events(stack: string, opts?: { deployment?: string; all?: boolean }): StackEvent[];

  beginOp(op: Omit<PendingOp, 'id' | 'startedAt'>): number;
  endOp(id: number): void;
  pendingOps(stack: string): PendingOp[];

  lockHolder(stack: string): LockHolder | undefined;
  /**
   * Takes the lock of `stack` for this process. A lock held by a live process is refused with who
   * holds it; a lock whose process is dead is taken over and returned as `stale`.
   */
  acquireLock(stack: string, command: string, opts?: { pid?: number; host?: string }): { token: string; stale?: LockHolder };
  releaseLock(stack: string, token: string): void;
  /** Removes the lock of `stack` whoever holds it (`kiln unlock`); returns the holder it had. */
  breakLock(stack: string): LockHolder | undefined;

  /** Takes a checked copy of the state (before and after each deploy); a store in memory has none to take. */
  backup(): void;

  /** A 32-byte key that seals NoEcho values in saved plans; made once, kept with the state, never shown. */
  planKey(): Buffer;
}
