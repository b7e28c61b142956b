// Security group rules as packet filters: the rule model (as CloudFormation writes rules), the
// rendered iptables input, and the reconciler re-applying rules when a standalone rule is added or
// removed, proven with real connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadedRules, normaliseRule, renderRuleset } from '../../../src/providers/docker/firewall.js';
import { launchContainer } from '../../../src/providers/docker/launch.js';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import { securityGroupEgressHandler, securityGroupHandler, securityGroupIngressHandler } from '../../../src/providers/docker/securitygroups.js';
import { World, httpGet, sh } from './ctx.js';

describe('rule model', () => {
  it('reads CloudFormation rules: protocols by name or number, -1 for all, string ports', () => {
    expect(normaliseRule({ IpProtocol: 'tcp', FromPort: '80', ToPort: '80', CidrIp: '0.0.0.0/0' }, 'ingress', 'r')).toEqual({ protocol: 'tcp', from: 80, to: 80, cidr: '0.0.0.0/0' });
    expect(normaliseRule({ IpProtocol: '6', FromPort: 1, ToPort: 1024, CidrIp: '10.0.0.5/16' }, 'ingress', 'r')).toEqual({ protocol: 'tcp', from: 1, to: 1024, cidr: '10.0.0.0/16' });
    expect(normaliseRule({ IpProtocol: '-1', SourceSecurityGroupId: 'sg-1' }, 'ingress', 'r')).toEqual({ protocol: 'all', from: -1, to: -1, group: 'sg-1' });
    expect(normaliseRule({ IpProtocol: 'icmp', FromPort: 8, ToPort: -1, CidrIp: '10.0.0.0/8' }, 'ingress', 'r')).toMatchObject({ protocol: 'icmp', from: 8, to: -1 });
  });

  it('refuses rules without a peer, with two peers, or with a bad port range', () => {
    expect(() => normaliseRule({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80 }, 'ingress', 'SecurityGroupIngress[0]')).toThrow(/SecurityGroupIngress\[0\]: exactly one of CidrIp/);
    expect(() => normaliseRule({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0', SourceSecurityGroupId: 'sg-1' }, 'ingress', 'r')).toThrow(/got CidrIp, SourceSecurityGroupId/);
    expect(() => normaliseRule({ IpProtocol: 'tcp', FromPort: 90, ToPort: 80, CidrIp: '0.0.0.0/0' }, 'ingress', 'r')).toThrow(/invalid port range/);
    expect(() => normaliseRule({ IpProtocol: 'tcp', CidrIp: '0.0.0.0/0' }, 'ingress', 'r')).toThrow(/FromPort and ToPort are required/);
    expect(() => normaliseRule({ IpProtocol: 'gre', CidrIp: '0.0.0.0/0' }, 'ingress', 'r')).toThrow(/invalid value 'gre'/);
    expect(() => normaliseRule({ IpProtocol: 'tcp', FromPort: 1, ToPort: 2, CidrIp: '10.0.0/8' }, 'egress', 'r')).toThrow(/invalid CIDR/);
  });

  it('renders default-deny ingress, stateful replies, and egress as given', () => {
    const { v4 } = renderRuleset({
      ingress: [{ rule: { protocol: 'tcp', from: 80, to: 80 }, peers: ['10.0.1.0/24'] }],
      egress: [{ rule: { protocol: 'all', from: -1, to: -1 }, peers: ['0.0.0.0/0'] }],
    });
    expect(v4.split('\n')).toEqual([
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD DROP [0:0]',
      ':OUTPUT DROP [0:0]',
      '-A INPUT -i lo -j ACCEPT',
      // The instance metadata service is outside groups and network ACLs, as on AWS.
      '-A INPUT -s 169.254.169.254/32 -p tcp -m tcp --sport 80 -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A INPUT -s 10.0.1.0/24 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A OUTPUT -o lo -j ACCEPT',
      '-A OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A OUTPUT -j ACCEPT',
      'COMMIT',
      '',
    ]);
  });
});

describe('standalone SecurityGroupIngress / SecurityGroupEgress on live members', () => {
  const world = new World();
  const stack = world.stack();
  const label = { 'kiln.test': `firewall-${stack.name}` };
  let server = { id: '', ip: '' };
  let client = { id: '' };
  let serverSg = '';
  let clientSg = '';
  beforeAll(async () => {
    const vpc = await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.66.0.0/16' });
    const subnet = await stack.create(subnetHandler, 'Subnet', { VpcId: vpc.physicalId, CidrBlock: '10.66.0.0/24' });
    serverSg = (await stack.create(securityGroupHandler, 'ServerSg', { GroupDescription: 'server', VpcId: vpc.physicalId })).physicalId;
    clientSg = (await stack.create(securityGroupHandler, 'ClientSg', { GroupDescription: 'client', VpcId: vpc.physicalId })).physicalId;
    const s = await launchContainer(stack.ctx('Server', 'AWS::EC2::Instance'), {
      image: 'busybox:latest',
      subnetId: subnet.physicalId,
      securityGroupIds: [serverSg],
      labels: label,
      cmd: ['sh', '-c', 'echo up > /tmp/index.html; exec httpd -f -p 80 -h /tmp'],
    });
    const c = await launchContainer(stack.ctx('Client', 'AWS::EC2::Instance'), {
      image: 'busybox:latest',
      subnetId: subnet.physicalId,
      securityGroupIds: [clientSg],
      labels: label,
      cmd: ['sleep', '600'],
    });
    for (const [id, l] of [
      ['Server', s],
      ['Client', c],
    ] as const)
      stack.live.set(id, { stack: stack.name, logicalId: id, type: 'AWS::EC2::Instance', properties: {}, state: { physicalId: `i-${id}`, attributes: {}, data: { containers: [l.data] } } });
    server = { id: s.containerId, ip: s.privateIp };
    client = { id: c.containerId };
  });
  afterAll(async () => {
    await world.cleanup();
  });

  it('a group with no ingress refuses; an added ingress rule opens it; deleting the rule closes it again', async () => {
    expect((await sh(client.id, httpGet(server.ip, 80))).out).not.toContain('up');
    await stack.create(securityGroupIngressHandler, 'AllowClient', { GroupId: serverSg, IpProtocol: 'tcp', FromPort: 80, ToPort: 80, SourceSecurityGroupId: clientSg });
    expect((await sh(client.id, httpGet(server.ip, 80))).out).toContain('up');
    expect(await loadedRules(world.docker, server.id)).toMatch(/-A INPUT -s 10\.66\.0\.5\/32 -p tcp -m tcp --dport 80 -j ACCEPT/);
    await stack.delete(securityGroupIngressHandler, 'AllowClient');
    expect((await sh(client.id, httpGet(server.ip, 80))).out).not.toContain('up');
  });

  it('listing SecurityGroupEgress in the group removes the default allow-all egress; a standalone egress rule adds to it', async () => {
    await stack.create(securityGroupIngressHandler, 'AllowAll', { GroupId: serverSg, IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '10.66.0.0/24' });
    expect((await sh(client.id, httpGet(server.ip, 80))).out).toContain('up');
    const c = stack.get('ClientSg');
    await stack.update(securityGroupHandler, 'ClientSg', { ...c.properties, SecurityGroupEgress: [{ IpProtocol: 'udp', FromPort: 53, ToPort: 53, CidrIp: '10.66.0.2/32' }] });
    expect((await sh(client.id, httpGet(server.ip, 80))).out).not.toContain('up');
    await stack.create(securityGroupEgressHandler, 'ClientOut', { GroupId: clientSg, IpProtocol: 'tcp', FromPort: 80, ToPort: 80, DestinationSecurityGroupId: serverSg });
    expect((await sh(client.id, httpGet(server.ip, 80))).out).toContain('up');
  });

  it("lets another stack launch into this VPC with an imported group id, under that group's rules", async () => {
    const other = world.stack();
    const subnetId = stack.get('Subnet').state.physicalId;
    const l = await launchContainer(other.ctx('Imported', 'AWS::EC2::Instance'), {
      image: 'busybox:latest',
      subnetId,
      securityGroupIds: [serverSg],
      labels: label,
      cmd: ['sh', '-c', 'echo imported > /tmp/index.html; exec httpd -f -p 80 -h /tmp'],
    });
    // serverSg admits tcp/80 from 10.66.0.0/24 (AllowAll above): the client reaches it, port 81 stays shut
    expect((await sh(client.id, httpGet(l.privateIp, 80))).out).toContain('imported');
    expect(await loadedRules(world.docker, l.containerId)).toMatch(/-A INPUT -s 10\.66\.0\.0\/24 -p tcp -m tcp --dport 80 -j ACCEPT/);
  });

  it('refuses to delete a group that still has members', async () => {
    const g = stack.get('ServerSg');
    await expect(securityGroupHandler.delete(stack.ctx('ServerSg', g.type), g.state, g.properties)).rejects.toThrow(/has a dependent object/);
  });
});
