// The pipeline's record of every `kiln up` / `kiln rollback` that deployed: per image its build key
// and image id, the parameters as deployed (NoEcho values masked, never stored), what changed, and
// the outcome. `kiln history` lists these; `kiln rollback` redeploys one of them exactly.
import { ensureSchema, openState, stateDir, type Db } from './db.js';
import type { Json } from '../core/json.js';

export interface ImageRecord {
  /** Build name of the template that produced it for the target. */
  build: string;
  /** Content key of the build (the build cache key). */
  key: string | null;
  /** The local image id (`sha256:…`). */
  imageId: string;
  /** What `${images.NAME}` resolved to for the target (e.g. the `ami-` form). */
  artifact: string;
  /** Built in this run (false: reused from the cache). */
  built: boolean;
}

export interface PipelineRecord {
  id: number;
  stack: string;
  /** The stack deployment (`deployments.id`) this run made, if it got that far. */
  deployment: string | null;
  kind: 'up' | 'rollback';
  target: string;
  startedAt: string;
  endedAt: string | null;
  /** complete | failed (the stack rolled back) | cancelled */
  outcome: string;
  reason: string | null;
  /** kiln.yaml, absolute (rollback reads NoEcho values from it again). */
  configFile: string | null;
  /** The stack template file and its text as deployed. */
  templateFile: string;
  template: string;
  images: Record<string, ImageRecord>;
  /** Parameters as deployed; NoEcho ones are `****`. */
  parameters: Record<string, Json>;
  /** Human lines: `image web: sha256:ab… → sha256:cd…`, `ec2Instance: replace`. */
  changes: string[];
  /** For a rollback: the pipeline record it restored. */
  rollbackOf: number | null;
  ms: number | null;
  /** The saved plan this run deployed (`kiln up --plan PLAN`): its file, when it was made, its sha256. */
  plan?: SavedPlanRef;
}

export interface SavedPlanRef {
  file: string;
  createdAt: string;
  sha256: string;
}

const DDL = `
CREATE TABLE IF NOT EXISTS pipeline_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stack TEXT NOT NULL,
  deployment TEXT,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  outcome TEXT NOT NULL,
  reason TEXT,
  config_file TEXT,
  template_file TEXT NOT NULL,
  template TEXT NOT NULL,
  images TEXT NOT NULL,
  parameters TEXT NOT NULL,
  changes TEXT NOT NULL,
  rollback_of INTEGER,
  ms INTEGER,
  plan TEXT
);
CREATE INDEX IF NOT EXISTS pipeline_runs_stack ON pipeline_runs(stack, id);
`;

interface Row {
  id: number;
  stack: string;
  deployment: string | null;
  kind: string;
  target: string;
  started_at: string;
  ended_at: string | null;
  outcome: string;
  reason: string | null;
  config_file: string | null;
  template_file: string;
  template: string;
  images: string;
  parameters: string;
  changes: string;
  rollback_of: number | null;
  ms: number | null;
  plan: string | null;
}

function fromRow(r: Row): PipelineRecord {
  return {
    id: r.id,
    stack: r.stack,
    deployment: r.deployment,
    kind: r.kind === 'rollback' ? 'rollback' : 'up',
    target: r.target,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    outcome: r.outcome,
    reason: r.reason,
    configFile: r.config_file,
    templateFile: r.template_file,
    template: r.template,
    images: JSON.parse(r.images) as PipelineRecord['images'],
    parameters: JSON.parse(r.parameters) as PipelineRecord['parameters'],
    changes: JSON.parse(r.changes) as string[],
    rollbackOf: r.rollback_of,
    ms: r.ms,
    ...(r.plan ? { plan: JSON.parse(r.plan) as SavedPlanRef } : {}),
  };
}

export class PipelineStore {
  constructor(readonly db: Db) {
    ensureSchema(db, 'pipeline', DDL);
    // A state made before the column existed gets it.
    const cols = db.prepare('PRAGMA table_info(pipeline_runs)').all() as Array<{ name: string }>;
    if (!cols.some((c) => c.name === 'plan')) db.exec('ALTER TABLE pipeline_runs ADD COLUMN plan TEXT');
  }

  static open(dir?: string): PipelineStore {
    return new PipelineStore(openState(stateDir(dir)));
  }

  add(r: Omit<PipelineRecord, 'id'>): PipelineRecord {
    const info = this.db
      .prepare(
        `INSERT INTO pipeline_runs (stack, deployment, kind, target, started_at, ended_at, outcome, reason, config_file, template_file, template, images, parameters, changes, rollback_of, ms, plan)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.stack,
        r.deployment,
        r.kind,
        r.target,
        r.startedAt,
        r.endedAt,
        r.outcome,
        r.reason,
        r.configFile,
        r.templateFile,
        r.template,
        JSON.stringify(r.images),
        JSON.stringify(r.parameters),
        JSON.stringify(r.changes),
        r.rollbackOf,
        r.ms,
        r.plan ? JSON.stringify(r.plan) : null,
      );
    return { ...r, id: Number(info.lastInsertRowid) };
  }

  /** Every run of a stack, oldest first. */
  list(stack: string): PipelineRecord[] {
    return (this.db.prepare('SELECT * FROM pipeline_runs WHERE stack = ? ORDER BY id').all(stack) as Row[]).map(fromRow);
  }

  get(id: number): PipelineRecord | undefined {
    const r = this.db.prepare('SELECT * FROM pipeline_runs WHERE id = ?').get(id) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** The last run of the stack that completed (what serves now, when nothing else changed it). */
  lastComplete(stack: string): PipelineRecord | undefined {
    const r = this.db.prepare("SELECT * FROM pipeline_runs WHERE stack = ? AND outcome = 'complete' ORDER BY id DESC LIMIT 1").get(stack) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }
}
