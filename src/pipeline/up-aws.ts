// `kiln up --target aws`: the stack template is checked locally (syntax, types, parameters,
// capabilities) before anything is baked; every image is baked as an AMI through the build cache
// (an unchanged one is one DescribeImages call); `${images.NAME}` becomes the AMI id in the stack's
// region; the stack goes to CloudFormation through a change set (nothing changed: the change set is
// deleted, never executed). The run is recorded in the pipeline history like a local one.
import type { EventSink } from '../core/events.js';
import type { ImageRecord } from '../state/pipeline.js';
import type { PlanResult } from '../deploy/index.js';
import type { AwsDeployResult, AwsStackEnv } from '../deploy/aws/engine.js';
import { resolveParam } from './config.js';
import { prepareImage, recordRun } from './images.js';
import type { PipelineEvent, UpOptions, UpResult } from './types.js';

/** `kiln up` options; the AWS ones (capabilities, region, aws, cfn) are part of UpOptions. */
type UpAwsOptions = UpOptions;

const PLACEHOLDER_AMI = 'ami-00000000000000000';

/** The AMI of an amazon-ebs artifact in `region` (the build region or one of its copies). */
function amiIn(artifact: { id: string; state?: Record<string, unknown> } | undefined, region: string): string | undefined {
  const amis = (artifact?.state?.['amis'] ?? {}) as Record<string, string>;
  if (amis[region]) return amis[region];
  for (const part of artifact?.id.split(',') ?? []) {
    const [r, id] = part.split(':');
    if (r === region && id) return id;
  }
  return undefined;
}

