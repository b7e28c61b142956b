// Shared pieces of the amazon-ebs tests: a source AMI registered in the emulator, an in-process
// `kiln build` with kiln's own EC2 client (counted), and a census of what is left in the emulator.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  EC2Client,
  RegisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
} from '@aws-sdk/client-ec2';
import type { Instance } from '@aws-sdk/client-ec2';
import { EventLog } from '../../src/core/events.js';
import type { Clock } from '../../src/core/clock.js';
import { prepareTemplate } from '../../src/image/api.js';
import { runBuilds, type BuildResult } from '../../src/image/build.js';
import { BuildRenderer } from '../../src/cli/views/build.js';
import type { BuildEvent } from '../../src/image/events.js';
import { counting, openEc2, type Ec2Api, type Ec2Output } from '../../src/aws/ec2.js';
import type { AwsSettings } from '../../src/aws/settings.js';
import type { Moto } from './moto.js';

export const REGION = 'eu-west-1';

export function sdk(moto: Moto, region = REGION): EC2Client {
  return new EC2Client({ region, endpoint: moto.url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}

/** Registers an AMI named like Debian's in the emulator (it has none), as the builds' source. */
export async function registerSource(moto: Moto, name = `debian-12-amd64-${randomBytes(3).toString('hex')}`): Promise<string> {
  const r = await sdk(moto).send(new RegisterImageCommand({ Name: name, RootDeviceName: '/dev/xvda', Architecture: 'x86_64', VirtualizationType: 'hvm' }));
  return r.ImageId!;
}

export interface Bake {
  code: number;
  results: BuildResult[];
  /** Packer-style lines, as `kiln build` prints them. */
  out: string;
  events: BuildEvent[];
  /** EC2 operations kiln called, in order. */
  calls: string[];
}

export interface BakeOptions {
  moto: Moto;
  testId: string;
  dir: string;
  vars?: Record<string, string>;
  only?: string[];
  force?: boolean;
  onError?: 'cleanup' | 'abort';
  signal?: AbortSignal;
  /** Called with every event (tests abort on a given line). */
  onEvent?: (e: BuildEvent, line: string) => void;
  sshAddress?: (i: Instance) => { host: string; port: number } | undefined;
  /** Wraps kiln's EC2 client (scripted answers on top of the emulator). */
  wrap?: (api: Ec2Api, settings: AwsSettings) => Ec2Api;
  /** Leave the emulator's root device types as they are (see `ebsRoots`). */
  rawRootDevices?: boolean;
  clock?: Clock;
  env?: Record<string, string>;
}

/**
 * The emulator registers, copies and creates every image with the root device type "standard";
 * on AWS an image made from an EBS-backed instance is "ebs", which amazon-ebs requires of its
 * source. This scripted answer says "ebs", as AWS would.
 */
export function ebsRoots(api: Ec2Api): Ec2Api {
  return {
    region: api.region,
    async call(op, input, signal) {
      const out = await api.call(op, input, signal);
      if (op === 'DescribeImages') for (const img of (out as Ec2Output<'DescribeImages'>).Images ?? []) if ((img.RootDeviceType as string) === 'standard') img.RootDeviceType = 'ebs';
      return out;
    },
  };
}

export async function bake(template: string, o: BakeOptions): Promise<Bake> {
  const env = { ...process.env, ...o.moto.env, ...(o.env ?? {}) };
  const t = await prepareTemplate({ templatePath: template, vars: o.vars ?? {}, only: o.only ?? [], cwd: o.dir, env });
  const log = new EventLog<BuildEvent>();
  let out = '';
  const renderer = new BuildRenderer({ machineReadable: false, color: false, timestamps: false, mask: (s) => (t.variables ? t.variables.mask(s) : s) }, (s) => (out += s));
  const calls: string[] = [];
  const results = await runBuilds({
    template: t.templatePath,
    builds: t.builds,
    force: o.force ?? false,
    onError: o.onError ?? 'cleanup',
    stateDir: join(o.dir, '.state'),
    labels: { 'kiln.test': o.testId },
    events: {
      emit: (e) => {
        log.emit(e);
        const before = out.length;
        renderer.render(e);
        o.onEvent?.(e, out.slice(before));
      },
    },
    ...(o.signal ? { signal: o.signal } : {}),
    mask: (s) => (t.variables ? t.variables.mask(s) : s),
    aws: {
      env,
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.sshAddress ? { sshAddress: o.sshAddress } : {}),
      ec2: (settings) => {
        const base = o.rawRootDevices ? openEc2(settings) : ebsRoots(openEc2(settings));
        return counting(o.wrap ? o.wrap(base, settings) : base, calls);
      },
    },
  });
  const failed = results.filter((r) => !r.ok);
  return { code: failed.length ? (failed.find((r) => r.exitCode)?.exitCode ?? 1) : 0, results, out, events: log.events, calls };
}

export interface Census {
  instances: string[];
  keyPairs: string[];
  groups: string[];
  pendingImages: string[];
  images: string[];
  snapshots: string[];
  volumes: string[];
}

/** What the emulator holds that carries the test's tag (terminated instances do not count). */
export async function census(moto: Moto, testId: string, region = REGION): Promise<Census> {
  const c = sdk(moto, region);
  const f = [{ Name: 'tag:kiln.test', Values: [testId] }];
  const inst = await c.send(new DescribeInstancesCommand({ Filters: f }));
  const kps = await c.send(new DescribeKeyPairsCommand({ Filters: f }));
  const sgs = await c.send(new DescribeSecurityGroupsCommand({ Filters: f }));
  const imgs = await c.send(new DescribeImagesCommand({ Owners: ['self'], Filters: f }));
  const snaps = await c.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: f }));
  const vols = await c.send(new DescribeVolumesCommand({ Filters: f }));
  const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, k: string) => tags?.find((t) => t.Key === k)?.Value;
  return {
    instances: (inst.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.State?.Name !== 'terminated')
      .map((i) => i.InstanceId!),
    keyPairs: (kps.KeyPairs ?? []).map((k) => k.KeyName!),
    groups: (sgs.SecurityGroups ?? []).map((g) => g.GroupId!),
    pendingImages: (imgs.Images ?? []).filter((i) => tag(i.Tags, 'kiln:kind') !== 'artifact').map((i) => i.ImageId!),
    images: (imgs.Images ?? []).map((i) => i.ImageId!),
    snapshots: (snaps.Snapshots ?? []).filter((s) => tag(s.Tags, 'kiln:kind') === 'pending').map((s) => s.SnapshotId!),
    volumes: (vols.Volumes ?? []).map((v) => v.VolumeId!),
  };
}

export const NOTHING_LEFT = { instances: [], keyPairs: [], groups: [], pendingImages: [], snapshots: [], volumes: [] };

export function tmpWorkspace(prefix: string): { dir: string; testId: string; write(rel: string, content: string): string; cleanup(): void } {
  const testId = `${prefix}-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `kiln-${prefix}-`));
  return {
    dir,
    testId,
    write(rel, content) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
