// An Auto Scaling group on the real engine, behind an application load balancer: N instances
// registered in the target group, a rolling update with no failed request under a steady client, and
// a failing new version that leaves the old instances serving and fails the update.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../docker.js';
import type { JsonObject } from '../../../src/stack/model.js';
import type { ResourceHandler } from '../../../src/model/provider.js';
import { autoScalingGroupHandler, listInstances } from '../../../src/providers/docker/asg.js';
import { classicElbHandler } from '../../../src/providers/docker/elb.js';
import { listenerHandler, loadBalancerV2Handler, targetGroupHandler } from '../../../src/providers/docker/elbv2.js';
import { lbContainers, runtimeApi, targetStates } from '../../../src/providers/docker/haproxy.js';
import { launchTemplateHandler } from '../../../src/providers/docker/launchtemplate.js';
import { World, removeImages } from './ctx.js';
import { get, network, steadyLoad, until, webImage } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `asg-${stack.name}` };
const ROLLING = { UpdatePolicy: { AutoScalingRollingUpdate: { MaxBatchSize: '1', MinInstancesInService: '1', PauseTime: 'PT0S' } } };

async function updateWith(handler: ResourceHandler, logicalId: string, props: JsonObject, policies?: { UpdatePolicy?: JsonObject }) {
  const prev = stack.get(logicalId);
  const ctx = { ...stack.ctx(logicalId, handler.type), ...(policies ? { policies } : {}) };
  const state = await handler.update!(ctx, props, { props: prev.properties, state: prev.state });
  stack.live.set(logicalId, { ...prev, properties: props, state });
  return state;
}

