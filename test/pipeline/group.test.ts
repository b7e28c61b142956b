// A changed image rolled across a group of 4 instances (LaunchTemplate + AutoScalingGroup) behind a
// classic ELB while a second process puts a steady load on it: zero failed requests; the p99
// latency during the rollout is printed next to the p99 at rest.
import { describe, expect, it } from 'vitest';
import { upOnce, upUnderLoad, waitFor, p99 } from './helpers.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';

const deployed = upOnce('group', 'pipegrp', (b) => b.includes('version=1'), { up: 240_000, down: 180_000 });

describe('a group of 4 behind a load balancer', () => {
  it('rolls a new image across the group with zero failed requests under steady load', async () => {
    const { p, url } = deployed;
    const group = () =>
      StackStore.open(p.stateDir)
        .resources(p.stack, ['live'])
        .find((r) => r.logicalId === 'Group')!;
    const before = group();
    expect((before.state.data as { instances: string[] }).instances).toHaveLength(4);
    const { r, l, ms, rest, during } = await upUnderLoad(p, url, () => p.write('kiln.yaml', p.read('kiln.yaml').replace('app_version: "1"', 'app_version: "2"')), 180);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/UPDATE_COMPLETE in [0-9.]+s \(1 image built; .*1 replaced\)/);
    expect(l.errors).toEqual({});
    expect(l.failed).toBe(0);
    // Old and new versions both answered: the switch happened under load, not between requests.
    expect(l.versions['1']).toBeGreaterThan(0);
    expect(l.versions['2']).toBeGreaterThan(0);
    const after = group();
    expect(after.physicalId).not.toBe(before.physicalId);
    const newIds = (after.state.data as { instances: string[] }).instances;
    expect(newIds).toHaveLength(4);
    expect(newIds.some((i) => (before.state.data as { instances: string[] }).instances.includes(i))).toBe(false);
    console.log(`group rollout ${ms / 1000}s, ${l.total} requests, ${l.failed} failed; p99 at rest ${p99(rest)} ms (${rest.length}), during rollout ${p99(during)} ms (${during.length})`);
    expect(await waitFor(url, (x) => x.includes('version=2'))).toMatch(/version=2/);
  }, 240_000);
});
