// AWS::EC2::SecurityGroup and its standalone rules: ids, attributes and refusals as AWS gives them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import { securityGroupEgressHandler, securityGroupHandler, securityGroupIngressHandler } from '../../../src/providers/docker/securitygroups.js';
import { World } from './ctx.js';

const world = new World();
const stack = world.stack();
let vpcId = '';

beforeAll(async () => {
  vpcId = (await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.44.0.0/16' })).physicalId;
  await stack.create(subnetHandler, 'Subnet', { VpcId: vpcId, CidrBlock: '10.44.1.0/24' });
});
afterAll(async () => {
  await world.cleanup();
});

describe('AWS::EC2::SecurityGroup', () => {
  it('is referenced by its group id and carries GroupId and VpcId', async () => {
    const sg = await stack.create(securityGroupHandler, 'Web', {
      GroupDescription: 'web',
      VpcId: vpcId,
      SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: '80', ToPort: '80', CidrIp: '0.0.0.0/0' }],
    });
    expect(sg.physicalId).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(sg.attributes).toEqual({ GroupId: sg.physicalId, VpcId: vpcId, Id: sg.physicalId });
    // a group declared without egress rules keeps AWS's default allow-all egress
    expect((sg.data!.rules as { egress: unknown[] }).egress).toEqual([{ protocol: 'all', from: -1, to: -1, cidr: '0.0.0.0/0' }]);
    expect(sg.data!.groupName).toMatch(new RegExp(`^${stack.name}-Web-[0-9A-F]{12}$`));
  });

  it('refuses a missing description, a missing or unknown VPC, a bad rule and an unknown source group', async () => {
    const ctx = stack.ctx('Bad', 'AWS::EC2::SecurityGroup');
    await expect(securityGroupHandler.create(ctx, { VpcId: vpcId })).rejects.toThrow(/GroupDescription is required/);
    await expect(securityGroupHandler.create(ctx, { GroupDescription: 'x' })).rejects.toThrow(/the default VPC of us-east-1 \(stack kiln-default-vpc-us-east-1\) does not exist/);
    await expect(securityGroupHandler.create(ctx, { GroupDescription: 'x', VpcId: 'vpc-0123456789abcdef0' })).rejects.toThrow(/The vpc ID 'vpc-0123456789abcdef0' does not exist/);
    await expect(securityGroupHandler.create(ctx, { GroupDescription: 'x', VpcId: vpcId, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80 }] })).rejects.toThrow(
      /SecurityGroupIngress\[0\]: exactly one of/,
    );
    await expect(
      securityGroupHandler.create(ctx, { GroupDescription: 'x', VpcId: vpcId, SecurityGroupIngress: [{ IpProtocol: '-1', SourceSecurityGroupId: 'sg-0123456789abcdef0' }] }),
    ).rejects.toThrow(/The security group 'sg-0123456789abcdef0' does not exist/);
  });

  it('standalone rules get sgr- ids and refuse unknown groups; a referenced group cannot be deleted', async () => {
    const web = stack.get('Web').state.physicalId;
    const db = await stack.create(securityGroupHandler, 'Db', { GroupDescription: 'db', VpcId: vpcId });
    const rule = await stack.create(securityGroupIngressHandler, 'DbFromWeb', { GroupId: db.physicalId, IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: web });
    expect(rule.physicalId).toMatch(/^sgr-[0-9a-f]{17}$/);
    expect(rule.attributes).toEqual({ Id: rule.physicalId });
    await expect(securityGroupEgressHandler.create(stack.ctx('Out', 'AWS::EC2::SecurityGroupEgress'), { GroupId: 'sg-0123456789abcdef0', IpProtocol: '-1', CidrIp: '0.0.0.0/0' })).rejects.toThrow(
      /does not exist/,
    );
    // GroupName names a group of the default VPC, which this world has not made.
    await expect(securityGroupIngressHandler.create(stack.ctx('ByName', 'AWS::EC2::SecurityGroupIngress'), { GroupName: 'default', IpProtocol: '-1', CidrIp: '0.0.0.0/0' })).rejects.toThrow(
      /the default VPC of .* does not exist/,
    );
    // the Db group's rule names Web as its source: Web cannot go first
    await stack.update(securityGroupHandler, 'Db', { GroupDescription: 'db', VpcId: vpcId, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: web }] });
    await expect(stack.delete(securityGroupHandler, 'Web')).rejects.toThrow(/has a dependent object \(group sg-/);
    await stack.update(securityGroupHandler, 'Db', { GroupDescription: 'db', VpcId: vpcId });
    await stack.delete(securityGroupIngressHandler, 'DbFromWeb');
    await stack.delete(securityGroupHandler, 'Web');
    await stack.delete(securityGroupHandler, 'Db');
  });
});
