// What the pages of `kiln ui` show, read from state: stacks, their resources as a graph, outputs,
// parameters, deployments and what each changed, the build cache. Read-only (SELECTs through the
// stores); the live part comes from the feed (feed.ts), not from here.
//
// Masking: parameters come from the deployment record, where a NoEcho parameter is only a salted
// hash — shown as `****`, the hash never leaves; outputs and event reasons were masked by the engine
// before they were written; resource properties are not shown (only ids, types, images).
import type { Json } from '../stack/model.js';
import type { DeploymentRecord, ResourceRow, StackEvent, StackRecord, StackStore } from '../state/store.js';
import type { PipelineRecord, PipelineStore } from '../state/pipeline.js';
import type { EdgeSpec } from './graph.js';
import type { LiveRun, PlanStepLine } from './feed.js';

const STACK_TYPE = 'AWS::CloudFormation::Stack';
const CANCELLED = /cancelled/i;
const REPLACING = /requires the creation of a new physical resource/i;

export interface StackSummary {
  name: string;
  status: string;
  reason: string | null;
  updatedAt: string;
  resources: number;
  outputs: DeploymentRecord['outputs'];
  run?: LiveRun;
}

export interface ResourceView {
  logicalId: string;
  type: string;
  physicalId: string | null;
  /** The last status an event gave it (`CREATE_COMPLETE`…), or `PLANNED` for a step not started. */
  status: string;
  /** The id of that event (the page applies a live event only if it is newer). */
  eventId: number;
  /** live | pendingDelete | retained | gone (no row: deleted, rolled back, or never made). */
  row: string;
  /** The step of the running plan, while it has not started. */
  planned?: string;
  /** The reason of the failure of this resource in the last deployment. */
  failed?: string;
  noLocalEffect: boolean;
  /** Instances and launch templates: the image as written (`ami-…`), its id, and the kiln.yaml image name. */
  image?: { ref: string; id?: string; name?: string };
  /** AWS: the drift CloudFormation found the last time it looked (local stacks: asked by the page). */
  drift?: { status: string; checkedAt?: string };
}

export interface ParameterView {
  name: string;
  /** undefined: NoEcho, masked. */
  value?: string;
  /** AWS: masked because the template could not be read to tell whether it is NoEcho. */
  unknown?: boolean;
}

export interface StackDetail {
  stack: StackRecord;
  resources: ResourceView[];
  edges: EdgeSpec[];
  outputs: DeploymentRecord['outputs'];
  parameters: ParameterView[];
  /** The latest deployment (or destroy), open or ended, and its events. */
  latest?: { id: string; kind: string; status: string; startedAt: string; endedAt: string | null; reason: string | null };
  latestEvents: StackEvent[];
  run?: LiveRun;
  /** A stack on the AWS target: what CloudFormation reports (src/ui/aws.ts). */
  aws?: { region: string; drift?: string; failure?: string };
}

function runOf(runs: ReadonlyMap<number, LiveRun>, stack: string): LiveRun | undefined {
  let found: LiveRun | undefined;
  for (const r of runs.values()) if (r.stack === stack && (!found || r.id > found.id)) found = r;
  return found;
}

