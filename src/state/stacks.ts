// The stack state (the StackStore interface of store.ts) in one SQLite file (src/state/db.ts): what
// kiln deployed, under which template and parameters, every event, the lock of each stack and the
// operations in flight. This module owns the tables below and nothing else writes them.
//
// Tables
//   stacks      one row per stack name: status, the last successful deployment, a creation id
//   resources   one row per physical copy: a replaced resource has two rows for a while (the new one
//               `live`, the old one `pendingDelete` until the cleanup phase deletes it); `retained`
//               rows remember objects left behind by DeletionPolicy Retain, so orphan sweeps spare them
//   deployments one row per deploy/destroy: template, parameters (NoEcho masked), outputs, the prior
//               resource rows (the rollback target), image ids
//   events      CloudFormation-shaped stack and resource events
//   locks       one writer per stack: pid, host, since
//   pending_ops intent recorded before each provider call and removed with its outcome
//
// Secrets: NoEcho parameter values are never written. Parameters keep `{ noEcho: true, hash, salt }`
// (a salted SHA-256, enough to tell whether a value given later is the same); resource properties are
// stored with every NoEcho value replaced by a token `{{kiln:noecho:Name}}` (see src/deploy/secrets.ts).
import { hostname } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureSchema, openState, stateDir, type Db } from './db.js';
import { breakLock, describeHolder, ensureLockSchema, ownerGone, processStart } from './locks.js';
import { backupState } from './backup.js';
import { KilnError } from '../core/errors.js';
import type { Json, JsonObject } from '../core/json.js';
import type { DeletionPolicy, ReplacePolicy } from '../model/policy.js';
import type { DeploymentRecord, LockHolder, PendingOp, ResourceRow, ResourceStatus, RowStatus, StackEvent, StackRecord, StackStatus, StackStore } from './store.js';

const DDL = `
CREATE TABLE IF NOT EXISTS stacks (
  name TEXT PRIMARY KEY,
  stack_id TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  deployment TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS resources (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stack TEXT NOT NULL,
  logical_id TEXT NOT NULL,
  type TEXT NOT NULL,
  physical_id TEXT NOT NULL,
  properties TEXT NOT NULL,
  state TEXT NOT NULL,
  status TEXT NOT NULL,
  deployment TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  deletion_policy TEXT NOT NULL,
  update_replace_policy TEXT NOT NULL,
  no_local_effect INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS resources_stack ON resources(stack, logical_id);
CREATE INDEX IF NOT EXISTS resources_physical ON resources(physical_id);
CREATE TABLE IF NOT EXISTS deployments (
  id TEXT PRIMARY KEY,
  stack TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  template_hash TEXT,
  template TEXT,
  parameters TEXT NOT NULL,
  outputs TEXT NOT NULL,
  prior TEXT NOT NULL,
  images TEXT NOT NULL,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS deployments_stack ON deployments(stack, started_at);
CREATE TABLE IF NOT EXISTS deployment_imports (
  deployment TEXT NOT NULL,
  export_name TEXT NOT NULL,
  PRIMARY KEY (deployment, export_name)
);
CREATE INDEX IF NOT EXISTS deployment_imports_name ON deployment_imports(export_name);
CREATE TABLE IF NOT EXISTS stack_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stack TEXT NOT NULL,
  stack_id TEXT NOT NULL,
  deployment TEXT,
  timestamp TEXT NOT NULL,
  logical_id TEXT NOT NULL,
  physical_id TEXT,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS stack_events_stack ON stack_events(stack, id);
CREATE TABLE IF NOT EXISTS stack_locks (
  stack TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  since TEXT NOT NULL,
  token TEXT NOT NULL,
  command TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_ops (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stack TEXT NOT NULL,
  deployment TEXT NOT NULL,
  logical_id TEXT NOT NULL,
  action TEXT NOT NULL,
  row_id INTEGER,
  properties TEXT,
  started_at TEXT NOT NULL
);
`;

type Row = Record<string, unknown>;

function parse<T>(s: unknown, dflt: T): T {
  return typeof s === 'string' ? (JSON.parse(s) as T) : dflt;
}

