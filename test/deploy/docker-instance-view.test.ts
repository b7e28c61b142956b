// The instance's view of AWS on the real Docker engine: the metadata service at 169.254.169.254
// (IMDSv1, the IMDSv2 token flow, HttpTokens: required, answered to instances only), cfn-init
// applying AWS::CloudFormation::Init files and commands, cfn-signal completing a CreationPolicy,
// a WaitConditionHandle URL signalled from user data, and the two ways a CreationPolicy fails:
// a failure signal (at once, with its reason) and the timeout, each rolled back.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { client, removeByLabels } from '../docker.js';
import { localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { EventLog } from '../../src/core/events.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, destroyStack, type EngineEvent } from '../../src/deploy/index.js';

const id = randomBytes(3).toString('hex');
const stacks = [`kt-iv-${id}`, `kt-ivf-${id}`, `kt-ivt-${id}`, `kt-iva-${id}`];
const dir = mkdtempSync(join(tmpdir(), 'kiln-instance-view-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
const image = `kiln-test/instance-view:${id}`;
const built = spawnSync('docker', ['build', '-q', '-t', image, '--label', `kiln.test=${stacks[0]}`, '-'], { input: 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n', encoding: 'utf8' });
if (built.status !== 0) throw new Error(built.stderr);

afterAll(async () => {
  for (const s of stacks) {
    await removeOrphans(client, s, new Set()).catch(() => undefined);
    await removeByLabels({ 'kiln.stack': s }).catch(() => undefined);
  }
  spawnSync('docker', ['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

function deploy(stack: string, template: object) {
  const events = new EventLog<EngineEvent>();
  return { events, done: deployStack({ stack, store, provider, events, file: 'template.json', text: JSON.stringify(template) }) };
}

async function containerOf(stack: string, logicalId: string): Promise<string> {
  const [c] = await client.listContainers({ labels: [`kiln.stack=${stack}`, `kiln.resource=${logicalId}`, 'kiln.kind=instance'] });
  if (!c) throw new Error(`no container for ${logicalId}`);
  return c.Id;
}

async function sh(container: string, script: string): Promise<string> {
  const r = await client.exec(container, ['sh', '-c', script], { user: '0' });
  return r.stdout;
}

const network = (octet: number) => ({
  Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: `10.${octet}.0.0/16` } },
  Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: `10.${octet}.1.0/24`, AvailabilityZone: 'eu-west-1b' } },
  // No egress rule but SSH out: the metadata address is reachable all the same, as on AWS.
  Sg: {
    Type: 'AWS::EC2::SecurityGroup',
    Properties: { GroupDescription: 'closed', VpcId: { Ref: 'Vpc' }, SecurityGroupEgress: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: '10.0.0.0/8' }] },
  },
});

const b64sub = (text: string) => ({ 'Fn::Base64': { 'Fn::Sub': text } });

const main = {
  Resources: {
    ...network(91),
    Key: { Type: 'AWS::EC2::KeyPair', Properties: { KeyName: `kt-iv-${id}`, PublicKeyMaterial: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnKilnKilnKilnKilnKilnKilnKilnKilnKilnKiln test@kiln' } },
    Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
    Web: {
      Type: 'AWS::EC2::Instance',
      CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT3M' } },
      Metadata: {
        'AWS::CloudFormation::Init': {
          configSets: { default: ['write', 'run'] },
          write: { files: { '/etc/app.conf': { content: 'stack={{name}}\n', context: { name: { Ref: 'AWS::StackName' } }, mode: '000640' } } },
          run: {
            commands: {
              '01_hello': { command: 'echo "$GREETING from $(pwd)" > /tmp/hello', env: { GREETING: 'hi' }, cwd: '/etc' },
              '02_skipped': { command: 'touch /tmp/should-not-exist', test: 'false' },
            },
          },
        },
      },
      Properties: {
        ImageId: image,
        InstanceType: 't3.micro',
        SubnetId: { Ref: 'Subnet' },
        SecurityGroupIds: [{ Ref: 'Sg' }],
        KeyName: { Ref: 'Key' },
        MetadataOptions: { InstanceMetadataTags: 'enabled' },
        Tags: [{ Key: 'Role', Value: 'web' }],
        UserData: b64sub(
          [
            '#!/bin/sh',
            '/opt/aws/bin/cfn-init -v --stack ${AWS::StackName} --resource Web --region ${AWS::Region}',
            '/opt/aws/bin/cfn-signal -e $? --stack ${AWS::StackName} --resource Web --region ${AWS::Region}',
            "/opt/aws/bin/cfn-signal -e 0 -i web -d ready '${Handle}'",
            '',
          ].join('\n'),
        ),
      },
    },
    Locked: {
      Type: 'AWS::EC2::Instance',
      Properties: { ImageId: image, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }], MetadataOptions: { HttpTokens: 'required' } },
    },
    Ready: { Type: 'AWS::CloudFormation::WaitCondition', DependsOn: 'Web', Properties: { Handle: { Ref: 'Handle' }, Timeout: '120', Count: 1 } },
  },
  Outputs: { Data: { Value: { 'Fn::GetAtt': ['Ready', 'Data'] } }, WebId: { Value: { Ref: 'Web' } }, WebIp: { Value: { 'Fn::GetAtt': ['Web', 'PrivateIp'] } }, LockedId: { Value: { Ref: 'Locked' } } },
};

/** One HTTP request to the metadata address from inside a container (busybox nc: the image's static wget crashes on this host). */
async function imds(container: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\\r\\n`)
    .join('');
  const raw = await sh(container, `printf '${method} ${path} HTTP/1.0\\r\\n${head}\\r\\n' | nc 169.254.169.254 80`);
  const at = raw.indexOf('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.[01] (\d+)/.exec(raw)?.[1] ?? 0), body: at < 0 ? '' : raw.slice(at + 4) };
}

describe.sequential('the instance view of AWS', () => {
  let outputs: Record<string, { value: unknown }> = {};

  test('cfn-init applies files and commands, cfn-signal completes the instance, the handle URL completes the WaitCondition', async () => {
    const { events, done } = deploy(stacks[0], main);
    const r = await done;
    expect(r.finalStatus, r.reason).toBe('CREATE_COMPLETE');
    outputs = r.outputs as typeof outputs;
    expect(JSON.parse(String(outputs.Data!.value))).toEqual({ web: 'ready' });
    expect(JSON.stringify(events.events)).toMatch(/Received SUCCESS signal with UniqueId i-/);
    const web = await containerOf(stacks[0], 'Web');
    expect(await sh(web, 'cat /etc/app.conf; stat -c %a /etc/app.conf; cat /tmp/hello; ls /tmp/should-not-exist 2>&1 | grep -c "No such"')).toBe(`stack=${stacks[0]}\n640\nhi from /etc\n1\n`);
    expect(await sh(web, 'cat /var/log/cfn-init.log')).toMatch(/ConfigSets completed/);
  }, 240_000);

  test('IMDSv1 from an instance: identity, addresses, placement, key, tags, user data', async () => {
    const web = await containerOf(stacks[0], 'Web');
    const get = async (p: string) => {
      const r = await imds(web, 'GET', `/latest/${p}`);
      expect(r.status, p).toBe(200);
      return r.body;
    };
    expect(await get('meta-data/instance-id')).toBe(outputs.WebId!.value);
    expect(await get('meta-data/local-ipv4')).toBe(outputs.WebIp!.value);
    expect(await get('meta-data/instance-type')).toBe('t3.micro');
    expect(await get('meta-data/ami-id')).toMatch(/^ami-[0-9a-f]+$/);
    expect(await get('meta-data/placement/availability-zone')).toBe('eu-west-1b');
    expect(await get('meta-data/placement/region')).toBe('eu-west-1');
    const mac = await get('meta-data/mac');
    expect(await get(`meta-data/network/interfaces/macs/${mac}/subnet-ipv4-cidr-block`)).toBe('10.91.1.0/24');
    expect(await get('meta-data/public-keys/')).toBe(`0=kt-iv-${id}`);
    expect(await get('meta-data/public-keys/0/openssh-key')).toMatch(/^ssh-ed25519 AAAA/);
    expect(await get('meta-data/tags/instance/Role')).toBe('web');
    expect(await get('user-data')).toMatch(/^#!\/bin\/sh\n\/opt\/aws\/bin\/cfn-init -v --stack kt-iv-/);
    expect((await get('meta-data/')).split('\n')).toEqual(expect.arrayContaining(['instance-id', 'placement/', 'network/']));
    // A private instance has no public address: 404, as IMDS says.
    expect((await imds(web, 'GET', '/latest/meta-data/public-ipv4')).status).toBe(404);
  }, 60_000);

  test('IMDSv2: a token from PUT /latest/api/token; HttpTokens required refuses requests without one', async () => {
    const locked = await containerOf(stacks[0], 'Locked');
    expect((await imds(locked, 'GET', '/latest/meta-data/instance-id')).status).toBe(401);
    expect((await imds(locked, 'PUT', '/latest/api/token')).status).toBe(400); // the TTL header is required
    const t = await imds(locked, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' });
    expect(t.status).toBe(200);
    expect(t.body).toMatch(/^[A-Za-z0-9]{20,}$/);
    expect(await imds(locked, 'GET', '/latest/meta-data/instance-id', { 'X-aws-ec2-metadata-token': t.body })).toEqual({ status: 200, body: outputs.LockedId!.value });
    expect((await imds(locked, 'GET', '/latest/meta-data/instance-id', { 'X-aws-ec2-metadata-token': 'nottherighttoken' })).status).toBe(401);
    // A token is its caller's: another instance cannot use it.
    const web = await containerOf(stacks[0], 'Web');
    expect((await imds(web, 'GET', '/latest/meta-data/instance-id', { 'X-aws-ec2-metadata-token': t.body })).status).toBe(401);
  }, 60_000);

  test('the metadata service answers instances only: not the host, not the VPC router', async () => {
    const fromHost = await fetch('http://169.254.169.254/latest/meta-data/instance-id', { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.text(),
      (e: unknown) => String(e),
    );
    expect(fromHost).not.toContain(String(outputs.WebId!.value));
    const vpcId = (await client.listContainers({ labels: [`kiln.stack=${stacks[0]}`, 'kiln.kind=imds'] }))[0]?.Labels?.['kiln.imds-vpc'];
    expect(vpcId).toMatch(/^vpc-/);
    const router = spawnSync('ip', ['netns', 'exec', `kiln.${stacks[0]}.${vpcId}`, 'busybox', 'nc', '169.254.169.254', '80'], {
      input: 'GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n',
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(router.stdout).toMatch(/^HTTP\/1\.1 403 /);
  }, 60_000);

  test('destroy removes the instances and the metadata service', async () => {
    const r = await destroyStack({ stack: stacks[0], store, provider, events: new EventLog<EngineEvent>() });
    expect(r.status, r.reason).toBe('DELETE_COMPLETE');
    expect(await client.listContainers({ all: true, labels: [`kiln.stack=${stacks[0]}`] })).toEqual([]);
  }, 120_000);

  const signalled = (stack: string, userData: string, timeout: string) => ({
    Resources: {
      ...network(stack === stacks[1] ? 92 : 93),
      App: {
        Type: 'AWS::EC2::Instance',
        CreationPolicy: { ResourceSignal: { Timeout: timeout } },
        Properties: { ImageId: image, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }], UserData: b64sub(userData) },
      },
    },
  });

  test('a failure signal fails the instance at once with its reason, and the stack rolls back', async () => {
    const ud = "#!/bin/sh\n/opt/aws/bin/cfn-signal -e 3 --reason 'disk check failed' --stack ${AWS::StackName} --resource App --region ${AWS::Region}\n";
    const { events, done } = deploy(stacks[1], signalled(stacks[1], ud, 'PT30M'));
    const r = await done;
    expect(r.finalStatus).toBe('ROLLBACK_COMPLETE');
    const failed = events.events
      .filter((e) => e.kind === 'stack-event')
      .map((e) => (e as Extract<EngineEvent, { kind: 'stack-event' }>).event)
      .find((e) => e.logicalId === 'App' && e.status === 'CREATE_FAILED');
    expect(failed?.reason).toMatch(/Received FAILURE signal with UniqueId i-[0-9a-f]+: disk check failed/);
    expect(await client.listContainers({ all: true, labels: [`kiln.stack=${stacks[1]}`] })).toEqual([]);
  }, 180_000);

  test('no signal within the timeout fails the instance, and the stack rolls back', async () => {
    const { events, done } = deploy(stacks[2], signalled(stacks[2], '#!/bin/sh\necho not signalling\n', 'PT3S'));
    const r = await done;
    expect(r.finalStatus).toBe('ROLLBACK_COMPLETE');
    const failed = events.events
      .filter((e) => e.kind === 'stack-event')
      .map((e) => (e as Extract<EngineEvent, { kind: 'stack-event' }>).event)
      .find((e) => e.logicalId === 'App' && e.status === 'CREATE_FAILED');
    expect(failed?.reason).toMatch(/Failed to receive 1 resource signal\(s\) within the specified duration/);
    expect(await client.listContainers({ all: true, labels: [`kiln.stack=${stacks[2]}`] })).toEqual([]);
  }, 180_000);

  test('an Auto Scaling group: instances apply their launch template Init and the group completes on Count signals', async () => {
    const t = {
      Resources: {
        ...network(94),
        Template: {
          Type: 'AWS::EC2::LaunchTemplate',
          Metadata: { 'AWS::CloudFormation::Init': { config: { commands: { '01_mark': { command: 'echo up > /tmp/mark' } } } } },
          Properties: {
            LaunchTemplateData: {
              ImageId: image,
              SecurityGroupIds: [{ Ref: 'Sg' }],
              MetadataOptions: { HttpTokens: 'required' },
              UserData: b64sub(
                '#!/bin/sh\n/opt/aws/bin/cfn-init -v --stack ${AWS::StackName} --resource Template --region ${AWS::Region}\n/opt/aws/bin/cfn-signal -e $? --stack ${AWS::StackName} --resource Group --region ${AWS::Region}\n',
              ),
            },
          },
        },
        Group: {
          Type: 'AWS::AutoScaling::AutoScalingGroup',
          CreationPolicy: { ResourceSignal: { Count: 2, Timeout: 'PT3M' } },
          Properties: {
            MinSize: '2',
            MaxSize: '2',
            DesiredCapacity: '2',
            VPCZoneIdentifier: [{ Ref: 'Subnet' }],
            LaunchTemplate: { LaunchTemplateId: { Ref: 'Template' }, Version: { 'Fn::GetAtt': ['Template', 'LatestVersionNumber'] } },
          },
        },
      },
    };
    const { done } = deploy(stacks[3], t);
    const r = await done;
    expect(r.finalStatus, r.reason).toBe('CREATE_COMPLETE');
    const members = await client.listContainers({ labels: [`kiln.stack=${stacks[3]}`, 'kiln.resource=Group', 'kiln.kind=instance'] });
    expect(members).toHaveLength(2);
    for (const m of members) {
      expect(await sh(m.Id, 'cat /tmp/mark')).toBe('up\n');
      // The launch template's MetadataOptions hold for its instances: IMDSv2 only.
      expect((await imds(m.Id, 'GET', '/latest/meta-data/instance-id')).status).toBe(401);
      const t = await imds(m.Id, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '30' });
      expect(await imds(m.Id, 'GET', '/latest/meta-data/instance-id', { 'X-aws-ec2-metadata-token': t.body })).toEqual({ status: 200, body: m.Labels?.['kiln.instance-id'] });
    }
    const d = await destroyStack({ stack: stacks[3], store, provider, events: new EventLog<EngineEvent>() });
    expect(d.status, d.reason).toBe('DELETE_COMPLETE');
  }, 300_000);
});
