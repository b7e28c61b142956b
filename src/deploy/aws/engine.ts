// The AWS stack target: kiln hands the template to CloudFormation and adds what it lacks — local
// validation before any call, the change set shown as kiln's plan, CloudFormation's events in the
// same live display as a local deploy, the first failure's reason, and plain answers for the
// states that stop a deploy (ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED, an operation in progress).
// Everything AWS goes through the `CfnApi` it is given; nothing here prints.
import type { Change, Stack, StackResource, Parameter } from '@aws-sdk/client-cloudformation';
import { systemClock, type Clock } from '../../core/clock.js';
import { KilnError, errorMessage } from '../../core/errors.js';
import type { EventSink } from '../../core/events.js';
import type { EngineEvent } from '../../exec/events.js';
import type { Plan } from '../../stack/plan.js';
import type { StackEvent } from '../../state/store.js';
import type { DriftReport, ResourceDrift } from '../index.js';
import { replaceSecrets } from '../../core/mask.js';
import type { Json } from '../../stack/model.js';
import { awsErrorCode, describeAwsError } from '../../aws/ec2.js';
import type { CfnApi, CfnInput, CfnOp, CfnOutput } from '../../aws/cfn.js';
import { templateUrl, type S3Api } from '../../aws/s3.js';
import { hashValue, sha256 } from '../../core/hash.js';
import { stepChanges, type StateBasis } from '../planfile.js';
import { changeSetToPlan, firstFailure, isFailedOutcome, isSettled, toOutputs, toStackEvent, type StackOutput } from './changeset.js';
import { INLINE_TEMPLATE_BYTES, checkCapabilities, checkTemplateSize, type AwsTemplate } from './template.js';

export interface AwsStackEnv {
  cfn: CfnApi;
  clock?: Clock;
  events?: EventSink<EngineEvent>;
  signal?: AbortSignal;
  /** Masks NoEcho values and credentials in everything that leaves the engine. */
  mask?: (s: string) => string;
  /** How often events and change sets are polled (default 1 s). */
  pollMs?: number;
  /** Give up following an operation after this long (default 3 h). */
  timeoutMs?: number;
  /** Where a template over 51,200 bytes is put for CloudFormation to read (with `s3Bucket`). */
  s3?: S3Api;
}

export interface AwsPlanOptions {
  stack: string;
  template: AwsTemplate;
  params: Record<string, string>;
  capabilities: string[];
  /** A bucket of the user's for a template CloudFormation does not take inline (`--s3-bucket`). */
  s3Bucket?: string;
}

export interface AwsPlan {
  stack: string;
  plan: Plan;
  isCreate: boolean;
  /** The change set (deleted again by `plan`, kept by `plan --out`; executed by `deploy`). */
  changeSet?: { id: string; stackId: string; name: string };
  /** CloudFormation found nothing to change. */
  noChanges: boolean;
  parameters: Record<string, string>;
  /** The stack status when planned (absent: no stack yet). */
  status?: string;
  /** The stack as the change set was made against (kept plans only: their staleness check). */
  basis?: StateBasis;
  /** Where CloudFormation read the template from, when it was too large to send inline. */
  templateUrl?: string;
}

type AwsOutcome = 'complete' | 'failed' | 'no-changes' | 'cancelled';

export interface AwsDeployResult extends AwsPlan {
  outcome: AwsOutcome;
  finalStatus?: string;
  reason?: string;
  outputs: Record<string, StackOutput>;
}

const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

/** The values of NoEcho parameters given for this operation: masked like credentials. */
function noEchoValues(o: AwsPlanOptions): string[] {
  return Object.entries(o.params)
    .filter(([k, v]) => o.template.parameters[k]?.noEcho && v.length > 0)
    .map(([, v]) => v);
}

class Engine {
  readonly clock: Clock;
  readonly mask: (s: string) => string;
  readonly pollMs: number;
  constructor(
    readonly env: AwsStackEnv,
    secrets: readonly string[] = [],
  ) {
    this.clock = env.clock ?? systemClock;
    const outer = env.mask ?? ((s: string) => s);
    const own = secrets.map((value) => ({ value })).sort((a, b) => b.value.length - a.value.length);
    this.mask = (s) => outer(replaceSecrets(s, own, () => '<sensitive>'));
    this.pollMs = env.pollMs ?? 1000;
  }

