// kill -9 of the real `kiln build` process, at seeded random moments: what the dead run left (its
// build container, its temporary directories, images it committed) is found by the run it names and
// removed — by `kiln gc` and by the next build of the same template — and nothing a live run uses is
// touched. KILL_SEED=N replays a sequence of kill moments.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { bundleCli } from '../deploy/cli-bundle.js';
import { workspace, containersLabelled, type Workspace } from './build-helpers.js';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { client } from '../docker.js';

const engineRequest = (method: string, path: string) => client.engine.request(method, path);
import { openState } from '../../src/state/db.js';
import { BuildCache } from '../../src/image/cache.js';
import { COMMIT_WAIT_MS, deadRuns, readRuns, runsDir, sweepDeadRuns, thisProcess } from '../../src/image/debris.js';
import type { Clock } from '../../src/core/clock.js';
import type { ProcessOwner } from '../../src/state/locks.js';

const seed = process.env.KILL_SEED ? Number(process.env.KILL_SEED) : 20_611;
console.log(`kill seed ${seed} (replay: KILL_SEED=${seed} npx vitest run test/image/build-kill.test.ts)`);

/** mulberry32: a small seeded generator, so that the kill moments can be replayed. */
function random(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let ws: Workspace;
let cli: { entry: string; env: NodeJS.ProcessEnv };
beforeAll(async () => {
  ws = workspace('kill9');
  cli = await bundleCli('image-kill9');
});
afterAll(async () => {
  await ws.cleanup();
});

interface Child {
  proc: ChildProcess;
  out: () => string;
  closed: Promise<number | null>;
}

/** `kiln build` as its own process, with its own TMPDIR (so that what it leaves there can be counted). */
function build(template: string, tmp: string, extra: string[] = []): Child {
  mkdirSync(tmp, { recursive: true });
  const proc = spawn(process.execPath, [cli.entry, 'build', '--state-dir', ws.stateDir, ...extra, template], {
    cwd: ws.dir,
    env: { ...process.env, ...cli.env, KILN_LABELS: `kiln.test=${ws.testId}`, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const closed = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, out: () => out, closed };
}

async function until(child: Child, text: string): Promise<void> {
  for (let i = 0; i < 600 && !child.out().includes(text); i++) await new Promise((r) => setTimeout(r, 50));
  expect(child.out(), `waiting for "${text}"`).toContain(text);
}

const gc = async (args: string[] = []) => {
  const io = memoryIO({ cwd: ws.dir });
  const code = await main(['gc', '--state-dir', ws.stateDir, ...args], io);
  return { code, out: io.stdout, err: io.stderr };
};

async function imagesLabelled(): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`kiln.test=${ws.testId}`] }));
  return (JSON.parse((await engineRequest('GET', `/images/json?all=1&filters=${filters}`)).body.toString()) as Array<{ Id: string }>).map((i) => i.Id);
}

async function running(id: string): Promise<boolean> {
  const r = await engineRequest('GET', `/containers/${id}/json`);
  return r.status === 200 && (JSON.parse(r.body.toString()) as { State: { Running: boolean } }).State.Running;
}

/** Everything under a directory, as relative paths (what a run left in its TMPDIR). */
const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

const template = (name: string, lines: string[], more: string[] = []) =>
  ws.template(
    {
      builders: [{ type: 'docker', image: 'busybox:latest', commit: true }],
      provisioners: [
        { type: 'shell', inline: ['echo one > /one'] },
        { type: 'shell', inline: lines },
        { type: 'shell', inline: ['echo three > /three', ...more] },
      ],
    },
    name,
  );

