// `AWS::ElasticLoadBalancing::LoadBalancer` (classic ELB) on the local target: an HAProxy container
// in the load balancer's subnet, behind its security groups, published on a loopback address of its
// own (its DNSName), one frontend per listener, health checks as configured (AWS's defaults
// otherwise), routing only to healthy instances. `Instances` and Auto Scaling groups naming it in
// `LoadBalancerNames` are its members; membership changes reload HAProxy without dropping a request.
import { createHash, randomBytes } from 'node:crypto';
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import { ResourceMissing, type ResourceContext, type ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import {
  CLASSIC_HEALTH_DEFAULTS,
  HAPROXY_COMMAND,
  admitFresh,
  applyModel,
  applyModelSafely,
  freshMembers,
  labelDiscovery,
  lbContainers,
  modelFiles,
  modelShape,
  parseClassicTarget,
  resolveMembers,
  waitHaproxyUp,
  waitMembers,
  type Backend,
  type Frontend,
  type HealthCheck,
  type LbModel,
  type Member,
} from './haproxy.js';
import { noteMember, reconcileFirewalls, type ContainerRecord } from './firewall.js';
import { destroyContainer, launchContainer, type Launched } from './launch.js';
import { defaultRegion } from './network.js';
import { defaultSubnetsOf } from './default-vpc.js';
import { LOCAL_ACCOUNT_ID } from './noop.js';
import { serviceImage } from './service-images.js';

export function str(v: Json | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

export function num(v: Json | undefined, where: string, dflt?: number): number {
  if (v === undefined || v === null) {
    if (dflt === undefined) throw new KilnError('INVALID_PROPERTY', `${where} is required`, 'user');
    return dflt;
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new KilnError('INVALID_PROPERTY', `${where} must be an integer, got ${JSON.stringify(v)}`, 'user');
  return n;
}

export function strList(v: Json | undefined): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => str(x)).filter((x): x is string => !!x);
}

export function isObj(v: Json | undefined): v is JsonObject {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export function upperSuffix(n: number): string {
  const b = randomBytes(n);
  return [...b].map((x) => ALNUM[x % ALNUM.length]).join('');
}

/** A name as CloudFormation generates it: `<stack>-<logicalId>-<RANDOM>`, cut to `max`. */
export function generatedName(ctx: ResourceContext, max: number, sep = '-'): string {
  const suffix = upperSuffix(12);
  const head = `${ctx.stack}${sep}${ctx.logicalId}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, max - suffix.length - 1);
  return `${head}-${suffix}`;
}

/** Hosted zone ids of ELB per region (AWS publishes them); a fixed one elsewhere. */
const ELB_ZONES: Record<string, string> = { 'us-east-1': 'Z35SXDOTRQ7X7K', 'eu-west-1': 'Z32O12XQLNTSW2', 'us-west-2': 'Z1H1FL5HABSF5', 'eu-central-1': 'Z215JYRZR1TBD5' };
export function elbZone(region: string): string {
  return ELB_ZONES[region] ?? 'Z35SXDOTRQ7X7K';
}

/** The private address of an instance the template names (`Instances`, target `Id`). */
export function instanceAddress(ctx: ResourceContext, id: string, where: string): string {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(id)) return id;
  const r = ctx.lookup(id);
  const ip = r?.state.attributes.PrivateIp;
  if (!r || typeof ip !== 'string') throw new KilnError('INSTANCE_NOT_FOUND', `${where}: the instance '${id}' does not exist (InvalidInstance)`, 'user');
  return ip;
}

// ---------------------------------------------------------------------------------------------
// Shared with elbv2.ts: the load balancer container

export interface LbPlacement {
  subnetIds: string[];
  groups: string[];
  internal: boolean;
  ports: number[];
  /** No groups and none wanted: a network load balancer without SecurityGroups filters nothing. */
  unfiltered?: boolean;
  /** Keep this private address (a relaunch: rules naming the balancer's groups stay right). */
  privateIp?: string;
  /** Keep this loopback address (a relaunch: the DNSName stays). */
  publicIp?: string;
}

/** A context acting for the load balancer resource (labels and names follow its logical id). */
export function asResource(ctx: DockerContext, logicalId: string): DockerContext {
  return logicalId === ctx.logicalId ? ctx : { ...ctx, logicalId };
}

/**
 * Starts the HAProxy container of a load balancer with `model` and brings its members in as
 * "initial" (healthy only after their checks pass).
 */
export async function launchLb(ctx: DockerContext, owner: string, place: LbPlacement, model: LbModel): Promise<{ launched: Launched; model: LbModel }> {
  if (!place.subnetIds.length) throw new KilnError('INVALID_PROPERTY', 'a load balancer needs Subnets on the local target (AvailabilityZones alone name no network)', 'user');
  const image = await serviceImage(ctx, 'load-balancer');
  const resolved = await resolveMembers(model, labelDiscovery(ctx));
  const fresh = freshMembers(undefined, resolved);
  const launched = await launchContainer(ctx, {
    image,
    subnetId: place.subnetIds[0],
    securityGroupIds: place.groups,
    ...(place.unfiltered ? { unfiltered: true } : {}),
    kind: 'load-balancer',
    owner,
    // Unique per load balancer: a replacement runs beside the one it replaces (create before delete).
    name: `lb-${createHash('sha256').update(owner).digest('hex').slice(0, 8)}`,
    entrypoint: HAPROXY_COMMAND,
    cmd: [],
    files: modelFiles(resolved, fresh),
    ...(place.privateIp ? { privateIp: place.privateIp } : {}),
    // The same loopback address each time the stack makes this load balancer (when free): the URL
    // of a re-created stack stays; a replacement running beside it gets the next free one.
    ...(place.internal ? {} : { publish: { ports: place.ports, key: 'lb', ...(place.publicIp ? { address: place.publicIp } : {}) } }),
  });
  try {
    await waitHaproxyUp(ctx, launched.containerId);
    await admitFresh(ctx, launched.containerId, resolved, fresh);
  } catch (e) {
    await destroyContainer(ctx, launched.data as unknown as { id: string }).catch(() => undefined);
    throw e;
  }
  return { launched, model: resolved };
}

export async function destroyLb(ctx: DockerContext, owner: string): Promise<void> {
  for (const c of await lbContainers(ctx, owner))
    await destroyContainer(ctx, { id: c.id, ...(c.ip ? { ip: c.ip } : {}), ...(c.publicIp ? { publicIp: c.publicIp } : {}), ...(c.vpcId ? { vpcId: c.vpcId } : {}) });
}

// ---------------------------------------------------------------------------------------------
// Classic ELB

interface ClassicListener {
  lbPort: number;
  instancePort: number;
  mode: 'http' | 'tcp';
}

function listenersOf(props: JsonObject): ClassicListener[] {
  const raw = Array.isArray(props.Listeners) ? props.Listeners : [];
  if (!raw.length) throw new KilnError('INVALID_PROPERTY', 'Listeners: a classic load balancer needs at least one listener', 'user');
  const seen = new Set<number>();
  return raw.map((l, i) => {
    if (!isObj(l)) throw new KilnError('INVALID_PROPERTY', `Listeners[${i}] must be an object`, 'user');
    const lbPort = num(l.LoadBalancerPort, `Listeners[${i}].LoadBalancerPort`);
    const instancePort = num(l.InstancePort, `Listeners[${i}].InstancePort`);
    if (seen.has(lbPort)) throw new KilnError('INVALID_PROPERTY', `Listeners[${i}]: port ${lbPort} is used by two listeners (DuplicateListener)`, 'user');
    seen.add(lbPort);
    const protocol = (str(l.InstanceProtocol) ?? str(l.Protocol) ?? 'HTTP').toUpperCase();
    if (!['HTTP', 'HTTPS', 'TCP', 'SSL'].includes(protocol)) throw new KilnError('INVALID_PROPERTY', `Listeners[${i}].Protocol '${protocol}' is not HTTP, HTTPS, TCP or SSL`, 'user');
    // TLS termination needs certificates kiln does not have locally: HTTPS/SSL pass through as TCP.
    return { lbPort, instancePort, mode: protocol === 'HTTP' ? 'http' : 'tcp' };
  });
}

function classicHealth(props: JsonObject, firstInstancePort: number): HealthCheck {
  const hc = isObj(props.HealthCheck) ? props.HealthCheck : undefined;
  const target = hc ? str(hc.Target) : undefined;
  const t = target ? parseClassicTarget(target) : { protocol: 'TCP' as const, port: firstInstancePort };
  const h: HealthCheck = {
    protocol: t.protocol,
    port: t.port,
    ...('path' in t && t.path ? { path: t.path } : {}),
    intervalS: num(hc?.Interval, 'HealthCheck.Interval', CLASSIC_HEALTH_DEFAULTS.intervalS),
    timeoutS: num(hc?.Timeout, 'HealthCheck.Timeout', CLASSIC_HEALTH_DEFAULTS.timeoutS),
    healthyThreshold: num(hc?.HealthyThreshold, 'HealthCheck.HealthyThreshold', CLASSIC_HEALTH_DEFAULTS.healthyThreshold),
    unhealthyThreshold: num(hc?.UnhealthyThreshold, 'HealthCheck.UnhealthyThreshold', CLASSIC_HEALTH_DEFAULTS.unhealthyThreshold),
    matcher: '200',
  };
  if (h.timeoutS >= h.intervalS) throw new KilnError('INVALID_PROPERTY', `HealthCheck.Timeout (${h.timeoutS}) must be smaller than HealthCheck.Interval (${h.intervalS})`, 'user');
  if (h.healthyThreshold < 2 || h.healthyThreshold > 10 || h.unhealthyThreshold < 2 || h.unhealthyThreshold > 10)
    throw new KilnError('INVALID_PROPERTY', 'HealthCheck thresholds must be between 2 and 10', 'user');
  return h;
}

/** The model of a classic ELB: a frontend per listener, a backend per instance port. */
export function classicModel(ctx: ResourceContext, name: string, props: JsonObject): LbModel {
  const listeners = listenersOf(props);
  const health = classicHealth(props, listeners[0].instancePort);
  const draining = isObj(props.ConnectionDrainingPolicy) ? props.ConnectionDrainingPolicy : undefined;
  const drainS = draining && (draining.Enabled === true || draining.Enabled === 'true') ? num(draining.Timeout, 'ConnectionDrainingPolicy.Timeout', 300) : 10;
  const instances = strList(props.Instances).map((id, i) => ({ id, addr: instanceAddress(ctx, id, `Instances[${i}]`) }));
  const frontends: Frontend[] = [];
  const backends = new Map<number, Backend>();
  for (const l of listeners) {
    const bname = `port_${l.instancePort}`;
    frontends.push({ name: `listener_${l.lbPort}`, port: l.lbPort, mode: l.mode, backend: bname });
    const existing = backends.get(l.instancePort);
    if (existing) {
      if (existing.mode !== l.mode) existing.mode = 'tcp';
      continue;
    }
    const members: Member[] = instances.map((x) => ({ ...x, port: l.instancePort }));
    backends.set(l.instancePort, { name: bname, mode: l.mode, health, static: members, discover: { key: name, port: l.instancePort }, members: [], drainS });
  }
  return { frontends, backends: [...backends.values()] };
}

function placementOf(ctx: DockerContext, props: JsonObject, model: LbModel): LbPlacement {
  // Without Subnets a classic load balancer is in the default VPC, in the default subnets of its AvailabilityZones.
  const subnets = strList(props.Subnets);
  return {
    subnetIds: subnets.length ? subnets : defaultSubnetsOf(ctx, strList(props.AvailabilityZones)),
    groups: strList(props.SecurityGroups),
    internal: str(props.Scheme) === 'internal',
    ports: model.frontends.map((f) => f.port),
  };
}

function classicState(ctx: DockerContext, name: string, launched: { privateIp: string; publicIp?: string; data: JsonObject }, props: JsonObject): ResourceState {
  const dns = launched.publicIp ?? launched.privateIp;
  const groups = strList(props.SecurityGroups);
  const sg = groups[0] ? ctx.lookup(groups[0]) : undefined;
  // A group named by its name (Ref of a default-VPC group) is that name.
  const groupName = sg ? (str(sg.state.attributes.GroupName) ?? str(sg.state.data?.groupName) ?? str(sg.properties.GroupName) ?? sg.state.physicalId) : (groups[0] ?? 'default');
  const zone = elbZone(defaultRegion());
  return {
    physicalId: name,
    attributes: {
      DNSName: dns,
      CanonicalHostedZoneName: dns,
      CanonicalHostedZoneNameID: zone,
      'SourceSecurityGroup.GroupName': groupName,
      'SourceSecurityGroup.OwnerAlias': LOCAL_ACCOUNT_ID,
    },
    data: { containers: [launched.data], placement: placementOf(ctx, props, { frontends: [], backends: [] }) as unknown as JsonObject },
  };
}

function sameGroups(a: LbPlacement, b: LbPlacement): boolean {
  return JSON.stringify([...a.groups].sort()) === JSON.stringify([...b.groups].sort());
}

function samePlacement(a: LbPlacement, b: LbPlacement): boolean {
  return JSON.stringify([a.subnetIds[0], a.internal, [...a.ports].sort()]) === JSON.stringify([b.subnetIds[0], b.internal, [...b.ports].sort()]);
}

function classicName(ctx: ResourceContext, props: JsonObject): string {
  const name = str(props.LoadBalancerName) ?? generatedName(ctx, 32);
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(name))
    throw new KilnError('INVALID_PROPERTY', `LoadBalancerName '${name}' must be 1-32 letters, digits or hyphens, not starting or ending with a hyphen`, 'user');
  return name;
}

/**
 * Head starts (`prepare`): HAProxy started with the listeners and health check but no instances,
 * while the instances it will front are still being created; the create adds them over the
 * runtime API. By `stack/deployment/logicalId`, until adopted or discarded. The container carries
 * the resource's labels, so a run killed in between leaves nothing recovery does not sweep.
 */
class WarmLbs extends Map<string, { name: string; place: LbPlacement; model: LbModel; launched: Launched }> {}
const warmKey = (ctx: ResourceContext) => `${ctx.stack}/${ctx.deployment}/${ctx.logicalId}`;

export const classicElbHandler: DockerHandler = {
  type: 'AWS::ElasticLoadBalancing::LoadBalancer',
  effect: 'real',

  prepare: {
    without: ['Instances'],
    async run(ctx, props) {
      const name = classicName(ctx, props);
      const model = classicModel(ctx, name, props);
      const place = placementOf(ctx, props, model);
      ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `starting HAProxy for ${name} (ports ${place.ports.join(', ')}) while its instances are created` });
      const { launched, model: running } = await launchLb(ctx, name, place, model);
      ctx.local.of(WarmLbs).set(warmKey(ctx), { name, place, model: running, launched });
    },
    async discard(ctx) {
      const warmLbs = ctx.local.of(WarmLbs);
      const warm = warmLbs.get(warmKey(ctx));
      if (!warm) return;
      warmLbs.delete(warmKey(ctx));
      await destroyLb(ctx, warm.name);
    },
  },

  async create(ctx, props) {
    const warmLbs = ctx.local.of(WarmLbs);
    const warm = warmLbs.get(warmKey(ctx));
    warmLbs.delete(warmKey(ctx));
    const name = warm?.name ?? classicName(ctx, props);
    const model = classicModel(ctx, name, props);
    const place = placementOf(ctx, props, model);
    if (warm) {
      if (samePlacement(warm.place, place) && sameGroups(warm.place, place) && modelShape(warm.model) === modelShape(model)) {
        try {
          await applyModel(ctx, warm.launched.containerId, model, { discover: labelDiscovery(ctx), signal: ctx.signal });
        } catch (e) {
          await destroyLb(ctx, name).catch(() => undefined);
          throw e;
        }
        return classicState(ctx, name, warm.launched, props);
      }
      await destroyLb(ctx, warm.name);
    }
    ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `starting HAProxy for ${name} (ports ${model.frontends.map((f) => f.port).join(', ')})` });
    const { launched } = await launchLb(ctx, name, place, model);
    return classicState(ctx, name, launched, props);
  },

  async update(ctx, props, previous) {
    const name = previous.state.physicalId;
    const model = classicModel(ctx, name, props);
    const before: LbPlacement = { ...placementOf(ctx, previous.props, { frontends: [], backends: [] }), ports: listenersOf(previous.props).map((l) => l.lbPort) };
    const after = placementOf(ctx, props, model);
    const [current] = await lbContainers(ctx, name);
    if (!current) throw new ResourceMissing(`the HAProxy container of ${name} no longer exists`);
    const records = Array.isArray(previous.state.data?.containers) ? (previous.state.data.containers as unknown as ContainerRecord[]) : [];
    if (samePlacement(before, after)) {
      let data = previous.state.data ?? {};
      if (JSON.stringify([...before.groups].sort()) !== JSON.stringify([...after.groups].sort())) {
        // Security groups: the packet filter reloads in place (no interruption).
        const next = records.map((r) => ({ ...r, groups: after.groups }));
        for (const r of next) noteMember(ctx, r);
        for (const vpcId of new Set(next.map((r) => r.vpcId))) await reconcileFirewalls(ctx, { vpcId });
        data = { ...data, containers: next as unknown as Json };
      }
      // Health checks, instances, listener protocols: a seamless reload.
      await applyModelSafely(ctx, current.id, model, { discover: labelDiscovery(ctx), signal: ctx.signal });
      return { ...previous.state, attributes: classicState(ctx, name, { privateIp: current.ip ?? '', ...(current.publicIp ? { publicIp: current.publicIp } : {}), data: {} }, props).attributes, data };
    }
    if (current.ip && before.subnetIds[0] === after.subnetIds[0]) after.privateIp = current.ip;
    if (current.publicIp) after.publicIp = current.publicIp;
    // New ports or subnet: Docker cannot add published ports to a running container, so the HAProxy
    // container is replaced (a short interruption; the DNSName stays when its address is free).
    ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `replacing the HAProxy container of ${name} (listener ports or subnet changed): brief interruption` });
    await destroyLb(ctx, name);
    const { launched } = await launchLb(ctx, name, after, model);
    return classicState(ctx, name, launched, props);
  },

  async delete(ctx, state) {
    await destroyLb(ctx, state.physicalId);
  },

  async waitReady(ctx, state) {
    const [c] = await lbContainers(ctx, state.physicalId);
    if (!c) throw new KilnError('LOAD_BALANCER_MISSING', `the HAProxy container of ${state.physicalId} is gone`, 'environment');
    await waitHaproxyUp(ctx, c.id);
    const out = await waitMembers(ctx, c.id, undefined, ctx.signal);
    if (out.length) ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `instances not in service yet (health check failing): ${out.join(', ')}` });
  },

  async read(ctx, state) {
    const [c] = await lbContainers(ctx, state.physicalId);
    if (!c) return { drift: [] };
    return { state, drift: [] };
  },
};
