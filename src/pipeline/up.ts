// `kiln up`: bake every image of kiln.yaml for the target through the build cache, wire each
// artifact into the stack parameters, plan and deploy the stack, record the run. Nothing here
// prints: progress goes out as PipelineEvents (image build events and stack engine events).
import { KilnError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { connectDocker, type DockerClient } from '../docker/client.js';
import type { Provider } from '../model/provider.js';
import type { DeployResult } from '../deploy/index.js';
import type { ImageRecord, PipelineRecord, PipelineStore } from '../state/pipeline.js';
import { resolveParam, type PipelineConfig, type Target } from './config.js';
import { missingImages, prepareImage, recordRun } from './images.js';
import type { PipelineEvent, PipelineOptions, UpOptions, UpPlanOptions, UpResult } from './types.js';

export { describeChanges, prepareImage } from './images.js';

export type { PipelineEvent, PipelineOptions, UpOptions, UpOutcome, UpPlanOptions, UpResult } from './types.js';

const nullEvents: EventSink<PipelineEvent> = { emit: () => undefined };
/** Stands for every image while the stack template is checked before baking. */
const PLACEHOLDER_AMI = 'ami-00000000000000000';

/** The artifact `${images.NAME}` stands for on the target: the `ami-` form of the local image id. */
async function artifactFor(target: Target, imageId: string): Promise<string> {
  if (target !== 'local') throw new KilnError('TARGET', `target ${target} is not available yet: only --target local`, 'user', { exitCode: 2 });
  const { amiIdFor } = await import('../providers/docker/ids.js');
  return amiIdFor(imageId);
}

async function openStore(dir?: string): Promise<PipelineStore> {
  const { PipelineStore } = await import('../state/pipeline.js');
  return PipelineStore.open(dir);
}

/** The Docker engine of a pipeline run: the one given, else DOCKER_HOST's. */
export function dockerOf(o: PipelineOptions): DockerClient {
  return o.docker ?? connectDocker(o.env);
}

/** The provider of a pipeline run: the one given, else the local one on `docker` (the deploy engine's `openProvider`). */
export async function providerOf(o: PipelineOptions, docker: DockerClient): Promise<Provider> {
  if (o.provider) return o.provider;
  const { openProvider } = await import('../deploy/index.js');
  return openProvider(o.env, docker);
}

interface Baked {
  images: Record<string, ImageRecord>;
  built: string[];
  failed?: string;
}

/** Bakes every image for the target through the build cache (images in parallel). */
export async function bake(config: PipelineConfig, target: Target, o: PipelineOptions): Promise<Baked> {
  const events = o.events ?? nullEvents;
  const prepared = await Promise.all(config.images.map(async (img) => ({ img, ...(await prepareImage(config, img, target, o.env)) })));
  const { runBuilds } = await import('../image/build.js');
  const images: Record<string, ImageRecord> = {};
  const built: string[] = [];
  const failures: string[] = [];
  await Promise.all(
    prepared.map(async ({ img, prepared: t, build }) => {
      const t0 = Date.now();
      const [r] = await runBuilds({
        docker: dockerOf(o),
        template: t.templatePath,
        builds: t.builds,
        stateDir: o.stateDir,
        events: { emit: (event) => events.emit({ kind: 'image', image: img.name, event }) },
        ...(o.signal ? { signal: o.signal } : {}),
        labels: o.labels ?? {},
        mask: t.variables ? (s) => t.variables!.mask(s) : (s) => s,
      });
      if (!r || !r.ok || !r.imageId) {
        failures.push(`image ${img.name}: ${r?.error ?? (r?.ok ? `build ${build} produced no image (set "commit": true on the docker builder)` : 'build failed')}`);
        return;
      }
      const record: ImageRecord = { build, key: r.key ?? null, imageId: r.imageId, artifact: await artifactFor(target, r.imageId), built: !r.cached };
      images[img.name] = record;
      if (!r.cached) built.push(img.name);
      events.emit({ kind: 'baked', image: img.name, record, ms: Date.now() - t0 });
    }),
  );
  return { images, built: built.sort(), ...(failures.length ? { failed: failures.join('\n') } : {}) };
}

export async function up(o: UpOptions): Promise<UpResult> {
  const t0 = Date.now();
  const config = o.config;
  const target = o.target ?? 'local';
  const stack = o.stack ?? config.stack;
  const events = o.events ?? nullEvents;
  // AWS: bake AMIs, deploy through CloudFormation (src/pipeline/up-aws.ts).
  if (target === 'aws') return (await import('./up-aws.js')).upAws(o);
  if (target !== 'local') throw new KilnError('TARGET', `target ${target} is not available: --target local or aws`, 'user', { exitCode: 2 });
  const { MAX_TEMPLATE_BYTES, readInput } = await import('../core/input.js');
  // The stack template is read once: what is deployed and recorded is exactly this text.
  const template = await readInput(config.stackTemplate, { maxBytes: MAX_TEMPLATE_BYTES, what: 'template' });
  const deploy = await import('../deploy/index.js');
  const docker = dockerOf(o);
  const provider = await providerOf(o, docker);

  // Check the stack template and parameters before baking (placeholder image ids): a broken
  // template stops here, before minutes of building, and creates nothing.
  const placeholder: Record<string, string> = {};
  for (const [k, parts] of Object.entries(config.parameters)) placeholder[k] = resolveParam(parts, () => PLACEHOLDER_AMI);
  // The check runs while the bake starts (the bake mostly waits on Docker); a failed check stops
  // the bake before it commits anything.
  const stopBake = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stopBake.signal]) : stopBake.signal;
  const check = deploy.planStack({ stack, file: config.stackTemplate, text: template, params: placeholder, provider, ...(o.stateDir ? { stateDir: o.stateDir } : {}) }).then(
    () => undefined,
    (e: unknown) => {
      stopBake.abort(e);
      throw e;
    },
  );
  events.emit({ kind: 'phase', phase: 'bake' });
  const baking = bake(config, target, { ...o, docker, signal });
  const [checked, bakedOrError] = await Promise.allSettled([check, baking]);
  if (checked.status === 'rejected') throw checked.reason;
  if (bakedOrError.status === 'rejected') throw bakedOrError.reason;
  const baked = bakedOrError.value;
  const params: Record<string, string> = {};
  if (baked.failed) return { stack, outcome: 'build-failed', images: baked.images, built: baked.built, parameters: params, reason: baked.failed, ms: Date.now() - t0 };
  for (const [k, parts] of Object.entries(config.parameters)) params[k] = resolveParam(parts, (name) => baked.images[name]!.artifact);

  const stackOpts = { stack, file: config.stackTemplate, text: template, params, provider, ...(o.stateDir ? { stateDir: o.stateDir } : {}), ...(o.concurrency ? { concurrency: o.concurrency } : {}) };
  if (o.dryRun) {
    events.emit({ kind: 'phase', phase: 'plan' });
    const images = Object.fromEntries(Object.entries(baked.images).map(([k, v]) => [k, v.imageId]));
    const p = await deploy.planStack({ ...stackOpts, document: o.document === true, images });
    const document = p.document && { ...p.document, up: { config: config.file, images: Object.fromEntries(Object.entries(baked.images).map(([k, { built: _b, ...v }]) => [k, v])) } };
    return { stack, outcome: 'planned', images: baked.images, built: baked.built, parameters: params, plan: p.plan, ...(document ? { document } : {}), ms: Date.now() - t0 };
  }

  events.emit({ kind: 'phase', phase: 'deploy' });
  const store = await openStore(o.stateDir);
  const prev = store.lastComplete(stack);
  const startedAt = new Date().toISOString();
  const r = await deploy.deployStack({
    ...stackOpts,
    command: 'up',
    events: { emit: (event) => events.emit({ kind: 'stack', event }) },
    images: Object.fromEntries(Object.entries(baked.images).map(([k, v]) => [k, v.imageId])),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.confirm ? { confirm: o.confirm } : {}),
  });
  return finishUp(store, r, {
    stack,
    target,
    startedAt,
    t0,
    prev,
    images: baked.images,
    built: baked.built,
    parameters: params,
    configFile: config.file,
    templateFile: config.stackTemplate,
    template,
  });
}

