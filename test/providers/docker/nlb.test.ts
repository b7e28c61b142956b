// A network load balancer on the real engine: Type network, a TCP listener, a TCP target group with
// TCP health checks, in front of two instances running a line-per-connection TCP service (busybox
// nc -ll, a process per connection). Connections from the host reach both; a stopped instance is taken out by the TCP check.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenerHandler, loadBalancerV2Handler, targetGroupHandler, tgBackendName } from '../../../src/providers/docker/elbv2.js';
import { lbContainers, readModel, targetStates } from '../../../src/providers/docker/haproxy.js';
import { instanceHandler } from '../../../src/providers/docker/instance.js';
import { securityGroupHandler } from '../../../src/providers/docker/securitygroups.js';
import { World, buildTestImage, removeImages } from './ctx.js';
import { network, until } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `nlb-${stack.name}` };
const PORT = 6379;

/** One line from a TCP service, then the connection closes (the service's answer). */
function readLine(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let data = '';
    const t = setTimeout(() => s.destroy(new Error('timeout')), 3000);
    s.on('data', (c: Buffer) => {
      data += c.toString();
      if (data.includes('\n')) {
        clearTimeout(t);
        s.destroy();
        resolve(data.split('\n')[0]);
      }
    });
    s.on('error', (e) => (clearTimeout(t), reject(e)));
    s.on('close', () => (clearTimeout(t), data.includes('\n') ? undefined : reject(new Error(`closed without a line: '${data}'`))));
  });
}

