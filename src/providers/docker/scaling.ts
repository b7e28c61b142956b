// What scales an Auto Scaling group on AWS: `AWS::AutoScaling::ScalingPolicy`,
// `AWS::AutoScaling::ScheduledAction` and `AWS::AutoScaling::LifecycleHook`. On the local target they
// are validated as the Auto Scaling API validates them (the group exists; a simple policy has its
// adjustment, a step policy its steps, a target tracking policy its metric and target; a scheduled
// action changes a size, at a valid time or cron recurrence; a hook names a transition) and recorded
// with AWS's `Ref` / `GetAtt` shapes, so templates that wire them to alarms and outputs deploy.
//
// They have no local effect, and the plan says why for each (`planNote`): nothing local measures
// CloudWatch metrics or raises alarms, so no policy is ever executed; kiln runs no scheduler
// between deploys, so a scheduled action's time passes without the group changing; and instances
// launch and terminate without pausing for a hook. The group's size is what the template says.
import { randomUUID } from 'node:crypto';
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { KnownResource, ResourceContext, ResourceState } from '../../model/provider.js';
import type { DockerHandler } from './context.js';
import { generatedName, isObj, num, str } from './elb.js';
import { defaultRegion } from './network.js';
import { LOCAL_ACCOUNT_ID } from './noop.js';

function bad(message: string): KilnError {
  return new KilnError('INVALID_PROPERTY', message, 'user');
}

function oneOf(v: Json | undefined, what: string, allowed: readonly string[], dflt?: string): string {
  const s = str(v) ?? dflt;
  if (s === undefined) throw bad(`${what} is required (one of ${allowed.join(', ')})`);
  if (!allowed.includes(s)) throw bad(`${what} '${s}' is not one of ${allowed.join(', ')}`);
  return s;
}

/** The live Auto Scaling group a policy, action or hook belongs to (`AutoScalingGroupName`). */
function groupOf(ctx: ResourceContext, props: JsonObject): KnownResource {
  const name = str(props.AutoScalingGroupName);
  if (!name) throw bad('AutoScalingGroupName is required');
  const g = ctx.allResources().find((r) => r.type === 'AWS::AutoScaling::AutoScalingGroup' && r.state.physicalId === name);
  if (!g) throw new KilnError('INVALID_PROPERTY', `AutoScalingGroupName: the group '${name}' does not exist (ValidationError: AutoScalingGroup name not found)`, 'user');
  return g;
}

/** Whether a value holds no intrinsic function (a property known at plan). */
function literal(v: Json | undefined): boolean {
  if (Array.isArray(v)) return v.every(literal);
  if (isObj(v)) return !Object.keys(v).some((k) => k === 'Ref' || k.startsWith('Fn::')) && Object.values(v).every(literal);
  return true;
}

/**
 * The plan's note: `check`'s refusal when the properties it reads are known at plan (so a policy the
 * API would refuse is refused before anything is created), else `note`.
 */
function noteOr(props: JsonObject, check: (p: JsonObject) => unknown, note: string): { error: boolean; message: string } {
  const known = Object.fromEntries(Object.entries(props).filter(([k]) => k !== 'AutoScalingGroupName'));
  if (literal(known))
    try {
      check(known);
    } catch (e) {
      if (KilnError.is(e)) return { error: true, message: e.message };
      throw e;
    }
  return { error: false, message: note };
}

/**
 * A record of a group's: `check` validates (at plan when the values are known, and at every create
 * and update), the group must be live, `make` names it; updates keep the name (only the
 * create-only properties replace, which the planner decides).
 */
