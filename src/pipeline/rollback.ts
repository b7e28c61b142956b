// `kiln rollback`: redeploys an earlier run's exact images, parameters and stack template. Immutable:
// it reuses the recorded image ids and builds nothing; an image that is gone is an error naming it.
import { KilnError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import type { DeployResult, PlanResult } from '../deploy/index.js';
import type { Json } from '../stack/model.js';
import type { PipelineRecord } from '../state/pipeline.js';
import type { DockerClient } from '../docker/client.js';
import { missingImages, recordRun } from './images.js';
import { dockerOf, providerOf, type PipelineEvent, type PipelineOptions } from './up.js';

interface RollbackOptions extends PipelineOptions {
  stack: string;
  /** The pipeline run to restore (`kiln history` ids); default: the complete run before the last one. */
  to?: number;
  confirm?: (r: PlanResult) => Promise<boolean>;
}

interface RollbackResult {
  stack: string;
  outcome: 'complete' | 'failed' | 'cancelled' | 'no-changes';
  from?: PipelineRecord;
  to: PipelineRecord;
  deploy: DeployResult;
  record?: PipelineRecord;
  ms: number;
}

const nullEvents: EventSink<PipelineEvent> = { emit: () => undefined };

/** Which run a rollback restores: `to`, or the complete run before the last complete one. */
function rollbackTarget(runs: readonly PipelineRecord[], to?: number): { from?: PipelineRecord; to: PipelineRecord } {
  const complete = runs.filter((r) => r.outcome === 'complete');
  const from = complete[complete.length - 1];
  if (to !== undefined) {
    const t = runs.find((r) => r.id === to);
    if (!t) throw new KilnError('NO_DEPLOYMENT', `no run ${to} in the history of this stack (see kiln history)`, 'user');
    if (t.outcome !== 'complete') throw new KilnError('NO_DEPLOYMENT', `run ${to} did not complete (${t.outcome}): only a complete run can be restored`, 'user');
    return { ...(from ? { from } : {}), to: t };
  }
  if (!from || complete.length < 2) throw new KilnError('NO_PREVIOUS', 'nothing to roll back to: the stack has fewer than two complete deployments', 'user');
  return { from, to: complete[complete.length - 2]! };
}

/** Checks that every image of the run still exists locally; an error names each missing one. */
export async function checkImages(run: PipelineRecord, docker: DockerClient): Promise<void> {
  const missing = await missingImages(run.images, docker).catch(() => Object.entries(run.images).map(([name, img]) => `${name} (${img.imageId})`));
  if (missing.length)
    throw new KilnError(
      'IMAGE_GONE',
      `cannot roll back to run ${run.id}: image ${missing.join(', ')} no longer exists (removed outside kiln?). A rollback never rebuilds; run kiln up to bake again`,
      'user',
    );
}

export async function rollback(o: RollbackOptions): Promise<RollbackResult> {
  const t0 = Date.now();
  const { PipelineStore } = await import('../state/pipeline.js');
  const store = PipelineStore.open(o.stateDir);
  const { from, to } = rollbackTarget(store.list(o.stack), o.to);
  const docker = dockerOf(o);
  await checkImages(to, docker);
  const events = o.events ?? nullEvents;
  // Parameters as recorded; NoEcho ones (recorded as ****) are read from kiln.yaml again, if the
  // project still gives them, and otherwise left to the deploy engine (it keeps the last value's
  // hash and asks for the value).
  const params: Record<string, string> = {};
  const secretNames: string[] = [];
  for (const [k, v] of Object.entries(to.parameters)) {
    if (v === '****') secretNames.push(k);
    else params[k] = Array.isArray(v) ? v.map(String).join(',') : String(v as Json);
  }
  if (secretNames.length && to.configFile) {
    try {
      const { loadConfig } = await import('./load.js');
      const { resolveParam } = await import('./config.js');
      const cfg = await loadConfig(to.configFile);
      for (const k of secretNames) if (cfg.parameters[k]) params[k] = resolveParam(cfg.parameters[k]!, (n) => to.images[n]?.artifact ?? '');
    } catch {
      // kiln.yaml moved or broken: the deploy engine reports a NoEcho value it needs.
    }
  }
  const deploy = await import('../deploy/index.js');
  const provider = await providerOf(o, docker);
  const startedAt = new Date().toISOString();
  const r = await deploy.deployStack({
    stack: o.stack,
    file: to.templateFile,
    text: to.template,
    params,
    provider,
    command: 'rollback',
    events: { emit: (event) => events.emit({ kind: 'stack', event }) },
    images: Object.fromEntries(Object.entries(to.images).map(([k, v]) => [k, v.imageId])),
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.confirm ? { confirm: o.confirm } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  });
  const ms = Date.now() - t0;
  if (r.outcome === 'no-changes' || r.outcome === 'cancelled') return { stack: o.stack, outcome: r.outcome, ...(from ? { from } : {}), to, deploy: r, ms };
  const images = Object.fromEntries(Object.entries(to.images).map(([k, v]) => [k, { ...v, built: false }]));
  const record = recordRun(store, {
    stack: o.stack,
    kind: 'rollback',
    target: to.target,
    deployment: r.deployment ?? null,
    startedAt,
    outcome: r.outcome,
    ...(r.reason ? { reason: r.reason } : {}),
    configFile: to.configFile,
    templateFile: to.templateFile,
    template: to.template,
    images,
    parameters: r.parameters,
    prev: from,
    plan: r.plan,
    rollbackOf: to.id,
    ms,
  });
  return { stack: o.stack, outcome: r.outcome === 'complete' ? 'complete' : 'failed', ...(from ? { from } : {}), to, deploy: r, record, ms };
}
