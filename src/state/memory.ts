// The stack state in memory: the StackStore interface without a file, for engine tests and for runs
// that keep nothing. Same behaviour as the SQLite store (both pass test/state/conformance.ts):
// records are copied in and out (a caller never holds a reference into the store), a transaction
// that throws leaves nothing of its writes, the lock names its holder and a dead holder is taken over.
import { hostname } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { KilnError } from '../core/errors.js';
import type { Json } from '../core/json.js';
import { describeHolder, ownerGone, processStart } from './locks.js';
import type { DeploymentRecord, LockHolder, PendingOp, ResourceRow, RowStatus, StackEvent, StackRecord, StackStatus, StackStore } from './store.js';

interface Tables {
  stacks: Map<string, StackRecord>;
  rows: Map<number, ResourceRow>;
  deployments: DeploymentRecord[];
  imports: Map<string, Set<string>>;
  events: StackEvent[];
  ops: Map<number, PendingOp>;
  locks: Map<string, LockHolder>;
  seq: { row: number; event: number; op: number };
}

const copy = <T>(v: T): T => structuredClone(v);

export class MemoryStackStore implements StackStore {
  private t: Tables = { stacks: new Map(), rows: new Map(), deployments: [], imports: new Map(), events: [], ops: new Map(), locks: new Map(), seq: { row: 0, event: 0, op: 0 } };
  private readonly now: () => Date;
  private readonly key = randomBytes(32);

  constructor(opts: { now?: () => Date } = {}) {
    this.now = opts.now ?? (() => new Date());
  }

  private ts(): string {
    return this.now().toISOString();
  }

  transaction<T>(fn: () => T): T {
    const before = copy(this.t);
    try {
      return fn();
    } catch (e) {
      this.t = before;
      throw e;
    }
  }

  // ---- stacks -------------------------------------------------------------------------------

  stack(name: string): StackRecord | undefined {
    const s = this.t.stacks.get(name);
    return s ? copy(s) : undefined;
  }

