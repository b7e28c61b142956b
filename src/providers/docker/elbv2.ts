// `AWS::ElasticLoadBalancingV2::LoadBalancer` / `TargetGroup` / `Listener` (HTTP, and TCP passed
// through) on the local target. The load balancer is an HAProxy container (as for a classic ELB); a
// target group is a backend with its health check, written into every load balancer a listener
// forwards from; a listener is a frontend on its port. Docker cannot publish a new port on a running
// container: the load balancer publishes the ports the template's listeners on it will use when it
// starts (plannedListenerPorts), and a listener on any other port relaunches the HAProxy container
// on the same loopback address (a short interruption, only when listener ports change).
import { randomBytes } from 'node:crypto';
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import { ResourceMissing, type KnownResource, type ResourceContext, type ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler, DockerScope } from './context.js';
import { asResource, destroyLb, elbZone, generatedName, instanceAddress, isObj, launchLb, num, str, strList, type LbPlacement } from './elb.js';
import {
  TARGET_GROUP_HEALTH_DEFAULTS,
  applyModel,
  applyModelSafely,
  labelDiscovery,
  lbContainers,
  matcherRegex,
  readModel,
  waitHaproxyUp,
  waitMembers,
  type Backend,
  type HealthCheck,
  type LbModel,
} from './haproxy.js';
import { parseActions, parseCondition, ruleBackends, type FrontendRule } from './lb-rules.js';
import { defaultRegion } from './network.js';
import { LOCAL_ACCOUNT_ID } from './noop.js';

const hex16 = () => randomBytes(8).toString('hex');

function arnPrefix(): string {
  return `arn:aws:elasticloadbalancing:${defaultRegion()}:${LOCAL_ACCOUNT_ID}`;
}

/** `app/<name>/<hex>` of a load balancer ARN. */
export function lbFullName(arn: string): string {
  return arn.split(':loadbalancer/')[1] ?? arn;
}

/** `targetgroup/<name>/<hex>` of a target group ARN. */
export function tgFullName(arn: string): string {
  return arn.split(':')[5] ?? arn;
}

/** The HAProxy backend of a target group. */
export function tgBackendName(arn: string): string {
  const [, name, hex] = tgFullName(arn).split('/');
  return `tg_${name ?? 'x'}_${(hex ?? '').slice(0, 8)}`;
}

function checkName(name: string, what: string): void {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(name))
    throw new KilnError('INVALID_PROPERTY', `${what} '${name}' must be 1-32 letters, digits or hyphens, not starting or ending with a hyphen`, 'user');
}

// ---------------------------------------------------------------------------------------------
// Target group

function tgHealth(props: JsonObject, trafficPort: number): HealthCheck {
  const protocol = (str(props.HealthCheckProtocol) ?? str(props.Protocol) ?? 'HTTP').toUpperCase();
  const http = protocol === 'HTTP' || protocol === 'HTTPS';
  const portText = str(props.HealthCheckPort) ?? 'traffic-port';
  const h: HealthCheck = {
    protocol: protocol === 'HTTPS' ? 'HTTPS' : http ? 'HTTP' : 'TCP',
    ...(portText === 'traffic-port' ? {} : { port: num(portText, 'HealthCheckPort') }),
    ...(http ? { path: str(props.HealthCheckPath) ?? TARGET_GROUP_HEALTH_DEFAULTS.path } : {}),
    intervalS: num(props.HealthCheckIntervalSeconds, 'HealthCheckIntervalSeconds', TARGET_GROUP_HEALTH_DEFAULTS.intervalS),
    // TCP checks default to 10 s, but never to a timeout as long as a shorter interval given (a network
    // load balancer's 5 or 10 s interval alone is valid on AWS).
    timeoutS: num(
      props.HealthCheckTimeoutSeconds,
      'HealthCheckTimeoutSeconds',
      http ? TARGET_GROUP_HEALTH_DEFAULTS.timeoutS : Math.max(2, Math.min(10, num(props.HealthCheckIntervalSeconds, 'HealthCheckIntervalSeconds', 30) - 1)),
    ),
    healthyThreshold: num(props.HealthyThresholdCount, 'HealthyThresholdCount', TARGET_GROUP_HEALTH_DEFAULTS.healthyThreshold),
    unhealthyThreshold: num(props.UnhealthyThresholdCount, 'UnhealthyThresholdCount', TARGET_GROUP_HEALTH_DEFAULTS.unhealthyThreshold),
    matcher: isObj(props.Matcher) ? (str(props.Matcher.HttpCode) ?? '200') : '200',
  };
  if (h.port === undefined) void trafficPort;
  matcherRegex(h.matcher ?? '200'); // validates
  if (h.timeoutS >= h.intervalS) throw new KilnError('INVALID_PROPERTY', `HealthCheckTimeoutSeconds (${h.timeoutS}) must be smaller than HealthCheckIntervalSeconds (${h.intervalS})`, 'user');
  return h;
}

