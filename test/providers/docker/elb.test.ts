// A classic ELB on the real engine: HAProxy in the subnet, reachable from the host at DNSName:80,
// routing only to instances that pass the health check, reconfigured without failed requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../docker.js';
import { classicElbHandler } from '../../../src/providers/docker/elb.js';
import { lbContainers, serverStats } from '../../../src/providers/docker/haproxy.js';
import { instanceHandler } from '../../../src/providers/docker/instance.js';
import { World, removeImages, sh } from './ctx.js';
import { get, network, steadyLoad, until, webImage } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `elb-${stack.name}` };
const HC = { Target: 'HTTP:80/health', Interval: '2', Timeout: '1', HealthyThreshold: '2', UnhealthyThreshold: '2' };

describe('AWS::ElasticLoadBalancing::LoadBalancer', () => {
  let net: Awaited<ReturnType<typeof network>>;
  let image = '';
  let broken = '';
  beforeAll(async () => {
    image = await webImage(`kiln-test/elb-web:${stack.name}`, TEST);
    broken = await webImage(`kiln-test/elb-web:${stack.name}-broken`, TEST, '9', false);
    net = await network(stack, 91);
  }, 180_000);
  afterAll(async () => {
    await world.cleanup();
    await removeImages('kiln.test', TEST['kiln.test']);
  });

  it('routes to healthy instances only, from the host at DNSName, and follows membership changes', async () => {
    const inst = async (id: string) => (await stack.create(instanceHandler, id, { ImageId: image, InstanceType: 't2.micro', SubnetId: net.subnetA, SecurityGroupIds: [net.webSg] })).physicalId;
    const a = await inst('WebA');
    const b = await inst('WebB');
    const lb = await stack.create(classicElbHandler, 'Elb', {
      Subnets: [net.subnetA],
      SecurityGroups: [net.lbSg],
      Instances: [a, b],
      Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' }],
      HealthCheck: HC,
    });
    const dns = String(lb.attributes.DNSName);
    expect(dns).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(lb.attributes.CanonicalHostedZoneNameID).toMatch(/^Z[A-Z0-9]+$/);
    expect(lb.attributes['SourceSecurityGroup.OwnerAlias']).toBe('123456789012');
    const url = `http://${dns}/`;
    const d = await docker();
    const [c] = await lbContainers(world, lb.physicalId);
    expect(c).toBeDefined();
    const info = await d.getContainer(c.id).inspect();
    expect(info.Config.Labels['kiln.stack']).toBe(stack.name);
    expect(info.Config.Labels['kiln.resource']).toBe('Elb');
    expect(info.Config.Labels['kiln.deployment']).toBe(stack.deployment);
    expect(info.Config.Labels['kiln.managed']).toBe('true');

    // Both instances come in service after two good checks.
    const seen = new Set<string>();
    await until(
      async () => {
        const r = await get(url);
        if (r.status === 200) seen.add(r.body.trim());
        return seen.size;
      },
      (n) => n === 2,
      30_000,
      100,
    );
    expect(seen.size).toBe(2);

    // A's health check fails (its page still answers): the LB stops sending it anything.
    const aContainer = String((stack.get('WebA').state.data?.containers as Array<{ id: string }>)[0].id);
    await sh(aContainer, 'rm /www/health');
    const stats = await until(
      () => serverStats(world, c.id),
      (s) => s.some((x) => x.server === a && x.status.startsWith('DOWN')),
      20_000,
    );
    expect(stats.find((x) => x.server === a)?.status).toMatch(/^DOWN/);
    const bodies = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await get(url);
      expect(r.status).toBe(200);
      bodies.add(r.body.trim());
    }
    expect(bodies.size).toBe(1);
    const aHost = (await sh(aContainer, 'hostname')).out.trim();
    expect([...bodies][0]).not.toContain(aHost);

    // Stop A entirely and take it out of Instances while a client keeps asking: nothing fails.
    await sh(aContainer, 'echo ok > /www/health');
    await until(
      () => serverStats(world, c.id),
      (s) => s.find((x) => x.server === a)?.status === 'UP',
      20_000,
    );
    const load = steadyLoad(url, { keepAlive: true });
    await new Promise((r) => setTimeout(r, 500));
    await stack.update(classicElbHandler, 'Elb', { ...stack.get('Elb').properties, Instances: [b] });
    await new Promise((r) => setTimeout(r, 500));
    const res = await load.stop();
    expect(res.errors).toEqual([]);
    expect(res.ok).toBeGreaterThan(5);
    const after = await serverStats(world, c.id);
    expect(after.map((s) => s.server)).toEqual([b]);

    // Security groups change in place: same HAProxy container.
    await stack.update(classicElbHandler, 'Elb', { ...stack.get('Elb').properties, SecurityGroups: [net.lbSg, net.webSg] });
    expect((await lbContainers(world, lb.physicalId)).map((x) => x.id)).toEqual([c.id]);
    expect((await get(url)).status).toBe(200);

    // B replaced by C (what an AmiId change does to the seed's instance): C is added and must be
    // healthy before B is drained, so no request fails on the way.
    const cId = await inst('WebC');
    const swap = steadyLoad(url, { keepAlive: true });
    await stack.update(classicElbHandler, 'Elb', { ...stack.get('Elb').properties, Instances: [cId] });
    const swapped = await swap.stop();
    expect(swapped.errors).toEqual([]);
    expect((await serverStats(world, c.id)).map((s) => [s.server, s.status])).toEqual([[cId, 'UP']]);

    // A replacement that never passes its check: the update fails and C keeps serving.
    const dId = (await stack.create(instanceHandler, 'WebD', { ImageId: broken, InstanceType: 't2.micro', SubnetId: net.subnetA, SecurityGroupIds: [net.webSg] })).physicalId;
    await expect(stack.update(classicElbHandler, 'Elb', { ...stack.get('Elb').properties, Instances: [dId] })).rejects.toThrow(/did not pass their health check/);
    expect((await serverStats(world, c.id)).map((s) => s.server)).toEqual([cId]);
    expect((await get(url)).status).toBe(200);

    // A new listener port: Docker cannot publish it on the running container, so HAProxy is
    // relaunched, on the same loopback address (the DNSName stays).
    const relaunched = await stack.update(classicElbHandler, 'Elb', {
      ...stack.get('Elb').properties,
      Instances: [cId],
      Listeners: [
        { LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' },
        { LoadBalancerPort: '8080', InstancePort: '80', Protocol: 'HTTP' },
      ],
    });
    expect(relaunched.attributes.DNSName).toBe(dns);
    expect((await lbContainers(world, lb.physicalId)).map((x) => x.id)).not.toEqual([c.id]);
    await until(
      () => get(url).catch(() => ({ status: 0, body: '' })),
      (r) => r.status === 200,
      20_000,
      100,
    );

    // The instance's own port is not reachable from the host: only through the load balancer.
    await stack.delete(classicElbHandler, 'Elb');
    expect(await lbContainers(world, lb.physicalId)).toEqual([]);
    await expect(get(url, 1000)).rejects.toThrow();
  }, 300_000);
});
