// The seed example end to end, as the demo runs it: `kiln up` bakes the debian-based web image,
// deploys VPC, security groups, Redis, the instance and the classic ELB, and the Url output answers
// `seed app version=1 hits=N host=…` with N growing; a second `up` builds and replaces nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { removeByLabels } from '../docker.js';
import { LABELS } from '../../src/docker/client.js';
import { removeTestObjects } from '../image/build-helpers.js';
import { get, outputsOf, waitFor } from './helpers.js';

const testId = `pipeseed-${randomBytes(4).toString('hex')}`;
const stack = `seed-${testId.slice(-8)}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-seed-'));
const stateDir = join(dir, '.state');

async function kiln(args: string[]) {
  const io = memoryIO({ cwd: dir, env: { ...process.env, KILN_LABELS: `kiln.test=${testId}` } });
  const code = await main([...args, '--state-dir', stateDir], io);
  return { code, out: io.stdout, err: io.stderr };
}

beforeAll(() => {
  cpSync(join(import.meta.dirname, '..', '..', 'examples', 'seed'), join(dir, 'seed'), { recursive: true });
});
afterAll(async () => {
  try {
    await kiln(['destroy', '--stack', stack, '--yes']);
  } finally {
    await removeByLabels({ [LABELS.stack]: stack }).catch(() => undefined);
    await removeTestObjects(testId).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

describe('the seed example', () => {
  it('kiln up answers at the Url with growing hits; a second up changes nothing', async () => {
    const r = await kiln(['up', 'seed', '--stack', stack, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^${stack}: CREATE_COMPLETE in [0-9.]+s \\(1 image built; 12 created\\)`, 'm'));
    const url = outputsOf(r.out).Url!;
    expect(url).toMatch(/^http:\/\/127\.\d+\.\d+\.\d+\/cgi-bin\/index$/);
    const first = await waitFor(url, (b) => /hits=\d+/.test(b), 60_000);
    expect(first).toMatch(/^seed app version=1 hits=\d+ host=\S+/);
    const n1 = Number(/hits=(\d+)/.exec(first)![1]);
    const n2 = Number(/hits=(\d+)/.exec((await get(url)).body)![1]);
    expect(n2).toBe(n1 + 1);
    const again = await kiln(['up', 'seed', '--stack', stack, '--yes']);
    expect(again.out).toMatch(new RegExp(`^${stack}: up to date \\(1 image cached, 0 changes\\) in [0-9.]+s\\n$`));
  }, 400_000);
});