  async call<K extends CfnOp>(op: K, input: CfnInput<K>): Promise<CfnOutput<K>> {
    try {
      return await this.env.cfn.call(op, input);
    } catch (e) {
      throw Object.assign(new KilnError('AWS_API', this.mask(describeAwsError(op, e, 'CloudFormation')), 'environment', { cause: e }), { awsCode: awsErrorCode(e) });
    }
  }

  notice(message: string): void {
    this.env.events?.emit({ kind: 'notice', message: this.mask(message) });
  }

  async describe(stack: string): Promise<Stack | undefined> {
    try {
      const r = await this.env.cfn.call('DescribeStacks', { StackName: stack });
      const s = r.Stacks?.[0];
      return s && s.StackStatus !== 'DELETE_COMPLETE' ? s : undefined;
    } catch (e) {
      if (awsErrorCode(e) === 'ValidationError' && /does not exist/.test(errorMessage(e))) return undefined;
      throw new KilnError('AWS_API', this.mask(`DescribeStacks: ${errorMessage(e)}`), 'environment', { cause: e });
    }
  }

  async resources(stack: string): Promise<StackResource[]> {
    return (await this.call('DescribeStackResources', { StackName: stack })).StackResources ?? [];
  }

  /** Every event of the stack newer than `since` that is not in `seen`, oldest first. */
  async newEvents(stackId: string, since: number, seen: Set<string>): Promise<StackEvent[]> {
    const fresh: StackEvent[] = [];
    let token: string | undefined;
    page: for (;;) {
      const r = await this.call('DescribeStackEvents', { StackName: stackId, ...(token ? { NextToken: token } : {}) });
      for (const e of r.StackEvents ?? []) {
        const t = e.Timestamp instanceof Date ? e.Timestamp.getTime() : Date.parse(String(e.Timestamp ?? 0));
        const key = e.EventId ?? `${e.LogicalResourceId}|${e.ResourceStatus}|${t}`;
        if (t < since || seen.has(key)) break page;
        seen.add(key);
        fresh.push(toStackEvent(e, 0, this.mask));
      }
      token = r.NextToken;
      if (!token) break;
    }
    return fresh.reverse();
  }

  /**
   * Follows a stack operation: polls its events, hands each to the live display, until the stack
   * settles. `onAbort` decides what Ctrl-C does (cancel an update, or stop following).
   */
  async follow(stack: string, stackId: string, since: number, onAbort?: () => Promise<'follow' | 'stop'>): Promise<{ status: string; events: StackEvent[]; stopped?: boolean }> {
    const seen = new Set<string>();
    const all: StackEvent[] = [];
    const deadline = this.clock.now() + (this.env.timeoutMs ?? 3 * 3600_000);
    let aborted = false;
    let quiet = 0;
    for (;;) {
      const fresh = await this.newEvents(stackId, since, seen);
      for (const ev of fresh) {
        all.push(ev);
        this.env.events?.emit({ kind: 'stack-event', event: { ...ev, id: all.length } });
      }
      const last = [...all].reverse().find((e) => e.type === 'AWS::CloudFormation::Stack' && e.logicalId === stack && (e.status as string) !== 'REVIEW_IN_PROGRESS');
      if (last && isSettled(last.status)) return { status: last.status, events: all };
      // An emulator (or an eventual-consistency gap) may not report the stack's own final event:
      // after every 5 quiet polls, ask for the stack's status too.
      quiet = fresh.length ? 0 : quiet + 1;
      if (quiet > 0 && quiet % 5 === 0) {
        const s = await this.describe(stackId);
        if (!s) return { status: 'DELETE_COMPLETE', events: all };
        if (s.StackStatus && isSettled(s.StackStatus) && s.StackStatus !== 'REVIEW_IN_PROGRESS' && (!last || s.StackStatus !== last.status)) return { status: s.StackStatus, events: all };
      }
      if (this.clock.now() > deadline)
        throw new KilnError(
          'AWS_WAIT_TIMEOUT',
          `timed out following stack ${stack}: still ${last?.status ?? 'in progress'}; CloudFormation goes on (see kiln events --target aws --stack ${stack})`,
          'environment',
        );
      try {
        await this.clock.sleep(this.pollMs, aborted ? undefined : this.env.signal);
      } catch {
        aborted = true;
        const next = onAbort ? await onAbort() : 'stop';
        if (next === 'stop') return { status: last?.status ?? 'UNKNOWN', events: all, stopped: true };
      }
    }
  }

