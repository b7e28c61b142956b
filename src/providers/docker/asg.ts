// `AWS::AutoScaling::AutoScalingGroup` on the local target: a group of instance containers launched
// like `AWS::EC2::Instance` (through the launch primitive: subnet, security groups, user data,
// instance type), each with its own `i-…` id, labelled with the group's logical id, spread over
// `VPCZoneIdentifier`, registered in `TargetGroupARNs` / `LoadBalancerNames` (the load balancers find
// them by their `kiln.lb-targets` label and bring them in as "initial" until their checks pass).
//
// The group's instances are read back from Docker on every operation (labels carry the instance id,
// the configuration key and the target keys), so a failed or interrupted update never leaves state
// and reality apart. Updates follow the UpdatePolicy (see rollout.ts for the decisions):
//   * rolling: per batch, start new instances, wait until every load balancer of the group reports
//     them healthy (or, with WaitOnResourceSignals, until they signal success within PauseTime), then
//     drain and remove old ones; PauseTime between batches;
//   * replacing: a whole new group (new name) first, its CreationPolicy's signals awaited as on a
//     creation; the old one is drained and removed only when every new instance is healthy;
// A CreationPolicy holds for the group's creation (waitReady), not for its updates; launches that
// signals gate do not wait for the user data, the others do.
//   * a batch or a new group that does not become healthy in time is removed, the old instances keep
//     serving, and the update fails (so the stack rolls back).
import { KilnError, errorMessage } from '../../core/errors.js';
import { hashValue } from '../../core/hash.js';
import { Limiter, mapLimit } from '../../core/limiter.js';
import type { DockerClient } from '../../docker/client.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import { generatedName, isObj, num, str, strList } from './elb.js';
import { TARGETS_LABEL, admissionTimeoutMs, drainTargets, lbContainers, readModel, refreshLoadBalancers, targetStates, targetsLabel, type TargetView } from './haproxy.js';
import { newId } from './ids.js';
import { ResolvedImages, resolveImage } from './images.js';
import { DEFAULT_INSTANCE_TYPE, decodeUserData, publicKeyOf } from './instance.js';
import { instanceView, launchSourceView } from './instance-view.js';
import { awaitResourceSignals, clearSignals, resourceSignalPolicy } from './signals.js';
import { destroyContainer, launchContainer } from './launch.js';
import { resolveLaunchConfig, type LaunchConfig } from './launchtemplate.js';
import { subnetInfo } from './network.js';
import { defaultSubnetsOf } from './default-vpc.js';
import { chooseToRemove, groupSize, parseUpdatePolicy, planRolling, spreadSubnets } from './rollout.js';

export interface AsgInstance {
  instanceId: string;
  containerId: string;
  ip: string;
  subnetId: string;
  vpcId: string;
  groups: string[];
  config: string;
  targets: string;
  launchedAt: number;
  running: boolean;
}

/** The group's instances as Docker knows them (labels), oldest first. */
export async function listInstances(docker: DockerClient, stack: string, logicalId: string, groupName: string): Promise<AsgInstance[]> {
  const labels = [`kiln.stack=${stack}`, `kiln.resource=${logicalId}`, `kiln.owner=${groupName}`, 'kiln.kind=instance'];
  const list = await docker.listContainers({ all: true, labels });
  return list
    .map((c) => {
      const l = c.Labels ?? {};
      return {
        instanceId: l['kiln.instance-id'] ?? '',
        containerId: c.Id,
        ip: l['kiln.ip'] ?? '',
        subnetId: l['kiln.subnet'] ?? '',
        vpcId: l['kiln.vpc'] ?? '',
        groups: (l['kiln.groups'] ?? '').split(',').filter(Boolean),
        config: l['kiln.asg-config'] ?? '',
        targets: l[TARGETS_LABEL] ?? '',
        launchedAt: Number(l['kiln.launched-at'] ?? 0),
        running: c.State === 'running',
      };
    })
    .sort((a, b) => a.launchedAt - b.launchedAt);
}