function toResource(r: Row): ResourceRow {
  return {
    id: r.id as number,
    stack: r.stack as string,
    logicalId: r.logical_id as string,
    type: r.type as string,
    physicalId: r.physical_id as string,
    properties: parse(r.properties, {}),
    state: parse(r.state, { physicalId: r.physical_id as string, attributes: {} }),
    status: r.status as RowStatus,
    deployment: r.deployment as string,
    dependsOn: parse(r.depends_on, []),
    deletionPolicy: r.deletion_policy as DeletionPolicy,
    updateReplacePolicy: r.update_replace_policy as ReplacePolicy,
    noLocalEffect: r.no_local_effect === 1,
  };
}

function toDeployment(r: Row): DeploymentRecord {
  return {
    id: r.id as string,
    stack: r.stack as string,
    kind: r.kind as 'deploy' | 'destroy',
    status: r.status as string,
    startedAt: r.started_at as string,
    endedAt: (r.ended_at as string | null) ?? null,
    templateHash: (r.template_hash as string | null) ?? null,
    template: (r.template as string | null) ?? null,
    parameters: parse(r.parameters, {}),
    outputs: parse(r.outputs, {}),
    prior: parse(r.prior, []),
    images: parse(r.images, {}),
    reason: (r.reason as string | null) ?? null,
  };
}