function tgAttribute(props: JsonObject, key: string): string | undefined {
  const list = Array.isArray(props.TargetGroupAttributes) ? props.TargetGroupAttributes : [];
  for (const a of list) if (isObj(a) && str(a.Key) === key) return str(a.Value);
  return undefined;
}

/** The backend of a target group as a load balancer serves it. */
export function tgBackend(ctx: ResourceContext, tg: { arn: string; props: JsonObject }): Backend {
  const port = num(tg.props.Port, 'Port', 80);
  const protocol = (str(tg.props.Protocol) ?? 'HTTP').toUpperCase();
  const targets = Array.isArray(tg.props.Targets) ? tg.props.Targets : [];
  const members = targets.map((t, i) => {
    if (!isObj(t)) throw new KilnError('INVALID_PROPERTY', `Targets[${i}] must be an object with Id`, 'user');
    const id = str(t.Id) ?? '';
    return { id, addr: instanceAddress(ctx, id, `Targets[${i}].Id`), port: num(t.Port, `Targets[${i}].Port`, port) };
  });
  return {
    name: tgBackendName(tg.arn),
    mode: protocol === 'HTTP' ? 'http' : 'tcp',
    health: tgHealth(tg.props, port),
    static: members,
    discover: { key: tg.arn, port },
    members: [],
    drainS: num(tgAttribute(tg.props, 'deregistration_delay.timeout_seconds') ?? null, 'deregistration_delay.timeout_seconds', 300),
  };
}

/** Load balancer containers whose model serves a target group. */
async function servingLbs(scope: DockerScope, tgArn: string): Promise<Array<{ id: string; owner: string; model: LbModel }>> {
  const out: Array<{ id: string; owner: string; model: LbModel }> = [];
  for (const c of await lbContainers(scope)) {
    const model = await readModel(scope, c.id).catch(() => undefined);
    if (model?.backends.some((b) => b.name === tgBackendName(tgArn))) out.push({ id: c.id, owner: c.owner, model });
  }
  return out;
}

function tgState(arn: string, name: string, lbArns: string[]): ResourceState {
  return { physicalId: arn, attributes: { TargetGroupArn: arn, TargetGroupFullName: tgFullName(arn), TargetGroupName: name, LoadBalancerArns: lbArns } };
}

export const targetGroupHandler: DockerHandler = {
  type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
  effect: 'real',
  async create(ctx, props) {
    const name = str(props.Name) ?? generatedName(ctx, 32).slice(-32).replace(/^-+/, '');
    checkName(name, 'Name');
    const arn = `${arnPrefix()}:targetgroup/${name}/${hex16()}`;
    tgBackend(ctx, { arn, props }); // validates health check and targets
    return tgState(arn, name, []);
  },
  async update(ctx, props, previous) {
    const arn = previous.state.physicalId;
    const backend = tgBackend(ctx, { arn, props });
    const lbs = await servingLbs(ctx, arn);
    for (const lb of lbs) {
      const model: LbModel = { ...lb.model, backends: lb.model.backends.map((b) => (b.name === backend.name ? backend : b)) };
      await applyModelSafely(ctx, lb.id, model, { discover: labelDiscovery(ctx), signal: ctx.signal });
    }
    return tgState(
      arn,
      String(previous.state.attributes.TargetGroupName),
      lbs.map((l) => l.owner),
    );
  },
  async delete(ctx, state) {
    const users = ctx
      .allResources()
      .filter(
        (r) =>
          (r.type === 'AWS::ElasticLoadBalancingV2::Listener' && forwardTarget(r.properties) === state.physicalId) ||
          (r.type === 'AWS::ElasticLoadBalancingV2::ListenerRule' && strList(r.state.data?.targetGroups).includes(state.physicalId)),
      );
    if (users.length) throw new KilnError('RESOURCE_IN_USE', `Target group '${state.physicalId}' is currently in use by a listener or a rule (ResourceInUse)`, 'user');
  },
};

// ---------------------------------------------------------------------------------------------
// Load balancer

