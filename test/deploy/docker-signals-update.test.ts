// The instance's view of AWS on the real Docker engine, past creation: a launch that fails after its
// instance was registered with the metadata service leaves no entry behind; a CreationPolicy holds
// for a creation only (an update in place waits for no signal); an Auto Scaling group's rolling
// update waits for its new instances' user data, or, with WaitOnResourceSignals, for their own new
// signals (a failure signal fails the update, which rolls back to the instances that were there).
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { client } from '../docker.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { imdsContainerName } from '../../src/providers/docker/imds.js';
import { EventLog } from '../../src/core/events.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, type EngineEvent } from '../../src/deploy/index.js';
import { buildTestImage, cleanupDeployed, sh } from '../providers/docker/ctx.js';

const id = randomBytes(3).toString('hex');
const [net, broken, single, group] = ['net', 'brk', 'one', 'asg'].map((s) => `kt-su${s}-${id}`) as [string, string, string, string];
const dir = mkdtempSync(join(tmpdir(), 'kiln-signals-update-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
const image = `kiln-test/signals-update:${id}`;
const label = `signals-update-${id}`;

afterAll(() => cleanupDeployed([group, single, broken, net], label, dir), 180_000);

async function deploy(stack: string, template: object) {
  const events = new EventLog<EngineEvent>();
  const result = await deployStack({ stack, store, provider, events, file: 'template.json', text: JSON.stringify(template) });
  const progress = events.events.flatMap((e) => (e.kind === 'provider' ? [`${e.event.logicalId}: ${e.event.message}`] : []));
  return { result, progress };
}

const b64sub = (text: string) => ({ 'Fn::Base64': { 'Fn::Sub': text } });
const imported = (name: string) => ({ 'Fn::ImportValue': `${net}-${name}` });
/** Runs a script in the VPC's metadata container. */
const inImds = async (script: string) => (await client.exec(imdsContainerName(vpcId()), ['sh', '-c', script])).stdout;
const vpcId = () => store.liveResources(net).get('Vpc')!.physicalId;
const members = async (stack: string) => client.listContainers({ labels: [`kiln.stack=${stack}`, 'kiln.resource=Group', 'kiln.kind=instance'] });

describe.sequential('signals and metadata past creation', () => {
  test('a network stack the others launch into', async () => {
    await buildTestImage(image, 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n', { 'kiln.test': label });
    const { result } = await deploy(net, {
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.96.0.0/16' } },
        Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.96.1.0/24', AvailabilityZone: 'eu-west-1a' } },
        Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'members', VpcId: { Ref: 'Vpc' } } },
      },
      Outputs: {
        Subnet: { Value: { Ref: 'Subnet' }, Export: { Name: `${net}-Subnet` } },
        Sg: { Value: { Ref: 'Sg' }, Export: { Name: `${net}-Sg` } },
      },
    });
    expect(result.finalStatus, result.reason).toBe('CREATE_COMPLETE');
  }, 120_000);

  test('a launch that fails after registering its instance leaves no metadata entry', async () => {
    // The user data kills kiln's init wrapper: the container stops during boot, after registration.
    const { result } = await deploy(broken, {
      Resources: {
        Doomed: {
          Type: 'AWS::EC2::Instance',
          Properties: { ImageId: image, SubnetId: imported('Subnet'), SecurityGroupIds: [imported('Sg')], UserData: b64sub('#!/bin/sh\nkill -9 $PPID\n') },
        },
      },
    });
    expect(result.finalStatus).toBe('ROLLBACK_COMPLETE');
    expect(result.reason).toMatch(/stopped during boot/);
    // The metadata service outlives the failed stack (it is the VPC's), and knows no instance.
    expect(await inImds('ls /imds/i /imds/ip')).toBe('/imds/i:\n\n/imds/ip:\n');
  }, 120_000);

  test('an update in place waits for no signal: the CreationPolicy held for the creation', async () => {
    const template = (tag: string) => ({
      Resources: {
        App: {
          Type: 'AWS::EC2::Instance',
          CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT20S' } },
          Properties: {
            ImageId: image,
            SubnetId: imported('Subnet'),
            SecurityGroupIds: [imported('Sg')],
            Tags: [{ Key: 'Version', Value: tag }],
            UserData: b64sub('#!/bin/sh\n/opt/aws/bin/cfn-signal -e 0 --stack ${AWS::StackName} --resource App --region ${AWS::Region}\n'),
          },
        },
      },
    });
    const made = await deploy(single, template('1'));
    expect(made.result.finalStatus, made.result.reason).toBe('CREATE_COMPLETE');
    expect(made.progress).toContain('App: waiting for 1 success signal(s) within 20 s');
    // The creation's signals are gone (as if the metadata service had been made again): no update may need them.
    await inImds('rm -rf /imds/s/*');
    const updated = await deploy(single, template('2'));
    expect(updated.result.finalStatus, updated.result.reason).toBe('UPDATE_COMPLETE');
    expect(updated.progress.filter((m) => m.includes('waiting for'))).toEqual([]);
    expect(await inImds('ls /imds/i | wc -l')).toBe('1\n');
  }, 120_000);

  const groupTemplate = (userData: string, rolling: object) => ({
    Resources: {
      Template: {
        Type: 'AWS::EC2::LaunchTemplate',
        Properties: { LaunchTemplateData: { ImageId: image, SecurityGroupIds: [imported('Sg')], UserData: b64sub(userData) } },
      },
      Group: {
        Type: 'AWS::AutoScaling::AutoScalingGroup',
        CreationPolicy: { ResourceSignal: { Count: 2, Timeout: 'PT2M' } },
        UpdatePolicy: { AutoScalingRollingUpdate: { MaxBatchSize: 2, ...rolling } },
        Properties: {
          MinSize: '2',
          MaxSize: '4',
          DesiredCapacity: '2',
          VPCZoneIdentifier: [imported('Subnet')],
          LaunchTemplate: { LaunchTemplateId: { Ref: 'Template' }, Version: { 'Fn::GetAtt': ['Template', 'LatestVersionNumber'] } },
        },
      },
    },
  });
  const signal = (code: string, reason = 'ok') => `/opt/aws/bin/cfn-signal -e ${code} -r '${reason}' --stack \${AWS::StackName} --resource Group --region \${AWS::Region}`;

  test('an Auto Scaling group: a rolling update waits for the new instances’ user data, and waits for no creation signal', async () => {
    const made = await deploy(group, groupTemplate(`#!/bin/sh\necho v1 > /tmp/v\n${signal('0')}\n`, {}));
    expect(made.result.finalStatus, made.result.reason).toBe('CREATE_COMPLETE');
    await inImds('rm -rf /imds/s/*');
    // No WaitOnResourceSignals: the batch is ready when its user data has run (slowly here), signals or not.
    const rolled = await deploy(group, groupTemplate('#!/bin/sh\nsleep 2\necho v2 > /tmp/v\n', {}));
    expect(rolled.result.finalStatus, rolled.result.reason).toBe('UPDATE_COMPLETE');
    expect(rolled.progress.filter((m) => m.includes('waiting for'))).toEqual([]);
    const now = await members(group);
    expect(now).toHaveLength(2);
    for (const m of now) expect((await sh(m.Id, 'cat /tmp/v')).out).toBe('v2\n');
  }, 180_000);

  test('with WaitOnResourceSignals each batch waits for its own signals: a failure signal fails the update, which rolls back', async () => {
    const before = (await members(group)).map((m) => m.Id).sort();
    const failed = await deploy(group, groupTemplate(`#!/bin/sh\necho v3 > /tmp/v\n${signal('1', 'v3 is broken')}\n`, { WaitOnResourceSignals: true, PauseTime: 'PT1M' }));
    expect(failed.result.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    const groupFailure = store.events(group).find((e) => e.logicalId === 'Group' && e.status === 'UPDATE_FAILED');
    expect(groupFailure?.reason).toMatch(/Received FAILURE signal with UniqueId i-[0-9a-f]+: v3 is broken/);
    expect(failed.progress).toContain('Group: waiting for 2 success signal(s) within 60 s');
    // The batch that failed is gone; the instances of before serve on.
    expect((await members(group)).map((m) => m.Id).sort()).toEqual(before);
  }, 180_000);
});