function groupRecord(
  type: string,
  check: (p: JsonObject) => unknown,
  note: (p: JsonObject) => string,
  make: (ctx: ResourceContext, props: JsonObject, group: string) => Pick<ResourceState, 'physicalId' | 'attributes'>,
): DockerHandler {
  return {
    type,
    effect: 'none',
    planNote: (props) => noteOr(props, check, note(props)),
    async create(ctx, props) {
      check(props);
      const group = groupOf(ctx, props).state.physicalId;
      return { ...make(ctx, props, group), data: { group, noLocalEffect: true } };
    },
    async update(ctx, props, previous) {
      check(props);
      groupOf(ctx, props);
      return previous.state;
    },
    async delete() {},
    async read(_ctx, state) {
      return { state, drift: [] };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scaling policy

const ADJUSTMENT_TYPES = ['ChangeInCapacity', 'ExactCapacity', 'PercentChangeInCapacity'] as const;
const PREDEFINED_METRICS = ['ASGAverageCPUUtilization', 'ASGAverageNetworkIn', 'ASGAverageNetworkOut', 'ALBRequestCountPerTarget'] as const;

/** Checks a policy's properties as PutScalingPolicy does; returns its type. */
export function checkScalingPolicy(props: JsonObject): string {
  const type = oneOf(props.PolicyType, 'PolicyType', ['SimpleScaling', 'StepScaling', 'TargetTrackingScaling', 'PredictiveScaling'], 'SimpleScaling');
  const only = (keys: string[]) => {
    for (const k of keys) if (props[k] !== undefined) throw bad(`${k} cannot be used with PolicyType ${type}`);
  };
  if (type === 'SimpleScaling' || type === 'StepScaling') {
    const adj = oneOf(props.AdjustmentType, 'AdjustmentType', ADJUSTMENT_TYPES);
    if (props.MinAdjustmentMagnitude !== undefined && adj !== 'PercentChangeInCapacity') throw bad('MinAdjustmentMagnitude is only valid with AdjustmentType PercentChangeInCapacity');
    only(['TargetTrackingConfiguration', 'PredictiveScalingConfiguration']);
  }
  if (type === 'SimpleScaling') {
    const n = num(props.ScalingAdjustment, 'ScalingAdjustment (a simple scaling policy)');
    if (str(props.AdjustmentType) === 'ExactCapacity' && n < 0) throw bad('ScalingAdjustment must be 0 or more with AdjustmentType ExactCapacity');
    only(['StepAdjustments', 'MetricAggregationType', 'EstimatedInstanceWarmup']);
    if (props.Cooldown !== undefined) num(props.Cooldown, 'Cooldown');
  } else if (type === 'StepScaling') {
    const steps = Array.isArray(props.StepAdjustments) ? props.StepAdjustments : [];
    if (!steps.length) throw bad('StepAdjustments is required for a step scaling policy');
    let open = 0;
    for (const [i, s] of steps.entries()) {
      if (!isObj(s)) throw bad(`StepAdjustments[${i}] must be an object`);
      num(s.ScalingAdjustment, `StepAdjustments[${i}].ScalingAdjustment`);
      const lo = s.MetricIntervalLowerBound === undefined ? undefined : Number(s.MetricIntervalLowerBound);
      const hi = s.MetricIntervalUpperBound === undefined ? undefined : Number(s.MetricIntervalUpperBound);
      if ((lo !== undefined && Number.isNaN(lo)) || (hi !== undefined && Number.isNaN(hi))) throw bad(`StepAdjustments[${i}]: metric interval bounds must be numbers`);
      if (lo !== undefined && hi !== undefined && hi <= lo) throw bad(`StepAdjustments[${i}]: MetricIntervalUpperBound must be greater than MetricIntervalLowerBound`);
      if (lo === undefined || hi === undefined) open++;
    }
    if (open === 0) throw bad('StepAdjustments: one step must leave a bound open (no lower or no upper bound)');
    oneOf(props.MetricAggregationType, 'MetricAggregationType', ['Minimum', 'Maximum', 'Average'], 'Average');
    only(['ScalingAdjustment', 'Cooldown']);
  } else if (type === 'TargetTrackingScaling') {
    const c = props.TargetTrackingConfiguration;
    if (!isObj(c)) throw bad('TargetTrackingConfiguration is required for a target tracking policy');
    if (typeof c.TargetValue !== 'number' && !(typeof c.TargetValue === 'string' && c.TargetValue.trim() !== '' && !Number.isNaN(Number(c.TargetValue))))
      throw bad('TargetTrackingConfiguration.TargetValue must be a number');
    const pre = isObj(c.PredefinedMetricSpecification) ? c.PredefinedMetricSpecification : undefined;
    const custom = isObj(c.CustomizedMetricSpecification) ? c.CustomizedMetricSpecification : undefined;
    if (!!pre === !!custom) throw bad('TargetTrackingConfiguration: give exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification');
    if (pre) {
      const m = oneOf(pre.PredefinedMetricType, 'PredefinedMetricSpecification.PredefinedMetricType', PREDEFINED_METRICS);
      if (m === 'ALBRequestCountPerTarget' && !str(pre.ResourceLabel)) throw bad('PredefinedMetricSpecification.ResourceLabel is required for ALBRequestCountPerTarget');
    }
    only(['AdjustmentType', 'ScalingAdjustment', 'StepAdjustments', 'MinAdjustmentMagnitude', 'Cooldown', 'MetricAggregationType']);
  } else {
    if (!isObj(props.PredictiveScalingConfiguration)) throw bad('PredictiveScalingConfiguration is required for a predictive scaling policy');
  }
  return type;
}

export const scalingPolicyHandler = groupRecord(
  'AWS::AutoScaling::ScalingPolicy',
  checkScalingPolicy,
  (props) =>
    `the policy is validated and recorded (Ref: its ARN); nothing local measures metrics, so ${str(props.PolicyType) === 'TargetTrackingScaling' ? 'its target is never tracked' : 'no CloudWatch alarm executes it'} and the group keeps the size the template gives`,
  (ctx, _props, group) => {
    const policyName = generatedName(ctx, 255);
    const arn = `arn:aws:autoscaling:${defaultRegion()}:${LOCAL_ACCOUNT_ID}:scalingPolicy:${randomUUID()}:autoScalingGroupName/${group}:policyName/${policyName}`;
    return { physicalId: arn, attributes: { Arn: arn, PolicyName: policyName } };
  },
);

// ---------------------------------------------------------------------------------------------
// Scheduled action

const CRON_FIELD = /^(?:\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/\d+)?(?:,(?:\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/\d+)?)*$/;

function isoTime(v: Json | undefined, what: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$/.test(s)) throw bad(`${what} '${s}' is not an ISO 8601 time (2026-01-31T08:00:00Z)`);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw bad(`${what} '${s}' is not a valid time`);
  return t;
}

export function checkScheduledAction(props: JsonObject): void {
  const sizes = (['MinSize', 'MaxSize', 'DesiredCapacity'] as const).filter((k) => props[k] !== undefined);
  if (!sizes.length) throw bad('a scheduled action must set at least one of MinSize, MaxSize and DesiredCapacity');
  const v = Object.fromEntries(sizes.map((k) => [k, num(props[k], k)]));
  for (const [k, n] of Object.entries(v)) if (n < 0) throw bad(`${k} must be 0 or more`);
  if (v.MinSize !== undefined && v.MaxSize !== undefined && v.MinSize > v.MaxSize) throw bad(`MinSize (${v.MinSize}) is greater than MaxSize (${v.MaxSize})`);
  if (v.DesiredCapacity !== undefined && ((v.MinSize !== undefined && v.DesiredCapacity < v.MinSize) || (v.MaxSize !== undefined && v.DesiredCapacity > v.MaxSize)))
    throw bad(`DesiredCapacity (${v.DesiredCapacity}) must be within MinSize and MaxSize`);
  const recurrence = str(props.Recurrence);
  if (recurrence !== undefined) {
    const fields = recurrence.trim().split(/\s+/);
    if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) throw bad(`Recurrence '${recurrence}' is not a cron expression of five fields (minute hour day month weekday)`);
  }
  const start = isoTime(props.StartTime, 'StartTime');
  const end = isoTime(props.EndTime, 'EndTime');
  if (start !== undefined && end !== undefined && end <= start) throw bad('EndTime must be after StartTime');
  if (end !== undefined && recurrence === undefined) throw bad('EndTime is only valid with a Recurrence');
  if (start === undefined && recurrence === undefined) throw bad('a scheduled action needs a StartTime or a Recurrence');
}

export const scheduledActionHandler = groupRecord(
  'AWS::AutoScaling::ScheduledAction',
  checkScheduledAction,
  (props) =>
    `recorded, not scheduled: kiln runs no scheduler between deploys, so ${str(props.Recurrence) ? `at '${str(props.Recurrence)}'` : `at ${str(props.StartTime) ?? 'its start time'}`} the group keeps the size the template gives (change MinSize / MaxSize / DesiredCapacity in the template and deploy to resize it)`,
  (ctx) => {
    const name = generatedName(ctx, 255);
    return { physicalId: name, attributes: { ScheduledActionName: name } };
  },
);

// ---------------------------------------------------------------------------------------------
// Lifecycle hook

export function checkLifecycleHook(props: JsonObject): void {
  oneOf(props.LifecycleTransition, 'LifecycleTransition', ['autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING']);
  oneOf(props.DefaultResult, 'DefaultResult', ['CONTINUE', 'ABANDON'], 'ABANDON');
  const hb = num(props.HeartbeatTimeout, 'HeartbeatTimeout', 3600);
  if (hb < 30 || hb > 7200) throw bad(`HeartbeatTimeout ${hb} is outside 30-7200 seconds`);
  const name = str(props.LifecycleHookName);
  if (name !== undefined && !/^[A-Za-z0-9\-_/]{1,255}$/.test(name)) throw bad(`LifecycleHookName '${name}' must be 1-255 letters, digits, - _ or /`);
  const meta = str(props.NotificationMetadata);
  if (meta !== undefined && meta.length > 1023) throw bad('NotificationMetadata is longer than 1023 characters');
  if (str(props.NotificationTargetARN) && !str(props.RoleARN)) throw bad('RoleARN is required with NotificationTargetARN');
}

export const lifecycleHookHandler = groupRecord(
  'AWS::AutoScaling::LifecycleHook',
  checkLifecycleHook,
  (props) => {
    const launching = str(props.LifecycleTransition) === 'autoscaling:EC2_INSTANCE_LAUNCHING';
    return `recorded: local instances ${launching ? 'go into service' : 'are removed'} without waiting in ${launching ? 'Pending:Wait' : 'Terminating:Wait'} and nothing is notified (DefaultResult is never applied)`;
  },
  (ctx, props, group) => {
    const name = str(props.LifecycleHookName) ?? generatedName(ctx, 255);
    const taken = ctx.allResources().some((r) => r.type === 'AWS::AutoScaling::LifecycleHook' && r.state.physicalId === name && r.state.data?.group === group);
    if (taken) throw new KilnError('ALREADY_EXISTS', `Lifecycle hook ${name} already exists for group ${group} (AlreadyExists)`, 'user');
    return { physicalId: name, attributes: {} };
  },
);

export const scalingHandlers: DockerHandler[] = [scalingPolicyHandler, scheduledActionHandler, lifecycleHookHandler];