describe('AWS::ElasticLoadBalancingV2::LoadBalancer Type network (TCP)', () => {
  let net: Awaited<ReturnType<typeof network>>;
  let image = '';
  beforeAll(async () => {
    image = await buildTestImage(
      `kiln-test/nlb-tcp:${stack.name}`,
      `FROM busybox:latest\nCMD ["sh", "-c", "printf '#!/bin/sh\\\\necho pong %s\\\\n' $(hostname) > /pong; chmod +x /pong; exec nc -ll -p ${PORT} -e /pong"]\n`,
      TEST,
    );
    net = await network(stack, 103);
  }, 180_000);
  afterAll(async () => {
    await world.cleanup();
    await removeImages('kiln.test', TEST['kiln.test']);
  });

  it('passes TCP connections to healthy targets and takes a stopped one out', async () => {
    const tcpSg = (
      await stack.create(securityGroupHandler, 'TcpSg', {
        GroupDescription: 'the service port from anywhere',
        VpcId: net.vpc,
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: PORT, ToPort: PORT, CidrIp: '0.0.0.0/0' }],
      })
    ).physicalId;
    const inst = async (id: string) => (await stack.create(instanceHandler, id, { ImageId: image, InstanceType: 't2.micro', SubnetId: net.subnetA, SecurityGroupIds: [tcpSg] })).physicalId;
    const a = await inst('SvcA');
    const b = await inst('SvcB');
    const nlb = await stack.create(loadBalancerV2Handler, 'Nlb', { Type: 'network', Subnets: [net.subnetA, net.subnetB], SecurityGroups: [tcpSg] });
    expect(nlb.physicalId).toMatch(/:loadbalancer\/net\/[A-Za-z0-9-]+\/[0-9a-f]{16}$/);
    expect(nlb.attributes.LoadBalancerFullName).toMatch(/^net\//);
    const tg = await stack.create(targetGroupHandler, 'Tg', {
      Port: PORT,
      Protocol: 'TCP',
      VpcId: net.vpc,
      HealthCheckProtocol: 'TCP',
      HealthCheckIntervalSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Targets: [{ Id: a }, { Id: b }],
      TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '0' }],
    });
    const listener = await stack.create(listenerHandler, 'Tcp', { LoadBalancerArn: nlb.physicalId, Port: PORT, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.physicalId }] });
    expect(listener.physicalId).toMatch(/:listener\/net\//);
    const [c] = await lbContainers(world, nlb.physicalId);
    const model = await readModel(world, c.id);
    expect(model?.frontends).toEqual([expect.objectContaining({ port: PORT, mode: 'tcp' })]);
    expect(model?.backends[0]).toMatchObject({ mode: 'tcp', health: { protocol: 'TCP' } });
    await until(
      () => targetStates(world, [tgBackendName(tg.physicalId)]),
      (s) => s.length === 2 && s.every((x) => x.state === 'healthy'),
      30_000,
    );

    const host = String(nlb.attributes.DNSName);
    const answers = new Set<string>();
    for (let i = 0; i < 8; i++) answers.add(await readLine(host, PORT));
    expect([...answers].every((x) => x.startsWith('pong '))).toBe(true);
    expect(answers.size).toBe(2);

    // Stop A: the TCP check fails, A leaves the pool, and B answers every connection.
    const aContainer = String((stack.get('SvcA').state.data?.containers as Array<{ id: string }>)[0].id);
    await world.docker.stopContainer(aContainer, { timeoutSeconds: 1 });
    const states = await until(
      () => targetStates(world, [tgBackendName(tg.physicalId)]),
      (s) => s.find((x) => x.id === a)?.state === 'unhealthy',
      30_000,
    );
    expect(states.find((x) => x.id === a)?.state).toBe('unhealthy');
    const after = new Set<string>();
    for (let i = 0; i < 6; i++) after.add(await readLine(host, PORT));
    expect(after.size).toBe(1);

    await stack.delete(listenerHandler, 'Tcp');
    await expect(readLine(host, PORT)).rejects.toThrow();
    await stack.delete(targetGroupHandler, 'Tg');
    await stack.delete(loadBalancerV2Handler, 'Nlb');
    expect(await lbContainers(world, nlb.physicalId)).toEqual([]);
  }, 240_000);

  it('without SecurityGroups filters nothing, as on AWS: the host, outside every group, connects', async () => {
    const tcpSg = (
      await stack.create(securityGroupHandler, 'OpenTcpSg', {
        GroupDescription: 'the service port from anywhere',
        VpcId: net.vpc,
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: PORT, ToPort: PORT, CidrIp: '0.0.0.0/0' }],
      })
    ).physicalId;
    const svc = (await stack.create(instanceHandler, 'OpenSvc', { ImageId: image, InstanceType: 't2.micro', SubnetId: net.subnetA, SecurityGroupIds: [tcpSg] })).physicalId;
    const nlb = await stack.create(loadBalancerV2Handler, 'OpenNlb', { Type: 'network', Subnets: [net.subnetA] });
    expect(nlb.attributes.SecurityGroups).toEqual([]);
    const [record] = nlb.data?.containers as Array<{ groups: string[]; unfiltered?: boolean }>;
    expect(record).toMatchObject({ groups: [], unfiltered: true });
    const tg = await stack.create(targetGroupHandler, 'OpenTg', {
      Port: PORT,
      Protocol: 'TCP',
      VpcId: net.vpc,
      HealthCheckProtocol: 'TCP',
      HealthCheckIntervalSeconds: 5,
      HealthyThresholdCount: 2,
      Targets: [{ Id: svc }],
    });
    await stack.create(listenerHandler, 'OpenTcp', { LoadBalancerArn: nlb.physicalId, Port: PORT, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.physicalId }] });
    await until(
      () => targetStates(world, [tgBackendName(tg.physicalId)]),
      (s) => s.length === 1 && s[0].state === 'healthy',
      30_000,
    );
    // The VPC's default group (members of itself only) would refuse the host: nothing filters here.
    expect(await readLine(String(nlb.attributes.DNSName), PORT)).toMatch(/^pong /);
    await stack.delete(listenerHandler, 'OpenTcp');
    await stack.delete(targetGroupHandler, 'OpenTg');
    await stack.delete(loadBalancerV2Handler, 'OpenNlb');
  }, 240_000);
});
