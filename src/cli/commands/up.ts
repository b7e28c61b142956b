// `kiln up [DIR] [--target local] [--stack NAME] [--dry-run] [--yes] [--state-dir D]`
//
// Bakes every image of DIR/kiln.yaml for the target (cached builds build nothing), wires the
// artifacts into the stack parameters, shows the plan, deploys, prints the outputs. A run where
// nothing changed says so in one line. Progress: the image engine's Packer-like lines (only for
// images that are actually built) and the stack progress view of `kiln deploy`.
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { flagBool, flagList, flagString, type FlagSpec, type ParsedArgs } from '../args.js';
import { HELP, OUT, STACK, STATE_DIR, YES, confirm, finish, parse, usage } from '../views/common.js';
import type { PipelineEvent, UpResult } from '../../pipeline/up.js';
import type { PlanResult } from '../../deploy/index.js';
import type { EventSink } from '../../core/events.js';
import type { LiveFeed } from '../../ui/feed.js';
import { KilnError } from '../../core/errors.js';

export const TARGET: FlagSpec = { names: ['target', 't'], kind: 'string', valueName: 'local|aws', description: 'where to build and deploy (default local)' };

const SPECS: FlagSpec[] = [
  TARGET,
  STACK,
  { names: ['dry-run', 'plan-only'], kind: 'bool', description: 'bake and show the plan, change nothing in the stack' },
  OUT,
  { names: ['plan'], kind: 'string', valueName: 'PLAN', description: 'deploy this saved plan of `kiln up --plan-only --out` (nothing is baked again)' },
  { names: ['capabilities'], kind: 'multi', valueName: 'CAP[,CAP]', description: 'aws: acknowledge CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND' },
  { names: ['region'], kind: 'string', valueName: 'REGION', description: 'aws: the stack region (default $AWS_REGION)' },
  { names: ['s3-bucket'], kind: 'string', valueName: 'BUCKET', description: 'aws: a bucket of yours for a stack template over 51,200 bytes' },
  YES,
  STATE_DIR,
  HELP,
];

/** `KILN_LABELS=k=v,k2=v2`: extra labels on every image and build container (tests, CI). */
export function extraLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (text ?? '').split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
  }
  return out;
}

