// `AWS::ElastiCache::ReplicationGroup` and `AWS::ElastiCache::ParameterGroup` on the local target.
// A replication group is real Redis: a primary and its replicas (`NumCacheClusters`, or
// `ReplicasPerNodeGroup` per shard), each a redis-server in a subnet of the cache subnet group behind
// `SecurityGroupIds` (enforced for clients; the nodes reach each other as on AWS, where replication
// does not cross the customer's groups). With more than one shard (`NumNodeGroups`), or a parameter
// group saying `cluster-enabled: yes`, the nodes form a Redis Cluster (`redis-cli --cluster create`)
// and the group has a configuration endpoint. `AuthToken` becomes the servers' password (set after
// start, so it is in no container's configuration). A parameter group's parameters are applied to
// the servers that use it (`CONFIG SET`), at start and when the group changes; parameters Redis does
// not know (ElastiCache's own, such as `reserved-memory-percent`) are reported as having no local
// effect. `TransitEncryptionEnabled` is not realised: the local servers speak plain TCP (reported).
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../core/json.js';
import { ReplacementRequired, type DiffResult, type KnownResource, type ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import { generatedName, num, str, strList } from './elb.js';
import { cacheCommand, deleteNodes, regroupNodes, snapshotCache, subnetsFor, waitServing } from './elasticache.js';
import { execIn } from './haproxy.js';
import { destroyContainer, launchContainer, type Launched } from './launch.js';
import { noteMember, reconcileFirewalls } from './firewall.js';
import { serviceImage } from './service-images.js';

const PARAMETER_GROUP = 'AWS::ElastiCache::ParameterGroup';
const REPLICATION_GROUP = 'AWS::ElastiCache::ReplicationGroup';

function parametersOf(props: JsonObject): Record<string, string> {
  const p = props.Properties;
  const out: Record<string, string> = {};
  if (p && typeof p === 'object' && !Array.isArray(p)) for (const [k, v] of Object.entries(p)) if (v !== null) out[k] = String(v);
  return out;
}

export const parameterGroupHandler: DockerHandler = {
  type: PARAMETER_GROUP,
  effect: 'real',
  async create(ctx, props) {
    const family = str(props.CacheParameterGroupFamily) ?? '';
    if (!/^(redis|valkey|memcached)/.test(family)) throw new KilnError('INVALID_PROPERTY', `CacheParameterGroupFamily '${family}' is not a redis, valkey or memcached family`, 'user');
    const name = (str(props.CacheParameterGroupName) ?? generatedName(ctx, 255)).toLowerCase();
    return { physicalId: name, attributes: { CacheParameterGroupName: name }, data: { family, parameters: parametersOf(props) } };
  },
  /**
   * New parameters reach the running servers of every group and cluster that uses this one. A
   * change of cluster mode cannot: Redis reads it at start, so the update is refused as needing a
   * replacement (new servers) when a running group would have to switch.
   */
  async update(ctx, props, previous) {
    const parameters = parametersOf(props);
    const users = ctx
      .allResources()
      .filter((r) => (r.type === REPLICATION_GROUP || r.type === 'AWS::ElastiCache::CacheCluster') && str(r.properties.CacheParameterGroupName)?.toLowerCase() === previous.state.physicalId);
    const switching = users.filter((u) => u.type === REPLICATION_GROUP && u.state.data?.cluster !== undefined && Boolean(u.state.data.cluster) !== clusterMode(u.properties, parameters));
    if (switching.length)
      throw new ReplacementRequired(
        `cluster-enabled is read when Redis starts, and the running servers of ${switching.map((u) => u.state.physicalId).join(', ')} would have to switch cluster mode, which they cannot do live`,
      );
    for (const u of users) await applyParameters(ctx, u.state, parameters, str(u.properties.AuthToken));
    return { ...previous.state, data: { ...(previous.state.data ?? {}), parameters } };
  },
  async delete(ctx, state) {
    const users = ctx
      .allResources()
      .filter((r) => (r.type === REPLICATION_GROUP || r.type === 'AWS::ElastiCache::CacheCluster') && str(r.properties.CacheParameterGroupName)?.toLowerCase() === state.physicalId);
    if (users.length) throw new KilnError('PARAMETER_GROUP_IN_USE', `Cache parameter group ${state.physicalId} is in use by ${users[0]!.state.physicalId} (InvalidCacheParameterGroupState)`, 'user');
  },
};

/** Parameters only ElastiCache knows, or that Redis takes at start only (cluster mode is decided at start). */
const START_ONLY = new Set(['cluster-enabled']);

function nodesOf(state: ResourceState): Array<{ id: string; ip: string }> {
  const list = Array.isArray(state.data?.containers) ? (state.data.containers as JsonObject[]) : [];
  return list.map((c) => ({ id: String(c.id), ip: String(c.ip) }));
}

function cli(port: number, auth: string | undefined, ...args: string[]): string[] {
  return ['redis-cli', '-p', String(port), ...(auth ? ['--no-auth-warning', '-a', auth] : []), ...args];
}

/** `CONFIG SET` of each parameter on each node; what Redis refuses is reported, not fatal (ElastiCache-only names). */
async function applyParameters(ctx: DockerContext, state: ResourceState, parameters: Record<string, string>, auth: string | undefined): Promise<void> {
  const port = Number(state.data?.port ?? 6379);
  for (const [k, v] of Object.entries(parameters)) {
    if (START_ONLY.has(k)) continue;
    for (const n of nodesOf(state)) {
      const r = await execIn(ctx.docker, n.id, cli(port, auth, 'CONFIG', 'SET', k, v)).catch(() => undefined);
      if (!r || r.code !== 0 || !/^OK/m.test(r.stdout)) {
        ctx.events.emit({
          kind: 'warning',
          logicalId: ctx.logicalId,
          message: `parameter ${k}=${v} has no local effect (the local Redis does not take it: ${(r?.stdout || r?.stderr || 'no answer').trim()})`,
        });
        break;
      }
    }
  }
}

function parameterGroup(ctx: DockerContext, props: JsonObject): KnownResource | undefined {
  const name = str(props.CacheParameterGroupName)?.toLowerCase();
  if (!name) return undefined;
  const found = ctx.resources().find((r) => r.type === PARAMETER_GROUP && r.state.physicalId === name) ?? ctx.lookup(name);
  if (!found) throw new KilnError('INVALID_PROPERTY', `CacheParameterGroupName: the cache parameter group '${name}' does not exist (CacheParameterGroupNotFound)`, 'user');
  return found;
}

interface Layout {
  shards: number;
  replicas: number;
  cluster: boolean;
}

/** Whether a replication group's servers run as a Redis Cluster: several shards, or its parameter group says so. */
function clusterMode(props: JsonObject, params: Record<string, string>): boolean {
  return num(props.NumNodeGroups, 'NumNodeGroups', 1) > 1 || params['cluster-enabled'] === 'yes';
}

function layoutOf(props: JsonObject, params: Record<string, string>): Layout {
  const shards = num(props.NumNodeGroups, 'NumNodeGroups', 1);
  const cluster = clusterMode(props, params);
  let replicas: number;
  if (props.ReplicasPerNodeGroup !== undefined) replicas = num(props.ReplicasPerNodeGroup, 'ReplicasPerNodeGroup', 0);
  else if (props.NumCacheClusters !== undefined) replicas = num(props.NumCacheClusters, 'NumCacheClusters', 1) - 1;
  else replicas = 0;
  if (shards < 1 || shards > 500) throw new KilnError('INVALID_PROPERTY', `NumNodeGroups ${shards} is out of range (1-500)`, 'user');
  if (replicas < 0 || replicas > 5) throw new KilnError('INVALID_PROPERTY', `ReplicasPerNodeGroup/NumCacheClusters: ${replicas} replicas is out of range (0-5 per shard)`, 'user');
  if (cluster && shards * (1 + replicas) < 3)
    throw new KilnError('INVALID_PROPERTY', 'a cluster-mode replication group needs at least 3 nodes locally (Redis Cluster needs 3 primaries): raise NumNodeGroups', 'user');
  if (props.AutomaticFailoverEnabled === true && replicas === 0 && !cluster)
    throw new KilnError('INVALID_PROPERTY', 'AutomaticFailoverEnabled needs at least one replica (InvalidParameterCombination)', 'user');
  return { shards, replicas, cluster };
}

async function waitFor(ctx: DockerContext, what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new KilnError('CACHE_NOT_READY', `${what} within 30 s`, 'environment');
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    await new Promise((res) => setTimeout(res, 200));
  }
}

