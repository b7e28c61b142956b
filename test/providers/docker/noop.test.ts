// Types with no local meaning: recorded with AWS-shaped ids and attributes, effect "none", and the
// provider registry refuses what it does not know; orphans of a stack are found and removed.
import { afterAll, describe, expect, it } from 'vitest';
import { docker } from '../../docker.js';
import { findOrphans, localProvider, localTypes, removeOrphans } from '../../../src/providers/docker/index.js';
import { launchContainer } from '../../../src/providers/docker/launch.js';
import { listVpcNamespaces } from '../../../src/providers/docker/network.js';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import { World } from './ctx.js';

const world = new World();
afterAll(async () => {
  await world.cleanup();
});

describe('no local effect', () => {
  it('records IAM roles, instance profiles and policies with the ids and attributes AWS gives', async () => {
    const p = localProvider({ docker: world.docker });
    const stack = world.stack();
    const role = p.handler('AWS::IAM::Role')!;
    expect(role.effect).toBe('none');
    const r = await role.create(stack.ctx('WebRole', role.type), { AssumeRolePolicyDocument: {} });
    expect(r.physicalId).toMatch(new RegExp(`^${stack.name}-WebRole-[A-Z0-9]{12}$`));
    expect(r.attributes.Arn).toBe(`arn:aws:iam::123456789012:role/${r.physicalId}`);
    expect(r.attributes.RoleId).toMatch(/^AROA[A-Z0-9]{17}$/);
    const prof = p.handler('AWS::IAM::InstanceProfile')!;
    const ip = await prof.create(stack.ctx('WebProfile', prof.type), { InstanceProfileName: 'web', Path: '/app/', Roles: [r.physicalId] });
    expect(ip).toMatchObject({ physicalId: 'web', attributes: { Arn: 'arn:aws:iam::123456789012:instance-profile/app/web' } });
    const pol = p.handler('AWS::IAM::Policy')!;
    const po = await pol.create(stack.ctx('Pol', pol.type), { PolicyName: 'x', PolicyDocument: {} });
    expect(po.attributes.Id).toBe(po.physicalId);
  });

  it('knows the real types and refuses unknown ones', () => {
    const p = localProvider({ docker: world.docker });
    for (const t of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::Instance'])
      expect(p.handler(t)?.effect).toBe('real');
    expect(p.handler('AWS::Lambda::Function')?.effect).toBe('none');
    expect(p.handler('AWS::RDS::DBInstance')).toBeUndefined();
    expect(p.handler('AWS::Nope::Thing')).toBeUndefined();
    expect(localTypes()).toContain('AWS::IAM::Role');
  });
});

describe('orphans', () => {
  it('finds containers and VPC namespaces of a stack that state does not know, and removes them', async () => {
    const stack = world.stack();
    const vpc = await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.55.0.0/16' });
    const subnet = await stack.create(subnetHandler, 'Subnet', { VpcId: vpc.physicalId, CidrBlock: '10.55.1.0/24' });
    const l = await launchContainer(stack.ctx('Web', 'AWS::EC2::Instance'), {
      image: 'busybox:latest',
      subnetId: subnet.physicalId,
      owner: 'i-0000000000000000a',
      cmd: ['sleep', '600'],
      labels: { 'kiln.test': 'noop-orphans' },
    });
    const known = new Set([vpc.physicalId, subnet.physicalId, 'i-0000000000000000a']);
    expect(await findOrphans(world.docker, stack.name, known)).toEqual([]);
    // state lost the instance: its container is an orphan
    const lost = new Set([vpc.physicalId, subnet.physicalId]);
    expect((await findOrphans(world.docker, stack.name, lost)).map((o) => o.kind)).toEqual(['container']);
    // state lost everything: container and VPC namespace
    expect(await removeOrphans(world.docker, stack.name, new Set())).toBe(2);
    expect(await (await docker()).listContainers({ all: true, filters: JSON.stringify({ label: [`kiln.stack=${stack.name}`] }) })).toEqual([]);
    expect(await listVpcNamespaces(stack.name)).toEqual([]);
    expect(l.containerId).toBeTruthy();
  });
});
