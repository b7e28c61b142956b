// The seed's `aws` build (examples/seed/image.json, unchanged) against the AWS API emulator, with a
// real Debian machine (sshd in a container) standing in for the instance: every step in Packer's
// order, the provisioners really run over SSH with the key pair the emulator made, nothing is left
// behind, the manifest records the AMI, and an unchanged build is one DescribeImages call.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { bake, census, sdk, NOTHING_LEFT } from './helpers.js';
import { bakeWorld } from './world.js';

const seed = resolve(import.meta.dirname, '../../examples/seed/image.json');
// Distinctive credentials, to prove they appear nowhere (the emulator accepts any).
const CREDS = { AWS_ACCESS_KEY_ID: 'AKIAKILNSEEDTEST0001', AWS_SECRET_ACCESS_KEY: 'kiln-seed-secret-7f3a9c1e5b' };

const world = bakeWorld('ebs-seed');

/** Asserts that each expected line prefix appears, in this order, among `lines`. */
function expectInOrder(lines: string[], expected: string[]): void {
  let at = -1;
  for (const want of expected) {
    const i = lines.findIndex((l, k) => k > at && l.startsWith(want));
    expect(i, `"${want}" after line ${at} in:\n${lines.join('\n')}`).toBeGreaterThan(at);
    at = i;
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('kiln build -only=aws examples/seed/image.json', () => {
  const version = `kt${Date.now().toString(36)}`;
  const vars = () => ({ source_ami: world.source, app_version: version });
  const opts = () => ({ moto: world.moto, testId: world.ws.testId, dir: world.ws.dir, only: ['aws'], vars: vars(), env: CREDS, sshAddress: () => ({ host: world.box.host, port: world.box.port }) });

  it("runs every amazon-ebs step in Packer's order, provisions the machine over SSH and leaves only the AMI", async () => {
    const r = await bake(seed, opts());
    expect(r.code, r.out).toBe(0);
    const says = r.out
      .split('\n')
      .filter((l) => l.startsWith('==> aws: '))
      .map((l) => l.slice('==> aws: '.length));
    expectInOrder(says, [
      'Prevalidating any provided VPC information',
      'Prevalidating AMI Name: seed-web-',
      'Creating temporary keypair: packer_',
      'Creating temporary security group for this instance: packer_',
      'Authorizing access to port 22 from [127.0.0.1/32] in the temporary security groups...',
      'Launching a source AWS instance...',
      'Adding tags to source instance',
      'Waiting for instance (i-',
      'Using ssh communicator to connect: 127.0.0.1',
      'Waiting for SSH to become available...',
      'Connected to SSH!',
      'Provisioning with shell script (inline, 4 lines)',
      'Uploading ',
      'Provisioning with shell script (inline, 3 lines)',
      'Trying to remove ephemeral keys from authorized_keys files',
      'Stopping the source instance...',
      'Waiting for the instance to stop...',
      `Creating AMI seed-web-${version}-`,
      'Waiting for AMI to become ready...',
      'Terminating the source AWS instance...',
      'Cleaning up any extra volumes...',
      'Deleting temporary security group...',
      'Deleting temporary keypair...',
      'Running post-processor: manifest',
    ]);
    // The artifact, as Packer prints it.
    const ami = /--> aws: AMIs were created:\neu-west-1: (ami-[0-9a-f]+)/.exec(r.out)?.[1];
    expect(ami, r.out).toBeDefined();

    // The provisioners really ran on the machine, as admin with sudo (the seed's override.aws).
    expect((await world.box.sh('cat /etc/app-version')).trim()).toBe(version);
    expect(await world.box.sh('test -x /usr/local/bin/app-start && test -x /srv/www/cgi-bin/health && echo ok')).toContain('ok');
    expect(await world.box.sh('ls /usr/bin/busybox /usr/bin/redis-cli')).toContain('/usr/bin/redis-cli');
    // The temporary key was removed from authorized_keys before the image was made.
    expect(world.agent.installed).toHaveLength(1);
    expect(await world.box.sh('cat /home/admin/.ssh/authorized_keys')).not.toContain(world.agent.installed[0]!);

    // Nothing temporary is left; the AMI is finished and carries the build key and the run.
    const left = await census(world.moto, world.ws.testId);
    expect(left).toMatchObject(NOTHING_LEFT);
    expect(left.images).toEqual([ami]);
    const img = (await sdk(world.moto).send(new DescribeImagesCommand({ ImageIds: [ami!] }))).Images![0]!;
    const tags = Object.fromEntries((img.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags['kiln:build-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(tags['kiln:kind']).toBe('artifact');
    expect(img.Name).toMatch(new RegExp(`^seed-web-${version}-\\d+$`));

    // The manifest post-processor records it as Packer does.
    const manifest = JSON.parse(readFileSync(join(world.ws.dir, 'manifest.json'), 'utf8'));
    expect(manifest.builds).toHaveLength(1);
    expect(manifest.builds[0]).toMatchObject({ name: 'aws', builder_type: 'amazon-ebs', files: null, artifact_id: `eu-west-1:${ami}`, custom_data: null });
    expect(manifest.last_run_uuid).toBe(manifest.builds[0].packer_run_uuid);

    // Credentials appear nowhere: not in the output, the manifest, or kiln's state.
    for (const secret of Object.values(CREDS)) {
      expect(r.out).not.toContain(secret);
      for (const f of filesUnder(world.ws.dir)) expect(readFileSync(f).includes(secret), f).toBe(false);
    }
  }, 300_000);

  it('an unchanged build is one DescribeImages call, launches no instance and reuses the AMI', async () => {
    const before = (await sdk(world.moto).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:kiln.test', Values: [world.ws.testId] }] }))).Reservations?.length ?? 0;
    const r = await bake(seed, opts());
    expect(r.code, r.out).toBe(0);
    expect(r.calls).toEqual(['DescribeImages']);
    const ami = /reused (ami-[0-9a-f]+) \(inputs unchanged\)/.exec(r.out)?.[1];
    expect(ami, r.out).toBeDefined();
    expect(r.out).toContain(`--> aws: AMIs were created:\neu-west-1: ${ami}`);
    expect(r.out).not.toContain('Launching a source AWS instance');
    const after = (await sdk(world.moto).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:kiln.test', Values: [world.ws.testId] }] }))).Reservations?.length ?? 0;
    expect(after).toBe(before);
    expect(r.results[0]).toMatchObject({ ok: true, cached: true });
  }, 60_000);

  it('a changed input bakes again, and -force bakes again with nothing changed', async () => {
    const changed = await bake(seed, { ...opts(), vars: { ...vars(), app_version: `${version}b` } });
    expect(changed.code, changed.out).toBe(0);
    expect(changed.out).toContain('Launching a source AWS instance...');
    expect((await world.box.sh('cat /etc/app-version')).trim()).toBe(`${version}b`);
    const forced = await bake(seed, { ...opts(), force: true });
    expect(forced.code, forced.out).toBe(0);
    expect(forced.out).toContain('Launching a source AWS instance...');
    expect(forced.out).not.toContain('reused');
    expect(await census(world.moto, world.ws.testId)).toMatchObject(NOTHING_LEFT);
  }, 300_000);
});
