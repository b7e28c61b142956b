// The local Docker provider: a registry from CloudFormation type to handler, and crash recovery
// (objects labelled for a stack that state does not know). Handlers live one concern per file;
// every handler is listed in HANDLERS below.
import { KilnError } from '../../core/errors.js';
import { LABELS, type DockerClient } from '../../docker/client.js';
import type { Provider, ResourceHandler } from '../../model/provider.js';
import { bindHandler, LocalState, type DockerHandler } from './context.js';
import { ResolvedImages, resolveImage } from './images.js';
import { instanceHandler } from './instance.js';
import { listVpcNamespaces, run } from './network.js';
import { subnetHandler, vpcHandler } from './vpc.js';
import { noEffectHandlers } from './noop.js';
import { securityGroupEgressHandler, securityGroupHandler, securityGroupIngressHandler } from './securitygroups.js';
import { classicElbHandler } from './elb.js';
import { listenerHandler, listenerRuleHandler, loadBalancerV2Handler, targetGroupHandler } from './elbv2.js';
import { cacheClusterHandler, subnetGroupHandler } from './elasticache.js';
import { parameterGroupHandler, replicationGroupHandler } from './replication-group.js';
import { launchConfigurationHandler, launchTemplateHandler } from './launchtemplate.js';
import { autoScalingGroupHandler } from './asg.js';
import { scalingHandlers } from './scaling.js';
import { releaseInternet, routingHandlers } from './routing.js';
import { naclHandlers } from './nacl.js';
import { addressHandlers } from './addresses.js';
import { attachmentReplacements, volumeHandlers } from './volumes.js';
import { specOnlyHandler, specOnlyRefusal } from './spec-only.js';
import { waitConditionHandleHandler, waitConditionHandler } from './signals.js';

const HANDLERS: DockerHandler[] = [
  vpcHandler,
  subnetHandler,
  securityGroupHandler,
  securityGroupIngressHandler,
  securityGroupEgressHandler,
  instanceHandler,
  classicElbHandler,
  loadBalancerV2Handler,
  targetGroupHandler,
  listenerHandler,
  listenerRuleHandler,
  subnetGroupHandler,
  cacheClusterHandler,
  parameterGroupHandler,
  replicationGroupHandler,
  launchTemplateHandler,
  launchConfigurationHandler,
  autoScalingGroupHandler,
  ...scalingHandlers,
  ...routingHandlers,
  ...naclHandlers,
  ...addressHandlers,
  ...volumeHandlers,
  waitConditionHandleHandler,
  waitConditionHandler,
  ...noEffectHandlers,
];

/** Every type the local target has a handler of its own for (real or recorded without local effect); other spec types: spec-only.ts. */
export function localTypes(): string[] {
  return HANDLERS.map((h) => h.type).sort();
}

/** What an orphan is: a kiln object of the stack none of whose identities state knows. */
export interface Orphan {
  kind: 'container' | 'network' | 'netns';
  id: string;
  name: string;
  resource?: string;
}

/**
 * Objects labelled (or named) for `stack` that `known` does not mention. `known` holds the physical
 * ids state knows (`i-…`, `vpc-…`, group names…) and may also hold container ids: a container is
 * known when its id, its name or its owner (`kiln.owner`, the physical id of the resource that made
 * it) is in the set; a VPC namespace or public network when its VPC id is.
 */
export async function findOrphans(docker: DockerClient, stack: string, known: ReadonlySet<string>): Promise<Orphan[]> {
  const labels = [`${LABELS.stack}=${stack}`];
  const out: Orphan[] = [];
  for (const c of await docker.listContainers({ all: true, labels })) {
    const name = (c.Names[0] ?? '').replace(/^\//, '');
    const owner = c.Labels?.['kiln.owner'];
    if (known.has(c.Id) || known.has(name) || (owner && known.has(owner))) continue;
    out.push({ kind: 'container', id: c.Id, name, resource: c.Labels?.[LABELS.resource] });
  }
  for (const n of await docker.listNetworks({ labels })) {
    const vpc = n.Labels?.['kiln.vpc'];
    if (known.has(n.Id) || known.has(n.Name) || (vpc && known.has(vpc))) continue;
    out.push({ kind: 'network', id: n.Id, name: n.Name, resource: n.Labels?.[LABELS.resource] });
  }
  for (const ns of await listVpcNamespaces(stack)) if (!known.has(ns.vpcId)) out.push({ kind: 'netns', id: ns.vpcId, name: ns.name });
  return out;
}

/** Removes orphans (containers first, then networks, then VPC namespaces); returns how many. */
export async function removeOrphans(docker: DockerClient, stack: string, known: ReadonlySet<string>): Promise<number> {
  const orphans = await findOrphans(docker, stack, known);
  let n = 0;
  for (const o of orphans.filter((x) => x.kind === 'container')) {
    await docker.removeContainer(o.id, { force: true, volumes: true }).catch(() => undefined);
    n++;
  }
  for (const o of orphans.filter((x) => x.kind === 'network')) {
    await docker.removeNetwork(o.id).catch(() => undefined);
    n++;
  }
  for (const o of orphans.filter((x) => x.kind === 'netns')) {
    await run('ip', ['netns', 'delete', o.name]).catch(() => undefined);
    n++;
  }
  // A VPC namespace removed here may have been the last one plugged into the internet router.
  if (orphans.some((x) => x.kind === 'netns') && (await releaseInternet())) n++;
  return n;
}

/**
 * The local target as the executor sees it, working through `docker`. The provider owns its
 * bookkeeping (address reservations, loaded packet filters, load balancers in change…): handlers get
 * it, with the client, in their context.
 */
export function localProvider(o: { docker: DockerClient }): Provider {
  const { docker } = o;
  const scope = { docker, local: new LocalState() };
  const handlers = new Map<string, ResourceHandler | undefined>(HANDLERS.map((h) => [h.type, bindHandler(h, scope)]));
  // Any other type of the resource spec is recorded without local effect, unless refused (spec-only.ts).
  const handler = (type: string): ResourceHandler | undefined => {
    if (!handlers.has(type)) handlers.set(type, specOnlyHandler(type));
    return handlers.get(type);
  };
  const images = scope.local.of(ResolvedImages);
  return {
    name: 'local',
    handler,
    refusal: (type) => (handler(type) ? undefined : specOnlyRefusal(type)),
    coupledReplacements: attachmentReplacements,
    listOrphans: async (stack, known) => (await findOrphans(docker, stack, known)).map((o) => `${o.kind}:${o.name}`),
    removeOrphans: (stack, known) => removeOrphans(docker, stack, known),
    normalizeParameter: async (type, value) => {
      if (type !== 'AWS::EC2::Image::Id' || /^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(value)) return value;
      return (await resolveImage(docker, value, images)).amiId;
    },
    findImage: async (reference) => {
      try {
        return (await resolveImage(docker, reference, images)).amiId;
      } catch (e) {
        if (KilnError.is(e) && e.code === 'IMAGE_NOT_FOUND') return undefined;
        throw e;
      }
    },
  };
}