  parameters(o: AwsPlanOptions, existing: Stack | undefined): Parameter[] {
    const had = new Set((existing?.Parameters ?? []).map((p) => p.ParameterKey));
    const out: Parameter[] = [];
    const missing: string[] = [];
    for (const [name, decl] of Object.entries(o.template.parameters)) {
      if (name in o.params) out.push({ ParameterKey: name, ParameterValue: o.params[name] });
      else if (had.has(name)) out.push({ ParameterKey: name, UsePreviousValue: true });
      else if (!decl.hasDefault) missing.push(name);
    }
    if (missing.length)
      throw new KilnError(
        'PARAMETER',
        `parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ha${missing.length > 1 ? 've' : 's'} no default and no previous value: give --param ${missing[0]}=…`,
        'user',
      );
    return out;
  }

  /** Refuses the states CloudFormation cannot deploy from, with what to do instead. */
  checkDeployable(stack: string, s: Stack | undefined): void {
    const status = s?.StackStatus ?? '';
    if (!s || status === 'REVIEW_IN_PROGRESS') return;
    if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED')
      throw new KilnError(
        'STACK_STATE',
        `stack ${stack} is ${status}: its first create failed${s.StackStatusReason ? ` (${this.mask(s.StackStatusReason)})` : ''}, and CloudFormation cannot update it. Delete it (kiln destroy --target aws --stack ${stack}) and deploy again`,
        'user',
      );
    if (status === 'UPDATE_ROLLBACK_FAILED')
      throw new KilnError(
        'STACK_STATE',
        `stack ${stack} is UPDATE_ROLLBACK_FAILED: a rollback could not finish${s.StackStatusReason ? ` (${this.mask(s.StackStatusReason)})` : ''}. Fix the cause, then run kiln deploy --target aws --stack ${stack} --continue-rollback, and deploy again`,
        'user',
      );
    if (status.endsWith('_IN_PROGRESS'))
      throw new KilnError('STACK_STATE', `stack ${stack} is ${status}: another operation is running; wait for it (kiln events --target aws --stack ${stack})`, 'user');
  }

  async plan(o: AwsPlanOptions): Promise<AwsPlan> {
    checkCapabilities(o.template.needs, o.capabilities);
    checkTemplateSize(o.template, o.s3Bucket, this.env.cfn.region);
    const existing = await this.describe(o.stack);
    this.checkDeployable(o.stack, existing);
    const isCreate = !existing || existing.StackStatus === 'REVIEW_IN_PROGRESS';
    const Parameters = this.parameters(o, existing);
    const given = Object.fromEntries(
      Parameters.filter((p) => p.ParameterValue !== undefined).map((p) => [p.ParameterKey!, o.template.parameters[p.ParameterKey!]?.noEcho ? '****' : p.ParameterValue!]),
    );
    const status = existing?.StackStatus ? { status: existing.StackStatus } : {};
    const source = await this.templateSource(o);
    const url = 'TemplateURL' in source ? { templateUrl: source.TemplateURL } : {};
    const name = `kiln-${new Date(this.clock.now())
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}-${Math.floor(Math.random() * 1e6)}`;
    const unchanged = async (): Promise<AwsPlan> => ({
      stack: o.stack,
      plan: changeSetToPlan([], isCreate ? [] : await this.resources(o.stack)),
      isCreate,
      noChanges: true,
      parameters: given,
      ...status,
      ...url,
    });
    let created: CfnOutput<'CreateChangeSet'>;
    try {
      created = await this.env.cfn.call('CreateChangeSet', {
        StackName: o.stack,
        ChangeSetName: name,
        ChangeSetType: isCreate ? 'CREATE' : 'UPDATE',
        ...source,
        Parameters,
        ...(o.capabilities.length ? { Capabilities: o.capabilities as never } : {}),
        Description: 'kiln',
      });
    } catch (e) {
      // The emulator refuses an unchanged update at once; AWS makes a FAILED change set (below).
      if (NO_CHANGES.test(errorMessage(e))) return unchanged();
      throw new KilnError('AWS_API', this.mask(`CreateChangeSet: ${awsErrorCode(e) ? `${awsErrorCode(e)}: ` : ''}${errorMessage(e)}`), 'environment', { cause: e });
    }
    const changeSet = { id: created.Id ?? name, stackId: created.StackId ?? o.stack, name };
    const changes = await this.changes(changeSet, async (d) => {
      await this.discard(changeSet, isCreate);
      if (NO_CHANGES.test(d.StatusReason ?? '')) return 'no-changes';
      throw new KilnError('CHANGE_SET_FAILED', this.mask(`CloudFormation refused the change set: ${d.StatusReason ?? 'no reason given'}`), 'user');
    });
    if (changes === 'no-changes') return unchanged();
    const plan = changeSetToPlan(changes, isCreate ? [] : await this.resources(o.stack));
    return { stack: o.stack, plan, isCreate, changeSet, noChanges: !plan.changes, parameters: given, ...status, ...url };
  }