interface UpRun {
  stack: string;
  target: PipelineRecord['target'];
  startedAt: string;
  t0: number;
  prev: PipelineRecord | undefined;
  images: Record<string, ImageRecord>;
  built: string[];
  parameters: Record<string, string>;
  configFile: string;
  templateFile: string;
  template: string;
  /** The saved plan file deployed (`kiln up --plan PLAN`). */
  savedPlan?: PipelineRecord['plan'];
}

/** An up's result from its deploy's, recorded for `kiln history` unless nothing was deployed. */
function finishUp(store: PipelineStore, r: DeployResult, run: UpRun): UpResult {
  const ms = Date.now() - run.t0;
  const base = { stack: run.stack, images: run.images, built: run.built, parameters: run.parameters, plan: r.plan, deploy: r, ms };
  if (r.outcome === 'no-changes') return { ...base, outcome: 'up-to-date' };
  if (r.outcome === 'cancelled') return { ...base, outcome: 'cancelled' };
  const record = recordRun(store, {
    ...run,
    kind: 'up',
    deployment: r.deployment ?? null,
    outcome: r.outcome === 'complete' ? 'complete' : 'failed',
    ...(r.reason ? { reason: r.reason } : {}),
    parameters: r.parameters,
    plan: r.plan,
    ms,
  });
  return { ...base, outcome: r.outcome === 'complete' ? 'complete' : 'failed', record, ...(r.reason ? { reason: r.reason } : {}) };
}