describe('kill -9 of kiln build, then kiln gc', () => {
  // The kills spread over about seven builds: on a loaded machine (one build took 26 s) that is minutes.
  it('leaves nothing labelled behind, whatever moment the build was killed at', async () => {
    // One build through, to know how long a build takes (the kill moments spread over it).
    const first = build(template('kill.json', ['echo 0 > /n', 'sleep 0.3']), join(ws.dir, 'tmp', 'full'));
    const t0 = Date.now();
    expect(await first.closed, first.out()).toBe(0);
    const span = Date.now() - t0;
    expect(entries(join(ws.dir, 'tmp', 'full'))).toEqual([]);

    const next = random(seed);
    const kills: Array<{ ms: number; last: string; containers: number; dirs: number }> = [];
    for (let i = 1; i <= 6; i++) {
      const ms = Math.floor(next() * span * 1.1);
      const tmp = join(ws.dir, 'tmp', `kill-${i}`);
      // A template each: the next build of a template would sweep the run before it (tested below).
      const child = build(template(`kill-${i}.json`, [`echo ${i} > /n`, 'sleep 0.3']), tmp);
      await new Promise((r) => setTimeout(r, ms));
      child.proc.kill('SIGKILL');
      await child.closed;
      const lines = child.out().trim().split('\n');
      kills.push({ ms, last: lines[lines.length - 1] ?? '', containers: (await containersLabelled(ws.testId)).length, dirs: entries(tmp).length });
    }
    console.log(`build takes ${span} ms; killed at:\n${kills.map((k) => `  ${k.ms} ms: ${k.dirs} dir(s) left (${k.containers} container(s) so far); last line: ${k.last}`).join('\n')}`);
    // The kills did leave debris (or this test would prove nothing).
    expect(kills.some((k) => k.containers > 0 || k.dirs > 0)).toBe(true);

    const r = await gc();
    expect(r.code, r.out + r.err).toBe(0);
    expect(await containersLabelled(ws.testId)).toEqual([]);
    for (let i = 1; i <= 6; i++) expect(entries(join(ws.dir, 'tmp', `kill-${i}`)), `TMPDIR of kill ${i}`).toEqual([]);
    expect(readRuns(ws.stateDir)).toEqual([]);
    // Every image left is one the cache records (the policy keeps the newest artifact, and parents
    // the engine refuses to remove): none is lost to gc.
    const recorded = new Set(new BuildCache(openState(ws.stateDir)).all().map((e) => e.imageId));
    for (const id of await imagesLabelled()) expect(recorded.has(id), `${id} is not recorded in the build cache`).toBe(true);
    // And a second gc has nothing more to sweep.
    expect((await gc()).out).not.toMatch(/^remove (container|directory)/m);
  }, 600_000);
});