  /**
   * The changes of a change set, once CloudFormation has worked them out (every page). A FAILED
   * change set goes to `failed`, which throws or says "no changes".
   */
  async changes(cs: { id: string; stackId: string; name: string }, failed: (d: CfnOutput<'DescribeChangeSet'>) => Promise<'no-changes'>): Promise<Change[] | 'no-changes'> {
    const changes: Change[] = [];
    let token: string | undefined;
    const deadline = this.clock.now() + (this.env.timeoutMs ?? 3 * 3600_000);
    for (;;) {
      const d = await this.call('DescribeChangeSet', { ChangeSetName: cs.id, StackName: cs.stackId, ...(token ? { NextToken: token } : {}) });
      if (d.Status === 'FAILED') return failed(d);
      if (d.Status !== 'CREATE_COMPLETE') {
        if (this.clock.now() > deadline) throw new KilnError('AWS_WAIT_TIMEOUT', `timed out waiting for change set ${cs.name} (still ${d.Status})`, 'environment');
        await this.clock.sleep(this.pollMs, this.env.signal);
        continue;
      }
      changes.push(...(d.Changes ?? []));
      token = d.NextToken;
      if (!token) return changes;
    }
  }

  /** Where CloudFormation reads the template: inline, or from the user's bucket when it is too large. */
  async templateSource(o: AwsPlanOptions): Promise<{ TemplateBody: string } | { TemplateURL: string }> {
    if (o.template.bytes <= INLINE_TEMPLATE_BYTES || !o.s3Bucket) return { TemplateBody: o.template.body };
    const s3 = this.env.s3;
    if (!s3) throw new KilnError('INTERNAL', 'a template that goes through S3 needs an S3 client', 'internal');
    // Named by content: the same template is the same object, however often it is planned.
    const key = `kiln/${o.stack}/${sha256(o.template.body).slice(0, 32)}${/\.ya?ml$/i.test(o.template.file) ? '.yaml' : '.json'}`;
    try {
      await s3.putObject(o.s3Bucket, key, o.template.body, this.env.signal);
    } catch (e) {
      const code = awsErrorCode(e);
      throw new KilnError('AWS_API', this.mask(`PutObject s3://${o.s3Bucket}/${key}: ${code ? `${code}: ` : ''}${errorMessage(e).split('\n')[0]}`), 'environment', { cause: e });
    }
    this.notice(`the template is ${o.template.bytes} bytes (CloudFormation takes ${INLINE_TEMPLATE_BYTES} inline): CloudFormation reads it from s3://${o.s3Bucket}/${key}`);
    return { TemplateURL: templateUrl(s3.region, o.s3Bucket, key) };
  }