function toStack(r: Row): StackRecord {
  return {
    name: r.name as string,
    stackId: r.stack_id as string,
    status: r.status as StackStatus,
    reason: (r.reason as string | null) ?? null,
    deployment: (r.deployment as string | null) ?? null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export class SqliteStackStore implements StackStore {
  private readonly now: () => Date;
  constructor(
    readonly db: Db,
    opts: { now?: () => Date } = {},
  ) {
    ensureSchema(db, 'stacks', DDL);
    ensureLockSchema(db);
    this.now = opts.now ?? (() => new Date());
  }

  /** Opens the store in `dir` (default: `--state-dir`, $KILN_HOME, ~/.kiln). */
  static open(dir?: string): SqliteStackStore {
    return new SqliteStackStore(openState(stateDir(dir)));
  }

  private ts(): string {
    return this.now().toISOString();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- stacks -------------------------------------------------------------------------------

  stack(name: string): StackRecord | undefined {
    const r = this.db.prepare('SELECT * FROM stacks WHERE name = ?').get(name) as Row | undefined;
    return r ? toStack(r) : undefined;
  }

  stacks(): StackRecord[] {
    return (this.db.prepare('SELECT * FROM stacks ORDER BY name').all() as Row[]).map(toStack);
  }

  /** Creates the stack row, or gives it a new creation id when it was deleted or never got made. */
  createStack(name: string): StackRecord {
    const ts = this.ts();
    const stackId = `kiln:stack/${name}/${randomUUID()}`;
    this.db
      .prepare(
        `INSERT INTO stacks (name, stack_id, status, reason, deployment, created_at, updated_at) VALUES (?, ?, 'CREATE_IN_PROGRESS', NULL, NULL, ?, ?)
         ON CONFLICT(name) DO UPDATE SET stack_id = excluded.stack_id, status = excluded.status, reason = NULL, deployment = NULL, created_at = excluded.created_at, updated_at = excluded.updated_at`,
      )
      .run(name, stackId, ts, ts);
    return this.stack(name)!;
  }

  setStackStatus(name: string, status: StackStatus, reason: string | null = null): void {
    this.db.prepare('UPDATE stacks SET status = ?, reason = ?, updated_at = ? WHERE name = ?').run(status, reason, this.ts(), name);
  }

  setStackDeployment(name: string, deployment: string | null): void {
    this.db.prepare('UPDATE stacks SET deployment = ?, updated_at = ? WHERE name = ?').run(deployment, this.ts(), name);
  }

  // ---- resources ----------------------------------------------------------------------------

  resources(stack: string, statuses?: readonly RowStatus[]): ResourceRow[] {
    const rows = (this.db.prepare('SELECT * FROM resources WHERE stack = ? ORDER BY id').all(stack) as Row[]).map(toResource);
    return statuses ? rows.filter((r) => statuses.includes(r.status)) : rows;
  }

  /** Live resources of every stack (VPCs, subnets and groups are shared across stacks through exports). */
  allLiveResources(): ResourceRow[] {
    return (this.db.prepare("SELECT * FROM resources WHERE status = 'live' ORDER BY id").all() as Row[]).map(toResource);
  }

  /**
   * The live resource with this physical id: in `prefer` (a stack) if it has one, else in any stack
   * (the first made, should two share it). One indexed query; no stack's rows are read whole.
   */
  liveByPhysicalId(physicalId: string, prefer?: string): ResourceRow | undefined {
    const r = this.db.prepare("SELECT * FROM resources WHERE physical_id = ? AND status = 'live' ORDER BY (stack = ?) DESC, id LIMIT 1").get(physicalId, prefer ?? null) as Row | undefined;
    return r ? toResource(r) : undefined;
  }

  /** The live copy of each logical id. */
  liveResources(stack: string): Map<string, ResourceRow> {
    const out = new Map<string, ResourceRow>();
    for (const r of this.resources(stack, ['live'])) out.set(r.logicalId, r);
    return out;
  }

  resourceRow(id: number): ResourceRow | undefined {
    const r = this.db.prepare('SELECT * FROM resources WHERE id = ?').get(id) as Row | undefined;
    return r ? toResource(r) : undefined;
  }

  insertResource(r: Omit<ResourceRow, 'id'>): number {
    const res = this.db
      .prepare(
        `INSERT INTO resources (stack, logical_id, type, physical_id, properties, state, status, deployment, depends_on, deletion_policy, update_replace_policy, no_local_effect)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.stack,
        r.logicalId,
        r.type,
        r.physicalId,
        JSON.stringify(r.properties),
        JSON.stringify(r.state),
        r.status,
        r.deployment,
        JSON.stringify(r.dependsOn),
        r.deletionPolicy,
        r.updateReplacePolicy,
        r.noLocalEffect ? 1 : 0,
      );
    return Number(res.lastInsertRowid);
  }

  updateResource(id: number, patch: Partial<Omit<ResourceRow, 'id' | 'stack'>>): void {
    const cols: string[] = [];
    const vals: unknown[] = [];
    const set = (c: string, v: unknown) => {
      cols.push(`${c} = ?`);
      vals.push(v);
    };
    if (patch.logicalId !== undefined) set('logical_id', patch.logicalId);
    if (patch.type !== undefined) set('type', patch.type);
    if (patch.physicalId !== undefined) set('physical_id', patch.physicalId);
    if (patch.properties !== undefined) set('properties', JSON.stringify(patch.properties));
    if (patch.state !== undefined) set('state', JSON.stringify(patch.state));
    if (patch.status !== undefined) set('status', patch.status);
    if (patch.deployment !== undefined) set('deployment', patch.deployment);
    if (patch.dependsOn !== undefined) set('depends_on', JSON.stringify(patch.dependsOn));
    if (patch.deletionPolicy !== undefined) set('deletion_policy', patch.deletionPolicy);
    if (patch.updateReplacePolicy !== undefined) set('update_replace_policy', patch.updateReplacePolicy);
    if (patch.noLocalEffect !== undefined) set('no_local_effect', patch.noLocalEffect ? 1 : 0);
    if (cols.length === 0) return;
    this.db.prepare(`UPDATE resources SET ${cols.join(', ')} WHERE id = ?`).run(...vals, id);
  }

  deleteResource(id: number): void {
    this.db.prepare('DELETE FROM resources WHERE id = ?').run(id);
  }

  // ---- deployments --------------------------------------------------------------------------

  beginDeployment(d: Omit<DeploymentRecord, 'startedAt' | 'endedAt' | 'status' | 'reason'> & { status?: string }): DeploymentRecord {
    this.db
      .prepare(
        `INSERT INTO deployments (id, stack, kind, status, started_at, ended_at, template_hash, template, parameters, outputs, prior, images, reason)
         VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, NULL)`,
      )
      .run(
        d.id,
        d.stack,
        d.kind,
        d.status ?? 'IN_PROGRESS',
        this.ts(),
        d.templateHash,
        d.template,
        JSON.stringify(d.parameters),
        JSON.stringify(d.outputs),
        JSON.stringify(d.prior),
        JSON.stringify(d.images),
      );
    return this.deployment(d.id)!;
  }

  endDeployment(id: string, status: string, reason: string | null = null): void {
    this.db.prepare('UPDATE deployments SET status = ?, ended_at = ?, reason = ? WHERE id = ?').run(status, this.ts(), reason, id);
  }

  setDeploymentOutputs(id: string, outputs: DeploymentRecord['outputs']): void {
    this.db.prepare('UPDATE deployments SET outputs = ? WHERE id = ?').run(JSON.stringify(outputs), id);
  }

  deployment(id: string): DeploymentRecord | undefined {
    const r = this.db.prepare('SELECT * FROM deployments WHERE id = ?').get(id) as Row | undefined;
    return r ? toDeployment(r) : undefined;
  }

  deployments(stack: string): DeploymentRecord[] {
    return (this.db.prepare('SELECT * FROM deployments WHERE stack = ? ORDER BY started_at, rowid').all(stack) as Row[]).map(toDeployment);
  }

  /** The deployment that is still open (a crash left it), if any. */
  openDeployment(stack: string): DeploymentRecord | undefined {
    const r = this.db.prepare('SELECT * FROM deployments WHERE stack = ? AND ended_at IS NULL ORDER BY started_at DESC, rowid DESC LIMIT 1').get(stack) as Row | undefined;
    return r ? toDeployment(r) : undefined;
  }

  /** Records the export names a deployment's template imports (Fn::ImportValue). */
  setDeploymentImports(id: string, names: readonly string[]): void {
    const ins = this.db.prepare('INSERT OR IGNORE INTO deployment_imports (deployment, export_name) VALUES (?, ?)');
    this.transaction(() => {
      for (const n of names) ins.run(id, n);
    });
  }

  /** Stacks other than `except` whose current deployment imports `name`, sorted. */
  importersOf(name: string, except?: string): string[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT s.name AS name FROM stacks s JOIN deployment_imports i ON i.deployment = s.deployment
         WHERE i.export_name = ? AND s.status != 'DELETE_COMPLETE' ORDER BY s.name`,
      )
      .all(name) as Array<{ name: string }>;
    return rows.map((r) => r.name).filter((n) => n !== except);
  }

  /** Every export of every stack's current deployment, with the stacks importing it, by name. */
  allExports(): Array<{ name: string; stack: string; output: string; value: Json; importers: string[] }> {
    const out: Array<{ name: string; stack: string; output: string; value: Json; importers: string[] }> = [];
    for (const st of this.stacks()) {
      if (!st.deployment || st.status === 'DELETE_COMPLETE') continue;
      for (const [output, o] of Object.entries(this.deployment(st.deployment)?.outputs ?? {}))
        if (o.exportName !== undefined) out.push({ name: o.exportName, stack: st.name, output, value: o.value, importers: this.importersOf(o.exportName, st.name) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The value exported under `name` by the current deployment of any stack (Fn::ImportValue). */
  exportedValue(name: string): { stack: string; value: Json; secret?: boolean } | undefined {
    for (const st of this.stacks()) {
      if (!st.deployment || st.status === 'DELETE_COMPLETE') continue;
      const d = this.deployment(st.deployment);
      for (const o of Object.values(d?.outputs ?? {})) if (o.exportName === name) return { stack: st.name, value: o.value, ...(o.secret !== undefined ? { secret: o.secret } : {}) };
    }
    return undefined;
  }

  // ---- events -------------------------------------------------------------------------------

  addEvent(e: Omit<StackEvent, 'id' | 'timestamp'> & { timestamp?: string }): StackEvent {
    const timestamp = e.timestamp ?? this.ts();
    const res = this.db
      .prepare('INSERT INTO stack_events (stack, stack_id, deployment, timestamp, logical_id, physical_id, type, status, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(e.stack, e.stackId, e.deployment, timestamp, e.logicalId, e.physicalId, e.type, e.status, e.reason);
    return { ...e, timestamp, id: Number(res.lastInsertRowid) };
  }

  /** Events of the stack's current creation, oldest first (`kiln events` prints them newest first). */
  events(stack: string, opts: { deployment?: string; all?: boolean } = {}): StackEvent[] {
    const st = this.stack(stack);
    if (!st) return [];
    const rows = opts.deployment
      ? (this.db.prepare('SELECT * FROM stack_events WHERE stack = ? AND deployment = ? ORDER BY id').all(stack, opts.deployment) as Row[])
      : opts.all
        ? (this.db.prepare('SELECT * FROM stack_events WHERE stack = ? ORDER BY id').all(stack) as Row[])
        : (this.db.prepare('SELECT * FROM stack_events WHERE stack = ? AND stack_id = ? ORDER BY id').all(stack, st.stackId) as Row[]);
    return rows.map((r) => ({
      id: r.id as number,
      stack: r.stack as string,
      stackId: r.stack_id as string,
      deployment: (r.deployment as string | null) ?? null,
      timestamp: r.timestamp as string,
      logicalId: r.logical_id as string,
      physicalId: (r.physical_id as string | null) ?? null,
      type: r.type as string,
      status: r.status as ResourceStatus,
      reason: (r.reason as string | null) ?? null,
    }));
  }

  // ---- pending operations (intent before acting, outcome after) -----------------------------

  beginOp(op: Omit<PendingOp, 'id' | 'startedAt'>): number {
    const res = this.db
      .prepare('INSERT INTO pending_ops (stack, deployment, logical_id, action, row_id, properties, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(op.stack, op.deployment, op.logicalId, op.action, op.rowId, op.properties ? JSON.stringify(op.properties) : null, this.ts());
    return Number(res.lastInsertRowid);
  }

  endOp(id: number): void {
    this.db.prepare('DELETE FROM pending_ops WHERE id = ?').run(id);
  }

  pendingOps(stack: string): PendingOp[] {
    return (this.db.prepare('SELECT * FROM pending_ops WHERE stack = ? ORDER BY id').all(stack) as Row[]).map((r) => ({
      id: r.id as number,
      stack: r.stack as string,
      deployment: r.deployment as string,
      logicalId: r.logical_id as string,
      action: r.action as PendingOp['action'],
      rowId: (r.row_id as number | null) ?? null,
      properties: parse<JsonObject | null>(r.properties, null),
      startedAt: r.started_at as string,
    }));
  }

  // ---- locks --------------------------------------------------------------------------------

  lockHolder(stack: string): LockHolder | undefined {
    const r = this.db.prepare('SELECT * FROM stack_locks WHERE stack = ?').get(stack) as Row | undefined;
    return r
      ? { pid: r.pid as number, host: r.host as string, since: r.since as string, token: r.token as string, command: r.command as string, started: (r.started as string | null) ?? null }
      : undefined;
  }

  /**
   * Takes the lock of `stack` for this process. A lock held by a live process (or by another host,
   * whose processes cannot be checked) is refused with who holds it; a lock whose process is dead is
   * taken over and returned as `stale` so the caller knows a run was interrupted.
   */
  acquireLock(stack: string, command: string, opts: { pid?: number; host?: string } = {}): { token: string; stale?: LockHolder } {
    const pid = opts.pid ?? process.pid;
    const started = processStart(pid) ?? null;
    const host = opts.host ?? hostname();
    const token = randomUUID();
    return this.db
      .transaction(() => {
        const held = this.lockHolder(stack);
        if (held) {
          if (!ownerGone(held, host))
            throw new KilnError(
              'STACK_LOCKED',
              `stack ${stack} is locked by ${describeHolder(held)}; wait for it to finish${held.host !== host ? `, or if that run is gone, \`kiln unlock --stack ${stack}\`` : ''}`,
              'user',
            );
          this.db.prepare('DELETE FROM stack_locks WHERE stack = ?').run(stack);
        }
        this.db.prepare('INSERT INTO stack_locks (stack, pid, host, since, token, command, started) VALUES (?, ?, ?, ?, ?, ?, ?)').run(stack, pid, host, this.ts(), token, command, started);
        return held ? { token, stale: held } : { token };
      })
      .immediate();
  }

  releaseLock(stack: string, token: string): void {
    this.db.prepare('DELETE FROM stack_locks WHERE stack = ? AND token = ?').run(stack, token);
  }

  // ---- the key that seals NoEcho values in saved plans --------------------------------------

  private key: Buffer | undefined;

  /** `plan.key` beside the database (mode 0600), made on first use; a database in memory keeps it in memory. */
  breakLock(stack: string): LockHolder | undefined {
    return breakLock(this.db, stack);
  }

  backup(): void {
    backupState(this.db);
  }

  planKey(): Buffer {
    if (this.key) return this.key;
    if (this.db.memory) return (this.key = randomBytes(32));
    const file = join(dirname(this.db.name), 'plan.key');
    const read = (): Buffer | undefined => {
      try {
        const k = readFileSync(file);
        return k.length === 32 ? k : undefined;
      } catch {
        return undefined;
      }
    };
    let k = read();
    if (!k) {
      try {
        writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      k = read();
      if (!k) throw new KilnError('PLAN_KEY', `${file} is not a kiln plan key (32 bytes); remove it to make a new one (saved plans sealed with it can then no longer be deployed)`, 'environment');
    }
    return (this.key = k);
  }
}