function placement(props: JsonObject, ports: number[]): LbPlacement {
  const mapped = Array.isArray(props.SubnetMappings) ? props.SubnetMappings.filter(isObj).map((m) => str(m.SubnetId) ?? '') : [];
  // On AWS a network load balancer made without security groups filters nothing (its targets' groups do).
  const unfiltered = str(props.Type) === 'network' && props.SecurityGroups === undefined;
  return {
    subnetIds: [...strList(props.Subnets), ...mapped].filter(Boolean),
    groups: strList(props.SecurityGroups),
    internal: str(props.Scheme) === 'internal',
    ports,
    ...(unfiltered ? { unfiltered } : {}),
  };
}

function lbState(arn: string, name: string, dns: string, props: JsonObject, data: JsonObject): ResourceState {
  return {
    physicalId: arn,
    attributes: {
      DNSName: dns,
      LoadBalancerArn: arn,
      LoadBalancerFullName: lbFullName(arn),
      LoadBalancerName: name,
      SecurityGroups: strList(props.SecurityGroups) as Json[],
      CanonicalHostedZoneID: elbZone(defaultRegion()),
    },
    data,
  };
}

/**
 * The ports the template's listeners on this load balancer will use (`LoadBalancerArn: {Ref: <it>}`
 * and a literal `Port`): published when the container starts, so the first listeners need no
 * relaunch (Docker cannot publish ports on a running container). HAProxy listens on none of them
 * until a listener adds its frontend, so until then they refuse, as on AWS.
 */