  /**
   * The stack as CloudFormation has it now, for a saved plan's staleness check: its id and status,
   * its newest event (any operation adds one) and its resources. The revision hashes all of it.
   */
  async basis(stack: string): Promise<StateBasis> {
    const s = await this.describe(stack);
    let lastDeployment: StateBasis['lastDeployment'] = null;
    let resources: StateBasis['resources'] = [];
    if (s) {
      const e = (await this.call('DescribeStackEvents', { StackName: s.StackId ?? stack })).StackEvents?.[0];
      if (e) {
        const at = e.Timestamp instanceof Date ? e.Timestamp.toISOString() : String(e.Timestamp ?? '');
        lastDeployment = { id: e.EventId ?? `${e.LogicalResourceId}|${e.ResourceStatus}|${at}`, kind: e.LogicalResourceId ?? '', status: e.ResourceStatus ?? '' };
      }
      if (s.StackStatus !== 'REVIEW_IN_PROGRESS')
        resources = (await this.resources(s.StackId ?? stack)).map((r) => ({ logicalId: r.LogicalResourceId ?? '', physicalId: r.PhysicalResourceId ?? '', status: 'live' as const }));
    }
    const basis = { stackId: s?.StackId ?? null, status: s?.StackStatus ?? null, lastDeployment, resources };
    const updated = s?.LastUpdatedTime instanceof Date ? s.LastUpdatedTime.toISOString() : null;
    return { ...basis, revision: hashValue({ ...basis, updated }) };
  }

  /** Deletes a change set kiln made (and the empty REVIEW_IN_PROGRESS stack a CREATE one left). */
  async discard(cs: { id: string; stackId: string }, isCreate: boolean): Promise<void> {
    await this.call('DeleteChangeSet', { ChangeSetName: cs.id, StackName: cs.stackId }).catch(() => undefined);
    if (isCreate) {
      const s = await this.describe(cs.stackId);
      if (s?.StackStatus === 'REVIEW_IN_PROGRESS') await this.call('DeleteStack', { StackName: cs.stackId }).catch(() => undefined);
    }
  }

  async outputs(stack: string): Promise<Record<string, StackOutput>> {
    return toOutputs((await this.describe(stack))?.Outputs, this.mask);
  }
}

/** The change set CloudFormation would run, as kiln's plan; nothing is left behind. */
/**
 * The change set CloudFormation would run, as kiln's plan. Without `keep` nothing is left behind;
 * with `keep` (`kiln plan --out`) the change set stays in CloudFormation for review and for `kiln
 * deploy PLAN`, and the plan carries the stack as it was (its basis).
 */
export async function planAwsStack(env: AwsStackEnv, o: AwsPlanOptions, opts: { keep?: boolean } = {}): Promise<AwsPlan> {
  const e = new Engine(env, noEchoValues(o));
  const p = await e.plan(o);
  // A change set with nothing in it is not kept: a saved plan of "no changes" names none.
  if (opts.keep && !p.noChanges) return { ...p, basis: await e.basis(o.stack) };
  if (p.changeSet) await e.discard(p.changeSet, p.isCreate);
  const { changeSet: _cs, ...rest } = p;
  return opts.keep ? { ...rest, basis: await e.basis(o.stack) } : rest;
}

export async function deployAwsStack(env: AwsStackEnv, o: AwsPlanOptions & { confirm?: (p: AwsPlan) => Promise<boolean> }): Promise<AwsDeployResult> {
  const e = new Engine(env, noEchoValues(o));
  const p = await e.plan(o);
  if (p.noChanges || !p.changeSet) {
    if (p.changeSet) await e.discard(p.changeSet, p.isCreate);
    return { ...p, outcome: 'no-changes', outputs: await e.outputs(o.stack) };
  }
  if (o.confirm && !(await o.confirm(p))) {
    await e.discard(p.changeSet, p.isCreate);
    return { ...p, outcome: 'cancelled', outputs: {} };
  }
  return execute(e, p, { discardOnRefusal: true });
}

/** What a saved plan (`kiln plan --target aws --out`) names in CloudFormation. */
export interface SavedAwsPlan {
  stack: string;
  region: string;
  /** The kept change set; null when CloudFormation found nothing to change. */
  changeSet: { id: string; stackId: string; name: string } | null;
  isCreate: boolean;
  /** The plan's steps, as shown when it was made. */
  plan: Plan;
  basis: StateBasis;
  parameters: Record<string, string>;
}

/** What differs between the stack a saved plan was made against and the stack now, in words. */
function awsBasisChanges(stack: string, then: StateBasis, now: StateBasis): string[] {
  if (then.revision === now.revision) return [];
  if (!now.stackId) return [`stack ${stack} no longer exists`];
  if (then.stackId && then.stackId !== now.stackId) return [`stack ${stack} was deleted and made again since the plan was made`];
  const out: string[] = [];
  const last = now.lastDeployment;
  if (last && last.id !== then.lastDeployment?.id) out.push(`CloudFormation worked on stack ${stack} after the plan was made (its newest event: ${last.kind} ${last.status})`);
  else if (then.status !== now.status) out.push(`the stack went from ${then.status ?? 'not existing'} to ${now.status ?? 'not existing'}`);
  else out.push(`the stack's resources changed since the plan was made`);
  return out;
}

