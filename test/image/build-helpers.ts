// Shared helpers of the image integration tests: a temp workspace, `kiln build` in-process with a
// recorded IO, and cleanup of everything a test file created (by its `kiln.test` label).
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { engineRequest } from '../docker.js';

export interface Workspace {
  dir: string;
  stateDir: string;
  testId: string;
  write(rel: string, content: string, mode?: number): string;
  template(obj: unknown, name?: string): string;
  kiln(args: string[], env?: Record<string, string>): Promise<{ code: number; out: string; err: string }>;
  cleanup(): Promise<void>;
}

export function workspace(prefix: string): Workspace {
  const testId = `${prefix}-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `kiln-${prefix}-`));
  const stateDir = join(dir, '.state');
  return {
    dir,
    stateDir,
    testId,
    write(rel, content, mode) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content, mode === undefined ? undefined : { mode });
      return p;
    },
    template(obj, name = 'template.json') {
      return this.write(name, JSON.stringify(obj, null, 2));
    },
    async kiln(args, env = {}) {
      const io = memoryIO({ cwd: dir, env: { ...process.env, KILN_LABELS: `kiln.test=${testId}`, ...env } });
      const code = await main(['build', '--state-dir', stateDir, ...args], io);
      return { code, out: io.stdout, err: io.stderr };
    },
    async cleanup() {
      await removeTestObjects(testId);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function removeTestObjects(testId: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`kiln.test=${testId}`] }));
  const cs = JSON.parse((await engineRequest('GET', `/containers/json?all=1&filters=${filters}`)).body.toString()) as Array<{ Id: string }>;
  for (const c of cs) await engineRequest('DELETE', `/containers/${c.Id}?force=1&v=1`);
  // Children before parents: repeat until nothing removable is left.
  for (let round = 0; round < 5; round++) {
    const imgs = JSON.parse((await engineRequest('GET', `/images/json?all=1&filters=${filters}`)).body.toString()) as Array<{ Id: string }>;
    if (!imgs.length) break;
    for (const i of imgs) await engineRequest('DELETE', `/images/${i.Id}?force=1`);
  }
}

export async function containersLabelled(testId: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`kiln.test=${testId}`] }));
  const cs = JSON.parse((await engineRequest('GET', `/containers/json?all=1&filters=${filters}`)).body.toString()) as Array<{ Id: string }>;
  return cs.map((c) => c.Id);
}

/** Runs a command in a fresh container of `image` and returns its output (removed afterwards). */
export async function runInImage(image: string, cmd: string[], testId: string): Promise<string> {
  const { docker } = await import('../docker.js');
  const d = await docker();
  const c = await d.createContainer({ Image: image, Entrypoint: cmd.slice(0, 1), Cmd: cmd.slice(1), Labels: { 'kiln.test': testId }, Tty: true });
  try {
    await c.start();
    await c.wait();
    const logs = await c.logs({ stdout: true, stderr: true });
    return logs.toString('utf8').replace(/\r/g, '');
  } finally {
    await c.remove({ force: true });
  }
}

export async function imageConfig(
  image: string,
): Promise<{ Env?: string[]; Cmd?: string[] | null; Entrypoint?: string[] | null; Labels?: Record<string, string>; ExposedPorts?: Record<string, unknown> }> {
  const r = await engineRequest('GET', `/images/${encodeURIComponent(image)}/json`);
  return (JSON.parse(r.body.toString()) as { Config: never }).Config;
}
