// `kiln gc --target aws`: finds what killed runs left in an account (every object kiln creates is
// tagged `kiln:run`) and removes it: instances, then their volumes, security groups, key pairs,
// unfinished AMIs and their snapshots. Objects of a run still alive on this machine are left alone,
// and so is every finished AMI (`kiln:kind=artifact`) and its snapshots.
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { awsErrorCode, describeAwsError, type Ec2Api } from './ec2.js';
import { TAGS, tagMap } from './tags.js';
import { waitUntil } from './wait.js';

export interface SweepAction {
  verb: 'terminate' | 'delete volume' | 'delete security group' | 'delete key pair' | 'deregister' | 'delete snapshot';
  id: string;
  run: string;
  /** A name or note shown with the id. */
  note?: string;
}

export interface SweepOptions {
  ec2: Ec2Api;
  /** Runs alive on this machine: their objects are kept. */
  live: Set<string>;
  dryRun: boolean;
  /** Keep objects younger than this (runs on other machines may still be working). */
  olderThanMs?: number;
  clock?: Clock;
  /** Told about each action as it happens (or would happen). */
  onAction?: (a: SweepAction) => void;
  onError?: (a: SweepAction, message: string) => void;
}

interface SweepResult {
  actions: SweepAction[];
  failed: Array<{ action: SweepAction; message: string }>;
}

const RUN_FILTER = [{ Name: 'tag-key', Values: [TAGS.run] }];

export async function sweepAws(o: SweepOptions): Promise<SweepResult> {
  const clock = o.clock ?? systemClock;
  const now = clock.now();
  const actions: SweepAction[] = [];
  const failed: SweepResult['failed'] = [];
  const leftover = (tags: Record<string, string>): string | undefined => {
    const run = tags[TAGS.run];
    if (!run || o.live.has(run)) return undefined;
    if (o.olderThanMs) {
      const created = Date.parse(tags[TAGS.created] ?? '');
      if (Number.isFinite(created) && now - created < o.olderThanMs) return undefined;
    }
    return run;
  };
  const act = async (a: SweepAction, fn: () => Promise<unknown>): Promise<boolean> => {
    actions.push(a);
    o.onAction?.(a);
    if (o.dryRun) return true;
    try {
      await fn();
      return true;
    } catch (e) {
      if (/NotFound/.test(awsErrorCode(e))) return true;
      const message = describeAwsError(a.verb, e);
      failed.push({ action: a, message });
      o.onError?.(a, message);
      return false;
    }
  };

  // 1. Instances (their volumes and groups cannot go while they run).
  const reservations = (await o.ec2.call('DescribeInstances', { Filters: RUN_FILTER })).Reservations ?? [];
  const terminating: string[] = [];
  for (const i of reservations.flatMap((r) => r.Instances ?? [])) {
    const run = leftover(tagMap(i.Tags));
    const state = i.State?.Name ?? '';
    if (!run || !i.InstanceId || state === 'terminated') continue;
    if (await act({ verb: 'terminate', id: i.InstanceId, run, note: state }, () => o.ec2.call('TerminateInstances', { InstanceIds: [i.InstanceId!] }))) terminating.push(i.InstanceId);
  }
  if (!o.dryRun && terminating.length) {
    await waitUntil(
      async () => {
        const r = await o.ec2.call('DescribeInstances', { InstanceIds: terminating });
        const busy = (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
        return busy.length ? { done: false, state: `${busy.length} instance(s) ${busy[0]!.State?.Name ?? ''}` } : { done: true, value: undefined };
      },
      { delayMs: 0, timeoutMs: 10 * 60_000, what: 'the instances to terminate', clock },
    ).catch((e: unknown) => failed.push({ action: { verb: 'terminate', id: terminating.join(','), run: '' }, message: errorMessage(e) }));
  }

  // 2. Volumes left by launch mappings that outlive their instance.
  for (const v of (await o.ec2.call('DescribeVolumes', { Filters: RUN_FILTER })).Volumes ?? []) {
    const run = leftover(tagMap(v.Tags));
    if (!run || !v.VolumeId || v.State !== 'available') continue;
    await act({ verb: 'delete volume', id: v.VolumeId, run }, () => o.ec2.call('DeleteVolume', { VolumeId: v.VolumeId! }));
  }

  // 3. Security groups: still "in use" for a while after their instance is gone.
  for (const g of (await o.ec2.call('DescribeSecurityGroups', { Filters: RUN_FILTER })).SecurityGroups ?? []) {
    const run = leftover(tagMap(g.Tags));
    if (!run || !g.GroupId) continue;
    await act({ verb: 'delete security group', id: g.GroupId, run, ...(g.GroupName ? { note: g.GroupName } : {}) }, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await o.ec2.call('DeleteSecurityGroup', { GroupId: g.GroupId! });
        } catch (e) {
          if (attempt >= 6 || !/DependencyViolation|InUse/.test(awsErrorCode(e))) throw e;
          await clock.sleep(5000);
        }
      }
    });
  }

  // 4. Key pairs.
  for (const k of (await o.ec2.call('DescribeKeyPairs', { Filters: RUN_FILTER })).KeyPairs ?? []) {
    const run = leftover(tagMap(k.Tags));
    if (!run || !k.KeyName) continue;
    await act({ verb: 'delete key pair', id: k.KeyName, run }, () => o.ec2.call('DeleteKeyPair', { KeyName: k.KeyName! }));
  }

  // 5. Unfinished AMIs and their snapshots (a finished AMI is an artifact: never swept here).
  const swept = new Set<string>();
  for (const img of (await o.ec2.call('DescribeImages', { Owners: ['self'], Filters: RUN_FILTER })).Images ?? []) {
    const tags = tagMap(img.Tags);
    const run = leftover(tags);
    if (!run || !img.ImageId || tags[TAGS.kind] === 'artifact') continue;
    if (await act({ verb: 'deregister', id: img.ImageId, run, ...(img.Name ? { note: img.Name } : {}) }, () => o.ec2.call('DeregisterImage', { ImageId: img.ImageId! })))
      for (const b of img.BlockDeviceMappings ?? []) {
        const s = b.Ebs?.SnapshotId;
        if (!s || swept.has(s)) continue;
        swept.add(s);
        await act({ verb: 'delete snapshot', id: s, run, note: `of ${img.ImageId}` }, () => o.ec2.call('DeleteSnapshot', { SnapshotId: s }));
      }
  }
  for (const s of (await o.ec2.call('DescribeSnapshots', { OwnerIds: ['self'], Filters: RUN_FILTER })).Snapshots ?? []) {
    const tags = tagMap(s.Tags);
    const run = leftover(tags);
    if (!run || !s.SnapshotId || tags[TAGS.kind] !== 'pending' || swept.has(s.SnapshotId)) continue;
    swept.add(s.SnapshotId);
    await act({ verb: 'delete snapshot', id: s.SnapshotId, run }, () => o.ec2.call('DeleteSnapshot', { SnapshotId: s.SnapshotId! }));
  }
  return { actions, failed };
}