/**
 * `kiln deploy PLAN` on AWS: executes exactly the change set the plan kept, or refuses it as stale —
 * changing nothing — when the change set is gone or no longer executable, its changes are not the
 * plan's steps, or the stack had an operation since the plan was made.
 */
export async function deploySavedAwsPlan(env: AwsStackEnv, saved: SavedAwsPlan, onReady?: () => void): Promise<AwsDeployResult> {
  const e = new Engine(env);
  if (saved.region !== env.cfn.region)
    throw new KilnError('PLAN_FILE', `the plan was made for stack ${saved.stack} in ${saved.region}; this run talks to ${env.cfn.region} (--region): deploy it there, or plan again`, 'user', {
      exitCode: 2,
    });
  const why: string[] = [];
  const cs = saved.changeSet;
  if (cs) {
    try {
      const d = await e.call('DescribeChangeSet', { ChangeSetName: cs.id, StackName: cs.stackId });
      if (d.ExecutionStatus !== 'AVAILABLE' || d.Status !== 'CREATE_COMPLETE')
        why.push(`change set ${cs.name} is ${d.ExecutionStatus ?? d.Status ?? 'not executable'}${d.StatusReason ? ` (${e.mask(d.StatusReason)})` : ''}`);
      else {
        const changes = await e.changes(cs, async () => 'no-changes');
        const now = changeSetToPlan(changes === 'no-changes' ? [] : changes);
        const drop = (steps: Plan['steps']) => steps.filter((x) => x.kind !== 'noop');
        const differ = stepChanges(drop(saved.plan.steps), drop(now.steps));
        if (differ.length) why.push(`change set ${cs.name} is not what the plan file says (${differ.join('; ')}): the file was altered`);
      }
    } catch (err) {
      const code = (err as { awsCode?: string }).awsCode ?? '';
      if (code !== 'ChangeSetNotFound' && code !== 'ChangeSetNotFoundException' && !/does not exist|not found/i.test(errorMessage(err))) throw err;
      why.push(`change set ${cs.name} no longer exists (it was executed or deleted; executing any change set of a stack deletes the others)`);
    }
  }
  why.push(...awsBasisChanges(saved.stack, saved.basis, await e.basis(saved.stack)));
  if (why.length)
    throw new KilnError(
      'PLAN_STALE',
      `the saved plan for stack ${saved.stack} is stale, so nothing was changed: ${why.join('; ')}. Plan again (kiln plan … --target aws --out FILE) and review the new plan`,
      'user',
    );
  onReady?.();
  const p: AwsPlan = { stack: saved.stack, plan: saved.plan, isCreate: saved.isCreate, noChanges: !cs, parameters: saved.parameters, ...(cs ? { changeSet: cs } : {}) };
  if (!cs) return { ...p, outcome: 'no-changes', outputs: await e.outputs(saved.stack) };
  return execute(e, p, { discardOnRefusal: false });
}

/** Executes a plan's change set and follows the stack to its end (Ctrl-C cancels an update). */
async function execute(e: Engine, p: AwsPlan, o: { discardOnRefusal: boolean }): Promise<AwsDeployResult> {
  const cs = p.changeSet!;
  const stack = p.stack;
  let cancelled = false;
  const since = e.clock.now() - 1000;
  try {
    await e.call('ExecuteChangeSet', { ChangeSetName: cs.id, StackName: cs.stackId });
  } catch (err) {
    if (o.discardOnRefusal) await e.discard(cs, p.isCreate);
    throw err;
  }
  const r = await e.follow(stack, cs.stackId, since, async () => {
    if (p.isCreate) {
      e.notice(`interrupted: CloudFormation goes on creating stack ${stack} (and rolls it back if it fails); follow it with kiln events --target aws --stack ${stack}`);
      return 'stop';
    }
    cancelled = true;
    e.notice(`interrupted: cancelling the update of stack ${stack} (CloudFormation rolls it back)`);
    await e.call('CancelUpdateStack', { StackName: cs.stackId }).catch((err: unknown) => e.notice(`CancelUpdateStack: ${errorMessage(err)}`));
    return 'follow';
  });
  if (r.stopped || cancelled) return { ...p, outcome: 'cancelled', finalStatus: r.status, outputs: {} };
  const failed = isFailedOutcome(r.status);
  const reason = failed ? (firstFailure(r.events) ?? `stack ${r.status}`) : undefined;
  const hint =
    r.status === 'ROLLBACK_COMPLETE'
      ? `; the stack must be deleted before it can be deployed again (kiln destroy --target aws --stack ${stack})`
      : r.status === 'UPDATE_ROLLBACK_FAILED'
        ? `; run kiln deploy --target aws --stack ${stack} --continue-rollback once the cause is fixed`
        : '';
  return { ...p, outcome: failed ? 'failed' : 'complete', finalStatus: r.status, ...(reason ? { reason: reason + hint } : {}), outputs: failed ? {} : await e.outputs(stack) };
}

