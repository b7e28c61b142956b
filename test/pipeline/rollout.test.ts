// Zero downtime through a load balancer, on the real engine: a new image replaces the instance
// behind a classic ELB (create-before-delete, the ELB admits the new instance only once healthy)
// while a second process puts a steady load on the ELB — no request fails. A new version that
// fails its health check is rolled back while the old version keeps answering. `kiln rollback`
// then restores the first version without building.
import { beforeAll, describe, expect, it } from 'vitest';
import { upOnce, upUnderLoad, waitFor, get, startLoad, p99, type Project } from './helpers.js';
import { PipelineStore } from '../../src/state/pipeline.js';

let p: Project;
let url = '';
const runs = () => PipelineStore.open(p.stateDir).list(p.stack);

const deployed = upOnce('lb', 'piperoll', (b) => b.includes('body=A'), { up: 180_000, down: 120_000 });
beforeAll(() => {
  ({ p, url } = deployed);
});

describe('zero-downtime replacement behind a load balancer', () => {
  it('a changed image replaces the instance while the load balancer keeps answering every request', async () => {
    const { r, l, ms, rest, during } = await upUnderLoad(p, url, () => p.write('app/www/body.txt', 'B\n'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/UPDATE_COMPLETE in [0-9.]+s \(1 image built; 1 updated, 1 replaced\)/);
    expect(l.errors).toEqual({});
    expect(l.failed).toBe(0);
    expect(rest.length).toBeGreaterThan(20);
    expect(during.length).toBeGreaterThan(20);
    // The numbers, for the report: p99 at rest vs during the rollout.
    console.log(`rollout ${ms / 1000}s, ${l.total} requests, 0 failed; p99 at rest ${p99(rest)} ms, during rollout ${p99(during)} ms`);
    expect(await waitFor(url, (x) => x.includes('body=B'))).toMatch(/body=B/);
  }, 180_000);

  it('a new version that fails its health check is rolled back; the old one never stops answering', async () => {
    const before = runs().length;
    const load = startLoad(url);
    await new Promise((r) => setTimeout(r, 2000));
    p.write('app/www/cgi-bin/health', '#!/bin/sh\nprintf "Status: 500 Broken\\r\\nContent-Type: text/plain\\r\\n\\r\\n"\necho broken\n');
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--yes']);
    const l = await load.stop();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/UPDATE_ROLLBACK_COMPLETE: .*health check/);
    expect(l.failed).toBe(0);
    expect(Object.keys(l.versions)).toEqual(['1']);
    expect((await get(url)).body).toMatch(/body=B/);
    const last = runs().at(-1)!;
    expect(runs()).toHaveLength(before + 1);
    expect(last.outcome).toBe('failed');
    expect(last.images.web!.built).toBe(true);
    const h = await p.kiln(['history', '--stack', p.stack]);
    expect(h.out).toMatch(/failed \(rolled back\): Elb: new targets i-\w+ did not pass their health check/);
  }, 180_000);

  it('rollback restores the previous complete deployment without building, with zero failed requests', async () => {
    const [first] = runs();
    const load = startLoad(url);
    await new Promise((r) => setTimeout(r, 1000));
    const r = await p.kiln(['rollback', '--stack', p.stack, '--yes']);
    const l = await load.stop();
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`rolled back to run ${first!.id} \\(web=${first!.images.web!.imageId.slice(7, 19)}; nothing built\\)`));
    expect(r.err).not.toMatch(/Provisioning|Committing/);
    expect(l.failed).toBe(0);
    expect(await waitFor(url, (x) => x.includes('body=A'))).toMatch(/body=A/);
    const ev = await p.kiln(['events', '--stack', p.stack]);
    expect(ev.out).toMatch(/Elb\s+\S+\s+AWS::ElasticLoadBalancing::LoadBalancer\s+UPDATE_FAILED/);
  }, 180_000);
});
