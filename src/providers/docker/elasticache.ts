// `AWS::ElastiCache::SubnetGroup` and `AWS::ElastiCache::CacheCluster` on the local target: a real
// redis-server or memcached (Debian's packages, kiln's service image) per cache node, in a subnet of
// the cluster's subnet group, behind `VpcSecurityGroupIds` (enforced: a client outside the groups'
// rules is refused), on `Port`. Ref is the cluster name; endpoints are the nodes' private addresses.
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { DiffResult, ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import { generatedName, num, str, strList } from './elb.js';
import { execIn } from './haproxy.js';
import { destroyContainer, launchContainer, requireContainers, type Launched } from './launch.js';
import { currentView, noteMember, reconcileFirewalls, type ContainerRecord } from './firewall.js';
import { subnetInfo } from './network.js';
import { serviceImage } from './service-images.js';
import { finalSnapshotName, saveSnapshot } from './snapshots.js';

export const subnetGroupHandler: DockerHandler = {
  type: 'AWS::ElastiCache::SubnetGroup',
  effect: 'real',
  async create(ctx, props) {
    const subnets = strList(props.SubnetIds);
    if (!subnets.length) throw new KilnError('INVALID_PROPERTY', 'SubnetIds: a cache subnet group needs at least one subnet', 'user');
    const vpcs = new Set(subnets.map((s) => subnetInfo(ctx, s).vpcId));
    if (vpcs.size > 1) throw new KilnError('INVALID_PROPERTY', `SubnetIds: the subnets belong to different VPCs (${[...vpcs].join(', ')}) (InvalidSubnet)`, 'user');
    // AWS stores the name in lower case.
    const name = (str(props.CacheSubnetGroupName) ?? generatedName(ctx, 255)).toLowerCase();
    if (!/^[a-z0-9-]{1,255}$/.test(name)) throw new KilnError('INVALID_PROPERTY', `CacheSubnetGroupName '${name}' may hold only letters, digits and hyphens`, 'user');
    return { physicalId: name, attributes: {}, data: { subnetIds: subnets, vpcId: [...vpcs][0] } };
  },
  async update(ctx, props, previous) {
    const subnets = strList(props.SubnetIds);
    for (const s of subnets) subnetInfo(ctx, s);
    return { ...previous.state, data: { ...(previous.state.data ?? {}), subnetIds: subnets } };
  },
  async delete(ctx, state) {
    const users = ctx.allResources().filter((r) => r.type === 'AWS::ElastiCache::CacheCluster' && str(r.properties.CacheSubnetGroupName)?.toLowerCase() === state.physicalId);
    if (users.length)
      throw new KilnError('SUBNET_GROUP_IN_USE', `Cache subnet group ${state.physicalId} is currently in use by cache cluster ${users[0].state.physicalId} (CacheSubnetGroupInUse)`, 'user');
  },
};

export type Engine = 'redis' | 'memcached';

function engineOf(props: JsonObject): Engine {
  const e = (str(props.Engine) ?? '').toLowerCase();
  if (e !== 'redis' && e !== 'memcached') throw new KilnError('INVALID_PROPERTY', `Engine '${str(props.Engine) ?? ''}' is not redis or memcached`, 'user');
  return e;
}

/** The node's command: listens on every address of the container, no persistence (a cache). */
export function cacheCommand(engine: Engine, port: number): string[] {
  return engine === 'redis'
    ? ['redis-server', '--port', String(port), '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no']
    : ['memcached', '-u', 'nobody', '-p', String(port), '-U', '0', '-l', '0.0.0.0'];
}

/** The subnets nodes go to: the group's subnets, the preferred AZ's first. */
export function subnetsFor(ctx: DockerContext, props: JsonObject): string[] {
  const groupName = str(props.CacheSubnetGroupName)?.toLowerCase();
  if (!groupName) throw new KilnError('INVALID_PROPERTY', 'CacheSubnetGroupName is required on the local target (a cluster outside a VPC has no network here)', 'user');
  const group = ctx.resources().find((r) => r.type === 'AWS::ElastiCache::SubnetGroup' && r.state.physicalId === groupName) ?? ctx.lookup(groupName);
  const subnets = group?.state.data && Array.isArray(group.state.data.subnetIds) ? (group.state.data.subnetIds as string[]) : [];
  if (!subnets.length) throw new KilnError('INVALID_PROPERTY', `CacheSubnetGroupName: the cache subnet group '${groupName}' does not exist (CacheSubnetGroupNotFoundFault)`, 'user');
  const az = str(props.PreferredAvailabilityZone);
  if (!az) return subnets;
  const inAz = subnets.filter((s) => subnetInfo(ctx, s).availabilityZone === az);
  if (!inAz.length) throw new KilnError('INVALID_PROPERTY', `PreferredAvailabilityZone ${az}: no subnet of group ${groupName} is in that zone (InvalidParameterCombination)`, 'user');
  return [...inAz, ...subnets.filter((s) => !inAz.includes(s))];
}

/** Waits until the server answers on its port inside its container (PING / version). */
export async function waitServing(ctx: DockerContext, engine: Engine, port: number, containerId: string): Promise<void> {
  const { docker, signal } = ctx;
  const probe = engine === 'redis' ? ['redis-cli', '-p', String(port), 'ping'] : ['sh', '-c', `printf 'version\\r\\nquit\\r\\n' | socat -t 2 - tcp:127.0.0.1:${port}`];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await execIn(docker, containerId, probe).catch(() => undefined);
    if (r && r.code === 0 && /PONG|VERSION/.test(r.stdout)) return;
    if (Date.now() > deadline) throw new KilnError('CACHE_NOT_READY', `the ${engine} node did not answer on port ${port} within 30 s`, 'environment');
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    await new Promise((res) => setTimeout(res, 100));
  }
}