interface GroupPlan {
  name: string;
  size: { min: number; max: number; desired: number };
  zones: string[];
  lc: LaunchConfig;
  imageId: string;
  /** The public key of the launch data's KeyName, for root's authorized_keys. */
  publicKey?: string;
  key: string;
  keys: string[];
  targets: string;
  /** HealthCheckGracePeriod in ms (0 = not given). */
  graceMs: number;
  /** Share of a batch (or of a new group) that must be healthy (MinSuccessfulInstancesPercent). */
  minPercent: number;
}

async function planGroup(ctx: DockerContext, props: JsonObject, name: string): Promise<GroupPlan> {
  const size = groupSize(props);
  // Without VPCZoneIdentifier the group is in the default VPC, in the default subnets of its AvailabilityZones.
  const given = strList(props.VPCZoneIdentifier);
  const zones = given.length ? given : defaultSubnetsOf(ctx, strList(props.AvailabilityZones));
  for (const z of zones) subnetInfo(ctx, z);
  const lc = resolveLaunchConfig(ctx, props);
  const image = await resolveImage(ctx.docker, lc.imageId, ctx.local.of(ResolvedImages));
  const instanceType = lc.instanceType ?? DEFAULT_INSTANCE_TYPE;
  const userData = decodeUserData(lc.userData);
  // The key pair's public key is part of what an instance is: a new KeyName rolls the group.
  const publicKey = lc.keyName ? publicKeyOf(ctx, lc.keyName) : undefined;
  const key = hashValue({ image: image.id, instanceType, userData: userData ?? null, groups: [...lc.securityGroupIds].sort(), ...(publicKey ? { publicKey } : {}) }).slice(0, 24);
  const keys = [...strList(props.TargetGroupARNs), ...strList(props.LoadBalancerNames)];
  const grace = num(props.HealthCheckGracePeriod, 'HealthCheckGracePeriod', 0);
  return { name, size, zones, lc: { ...lc, instanceType }, imageId: image.id, ...(publicKey ? { publicKey } : {}), key, keys, targets: targetsLabel(keys), graceMs: grace * 1000, minPercent: 100 };
}

function isCurrent(p: GroupPlan, i: AsgInstance): boolean {
  return i.running && i.config === p.key && p.zones.includes(i.subnetId) && i.targets === p.targets;
}

/**
 * Success signals new instances must send (cfn-signal --resource <group>) before they count as
 * launched: the CreationPolicy when a group is created (or replaced by a new group), each batch of a
 * rolling update with WaitOnResourceSignals. `count` of them within `timeoutMs`; `maxFailures`
 * failure signals tolerated (MinSuccessfulInstancesPercent below 100).
 */
interface SignalGate {
  count: number;
  timeoutMs: number;
  maxFailures: number;
}

/**
 * The CreationPolicy's gate: ResourceSignal.Count success signals within its Timeout; with an
 * AutoScalingCreationPolicy, MinSuccessfulInstancesPercent of them suffice.
 */
function creationGate(ctx: DockerContext): SignalGate | undefined {
  const policy = resourceSignalPolicy(ctx);
  if (!policy) return undefined;
  const acp = ctx.policies?.CreationPolicy?.AutoScalingCreationPolicy;
  const pct = isObj(acp) ? num(acp.MinSuccessfulInstancesPercent, 'CreationPolicy.AutoScalingCreationPolicy.MinSuccessfulInstancesPercent', 100) : 100;
  const count = Math.ceil((policy.count * pct) / 100);
  return { count, timeoutMs: policy.timeoutMs, maxFailures: policy.count - count };
}

/** The gate of `launched` instances that must signal, `percent` of them sufficing. */
function gateFor(launched: number, timeoutMs: number, percent: number): SignalGate {
  const count = Math.ceil((launched * percent) / 100);
  return { count, timeoutMs, maxFailures: launched - count };
}

/**
 * Launches one instance per subnet. With a signal gate, cfn-signal says when an instance is ready,
 * not the end of its user data; without one (scaling, a rolling update that does not wait on
 * signals) the launch waits for the user data, as every other launch does.
 */