/**
 * `kiln up --plan PLAN`: deploys a plan `kiln up --plan-only --out PLAN` saved, exactly its steps and
 * the images it baked (nothing is baked again), or refuses it as stale as `kiln deploy PLAN` does;
 * an image the plan names that is gone from the engine refuses it too. The run is recorded for
 * `kiln history` with the plan it deployed.
 */
export async function upPlan(o: UpPlanOptions): Promise<UpResult> {
  const t0 = Date.now();
  const doc = o.doc;
  if (!doc.up || doc.target === 'aws')
    throw new KilnError('PLAN_FILE', `${o.planFile}: not a plan of \`kiln up --plan-only --out\` for the local target; deploy it with: kiln deploy ${o.planFile}`, 'user', { exitCode: 2 });
  if (o.stack !== undefined && o.stack !== doc.stack) throw new KilnError('PLAN_FILE', `the plan is for stack ${doc.stack}, not ${o.stack}`, 'user', { exitCode: 2 });
  const stack = doc.stack;
  const events = o.events ?? nullEvents;
  const docker = dockerOf(o);
  const provider = await providerOf(o, docker);
  const gone = (await missingImages(doc.up.images, docker)).map((m) => `image ${m} no longer exists`);
  if (gone.length) throw new KilnError('PLAN_STALE', `the saved plan for stack ${stack} is stale, so nothing was changed: ${gone.join('; ')}. Plan again (kiln up --plan-only --out FILE)`, 'user');
  const images: Record<string, ImageRecord> = Object.fromEntries(Object.entries(doc.up.images).map(([k, v]) => [k, { ...v, built: false }]));
  const deploy = await import('../deploy/index.js');
  const { sha256 } = await import('../core/hash.js');
  events.emit({ kind: 'phase', phase: 'deploy' });
  const store = await openStore(o.stateDir);
  const prev = store.lastComplete(stack);
  const startedAt = new Date().toISOString();
  const r = await deploy.deployStack({
    stack,
    file: doc.template.file,
    saved: doc,
    provider,
    command: 'up',
    events: { emit: (event) => events.emit({ kind: 'stack', event }) },
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return finishUp(store, r, {
    stack,
    target: 'local',
    startedAt,
    t0,
    prev,
    images,
    built: [],
    parameters: {},
    configFile: doc.up.config,
    templateFile: doc.template.file,
    template: doc.template.text,
    savedPlan: { file: o.planFile, createdAt: doc.createdAt, sha256: sha256(o.planText) },
  });
}