/** `--continue-rollback`: ContinueUpdateRollback on an UPDATE_ROLLBACK_FAILED stack, followed to its end. */
export async function continueRollback(env: AwsStackEnv, stack: string): Promise<{ outcome: 'complete' | 'failed'; finalStatus: string; reason?: string }> {
  const e = new Engine(env);
  const s = await e.describe(stack);
  if (!s) throw new KilnError('STACK_MISSING', `stack ${stack} does not exist`, 'user');
  if (s.StackStatus !== 'UPDATE_ROLLBACK_FAILED') throw new KilnError('STACK_STATE', `stack ${stack} is ${s.StackStatus}, not UPDATE_ROLLBACK_FAILED: there is no rollback to continue`, 'user');
  const since = e.clock.now() - 1000;
  await e.call('ContinueUpdateRollback', { StackName: s.StackId ?? stack });
  const r = await e.follow(stack, s.StackId ?? stack, since);
  const ok = r.status === 'UPDATE_ROLLBACK_COMPLETE';
  const reason = ok ? undefined : firstFailure(r.events);
  return { outcome: ok ? 'complete' : 'failed', finalStatus: r.status, ...(reason ? { reason } : {}) };
}

export async function destroyAwsStack(env: AwsStackEnv, stack: string): Promise<{ outcome: 'complete' | 'failed' | 'absent'; finalStatus?: string; reason?: string }> {
  const e = new Engine(env);
  const s = await e.describe(stack);
  if (!s) return { outcome: 'absent' };
  const since = e.clock.now() - 1000;
  await e.call('DeleteStack', { StackName: s.StackId ?? stack });
  const r = await e.follow(stack, s.StackId ?? stack, since, async () => {
    e.notice(`interrupted: CloudFormation goes on deleting stack ${stack}`);
    return 'stop';
  });
  if (r.stopped) return { outcome: 'failed', finalStatus: r.status, reason: 'interrupted; the deletion goes on in CloudFormation' };
  if (r.status === 'DELETE_COMPLETE') return { outcome: 'complete', finalStatus: r.status };
  return { outcome: 'failed', finalStatus: r.status, reason: firstFailure(r.events) ?? `stack ${r.status}` };
}

interface AwsStackStatus {
  stack: string;
  status: string;
  reason?: string;
  resources: Array<{ logicalId: string; type: string; physicalId: string; status: string; reason?: string }>;
}

export async function awsStackStatus(env: AwsStackEnv, stack: string): Promise<AwsStackStatus | undefined> {
  const e = new Engine(env);
  const s = await e.describe(stack);
  if (!s) return undefined;
  const rs = await e.resources(s.StackId ?? stack);
  return {
    stack,
    status: s.StackStatus ?? 'UNKNOWN',
    ...(s.StackStatusReason ? { reason: e.mask(s.StackStatusReason) } : {}),
    resources: rs.map((r) => ({
      logicalId: r.LogicalResourceId ?? '',
      type: r.ResourceType ?? '',
      physicalId: r.PhysicalResourceId ?? '',
      status: r.ResourceStatus ?? '',
      ...(r.ResourceStatusReason ? { reason: e.mask(r.ResourceStatusReason) } : {}),
    })),
  };
}

export async function awsStackEvents(env: AwsStackEnv, stack: string): Promise<StackEvent[]> {
  const e = new Engine(env);
  const events = await e.newEvents(stack, 0, new Set());
  return events.map((ev, i) => ({ ...ev, id: i + 1 }));
}

