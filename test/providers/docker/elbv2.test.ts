// An application load balancer on the real engine: target group health checks, a listener on port 80
// reachable from the host at DNSName, and a stopped target taken out without failed requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../docker.js';
import { listenerHandler, loadBalancerV2Handler, targetGroupHandler } from '../../../src/providers/docker/elbv2.js';
import { lbContainers, targetStates } from '../../../src/providers/docker/haproxy.js';
import { instanceHandler } from '../../../src/providers/docker/instance.js';
import { World, removeImages } from './ctx.js';
import { get, network, steadyLoad, until, webImage } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `elbv2-${stack.name}` };

describe('AWS::ElasticLoadBalancingV2 load balancer, target group, listener', () => {
  let net: Awaited<ReturnType<typeof network>>;
  let image = '';
  beforeAll(async () => {
    image = await webImage(`kiln-test/elbv2-web:${stack.name}`, TEST);
    net = await network(stack, 93);
  }, 180_000);
  afterAll(async () => {
    await world.cleanup();
    await removeImages('kiln.test', TEST['kiln.test']);
  });

  it('forwards port 80 to healthy targets and keeps serving when a target stops', async () => {
    const inst = async (id: string) => (await stack.create(instanceHandler, id, { ImageId: image, InstanceType: 't2.micro', SubnetId: net.subnetA, SecurityGroupIds: [net.webSg] })).physicalId;
    const a = await inst('WebA');
    const b = await inst('WebB');
    const lb = await stack.create(loadBalancerV2Handler, 'Alb', { Subnets: [net.subnetA, net.subnetB], SecurityGroups: [net.lbSg] });
    expect(lb.physicalId).toMatch(/^arn:aws:elasticloadbalancing:[a-z0-9-]+:123456789012:loadbalancer\/app\/[A-Za-z0-9-]+\/[0-9a-f]{16}$/);
    expect(lb.attributes.LoadBalancerFullName).toBe(lb.physicalId.split(':loadbalancer/')[1]);
    expect(lb.attributes.SecurityGroups).toEqual([net.lbSg]);
    const dns = String(lb.attributes.DNSName);
    expect(dns).toMatch(/^127\./);

    const tg = await stack.create(targetGroupHandler, 'Tg', {
      Port: 80,
      Protocol: 'HTTP',
      VpcId: net.vpc,
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 2,
      HealthCheckTimeoutSeconds: 1,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Targets: [{ Id: a }, { Id: b }],
      TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }],
    });
    expect(tg.physicalId).toMatch(/:targetgroup\/[A-Za-z0-9-]+\/[0-9a-f]{16}$/);
    expect(tg.attributes.TargetGroupFullName).toMatch(/^targetgroup\//);
    const [before] = await lbContainers(world, lb.physicalId);
    const listener = await stack.create(listenerHandler, 'Http', {
      LoadBalancerArn: lb.physicalId,
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.physicalId }],
    });
    expect(listener.physicalId).toMatch(/:listener\/app\//);
    // Publishing port 80 relaunched the HAProxy container on the same private and loopback addresses.
    const [after] = await lbContainers(world, lb.physicalId);
    expect(after.id).not.toBe(before.id);
    expect([after.ip, after.publicIp]).toEqual([before.ip, before.publicIp]);
    expect((listener.data?.containers as Array<{ id: string }>)[0].id).toBe(after.id);

    const url = `http://${dns}/`;
    const d = await docker();
    const healthy = await until(
      () => targetStates(world, [tg.physicalId]),
      (s) => s.length === 2 && s.every((x) => x.state === 'healthy'),
      30_000,
    );
    expect(healthy.map((s) => s.id).sort()).toEqual([a, b].sort());
    const seen = new Set<string>();
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push((await get(url)).body.trim());
    for (const x of bodies) seen.add(x);
    expect(seen.size, bodies.join(' | ')).toBe(2);

    // Stop A's container while a client keeps asking: every request still succeeds (B answers).
    const load = steadyLoad(url, { keepAlive: true });
    await new Promise((r) => setTimeout(r, 300));
    const aContainer = String((stack.get('WebA').state.data?.containers as Array<{ id: string }>)[0].id);
    await d.getContainer(aContainer).stop({ t: 1 });
    await until(
      () => targetStates(world, [tg.physicalId]),
      (s) => s.find((x) => x.id === a)?.state === 'unhealthy',
      20_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const res = await load.stop();
    expect(res.errors).toEqual([]);
    expect(res.ok).toBeGreaterThan(10);

    // Target group update (B only) reaches the load balancer; deleting the listener closes the port.
    await stack.update(targetGroupHandler, 'Tg', { ...stack.get('Tg').properties, Targets: [{ Id: b }] });
    expect((await targetStates(world, [tg.physicalId])).map((s) => s.id)).toEqual([b]);
    await stack.delete(listenerHandler, 'Http');
    await expect(get(url, 1000)).rejects.toThrow();
    await stack.delete(targetGroupHandler, 'Tg');
    await stack.delete(loadBalancerV2Handler, 'Alb');
    expect(await lbContainers(world, lb.physicalId)).toEqual([]);
  }, 240_000);
});
