// A new image rolled through a group of 4 in place (a new launch template version; the group's
// AutoScalingRollingUpdate: batches of 2, at least 2 in service) behind a classic ELB, under steady
// load from a second process: zero failed requests, every instance replaced, the group kept.
import { describe, expect, it } from 'vitest';
import { upOnce, upUnderLoad, waitFor, p99 } from './helpers.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';

const deployed = upOnce('rolling', 'piperoll4', (b) => b.includes('version=1'), { up: 240_000, down: 180_000 });

describe('a rolling update of a group of 4 behind a load balancer', () => {
  it('replaces every instance in batches with zero failed requests under steady load', async () => {
    const { p, url } = deployed;
    const group = () =>
      StackStore.open(p.stateDir)
        .resources(p.stack, ['live'])
        .find((r) => r.logicalId === 'Group')!;
    const before = group();
    const oldIds = (before.state.data as { instances: string[] }).instances;
    expect(oldIds).toHaveLength(4);
    const { r, l, ms, rest, during } = await upUnderLoad(p, url, () => p.write('kiln.yaml', p.read('kiln.yaml').replace('app_version: "1"', 'app_version: "2"')), 180);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/UPDATE_COMPLETE in [0-9.]+s \(1 image built; 2 updated\)/);
    expect(r.err).toMatch(/rolling update batch 1\/2/);
    expect(r.err).toMatch(/rolling update batch 2\/2/);
    expect(l.errors).toEqual({});
    expect(l.failed).toBe(0);
    expect(l.versions['1']).toBeGreaterThan(0);
    expect(l.versions['2']).toBeGreaterThan(0);
    const after = group();
    expect(after.physicalId).toBe(before.physicalId); // updated in place, not replaced
    const newIds = (after.state.data as { instances: string[] }).instances;
    expect(newIds).toHaveLength(4);
    expect(newIds.filter((i) => oldIds.includes(i))).toEqual([]);
    console.log(`rolling update ${ms / 1000}s, ${l.total} requests, ${l.failed} failed; p99 at rest ${p99(rest)} ms (${rest.length}), during rollout ${p99(during)} ms (${during.length})`);
    expect(await waitFor(url, (x) => x.includes('version=2'))).toMatch(/version=2/);
  }, 240_000);
});