async function launchInstances(ctx: DockerContext, p: GroupPlan, owner: string, subnets: string[], signalled: boolean): Promise<AsgInstance[]> {
  const userData = decodeUserData(p.lc.userData);
  const launched: AsgInstance[] = [];
  const limit = ctx.local.of(LaunchLimit);
  const extras = launchSourceView(ctx, p.lc.source, p.lc.version);
  const results = await Promise.allSettled(
    subnets.map((subnetId) =>
      limit.run(async () => {
        const instanceId = newId('i');
        ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `launching ${instanceId} in ${subnetId}` });
        const view = instanceView(ctx, {
          instanceId,
          subnetId,
          amiId: p.imageId,
          instanceType: p.lc.instanceType ?? DEFAULT_INSTANCE_TYPE,
          groups: p.lc.securityGroupIds,
          ...extras,
          ...(p.publicKey ? { publicKey: p.publicKey } : {}),
          ...(userData !== undefined ? { userData } : {}),
        });
        const l = await launchContainer(ctx, {
          files: view.files,
          metadata: view.metadata,
          ...(signalled ? { waitForUserData: false } : {}),
          image: p.imageId,
          subnetId,
          securityGroupIds: p.lc.securityGroupIds,
          kind: 'instance',
          owner,
          name: instanceId,
          instanceType: p.lc.instanceType,
          ...(userData !== undefined ? { userData } : {}),
          labels: {
            'kiln.instance-id': instanceId,
            'kiln.asg-config': p.key,
            [TARGETS_LABEL]: p.targets,
            'kiln.launched-at': String(Date.now()),
            'kiln.groups': p.lc.securityGroupIds.join(','),
          },
        });
        const inst: AsgInstance = {
          instanceId,
          containerId: l.containerId,
          ip: l.privateIp,
          subnetId,
          vpcId: l.vpcId,
          groups: p.lc.securityGroupIds,
          config: p.key,
          targets: p.targets,
          launchedAt: Date.now(),
          running: true,
        };
        launched.push(inst);
        return inst;
      }),
    ),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await removeInstances(ctx, p.keys, launched, false);
    throw (failed as PromiseRejectedResult).reason;
  }
  return launched;
}

/** Group instances launched at once by a provider: at most 4 (the engine and the host have two cores). */
class LaunchLimit extends Limiter {
  constructor() {
    super(4);
  }
}

/** Drains instances from the group's load balancers, removes them, and reloads the balancers. */
async function removeInstances(ctx: DockerContext, keys: string[], list: AsgInstance[], drain = true): Promise<void> {
  if (!list.length) return;
  if (drain && keys.length)
    await drainTargets(
      ctx,
      keys,
      list.map((i) => i.instanceId),
      ctx.signal,
    ).catch(() => undefined);
  await mapLimit(list, 4, async (i) => {
    await destroyContainer(ctx, { id: i.containerId, vpcId: i.vpcId, ip: i.ip, instanceId: i.instanceId });
  });
  if (keys.length) await refreshLoadBalancers(ctx, keys, { noDrain: true });
}

/**
 * Whether some load balancer serves one of the group's target keys, and how long its health checks
 * need to admit a new instance (every threshold check twice over: see `admissionTimeoutMs`).
 */
async function served(ctx: DockerContext, keys: string[]): Promise<{ served: boolean; admissionMs: number }> {
  let admissionMs = 0;
  let any = false;
  if (!keys.length) return { served: false, admissionMs };
  for (const lb of await lbContainers(ctx)) {
    const m = await readModel(ctx, lb.id).catch(() => undefined);
    for (const b of m?.backends ?? [])
      if (b.discover && keys.includes(b.discover.key)) {
        any = true;
        admissionMs = Math.max(admissionMs, admissionTimeoutMs(b.health));
      }
  }
  return { served: any, admissionMs };
}

/**
 * How long new instances may take to come into service: HealthCheckGracePeriod when given, else what
 * the load balancers' checks need to admit them (plus 30 s of boot), else 60 s for running at all.
 */