function groupState(name: string, port: number, layout: Layout, nodes: Launched[]): ResourceState {
  const p = String(port);
  const primary = nodes[0]!;
  const readers = nodes.slice(1);
  const attributes: Record<string, Json> = layout.cluster
    ? { 'ConfigurationEndPoint.Address': primary.privateIp, 'ConfigurationEndPoint.Port': p }
    : {
        'PrimaryEndPoint.Address': primary.privateIp,
        'PrimaryEndPoint.Port': p,
        'ReaderEndPoint.Address': (readers[0] ?? primary).privateIp,
        'ReaderEndPoint.Port': p,
        'ReadEndPoint.Addresses': readers.map((n) => n.privateIp).join(','),
        'ReadEndPoint.Ports': readers.map(() => p).join(','),
        'ReadEndPoint.Addresses.List': readers.map((n) => n.privateIp),
        'ReadEndPoint.AddressesList': readers.map((n) => n.privateIp),
        'ReadEndPoint.PortsList': readers.map(() => p),
      };
  return { physicalId: name, attributes, data: { containers: nodes.map((n) => n.data), engine: 'redis', port, cluster: layout.cluster, nodes: nodes.map((n) => n.privateIp) } };
}

export const replicationGroupHandler: DockerHandler = {
  type: REPLICATION_GROUP,
  effect: 'real',

  async create(ctx, props) {
    const engine = (str(props.Engine) ?? 'redis').toLowerCase();
    if (engine !== 'redis' && engine !== 'valkey') throw new KilnError('INVALID_PROPERTY', `Engine '${engine}' is not redis or valkey`, 'user');
    const port = num(props.Port, 'Port', 6379);
    if (port < 1 || port > 65535) throw new KilnError('INVALID_PROPERTY', `Port ${port} is out of range`, 'user');
    const pg = parameterGroup(ctx, props);
    const params = (pg?.state.data?.parameters ?? {}) as Record<string, string>;
    const layout = layoutOf(props, params);
    const auth = str(props.AuthToken);
    if (auth && !/^[\x21-\x7e]{16,128}$/.test(auth.replace(/[@"/]/g, ''))) throw new KilnError('INVALID_PROPERTY', 'AuthToken must be 16 to 128 printable characters without @, " or /', 'user');
    if (props.TransitEncryptionEnabled === true || props.TransitEncryptionEnabled === 'true')
      ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: 'TransitEncryptionEnabled has no local effect: the local Redis servers speak plain TCP' });
    const name = (str(props.ReplicationGroupId) ?? generatedName(ctx, 40)).toLowerCase();
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(name) || name.endsWith('-') || name.includes('--'))
      throw new KilnError('INVALID_PROPERTY', `ReplicationGroupId '${name}' must be 1-40 letters, digits or hyphens, start with a letter, without two consecutive hyphens or a trailing one`, 'user');
    const subnets = subnetsFor(ctx, props);
    const groups = strList(props.SecurityGroupIds);
    const image = await serviceImage(ctx, 'redis');
    const count = layout.shards * (1 + layout.replicas);
    const command = [...cacheCommand('redis', port), ...(layout.cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] : [])];
    const nodes: Launched[] = [];
    try {
      for (let i = 0; i < count; i++) {
        ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `starting redis node ${i + 1}/${count} of ${name} on port ${port}` });
        nodes.push(
          await launchContainer(ctx, {
            image,
            subnetId: subnets[i % subnets.length]!,
            securityGroupIds: groups,
            kind: 'cache',
            owner: name,
            name: `${name}-${String(i + 1).padStart(3, '0')}-${Math.random().toString(16).slice(2, 8)}`,
            entrypoint: command,
            cmd: [],
          }),
        );
      }
      // The nodes reach each other whatever the groups say (replication, cluster bus).
      const ips = nodes.map((n) => n.privateIp);
      for (const n of nodes) {
        n.record.peers = ips.filter((ip) => ip !== n.privateIp);
        n.data.peers = n.record.peers;
        noteMember(ctx, n.record);
      }
      for (const vpcId of new Set(nodes.map((n) => n.vpcId))) await reconcileFirewalls(ctx, { vpcId });
      for (const n of nodes) await waitServing(ctx, 'redis', port, n.containerId);
      const state = groupState(name, port, layout, nodes);
      await applyParameters(ctx, state, params, undefined);
      if (layout.cluster) {
        const create = await execIn(
          ctx.docker,
          nodes[0]!.containerId,
          ['redis-cli', '--cluster', 'create', ...ips.map((ip) => `${ip}:${port}`), '--cluster-replicas', String(layout.replicas), '--cluster-yes'],
          120_000,
        );
        if (create.code !== 0) throw new KilnError('CACHE_NOT_READY', `redis-cli --cluster create failed: ${(create.stderr || create.stdout).trim().slice(-400)}`, 'environment');
        await waitFor(ctx, 'the Redis cluster did not reach cluster_state:ok', async () =>
          /cluster_state:ok/.test((await execIn(ctx.docker, nodes[0]!.containerId, cli(port, undefined, 'CLUSTER', 'INFO'))).stdout),
        );
      } else {
        for (const r of nodes.slice(1)) {
          const set = await execIn(ctx.docker, r.containerId, cli(port, undefined, 'REPLICAOF', nodes[0]!.privateIp, String(port)));
          if (!/^OK/m.test(set.stdout)) throw new KilnError('CACHE_NOT_READY', `replica ${r.privateIp} refused REPLICAOF: ${set.stdout.trim()}`, 'environment');
        }
        if (nodes.length > 1)
          await waitFor(ctx, `the replicas of ${name} did not all connect to the primary`, async () => {
            const info = (await execIn(ctx.docker, nodes[0]!.containerId, cli(port, undefined, 'INFO', 'replication'))).stdout;
            return new RegExp(`connected_slaves:${nodes.length - 1}\\b`).test(info);
          });
      }
      // The password last: set by exec, so it appears in no container's configuration.
      if (auth)
        for (const n of nodes) {
          const r = await execIn(ctx.docker, n.containerId, [
            'sh',
            '-c',
            'redis-cli -p "$1" CONFIG SET masterauth "$2" >/dev/null && redis-cli -p "$1" CONFIG SET requirepass "$2"',
            'sh',
            String(port),
            auth,
          ]);
          if (r.code !== 0 || !/OK/.test(r.stdout)) throw new KilnError('CACHE_NOT_READY', `could not set the AuthToken on node ${n.privateIp}`, 'environment');
        }
      return state;
    } catch (e) {
      for (const n of nodes) await destroyContainer(ctx, n.data as unknown as { id: string }).catch(() => undefined);
      throw e;
    }
  },

  /** Security groups and bookkeeping change in place; the layout, engine and auth need new nodes locally. */
  diff(oldProps, newProps): DiffResult {
    const inPlace = new Set([
      'SecurityGroupIds',
      'Tags',
      'PreferredMaintenanceWindow',
      'SnapshotRetentionLimit',
      'SnapshotWindow',
      'NotificationTopicArn',
      'AutoMinorVersionUpgrade',
      'ReplicationGroupDescription',
      'LogDeliveryConfigurations',
      'MultiAZEnabled',
      'CacheNodeType',
      'EngineVersion',
    ]);
    const keys = new Set([...Object.keys(oldProps), ...Object.keys(newProps)]);
    return { requiresReplacement: [...keys].filter((k) => !inPlace.has(k) && JSON.stringify(oldProps[k] ?? null) !== JSON.stringify(newProps[k] ?? null)) };
  },

  update: (ctx, props, previous) => regroupNodes(ctx, strList(props.SecurityGroupIds), previous.state),

  delete: (ctx, state) => deleteNodes(ctx, state),

  snapshot: (ctx, state, props) => snapshotCache(ctx, state, str(props.AuthToken)),

  async read(ctx, state) {
    for (const n of nodesOf(state)) if (!(await ctx.docker.inspectContainer(n.id).catch(() => undefined))) return { drift: [] };
    return { state, drift: [] };
  },
};