export function plannedListenerPorts(ctx: ResourceContext): number[] {
  const ports = new Set<number>();
  for (const r of ctx.siblings?.() ?? []) {
    if (r.type !== 'AWS::ElasticLoadBalancingV2::Listener') continue;
    const target = r.properties.LoadBalancerArn;
    if (!isObj(target) || target.Ref !== ctx.logicalId) continue;
    const port = typeof r.properties.Port === 'number' ? r.properties.Port : typeof r.properties.Port === 'string' && /^\d+$/.test(r.properties.Port) ? Number(r.properties.Port) : NaN;
    if (Number.isInteger(port) && port >= 1 && port <= 65535) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

export const loadBalancerV2Handler: DockerHandler = {
  type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  effect: 'real',
  async create(ctx, props) {
    const type = str(props.Type) ?? 'application';
    if (type !== 'application' && type !== 'network') throw new KilnError('INVALID_PROPERTY', `Type '${type}': the local target runs application and network load balancers`, 'user');
    const name = str(props.Name) ?? generatedName(ctx, 32).slice(-32).replace(/^-+/, '');
    checkName(name, 'Name');
    const arn = `${arnPrefix()}:loadbalancer/${type === 'network' ? 'net' : 'app'}/${name}/${hex16()}`;
    const { launched } = await launchLb(ctx, arn, placement(props, plannedListenerPorts(ctx)), { frontends: [], backends: [] });
    return lbState(arn, name, launched.publicIp ?? launched.privateIp, props, { containers: [launched.data] });
  },
  async update(ctx, props, previous) {
    // Subnets / security groups: relaunch with the current model and ports.
    const arn = previous.state.physicalId;
    const [c] = await lbContainers(ctx, arn);
    if (!c) throw new ResourceMissing(`the HAProxy container of ${arn} no longer exists`);
    const model = (await readModel(ctx, c.id)) || { frontends: [], backends: [] };
    await destroyLb(ctx, arn);
    // The DNSName stays (AWS keeps it across subnet and group changes).
    const { launched } = await launchLb(
      ctx,
      arn,
      {
        ...placement(
          props,
          model.frontends.map((f) => f.port),
        ),
        ...(c.publicIp ? { publicIp: c.publicIp } : {}),
      },
      model,
    );
    return lbState(arn, String(previous.state.attributes.LoadBalancerName), launched.publicIp ?? launched.privateIp, props, { containers: [launched.data] });
  },
  async delete(ctx, state) {
    await destroyLb(ctx, state.physicalId);
  },
  async waitReady(ctx, state) {
    const [c] = await lbContainers(ctx, state.physicalId);
    if (!c) throw new KilnError('LOAD_BALANCER_MISSING', `the HAProxy container of ${state.physicalId} is gone`, 'environment');
    await waitHaproxyUp(ctx, c.id);
  },
};

// ---------------------------------------------------------------------------------------------
// Listener

function forwardTarget(props: JsonObject): string | undefined {
  const actions = Array.isArray(props.DefaultActions) ? props.DefaultActions.filter(isObj) : [];
  const fwd = actions.find((a) => str(a.Type) === 'forward');
  if (!fwd) return undefined;
  const direct = str(fwd.TargetGroupArn);
  if (direct) return direct;
  const cfg = isObj(fwd.ForwardConfig) ? fwd.ForwardConfig : undefined;
  const groups = cfg && Array.isArray(cfg.TargetGroups) ? cfg.TargetGroups.filter(isObj) : [];
  return groups[0] ? str(groups[0].TargetGroupArn) : undefined;
}

function need(ctx: ResourceContext, id: string | undefined, type: string, what: string): KnownResource {
  const r = id ? ctx.lookup(id) : undefined;
  if (!r || r.type !== type) throw new KilnError('INVALID_PROPERTY', `${what}: '${id ?? ''}' is not a live ${type}`, 'user');
  return r;
}

/**
 * Adds (or, with `removePort`, takes away) a listener's frontend and its target group's backend.
 * Returns the relaunched container's record when the HAProxy container had to be relaunched.
 */
async function changeListener(ctx: DockerContext, lbArn: string, add: { port: number; mode: 'http' | 'tcp'; tg: KnownResource } | undefined, removePort?: number): Promise<JsonObject | undefined> {
  const lb = need(ctx, lbArn, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'LoadBalancerArn');
  const [c] = await lbContainers(ctx, lbArn);
  if (!c) throw new KilnError('LOAD_BALANCER_MISSING', `the HAProxy container of ${lbArn} is gone`, 'environment');
  const current = (await readModel(ctx, c.id)) ?? { frontends: [], backends: [] };
  // The listener's rules stay with it (across a port or protocol change; they go when it goes).
  const rules = current.frontends.find((f) => f.port === (removePort ?? add?.port))?.rules ?? [];
  let frontends = current.frontends.filter((f) => f.port !== removePort && f.port !== add?.port);
  let backends = current.backends;
  if (add) {
    const backend = tgBackend(ctx, { arn: add.tg.state.physicalId, props: add.tg.properties });
    if (rules.length && add.mode !== 'http') throw new KilnError('INVALID_PROPERTY', `Protocol: listener rules need an HTTP listener; remove the rules of port ${add.port} first`, 'user');
    frontends = [...frontends, { name: `listener_${add.port}`, port: add.port, mode: add.mode, backend: backend.name, ...(rules.length ? { rules } : {}) }];
    backends = [...backends.filter((b) => b.name !== backend.name), backend];
  }
  const model: LbModel = { frontends, backends: usedBackends(frontends, backends) };
  const info = await ctx.docker.inspectContainer(c.id);
  const published = new Set(Object.keys(info.HostConfig.PortBindings ?? {}).map((k) => Number(k.split('/')[0])));
  const internal = !c.publicIp;
  if (internal || frontends.every((f) => published.has(f.port))) {
    await applyModel(ctx, c.id, model, { discover: labelDiscovery(ctx), signal: ctx.signal });
    return undefined;
  }
  ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `relaunching the HAProxy container of ${lb.logicalId} to publish port ${add?.port}: brief interruption` });
  await destroyLb(ctx, lbArn);
  // Same private address: rules that name the balancer's security groups stay right.
  const { launched } = await launchLb(
    asResource(ctx, lb.logicalId),
    lbArn,
    {
      ...placement(
        lb.properties,
        frontends.map((f) => f.port),
      ),
      ...(c.ip ? { privateIp: c.ip } : {}),
      ...(c.publicIp ? { publicIp: c.publicIp } : {}),
    },
    model,
  );
  return launched.data;
}

const ONLY_FORWARD = 'DefaultActions: the local target supports a forward action to a target group';

/** At plan: default actions written out whose types are all known and none of which forwards. */
function listenerPlanNote(props: JsonObject): { error: boolean; message: string } | undefined {
  const actions = props.DefaultActions;
  if (!Array.isArray(actions) || !actions.length || !actions.every((a) => isObj(a) && typeof a.Type === 'string')) return undefined;
  const types = (actions as JsonObject[]).map((a) => String(a.Type));
  return types.includes('forward') ? undefined : { error: true, message: `AWS::ElasticLoadBalancingV2::Listener: ${ONLY_FORWARD} (this listener's: ${types.join(', ')})` };
}