export function parseTarget(text: string | undefined): 'local' | 'aws' {
  const t = text ?? 'local';
  if (t !== 'local' && t !== 'aws') throw new KilnError('USAGE', `--target ${t}: expected local or aws`, 'user', { exitCode: 2 });
  return t;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Renders pipeline events with the existing views: BuildRenderer (the `kiln build` lines) per
 * image, held back until the cache misses (a fully cached image prints nothing), and the stack
 * ProgressView of `kiln deploy`.
 */
export async function pipelineView(io: CliIO, feed?: LiveFeed): Promise<EventSink<PipelineEvent> & { stop(): void }> {
  const [{ BuildRenderer }, { ProgressView }] = await Promise.all([import('../views/build.js'), import('../views/progress.js')]);
  const progress = new ProgressView(io);
  const renderers = new Map<string, { r: InstanceType<typeof BuildRenderer>; held: PipelineEvent[] | undefined }>();
  const renderer = (image: string) => {
    let x = renderers.get(image);
    if (!x) {
      x = { r: new BuildRenderer({ machineReadable: false, color: io.color, timestamps: false, mask: (s) => s }, (s) => io.err(s)), held: [] };
      renderers.set(image, x);
    }
    return x;
  };
  return {
    emit(e) {
      switch (e.kind) {
        case 'image': {
          const x = renderer(e.image);
          const ev = e.event;
          if (ev.kind === 'all-done') return; // the pipeline prints its own summary
          if (x.held) {
            if (ev.kind === 'cache' && !ev.hit) {
              for (const h of x.held) if (h.kind === 'image') x.r.render(h.event);
              x.held = undefined;
            } else if (ev.kind === 'build-done' && !ev.ok) {
              for (const h of x.held) if (h.kind === 'image') x.r.render(h.event);
              x.held = undefined;
            } else {
              x.held.push(e);
              return;
            }
          }
          x.r.render(ev);
          return;
        }
        case 'baked':
          if (e.record.built)
            io.err(`==> image ${e.image}: built ${e.record.artifact === e.record.imageId ? e.record.artifact : `${e.record.imageId.slice(0, 19)} (${e.record.artifact})`} in ${secs(e.ms)}\n`);
          return;
        case 'stack':
          progress.emit(e.event);
          feed?.emit(e.event);
          return;
        case 'phase':
          return;
      }
    },
    stop: () => progress.stop(),
  };
}

/** The one-line summary of a run, and the outputs. */
export async function reportUp(io: CliIO, r: UpResult, command = 'up'): Promise<number> {
  const [stackView, planView] = await Promise.all([import('../views/stack.js'), import('../views/plan.js')]);
  const n = Object.keys(r.images).length;
  const built = r.built.length;
  const cached = n - built;
  const imgs = built ? `${plural(built, 'image')} built${cached ? `, ${cached} cached` : ''}` : `${plural(n, 'image')} cached`;
  switch (r.outcome) {
    case 'build-failed':
      io.err(`kiln ${command}: ${r.stack}: build failed; nothing deployed, what runs is unchanged\n${r.reason ?? ''}\n`);
      return 1;
    case 'planned':
      io.out(planView.renderPlan(r.plan!, { color: io.color, stack: r.stack }));
      io.out(`${r.stack}: dry run (${imgs}); nothing deployed\n`);
      return 0;
    case 'up-to-date':
      io.out(`${r.stack}: up to date (${imgs}, 0 changes) in ${secs(r.ms)}\n`);
      return 0;
    case 'cancelled':
      io.err(`kiln ${command}: cancelled; nothing changed\n`);
      return 1;
    case 'failed':
      io.err(`kiln ${command}: ${r.stack}: ${r.deploy?.finalStatus ?? r.aws?.finalStatus ?? 'failed'}: ${r.reason ?? 'failed'}\n`);
      return 1;
    case 'complete': {
      const steps = r.plan?.steps.filter((s) => s.kind !== 'noop') ?? [];
      const count = (k: string) => steps.filter((s) => s.kind === k).length;
      const parts = ['create', 'update', 'replace', 'delete']
        .filter((k) => count(k) > 0)
        .map((k) => `${count(k)} ${k === 'replace' ? 'replaced' : k === 'create' ? 'created' : k === 'update' ? 'updated' : 'deleted'}`);
      io.out(`${r.stack}: ${r.deploy?.finalStatus ?? r.aws?.finalStatus ?? 'deployed'} in ${secs(r.ms)} (${imgs}; ${parts.length ? parts.join(', ') : 'outputs only'})\n`);
      io.out(stackView.renderOutputs(r.deploy?.outputs ?? r.aws?.outputs ?? {}));
      return 0;
    }
  }
}

/** The plan confirmation of `kiln deploy`: shown when something changes; asked only on a terminal. */
export async function planConfirm(io: CliIO, stack: string, yes: boolean, feed?: LiveFeed): Promise<(plan: PlanResult) => Promise<boolean>> {
  const planView = await import('../views/plan.js');
  const interactive = io.stdoutIsTTY && io.stdin !== undefined && (io.stdin as NodeJS.ReadStream).isTTY === true;
  return async (plan) => {
    if (!plan.plan.changes && !plan.isCreate) return true;
    io.err(planView.renderPlan(plan.plan, { color: io.color, stack, isCreate: plan.isCreate }));
    const go = yes || !interactive || (await confirm(io, `Deploy these changes to stack ${stack}?`));
    if (go) feed?.plan(plan.plan, plan.isCreate);
    return go;
  };
}

/** `kiln up --plan PLAN`: the saved plan deployed as it is, recorded for `kiln history`. */
async function runSavedPlan(p: ParsedArgs, io: CliIO, planFile: string): Promise<number> {
  for (const f of ['dry-run', 'out'] as const)
    if (flagBool(p, f) || (f === 'out' && flagString(p, 'out') !== undefined)) throw new KilnError('USAGE', `up: --plan deploys a saved plan; --${f} makes one`, 'user', { exitCode: 2 });
  if (p.positionals.length) throw new KilnError('USAGE', 'up: --plan PLAN takes no DIR (the plan carries the template and the images)', 'user', { exitCode: 2 });
  const [{ readFile }, { resolve }, { parsePlanDocument }, { upPlan }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('../../deploy/planfile.js'),
    import('../../pipeline/up.js'),
  ]);
  const file = resolve(io.cwd, planFile);
  const text = await readFile(file, 'utf8').catch((e: unknown) => {
    throw new KilnError('USAGE', `up: cannot read plan ${planFile}: ${(e as Error).message}`, 'user', { exitCode: 2 });
  });
  const doc = parsePlanDocument(text, planFile);
  const dir = flagString(p, 'state-dir');
  const { feedFor } = await import('../../ui/feed.js');
  const stack = flagString(p, 'stack');
  return withUpView(io, feedFor(dir, doc.stack, 'up'), async (view, signal) => {
    const r = await upPlan({
      doc,
      planFile: file,
      planText: text,
      events: view,
      signal,
      labels: extraLabels(io.env.KILN_LABELS),
      env: io.env,
      ...(stack ? { stack } : {}),
      ...(dir ? { stateDir: dir } : {}),
    });
    return { outcome: r.outcome, report: () => reportUp(io, r) };
  });
}

