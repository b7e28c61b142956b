// `kiln up` end to end on the real engine, one busybox image and one instance: first up, no-change up,
// a one-byte app change (one image rebuilt, the instance replaced), a stack-only change (nothing
// built), history, rollback without building, and a rollback whose image is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { project, outputsOf, waitFor, type Project } from './helpers.js';
import { PipelineStore } from '../../src/state/pipeline.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { checkImages } from '../../src/pipeline/rollback.js';
import { client } from '../docker.js';

let p: Project;
const runs = () => PipelineStore.open(p.stateDir).list(p.stack);
const liveWeb = () =>
  StackStore.open(p.stateDir)
    .resources(p.stack, ['live'])
    .find((r) => r.logicalId === 'Web')!.physicalId;

beforeAll(() => {
  p = project('web', 'pipeup');
});
afterAll(async () => {
  await p.cleanup();
}, 120_000);

describe('kiln up on the real engine', () => {
  let url = '';
  let firstImage = '';
  let firstInstance = '';

  it('first up bakes the image, deploys the stack and prints the outputs', async () => {
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--yes']);
    expect(r.err + r.out).not.toMatch(/internal error|pipe-secret-7f3a9c/);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^${p.stack}: CREATE_COMPLETE in [0-9.]+s \\(1 image built; 4 created\\)`, 'm'));
    expect(r.err).toMatch(/Provisioning with shell script/); // the image engine's lines, shown when it builds
    url = outputsOf(r.out).Url!;
    expect(url).toMatch(/^http:\/\/127\.\d+\.\d+\.\d+\/cgi-bin\/index$/);
    expect(await waitFor(url, (b) => b.includes('version=1'))).toMatch(/^pipe app version=1 body=A host=/);
    const [run] = runs();
    expect(run!.outcome).toBe('complete');
    expect(run!.images.web!.built).toBe(true);
    expect(run!.images.web!.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run!.images.web!.key).toBeTruthy();
    expect(run!.parameters.AmiId).toBe(run!.images.web!.artifact);
    firstImage = run!.images.web!.imageId;
    firstInstance = liveWeb();
  }, 180_000);

  it('a run where nothing changed builds nothing, replaces nothing, and says so in one line', async () => {
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^${p.stack}: up to date \\(1 image cached, 0 changes\\) in [0-9.]+s\\n$`));
    expect(r.err).toBe('');
    expect(liveWeb()).toBe(firstInstance);
    expect(runs()).toHaveLength(1); // no deployment happened
  }, 60_000);

  it('--dry-run after a change bakes and shows the plan but deploys nothing', async () => {
    p.write('app/www/body.txt', 'B\n');
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--dry-run']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\+\/- Web\s+AWS::EC2::Instance\s+replace \(because ImageId/);
    expect(r.out).toMatch(/dry run \(1 image built\); nothing deployed/);
    expect(liveWeb()).toBe(firstInstance);
    expect(await waitFor(url, () => true)).toMatch(/body=A/);
  }, 120_000);

  it('a one-byte app change rebuilds exactly that image and replaces the instance that uses it', async () => {
    // (the dry run above already baked it: this run takes it from the cache)
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/UPDATE_COMPLETE in [0-9.]+s \(1 image cached; 1 replaced\)/);
    expect(r.err).toMatch(/Web\s+\S*\s*AWS::EC2::Instance\s+replace/);
    const all = runs();
    expect(all).toHaveLength(2);
    expect(all[1]!.images.web!.imageId).not.toBe(firstImage);
    expect(all[1]!.changes).toEqual([
      `image web: ${firstImage.slice(7, 19)} -> ${all[1]!.images.web!.imageId.slice(7, 19)}`,
      'parameter AmiId: ' + JSON.stringify(all[0]!.parameters.AmiId) + ' -> ' + JSON.stringify(all[1]!.parameters.AmiId),
      'Web: replace',
    ]);
    expect(liveWeb()).not.toBe(firstInstance);
    const newUrl = outputsOf(r.out).Url!;
    expect(await waitFor(newUrl, (b) => b.includes('body=B'))).toMatch(/^pipe app version=1 body=B/);
  }, 180_000);

  it('a stack-only change builds nothing and updates only what changed', async () => {
    const before = liveWeb();
    p.write('kiln.yaml', p.read('kiln.yaml').replace('Owner: team-a', 'Owner: team-b'));
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\(1 image cached; 1 updated\)/);
    expect(r.err).not.toMatch(/Provisioning/);
    expect(liveWeb()).toBe(before);
    const last = runs().at(-1)!;
    expect(last.images.web!.built).toBe(false);
    expect(last.changes).toEqual(['parameter Owner: "team-a" -> "team-b"', 'Web: update']);
  }, 120_000);

  it('history lists every deployment with its image ids and what changed', async () => {
    const r = await p.kiln(['history', '--stack', p.stack]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+WHEN\s+KIND\s+OUTCOME\s+IMAGES\s+CHANGES$/);
    expect(lines).toHaveLength(5); // header, 3 runs, legend
    expect(lines[1]).toContain(`web=${firstImage.slice(7, 19)}*`);
    expect(lines[3]).toContain('parameter Owner: "team-a" -> "team-b"; Web: update');
  });

  it('rollback --to the first run redeploys its exact image without building', async () => {
    const first = runs()[0]!;
    const r = await p.kiln(['rollback', '--stack', p.stack, '--to', String(first.id), '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`rolled back to run ${first.id} \\(web=${firstImage.slice(7, 19)}; nothing built\\)`));
    expect(r.err).not.toMatch(/Provisioning|Committing/);
    const last = runs().at(-1)!;
    expect(last.kind).toBe('rollback');
    expect(last.rollbackOf).toBe(first.id);
    expect(last.images.web!.imageId).toBe(firstImage);
    const url2 = outputsOf(r.out).Url!;
    expect(await waitFor(url2, (b) => b.includes('body=A'))).toMatch(/^pipe app version=1 body=A/);
    // The events of the stack tell the story (H3b's command).
    const ev = await p.kiln(['events', '--stack', p.stack]);
    expect(ev.out).toMatch(/Web\s+i-\w+\s+AWS::EC2::Instance\s+CREATE_IN_PROGRESS/);
  }, 180_000);

  it('a broken stack template is reported with its position before any image is committed', async () => {
    const before = runs().length;
    p.write('broken-stack.json', p.read('stack.json').replace('"Type": "AWS::EC2::Instance"', '"Type": "AWS::EC2::Instanse"'));
    p.write('broken.yaml', p.read('kiln.yaml').replace('stack.json', 'broken-stack.json').replace('app_version: "1"', 'app_version: "9"'));
    const r = await p.kiln(['up', 'broken.yaml', '--stack', p.stack, '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken-stack\.json:\d+:\d+: error\[\w+\]: .*AWS::EC2::Instanse.* \(at Resources\.Web\.Type\)/);
    expect(r.err).not.toMatch(/Committing|image web: built/);
    expect(runs()).toHaveLength(before);
    expect((await p.kiln(['up', '.', '--stack', p.stack, '--yes'])).out).toMatch(/1 image cached/); // nothing was baked for it
  }, 60_000);

  it('a NoEcho parameter given in kiln.yaml is deployed but never shown or stored', async () => {
    const secret = 'pipe-secret-7f3a9c';
    expect(runs().every((r) => r.parameters.ApiToken === '****')).toBe(true);
    const h = await p.kiln(['history', '--stack', p.stack, '--json']);
    expect(h.out).toContain('"ApiToken": "****"');
    expect(h.out).not.toContain(secret);
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    // The state and its backups (copies taken around each deploy).
    for (const f of readdirSync(p.stateDir, { recursive: true }) as string[]) if (statSync(`${p.stateDir}/${f}`).isFile()) expect(readFileSync(`${p.stateDir}/${f}`).includes(secret), f).toBe(false);
  });

  it('--plan-only --out saves the plan with the baked image and sealed NoEcho values; kiln deploy PLAN deploys exactly it', async () => {
    p.write('app/www/body.txt', 'C\n');
    const before = liveWeb();
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--plan-only', '--out', 'up.plan']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\+\/- Web\s+AWS::EC2::Instance\s+replace \(because ImageId/);
    expect(r.out).toContain('Plan saved to up.plan; deploy exactly it with: kiln deploy up.plan');
    const text = p.read('up.plan');
    expect(text).not.toContain('pipe-secret-7f3a9c');
    const doc = JSON.parse(text) as { images: Record<string, string>; steps: Array<{ id: string; kind: string }> };
    expect(doc.images.web).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(liveWeb()).toBe(before);
    const d = await p.kiln(['deploy', 'up.plan']);
    expect(d.code, d.err).toBe(0);
    expect(d.out).toContain(`Stack ${p.stack}: UPDATE_COMPLETE`);
    expect(liveWeb()).not.toBe(before);
    expect(await waitFor(outputsOf(d.out).Url!, (b) => b.includes('body=C'))).toMatch(/^pipe app version=1 body=C/);
  }, 180_000);

  it('kiln up --plan PLAN deploys a saved up-plan without baking, refuses a stale one, and history names the plan', async () => {
    p.write('app/www/body.txt', 'D\n');
    const before = liveWeb();
    const r = await p.kiln(['up', '.', '--stack', p.stack, '--plan-only', '--out', 'up2.plan']);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(p.read('up2.plan')) as { createdAt: string; images: Record<string, string>; up: { images: Record<string, { key: string; imageId: string }> } };
    expect(doc.up.images.web!.imageId).toBe(doc.images.web);
    // up.plan was deployed by the test before: another deployment ran since, so it is stale
    const stale = await p.kiln(['up', '--plan', 'up.plan']);
    expect(stale.code).not.toBe(0);
    expect(stale.err).toMatch(/saved plan for stack .* is stale, so nothing was changed: deployment .* ran after the plan was made/);
    expect(liveWeb()).toBe(before);
    const n = runs().length;
    const d = await p.kiln(['up', '--plan', 'up2.plan']);
    expect(d.code, d.err).toBe(0);
    expect(d.out).toMatch(/UPDATE_COMPLETE in [0-9.]+s \(1 image cached; 1 replaced\)/);
    expect(d.err).not.toMatch(/Provisioning|Committing/);
    expect(liveWeb()).not.toBe(before);
    expect(await waitFor(outputsOf(d.out).Url!, (b) => b.includes('body=D'))).toMatch(/^pipe app version=1 body=D/);
    // the record: which images, which plan
    expect(runs()).toHaveLength(n + 1);
    const last = runs().at(-1)!;
    expect(last.outcome).toBe('complete');
    expect(last.images.web).toMatchObject({ imageId: doc.images.web, key: doc.up.images.web!.key, built: false });
    expect(last.plan).toMatchObject({ file: expect.stringMatching(/\/up2\.plan$/), createdAt: doc.createdAt, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(last.changes).toContain('Web: replace');
    const h = await p.kiln(['history', '--stack', p.stack]);
    expect(h.out.trim().split('\n').at(-2)).toMatch(new RegExp(`up \\(plan up2\\.plan\\)\\s+complete\\s+web=${doc.images.web!.slice(7, 19)} `));
    // once deployed, the same plan is stale
    const again = await p.kiln(['up', '--plan', 'up2.plan']);
    expect(again.err).toMatch(/is stale/);
    expect(runs()).toHaveLength(n + 1);
  }, 180_000);

  it('a rollback to a run whose image is gone fails before changing anything', async () => {
    const fake = { ...runs()[0]!, images: { web: { ...runs()[0]!.images.web!, imageId: 'sha256:' + '0'.repeat(64) } } };
    await expect(checkImages(fake, client)).rejects.toThrow(/image web \(sha256:0{64}\) no longer exists.*never rebuilds/);
  });
});
