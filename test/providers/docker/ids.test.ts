// Physical ids shaped like AWS's, and the AMI-style id of a local image.
import { describe, expect, it } from 'vitest';
import { amiIdFor, imageHexOfAmi, isShapedId, newId } from '../../../src/providers/docker/ids.js';

describe('AWS-shaped ids', () => {
  it('are a prefix and 17 hex digits, fresh each time', () => {
    for (const p of ['i', 'vpc', 'subnet', 'sg'] as const) {
      const id = newId(p);
      expect(id).toMatch(new RegExp(`^${p}-[0-9a-f]{17}$`));
      expect(isShapedId(id, p)).toBe(true);
    }
    expect(newId('i')).not.toBe(newId('i'));
    expect(isShapedId('sg-12345678', 'sg')).toBe(true);
    expect(isShapedId('sg-123', 'sg')).toBe(false);
    expect(isShapedId('vpc-0123456789abcdef0', 'sg')).toBe(false);
  });

  it('derive the ami- id from the image id, and lead back to it', () => {
    const id = 'sha256:b01a9c5a97d4b60110c06305deb1f5c3f5253a7f15315fd95f881a940000f413';
    expect(amiIdFor(id)).toBe('ami-b01a9c5a97d4b6011');
    expect(amiIdFor(id.slice(7))).toBe('ami-b01a9c5a97d4b6011');
    expect(imageHexOfAmi('ami-b01a9c5a97d4b6011')).toBe('b01a9c5a97d4b6011');
    expect(imageHexOfAmi('ami-12345678')).toBeUndefined();
    expect(() => amiIdFor('busybox:latest')).toThrow(/not an image id/);
  });
});