/**
 * Runs an up with its progress view, its live feed for `kiln ui`, and Ctrl-C: the first finishes
 * what is in flight and rolls back, a second stops at once.
 */
async function withUpView(
  io: CliIO,
  feed: LiveFeed | undefined,
  run: (view: Awaited<ReturnType<typeof pipelineView>>, signal: AbortSignal) => Promise<{ outcome: string; report: () => Promise<number> }>,
): Promise<number> {
  let outcome: string | undefined;
  const view = await pipelineView(io, feed);
  const abort = new AbortController();
  const real = io.stdin === process.stdin;
  const onSigint = () => {
    io.err('\nkiln up: interrupted; finishing what is in flight, then rolling back (Ctrl-C again to stop at once)\n');
    abort.abort(new Error('interrupted by the user'));
    process.once('SIGINT', () => process.exit(130));
  };
  if (real) process.once('SIGINT', onSigint);
  try {
    const r = await run(view, abort.signal);
    outcome = r.outcome;
    view.stop();
    return await r.report();
  } finally {
    view.stop();
    feed?.close(outcome);
    if (real) process.removeListener('SIGINT', onSigint);
    finish(io);
  }
}

export const command: Command = {
  summary: 'bake every image, deploy the stack with them (kiln.yaml)',
  async run(argv, io) {
    const p = parse(argv, SPECS, 'up');
    if (flagBool(p, 'help')) {
      io.out(
        usage(
          'kiln up [DIR] [--target local|aws] [--stack NAME] [--dry-run|--plan-only [--out PLAN]] [--yes] [--capabilities CAP] [--region R]\n       kiln up --plan PLAN',
          'Reads DIR/kiln.yaml (DIR defaults to the current directory; see docs/kiln-yaml.md), bakes every\nimage for the target through the build cache, sets ${images.NAME} in the stack parameters to each\nimage, and deploys the stack: replacements are created first, health-gated, and the old copies\nremoved after; a failure rolls the stack back. Nothing changed: nothing is built or replaced.\n--plan-only --out PLAN bakes and saves the plan; `kiln up --plan PLAN` (or `kiln deploy PLAN`)\ndeploys exactly it with the images it baked, or refuses it when the stack changed since.\nWith --target aws: the images are baked as AMIs (amazon-ebs builds), and the stack goes to\nCloudFormation through a change set (deleted unexecuted when nothing changed).',
          SPECS,
        ),
      );
      return 0;
    }
    if (p.positionals.length > 1) throw new KilnError('USAGE', `up: unexpected argument ${p.positionals[1]}`, 'user', { exitCode: 2 });
    const planFile = flagString(p, 'plan');
    if (planFile !== undefined) return runSavedPlan(p, io, planFile);
    const target = parseTarget(flagString(p, 'target'));
    const [{ loadConfig }, { up }] = await Promise.all([import('../../pipeline/load.js'), import('../../pipeline/up.js')]);
    const config = await loadConfig(p.positionals[0] ?? '.', io.cwd);
    const stack = flagString(p, 'stack') ?? config.stack;
    const out = flagString(p, 'out');
    const dir = flagString(p, 'state-dir');
    const { feedFor } = await import('../../ui/feed.js');
    const feed = flagBool(p, 'dry-run') || out !== undefined ? undefined : feedFor(dir, stack, 'up');
    return withUpView(io, feed, async (view, signal) => {
      const r = await up({
        config,
        target,
        stack,
        dryRun: flagBool(p, 'dry-run') || out !== undefined,
        document: out !== undefined,
        events: view,
        signal,
        labels: extraLabels(io.env.KILN_LABELS),
        env: io.env,
        confirm: await planConfirm(io, stack, flagBool(p, 'yes'), feed),
        capabilities: flagList(p, 'capabilities')
          .flatMap((v) => v.split(','))
          .map((c) => c.trim())
          .filter(Boolean),
        ...(flagString(p, 'region') ? { region: flagString(p, 'region')! } : {}),
        ...(flagString(p, 's3-bucket') ? { s3Bucket: flagString(p, 's3-bucket')! } : {}),
        ...(dir ? { stateDir: dir } : {}),
      });
      const report = async () => {
        if (out !== undefined && r.document) {
          const { writeFile } = await import('node:fs/promises');
          const { resolve } = await import('node:path');
          await writeFile(resolve(io.cwd, out), JSON.stringify(r.document, null, 2) + '\n');
        }
        const code = await reportUp(io, r);
        if (out !== undefined && r.document) {
          const cs = r.document.aws?.changeSet;
          io.out(`Plan saved to ${out}${cs ? ` (change set ${cs.name} kept in CloudFormation for review)` : ''}; deploy exactly it with: kiln deploy ${out}\n`);
        }
        return code;
      };
      return { outcome: r.outcome, report };
    });
  },
};
