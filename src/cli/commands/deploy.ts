// `kiln deploy TEMPLATE --stack NAME [--param K=V]... [--yes] [--no-rollback] [--replace-drifted] [--json]`
// `kiln deploy PLAN` / `kiln deploy --plan PLAN`: runs a saved plan (`kiln plan --out`) exactly, or
// refuses it as stale.
//
// Shows the plan, asks on a terminal unless --yes, executes with live progress, prints the outputs.
// Without a terminal and without --yes it proceeds (as `aws cloudformation deploy` does: scripts and
// CI pipe its output and cannot answer). Exit 0 on success or no changes, 1 on failure (with the
// first failure's reason), 2 on usage errors. Ctrl-C stops starting new work and rolls back.
// `--json`: stdout carries only JSON lines (the plan, every event, then the result; see jsonlines.ts).
import { resolve } from 'node:path';
import { flagBool, flagString } from '../args.js';
import { PARAM, YES, confirm, params, requireStack, requireTemplate } from '../views/common.js';
import { stackCommand, stackTarget } from './stack-common.js';
import { tee } from '../../core/events.js';
import { savedPlan } from './saved-plan.js';

export const command = stackCommand({
  name: 'deploy',
  summary: 'create or update a stack',
  usage: 'kiln deploy TEMPLATE --stack NAME [--param K=V]... [--yes] [--no-rollback] [--replace-drifted] [--json]\n       kiln deploy PLAN [--no-rollback] [--json]',
  about:
    'Creates or updates a stack: independent resources in parallel, dependents after their\ndependencies, replacements created first and the old copies deleted in a cleanup phase. On any\nfailure the stack rolls back to the previous deployment (a first create is deleted).\nParameters not given keep the value of the last deploy; NoEcho ones must be given again.\nOn a terminal the plan is shown and confirmed first (--yes skips the question); piped, it proceeds.\nNothing to change (same template, same parameters) is not an error: it says so and exits 0.\nA saved plan (`kiln plan … --out PLAN`) runs exactly its steps without asking, or is refused when\nthe stack changed since it was made (another deploy, a rollback, a resource changed by hand).',
  flags: [
    PARAM,
    { names: ['plan'], kind: 'string', valueName: 'PLAN', description: 'deploy this saved plan (as the positional PLAN)' },
    YES,
    { names: ['no-rollback'], kind: 'bool', description: 'on failure keep what was made (no automatic rollback)' },
    { names: ['replace-drifted'], kind: 'bool', description: 'replace the resources `kiln drift` finds drifted' },
    { names: ['concurrency'], kind: 'string', valueName: 'N', description: 'provider calls in flight at most (default 10)' },
    { names: ['json'], kind: 'bool', description: 'print JSON lines on stdout: the plan, every event, then the result' },
  ],
  exitWhenDone: true,
  async run(p, io) {
    const saved = await savedPlan(p, io);
    // A plan made with --target aws names a CloudFormation change set: the AWS target runs it.
    if (saved?.doc.target === 'aws') return (await import('./aws-stack.js')).runAwsStack('deploy', p, io);
    const stack = saved ? (flagString(p, 'stack') ?? saved.doc.stack) : requireStack(p, 'deploy');
    const file = saved ? saved.file : resolve(io.cwd, requireTemplate(p, 'deploy'));
    const conc = flagString(p, 'concurrency');
    const concurrency = conc === undefined ? undefined : Number(conc);
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      io.err(`kiln deploy: --concurrency ${conc}: expected a positive integer\n`);
      return 2;
    }
    const [{ deployStack }, planView, { ProgressView }, stackView, { JsonLinesView }, { feedFor }] = await Promise.all([
      import('../../deploy/index.js'),
      import('../views/plan.js'),
      import('../views/progress.js'),
      import('../views/stack.js'),
      import('../views/jsonlines.js'),
      import('../../ui/feed.js'),
    ]);
    const yes = flagBool(p, 'yes');
    const interactive = io.stdoutIsTTY && io.stdin !== undefined && (io.stdin as NodeJS.ReadStream).isTTY === true;
    const json = flagBool(p, 'json') ? new JsonLinesView(io) : undefined;
    const progress = json ?? new ProgressView(io);
    const stop = () => (progress instanceof ProgressView ? progress.stop() : undefined);
    // `kiln ui`, when it runs on this state directory, shows the deploy live (src/ui/feed.ts).
    const feed = feedFor(flagString(p, 'state-dir'), stack, 'deploy');
    let outcome: string | undefined;
    const abort = new AbortController();
    const onSigint = () => {
      io.err('\nkiln deploy: interrupted; finishing what is in flight, then rolling back (Ctrl-C again to stop at once)\n');
      abort.abort(new Error('interrupted by the user'));
      process.once('SIGINT', () => process.exit(130));
    };
    const real = io.stdin === process.stdin;
    if (real) process.once('SIGINT', onSigint);
    try {
      const r = await deployStack({
        stack,
        file,
        params: params(p),
        ...(saved ? { saved: saved.doc } : {}),
        ...(await stackTarget(p, io)),
        events: tee(progress, feed),
        rollback: !flagBool(p, 'no-rollback'),
        replaceDrifted: flagBool(p, 'replace-drifted'),
        signal: abort.signal,
        ...(concurrency ? { concurrency } : {}),
        confirm: async (plan) => {
          if (!plan.plan.changes && !plan.isCreate) return true;
          if (json) json.line({ kind: 'plan', stack, isCreate: plan.isCreate, ...(JSON.parse(planView.planJson(plan.plan)) as object) });
          else io.out(planView.renderPlan(plan.plan, { color: io.color, stack, isCreate: plan.isCreate }));
          const go = yes || !interactive || saved !== undefined || (await confirm(io, `Deploy these changes to stack ${stack}?`));
          if (go) feed.plan(plan.plan, plan.isCreate);
          return go;
        },
      });
      outcome = r.outcome;
      stop();
      if (json) {
        json.line({ kind: 'result', stack, outcome: r.outcome, ...(r.finalStatus ? { status: r.finalStatus } : {}), ...(r.reason ? { reason: r.reason } : {}), outputs: r.outputs });
        return r.outcome === 'failed' || r.outcome === 'cancelled' ? 1 : 0;
      }
      if (r.outcome === 'no-changes') {
        io.out(`Stack ${stack}: no changes to deploy.\n`);
        io.out(stackView.renderOutputs(r.outputs));
        return 0;
      }
      if (r.outcome === 'cancelled') {
        io.err('kiln deploy: cancelled; nothing changed\n');
        return 1;
      }
      if (r.outcome === 'failed') {
        io.err(`kiln deploy: stack ${stack} ${r.finalStatus}: ${r.reason ?? 'failed'}\n`);
        return 1;
      }
      io.out(`Stack ${stack}: ${r.finalStatus}\n`);
      io.out(stackView.renderOutputs(r.outputs));
      return 0;
    } finally {
      stop();
      feed.close(outcome);
      if (real) process.removeListener('SIGINT', onSigint);
    }
  },
});
