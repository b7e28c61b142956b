// A changed image rolled across a group of 4 instances (LaunchTemplate + AutoScalingGroup) behind a
// classic ELB while a second process puts a steady load on it: zero failed requests; the p99
// latency during the rollout is printed next to the p99 at rest.
import { beforeAll, describe, expect, it } from 'vitest';
import { upOnce, waitFor, startLoad, p99, type Project } from './helpers.js';
import { StackStore } from '../../src/state/stacks.js';

let p: Project;
let url = '';

const deployed = upOnce('group', 'pipegrp', (b) => b.includes('version=1'), { up: 240_000, down: 180_000 });
beforeAll(() => {
  ({ p, url } = deployed);
});

describe('a group of 4 behind a load balancer', () => {
  it('rolls a new image across the group with zero failed requests under steady load', async () => {
    const group = () => StackStore.open(p.stateDir).resources(p.stack, ['live']).find((r) => r.logicalId === 'Group')!;
    const before = group();
    expect((before.state.data as { instances: string[] }).instances).toHaveLength(4);
    const load = startLoad(url, 180);
    await new Promise((r) => setTimeout(r, 3000)); // at rest
    p.write('kiln.yaml', p.read('kiln.yaml').replace('app_version: "1"', 'app_version: "2"'));
    const a = Date.now();
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--yes']);
    const b = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    const l = await load.stop();
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
    const rest = l.samples.filter((s) => s[0] < a && s[2]).map((s) => s[1]);
    const during = l.samples.filter((s) => s[0] >= a && s[0] <= b && s[2]).map((s) => s[1]);
    console.log(`group rollout ${(b - a) / 1000}s, ${l.total} requests, ${l.failed} failed; p99 at rest ${p99(rest)} ms (${rest.length}), during rollout ${p99(during)} ms (${during.length})`);
    expect(await waitFor(url, (x) => x.includes('version=2'))).toMatch(/version=2/);
  }, 240_000);
});