/** The backends some frontend sends to, by default or through a rule. */
function usedBackends(frontends: LbModel['frontends'], backends: Backend[]): Backend[] {
  return backends.filter((b) => frontends.some((f) => f.backend === b.name || (f.rules ?? []).some((r) => ruleBackends(r).includes(b.name))));
}

function listenerOf(props: JsonObject): { port: number; mode: 'http' | 'tcp'; tgArn: string } {
  const port = num(props.Port, 'Port');
  if (port < 1 || port > 65535) throw new KilnError('INVALID_PROPERTY', `Port ${port} is out of range`, 'user');
  const protocol = (str(props.Protocol) ?? 'HTTP').toUpperCase();
  const tgArn = forwardTarget(props);
  if (!tgArn) throw new KilnError('INVALID_PROPERTY', ONLY_FORWARD, 'user');
  return { port, mode: protocol === 'HTTP' ? 'http' : 'tcp', tgArn };
}

export const listenerHandler: DockerHandler = {
  type: 'AWS::ElasticLoadBalancingV2::Listener',
  effect: 'real',
  planNote: listenerPlanNote,
  async create(ctx, props) {
    const lbArn = str(props.LoadBalancerArn) ?? '';
    const l = listenerOf(props);
    const tg = need(ctx, l.tgArn, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'DefaultActions[0].TargetGroupArn');
    const relaunched = await changeListener(ctx, lbArn, { port: l.port, mode: l.mode, tg });
    const arn = `${arnPrefix()}:listener/${lbFullName(lbArn)}/${hex16()}`;
    // A relaunched balancer container is recorded here too, so later runs reload its packet filter.
    return { physicalId: arn, attributes: { ListenerArn: arn }, data: { lbArn, port: l.port, ...(relaunched ? { containers: [relaunched] } : {}) } };
  },
  async waitReady(ctx, state) {
    const [c] = await lbContainers(ctx, String(state.data?.lbArn ?? ''));
    if (!c) return;
    const out = await waitMembers(ctx, c.id, undefined, ctx.signal);
    if (out.length) ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `targets not healthy yet (health check failing): ${out.join(', ')}` });
  },
  async update(ctx, props, previous) {
    const l = listenerOf(props);
    const tg = need(ctx, l.tgArn, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'DefaultActions[0].TargetGroupArn');
    const lbArn = String(previous.state.data?.lbArn ?? props.LoadBalancerArn);
    // A listener is a frontend of its load balancer's HAProxy container: with the container, it went too.
    if (!(await lbContainers(ctx, lbArn)).length) throw new ResourceMissing(`the HAProxy container of its load balancer ${lbArn} no longer exists`);
    const relaunched = await changeListener(ctx, lbArn, { port: l.port, mode: l.mode, tg }, Number(previous.state.data?.port));
    return { ...previous.state, data: { ...(previous.state.data ?? {}), port: l.port, ...(relaunched ? { containers: [relaunched] } : {}) } };
  },
  async delete(ctx, state) {
    const lbArn = String(state.data?.lbArn ?? '');
    if (!(await lbContainers(ctx, lbArn)).length) return; // the load balancer is gone already
    await changeListener(ctx, lbArn, undefined, Number(state.data?.port));
  },
};

// ---------------------------------------------------------------------------------------------
// Listener rule

/** A rule of the template, read and checked (target groups must be live ones). */
function ruleOf(ctx: ResourceContext, id: string, props: JsonObject): FrontendRule {
  const priority = num(props.Priority, 'Priority');
  if (priority < 1 || priority > 50000) throw new KilnError('INVALID_PROPERTY', `Priority ${priority} is outside 1-50000`, 'user');
  const conditions = Array.isArray(props.Conditions) ? props.Conditions : [];
  if (!conditions.length) throw new KilnError('INVALID_PROPERTY', 'Conditions needs at least one condition', 'user');
  if (Array.isArray(props.Transforms) && props.Transforms.length) throw new KilnError('UNSUPPORTED_ON_LOCAL', 'Transforms (host and URL rewrites) are not realised on the local target', 'user');
  return {
    id,
    priority,
    conditions: conditions.map((c, i) => parseCondition(c, `Conditions[${i}]`)),
    action: parseActions(props.Actions, (arn, at) => tgBackendName(need(ctx, arn, 'AWS::ElasticLoadBalancingV2::TargetGroup', at).state.physicalId)),
  };
}