export async function upAws(o: UpAwsOptions): Promise<UpResult> {
  const t0 = Date.now();
  const config = o.config;
  const stack = o.stack ?? config.stack;
  const events: EventSink<PipelineEvent> = o.events ?? { emit: () => undefined };
  const env = o.env ?? process.env;
  const { awsSettings, maskSecrets } = await import('../aws/settings.js');
  const settings = awsSettings('cloudformation', { ...(o.region ? { region: o.region } : {}), env, from: 'command' });
  const region = settings.region;
  const { readFileSync } = await import('node:fs');
  const template = readFileSync(config.stackTemplate, 'utf8');
  const { loadAwsTemplate, checkCapabilities, checkTemplateSize } = await import('../deploy/aws/template.js');
  const capabilities = o.capabilities ?? [];

  // 1. The stack template, checked before minutes of baking (placeholder image ids).
  const placeholder: Record<string, string> = {};
  for (const [k, parts] of Object.entries(config.parameters)) placeholder[k] = resolveParam(parts, () => PLACEHOLDER_AMI);
  const checked = await loadAwsTemplate(config.stackTemplate, config.stackTemplate, placeholder);
  checkCapabilities(checked.needs, capabilities);
  const s3Bucket = o.s3Bucket ?? config.s3Bucket;
  checkTemplateSize(checked, s3Bucket, region);

  // 2. The images, as AMIs, through the build cache.
  events.emit({ kind: 'phase', phase: 'bake' });
  const prepared = await Promise.all(config.images.map(async (img) => ({ img, ...(await prepareImage(config, img, 'aws', env)) })));
  const { runBuilds } = await import('../image/build.js');
  const images: Record<string, ImageRecord> = {};
  const built: string[] = [];
  const failures: string[] = [];
  await Promise.all(
    prepared.map(async ({ img, prepared: t, build }) => {
      const b0 = Date.now();
      const [r] = await runBuilds({
        template: t.templatePath,
        builds: t.builds,
        ...(o.stateDir ? { stateDir: o.stateDir } : {}),
        events: { emit: (event) => events.emit({ kind: 'image', image: img.name, event }) },
        ...(o.signal ? { signal: o.signal } : {}),
        labels: o.labels ?? {},
        mask: t.variables ? (s) => t.variables!.mask(s) : (s) => s,
        aws: { env, ...(o.aws ?? {}) },
      });
      if (!r || !r.ok) return void failures.push(`image ${img.name}: ${r?.error ?? 'build failed'}`);
      if (t.builds[0]?.type !== 'amazon-ebs')
        return void failures.push(`image ${img.name}: build ${build} is a ${t.builds[0]?.type} build; --target aws needs an amazon-ebs build (builds.aws in kiln.yaml)`);
      const ami = amiIn(r.artifacts[0], region);
      if (!ami) return void failures.push(`image ${img.name}: its AMI (${r.artifacts[0]?.id ?? 'none'}) is not in ${region}, where the stack goes: bake it there, or add ${region} to ami_regions`);
      const record: ImageRecord = { build, key: r.key ?? null, imageId: ami, artifact: ami, built: !r.cached };
      images[img.name] = record;
      if (!r.cached) built.push(img.name);
      events.emit({ kind: 'baked', image: img.name, record, ms: Date.now() - b0 });
    }),
  );
  if (failures.length) return { stack, outcome: 'build-failed', images, built: built.sort(), parameters: {}, reason: failures.join('\n'), ms: Date.now() - t0 };
  const params: Record<string, string> = {};
  for (const [k, parts] of Object.entries(config.parameters)) params[k] = resolveParam(parts, (name) => images[name]!.artifact);

  // 3. The stack, through a change set.
  const engine = await import('../deploy/aws/engine.js');
  const { openCfn } = await import('../aws/cfn.js');
  const { withRetry } = await import('../aws/ec2.js');
  const stackTemplate = await loadAwsTemplate(config.stackTemplate, config.stackTemplate, params);
  // What kiln keeps (history, the result, a saved plan) never holds a NoEcho value.
  const recorded = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, stackTemplate.parameters[k]?.noEcho ? '****' : v]));
  const noEcho = Object.entries(params)
    .filter(([k, v]) => stackTemplate.parameters[k]?.noEcho && v)
    .map(([, v]) => v);
  const s3 = s3Bucket ? (o.s3 ?? (await import('../aws/s3.js')).openS3(awsSettings('s3', { region, env, from: 'command' }))) : undefined;
  const stackEnv: AwsStackEnv = {
    cfn: withRetry(o.cfn ?? openCfn(settings), o.aws?.clock ? { clock: o.aws.clock } : {}),
    ...(o.aws?.clock ? { clock: o.aws.clock } : {}),
    events: { emit: (event) => events.emit({ kind: 'stack', event }) },
    mask: (s: string) => maskSecrets(s, [...settings.secrets(), ...noEcho]),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(s3 ? { s3 } : {}),
  };
  const runOpts = { stack, template: stackTemplate, params, capabilities, ...(s3Bucket ? { s3Bucket } : {}) };
  if (o.dryRun) {
    events.emit({ kind: 'phase', phase: 'plan' });
    // --plan-only --out: the change set is kept for `kiln deploy PLAN` (docs/plan-file.md, On AWS).
    const p = await engine.planAwsStack(stackEnv, runOpts, { keep: o.document === true });
    const document = o.document
      ? (await import('../deploy/aws/planfile.js')).awsPlanDocument(p, { ...runOpts, region, images: Object.fromEntries(Object.entries(images).map(([k, r]) => [k, r.artifact])) })
      : undefined;
    return { stack, outcome: 'planned', images, built: built.sort(), parameters: recorded, plan: p.plan, ...(document ? { document } : {}), ms: Date.now() - t0 };
  }
  events.emit({ kind: 'phase', phase: 'deploy' });
  const startedAt = new Date().toISOString();
  const confirm = o.confirm;
  const r: AwsDeployResult = await engine.deployAwsStack(stackEnv, { ...runOpts, ...(confirm ? { confirm: (p) => confirm({ plan: p.plan, isCreate: p.isCreate } as PlanResult) } : {}) });
  const ms = Date.now() - t0;
  const base = { stack, images, built: built.sort(), parameters: recorded, plan: r.plan, aws: r, ms };
  // The stack exists in CloudFormation (whatever became of it): `kiln ui` lists it from this note.
  if (r.outcome !== 'cancelled' || r.finalStatus) {
    const [{ stateDir }, { rememberAwsStack }] = await Promise.all([import('../state/db.js'), import('../aws/known-stacks.js')]);
    try {
      rememberAwsStack(stateDir(o.stateDir), stack, region);
    } catch {
      /* the run's record below says what matters; the ui then misses this stack */
    }
  }
  if (r.outcome === 'no-changes') return { ...base, outcome: 'up-to-date' };
  if (r.outcome === 'cancelled') return { ...base, outcome: 'cancelled' };
  const { PipelineStore } = await import('../state/pipeline.js');
  const store = PipelineStore.open(o.stateDir);
  const record = recordRun(store, {
    stack,
    kind: 'up',
    target: 'aws',
    deployment: null,
    startedAt,
    outcome: r.outcome === 'complete' ? 'complete' : 'failed',
    ...(r.reason ? { reason: r.reason } : {}),
    configFile: config.file,
    templateFile: config.stackTemplate,
    template,
    images,
    parameters: recorded,
    prev: store.lastComplete(stack),
    plan: r.plan,
    ms,
  });
  return { ...base, outcome: r.outcome === 'complete' ? 'complete' : 'failed', record, ...(r.reason ? { reason: r.reason } : {}) };
}
