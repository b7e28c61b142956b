// Nothing left behind: a failing script, Ctrl-C during the SSH wait, the provisioning and the image
// wait, a failure after the AMI exists, a waiter timeout — each cleans up in reverse, including a
// half-made AMI and its snapshots. A duplicate AMI name stops the build before anything is made;
// -on-error=abort keeps everything, prints the ids, and `kiln gc --target aws` sweeps it.
import { describe, it, expect } from 'vitest';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { KilnError } from '../../src/core/errors.js';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { bake, census, NOTHING_LEFT, REGION } from './helpers.js';
import { bakeWorld } from './world.js';
import { scripted, fakeClock } from './scripted.js';

const world = bakeWorld('ebs-cleanup');

let n = 0;
function template(extra: Record<string, unknown>, provisioners: unknown[] = [{ type: 'shell', inline: ['echo hello'] }]): string {
  const builder = {
    type: 'amazon-ebs',
    region: REGION,
    source_ami: world.source,
    instance_type: 't3.micro',
    ssh_username: 'admin',
    ssh_host: world.box.host,
    ssh_port: world.box.port,
    ami_name: `cleanup-${world.ws.testId}-${++n}`,
    ...extra,
  };
  return world.ws.write(`t${n}.json`, JSON.stringify({ builders: [builder], provisioners }));
}