describe('kill -9 of kiln build, then the next build of the same template', () => {
  it('removes the dead build container and its temporary directory, and builds', async () => {
    const tpl = template('next.json', ['echo started', 'sleep 60']);
    const tmp = join(ws.dir, 'tmp', 'next');
    const child = build(tpl, tmp);
    await until(child, '    docker: started');
    const [container] = await containersLabelled(ws.testId);
    expect(container).toBeDefined();
    const left = entries(tmp);
    expect(left.some((d) => d.startsWith('kiln-build-'))).toBe(true);
    child.proc.kill('SIGKILL');
    await child.closed;
    expect(await running(container!)).toBe(true);

    const again = await ws.kiln([template('next.json', ['echo done'])]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain(`Removed what a killed build left: container ${container!.slice(0, 19)}`);
    expect(again.out).toMatch(/Removed what a killed build left: directory .*kiln-build-[0-9a-f]{16}/);
    expect(await containersLabelled(ws.testId)).toEqual([]);
    expect(entries(tmp)).toEqual([]);
    expect(readRuns(ws.stateDir)).toEqual([]);
  }, 120_000);

  it('leaves a live build alone, and sweeps it once it is killed', async () => {
    const tpl = template('live.json', ['echo started', 'sleep 60']);
    const tmp = join(ws.dir, 'tmp', 'live');
    const child = build(tpl, tmp);
    await until(child, '    docker: started');
    const [container] = await containersLabelled(ws.testId);
    const dirs = entries(tmp);
    // Both sweepers run while it is alive: gc, and another build of the same template.
    expect((await gc()).code).toBe(0);
    const other = await ws.kiln([template('live.json', ['echo quick'])]);
    expect(other.code, other.out).toBe(0);
    expect(other.out).not.toContain('what a killed build left');
    expect(await running(container!)).toBe(true);
    expect(entries(tmp)).toEqual(dirs);
    expect(readRuns(ws.stateDir).length).toBe(1);

    child.proc.kill('SIGKILL');
    await child.closed;
    const r = await gc();
    expect(r.out).toContain(`remove container ${container!.slice(0, 19)}`);
    expect(await containersLabelled(ws.testId)).toEqual([]);
    expect(entries(tmp)).toEqual([]);
  }, 120_000);

  it('keeps what -on-error=abort left for inspection from the next build; kiln gc removes it', async () => {
    const tpl = template('abort.json', ['echo failing', 'exit 3']);
    const tmp = join(ws.dir, 'tmp', 'abort');
    const child = build(tpl, tmp, ['-on-error=abort']);
    expect(await child.closed, child.out()).not.toBe(0);
    const [container] = await containersLabelled(ws.testId);
    expect(await running(container!)).toBe(true);
    expect(readRuns(ws.stateDir).map((r) => r.kept)).toEqual(['on-error=abort']);

    const again = await ws.kiln([template('abort.json', ['echo fixed'])]);
    expect(again.code, again.out).toBe(0);
    expect(await running(container!)).toBe(true);
    expect(entries(tmp).some((d) => d.startsWith('kiln-build-'))).toBe(true);

    const r = await gc();
    expect(r.out).toContain(`remove container ${container!.slice(0, 19)}`);
    expect(await containersLabelled(ws.testId)).toEqual([]);
    expect(entries(tmp)).toEqual([]);
  }, 120_000);
});

describe('what a dead run was committing when it was killed', () => {
  // The moments a random kill hits only sometimes, made on purpose: the run's record, and what the
  // engine did for it (a real container, a real commit), as a kill -9 at that moment leaves them.
  const dead = { host: hostname(), pid: 2 ** 22 + 7, started: null };
  const key = () => randomBytes(32).toString('hex');
  const record = (run: string, owner: ProcessOwner, committing?: string[]) => {
    mkdirSync(runsDir(ws.stateDir), { recursive: true });
    writeFileSync(
      join(runsDir(ws.stateDir), `${run}.json`),
      JSON.stringify({ run, template: join(ws.dir, 'c.json'), build: 'docker', builder: 'docker', owner, since: '', dirs: [], ...(committing ? { committing } : {}) }),
    );
  };
  const label = (labels: Record<string, string>) =>
    `LABEL ${Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')}`;
  /** A build container of `run` (running, as a killed build leaves it). */
  async function buildContainer(run: string): Promise<string> {
    const res = await client.engine.request('POST', '/containers/create', {
      Image: 'busybox:latest',
      Cmd: ['sleep', '600'],
      Labels: { 'kiln.test': ws.testId, 'kiln.managed': 'true', 'kiln.kind': 'build-container', 'kiln.run': run },
    });
    const id = (JSON.parse(res.body.toString()) as { Id: string }).Id;
    await client.engine.request('POST', `/containers/${id}/start`);
    return id;
  }
  /** What the final commit makes: an artifact with the run labels blank. */
  const commitFinal = (container: string, k: string) =>
    client.engine.commitContainer(container, { changes: [label({ 'kiln.test': ws.testId, 'kiln.managed': 'true', 'kiln.kind': 'artifact', 'kiln.build': k, 'kiln.run': '' })], pause: false });
  const cached = () => new BuildCache(openState(ws.stateDir));

  it('records the final image it committed but did not record, found by the key it was committing', async () => {
    const run = randomBytes(8).toString('hex');
    const k = key();
    const c = await buildContainer(run);
    const image = await commitFinal(c, k);
    record(run, dead, [k]);
    const r = await gc();
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain(`remove container ${c.slice(0, 19)}`);
    expect(r.out).toContain(`record image ${image.slice(0, 19)}`);
    expect(cached().get(k)?.imageId).toBe(image);
    expect(readRuns(ws.stateDir).map((x) => x.run)).not.toContain(run);
  }, 60_000);

  it('leaves a final image alone while a live run is committing the same key, and keeps the dead run for later', async () => {
    const run = randomBytes(8).toString('hex');
    const live = randomBytes(8).toString('hex');
    const k = key();
    const c = await buildContainer(run);
    const older = await commitFinal(c, k);
    cached().put({ key: k, kind: 'artifact', imageId: older, template: join(ws.dir, 'c.json'), build: 'docker', step: -1 });
    // The live run committed the same key again and has not recorded it yet.
    const fresh = await commitFinal(c, k);
    record(run, dead, [k]);
    record(live, thisProcess(), [k]);
    const r = await gc();
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).not.toContain(fresh.slice(0, 19));
    expect((await engineRequest('GET', `/images/${fresh}/json`)).status).toBe(200);
    expect(
      readRuns(ws.stateDir)
        .map((x) => x.run)
        .sort(),
    ).toEqual([run, live].sort());
    // Once the live run is done (its record gone), the image it did not record is a duplicate.
    rmSync(join(runsDir(ws.stateDir), `${live}.json`));
    const again = await gc();
    expect(again.out).toContain(`remove image ${fresh.slice(0, 19)}`);
    expect(readRuns(ws.stateDir)).toEqual([]);
  }, 60_000);

  it('waits for a commit still in flight (its container paused) before it lists the images of the run', async () => {
    const run = randomBytes(8).toString('hex');
    const c = await buildContainer(run);
    record(run, dead);
    // The engine pauses a container while it commits it; the commit lands while gc runs.
    expect((await client.engine.request('POST', `/containers/${c}/pause`)).status).toBe(204);
    const k = key();
    let image = '';
    const landing = (async () => {
      await new Promise((res) => setTimeout(res, 1500));
      image = await client.engine.commitContainer(c, {
        changes: [label({ 'kiln.test': ws.testId, 'kiln.managed': 'true', 'kiln.kind': 'intermediate', 'kiln.build': k, 'kiln.run': run, 'kiln.step': '0' })],
        pause: false,
      });
      await client.engine.request('POST', `/containers/${c}/unpause`);
    })();
    const r = await gc();
    await landing;
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain(`remove container ${c.slice(0, 19)}`);
    // Recorded, then judged by the policy like any other image (an intermediate: removed).
    expect(r.out).toContain(`record image ${image.slice(0, 19)}`);
    expect(r.out).toMatch(new RegExp(`^remove ${image.slice(0, 19)} +intermediate`, 'm'));
    expect((await engineRequest('GET', `/images/${image}/json`)).status).toBe(404);
    expect(cached().get(k)).toBeUndefined();
    expect(await containersLabelled(ws.testId)).toEqual([]);
  }, 120_000);
});

