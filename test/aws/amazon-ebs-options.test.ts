// The amazon-ebs options kiln runs, checked against what the emulator recorded: every provisioner
// over SSH (shell scripts, file both ways, shell-local, sleep), source_ami_filter (and a new upstream
// image as a real change), launch options (network, profile, user data, run tags, block devices),
// AMI copies, attributes, tags with Packer's template variables, force_deregister, an existing key.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import * as E from '@aws-sdk/client-ec2';
import { bake, census, registerSource, sdk, NOTHING_LEFT, REGION } from './helpers.js';
import { bakeWorld } from './world.js';

const world = bakeWorld('ebs-options', 'debian-12-source-{testId}');

let n = 0;
function template(extra: Record<string, unknown>, provisioners: unknown[] = [{ type: 'shell', inline: [`echo options ${++n}`] }], variables: Record<string, string> = {}): string {
  const builder = {
    type: 'amazon-ebs',
    region: REGION,
    source_ami: world.source,
    instance_type: 't3.micro',
    ssh_username: 'admin',
    ssh_host: world.box.host,
    ssh_port: world.box.port,
    ami_name: `options-${world.ws.testId}-${++n}`,
    ...extra,
  };
  return world.ws.write(`t${n}.json`, JSON.stringify({ variables, builders: [builder], provisioners }));
}

const tagsOf = (tags: E.Tag[] | undefined): Record<string, string> => Object.fromEntries((tags ?? []).map((t) => [t.Key!, t.Value ?? '']));

