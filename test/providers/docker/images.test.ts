// Image references on the local target: a tag, an image id and the ami- id reach the same image.
import { describe, expect, it } from 'vitest';
import { client } from '../../docker.js';
import { amiIdFor, resolveImage } from '../../../src/providers/docker/images.js';

describe('resolveImage', () => {
  it('resolves a tag, its sha256 id and its ami- id to the same local image', async () => {
    const byTag = await resolveImage(client, 'busybox:latest');
    expect(byTag.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(byTag.amiId).toBe(amiIdFor(byTag.id));
    expect(byTag.cmd).toEqual(['/bin/sh']);
    expect((await resolveImage(client, byTag.id)).id).toBe(byTag.id);
    expect((await resolveImage(client, byTag.amiId)).id).toBe(byTag.id);
  });

  it('says clearly when the image is not here (kiln never pulls)', async () => {
    await expect(resolveImage(client, 'nothing-here/never:1')).rejects.toThrow(/is not a local Docker image; build it first/);
    await expect(resolveImage(client, 'ami-0000000000000000f')).rejects.toThrow(/names no local image/);
    await expect(resolveImage(client, 'ami-1234abcd')).rejects.toThrow(/17 hex digits of a local image id/);
    await expect(resolveImage(client, '')).rejects.toThrow(/ImageId is empty/);
  });
});
