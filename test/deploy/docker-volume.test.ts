// An EBS volume attached to an instance on the real engine: a Volume (a labelled Docker volume), an
// instance and a VolumeAttachment at /dev/sdf. The instance's container sees the volume at /mnt/sdf;
// a file written there survives replacing the instance (a UserData change), since the new container
// mounts the same volume; destroying the stack removes the volume. An attachment across zones fails
// and leaves nothing.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { connectDocker } from '../../src/docker/client.js';
import { localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { MemoryParameterStore } from '../../src/state/ssm.js';
import { deployStack, destroyStack, planStack } from '../../src/deploy/index.js';

const id = randomBytes(3).toString('hex');
const stack = `kt-vol-${id}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-vol-'));
const store = new StackStore(openState(dir));
const client = connectDocker();
const provider = localProvider({ docker: client });
const parameters = new MemoryParameterStore();
const image = `kiln-test/vol:${id}`;

beforeAll(() => {
  const built = spawnSync('docker', ['build', '-q', '-t', image, '--label', `kiln.test=${stack}`, '-'], { input: 'FROM busybox:latest\nCMD ["sleep", "3600"]\n', encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
}, 120_000);

afterAll(async () => {
  for (const s of [stack, `${stack}-az`, `${stack}-keep`, `${stack}-late`]) {
    await removeOrphans(client, s, new Set()).catch(() => undefined);
    for (const v of labelledVolumes(s)) spawnSync('docker', ['volume', 'rm', '-f', v]);
  }
  spawnSync('docker', ['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

function labelledVolumes(s: string): string[] {
  const out = spawnSync('docker', ['volume', 'ls', '-q', '--filter', `label=kiln.stack=${s}`], { encoding: 'utf8' }).stdout.trim();
  return out ? out.split('\n') : [];
}

const template = (volumeAz: unknown, o: { server?: boolean; retain?: boolean; attach?: boolean } = {}) => ({
  Parameters: { Image: { Type: 'String' }, Boot: { Type: 'String' } },
  Conditions: { WithServer: { 'Fn::Equals': [o.server === false ? 'no' : 'yes', 'yes'] }, NoAttachment: { 'Fn::Equals': ['a', 'b'] } },
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.212.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.212.1.0/24', AvailabilityZone: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] } } },
    Data: {
      Type: 'AWS::EC2::Volume',
      ...(o.retain ? { DeletionPolicy: 'Retain' } : {}),
      Properties: { AvailabilityZone: volumeAz, Size: 8, VolumeType: 'gp3', Tags: [{ Key: 'Name', Value: 'data' }] },
    },
    Server: {
      Type: 'AWS::EC2::Instance',
      Condition: 'WithServer',
      Properties: { ImageId: { Ref: 'Image' }, SubnetId: { Ref: 'Subnet' }, UserData: { 'Fn::Base64': { 'Fn::Sub': '#!/bin/sh\necho ${Boot}\n' } } },
    },
    DataOnServer: {
      Type: 'AWS::EC2::VolumeAttachment',
      Condition: o.attach === false ? 'NoAttachment' : 'WithServer',
      Properties: { InstanceId: { Ref: 'Server' }, VolumeId: { Ref: 'Data' }, Device: '/dev/sdf' },
    },
  },
});
const sameZone = { 'Fn::GetAtt': ['Subnet', 'AvailabilityZone'] };
const input = (s: string, boot: string, volumeAz: unknown = sameZone, o: { server?: boolean; retain?: boolean; attach?: boolean } = {}) => ({
  stack: s,
  store,
  provider,
  parameters,
  file: 'stack.json',
  text: JSON.stringify(template(volumeAz, o)),
  params: { Image: image, Boot: boot },
});
const containerOf = (s: string) => (store.liveResources(s).get('Server')?.state.data as { containers: Array<{ id: string }> }).containers[0]!.id;
const exec = (container: string, script: string) => spawnSync('docker', ['exec', container, 'sh', '-c', script], { encoding: 'utf8', timeout: 15_000 });

describe.sequential('an EBS volume attached to an instance', () => {
  let first = '';

  test('is a labelled Docker volume mounted at the path of its device', async () => {
    const r = await deployStack(input(stack, 'one'));
    expect(r.reason).toBeUndefined();
    const vol = store.liveResources(stack).get('Data')!.state;
    expect(vol.physicalId).toMatch(/^vol-[0-9a-f]{17}$/);
    expect(vol.data).toMatchObject({ Size: 8, VolumeType: 'gp3', availabilityZone: store.liveResources(stack).get('Subnet')!.state.attributes.AvailabilityZone });
    expect(labelledVolumes(stack)).toEqual([`kiln-${stack}-Data`]);
    first = containerOf(stack);
    const w = exec(first, 'echo kept > /mnt/sdf/note && cat /mnt/sdf/note');
    expect(w.stdout.trim()).toBe('kept');
  }, 240_000);

  test('the data outlives the instance: its replacement mounts the same volume', async () => {
    const r = await deployStack(input(stack, 'two'));
    expect(r.reason).toBeUndefined();
    const second = containerOf(stack);
    expect(second).not.toBe(first);
    expect(spawnSync('docker', ['inspect', first]).status).not.toBe(0);
    expect(exec(second, 'cat /mnt/sdf/note').stdout.trim()).toBe('kept');
  }, 240_000);

  test('the volume keeps its data without an instance, and a new instance attached to it sees it', async () => {
    const r = await deployStack(input(stack, 'two', sameZone, { server: false }));
    expect(r.reason).toBeUndefined();
    expect(store.liveResources(stack).has('Server')).toBe(false);
    expect(labelledVolumes(stack)).toEqual([`kiln-${stack}-Data`]);
    const back = await deployStack(input(stack, 'three'));
    expect(back.reason).toBeUndefined();
    expect(exec(containerOf(stack), 'cat /mnt/sdf/note').stdout.trim()).toBe('kept');
  }, 240_000);

  test('destroying the stack removes the volume', async () => {
    const d = await destroyStack({ stack, store, provider, parameters });
    expect(d).toMatchObject({ status: 'DELETE_COMPLETE' });
    expect(labelledVolumes(stack)).toEqual([]);
  }, 120_000);

  test('a retained volume outlives the stack, and a new deploy does not take its data for its own', async () => {
    const s = `${stack}-keep`;
    expect((await deployStack(input(s, 'one', sameZone, { retain: true }))).reason).toBeUndefined();
    exec(containerOf(s), 'echo retained > /mnt/sdf/note');
    expect(await destroyStack({ stack: s, store, provider, parameters })).toMatchObject({ status: 'DELETE_COMPLETE' });
    expect(labelledVolumes(s)).toEqual([`kiln-${s}-Data`]);
    const seen = spawnSync('docker', ['run', '--rm', '--label', `kiln.test=${stack}`, '-v', `kiln-${s}-Data:/m`, 'busybox:latest', 'cat', '/m/note'], { encoding: 'utf8' });
    expect(seen.stdout.trim()).toBe('retained');
    const again = await deployStack(input(s, 'one', sameZone, { retain: true }));
    expect(again.reason).toMatch(/left from an earlier deploy/);
  }, 240_000);

  test('an attachment added for a running instance replaces it, as the plan says (mounts are fixed at launch); removing it replaces it again', async () => {
    const s = `${stack}-late`;
    expect((await deployStack(input(s, 'one', sameZone, { attach: false }))).reason).toBeUndefined();
    const server = containerOf(s);
    expect(exec(server, 'test -d /mnt/sdf || echo none').stdout.trim()).toBe('none');
    const attach = await planStack(input(s, 'one'));
    expect(attach.plan.steps.find((x) => x.id === 'Server')).toMatchObject({ kind: 'replace', because: ['DataOnServer attaches a volume (mounts are fixed at launch)'] });
    expect(attach.plan.steps.find((x) => x.id === 'DataOnServer')).toMatchObject({ kind: 'create' });
    expect((await deployStack(input(s, 'one'))).reason).toBeUndefined();
    const attached = containerOf(s);
    expect(attached).not.toBe(server);
    expect(exec(attached, 'echo kept > /mnt/sdf/note && cat /mnt/sdf/note').stdout.trim()).toBe('kept');
    // Planned again, nothing changes: the attachment is in place.
    expect((await planStack(input(s, 'one'))).plan.changes).toBe(false);
    const detach = await planStack(input(s, 'one', sameZone, { attach: false }));
    expect(detach.plan.steps.find((x) => x.id === 'Server')).toMatchObject({ kind: 'replace', because: ['DataOnServer is removed (its volume is unmounted)'] });
    expect((await deployStack(input(s, 'one', sameZone, { attach: false }))).reason).toBeUndefined();
    expect(exec(containerOf(s), 'test -d /mnt/sdf || echo none').stdout.trim()).toBe('none');
    expect(await destroyStack({ stack: s, store, provider, parameters })).toMatchObject({ status: 'DELETE_COMPLETE' });
    expect(labelledVolumes(s)).toEqual([]);
  }, 240_000);

  test('a volume in another zone than the instance is refused and nothing is left', async () => {
    const other = { 'Fn::Select': [1, { 'Fn::GetAZs': '' }] };
    const r = await deployStack(input(`${stack}-az`, 'one', other));
    expect(r.reason).toMatch(/same availability zone/);
    expect(labelledVolumes(`${stack}-az`)).toEqual([]);
    expect(spawnSync('docker', ['ps', '-aq', '--filter', `label=kiln.stack=${stack}-az`], { encoding: 'utf8' }).stdout.trim()).toBe('');
  }, 240_000);
});