function clusterState(name: string, engine: Engine, port: number, nodes: Launched[]): ResourceState {
  const first = nodes[0];
  const attributes: Record<string, Json> =
    engine === 'redis'
      ? { 'RedisEndpoint.Address': first.privateIp, 'RedisEndpoint.Port': String(port) }
      : { 'ConfigurationEndpoint.Address': first.privateIp, 'ConfigurationEndpoint.Port': String(port) };
  return {
    physicalId: name,
    attributes,
    data: { containers: nodes.map((n) => n.data), engine, port, nodes: nodes.map((n) => n.privateIp) },
  };
}

export const cacheClusterHandler: DockerHandler = {
  type: 'AWS::ElastiCache::CacheCluster',
  effect: 'real',

  async create(ctx, props) {
    const engine = engineOf(props);
    const port = num(props.Port, 'Port', engine === 'redis' ? 6379 : 11211);
    if (port < 1 || port > 65535) throw new KilnError('INVALID_PROPERTY', `Port ${port} is out of range`, 'user');
    const count = num(props.NumCacheNodes, 'NumCacheNodes', 1);
    if (count < 1 || (engine === 'redis' && count !== 1) || count > 40)
      throw new KilnError('INVALID_PROPERTY', `NumCacheNodes ${count}: ${engine === 'redis' ? 'a redis cluster has exactly one node' : 'memcached takes 1 to 40 nodes'}`, 'user');
    const name = (str(props.ClusterName) ?? generatedName(ctx, 40)).toLowerCase();
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(name) || name.endsWith('-') || name.includes('--'))
      throw new KilnError('INVALID_PROPERTY', `ClusterName '${name}' must be 1-40 letters, digits or hyphens, start with a letter, without two consecutive hyphens or a trailing one`, 'user');
    const subnets = subnetsFor(ctx, props);
    const groups = strList(props.VpcSecurityGroupIds);
    const image = await serviceImage(ctx, engine);
    const nodes: Launched[] = [];
    try {
      for (let i = 0; i < count; i++) {
        ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `starting ${engine} node ${i + 1}/${count} of ${name} on port ${port}` });
        const node = await launchContainer(ctx, {
          image,
          subnetId: subnets[i % subnets.length],
          securityGroupIds: groups,
          kind: 'cache',
          owner: name,
          name: `${name}-${String(i + 1).padStart(4, '0')}-${Math.random().toString(16).slice(2, 8)}`,
          entrypoint: cacheCommand(engine, port),
          cmd: [],
        });
        nodes.push(node);
        await waitServing(ctx, engine, port, node.containerId);
      }
    } catch (e) {
      for (const n of nodes) await destroyContainer(ctx, n.data as unknown as { id: string }).catch(() => undefined);
      throw e;
    }
    return clusterState(name, engine, port, nodes);
  },

  /** Everything but the security groups (and bookkeeping such as tags) needs new nodes locally. */
  diff(oldProps, newProps): DiffResult {
    const inPlace = new Set([
      'VpcSecurityGroupIds',
      'Tags',
      'PreferredMaintenanceWindow',
      'SnapshotRetentionLimit',
      'SnapshotWindow',
      'NotificationTopicArn',
      'AutoMinorVersionUpgrade',
      'LogDeliveryConfigurations',
    ]);
    const keys = new Set([...Object.keys(oldProps), ...Object.keys(newProps)]);
    return { requiresReplacement: [...keys].filter((k) => !inPlace.has(k) && JSON.stringify(oldProps[k] ?? null) !== JSON.stringify(newProps[k] ?? null)) };
  },

  /** Security groups change in place (no interruption, as on AWS): the nodes' packet filters reload. */
  update: (ctx, props, previous) => regroupNodes(ctx, strList(props.VpcSecurityGroupIds), previous.state),

  delete: (ctx, state) => deleteNodes(ctx, state),

  snapshot: (ctx, state) => snapshotCache(ctx, state, undefined),

  async read(ctx, state) {
    const list = Array.isArray(state.data?.containers) ? (state.data.containers as JsonObject[]) : [];
    for (const c of list) {
      const info = await ctx.docker.inspectContainer(String(c.id)).catch(() => undefined);
      if (!info) return { drift: [] };
    }
    return { state, drift: [] };
  },
};

