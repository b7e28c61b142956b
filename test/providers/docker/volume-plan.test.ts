// Which running instances the plan replaces because their volume attachments change (a local
// instance's mounts are fixed at launch): compared on what the template says plainly.
import { describe, expect, test } from 'vitest';
import { attachmentReplacements } from '../../../src/providers/docker/volumes.js';
import type { PlanResource } from '../../../src/model/provider.js';

const server = (id = 'Server', physicalId = 'i-0000000000000000a'): PlanResource => ({ logicalId: id, type: 'AWS::EC2::Instance', properties: {}, physicalId });
const volume = (id = 'Data', physicalId = 'vol-0000000000000000a'): PlanResource => ({ logicalId: id, type: 'AWS::EC2::Volume', properties: {}, physicalId });
const wanted = (props: Record<string, unknown>): PlanResource => ({
  logicalId: 'Att',
  type: 'AWS::EC2::VolumeAttachment',
  properties: { InstanceId: { Ref: 'Server' }, VolumeId: { Ref: 'Data' }, Device: '/dev/sdf', ...props } as PlanResource['properties'],
});
const deployed: PlanResource = {
  logicalId: 'Att',
  type: 'AWS::EC2::VolumeAttachment',
  properties: { InstanceId: 'i-0000000000000000a', VolumeId: 'vol-0000000000000000a', Device: '/dev/sdf' },
  physicalId: 'att-1',
};

describe('instances replaced for their attachments', () => {
  test('none when the attachment is as deployed, or when the instance is new anyway', () => {
    expect(attachmentReplacements([server(), volume(), wanted({})], [server(), volume(), deployed])).toEqual(new Map());
    expect(attachmentReplacements([server(), volume(), wanted({})], [volume()])).toEqual(new Map());
  });

  test('an attachment added, removed, or moved to another device or volume replaces the instance, saying which', () => {
    expect(attachmentReplacements([server(), volume(), wanted({})], [server(), volume()])).toEqual(new Map([['Server', ['Att attaches a volume (mounts are fixed at launch)']]]));
    expect(attachmentReplacements([server(), volume()], [server(), volume(), deployed])).toEqual(new Map([['Server', ['Att is removed (its volume is unmounted)']]]));
    expect(attachmentReplacements([server(), volume(), wanted({ Device: '/dev/sdg' })], [server(), volume(), deployed]).get('Server')).toEqual([
      'Att changes what is attached (mounts are fixed at launch)',
    ]);
    expect(attachmentReplacements([server(), volume(), volume('Other'), wanted({ VolumeId: { Ref: 'Other' } })], [server(), volume(), deployed]).has('Server')).toBe(true);
  });

  test('moving it to another instance replaces both', () => {
    const got = attachmentReplacements(
      [server(), server('Spare', 'i-0000000000000000b'), volume(), wanted({ InstanceId: { Ref: 'Spare' } })],
      [server(), server('Spare', 'i-0000000000000000b'), volume(), deployed],
    );
    expect([...got.keys()].sort()).toEqual(['Server', 'Spare']);
    expect(got.get('Server')).toEqual(['Att detaches a volume']);
  });

  test('a device or volume the template computes is taken as unchanged', () => {
    expect(attachmentReplacements([server(), volume(), wanted({ Device: { Ref: 'DeviceName' }, VolumeId: { Ref: 'VolumeParam' } })], [server(), volume(), deployed])).toEqual(new Map());
  });
});