function admissionDeadline(p: GroupPlan, admissionMs: number): number {
  if (p.graceMs > 0) return p.graceMs;
  return admissionMs > 0 ? admissionMs + 30_000 : 60_000;
}

/**
 * Waits until every instance is healthy in every load balancer of the group (or, with none, running).
 * Returns the instances that are not, when the time is up.
 */
async function waitInService(
  ctx: DockerContext,
  keys: string[],
  list: AsgInstance[],
  timeout: (admissionMs: number) => number,
  minPercent = 100,
): Promise<{ unhealthy: string[]; views: TargetView[]; waitedMs: number }> {
  const started = Date.now();
  const { served: withLb, admissionMs } = await served(ctx, keys);
  const deadline = started + timeout(admissionMs);
  const need = Math.ceil((list.length * minPercent) / 100);
  for (;;) {
    const bad: string[] = [];
    let views: TargetView[] = [];
    if (withLb) views = await targetStates(ctx, keys);
    for (const i of list) {
      const info = await ctx.docker.inspectContainer(i.containerId).catch(() => undefined);
      if (!info?.State.Running) {
        bad.push(i.instanceId);
        continue;
      }
      if (!withLb) continue;
      const mine = views.filter((v) => v.id === i.instanceId);
      if (!mine.length || mine.some((v) => v.state !== 'healthy')) bad.push(i.instanceId);
    }
    if (list.length - bad.length >= need) return { unhealthy: [], views, waitedMs: Date.now() - started };
    if (Date.now() >= deadline) return { unhealthy: bad, views, waitedMs: Date.now() - started };
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    await new Promise((r) => setTimeout(r, 250));
  }
}

function unhealthyError(waitedMs: number, bad: string[], views: TargetView[], what: string): KilnError {
  const detail = bad
    .map(
      (id) =>
        `${id} (${
          views
            .filter((v) => v.id === id)
            .map((v) => v.state)
            .join('/') || 'not running'
        })`,
    )
    .join(', ');
  return new KilnError(
    'AUTO_SCALING_UNHEALTHY',
    `${what}: new instances did not pass their load balancer health check within ${Math.round(waitedMs / 1000)} s: ${detail}. They were removed; the previous instances keep serving.`,
    'user',
  );
}

/**
 * Launches `count` instances of the plan, registers them, and waits until they are in service.
 * `signals`: a gate, whose success signals are awaited first (the signals of earlier launches
 * forgotten before: only new ones count); `later` when the creation's waitReady awaits them. Either
 * way the launches do not wait for the user data. Instances that fail any of it are removed.
 */
async function launchInService(ctx: DockerContext, p: GroupPlan, owner: string, existingSubnets: string[], count: number, what: string, signals?: SignalGate | 'later'): Promise<AsgInstance[]> {
  if (count <= 0) return [];
  if (signals) await clearSignals(ctx.docker, `r.${ctx.stack}.${ctx.logicalId}`);
  const fresh = await launchInstances(ctx, p, owner, spreadSubnets(p.zones, existingSubnets, count), signals !== undefined);
  try {
    if (signals && signals !== 'later') await awaitResourceSignals(ctx, signals);
    if (p.keys.length) await refreshLoadBalancers(ctx, p.keys);
    // Signals, when the launch has them, are its readiness gate (as on AWS, where the instances' health
    // checks then only decide later replacements); without, load balancer health is.
    if (!signals) {
      const { unhealthy, views, waitedMs } = await waitInService(ctx, p.keys, fresh, (a) => admissionDeadline(p, a), p.minPercent);
      if (unhealthy.length) throw unhealthyError(waitedMs, unhealthy, views, what);
    }
  } catch (e) {
    await removeInstances(ctx, p.keys, fresh, false).catch(() => undefined);
    throw e;
  }
  return fresh;
}

/**
 * The group's state. `createdIn`: the deployment that created the group, when this is its creation:
 * only then does `waitReady` wait for the CreationPolicy's signals (an update gates its own launches).
 */