/** A cache's nodes moved to `groups` in place (no interruption, as on AWS): their packet filters reload. */
export async function regroupNodes(ctx: DockerContext, groups: string[], state: ResourceState): Promise<ResourceState> {
  const list = Array.isArray(state.data?.containers) ? (state.data.containers as unknown as ContainerRecord[]) : [];
  await requireContainers(
    ctx,
    list.map((c) => c.id),
    state.physicalId,
  );
  const view = currentView(ctx);
  for (const g of groups) if (!view.groups.has(g)) throw new KilnError('SECURITY_GROUP_NOT_FOUND', `The security group '${g}' does not exist (InvalidGroup.NotFound)`, 'user');
  const next = list.map((c) => ({ ...c, groups }));
  for (const c of next) noteMember(ctx, c);
  for (const vpcId of new Set(next.map((c) => c.vpcId))) await reconcileFirewalls(ctx, { vpcId });
  return { ...state, data: { ...(state.data ?? {}), containers: next as unknown as Json } };
}

/**
 * A cache's final snapshot (its Snapshot policy): each Redis primary's data as an RDB file
 * (`redis-cli --rdb`, the replication stream's snapshot), saved to a snapshot volume (snapshots.ts)
 * as `<node address>.rdb`. Memcached keeps nothing to save (as on AWS, where it has no snapshots).
 */
export async function snapshotCache(ctx: DockerContext, state: ResourceState, auth: string | undefined): Promise<string | undefined> {
  const port = Number(state.data?.port ?? 6379);
  const list = Array.isArray(state.data?.containers) ? (state.data.containers as JsonObject[]) : [];
  if (state.data?.engine === 'memcached' || !list.length) {
    ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `${state.physicalId}: memcached keeps no data to snapshot; deleted without one` });
    return undefined;
  }
  const cli = (...args: string[]) => ['redis-cli', '-p', String(port), ...(auth ? ['--no-auth-warning', '-a', auth] : []), ...args];
  const files: Array<{ containerId: string; path: string }> = [];
  for (const c of list) {
    const id = String(c.id);
    if (!/role:master/.test((await execIn(ctx.docker, id, cli('INFO', 'replication'))).stdout)) continue;
    const path = `/tmp/${String(c.ip)}.rdb`;
    const dump = await execIn(ctx.docker, id, cli('--rdb', path), 120_000);
    if (dump.code !== 0)
      throw new KilnError('SNAPSHOT_FAILED', `${state.physicalId}: the final snapshot of node ${String(c.ip)} failed: ${(dump.stderr || dump.stdout).trim().slice(-300)}`, 'environment');
    files.push({ containerId: id, path });
  }
  if (!files.length) throw new KilnError('SNAPSHOT_FAILED', `${state.physicalId}: no primary node answered, so no final snapshot could be taken`, 'environment');
  const name = finalSnapshotName(state.physicalId);
  const image = (await ctx.docker.inspectContainer(files[0]!.containerId)).Image;
  await saveSnapshot(ctx, { name, source: state.physicalId, image, files });
  ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `final snapshot ${name} saved (${files.length} RDB file(s), Docker volume kiln-snapshot-${name})` });
  return name;
}

/** Removes every node container a cache resource recorded. */
export async function deleteNodes(ctx: DockerContext, state: ResourceState): Promise<void> {
  const list = Array.isArray(state.data?.containers) ? (state.data.containers as JsonObject[]) : [];
  for (const c of list) await destroyContainer(ctx, c as unknown as { id: string; vpcId?: string; ip?: string });
}
