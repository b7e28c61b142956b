// The launch primitive on the real engine: a container in a subnet, with its address from the
// subnet's range, behind its security groups, with a public endpoint on its own loopback address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../docker.js';
import { destroyContainer, launchContainer, prepareUserData } from '../../../src/providers/docker/launch.js';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import { securityGroupHandler } from '../../../src/providers/docker/securitygroups.js';
import { World, sh } from './ctx.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `launch-${stack.name}` };

afterAll(async () => {
  await world.cleanup();
});

describe('launchContainer', () => {
  let subnetId = '';
  let webSg = '';
  let clientSg = '';
  beforeAll(async () => {
    const vpc = await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.77.0.0/16' });
    subnetId = (await stack.create(subnetHandler, 'Subnet', { VpcId: vpc.physicalId, CidrBlock: '10.77.1.0/24', AvailabilityZone: 'eu-west-1a' })).physicalId;
    clientSg = (await stack.create(securityGroupHandler, 'ClientSg', { GroupDescription: 'clients', VpcId: vpc.physicalId })).physicalId;
    webSg = (
      await stack.create(securityGroupHandler, 'WebSg', {
        GroupDescription: 'web',
        VpcId: vpc.physicalId,
        SecurityGroupIngress: [
          { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, SourceSecurityGroupId: clientSg },
          { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, CidrIp: '0.0.0.0/0' },
        ],
      })
    ).physicalId;
  });

  it('starts containers in the subnet and enforces their groups, allowed and refused paths alike', async () => {
    const web = await launchContainer(stack.ctx('Web', 'AWS::EC2::Instance'), {
      image: 'busybox:latest',
      subnetId,
      securityGroupIds: [webSg],
      labels: TEST,
      cmd: ['sh', '-c', 'echo hello > /tmp/index.html; httpd -p 80 -h /tmp; httpd -p 81 -h /tmp; httpd -f -p 8080 -h /tmp'],
      publish: { ports: [8080, 80] },
    });
    stack.live.set('Web', { stack: stack.name, logicalId: 'Web', type: 'AWS::EC2::Instance', properties: {}, state: { physicalId: 'i-web', attributes: {}, data: { containers: [web.data] } } });
    const client = await launchContainer(stack.ctx('Client', 'AWS::EC2::Instance'), {
      image: 'busybox:latest',
      subnetId,
      securityGroupIds: [clientSg],
      labels: TEST,
      cmd: ['sleep', '600'],
    });
    stack.live.set('Client', {
      stack: stack.name,
      logicalId: 'Client',
      type: 'AWS::EC2::Instance',
      properties: {},
      state: { physicalId: 'i-client', attributes: {}, data: { containers: [client.data] } },
    });
    const other = await launchContainer(stack.ctx('Other', 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId, labels: TEST, cmd: ['sleep', '600'] });

    expect(web.privateIp).toBe('10.77.1.4');
    expect(client.privateIp).toBe('10.77.1.5');
    expect(web.publicIp).toMatch(/^127\.\d+\.\d+\.\d+$/);
    const get = (port: number) => `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${web.privateIp} ${port}`;
    // allowed: a member of the client group on port 80
    expect((await sh(client.containerId, get(80))).out).toContain('hello');
    // refused: same client, port 81 (listening, but no rule)
    expect((await sh(client.containerId, get(81))).out).not.toContain('hello');
    // refused: a container in no group on port 80
    expect((await sh(other.containerId, get(80))).out).not.toContain('hello');
    // allowed from anywhere: 8080, also from the host through the public endpoint
    expect((await sh(other.containerId, get(8080))).out).toContain('hello');
    // no IPv6 address on the VPC link (a link-local one would bypass the IPv4 packet filter)
    expect((await sh(client.containerId, 'ip -6 addr show dev vpc0; cat /proc/net/if_inet6')).out.trim()).toBe('');
    expect((await sh(client.containerId, 'ip -4 addr show dev vpc0')).out).toContain(`inet ${client.privateIp}/16`);
    const res = await fetch(`http://${web.publicIp}:8080/index.html`);
    expect(await res.text()).toContain('hello');
    // refused from the host: port 80 is published but only the client group may use it
    await expect(fetch(`http://${web.publicIp}:80/index.html`, { signal: AbortSignal.timeout(1500) }).then((r) => r.text())).rejects.toThrow();

    await destroyContainer(stack.ctx('Other', 'AWS::EC2::Instance'), other.data as never);
    const gone = await (await docker()).listContainers({ all: true, filters: JSON.stringify({ label: [`kiln.ip=${other.privateIp}`, `kiln.stack=${stack.name}`] }) });
    expect(gone).toHaveLength(0);
  });
});

