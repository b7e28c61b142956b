// What both pipelines (the local one in up.ts, AWS in up-aws.ts) and rollback do the same way:
// prepare an image's template for a target, say what changed since the last complete run, and
// record the run for `kiln history`, and find the recorded images the engine no longer has.
import { DiagnosticsError, type Diagnostic } from '../core/diagnostics.js';
import type { DockerClient } from '../docker/client.js';
import type { PreparedTemplate } from '../image/api.js';
import type { Plan } from '../stack/plan.js';
import type { Json } from '../stack/model.js';
import type { ImageRecord, PipelineRecord, PipelineStore, SavedPlanRef } from '../state/pipeline.js';
import type { ImageSpec, PipelineConfig, Target } from './config.js';

function diagAt(config: PipelineConfig, code: string, message: string, segments: (string | number)[]): Diagnostic {
  const path = segments.join('.');
  const range = config.doc.positions.range(segments);
  return { severity: 'error', code, message, path, ...(range ? { range } : {}) };
}

/** Prepares the template of an image for the target (variables, the one build); user mistakes throw. */
export async function prepareImage(config: PipelineConfig, img: ImageSpec, target: Target, env?: NodeJS.ProcessEnv): Promise<{ prepared: PreparedTemplate; build: string }> {
  const build = img.builds[target];
  if (!build) throw new DiagnosticsError([diagAt(config, 'KILN_YAML_NO_BUILD', `image ${img.name} has no build for target ${target} (add builds.${target})`, ['images', img.name, 'builds'])]);
  const { prepareTemplate } = await import('../image/api.js');
  const prepared = await prepareTemplate({ templatePath: img.template, vars: img.vars, varFiles: img.varFiles, only: [build], cwd: config.dir, env: env ?? process.env });
  if (prepared.builds.length !== 1)
    throw new DiagnosticsError([diagAt(config, 'KILN_YAML_NO_BUILD', `image ${img.name}: template ${img.template} has no build named '${build}'`, ['images', img.name, 'builds', target])]);
  return { prepared, build };
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Human lines of what differs from the previous complete run, plus the plan's changes. */
export function describeChanges(prev: PipelineRecord | undefined, images: Record<string, ImageRecord>, parameters: Record<string, Json>, plan?: Plan): string[] {
  const out: string[] = [];
  for (const [name, r] of Object.entries(images)) {
    const before = prev?.images[name];
    if (!before) out.push(`image ${name}: ${shortId(r.imageId)} (new)`);
    else if (before.imageId !== r.imageId) out.push(`image ${name}: ${shortId(before.imageId)} -> ${shortId(r.imageId)}`);
  }
  for (const [k, v] of Object.entries(parameters)) {
    const before = prev?.parameters[k];
    if (prev && JSON.stringify(before) !== JSON.stringify(v)) out.push(`parameter ${k}: ${before === undefined ? '(unset)' : JSON.stringify(before)} -> ${JSON.stringify(v)}`);
  }
  for (const s of plan?.steps ?? []) if (s.kind !== 'noop') out.push(`${s.id}: ${s.kind}`);
  return out;
}

/** A finished run (one that deployed something), as `recordRun` needs it. */
interface FinishedRun {
  stack: string;
  kind: PipelineRecord['kind'];
  target: string;
  /** The stack deployment it made (local target), null on AWS. */
  deployment: string | null;
  startedAt: string;
  outcome: 'complete' | 'failed';
  reason?: string;
  configFile: string | null;
  templateFile: string;
  template: string;
  images: Record<string, ImageRecord>;
  /** As deployed; NoEcho ones `****`. */
  parameters: Record<string, Json>;
  /** The last complete run before this one (what `changes` compare with). */
  prev: PipelineRecord | undefined;
  plan?: Plan;
  rollbackOf?: number;
  /** The saved plan file it deployed (`kiln up --plan PLAN`). */
  savedPlan?: SavedPlanRef;
  ms: number;
}

/** Records a run for `kiln history`: one record shape for up (local and AWS) and rollback. */
export function recordRun(store: PipelineStore, run: FinishedRun): PipelineRecord {
  return store.add({
    stack: run.stack,
    deployment: run.deployment,
    kind: run.kind,
    target: run.target,
    startedAt: run.startedAt,
    endedAt: new Date().toISOString(),
    outcome: run.outcome,
    reason: run.reason ?? null,
    configFile: run.configFile,
    templateFile: run.templateFile,
    template: run.template,
    images: run.images,
    parameters: run.parameters,
    changes: describeChanges(run.prev, run.images, run.parameters, run.plan),
    rollbackOf: run.rollbackOf ?? null,
    ms: run.ms,
    ...(run.savedPlan ? { plan: run.savedPlan } : {}),
  });
}

/** `NAME (ID)` of each image that no longer exists on the engine (a rollback, a saved up-plan). */
export async function missingImages(images: Record<string, { imageId: string }>, docker: DockerClient): Promise<string[]> {
  const missing: string[] = [];
  for (const [name, img] of Object.entries(images)) if (!(await docker.inspectImage(img.imageId))) missing.push(`${name} (${img.imageId})`);
  return missing;
}