describe('a commit still in flight: a build starting does not wait for it, gc does', () => {
  const dead = { host: hostname(), pid: 2 ** 22 + 9, started: null };
  /** Time that passes only when slept on: how long a sweep waited, without waiting. */
  const virtualClock = () => {
    let t = 0;
    const clock: Clock & { slept: number } = {
      slept: 0,
      now: () => t,
      sleep: async (ms) => {
        t += ms;
        clock.slept += ms;
      },
    };
    return clock;
  };
  it('leaves the paused container and its record to gc at once; gc waits on its clock, then sweeps it once the commit ends', async () => {
    const run = randomBytes(8).toString('hex');
    const template = join(ws.dir, 'paused.json');
    const res = await client.engine.request('POST', '/containers/create', {
      Image: 'busybox:latest',
      Cmd: ['sleep', '600'],
      Labels: { 'kiln.test': ws.testId, 'kiln.managed': 'true', 'kiln.kind': 'build-container', 'kiln.run': run },
    });
    const c = (JSON.parse(res.body.toString()) as { Id: string }).Id;
    await client.engine.request('POST', `/containers/${c}/start`);
    mkdirSync(runsDir(ws.stateDir), { recursive: true });
    writeFileSync(join(runsDir(ws.stateDir), `${run}.json`), JSON.stringify({ run, template, build: 'docker', builder: 'docker', owner: dead, since: '', dirs: [] }));
    expect((await client.engine.request('POST', `/containers/${c}/pause`)).status).toBe(204);

    // What a build of the template does first: no wait at all.
    const atBuild = virtualClock();
    const swept = await sweepDeadRuns({ stateDir: ws.stateDir, docker: client, template, includeKept: false, commitWaitMs: 0, clock: atBuild });
    expect(atBuild.slept).toBe(0);
    expect(swept.find((a) => a.id === c)?.error).toMatch(/paused by a commit in flight: left for `kiln gc`/);
    expect((await engineRequest('GET', `/containers/${c}/json`)).status).toBe(200);
    expect(readRuns(ws.stateDir).map((x) => x.run)).toContain(run);

    // gc's wait, on its clock: the full budget, then the run is left for later (nothing removed).
    const atGc = virtualClock();
    const waited = await sweepDeadRuns({ stateDir: ws.stateDir, docker: client, includeKept: true, commitWaitMs: COMMIT_WAIT_MS, clock: atGc });
    expect(atGc.slept).toBeGreaterThanOrEqual(COMMIT_WAIT_MS);
    expect(waited.find((a) => a.id === c)?.error).toMatch(/still paused by a commit after 60 s/);
    expect(readRuns(ws.stateDir).map((x) => x.run)).toContain(run);

    // The commit ended: the next gc removes the container and forgets the run.
    await client.engine.request('POST', `/containers/${c}/unpause`);
    const r = await gc();
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain(`remove container ${c.slice(0, 19)}`);
    expect((await engineRequest('GET', `/containers/${c}/json`)).status).toBe(404);
    expect(readRuns(ws.stateDir).map((x) => x.run)).not.toContain(run);
  }, 60_000);
});

