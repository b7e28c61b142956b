// AWS::AutoScaling::LaunchConfiguration on the real engine: an Auto Scaling group launched from one
// (image, instance type, groups, user data, key pair), a changed configuration made as a new one (a
// launch configuration is immutable) and the group rolled onto it, and a configuration in use that
// cannot be deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/stack/model.js';
import { autoScalingGroupHandler, listInstances } from '../../../src/providers/docker/asg.js';
import { launchConfigurationHandler } from '../../../src/providers/docker/launchtemplate.js';
import { World, removeImages, sh } from './ctx.js';
import { network, webImage } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `lc-${stack.name}` };
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnLaunchConfigurationTestKeyOnly0000 test@kiln';

describe('AWS::AutoScaling::LaunchConfiguration', () => {
  let net: Awaited<ReturnType<typeof network>>;
  const images: Record<string, string> = {};
  beforeAll(async () => {
    images.v1 = await webImage(`kiln-test/lc-web:${stack.name}-1`, TEST, '1');
    images.v2 = await webImage(`kiln-test/lc-web:${stack.name}-2`, TEST, '2');
    net = await network(stack, 101);
    stack.live.set('Key', {
      stack: stack.name,
      logicalId: 'Key',
      type: 'AWS::EC2::KeyPair',
      properties: { KeyName: 'lc-key', PublicKeyMaterial: KEY },
      state: { physicalId: 'lc-key', attributes: {} },
    });
  }, 180_000);
  afterAll(async () => {
    await world.cleanup();
    await removeImages('kiln.test', TEST['kiln.test']);
  });

  it('validates what it can realise and what it cannot before anything runs', async () => {
    const base = { ImageId: images.v1, InstanceType: 't2.micro' };
    await expect(stack.create(launchConfigurationHandler, 'Bad1', { InstanceType: 't2.micro' })).rejects.toThrow(/ImageId is required/);
    await expect(stack.create(launchConfigurationHandler, 'Bad2', { ...base, InstanceType: 't9.huge' })).rejects.toThrow(/t9\.huge/);
    await expect(stack.create(launchConfigurationHandler, 'Bad3', { ...base, SecurityGroups: ['sg-0000000000000dead'] })).rejects.toThrow(/InvalidGroup\.NotFound/);
    await expect(stack.create(launchConfigurationHandler, 'Bad4', { ...base, KeyName: 'nobody' })).rejects.toThrow(/InvalidKeyPair\.NotFound/);
    await expect(stack.create(launchConfigurationHandler, 'Bad5', { ...base, UserData: 'not base64!' })).rejects.toThrow(/BASE64/);
    await expect(stack.create(launchConfigurationHandler, 'Bad6', { ...base, BlockDeviceMappings: [{ DeviceName: 'disk' }] })).rejects.toThrow(/not a device name/);
    await expect(stack.create(launchConfigurationHandler, 'Bad7', { ...base, ClassicLinkVPCId: 'vpc-1' })).rejects.toThrow(/EC2-Classic/);
    expect(launchConfigurationHandler.planNote?.({ ...base, IamInstanceProfile: 'p', BlockDeviceMappings: [] })).toEqual({
      error: false,
      message: expect.stringMatching(/^IamInstanceProfile, BlockDeviceMappings recorded with no local effect/) as unknown as string,
    });
    expect(launchConfigurationHandler.planNote?.(base)).toBeUndefined();
    expect(launchConfigurationHandler.update).toBeUndefined(); // every change replaces
  });

  it('launches a group from it, rolls the group onto a replacement, and is not deleted while in use', async () => {
    const userData = Buffer.from('#!/bin/sh\necho from-user-data > /tmp/ud\n').toString('base64');
    const lcProps = (image: string): JsonObject => ({
      ImageId: image,
      InstanceType: 't2.micro',
      SecurityGroups: [net.webSg],
      KeyName: 'lc-key',
      UserData: userData,
      IamInstanceProfile: 'arn:aws:iam::123456789012:instance-profile/web',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8, VolumeType: 'gp3' } }],
    });
    const lc1 = await stack.create(launchConfigurationHandler, 'Lc1', lcProps(images.v1));
    expect(lc1.physicalId).toMatch(new RegExp(`^${stack.name}-Lc1-[A-Z0-9]{12}$`));
    expect(lc1.data?.securityGroupIds).toEqual([net.webSg]);
    const named = await stack.create(launchConfigurationHandler, 'Named', { ...lcProps(images.v1), LaunchConfigurationName: `${stack.name}-web` });
    expect(named.physicalId).toBe(`${stack.name}-web`);
    await expect(stack.create(launchConfigurationHandler, 'Named2', { ...lcProps(images.v1), LaunchConfigurationName: `${stack.name}-web` })).rejects.toThrow(/AlreadyExists/);

    const asgProps = (lcName: string): JsonObject => ({ MinSize: '1', MaxSize: '3', DesiredCapacity: '2', VPCZoneIdentifier: [net.subnetA, net.subnetB], LaunchConfigurationName: lcName });
    const asg = await stack.create(autoScalingGroupHandler, 'Asg', asgProps(lc1.physicalId));
    expect(asg.data?.launchTemplate).toEqual({ source: lc1.physicalId, version: '1' });
    const v1 = await listInstances(world.docker, stack.name, 'Asg', asg.physicalId);
    expect(v1).toHaveLength(2);
    for (const i of v1) {
      const info = await world.docker.inspectContainer(i.containerId);
      expect(info.Image).toBe(images.v1);
      expect(i.groups).toEqual([net.webSg]);
      expect((await sh(i.containerId, 'cat /tmp/ud; cat /root/.ssh/authorized_keys')).out).toBe(`from-user-data\n${KEY}\n`);
      // A key pair does not take the place of the instance's other files: the cfn helper scripts are there too.
      expect((await sh(i.containerId, 'ls /opt/aws/bin')).out.split('\n')).toEqual(expect.arrayContaining(['cfn-init', 'cfn-signal']));
    }
    await expect(stack.delete(launchConfigurationHandler, 'Lc1')).rejects.toThrow(/attached to AutoScalingGroup .*ResourceInUse/);

    // A changed configuration is a new one (the planner replaces: every property is create-only);
    // the group names the new one and rolls onto it per its UpdatePolicy, one instance at a time.
    const lc2 = await stack.create(launchConfigurationHandler, 'Lc2', lcProps(images.v2));
    expect(lc2.physicalId).not.toBe(lc1.physicalId);
    const prev = stack.get('Asg');
    const ctx = { ...stack.ctx('Asg', autoScalingGroupHandler.type), policies: { UpdatePolicy: { AutoScalingRollingUpdate: { MaxBatchSize: '1', MinInstancesInService: '1' } } } };
    const rolled = await autoScalingGroupHandler.update!(ctx, asgProps(lc2.physicalId), { props: prev.properties, state: prev.state });
    stack.live.set('Asg', { ...prev, properties: asgProps(lc2.physicalId), state: rolled });
    const v2 = await listInstances(world.docker, stack.name, 'Asg', asg.physicalId);
    expect(v2).toHaveLength(2);
    expect(v2.some((i) => v1.some((o) => o.instanceId === i.instanceId))).toBe(false);
    for (const i of v2) expect((await world.docker.inspectContainer(i.containerId)).Image).toBe(images.v2);
    const progress = world.events.events.filter((e) => e.logicalId === 'Asg' && e.kind === 'progress').map((e) => e.message);
    expect(progress.filter((m) => /^rolling update batch \d\/2/.test(m))).toHaveLength(2);

    // The old configuration is free now; the group's delete leaves the new one deletable too.
    await stack.delete(launchConfigurationHandler, 'Lc1');
    await stack.delete(autoScalingGroupHandler, 'Asg');
    expect(await listInstances(world.docker, stack.name, 'Asg', asg.physicalId)).toEqual([]);
    await stack.delete(launchConfigurationHandler, 'Lc2');
  }, 240_000);
});