describe('parallel launches', () => {
  it('give every container its own private address and loopback address', async () => {
    const s2 = world.stack();
    const vpc = await s2.create(vpcHandler, 'Vpc', { CidrBlock: '10.78.0.0/16' });
    const subnet = await s2.create(subnetHandler, 'Subnet', { VpcId: vpc.physicalId, CidrBlock: '10.78.1.0/28' });
    const launched = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        launchContainer(s2.ctx(`W${i}`, 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId: subnet.physicalId, labels: TEST, cmd: ['sleep', '600'], publish: { ports: [8080] } }),
      ),
    );
    expect(new Set(launched.map((l) => l.privateIp)).size).toBe(6);
    expect(new Set(launched.map((l) => l.publicIp)).size).toBe(6);
    // a /28 holds 16 addresses: 5 reserved by AWS, 11 usable; a 12th does not fit
    const more = await Promise.all(
      Array.from({ length: 5 }, (_, i) => launchContainer(s2.ctx(`M${i}`, 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId: subnet.physicalId, labels: TEST, cmd: ['sleep', '600'] })),
    );
    expect(more.map((l) => l.privateIp).sort()).toEqual(['10.78.1.10', '10.78.1.11', '10.78.1.12', '10.78.1.13', '10.78.1.14']);
    await expect(launchContainer(s2.ctx('Full', 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId: subnet.physicalId, labels: TEST, cmd: ['sleep', '600'] })).rejects.toThrow(
      /not enough free addresses in subnet/,
    );
  });
});

describe('user data formats (as cloud-init reads them)', () => {
  it('keeps a #! script as it is', async () => {
    const ud = await prepareUserData('#!/bin/sh\necho hi > /x\n');
    expect(ud).toEqual({ script: '#!/bin/sh\necho hi > /x\n', files: [], warnings: [] });
  });

  it('turns #cloud-config into files and commands, in cloud-init order', async () => {
    const ud = await prepareUserData(
      "#cloud-config\nbootcmd:\n  - echo boot\nwrite_files:\n  - path: /etc/app.env\n    content: |\n      A=1\n    permissions: '0600'\n  - path: /etc/log.txt\n    content: more\n    append: true\nruncmd:\n  - echo run > /tmp/r\n  - [touch, /tmp/it's]\nusers: []\n",
    );
    expect(ud.files).toEqual([
      { path: '/etc/app.env', content: Buffer.from('A=1\n'), mode: 0o600 },
      { path: '/.kiln/ud/write-2', content: Buffer.from('more'), mode: 0o600 },
    ]);
    expect(ud.script.split('\n')).toEqual([
      '#!/bin/sh',
      '# assembled by kiln from the user data parts, in cloud-init order',
      "sh -c 'echo boot'",
      "mkdir -p '/etc' && cat /.kiln/ud/write-2 >> '/etc/log.txt'",
      "sh -c 'echo run > /tmp/r'",
      "'touch' '/tmp/it'\\''s'",
      '',
    ]);
    expect(ud.warnings).toEqual(["cloud-config key 'users' has no local effect"]);
  });

  it('runs the parts of a MIME multi-part mix, shell parts before runcmd', async () => {
    const mime = [
      'Content-Type: multipart/mixed; boundary="XYZ"',
      'MIME-Version: 1.0',
      '',
      '--XYZ',
      'Content-Type: text/cloud-config; charset="us-ascii"',
      '',
      '#cloud-config',
      'runcmd:',
      '  - echo last',
      '--XYZ',
      'Content-Type: text/x-shellscript',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('#!/bin/sh\necho first\n').toString('base64'),
      '--XYZ--',
      '',
    ].join('\n');
    const ud = await prepareUserData(mime);
    expect(ud.files).toEqual([{ path: '/.kiln/ud/part-002', content: '#!/bin/sh\necho first\n', mode: 0o755 }]);
    expect(ud.script).toContain("/.kiln/ud/part-002\nsh -c 'echo last'\n");
  });

  it('runs other text with /bin/sh, with a warning', async () => {
    const ud = await prepareUserData('echo plain > /x\n');
    expect(ud.warnings[0]).toMatch(/neither a #! script nor #cloud-config/);
    expect(ud.script).toContain('sh /.kiln/ud/part-001');
  });
});
