// The builds page's model on the real engine: what `kiln gc` would free is the bytes of the layers
// the images it removes add, not their whole sizes (which count the base image's layers, shared
// with everything built on that base and kept by `kiln gc`).
import { afterAll, expect, test } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildsView } from '../../src/ui/builds.js';
import { BuildCache } from '../../src/image/cache.js';
import { closeAllStates, openState } from '../../src/state/db.js';
import { client, docker, inspectImage } from '../docker.js';

const run = randomBytes(3).toString('hex');
const label = { 'kiln.test': `ui-builds-${run}` };
const dir = mkdtempSync(join(tmpdir(), 'kiln-ui-builds-'));
const made: string[] = [];

afterAll(async () => {
  const d = await docker();
  for (const id of made.reverse())
    await d
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined);
  for (const c of await client.listContainers({ all: true, labels: [`kiln.test=ui-builds-${run}`] })) await client.removeContainer(c.Id, { force: true }).catch(() => undefined);
  closeAllStates();
  rmSync(dir, { recursive: true, force: true });
});

/** An untagged image committed from busybox after `mb` MB were written into it, labelled as kiln's. */
async function committed(mb: number): Promise<string> {
  const d = await docker();
  const c = await d.createContainer({ Image: 'busybox:latest', Cmd: ['dd', 'if=/dev/zero', 'of=/blob', 'bs=1000000', `count=${mb}`], Labels: label });
  await c.start();
  await c.wait();
  const { Id } = (await c.commit({ changes: ['LABEL kiln.managed=true', `LABEL kiln.test=ui-builds-${run}`] })) as { Id: string };
  made.push(Id);
  await c.remove({ force: true });
  return Id;
}

test('what gc would free counts the layers of the images it removes, not their base', async () => {
  const [step1, step2, artifact] = [await committed(3), await committed(5), await committed(1)];
  const base = (await inspectImage('busybox:latest'))!.Size!;
  const db = openState(join(dir, 'state'));
  const cache = new BuildCache(db);
  cache.put({ key: `k1-${run}`, kind: 'intermediate', imageId: step1, template: 't.json', build: 'local', step: 0, createdAt: 1 });
  cache.put({ key: `k2-${run}`, kind: 'intermediate', imageId: step2, template: 't.json', build: 'local', step: 1, createdAt: 2 });
  cache.put({ key: `k3-${run}`, kind: 'artifact', imageId: artifact, template: 't.json', build: 'local', step: -1, createdAt: 3 });
  const v = await buildsView(db, cache, client);
  const rows = v.groups[0]!.images.map((i) => `${i.entry.kind} ${i.gc?.action}`);
  expect(rows).toEqual(['artifact keep', 'intermediate remove', 'intermediate remove']);
  // Each size shown is the whole image (its base included); what gc frees is 3 + 5 MB, give or take
  // the file system's own bytes, and none of busybox.
  expect(v.groups[0]!.images[1]!.size).toBeGreaterThanOrEqual(base + 5e6);
  expect(v.reclaimable).toBeGreaterThanOrEqual(8e6);
  expect(v.reclaimable).toBeLessThan(8e6 + base / 2);
});
