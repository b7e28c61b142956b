// Ctrl-C on the real `kiln build` process: the build stops, the build container is removed, the
// exit code says it was interrupted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bundleCli } from '../deploy/cli-bundle.js';
import { workspace, containersLabelled, type Workspace } from './build-helpers.js';

let ws: Workspace;
let cli: { entry: string; env: NodeJS.ProcessEnv };
beforeAll(async () => {
  ws = workspace('sigint');
  cli = await bundleCli('image-sigint');
});
afterAll(async () => {
  await ws.cleanup();
});

describe('kiln build and Ctrl-C', () => {
  it('cleans up the build container and exits with 130', async () => {
    const tpl = ws.template({ builders: [{ type: 'docker', image: 'busybox:latest', commit: true }], provisioners: [{ type: 'shell', inline: ['echo started', 'sleep 60'] }] });
    const child = spawn(process.execPath, [cli.entry, 'build', '--state-dir', join(ws.dir, 'state'), tpl], {
      cwd: ws.dir,
      env: { ...process.env, ...cli.env, KILN_LABELS: `kiln.test=${ws.testId}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('    docker: started') && !child.killed) child.kill('SIGINT');
      });
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (c) => resolve(c));
    });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(code, out).toBe(130);
    expect(out).toContain('Interrupt received. Cancelling builds and cleaning up...');
    expect(out).toContain('Killing the container');
    expect(await containersLabelled(ws.testId)).toEqual([]);
  });
});