describe('AWS::AutoScaling::AutoScalingGroup with a launch template behind an ALB', () => {
  let net: Awaited<ReturnType<typeof network>>;
  const images: Record<string, string> = {};
  beforeAll(async () => {
    images.v1 = await webImage(`kiln-test/asg-web:${stack.name}-1`, TEST, '1');
    images.v2 = await webImage(`kiln-test/asg-web:${stack.name}-2`, TEST, '2');
    images.broken = await webImage(`kiln-test/asg-web:${stack.name}-3`, TEST, '3', false);
    net = await network(stack, 94);
  }, 180_000);
  afterAll(async () => {
    await world.cleanup();
    await removeImages('kiln.test', TEST['kiln.test']);
  });

  it('creates N instances in the target group, rolls a new version with no failed request, and refuses an unhealthy one', async () => {
    const lt = await stack.create(launchTemplateHandler, 'Lt', { LaunchTemplateData: { ImageId: images.v1, InstanceType: 't2.micro', SecurityGroupIds: [net.webSg] } });
    expect(lt.physicalId).toMatch(/^lt-[0-9a-f]{17}$/);
    expect(lt.attributes).toMatchObject({ LatestVersionNumber: '1', DefaultVersionNumber: '1' });
    const alb = await stack.create(loadBalancerV2Handler, 'Alb', { Subnets: [net.subnetA], SecurityGroups: [net.lbSg] });
    const tg = await stack.create(targetGroupHandler, 'Tg', {
      Port: 80,
      Protocol: 'HTTP',
      VpcId: net.vpc,
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 2,
      HealthCheckTimeoutSeconds: 1,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }],
    });
    await stack.create(listenerHandler, 'Http', { LoadBalancerArn: alb.physicalId, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.physicalId }] });
    const asgProps = (ltVersion: string): JsonObject => ({
      MinSize: '1',
      MaxSize: '4',
      DesiredCapacity: '2',
      VPCZoneIdentifier: [net.subnetA, net.subnetB],
      LaunchTemplate: { LaunchTemplateId: lt.physicalId, Version: ltVersion },
      TargetGroupARNs: [tg.physicalId],
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 20,
    });
    const asg = await stack.create(autoScalingGroupHandler, 'Asg', asgProps('1'));
    const d = await docker();
    const v1 = await listInstances(world.docker, stack.name, 'Asg', asg.physicalId);
    expect(v1).toHaveLength(2);
    expect(new Set(v1.map((i) => i.instanceId)).size).toBe(2);
    for (const i of v1) expect(i.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(v1.map((i) => i.subnetId).sort()).toEqual([net.subnetA, net.subnetB].sort());
    const labels = (await d.getContainer(v1[0].containerId).inspect()).Config.Labels;
    expect(labels).toMatchObject({ 'kiln.stack': stack.name, 'kiln.resource': 'Asg', 'kiln.deployment': stack.deployment, 'kiln.managed': 'true' });
    // Created means in service: both healthy in the target group, both answering through the ALB.
    const states = await targetStates(world, [tg.physicalId]);
    expect(states.map((s) => [s.id, s.state]).sort()).toEqual(v1.map((i) => [i.instanceId, 'healthy']).sort());
    const url = `http://${String(alb.attributes.DNSName)}/`;
    expect((await get(url)).body).toMatch(/^v1 /);

    // Rolling update to v2 under a steady client: no failed request, only v2 at the end.
    const lt2 = await updateWith(launchTemplateHandler, 'Lt', { LaunchTemplateData: { ImageId: images.v2, InstanceType: 't2.micro', SecurityGroupIds: [net.webSg] } });
    expect(lt2.attributes).toMatchObject({ LatestVersionNumber: '2', DefaultVersionNumber: '2' });
    const [lbc] = await lbContainers(world, alb.physicalId);
    const workerPid = async () => /^Pid: (\d+)/m.exec(await runtimeApi(world, lbc.id, 'show info'))?.[1];
    const pidBefore = await workerPid();
    let load = steadyLoad(url, { keepAlive: true });
    await updateWith(autoScalingGroupHandler, 'Asg', asgProps('2'), ROLLING);
    // Membership changes went through the runtime API: the same HAProxy worker served throughout.
    expect(await workerPid()).toBe(pidBefore);
    let res = await load.stop();
    expect(res.errors).toEqual([]);
    expect(res.ok).toBeGreaterThan(20);
    expect(res.bodies).toEqual(new Set(['v1', 'v2']));
    const v2 = await listInstances(world.docker, stack.name, 'Asg', asg.physicalId);
    expect(v2).toHaveLength(2);
    expect(v2.some((i) => v1.some((o) => o.instanceId === i.instanceId))).toBe(false);
    for (let k = 0; k < 4; k++) expect((await get(url)).body).toMatch(/^v2 /);

    // A version whose health check fails: the batch is removed, v2 keeps serving, the update fails.
    await updateWith(launchTemplateHandler, 'Lt', { LaunchTemplateData: { ImageId: images.broken, InstanceType: 't2.micro', SecurityGroupIds: [net.webSg] } });
    load = steadyLoad(url, { keepAlive: true });
    await expect(updateWith(autoScalingGroupHandler, 'Asg', asgProps('3'), ROLLING)).rejects.toThrow(/did not pass their load balancer health check/);
    res = await load.stop();
    expect(res.errors).toEqual([]);
    expect(res.bodies).toEqual(new Set(['v2']));
    const after = await listInstances(world.docker, stack.name, 'Asg', asg.physicalId);
    expect(after.map((i) => i.instanceId).sort()).toEqual(v2.map((i) => i.instanceId).sort());
    const finalStates = await until(
      () => targetStates(world, [tg.physicalId]),
      (s) => s.length === 2,
      10_000,
    );
    expect(finalStates.every((s) => s.state === 'healthy')).toBe(true);

    // A new target group list without an UpdatePolicy: instances are replaced to carry the new
    // registration (kiln registers by label), one at a time, while v2 keeps serving.
    const tg2 = await stack.create(targetGroupHandler, 'Tg2', { Port: 80, Protocol: 'HTTP', VpcId: net.vpc });
    const regroup = { ...asgProps('2'), TargetGroupARNs: [tg.physicalId, tg2.physicalId] };
    load = steadyLoad(url);
    await updateWith(autoScalingGroupHandler, 'Asg', regroup);
    res = await load.stop();
    expect(res.errors).toEqual([]);
    const regrouped = await listInstances(world.docker, stack.name, 'Asg', asg.physicalId);
    expect(regrouped).toHaveLength(2);
    for (const i of regrouped) expect(i.targets).toBe(`,${tg.physicalId},${tg2.physicalId},`);
    expect(regrouped.some((i) => v2.some((o) => o.instanceId === i.instanceId))).toBe(false);

    await stack.delete(autoScalingGroupHandler, 'Asg');
    expect(await listInstances(world.docker, stack.name, 'Asg', asg.physicalId)).toEqual([]);
  }, 300_000);

  it('replaces the whole group behind a classic ELB (AutoScalingReplacingUpdate): new group healthy first, then the old one goes', async () => {
    const lt = await stack.create(launchTemplateHandler, 'Lt2', { LaunchTemplateData: { ImageId: images.v1, InstanceType: 't2.micro', SecurityGroupIds: [net.webSg] } });
    const elb = await stack.create(classicElbHandler, 'Elb', {
      Subnets: [net.subnetB],
      SecurityGroups: [net.lbSg],
      Listeners: [{ LoadBalancerPort: 80, InstancePort: 80, Protocol: 'HTTP' }],
      HealthCheck: { Target: 'HTTP:80/health', Interval: 2, Timeout: 1, HealthyThreshold: 2, UnhealthyThreshold: 2 },
    });
    const url = `http://${String(elb.attributes.DNSName)}/`;
    const props = (version: string): JsonObject => ({
      MinSize: 2,
      MaxSize: 3,
      VPCZoneIdentifier: [net.subnetA],
      LaunchTemplate: { LaunchTemplateId: lt.physicalId, Version: version },
      LoadBalancerNames: [elb.physicalId],
      HealthCheckGracePeriod: 20,
    });
    const first = await stack.create(autoScalingGroupHandler, 'Group', props('1'));
    const old = await listInstances(world.docker, stack.name, 'Group', first.physicalId);
    expect(old).toHaveLength(2); // DesiredCapacity defaults to MinSize
    expect(new Set(old.map((i) => i.ip)).size).toBe(2); // launched together in one subnet, distinct addresses
    expect((await get(url)).body).toMatch(/^v1 /);
    await updateWith(launchTemplateHandler, 'Lt2', { LaunchTemplateData: { ImageId: images.v2, InstanceType: 't2.micro', SecurityGroupIds: [net.webSg] } });
    const load = steadyLoad(url, { keepAlive: true });
    const next = await updateWith(autoScalingGroupHandler, 'Group', props('2'), { UpdatePolicy: { AutoScalingReplacingUpdate: { WillReplace: true }, AutoScalingRollingUpdate: { MaxBatchSize: 1 } } });
    const res = await load.stop();
    expect(res.errors).toEqual([]);
    expect(next.physicalId).not.toBe(first.physicalId);
    expect(await listInstances(world.docker, stack.name, 'Group', first.physicalId)).toEqual([]);
    expect(await listInstances(world.docker, stack.name, 'Group', next.physicalId)).toHaveLength(2);
    expect((await get(url)).body).toMatch(/^v2 /);
  }, 180_000);
});