export async function awsStackOutputs(env: AwsStackEnv, stack: string): Promise<Record<string, StackOutput> | undefined> {
  const e = new Engine(env);
  const s = await e.describe(stack);
  return s ? toOutputs(s.Outputs, e.mask) : undefined;
}

/** A JSON pointer (`/Tags/0/Value`, CloudFormation's PropertyPath) as kiln writes a property path (`Tags.0.Value`). */
export function dottedPath(pointer: string): string {
  if (!pointer.startsWith('/')) return pointer;
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** DetectStackDrift, waited for, as kiln's drift report. */
export async function awsStackDrift(env: AwsStackEnv, stack: string): Promise<DriftReport> {
  const e = new Engine(env);
  const { StackDriftDetectionId: id } = await e.call('DetectStackDrift', { StackName: stack });
  if (!id) throw new KilnError('AWS_API', 'DetectStackDrift: no detection id in the answer', 'environment');
  const deadline = e.clock.now() + (env.timeoutMs ?? 30 * 60_000);
  for (;;) {
    const st = await e.call('DescribeStackDriftDetectionStatus', { StackDriftDetectionId: id });
    if (st.DetectionStatus === 'DETECTION_FAILED') throw new KilnError('DRIFT_FAILED', e.mask(`drift detection failed: ${st.DetectionStatusReason ?? 'no reason given'}`), 'environment');
    if (st.DetectionStatus === 'DETECTION_COMPLETE') break;
    if (e.clock.now() > deadline) throw new KilnError('AWS_WAIT_TIMEOUT', `timed out waiting for drift detection ${id}`, 'environment');
    await e.clock.sleep(e.pollMs, env.signal);
  }
  const drifts = [];
  let token: string | undefined;
  do {
    const r = await e.call('DescribeStackResourceDrifts', { StackName: stack, ...(token ? { NextToken: token } : {}) });
    drifts.push(...(r.StackResourceDrifts ?? []));
    token = r.NextToken;
  } while (token);
  const parse = (s: string | undefined): Json => {
    if (s === undefined) return null;
    try {
      return JSON.parse(s) as Json;
    } catch {
      return s;
    }
  };
  // The report as the local target makes it (one table for both, src/cli/views/stack.ts): every
  // resource of the stack in the stack's order — those CloudFormation cannot check are NOT_CHECKED —,
  // properties as dotted paths (`Tags.0.Value`, not `/Tags/0/Value`), CloudFormation's other statuses
  // (UNKNOWN, UNSUPPORTED) as NOT_CHECKED.
  const byId = new Map(drifts.map((d) => [d.LogicalResourceId ?? '', d]));
  const listed = await e.resources(stack);
  const order = [...listed.map((r) => r.LogicalResourceId ?? ''), ...drifts.map((d) => d.LogicalResourceId ?? '').filter((id) => !listed.some((r) => r.LogicalResourceId === id))];
  const known = new Set<string>(['IN_SYNC', 'MODIFIED', 'DELETED', 'NOT_CHECKED']);
  const resources: DriftReport['resources'] = order.map((logicalId) => {
    const d = byId.get(logicalId);
    const r = listed.find((x) => x.LogicalResourceId === logicalId);
    const status = d?.StackResourceDriftStatus && known.has(d.StackResourceDriftStatus) ? (d.StackResourceDriftStatus as ResourceDrift) : 'NOT_CHECKED';
    return {
      logicalId,
      type: d?.ResourceType ?? r?.ResourceType ?? '',
      physicalId: d?.PhysicalResourceId || r?.PhysicalResourceId || '',
      status,
      differences: (d?.PropertyDifferences ?? []).map((x) => ({
        property: dottedPath(x.PropertyPath ?? ''),
        expected: parse(x.ExpectedValue),
        actual: parse(x.ActualValue),
        kind: (x.DifferenceType ?? 'NOT_EQUAL') as 'NOT_EQUAL' | 'ADD' | 'REMOVE',
      })),
      mutations: [],
    };
  });
  return { stack, status: resources.some((r) => r.status === 'MODIFIED' || r.status === 'DELETED') ? 'DRIFTED' : 'IN_SYNC', resources, extra: [] } as DriftReport;
}
