// The stack commands with `--target aws`: plan, deploy, destroy, status, events, outputs, drift
// through CloudFormation (src/aws/stack), shown with the views of the local target (the plan,
// the live progress, the outputs and drift tables). Region, credentials and endpoint as every AWS
// tool takes them (`--region`, AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_CLOUDFORMATION, …).
import { resolve } from 'node:path';
import type { CliIO } from '../io.js';
import { flagBool, flagList, flagString, type ParsedArgs } from '../args.js';
import { confirm, params, requireStack, requireTemplate } from '../views/common.js';
import { KilnError } from '../../core/errors.js';
import type { AwsDeployResult, AwsStackEnv } from '../../deploy/aws/engine.js';
import type { EventSink } from '../../core/events.js';
import type { EngineEvent } from '../../exec/events.js';
import type { StackOutput } from '../../deploy/aws/changeset.js';

type EngineEventSink = EventSink<EngineEvent>;

function capabilities(p: ParsedArgs): string[] {
  const caps = flagList(p, 'capabilities')
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const c of caps)
    if (!['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'].includes(c))
      throw new KilnError('USAGE', `--capabilities ${c}: expected CAPABILITY_IAM, CAPABILITY_NAMED_IAM or CAPABILITY_AUTO_EXPAND`, 'user', { exitCode: 2 });
  return caps;
}

async function environment(p: ParsedArgs, io: CliIO, secrets: string[] = [], planRegion?: string): Promise<AwsStackEnv & { settingsSecrets: () => string[] }> {
  const { awsSettings, maskSecrets } = await import('../../aws/settings.js');
  const { openCfn } = await import('../../aws/cfn.js');
  const { withRetry, retryReason } = await import('../../aws/ec2.js');
  // A saved plan names its region; --region, then the environment, otherwise.
  const region = flagString(p, 'region') ?? planRegion;
  const settings = awsSettings('cloudformation', { ...(region ? { region } : {}), env: io.env, from: 'command' });
  const mask = (s: string): string => maskSecrets(s, [...settings.secrets(), ...secrets]);
  const bucket = flagString(p, 's3-bucket');
  const s3 = bucket ? (await import('../../aws/s3.js')).openS3(awsSettings('s3', { region: settings.region, env: io.env, from: 'command' })) : undefined;
  return {
    cfn: withRetry(openCfn(settings), {
      onRetry: (op, attempt, ms, e) => io.err(`kiln: ${op} ${mask(retryReason(e))}; retrying in ${(ms / 1000).toFixed(1)}s (attempt ${attempt + 1})\n`),
    }),
    mask,
    settingsSecrets: () => settings.secrets(),
    ...(s3 ? { s3 } : {}),
  };
}

function renderOutputs(outputs: Record<string, StackOutput>, render: (o: Record<string, { value: string; description?: string; exportName?: string }>) => string): string {
  return Object.keys(outputs).length ? render(outputs) : '';
}

/**
 * Notes (`noted: true`) or forgets a stack in the state directory's list of AWS stacks, which `kiln ui`
 * shows. A state directory that cannot be written costs a warning, not the deploy's result.
 */
async function note(p: ParsedArgs, io: CliIO, stack: string, region: string, noted: boolean): Promise<void> {
  const [{ stateDir }, known] = await Promise.all([import('../../state/db.js'), import('../../aws/known-stacks.js')]);
  const dir = stateDir(flagString(p, 'state-dir'), io.env);
  try {
    if (noted) known.rememberAwsStack(dir, stack, region);
    else known.forgetAwsStack(dir, stack, region);
  } catch (e) {
    io.err(`kiln: could not note stack ${stack} in ${dir} (kiln ui lists AWS stacks from there): ${(e as Error).message}\n`);
  }
}

/** Runs a deploy (from a template or a saved plan) with the live display; prints its end. */
async function runDeploy(io: CliIO, stack: string, go: (events: EngineEventSink, signal: AbortSignal) => Promise<AwsDeployResult>, noteStack: () => Promise<void>): Promise<number> {
  const [{ ProgressView }, stackView] = await Promise.all([import('../views/progress.js'), import('../views/stack.js')]);
  const progress = new ProgressView(io);
  const abort = new AbortController();
  const real = io.stdin === process.stdin;
  const onSigint = (): void => {
    abort.abort(new Error('interrupted by the user'));
    process.once('SIGINT', () => process.exit(130));
  };
  if (real) process.once('SIGINT', onSigint);
  try {
    const r = await go(progress, abort.signal);
    progress.stop();
    // The stack exists in CloudFormation now (whatever became of it), unless nothing was executed.
    if (r.outcome !== 'cancelled' || r.finalStatus) await noteStack();
    switch (r.outcome) {
      case 'no-changes':
        io.out(`Stack ${stack}: no changes to deploy.\n`);
        io.out(renderOutputs(r.outputs, stackView.renderOutputs));
        return 0;
      case 'cancelled':
        io.err(
          !r.finalStatus
            ? 'kiln deploy: cancelled; the change set was deleted, nothing changed\n'
            : r.finalStatus.endsWith('_IN_PROGRESS')
              ? `kiln deploy: stopped following stack ${stack} (${r.finalStatus}); CloudFormation goes on\n`
              : `kiln deploy: cancelled; stack ${stack} ${r.finalStatus}\n`,
        );
        return r.finalStatus ? 130 : 1;
      case 'failed':
        io.err(`kiln deploy: stack ${stack} ${r.finalStatus}: ${r.reason ?? 'failed'}\n`);
        return 1;
      case 'complete':
        io.out(`Stack ${stack}: ${r.finalStatus}\n`);
        io.out(renderOutputs(r.outputs, stackView.renderOutputs));
        return 0;
    }
    return 1;
  } finally {
    progress.stop();
    if (real) process.removeListener('SIGINT', onSigint);
  }
}

