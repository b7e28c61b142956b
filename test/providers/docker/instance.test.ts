// AWS::EC2::Instance on the real engine: an instance from a local image (by tag or by its ami- id),
// user data run at boot before the image's command, attributes as AWS names them, in-place updates,
// drift (a file changed inside the instance), and deletion rules.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../docker.js';
import { amiIdFor } from '../../../src/providers/docker/images.js';
import { instanceHandler } from '../../../src/providers/docker/instance.js';
import { namespaceExists, run } from '../../../src/providers/docker/network.js';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import { securityGroupHandler } from '../../../src/providers/docker/securitygroups.js';
import { World, buildTestImage, httpGet, removeImages, sh } from './ctx.js';

const world = new World();
const stack = world.stack();
const TEST_ID = `instance-${stack.name}`;
const TAG = `kiln-test/web:${stack.name}`;
let imageId = '';

const userData = (text: string) => Buffer.from(`#!/bin/sh\nprintf '%s\\n' '${text}' > /etc/app.env\n`).toString('base64');

async function hostGet(ip: string, port = 80, path = '/index.html'): Promise<string> {
  const res = await fetch(`http://${ip}:${port}${path}`, { signal: AbortSignal.timeout(2000) });
  return res.text();
}

/** Polls until the instance's command answers (after a restart it starts a moment later). */
async function hostGetEventually(ip: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await hostGet(ip);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('AWS::EC2::Instance', () => {
  let vpcId = '';
  let subnetId = '';
  let openSg = '';
  let closedSg = '';
  beforeAll(async () => {
    imageId = await buildTestImage(TAG, 'FROM busybox:latest\nEXPOSE 80\nCMD ["sh", "-c", "mkdir -p /www && cat /etc/app.env > /www/index.html 2>/dev/null; exec httpd -f -p 80 -h /www"]\n', {
      'kiln.test': TEST_ID,
    });
    vpcId = (await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.42.0.0/16' })).physicalId;
    subnetId = (await stack.create(subnetHandler, 'Subnet', { VpcId: vpcId, CidrBlock: '10.42.1.0/24', AvailabilityZone: 'eu-west-1a', MapPublicIpOnLaunch: true })).physicalId;
    openSg = (
      await stack.create(securityGroupHandler, 'OpenSg', {
        GroupDescription: 'http from anywhere',
        VpcId: vpcId,
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }],
      })
    ).physicalId;
    closedSg = (
      await stack.create(securityGroupHandler, 'ClosedSg', {
        GroupDescription: 'http from the subnet only',
        VpcId: vpcId,
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '10.42.1.0/24' }],
      })
    ).physicalId;
  }, 120_000);
  afterAll(async () => {
    await world.cleanup();
    await removeImages('kiln.test', TEST_ID);
  });

  it('launches from the ami- id of a local image, runs the user data first, answers on its public address', async () => {
    const ami = amiIdFor(imageId);
    expect(ami).toMatch(/^ami-[0-9a-f]{17}$/);
    const state = await stack.create(instanceHandler, 'Web', {
      ImageId: ami,
      InstanceType: 't2.micro',
      SubnetId: subnetId,
      SecurityGroupIds: [openSg],
      UserData: userData('REDIS_HOST=10.42.1.9'),
      Tags: [{ Key: 'Name', Value: 'web' }],
    });
    expect(state.physicalId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(state.attributes).toMatchObject({
      InstanceId: state.physicalId,
      PrivateIp: '10.42.1.4',
      PrivateDnsName: 'ip-10-42-1-4.eu-west-1.compute.internal',
      AvailabilityZone: 'eu-west-1a',
      VpcId: vpcId,
      State: 'running',
    });
    expect(state.attributes.PublicDnsName).toBe(''); // the VPC has no EnableDnsHostnames, as on AWS
    const publicIp = String(state.attributes.PublicIp);
    expect(publicIp).toMatch(/^127\./);
    expect(await hostGet(publicIp)).toBe('REDIS_HOST=10.42.1.9\n');
    const container = (state.data!.containers as Array<{ id: string }>)[0].id;
    const info = await (await docker()).getContainer(container).inspect();
    expect(info.Image).toBe(imageId);
    expect(info.HostConfig.Memory).toBe(1024 * 1024 * 1024);
    expect(info.Config.Labels).toMatchObject({ 'kiln.stack': stack.name, 'kiln.resource': 'Web', 'kiln.managed': 'true', 'kiln.deployment': stack.deployment });
    expect(info.HostConfig.CapAdd ?? []).not.toContain('NET_ADMIN');
    // the instance cannot change its own packet filter, nor forge ARP on the VPC segment
    expect((await sh(container, 'ip link set vpc0 down 2>&1; echo rc=$?')).out).toMatch(/rc=[1-9]/);
    expect((await sh(container, 'arping -c 1 -w 1 -U -I vpc0 10.42.1.1 2>&1; echo rc=$?')).out).toMatch(/socket: Operation not permitted\nrc=1/);
    expect(info.HostConfig.CapDrop).toEqual(['NET_ADMIN', 'NET_RAW']);
  });

  it('reports no drift after boot, then a file changed inside the instance', async () => {
    const web = stack.get('Web');
    const clean = await instanceHandler.read!(stack.ctx('Web', web.type), web.state, web.properties);
    expect(clean.drift).toEqual([]);
    expect(clean.mutations).toEqual([]);
    const container = (web.state.data!.containers as Array<{ id: string }>)[0].id;
    // the user data wrote /etc/app.env at boot: that is the baseline, with its content hash
    expect(web.state.data!.baseline).toContain('A /etc/app.env');
    expect(Object.keys(web.state.data!.baselineHashes as object)).toContain('/etc/app.env');
    await sh(container, 'echo hacked > /etc/motd && rm /etc/group && echo REDIS_HOST=evil > /etc/app.env');
    const dirty = await instanceHandler.read!(stack.ctx('Web', web.type), web.state, web.properties);
    expect(dirty.mutations).toEqual([
      { path: '/etc/app.env', kind: 'A' },
      { path: '/etc/group', kind: 'D' },
      { path: '/etc/motd', kind: 'A' },
    ]);
    await sh(container, "printf 'REDIS_HOST=10.42.1.9\\n' > /etc/app.env");
    expect(dirty.drift).toEqual([]);
    // someone opens the packet filter by hand, from the host: the instance drifts from its groups
    const pid = (await (await docker()).getContainer(container).inspect()).State.Pid;
    await run('nsenter', [`--net=/proc/${pid}/ns/net`, 'iptables', '-w', '-P', 'INPUT', 'ACCEPT']);
    const opened = await instanceHandler.read!(stack.ctx('Web', web.type), web.state, web.properties);
    expect(opened.drift).toEqual([{ property: 'SecurityGroupIds', expected: ['-P INPUT DROP'], actual: ['-P INPUT ACCEPT'], kind: 'NOT_EQUAL' }]);
  });

  it('changes InstanceType in place with a restart, keeping its address and rules', async () => {
    const before = stack.get('Web');
    const after = await stack.update(instanceHandler, 'Web', { ...before.properties, InstanceType: 't2.medium' });
    expect(after.physicalId).toBe(before.state.physicalId);
    const container = (after.data!.containers as Array<{ id: string }>)[0].id;
    const info = await (await docker()).getContainer(container).inspect();
    expect(info.HostConfig.Memory).toBe(4 * 1024 * 1024 * 1024);
    expect(await hostGetEventually(String(after.attributes.PublicIp))).toBe('REDIS_HOST=10.42.1.9\n');
  });

  it('changes SecurityGroupIds in place: the host is refused once only the subnet may connect', async () => {
    const before = stack.get('Web');
    const after = await stack.update(instanceHandler, 'Web', { ...before.properties, SecurityGroupIds: [closedSg] });
    await expect(hostGet(String(after.attributes.PublicIp))).rejects.toThrow();
  });

  it("publishes nothing for a public instance whose groups only admit the VPC (the seed's web instance)", async () => {
    const state = await stack.create(instanceHandler, 'Inner', { ImageId: TAG, InstanceType: 't2.nano', SubnetId: subnetId, SecurityGroupIds: [closedSg], UserData: userData('inner') });
    expect(state.attributes.PublicIp).toMatch(/^127\./);
    expect(state.data!.publishedPorts).toEqual([]);
    const container = (state.data!.containers as Array<{ id: string }>)[0].id;
    const ports = (await (await docker()).getContainer(container).inspect()).HostConfig.PortBindings ?? {};
    expect(Object.keys(ports)).toEqual([]);
    // reachable inside the subnet: from the Web instance (its groups allow all egress)
    const web = (stack.get('Web').state.data!.containers as Array<{ id: string }>)[0].id;
    expect((await sh(web, httpGet(String(state.attributes.PrivateIp), 80))).out).toContain('inner');
    await stack.delete(instanceHandler, 'Inner');
  });

  it('accepts gzip-compressed #cloud-config user data: files written and commands run before the command', async () => {
    const cfg = '#cloud-config\nwrite_files:\n  - path: /etc/app.env\n    content: from-cloud-config\nruncmd:\n  - echo ran >> /etc/app.env\n';
    const state = await stack.create(instanceHandler, 'Cloud', { ImageId: TAG, InstanceType: 't2.nano', SubnetId: subnetId, SecurityGroupIds: [closedSg], UserData: gzipSync(cfg).toString('base64') });
    const web = (stack.get('Web').state.data!.containers as Array<{ id: string }>)[0].id;
    expect((await sh(web, httpGet(String(state.attributes.PrivateIp), 80))).out).toContain('from-cloud-configran\n');
    await stack.delete(instanceHandler, 'Cloud');
  });

  it('runs the user data as root even when the image names another USER, and the command as that user', async () => {
    const tag = `${TAG}-nobody`;
    await buildTestImage(tag, 'FROM busybox:latest\nUSER nobody\nCMD ["sh", "-c", "mkdir -p /tmp/www && { cat /etc/ud-uid; id -u; } > /tmp/www/index.html; exec httpd -f -p 80 -h /tmp/www"]\n', {
      'kiln.test': TEST_ID,
    });
    const state = await stack.create(instanceHandler, 'Nobody', {
      ImageId: tag,
      InstanceType: 't2.nano',
      SubnetId: subnetId,
      SecurityGroupIds: [closedSg],
      UserData: Buffer.from('#!/bin/sh\nid -u > /etc/ud-uid\n').toString('base64'),
    });
    const web = (stack.get('Web').state.data!.containers as Array<{ id: string }>)[0].id;
    expect((await sh(web, httpGet(String(state.attributes.PrivateIp), 80))).out).toContain('0\n65534\n');
    await stack.delete(instanceHandler, 'Nobody');
  });

  it('boots an image without /bin/sh (the host lends a static busybox to the wrapper)', async () => {
    const tag = `${TAG}-noshell`;
    await buildTestImage(
      tag,
      `FROM busybox:latest AS b\nLABEL kiln.test=${TEST_ID}\nRUN mkdir -p /w && echo no-shell > /w/index.html\nFROM scratch\nCOPY --from=b /bin/busybox /busybox\nCOPY --from=b /w /w\nCMD ["/busybox", "httpd", "-f", "-p", "80", "-h", "/w"]\n`,
      { 'kiln.test': TEST_ID },
    );
    const state = await stack.create(instanceHandler, 'NoShell', {
      ImageId: tag,
      InstanceType: 't2.nano',
      SubnetId: subnetId,
      SecurityGroupIds: [closedSg],
      UserData: Buffer.from('#!/.kiln/busybox sh\necho ran > /w/ud.html\n').toString('base64'),
    });
    const web = (stack.get('Web').state.data!.containers as Array<{ id: string }>)[0].id;
    expect((await sh(web, httpGet(String(state.attributes.PrivateIp), 80))).out).toContain('no-shell');
    expect((await sh(web, httpGet(String(state.attributes.PrivateIp), 80, '/ud.html'))).out).toContain('ran');
    await stack.delete(instanceHandler, 'NoShell');
  });

  it('honours PrivateIpAddress and a network interface that declines a public address', async () => {
    const state = await stack.create(instanceHandler, 'Fixed', {
      ImageId: TAG,
      InstanceType: 't2.nano',
      NetworkInterfaces: [{ DeviceIndex: '0', SubnetId: subnetId, GroupSet: [closedSg], AssociatePublicIpAddress: false, PrivateIpAddress: '10.42.1.50' }],
    });
    expect(state.attributes.PrivateIp).toBe('10.42.1.50');
    expect(state.attributes.PublicIp).toBeUndefined();
    await expect(instanceHandler.create(stack.ctx('Twin', 'AWS::EC2::Instance'), { ImageId: TAG, SubnetId: subnetId, PrivateIpAddress: '10.42.1.50' })).rejects.toThrow(/Address 10.42.1.50 is in use/);
    await expect(instanceHandler.create(stack.ctx('Twin', 'AWS::EC2::Instance'), { ImageId: TAG, SubnetId: subnetId, PrivateIpAddress: '10.42.2.50' })).rejects.toThrow(
      /does not fall within the subnet's address range/,
    );
    await expect(instanceHandler.create(stack.ctx('Twin', 'AWS::EC2::Instance'), { ImageId: TAG, SubnetId: subnetId, AvailabilityZone: 'eu-west-1b' })).rejects.toThrow(
      /is in availability zone eu-west-1a, not in the requested eu-west-1b/,
    );
    await stack.delete(instanceHandler, 'Fixed');
  });

  it('refuses an unknown instance type, user data that is not base64, and an image that does not exist, creating nothing', async () => {
    const base = { ImageId: TAG, SubnetId: subnetId };
    await expect(instanceHandler.create(stack.ctx('Bad', 'AWS::EC2::Instance'), { ...base, InstanceType: 't2.gigantic' })).rejects.toThrow(/InstanceType 't2.gigantic' is not a known/);
    await expect(instanceHandler.create(stack.ctx('Bad', 'AWS::EC2::Instance'), { ...base, InstanceType: 't2.micro', UserData: '#!/bin/sh\necho hi' })).rejects.toThrow(/BASE64/);
    await expect(instanceHandler.create(stack.ctx('Bad', 'AWS::EC2::Instance'), { ...base, ImageId: 'ami-0123456789abcdef0' })).rejects.toThrow(/names no local image/);
    const made = await (await docker()).listContainers({ all: true, filters: JSON.stringify({ label: [`kiln.stack=${stack.name}`, 'kiln.resource=Bad'] }) });
    expect(made).toEqual([]);
  });

  it('keeps the VPC while it has members, then deletes instance, subnet and VPC cleanly', async () => {
    const vpc = stack.get('Vpc');
    await expect(vpcHandler.delete(stack.ctx('Vpc', vpc.type), vpc.state, vpc.properties)).rejects.toThrow(/has dependencies and cannot be deleted/);
    await expect(stack.delete(subnetHandler, 'Subnet')).rejects.toThrow(/has dependencies/);
    await stack.delete(instanceHandler, 'Web');
    await stack.delete(securityGroupHandler, 'OpenSg');
    await stack.delete(securityGroupHandler, 'ClosedSg');
    await stack.delete(subnetHandler, 'Subnet');
    await stack.delete(vpcHandler, 'Vpc');
    expect(await namespaceExists(String(vpc.state.data!.netns))).toBe(false);
    const left = await (await docker()).listContainers({ all: true, filters: JSON.stringify({ label: [`kiln.stack=${stack.name}`] }) });
    expect(left).toEqual([]);
  });
});