  stacks(): StackRecord[] {
    return [...this.t.stacks.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(copy);
  }

  createStack(name: string): StackRecord {
    const ts = this.ts();
    this.t.stacks.set(name, { name, stackId: `kiln:stack/${name}/${randomUUID()}`, status: 'CREATE_IN_PROGRESS', reason: null, deployment: null, createdAt: ts, updatedAt: ts });
    return this.stack(name)!;
  }

  private patchStack(name: string, patch: Partial<StackRecord>): void {
    const s = this.t.stacks.get(name);
    if (s) Object.assign(s, patch, { updatedAt: this.ts() });
  }

  setStackStatus(name: string, status: StackStatus, reason: string | null = null): void {
    this.patchStack(name, { status, reason });
  }

  setStackDeployment(name: string, deployment: string | null): void {
    this.patchStack(name, { deployment });
  }

  // ---- resources ----------------------------------------------------------------------------

  resources(stack: string, statuses?: readonly RowStatus[]): ResourceRow[] {
    return [...this.t.rows.values()].filter((r) => r.stack === stack && (!statuses || statuses.includes(r.status))).map(copy);
  }

  allLiveResources(): ResourceRow[] {
    return [...this.t.rows.values()].filter((r) => r.status === 'live').map(copy);
  }

  liveByPhysicalId(physicalId: string, prefer?: string): ResourceRow | undefined {
    const live = [...this.t.rows.values()].filter((r) => r.physicalId === physicalId && r.status === 'live');
    const hit = live.find((r) => r.stack === prefer) ?? live[0];
    return hit ? copy(hit) : undefined;
  }

  liveResources(stack: string): Map<string, ResourceRow> {
    const out = new Map<string, ResourceRow>();
    for (const r of this.resources(stack, ['live'])) out.set(r.logicalId, r);
    return out;
  }

  resourceRow(id: number): ResourceRow | undefined {
    const r = this.t.rows.get(id);
    return r ? copy(r) : undefined;
  }

  insertResource(r: Omit<ResourceRow, 'id'>): number {
    const id = ++this.t.seq.row;
    this.t.rows.set(id, { ...copy(r), id });
    return id;
  }

  updateResource(id: number, patch: Partial<Omit<ResourceRow, 'id' | 'stack'>>): void {
    const r = this.t.rows.get(id);
    if (!r) return;
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = copy(v);
  }

  deleteResource(id: number): void {
    this.t.rows.delete(id);
  }

  // ---- deployments --------------------------------------------------------------------------

  beginDeployment(d: Omit<DeploymentRecord, 'startedAt' | 'endedAt' | 'status' | 'reason'> & { status?: string }): DeploymentRecord {
    this.t.deployments.push({ ...copy(d), status: d.status ?? 'IN_PROGRESS', startedAt: this.ts(), endedAt: null, reason: null });
    return this.deployment(d.id)!;
  }

  private dep(id: string): DeploymentRecord | undefined {
    return this.t.deployments.find((d) => d.id === id);
  }

  endDeployment(id: string, status: string, reason: string | null = null): void {
    const d = this.dep(id);
    if (d) Object.assign(d, { status, reason, endedAt: this.ts() });
  }

  setDeploymentOutputs(id: string, outputs: DeploymentRecord['outputs']): void {
    const d = this.dep(id);
    if (d) d.outputs = copy(outputs);
  }

  deployment(id: string): DeploymentRecord | undefined {
    const d = this.dep(id);
    return d ? copy(d) : undefined;
  }

  deployments(stack: string): DeploymentRecord[] {
    return this.t.deployments.filter((d) => d.stack === stack).map(copy);
  }

  openDeployment(stack: string): DeploymentRecord | undefined {
    const open = this.t.deployments.filter((d) => d.stack === stack && d.endedAt === null);
    const last = open[open.length - 1];
    return last ? copy(last) : undefined;
  }

  setDeploymentImports(id: string, names: readonly string[]): void {
    const set = this.t.imports.get(id) ?? new Set<string>();
    for (const n of names) set.add(n);
    this.t.imports.set(id, set);
  }

  importersOf(name: string, except?: string): string[] {
    return this.stacks()
      .filter((s) => s.deployment && s.status !== 'DELETE_COMPLETE' && this.t.imports.get(s.deployment)?.has(name))
      .map((s) => s.name)
      .filter((n) => n !== except);
  }

  allExports(): Array<{ name: string; stack: string; output: string; value: Json; importers: string[] }> {
    const out: Array<{ name: string; stack: string; output: string; value: Json; importers: string[] }> = [];
    for (const st of this.stacks()) {
      if (!st.deployment || st.status === 'DELETE_COMPLETE') continue;
      for (const [output, o] of Object.entries(this.dep(st.deployment)?.outputs ?? {}))
        if (o.exportName !== undefined) out.push({ name: o.exportName, stack: st.name, output, value: copy(o.value), importers: this.importersOf(o.exportName, st.name) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  exportedValue(name: string): { stack: string; value: Json; secret?: boolean } | undefined {
    for (const st of this.stacks()) {
      if (!st.deployment || st.status === 'DELETE_COMPLETE') continue;
      for (const o of Object.values(this.dep(st.deployment)?.outputs ?? {}))
        if (o.exportName === name) return { stack: st.name, value: copy(o.value), ...(o.secret !== undefined ? { secret: o.secret } : {}) };
    }
    return undefined;
  }

  // ---- events -------------------------------------------------------------------------------

  addEvent(e: Omit<StackEvent, 'id' | 'timestamp'> & { timestamp?: string }): StackEvent {
    const ev: StackEvent = { ...copy(e), timestamp: e.timestamp ?? this.ts(), id: ++this.t.seq.event };
    this.t.events.push(ev);
    return copy(ev);
  }

  events(stack: string, opts: { deployment?: string; all?: boolean } = {}): StackEvent[] {
    const st = this.t.stacks.get(stack);
    if (!st) return [];
    return this.t.events.filter((e) => e.stack === stack && (opts.deployment ? e.deployment === opts.deployment : opts.all || e.stackId === st.stackId)).map(copy);
  }

  // ---- pending operations -------------------------------------------------------------------

  beginOp(op: Omit<PendingOp, 'id' | 'startedAt'>): number {
    const id = ++this.t.seq.op;
    this.t.ops.set(id, { ...copy(op), id, startedAt: this.ts() });
    return id;
  }

  endOp(id: number): void {
    this.t.ops.delete(id);
  }

  pendingOps(stack: string): PendingOp[] {
    return [...this.t.ops.values()].filter((o) => o.stack === stack).map(copy);
  }

  // ---- locks --------------------------------------------------------------------------------

  lockHolder(stack: string): LockHolder | undefined {
    const l = this.t.locks.get(stack);
    return l ? copy(l) : undefined;
  }

  acquireLock(stack: string, command: string, opts: { pid?: number; host?: string } = {}): { token: string; stale?: LockHolder } {
    const pid = opts.pid ?? process.pid;
    const host = opts.host ?? hostname();
    const held = this.lockHolder(stack);
    if (held && !ownerGone(held, host))
      throw new KilnError(
        'STACK_LOCKED',
        `stack ${stack} is locked by ${describeHolder(held)}; wait for it to finish${held.host !== host ? `, or if that run is gone, \`kiln unlock --stack ${stack}\`` : ''}`,
        'user',
      );
    const token = randomUUID();
    this.t.locks.set(stack, { pid, host, since: this.ts(), token, command, started: processStart(pid) ?? null });
    return held ? { token, stale: held } : { token };
  }

  releaseLock(stack: string, token: string): void {
    if (this.t.locks.get(stack)?.token === token) this.t.locks.delete(stack);
  }

  breakLock(stack: string): LockHolder | undefined {
    const held = this.lockHolder(stack);
    this.t.locks.delete(stack);
    return held;
  }

  backup(): void {
    // nothing on disk to copy
  }

  planKey(): Buffer {
    return this.key;
  }
}