async function instanceOf(calls: { out: string }): Promise<E.Instance> {
  const id = /Instance ID: (i-[0-9a-f]+)/.exec(calls.out)![1]!;
  return (await sdk(world.moto).send(new E.DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
}

/** IAM is not kiln's to create: the test makes the profile in the emulator (an IAM Query call). */
function createInstanceProfile(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams({ Action: 'CreateInstanceProfile', Version: '2010-05-08', InstanceProfileName: name }).toString();
    const req = request(
      `${world.moto.url}/`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0' },
      },
      (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`CreateInstanceProfile: HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('amazon-ebs options', () => {
  it('runs every provisioner over SSH: shell scripts, file upload and download, shell-local, sleep', async () => {
    const local = join(world.ws.dir, 'prov');
    mkdirSync(join(local, 'site', 'sub'), { recursive: true });
    writeFileSync(join(local, 'site', 'index.html'), '<h1>kiln</h1>\n');
    writeFileSync(join(local, 'site', 'sub', 'deep.txt'), 'deep\n');
    writeFileSync(join(local, 'one.conf'), 'one=1\n');
    writeFileSync(join(local, 'setup.sh'), '#!/bin/sh\necho "script as $(id -un) with GREETING=$GREETING"\nmkdir -p /tmp/kiln-opt/out && echo made > /tmp/kiln-opt/out/result.txt\n', { mode: 0o755 });
    const tpl = template({}, [
      { type: 'shell', script: join(local, 'setup.sh'), environment_vars: ['GREETING=hello there'] },
      { type: 'file', source: join(local, 'one.conf'), destination: '/tmp/kiln-opt/one.conf' },
      { type: 'file', source: join(local, 'site'), destination: '/tmp/kiln-opt/www-missing' },
      { type: 'shell', inline: ['mkdir -p /tmp/kiln-opt/www-existing'] },
      { type: 'file', source: join(local, 'site'), destination: '/tmp/kiln-opt/www-existing' },
      { type: 'file', source: join(local, 'site') + '/', destination: '/tmp/kiln-opt/www-contents' },
      { type: 'file', direction: 'download', source: '/tmp/kiln-opt/out/result.txt', destination: join(local, 'back') + '/' },
      { type: 'file', direction: 'download', source: '/tmp/kiln-opt/out', destination: join(local, 'back-dir') },
      { type: 'shell-local', inline: [`echo "built on {{build \`ID\`}} at {{build \`Host\`}}" > ${join(local, 'local.txt')}`] },
      { type: 'sleep', duration: '300ms' },
    ]);
    const r = await bake(tpl, { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('    amazon-ebs: script as admin with GREETING=hello there');
    expect(await world.box.sh('cat /tmp/kiln-opt/one.conf')).toBe('one=1\n');
    // docker cp rules, as the docker communicator: missing destination gets the contents, an
    // existing one gets the directory, a trailing slash copies the contents.
    expect(await world.box.sh('cat /tmp/kiln-opt/www-missing/index.html /tmp/kiln-opt/www-missing/sub/deep.txt')).toBe('<h1>kiln</h1>\ndeep\n');
    expect(await world.box.sh('cat /tmp/kiln-opt/www-existing/site/index.html')).toBe('<h1>kiln</h1>\n');
    expect(await world.box.sh('cat /tmp/kiln-opt/www-contents/sub/deep.txt')).toBe('deep\n');
    expect(await world.box.sh('stat -c %U /tmp/kiln-opt/one.conf')).toBe('admin\n');
    expect(readFileSync(join(local, 'back', 'result.txt'), 'utf8')).toBe('made\n');
    expect(readFileSync(join(local, 'back-dir', 'result.txt'), 'utf8')).toBe('made\n');
    const id = (await instanceOf(r)).InstanceId;
    expect(readFileSync(join(local, 'local.txt'), 'utf8')).toBe(`built on ${id} at 127.0.0.1\n`);
    // The script was removed after it ran (skip_clean is false).
    expect(await world.box.sh('ls /tmp/script_*.sh 2>/dev/null | wc -l')).toBe('0\n');
    expect(await census(world.moto, world.ws.testId)).toMatchObject(NOTHING_LEFT);
  }, 180_000);

  it('source_ami_filter picks the most recent match, and a newer upstream image is a real change', async () => {
    const prefix = `kiln-upstream-${world.ws.testId}`;
    const older = await registerSource(world.moto, `${prefix}-1`);
    await new Promise((r) => setTimeout(r, 1100)); // the emulator's creation dates have one-second steps
    const newer = await registerSource(world.moto, `${prefix}-2`);
    const filtered = (amiName: string): string =>
      template({ ami_name: amiName, source_ami: undefined, source_ami_filter: { filters: { name: `${prefix}-*`, state: 'available' }, owners: ['self'], most_recent: true } });
    const tpl = filtered(`baked-${world.ws.testId}-a`);
    const first = await bake(tpl, { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain(`Found Image ID: ${newer}`);
    expect(first.out).not.toContain(older);
    const again = await bake(tpl, { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(again.out).toContain('(inputs unchanged)');
    expect(again.calls).toEqual(['DescribeImages', 'DescribeImages']);
    await new Promise((r) => setTimeout(r, 1100));
    const newest = await registerSource(world.moto, `${prefix}-3`);
    // (Another AMI name: the first one is taken, and the name is not part of the build key.)
    const third = await bake(filtered(`baked-${world.ws.testId}-b`), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(third.code, third.out).toBe(0);
    expect(third.out).not.toContain('(inputs unchanged)');
    expect(third.out).toContain(`Found Image ID: ${newest}`);
    // Without most_recent, several matches are refused (Packer's message), before anything is made.
    const ambiguous = await bake(template({ source_ami: undefined, source_ami_filter: { filters: { name: `${prefix}-*` }, owners: ['self'] } }), {
      moto: world.moto,
      testId: world.ws.testId,
      dir: world.ws.dir,
    });
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.out).toContain('Your query returned more than one result (3,');
    expect(ambiguous.calls).toEqual(['DescribeImages']);
  }, 180_000);

  it('launches with the network, profile, user data, run tags and block devices asked for, and removes a volume that outlives the instance', async () => {
    const c = sdk(world.moto);
    const vpc = await c.send(new E.CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }));
    const subnet = await c.send(new E.CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.77.1.0/24' }));
    const profile = `kiln-profile-${world.ws.testId}`;
    await createInstanceProfile(profile);
    world.ws.write('user-data.sh', '#!/bin/sh\necho from user_data_file\n');
    const r = await bake(
      template(
        {
          vpc_id: vpc.Vpc!.VpcId,
          associate_public_ip_address: true,
          iam_instance_profile: profile,
          user_data_file: join(world.ws.dir, 'user-data.sh'),
          run_tags: { Team: 'kiln', Source: '{{ .SourceAMI }}', Version: '{{user `version`}}' },
          run_volume_tags: { Purpose: 'bake' },
          launch_block_device_mappings: [{ device_name: '/dev/sdf', volume_size: 5, volume_type: 'gp3', delete_on_termination: false }],
          temporary_security_group_source_cidrs: ['10.0.0.0/8'],
        },
        undefined,
        { version: '7' },
      ),
      { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir },
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`Found Subnet ID: ${subnet.Subnet!.SubnetId}`);
    expect(r.out).toContain('Authorizing access to port ' + world.box.port + ' from [10.0.0.0/8] in the temporary security groups...');
    expect(r.out).toContain('    amazon-ebs: Adding tag: "Team": "kiln"');
    const i = await instanceOf(r);
    expect(i.SubnetId).toBe(subnet.Subnet!.SubnetId);
    expect(tagsOf(i.Tags)).toMatchObject({ Name: 'Packer Builder', Team: 'kiln', Source: world.source, Version: '7', 'kiln:kind': 'temporary' });
    const ud = await c.send(new E.DescribeInstanceAttributeCommand({ InstanceId: i.InstanceId!, Attribute: 'userData' }));
    expect(Buffer.from(ud.UserData!.Value!, 'base64').toString()).toBe('#!/bin/sh\necho from user_data_file\n');
    // The /dev/sdf volume outlived its instance (delete_on_termination false): the build removed it.
    expect(r.out).toMatch(/Deleting volume: vol-[0-9a-f]+/);
    expect(await census(world.moto, world.ws.testId)).toMatchObject(NOTHING_LEFT);
    // The emulator checks the profile exists (it does not report it back): a missing one fails the launch.
    const bad = await bake(template({ iam_instance_profile: `missing-${world.ws.testId}` }), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`RunInstances: NoSuchEntity: Instance profile missing-${world.ws.testId} not found`);
    expect(await census(world.moto, world.ws.testId)).toMatchObject(NOTHING_LEFT);
  }, 180_000);

  it('copies the AMI to ami_regions, sets attributes and tags (with template variables) on every copy', async () => {
    const tpl = template(
      {
        ami_regions: ['us-east-1', REGION],
        ami_users: ['111122223333'],
        ami_groups: ['all'],
        ami_description: 'from {{ .SourceAMIName }}',
        tags: { Name: 'web {{user `version`}}', Base: '{{ .SourceAMI }}', Region: '{{ .BuildRegion }}' },
        snapshot_tags: { Snap: 'of {{ .SourceAMI }}' },
      },
      undefined,
      { version: '9' },
    );
    // The emulator ignores a description change: kiln's calls are recorded instead.
    const modified: unknown[] = [];
    const r = await bake(tpl, {
      moto: world.moto,
      testId: world.ws.testId,
      dir: world.ws.dir,
      wrap: (api) => ({
        region: api.region,
        call: (op, input, signal) => {
          if (op === 'ModifyImageAttribute') modified.push({ region: api.region, ...(input as object) });
          return api.call(op, input, signal);
        },
      }),
    });
    expect(r.code, r.out).toBe(0);
    const m = /--> amazon-ebs: AMIs were created:\neu-west-1: (ami-[0-9a-f]+)\nus-east-1: (ami-[0-9a-f]+)/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    const [, home, copy] = m!;
    expect(r.out).toContain(`Copying/Encrypting AMI (${home}) to other regions...`);
    expect(r.out).toContain('    amazon-ebs: Copying to: us-east-1');
    expect(r.out).toContain('    amazon-ebs: Modifying: description');
    for (const [region, id] of [
      [REGION, home!],
      ['us-east-1', copy!],
    ] as const) {
      const c = sdk(world.moto, region);
      const img = (await c.send(new E.DescribeImagesCommand({ ImageIds: [id] }))).Images![0]!;
      expect(tagsOf(img.Tags)).toMatchObject({ Name: 'web 9', Base: world.source, Region: REGION, 'kiln:kind': 'artifact' });
      expect(tagsOf(img.Tags)['kiln:build-key']).toMatch(/^[0-9a-f]{64}$/);
      const perms = await c.send(new E.DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }));
      expect(perms.LaunchPermissions).toEqual(expect.arrayContaining([{ UserId: '111122223333' }, { Group: 'all' }]));
      expect(modified).toContainEqual({ region, ImageId: id, Description: { Value: `from debian-12-source-${world.ws.testId}` } });
    }
    const snaps = (await sdk(world.moto).send(new E.DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:Snap', Values: [`of ${world.source}`] }] }))).Snapshots ?? [];
    expect(snaps.length).toBeGreaterThan(0);
    // Unchanged: both regions come back from the one lookup (the copies are listed on the AMI).
    const again = await bake(tpl, { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(again.calls).toEqual(['DescribeImages']);
    expect(again.out).toContain(`--> amazon-ebs: AMIs were created:\neu-west-1: ${home}\nus-east-1: ${copy}`);
    expect(await census(world.moto, world.ws.testId, 'us-east-1')).toMatchObject(NOTHING_LEFT);
  }, 180_000);

  it('force_deregister with force_delete_snapshot replaces an AMI of the same name', async () => {
    const name = `replaced-${world.ws.testId}`;
    const first = await bake(template({ ami_name: name }, [{ type: 'shell', inline: ['echo v1'] }]), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(first.code, first.out).toBe(0);
    const old = /eu-west-1: (ami-[0-9a-f]+)/.exec(first.out)![1]!;
    const oldSnap = (await sdk(world.moto).send(new E.DescribeImagesCommand({ ImageIds: [old] }))).Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    const r = await bake(template({ ami_name: name, force_deregister: true, force_delete_snapshot: true }, [{ type: 'shell', inline: ['echo v2'] }]), {
      moto: world.moto,
      testId: world.ws.testId,
      dir: world.ws.dir,
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Force Deregister flag found, skipping prevalidating AMI Name');
    expect(r.out).toContain(`Deregistered AMI id: ${old}`);
    expect(r.out).toContain(`Deleted snapshot: ${oldSnap}`);
    expect((await sdk(world.moto).send(new E.DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }))).Images!.map((i) => i.ImageId)).not.toContain(old);
  }, 180_000);

  it('uses an existing key pair (ssh_keypair_name + ssh_private_key_file) and creates none', async () => {
    const keyFile = join(world.ws.dir, 'id_ed25519');
    if (!existsSync(keyFile)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kiln-test', '-f', keyFile]);
    const name = `existing-${world.ws.testId}`;
    await sdk(world.moto).send(
      new E.ImportKeyPairCommand({ KeyName: name, PublicKeyMaterial: readFileSync(`${keyFile}.pub`), TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'purpose', Value: 'test' }] }] }),
    );
    const r = await bake(template({ ssh_keypair_name: name, ssh_private_key_file: keyFile }), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Using existing SSH private key');
    expect(r.calls).not.toContain('CreateKeyPair');
    expect(r.calls).not.toContain('DeleteKeyPair');
    expect(world.agent.installed).toContain(name);
    expect((await instanceOf(r)).KeyName).toBe(name);
    // Not a temporary key: it stays in authorized_keys and in the account.
    expect(await world.box.sh('cat /home/admin/.ssh/authorized_keys')).toContain(name);
    expect((await sdk(world.moto).send(new E.DescribeKeyPairsCommand({ KeyNames: [name] }))).KeyPairs).toHaveLength(1);
  }, 180_000);
});