/** `kiln deploy PLAN` for a plan made with --target aws: exactly its change set, or refused as stale. */
async function deploySaved(p: ParsedArgs, io: CliIO): Promise<number | undefined> {
  const { savedPlan } = await import('./saved-plan.js');
  const saved = await savedPlan(p, io);
  if (!saved) return undefined;
  if (saved.doc.target !== 'aws')
    throw new KilnError('USAGE', `deploy: ${p.positionals[0] ?? flagString(p, 'plan')} is a plan for the local target: deploy it without --target aws`, 'user', { exitCode: 2 });
  const { savedAwsPlan } = await import('../../deploy/aws/planfile.js');
  const plan = savedAwsPlan(saved.doc, saved.file);
  const stack = flagString(p, 'stack') ?? plan.stack;
  if (stack !== plan.stack) throw new KilnError('PLAN_FILE', `the plan is for stack ${plan.stack}, not ${stack}`, 'user', { exitCode: 2 });
  const engine = await import('../../deploy/aws/engine.js');
  const env = await environment(p, io, [], plan.region);
  const planView = await import('../views/plan.js');
  // The plan was reviewed when it was made: shown again once it is known to hold, not asked again.
  return runDeploy(
    io,
    stack,
    (events, signal) => engine.deploySavedAwsPlan({ ...env, events, signal }, plan, () => io.out(planView.renderPlan(plan.plan, { color: io.color, stack, isCreate: plan.isCreate }))),
    () => note(p, io, stack, env.cfn.region, true),
  );
}

