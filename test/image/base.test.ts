// Base images without a registry: produced from Debian's packages when kiln knows how, a clear
// error otherwise.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ensureBaseImage, splitRef } from '../../src/image/base.js';
import { client, inspectImage, engineRequest } from '../docker.js';

const tag = `kilntest-${randomBytes(4).toString('hex')}`;
const ref = `busybox:${tag}`;
afterAll(async () => {
  await engineRequest('DELETE', `/images/${encodeURIComponent(ref)}?force=1`);
});

describe('ensureBaseImage', () => {
  it('returns the ID of a present image (the cache keys on IDs, not tags)', async () => {
    const said: string[] = [];
    const b = await ensureBaseImage(client, 'busybox:latest', { pull: true, say: (t) => said.push(t) });
    expect(b.id).toBe((await inspectImage('busybox:latest'))!.Id);
    expect(b.source).toBe('present');
    expect(said.join('\n')).toContain('Pull skipped: busybox:latest is present locally');
  });

  it('produces an absent busybox image from busybox-static, importing it through the Engine API, once under concurrency', async () => {
    expect(await inspectImage(ref)).toBeUndefined();
    const said: string[] = [];
    // two at once: the file lock makes the second wait and then find the image
    const [a, b] = await Promise.all([ensureBaseImage(client, ref, { say: (t) => said.push(t) }), ensureBaseImage(client, ref, { say: (t) => said.push(t) })]);
    expect(a.id).toBe(b.id);
    expect([a.source, b.source].sort()).toEqual(['busybox-static', 'present']);
    expect(said).toContain(`Producing ${ref} from Debian's busybox-static`);
    const info = await inspectImage(ref);
    expect(info?.Config?.Labels?.['kiln.kind']).toBe('base');
  });

  it('refuses any other absent image with a message that says how to get one', async () => {
    await expect(ensureBaseImage(client, 'registry.example/kiln/nothing:1')).rejects.toThrow(/not present in the Docker engine.*docker load.*docker import/s);
  });

  it('splits references the way Docker does', () => {
    expect(splitRef('debian:bookworm')).toEqual({ repo: 'debian', tag: 'bookworm' });
    expect(splitRef('localhost:5000/x')).toEqual({ repo: 'localhost:5000/x', tag: 'latest' });
    expect(splitRef('busybox')).toEqual({ repo: 'busybox', tag: 'latest' });
  });
});
