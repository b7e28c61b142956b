// The stack commands with `--target aws`: plan, deploy, destroy, status, events, outputs, drift
// through CloudFormation (src/aws/stack), shown with the views of the local target (the plan,
// the live progress, the outputs and drift tables). Region, credentials and endpoint as every AWS
// tool takes them (`--region`, AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_CLOUDFORMATION, …).
import { resolve } from 'node:path';
import type { CliIO } from '../io.js';
import { flagBool, flagList, flagString, type ParsedArgs } from '../args.js';
import { confirm, params, requireStack, requireTemplate } from '../views/common.js';
import { KilnError } from '../../core/errors.js';
import type { AwsStackEnv } from '../../deploy/aws/engine.js';
import type { StackOutput } from '../../deploy/aws/changeset.js';

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

async function environment(p: ParsedArgs, io: CliIO, secrets: string[] = []): Promise<AwsStackEnv & { settingsSecrets: () => string[] }> {
  const { awsSettings, maskSecrets } = await import('../../aws/settings.js');
  const { openCfn } = await import('../../aws/cfn.js');
  const { withRetry } = await import('../../aws/ec2.js');
  const region = flagString(p, 'region');
  const settings = awsSettings('cloudformation', { ...(region ? { region } : {}), env: io.env });
  const mask = (s: string): string => maskSecrets(s, [...settings.secrets(), ...secrets]);
  return {
    cfn: withRetry(openCfn(settings), { onRetry: (op, attempt, ms) => io.err(`kiln: ${op} throttled; retrying in ${(ms / 1000).toFixed(1)}s (attempt ${attempt + 1})\n`) }),
    mask,
    settingsSecrets: () => settings.secrets(),
  };
}

function renderOutputs(outputs: Record<string, StackOutput>, render: (o: Record<string, { value: string; description?: string; exportName?: string }>) => string): string {
  return Object.keys(outputs).length ? render(outputs) : '';
}

export async function runAwsStack(name: string, p: ParsedArgs, io: CliIO): Promise<number> {
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
      if (name === 'plan') {
        const r = await engine.planAwsStack(env, { stack, template, params: given, capabilities: caps });
        if (flagBool(p, 'json')) io.out(env.mask!(planView.planJson(r.plan, { stack, target: 'aws', isCreate: r.isCreate })));
        else
          io.out(
            r.noChanges && !r.isCreate ? `Plan for stack ${stack}: no changes (${r.plan.steps.length} unchanged).\n` : planView.renderPlan(r.plan, { color: io.color, stack, isCreate: r.isCreate }),
          );
        return 0;
      }
      const [{ ProgressView }, stackView] = await Promise.all([import('../views/progress.js'), import('../views/stack.js')]);
      const progress = new ProgressView(io);
      const abort = new AbortController();
      const real = io.stdin === process.stdin;
      const onSigint = (): void => {
        abort.abort(new Error('interrupted by the user'));
        process.once('SIGINT', () => process.exit(130));
      };
      if (real) process.once('SIGINT', onSigint);
      const interactive = io.stdoutIsTTY && io.stdin !== undefined && (io.stdin as NodeJS.ReadStream).isTTY === true;
      try {
        const r = await engine.deployAwsStack(
          { ...env, events: progress, signal: abort.signal },
          {
            stack,
            template,
            params: given,
            capabilities: caps,
            confirm: async (plan) => {
              io.out(planView.renderPlan(plan.plan, { color: io.color, stack, isCreate: plan.isCreate }));
              if (flagBool(p, 'yes') || !interactive) return true;
              return confirm(io, `Execute this change set on stack ${stack}?`);
            },
          },
        );
        progress.stop();
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
    case 'destroy': {
      const env = await environment(p, io);
      const { ProgressView } = await import('../views/progress.js');
      const progress = new ProgressView(io);
      try {
        const r = await engine.destroyAwsStack({ ...env, events: progress }, stack);
        progress.stop();
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