export async function runAwsStack(name: string, p: ParsedArgs, io: CliIO): Promise<number> {
  if (name === 'deploy' && !flagBool(p, 'continue-rollback')) {
    const code = await deploySaved(p, io);
    if (code !== undefined) return code;
  }
  const stack = requireStack(p, name);
  const engine = await import('../../deploy/aws/engine.js');
  switch (name) {
    case 'plan':
    case 'deploy': {
      if (name === 'deploy' && flagBool(p, 'continue-rollback')) {
        const { ProgressView } = await import('../views/progress.js');
        const progress = new ProgressView(io);
        try {
          const r = await engine.continueRollback({ ...(await environment(p, io)), events: progress }, stack);
          progress.stop();
          if (r.outcome === 'failed') {
            io.err(`kiln deploy: stack ${stack} ${r.finalStatus}: ${r.reason ?? 'the rollback failed again'}\n`);
            return 1;
          }
          io.out(`Stack ${stack}: ${r.finalStatus} (deploy again to apply a template)\n`);
          return 0;
        } finally {
          progress.stop();
        }
      }
      const file = requireTemplate(p, name);
      const given = params(p);
      const { loadAwsTemplate } = await import('../../deploy/aws/template.js');
      const template = await loadAwsTemplate(resolve(io.cwd, file), file, given);
      const noEcho = Object.entries(given)
        .filter(([k]) => template.parameters[k]?.noEcho)
        .map(([, v]) => v);
      const env = await environment(p, io, noEcho);
      const planView = await import('../views/plan.js');
      const caps = capabilities(p);
      const bucket = flagString(p, 's3-bucket');
      const opts = { stack, template, params: given, capabilities: caps, ...(bucket ? { s3Bucket: bucket } : {}) };
      if (name === 'plan') {
        const out = flagString(p, 'out');
        const format = flagString(p, 'format') ?? (flagBool(p, 'json') ? 'json' : 'text');
        if (format !== 'text' && format !== 'json') throw new KilnError('USAGE', `plan: --format ${format}: with --target aws, expected text or json`, 'user', { exitCode: 2 });
        const r = await engine.planAwsStack(env, opts, { keep: out !== undefined });
        let saved = '';
        if (out !== undefined) {
          const { awsPlanDocument } = await import('../../deploy/aws/planfile.js');
          const doc = awsPlanDocument(r, { ...opts, region: env.cfn.region });
          const { writeFile } = await import('node:fs/promises');
          await writeFile(resolve(io.cwd, out), env.mask!(JSON.stringify(doc, null, 2)) + '\n');
          if (format === 'json') {
            io.out(env.mask!(JSON.stringify(doc, null, 2)) + '\n');
            return 0;
          }
          saved = r.changeSet
            ? `Plan saved to ${out}: change set ${r.changeSet.name} is kept in CloudFormation for review; deploy exactly it with: kiln deploy ${out}\n`
            : `Plan saved to ${out} (no changes: no change set was kept); kiln deploy ${out} checks that the stack is still as planned\n`;
        }
        if (format === 'json') io.out(env.mask!(planView.planJson(r.plan, { stack, target: 'aws', isCreate: r.isCreate })));
        else
          io.out(
            r.noChanges && !r.isCreate ? `Plan for stack ${stack}: no changes (${r.plan.steps.length} unchanged).\n` : planView.renderPlan(r.plan, { color: io.color, stack, isCreate: r.isCreate }),
          );
        io.out(saved);
        return 0;
      }
      const interactive = io.stdoutIsTTY && io.stdin !== undefined && (io.stdin as NodeJS.ReadStream).isTTY === true;
      return runDeploy(
        io,
        stack,
        (events, signal) =>
          engine.deployAwsStack(
            { ...env, events, signal },
            {
              ...opts,
              confirm: async (plan) => {
                io.out(planView.renderPlan(plan.plan, { color: io.color, stack, isCreate: plan.isCreate }));
                if (flagBool(p, 'yes') || !interactive) return true;
                return confirm(io, `Execute this change set on stack ${stack}?`);
              },
            },
          ),
        () => note(p, io, stack, env.cfn.region, true),
      );
    }
    case 'destroy': {
      const env = await environment(p, io);
      const interactive = io.stdoutIsTTY && io.stdin !== undefined && (io.stdin as NodeJS.ReadStream).isTTY === true;
      if (interactive && !flagBool(p, 'yes') && !(await confirm(io, `Delete stack ${stack} in ${env.cfn.region} and everything it made?`))) {
        io.err('kiln destroy: cancelled; nothing changed\n');
        return 1;
      }
      const { ProgressView } = await import('../views/progress.js');
      const progress = new ProgressView(io);
      try {
        const r = await engine.destroyAwsStack({ ...env, events: progress }, stack);
        progress.stop();
        if (r.outcome === 'absent' || r.outcome === 'complete') await note(p, io, stack, env.cfn.region, false);
        if (r.outcome === 'absent') {
          io.out(`Stack ${stack} does not exist in ${env.cfn.region}: nothing to delete.\n`);
          return 0;
        }
        if (r.outcome === 'failed') {
          io.err(`kiln destroy: stack ${stack} ${r.finalStatus}: ${r.reason ?? 'failed'}\n`);
          return 1;
        }
        io.out(`Stack ${stack}: DELETE_COMPLETE\n`);
        return 0;
      } finally {
        progress.stop();
      }
    }
    case 'status': {
      const env = await environment(p, io);
      const s = await engine.awsStackStatus(env, stack);
      if (!s) {
        io.err(`kiln status: stack ${stack} does not exist in ${env.cfn.region}\n`);
        return 1;
      }
      const { table } = await import('../views/stack.js');
      io.out(`Stack ${stack}: ${s.status}${s.reason ? ` (${s.reason})` : ''}\n`);
      io.out(table([['LOGICAL ID', 'TYPE', 'PHYSICAL ID', 'STATUS'], ...s.resources.map((r) => [r.logicalId, r.type, r.physicalId, r.status + (r.reason ? `  ${r.reason}` : '')])]));
      return 0;
    }
    case 'events': {
      const env = await environment(p, io);
      const { renderEvents } = await import('../views/stack.js');
      io.out(renderEvents(await engine.awsStackEvents(env, stack)));
      return 0;
    }
    case 'outputs': {
      const env = await environment(p, io);
      const o = await engine.awsStackOutputs(env, stack);
      if (!o) {
        io.err(`kiln outputs: stack ${stack} does not exist in ${env.cfn.region}\n`);
        return 1;
      }
      if (flagBool(p, 'json')) io.out(JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value])), null, 2) + '\n');
      else io.out(Object.keys(o).length ? (await import('../views/stack.js')).renderOutputs(o) : `Stack ${stack} has no outputs.\n`);
      return 0;
    }
    case 'drift': {
      const env = await environment(p, io);
      const { renderDrift } = await import('../views/stack.js');
      const r = await engine.awsStackDrift(env, stack);
      if (flagBool(p, 'json')) io.out(JSON.stringify(r, null, 2) + '\n');
      else io.out(renderDrift(r));
      return r.status === 'IN_SYNC' ? 0 : 1;
    }
  }
  throw new KilnError('TARGET', `kiln ${name} --target aws is not available`, 'user', { exitCode: 2 });
}