/** Rewrites the rules of a listener's frontend with `edit` and applies the model (adding the rules' target groups). */
async function changeRules(ctx: DockerContext, listenerArn: string, edit: (rules: FrontendRule[]) => FrontendRule[], missingOk = false): Promise<void> {
  const listener = ctx.lookup(listenerArn);
  if (!listener || listener.type !== 'AWS::ElasticLoadBalancingV2::Listener') {
    if (missingOk) return;
    throw new KilnError('INVALID_PROPERTY', `ListenerArn: '${listenerArn}' is not a live AWS::ElasticLoadBalancingV2::Listener (ListenerNotFound)`, 'user');
  }
  const lbArn = String(listener.state.data?.lbArn ?? '');
  const port = Number(listener.state.data?.port);
  const [c] = await lbContainers(ctx, lbArn);
  if (!c) {
    if (missingOk) return;
    throw new KilnError('LOAD_BALANCER_MISSING', `the HAProxy container of ${lbArn} is gone`, 'environment');
  }
  const current = (await readModel(ctx, c.id)) ?? { frontends: [], backends: [] };
  const f = current.frontends.find((x) => x.port === port);
  if (!f) {
    if (missingOk) return;
    throw new KilnError('LISTENER_MISSING', `the load balancer has no listener on port ${port}`, 'environment');
  }
  if (f.mode !== 'http') throw new KilnError('INVALID_PROPERTY', `ListenerArn: rules need an HTTP listener; port ${port} is ${f.mode.toUpperCase()}`, 'user');
  const rules = edit(f.rules ?? []);
  const frontends = current.frontends.map((x) => (x === f ? { ...f, rules } : x));
  const have = new Set(current.backends.map((b) => b.name));
  const added: Backend[] = [];
  for (const r of rules)
    if (r.action.type === 'forward')
      for (const t of r.action.targets)
        if (!have.has(t.backend) && !added.some((b) => b.name === t.backend)) {
          const tg = need(ctx, t.tgArn, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'Actions');
          added.push(tgBackend(ctx, { arn: tg.state.physicalId, props: tg.properties }));
        }
  const model: LbModel = { frontends, backends: usedBackends(frontends, [...current.backends, ...added]) };
  await applyModel(ctx, c.id, model, { discover: labelDiscovery(ctx), signal: ctx.signal });
}

function placeRule(rules: FrontendRule[], rule: FrontendRule): FrontendRule[] {
  const clash = rules.find((r) => r.priority === rule.priority && r.id !== rule.id);
  if (clash) throw new KilnError('PRIORITY_IN_USE', `Priority '${rule.priority}' is currently in use (PriorityInUse)`, 'user');
  return [...rules.filter((r) => r.id !== rule.id), rule].sort((a, b) => a.priority - b.priority);
}

function ruleState(arn: string, listenerArn: string, rule: FrontendRule): ResourceState {
  const targetGroups = rule.action.type === 'forward' ? rule.action.targets.map((t) => t.tgArn) : [];
  return { physicalId: arn, attributes: { RuleArn: arn, IsDefault: false }, data: { listenerArn, targetGroups } };
}

export const listenerRuleHandler: DockerHandler = {
  type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
  effect: 'real',
  async create(ctx, props) {
    const listenerArn = str(props.ListenerArn) ?? '';
    const arn = `${arnPrefix()}:listener-rule/${listenerArn.split(':listener/')[1] ?? 'app/x/x/x'}/${hex16()}`;
    const rule = ruleOf(ctx, arn, props);
    await changeRules(ctx, listenerArn, (rules) => placeRule(rules, rule));
    return ruleState(arn, listenerArn, rule);
  },
  async update(ctx, props, previous) {
    const arn = previous.state.physicalId;
    const rule = ruleOf(ctx, arn, props);
    const listenerArn = String(previous.state.data?.listenerArn ?? props.ListenerArn);
    await changeRules(ctx, listenerArn, (rules) => placeRule(rules, rule));
    return ruleState(arn, listenerArn, rule);
  },
  async delete(ctx, state) {
    // A rule goes with its listener or load balancer: nothing left to change then.
    await changeRules(ctx, String(state.data?.listenerArn ?? ''), (rules) => rules.filter((r) => r.id !== state.physicalId), true);
  },
  async waitReady(ctx, state) {
    const listener = ctx.lookup(String(state.data?.listenerArn ?? ''));
    const [c] = await lbContainers(ctx, String(listener?.state.data?.lbArn ?? ''));
    if (!c) return;
    const out = await waitMembers(ctx, c.id, undefined, ctx.signal);
    if (out.length) ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `targets not healthy yet (health check failing): ${out.join(', ')}` });
  },
};
