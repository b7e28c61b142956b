// `kiln gc`: removes intermediate and superseded images of this state directory's cache, keeps the
// newest artifact per build, tagged images and what deployments use.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { workspace, type Workspace } from './build-helpers.js';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { inspectImage } from '../docker.js';
import { openState } from '../../src/state/db.js';
import { BuildCache } from '../../src/image/cache.js';

let ws: Workspace;
beforeAll(() => {
  ws = workspace('gc');
});
afterAll(async () => {
  await ws.cleanup();
});

const gc = async (args: string[]) => {
  const io = memoryIO({ cwd: ws.dir });
  const code = await main(['gc', '--state-dir', ws.stateDir, ...args], io);
  return { code, out: io.stdout };
};
const idOf = (out: string) => /Image ID: (sha256:[0-9a-f]{64})/.exec(out)![1]!;

describe('kiln gc', () => {
  it('keeps the newest artifact of each build and removes intermediates and superseded artifacts', async () => {
    const tpl = (n: number) =>
      ws.template(
        {
          builders: [{ type: 'docker', image: 'busybox:latest', commit: true }],
          provisioners: [
            { type: 'shell', inline: ['echo a > /a'] },
            { type: 'shell', inline: [`echo ${n} > /n`] },
          ],
        },
        'gc.json',
      );
    const v1 = await ws.kiln([tpl(1)]);
    const old = idOf(v1.out);
    const v2 = await ws.kiln([tpl(2)]);
    const newest = idOf(v2.out);
    const cache = new BuildCache(openState(ws.stateDir));
    const intermediates = cache
      .all()
      .filter((e) => e.kind === 'intermediate')
      .map((e) => e.imageId);
    expect(intermediates.length).toBeGreaterThanOrEqual(2);

    const dry = await gc(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(`keep   ${newest.slice(0, 19)}`);
    expect(dry.out).toContain(`would remove ${old.slice(0, 19)}`);
    expect(await inspectImage(old)).toBeDefined();

    const real = await gc([]);
    expect(real.code).toBe(0);
    expect(await inspectImage(old)).toBeUndefined();
    expect(await inspectImage(newest)).toBeDefined();
    // v2 resumed from the state after step 1, so that intermediate is the parent of the kept image:
    // the engine refuses to remove it, and gc says so. Every other intermediate is gone.
    const parent = ((await inspectImage(newest)) as { Parent?: string }).Parent;
    expect(intermediates).toContain(parent);
    expect(real.out).toContain(`kept   ${parent!.slice(0, 19)}  the engine refused`);
    for (const i of intermediates.filter((x) => x !== parent)) expect(await inspectImage(i)).toBeUndefined();
    // The newest build is still a cache hit; the old version builds again (its image is gone).
    expect((await ws.kiln([tpl(2)])).out).toContain('Reusing the cached image');
    const back = await ws.kiln([tpl(1)]);
    expect(back.out).not.toContain('Reusing the cached image');
  });
});

describe('kiln gc and deployments', () => {
  it('keeps an older artifact that a stack deployment uses', async () => {
    const tpl = (n: number) =>
      ws.template({ builders: [{ type: 'docker', image: 'busybox:latest', commit: true }], provisioners: [{ type: 'shell', inline: [`echo deployed-${n} > /n`] }] }, 'gc-deployed.json');
    const old = idOf((await ws.kiln([tpl(1)])).out);
    const newest = idOf((await ws.kiln([tpl(2)])).out);
    const { SqliteStackStore: StackStore } = await import('../../src/state/stacks.js');
    const store = new StackStore(openState(ws.stateDir));
    store.createStack('gc-web');
    store.beginDeployment({ id: `d-${ws.testId}`, stack: 'gc-web', kind: 'deploy', templateHash: null, template: null, parameters: {}, outputs: {}, prior: [], images: { local: old } });
    const r = await gc([]);
    expect(r.out).toContain(`keep   ${old.slice(0, 19)}`);
    expect(r.out).toMatch(new RegExp(`${old.slice(0, 19)}.*used by a stack deployment`));
    expect(await inspectImage(old)).toBeDefined();
    expect(await inspectImage(newest)).toBeDefined();
  });
});