describe('a recorded run is dead only when that can be proven', () => {
  const record = (run: string, owner: ProcessOwner, suffix = '.json') => {
    mkdirSync(runsDir(join(ws.dir, 'owners')), { recursive: true });
    writeFileSync(join(runsDir(join(ws.dir, 'owners')), `${run}${suffix}`), JSON.stringify({ run, template: '/t.json', build: 'b', builder: 'null', owner, since: '', dirs: [] }));
  };
  it('is dead when its PID is gone, or now belongs to a process that started later; alive on another host', () => {
    const me = thisProcess();
    record('00000000000000a1', { ...me }); // this very process
    record('00000000000000a2', { ...me, started: `${me.started}-reused` }); // the PID was reused
    record('00000000000000a3', { host: hostname(), pid: 2 ** 22 + 7, started: null }); // no such PID
    record('00000000000000a4', { host: `elsewhere-${ws.testId}`, pid: 2 ** 22 + 7, started: null }); // another host: unprovable
    record('00000000000000a5', { host: hostname(), pid: 2 ** 22 + 7, started: null }, '.json.tmp'); // killed before its first rename
    const dead = deadRuns({ stateDir: join(ws.dir, 'owners'), template: '/t.json', includeKept: true }).map((r) => r.run);
    expect(dead.sort()).toEqual(['00000000000000a2', '00000000000000a3', '00000000000000a5']);
  });
});