export function stackSummaries(store: StackStore, runs: ReadonlyMap<number, LiveRun>): StackSummary[] {
  const out: StackSummary[] = [];
  for (const st of store.stacks()) {
    const run = runOf(runs, st.name);
    const d = st.deployment ? store.deployment(st.deployment) : undefined;
    out.push({
      name: st.name,
      status: st.status,
      reason: st.reason,
      updatedAt: st.updatedAt,
      resources: store.resources(st.name, ['live']).length,
      outputs: d?.outputs ?? {},
      ...(run ? { run } : {}),
    });
  }
  // Stacks a running first deploy has not written yet still show.
  for (const r of runs.values())
    if (!r.ended && !out.some((s) => s.name === r.stack))
      out.push({ name: r.stack, status: r.status ?? 'CREATE_IN_PROGRESS', reason: null, updatedAt: r.startedAt, resources: 0, outputs: {}, run: r });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function shownParameters(d: DeploymentRecord | undefined): ParameterView[] {
  return Object.entries(d?.parameters ?? {}).map(([name, p]) => ('value' in p ? { name, value: typeof p.value === 'string' ? p.value : JSON.stringify(p.value) } : { name }));
}

const templateEdges = new Map<string, EdgeSpec[]>();

/** The dependency edges of a template's text (JSON or YAML); none when it cannot be read. */
export async function edgesOfText(text: string): Promise<EdgeSpec[]> {
  try {
    const [{ loadTemplate }, { buildStackGraph }] = await Promise.all([import('../stack/load.js'), import('../stack/graph.js')]);
    const doc = loadTemplate(text, 'template');
    if (doc.value !== undefined) return buildStackGraph(doc.value).edges.map((e) => ({ from: e.from, to: e.to, via: e.via }));
  } catch {
    /* no edges */
  }
  return [];
}

/** The dependency edges of a deployment's template as written (cached per deployment). */
async function edgesOfTemplate(d: DeploymentRecord | undefined): Promise<EdgeSpec[]> {
  if (!d?.template) return [];
  const hit = templateEdges.get(d.id);
  if (hit) return hit;
  const edges = await edgesOfText(d.template);
  if (templateEdges.size > 200) templateEdges.clear();
  templateEdges.set(d.id, edges);
  return edges;
}

function imageOf(r: ResourceRow, pipeline: PipelineRecord | undefined): ResourceView['image'] {
  const props = r.properties as Record<string, Json>;
  const data = (r.state.data ?? {}) as Record<string, Json>;
  const ltd = props.LaunchTemplateData;
  const ref = typeof props.ImageId === 'string' ? props.ImageId : ltd && typeof ltd === 'object' && !Array.isArray(ltd) && typeof ltd.ImageId === 'string' ? ltd.ImageId : undefined;
  if (!ref) return undefined;
  const id = typeof data.imageId === 'string' ? data.imageId : undefined;
  const named = Object.entries(pipeline?.images ?? {}).find(([, i]) => i.artifact === ref || (id !== undefined && i.imageId === id));
  return { ref, ...(id ? { id } : {}), ...(named ? { name: named[0] } : {}) };
}

/** Everything the stack page shows; undefined when neither state nor a running deploy knows the stack. */
export async function stackDetail(store: StackStore, pipelines: PipelineStore | undefined, name: string, runs: ReadonlyMap<number, LiveRun>): Promise<StackDetail | undefined> {
  const st = store.stack(name);
  const run = runOf(runs, name);
  if (!st && !run) return undefined;
  const stack: StackRecord = st ?? {
    name,
    stackId: '',
    status: (run?.status ?? 'CREATE_IN_PROGRESS') as StackRecord['status'],
    reason: null,
    deployment: null,
    createdAt: run!.startedAt,
    updatedAt: run!.startedAt,
  };
  const deployments = st ? store.deployments(name) : [];
  const latest = deployments[deployments.length - 1];
  const current = st?.deployment ? store.deployment(st.deployment) : undefined;
  const events = st ? store.events(name) : [];
  const latestEvents = latest ? events.filter((e) => e.deployment === latest.id) : [];
  const rows = st ? store.resources(name) : [];
  // The last event of each resource's current copy: the cleanup phase's delete of an old copy (another
  // physical id) does not make a replaced resource look deleted.
  const liveId = new Map(rows.filter((r) => r.status === 'live').map((r) => [r.logicalId, r.physicalId]));
  const lastEvent = new Map<string, StackEvent>();
  for (const e of events) {
    if (e.type === STACK_TYPE) continue;
    const pid = liveId.get(e.logicalId);
    if (pid !== undefined && e.status.startsWith('DELETE') && e.physicalId !== pid) continue;
    lastEvent.set(e.logicalId, e);
  }
  const failed = new Map<string, string>();
  for (const e of latestEvents) if (e.type !== STACK_TYPE && e.status.endsWith('_FAILED') && e.reason && !CANCELLED.test(e.reason) && !failed.has(e.logicalId)) failed.set(e.logicalId, e.reason);
  const touched = new Set(latestEvents.map((e) => e.logicalId));
  const activePlan = run && !run.ended ? run.plan : undefined;
  const stepOf = new Map<string, PlanStepLine>((activePlan?.steps ?? []).map((s) => [s.id, s]));

  const ids: string[] = [];
  const seen = new Set<string>();
  const add = (id: string) => {
    if (!seen.has(id) && id !== name) {
      seen.add(id);
      ids.push(id);
    }
  };
  for (const s of activePlan?.steps ?? []) add(s.id);
  for (const r of rows) if (r.status !== 'retained') add(r.logicalId);
  for (const e of latestEvents) if (e.type !== STACK_TYPE) add(e.logicalId);

  const pipeline = pipelines
    ?.list(name)
    .filter((p) => p.outcome === 'complete')
    .pop();
  const resources: ResourceView[] = ids.map((id) => {
    const row = rows.find((r) => r.logicalId === id && r.status === 'live') ?? rows.find((r) => r.logicalId === id && r.status === 'pendingDelete');
    const ev = lastEvent.get(id);
    const step = stepOf.get(id);
    // A step of the running plan that has no event in this run yet is planned, not started.
    const started = run?.deployment !== undefined && ev?.deployment === run.deployment;
    const planned = step && step.action !== 'noop' && !started ? step.action : undefined;
    const status = planned ? 'PLANNED' : (ev?.status ?? (row ? 'CREATE_COMPLETE' : 'PLANNED'));
    const view: ResourceView = {
      logicalId: id,
      type: row?.type ?? ev?.type ?? step?.type ?? '?',
      physicalId: row?.physicalId ?? ev?.physicalId ?? null,
      status,
      eventId: ev?.id ?? 0,
      row: row ? row.status : 'gone',
      noLocalEffect: row?.noLocalEffect ?? false,
    };
    if (planned) view.planned = planned;
    if (failed.has(id) && (touched.has(id) || !planned)) view.failed = failed.get(id)!;
    const image = row ? imageOf(row, pipeline) : undefined;
    if (image) view.image = image;
    return view;
  });

  const edges = new Map<string, EdgeSpec>();
  for (const e of await edgesOfTemplate(latest?.template ? latest : current)) if (seen.has(e.from) && seen.has(e.to)) edges.set(`${e.from}\0${e.to}`, e);
  for (const r of rows) for (const d of r.dependsOn) if (seen.has(r.logicalId) && seen.has(d) && !edges.has(`${r.logicalId}\0${d}`)) edges.set(`${r.logicalId}\0${d}`, { from: r.logicalId, to: d });

  return {
    stack,
    resources,
    edges: [...edges.values()],
    outputs: current?.outputs ?? {},
    parameters: shownParameters(current ?? latest),
    ...(latest ? { latest: { id: latest.id, kind: latest.kind, status: latest.status, startedAt: latest.startedAt, endedAt: latest.endedAt, reason: latest.reason } } : {}),
    latestEvents,
    ...(run ? { run } : {}),
  };
}

interface DeploymentChange {
  logicalId: string;
  change: 'create' | 'update' | 'replace' | 'delete' | 'failed';
  reason?: string;
}

/** What a deployment did to each resource, read from its events. */
function changesOf(events: readonly StackEvent[]): DeploymentChange[] {
  const out = new Map<string, DeploymentChange>();
  let phase = '';
  for (const e of events) {
    if (e.type === STACK_TYPE) {
      phase = e.status;
      continue;
    }
    if (e.status.endsWith('_FAILED') && e.reason && !CANCELLED.test(e.reason)) {
      out.set(e.logicalId, { logicalId: e.logicalId, change: 'failed', reason: e.reason });
      continue;
    }
    if (out.has(e.logicalId) || !e.status.endsWith('_IN_PROGRESS') || phase.includes('ROLLBACK')) continue;
    const change = e.status.startsWith('CREATE') ? 'create' : e.status.startsWith('DELETE') ? 'delete' : REPLACING.test(e.reason ?? '') ? 'replace' : 'update';
    out.set(e.logicalId, { logicalId: e.logicalId, change });
  }
  return [...out.values()];
}

export interface HistoryEntry {
  stack: string;
  id: string;
  kind: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  reason: string | null;
  /** logical id → image as the template gave it. */
  images: Record<string, string>;
  changes: DeploymentChange[];
  /** The `kiln up` / `kiln rollback` run that made it, with image names and whether each was built. */
  pipeline?: { id: number; kind: string; images: Array<{ name: string; imageId: string; built: boolean }>; changes: string[]; rollbackOf: number | null };
}

/** Every deployment of `stacks` (all stacks when absent), newest first. */
export function history(store: StackStore, pipelines: PipelineStore | undefined, stacks?: string[]): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const name of stacks ?? store.stacks().map((s) => s.name)) {
    const runs = new Map((pipelines?.list(name) ?? []).filter((p) => p.deployment).map((p) => [p.deployment!, p]));
    for (const d of store.deployments(name)) {
      const p = runs.get(d.id);
      out.push({
        stack: name,
        id: d.id,
        kind: d.kind,
        status: d.status,
        startedAt: d.startedAt,
        endedAt: d.endedAt,
        reason: d.reason,
        images: d.images,
        changes: changesOf(store.events(name, { deployment: d.id })),
        ...(p
          ? { pipeline: { id: p.id, kind: p.kind, images: Object.entries(p.images).map(([n, i]) => ({ name: n, imageId: i.imageId, built: i.built })), changes: p.changes, rollbackOf: p.rollbackOf } }
          : {}),
      });
    }
  }
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}