function groupState(p: GroupPlan, instances: AsgInstance[], createdIn?: string): ResourceState {
  return {
    physicalId: p.name,
    attributes: {},
    data: {
      ...(createdIn ? { createdIn } : {}),
      containers: instances.map((i) => ({ id: i.containerId, ip: i.ip, vpcId: i.vpcId, subnetId: i.subnetId, groups: i.groups, instanceId: i.instanceId }) as unknown as Json),
      instances: instances.map((i) => i.instanceId),
      config: p.key,
      launchTemplate: { source: p.lc.source, version: p.lc.version },
    },
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason ?? new Error('aborted'))), { once: true });
  });

export const autoScalingGroupHandler: DockerHandler = {
  type: 'AWS::AutoScaling::AutoScalingGroup',
  effect: 'real',

  async create(ctx, props) {
    const name = str(props.AutoScalingGroupName) ?? generatedName(ctx, 255);
    const p = await planGroup(ctx, props, name);
    const cp = ctx.policies?.CreationPolicy;
    const acp = cp && isObj(cp.AutoScalingCreationPolicy) ? cp.AutoScalingCreationPolicy : undefined;
    if (acp) p.minPercent = num(acp.MinSuccessfulInstancesPercent, 'CreationPolicy.AutoScalingCreationPolicy.MinSuccessfulInstancesPercent', 100);
    // With a CreationPolicy, the instances' signals are awaited by waitReady, once the group is in state.
    const instances = await launchInService(ctx, p, name, [], p.size.desired, `creating ${name}`, resourceSignalPolicy(ctx) ? 'later' : undefined);
    return groupState(p, instances, ctx.deployment);
  },

  async update(ctx, props, previous) {
    const { docker } = ctx;
    const oldName = previous.state.physicalId;
    const p = await planGroup(ctx, props, oldName);
    let policy = parseUpdatePolicy(ctx.policies?.UpdatePolicy, p.size.max);
    const all = await listInstances(docker, ctx.stack, ctx.logicalId, oldName);
    const oldKeys = [...new Set([...strList(previous.props.TargetGroupARNs), ...strList(previous.props.LoadBalancerNames), ...p.keys])];
    const outdated = all.filter((i) => !isCurrent(p, i));
    const current = all.filter((i) => isCurrent(p, i));
    const stopped = all.filter((i) => !i.running);
    if (policy.kind === 'none' && outdated.some((i) => i.running && i.targets !== p.targets)) {
      // AWS attaches running instances to new target groups / load balancers in place. kiln's
      // balancers find instances by an immutable label, so the instances are replaced instead,
      // start-first, one at a time (a rolling update with AWS's defaults).
      ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: 'TargetGroupARNs / LoadBalancerNames changed: replacing instances one at a time to register them' });
      policy = parseUpdatePolicy({ AutoScalingRollingUpdate: {} }, Math.max(p.size.max, 1));
    }

    if (outdated.length && policy.kind === 'replacing') {
      if (str(props.AutoScalingGroupName))
        throw new KilnError('CUSTOM_NAME_REPLACEMENT', `CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename ${oldName} and update the stack again.`, 'user');
      const np: GroupPlan = { ...p, name: generatedName(ctx, 255) };
      ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `replacing update: starting new group ${np.name} (${p.size.desired} instances)` });
      // The new group is a creation: its CreationPolicy holds for it, as on AWS.
      const fresh = await launchInService(ctx, np, np.name, [], p.size.desired, `replacing update of ${oldName}`, creationGate(ctx));
      ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `new group healthy; draining and removing ${oldName}` });
      await removeInstances(ctx, oldKeys, all);
      return groupState(np, fresh);
    }

    if (outdated.length && policy.kind === 'rolling') {
      p.minPercent = policy.minSuccessfulInstancesPercent;
      // Stopped instances go first and need no replacement before they go: they serve nothing.
      await removeInstances(ctx, oldKeys, stopped);
      const live = outdated.filter((i) => i.running);
      const batches = planRolling({ outdated: live.map((i) => i.instanceId), current: current.length, desired: p.size.desired, policy });
      let subnetsInUse = [...current, ...live].map((i) => i.subnetId);
      for (const [n, b] of batches.entries()) {
        ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `rolling update batch ${n + 1}/${batches.length}: +${b.launch} new, -${b.retire.length} old` });
        // WaitOnResourceSignals: each new instance must signal within PauseTime (the signal window, not a pause).
        const gate = policy.waitOnResourceSignals ? gateFor(b.launch, policy.pauseTimeMs, policy.minSuccessfulInstancesPercent) : undefined;
        const fresh = await launchInService(ctx, p, oldName, subnetsInUse, b.launch, `rolling update of ${oldName}, batch ${n + 1}/${batches.length}`, gate);
        subnetsInUse = [...subnetsInUse, ...fresh.map((i) => i.subnetId)];
        const retiring = live.filter((i) => b.retire.includes(i.instanceId));
        await removeInstances(ctx, oldKeys, retiring);
        for (const r of retiring) subnetsInUse.splice(subnetsInUse.indexOf(r.subnetId), 1);
        if (b.pauseAfterMs > 0 && !policy.waitOnResourceSignals) await sleep(b.pauseAfterMs, ctx.signal);
      }
      return groupState(p, await listInstances(docker, ctx.stack, ctx.logicalId, oldName));
    }

    if (outdated.some((i) => i.running) && policy.kind === 'none')
      ctx.events.emit({
        kind: 'warning',
        logicalId: ctx.logicalId,
        message: `${outdated.length} instance(s) do not match the new launch configuration; without an UpdatePolicy they keep running as they are (as on AWS)`,
      });
    // Capacity: replace stopped instances, then grow or shrink to the desired size.
    await removeInstances(ctx, oldKeys, stopped);
    const running = all.filter((i) => i.running);
    if (running.length < p.size.desired) {
      await launchInService(
        ctx,
        p,
        oldName,
        running.map((i) => i.subnetId),
        p.size.desired - running.length,
        `scaling ${oldName}`,
      );
    } else if (running.length > p.size.desired) {
      const ids = chooseToRemove(
        running.map((i) => ({ id: i.instanceId, current: isCurrent(p, i), launchedAt: i.launchedAt })),
        running.length - p.size.desired,
      );
      await removeInstances(
        ctx,
        oldKeys,
        running.filter((i) => ids.includes(i.instanceId)),
      );
    }
    if (p.keys.length) await refreshLoadBalancers(ctx, oldKeys);
    return groupState(p, await listInstances(docker, ctx.stack, ctx.logicalId, oldName));
  },

  async waitReady(ctx, state) {
    // The CreationPolicy holds for the group's creation only: an update gated its own launches
    // (WaitOnResourceSignals, a replacing update's new group) and has nothing more to wait for.
    if (state.data?.createdIn !== ctx.deployment) return;
    const gate = creationGate(ctx);
    if (gate) await awaitResourceSignals(ctx, gate);
  },

  async delete(ctx, state, props) {
    const { docker } = ctx;
    const keys = [...strList(props.TargetGroupARNs), ...strList(props.LoadBalancerNames)];
    const all = await listInstances(docker, ctx.stack, ctx.logicalId, state.physicalId);
    try {
      await removeInstances(ctx, keys, all);
    } catch (e) {
      throw new KilnError('AUTO_SCALING_DELETE', `cannot remove the instances of ${state.physicalId}: ${errorMessage(e)}`, 'environment', { cause: e });
    }
  },

  async read(ctx, state, props) {
    const { docker } = ctx;
    const all = await listInstances(docker, ctx.stack, ctx.logicalId, state.physicalId);
    const desired = groupSize(props).desired;
    const running = all.filter((i) => i.running).length;
    return {
      state: { ...state, data: { ...(state.data ?? {}), instances: all.map((i) => i.instanceId) } },
      drift: running === desired ? [] : [{ property: 'DesiredCapacity', expected: desired, actual: running, kind: 'NOT_EQUAL' as const }],
    };
  },
};