const interrupted = (): KilnError => new KilnError('BUILD_CANCELLED', 'interrupted', 'user', { exitCode: 130 });

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('amazon-ebs leaves nothing behind', () => {
  it('a failing script fails the build with its exit code and still cleans up', async () => {
    const r = await bake(template({}, [{ type: 'shell', inline: ['echo about to fail', 'exit 7'] }]), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(r.code, r.out).toBe(7);
    expect(r.out).toContain('    amazon-ebs: about to fail');
    expect(r.out).toContain('Script exited with non-zero exit status: 7. Allowed exit codes are: [0]');
    expect(r.out).toContain('Terminating the source AWS instance...');
    expect(r.out).toContain('Deleting temporary keypair...');
    expect(r.out).not.toContain('Creating AMI');
    expect(await census(world.moto, world.ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 120_000);

  it('Ctrl-C during the SSH wait stops the build and leaves nothing', async () => {
    const ac = new AbortController();
    const port = await closedPort();
    const r = await bake(template({ ssh_port: port }), {
      moto: world.moto,
      testId: world.ws.testId,
      dir: world.ws.dir,
      signal: ac.signal,
      onEvent: (_e, line) => line.includes('SSH not ready yet') && ac.abort(interrupted()),
    });
    expect(r.code, r.out).toBe(130);
    expect(r.out).toContain('Waiting for SSH to become available...');
    expect(r.out).toContain('Terminating the source AWS instance...');
    expect(r.out).toContain('Deleting temporary security group...');
    expect(await census(world.moto, world.ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 120_000);

  it('Ctrl-C during provisioning stops the script and leaves nothing', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const r = await bake(template({}, [{ type: 'shell', inline: ['echo started', 'sleep 60'] }]), {
      moto: world.moto,
      testId: world.ws.testId,
      dir: world.ws.dir,
      signal: ac.signal,
      onEvent: (_e, line) => line.includes('amazon-ebs: started') && ac.abort(interrupted()),
    });
    expect(Date.now() - t0).toBeLessThan(50_000);
    expect(r.code, r.out).toBe(130);
    expect(r.out).not.toContain('Creating AMI');
    expect(await census(world.moto, world.ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 120_000);

  it('Ctrl-C during the image wait deregisters the pending AMI and deletes its snapshots', async () => {
    // The emulator makes images available at once: a scripted answer keeps ours pending.
    const s = await scripted(world.moto, async (name, input, real) => {
      const out = await real();
      if (name === 'DescribeImages' && input.ImageIds)
        for (const img of out.Images ?? []) if (img.Tags?.some((t: { Key: string; Value: string }) => t.Key === 'kiln:kind' && t.Value === 'pending')) img.State = 'pending';
      return out;
    });
    const ac = new AbortController();
    let ami = '';
    const r = await bake(template({}), {
      moto: world.moto,
      testId: world.ws.testId,
      dir: world.ws.dir,
      signal: ac.signal,
      wrap: () => s.api,
      onEvent: (_e, line) => {
        ami ||= /AMI: (ami-[0-9a-f]+)/.exec(line)?.[1] ?? '';
        if (line.includes('Waiting for AMI to become ready...')) setTimeout(() => ac.abort(interrupted()), 200);
      },
    });
    expect(r.code, r.out).toBe(130);
    expect(ami).toMatch(/^ami-/);
    expect(r.out).toContain('Deregistering the AMI and deleting associated snapshots because of cancellation, or error...');
    expect(r.out).toMatch(new RegExp(`Deregistered ${ami} and deleted snap-`));
    expect(s.sent).toContain('DeleteSnapshot');
    expect(await census(world.moto, world.ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 120_000);

  it('a failure after the AMI exists (a region copy refused) removes the AMI and its snapshots', async () => {
    const s = await scripted(world.moto, async (name, _input, real) => {
      if (name === 'CopyImage') throw Object.assign(new Error('You have reached the limit of concurrent copies'), { name: 'ResourceLimitExceeded', $metadata: { httpStatusCode: 400 } });
      return real();
    });
    const r = await bake(template({ ami_regions: ['us-east-1'] }), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir, wrap: () => s.api });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('CopyImage: ResourceLimitExceeded: You have reached the limit of concurrent copies');
    expect(r.out).toContain('Deregistering the AMI and deleting associated snapshots because of cancellation, or error...');
    expect(await census(world.moto, world.ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 120_000);

  it('a waiter timeout (an AMI that never becomes available) fails with the state and cleans up', async () => {
    const s = await scripted(world.moto, async (name, input, real) => {
      const out = await real();
      if (name === 'DescribeImages' && input.ImageIds)
        for (const img of out.Images ?? []) if (img.Tags?.some((t: { Key: string; Value: string }) => t.Key === 'kiln:kind' && t.Value === 'pending')) img.State = 'pending';
      return out;
    });
    const clock = fakeClock();
    const r = await bake(template({ aws_polling: { delay_seconds: 15, max_attempts: 40 } }), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir, wrap: () => s.api, clock });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/timed out waiting for AMI ami-[0-9a-f]+ in eu-west-1 to become available: still pending after 585s and 40 look\(s\)/);
    expect(clock.slept.filter((ms) => ms === 15_000)).toHaveLength(39);
    expect(await census(world.moto, world.ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [] });
  }, 120_000);

  it('throttling is retried with backoff and the build goes on', async () => {
    let refused = 0;
    const s = await scripted(world.moto, async (name, _input, real) => {
      if (name === 'RunInstances' && refused < 2) {
        refused++;
        throw Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
      }
      return real();
    });
    const clock = fakeClock();
    const r = await bake(template({}), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir, wrap: () => s.api, clock });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('RunInstances: RequestLimitExceeded: Request limit exceeded.: retrying in 0.5s (attempt 2)');
    expect(r.out).toContain('RunInstances: RequestLimitExceeded: Request limit exceeded.: retrying in 1.0s (attempt 3)');
    expect(s.sent.filter((x) => x === 'RunInstances')).toHaveLength(3);
    expect(clock.slept.slice(0, 2)).toEqual([500, 1000]);
    expect(await census(world.moto, world.ws.testId)).toMatchObject(NOTHING_LEFT);
  }, 120_000);

  it('an instance-store source AMI is refused before anything is created', async () => {
    // The emulator's own answer for a registered image: root device "standard".
    const r = await bake(template({}, [{ type: 'shell', inline: ['echo never runs'] }]), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir, rawRootDevices: true });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain("The provided source AMI has an invalid root device type.\nExpected 'ebs', got 'standard'.");
    expect(r.calls.filter((c) => c.startsWith('Create') || c === 'RunInstances')).toEqual([]);
  }, 60_000);

  it('a duplicate AMI name fails prevalidation before anything is created', async () => {
    const name = `dup-${world.ws.testId}`;
    // (Its own script, so that it is not an earlier test's build reused under another name.)
    const first = await bake(template({ ami_name: name }, [{ type: 'shell', inline: ['echo first'] }]), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(first.out).toContain('Launching a source AWS instance...');
    expect(first.code, first.out).toBe(0);
    const existing = /eu-west-1: (ami-[0-9a-f]+)/.exec(first.out)![1];
    // A different build (another script) under the same name: the emulator would accept it, kiln does not.
    const r = await bake(template({ ami_name: name }, [{ type: 'shell', inline: ['echo other'] }]), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`Error: AMI Name: '${name}' is used by an existing AMI: ${existing}`);
    expect(r.calls).toEqual(['DescribeImages', 'DescribeImages']);
    expect(await census(world.moto, world.ws.testId)).toMatchObject(NOTHING_LEFT);
  }, 120_000);

  it('-on-error=abort keeps the instance, key pair and group, prints their ids, and kiln gc --target aws removes them', async () => {
    const r = await bake(template({}, [{ type: 'shell', inline: ['exit 3'] }]), { moto: world.moto, testId: world.ws.testId, dir: world.ws.dir, onError: 'abort' });
    expect(r.code, r.out).toBe(3);
    const kept = await census(world.moto, world.ws.testId);
    expect(kept.instances).toHaveLength(1);
    expect(kept.keyPairs).toHaveLength(1);
    expect(kept.groups).toHaveLength(1);
    expect(r.out).toContain(`keeping instance ${kept.instances[0]}`);
    expect(r.out).toContain(`keeping key pair ${kept.keyPairs[0]}`);
    expect(r.out).toContain(`keeping security group ${kept.groups[0]}`);
    expect(r.out).not.toContain('Terminating the source AWS instance');

    const io = memoryIO({ cwd: world.ws.dir, env: { ...process.env, ...world.moto.env } });
    const code = await main(['gc', '--target', 'aws', '--region', REGION, '--state-dir', join(world.ws.dir, '.state')], io);
    expect(code, io.stdout + io.stderr).toBe(0);
    expect(io.stdout).toContain(`terminate ${kept.instances[0]}`);
    expect(io.stdout).toContain(`delete key pair ${kept.keyPairs[0]}`);
    expect(io.stdout).toContain(`delete security group ${kept.groups[0]}`);
    expect(await census(world.moto, world.ws.testId)).toMatchObject(NOTHING_LEFT);
  }, 120_000);
});
