// `kiln watch`: the inputs come from the prepared templates; a change of an uploaded file runs `up`
// again (debounced), a failed build leaves the running version serving, the fix deploys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { project, outputsOf, waitFor, type Project } from './helpers.js';
import { loadConfig } from '../../src/pipeline/load.js';
import { pipelineInputs, watchInputs, watchLoop } from '../../src/pipeline/watch.js';
import { up, type UpResult } from '../../src/pipeline/up.js';

let p: Project;
beforeAll(() => {
  p = project('web', 'pipewatch');
});
afterAll(async () => {
  await p.cleanup();
}, 120_000);

describe('kiln watch', () => {
  it('lists the inputs the image engine reads, plus kiln.yaml and the stack template', async () => {
    const config = await loadConfig(p.dir);
    const inputs = await pipelineInputs(config, 'local');
    expect(inputs.map((i) => `${i.kind} ${i.path.slice(p.dir.length + 1)}`)).toEqual(['dir app', 'file image.json', 'file kiln.yaml', 'file stack.json']);
  });

  it('a burst of changes fires once, after the quiet time', async () => {
    const fired: string[][] = [];
    const stop = watchInputs(
      [
        { path: join(p.dir, 'app'), kind: 'dir' },
        { path: join(p.dir, 'kiln.yaml'), kind: 'file' },
      ],
      (paths) => fired.push(paths),
      300,
    );
    try {
      p.write('app/www/x.txt', '1');
      p.write('app/www/x.txt', '2');
      p.write('kiln.yaml', p.read('kiln.yaml'));
      writeFileSync(join(p.dir, 'unrelated.txt'), 'no');
      await new Promise((r) => setTimeout(r, 1200));
      expect(fired).toHaveLength(1);
      expect(fired[0]).toContain(join(p.dir, 'app', 'www', 'x.txt'));
      expect(fired[0]).toContain(join(p.dir, 'kiln.yaml'));
      expect(fired[0]).not.toContain(join(p.dir, 'unrelated.txt'));
    } finally {
      stop();
      rmSync(join(p.dir, 'app', 'www', 'x.txt'), { force: true });
    }
  });

  it('runs up on each change; a failed build keeps the running version serving and waits', async () => {
    const results: UpResult[] = [];
    const errors: unknown[] = [];
    const abort = new AbortController();
    let next: (() => void) | undefined;
    const ran = () => new Promise<void>((r) => (next = r));
    let wait = ran();
    const loop = watchLoop({
      load: () => loadConfig(p.dir),
      target: 'local',
      debounceMs: 200,
      signal: abort.signal,
      fallbackDir: p.dir,
      run: async (config) => {
        try {
          results.push(await up({ config, stack: p.stack, stateDir: p.stateDir, labels: { 'kiln.test': p.testId } }));
        } finally {
          next?.();
        }
      },
      onError: (e) => errors.push(e),
    });
    try {
      await wait;
      expect(results[0]!.outcome).toBe('complete');
      const url = outputsOf(`Outputs:\n  Url  ${String(results[0]!.deploy!.outputs.Url!.value)}\n`).Url!;
      expect(await waitFor(url, (b) => b.includes('body=A'))).toMatch(/body=A/);

      // A broken build: the shell step's chmod fails on a missing file.
      wait = ran();
      rmSync(join(p.dir, 'app', 'www', 'cgi-bin', 'health'));
      await wait;
      expect(results[1]!.outcome).toBe('build-failed');
      expect(results[1]!.reason).toMatch(/image web/);
      expect(await waitFor(url, () => true)).toMatch(/body=A/); // still serving

      // The fix, with a changed body: built, replaced, serving the new version.
      wait = ran();
      p.write('app/www/cgi-bin/health', '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho ok\n');
      p.write('app/www/body.txt', 'C\n');
      await wait;
      expect(results[2]!.outcome, results[2]!.reason).toBe('complete');
      expect(results[2]!.built).toEqual(['web']);
      expect(results[2]!.plan!.steps.find((s) => s.id === 'Web')!.kind).toBe('replace');
      const url2 = String(results[2]!.deploy!.outputs.Url!.value);
      expect(await waitFor(url2, (b) => b.includes('body=C'))).toMatch(/body=C/);
      expect(errors).toEqual([]);
    } finally {
      abort.abort();
      await loop;
    }
  }, 240_000);
});
