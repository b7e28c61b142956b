// What a killed build leaves behind, and how the next build and `kiln gc` find it.
//
// Every build attempt (one build of one `kiln build` process) is recorded before it creates
// anything: `<state dir>/build-runs/<run>.json` names the run, the template and build it belongs
// to, the process that owns it (host, PID and process start time, as locks do: state/locks.ts) and
// the directories it makes. What it creates carries the run:
//   - build containers and intermediate images: labels kiln.run, kiln.host, kiln.pid, kiln.started
//     (images also kiln.step, so that one the cache did not record yet can be recorded); the final
//     image has them blank (it is the same result whichever run made it);
//   - temporary directories: named `<prefix>-<run>`, with `kiln-owner.json` inside.
// The final image carries no run, so the record names the cache key of each final image the run is
// committing (`committing`, written before the commit is asked for, cleared once the image is in
// the build cache): a run killed between the two left an image only that key finds.
// A run that ends removes its record. It stays when a cleanup failed (so what is left is found once
// the process is gone) and is marked kept with -on-error=abort (leftovers kept for inspection).
//
// A record whose owner is provably gone (same host; no such PID, or another process under it) is a
// dead run, and sweeping it:
//   - removes its build containers, once no commit of them is in flight: the engine finishes a
//     commit its client asked for even when the client is killed (the container stays paused
//     meanwhile), and an image that appeared after the sweep listed them would be lost;
//   - then, its images: those labelled with the run, and the final images of the keys it was
//     committing that the cache does not hold (unless a live run is committing the same key);
//   - removes its directories;
//   - records its intermediate images in the build cache: a commit is atomic and comes after a
//     provisioner succeeded, so each is a complete result (the next build resumes from it; `kiln gc`'s policy
//     judges it like any other). One whose key the cache holds with another image is a duplicate,
//     and is removed.
// The next build of a template sweeps the dead runs of that template (not those kept for
// inspection) without waiting: a container still paused by a commit is left, with its run's record,
// for a later sweep. `kiln gc` sweeps every dead run of its state directory, and waits (up to
// COMMIT_WAIT_MS, on the injected clock) for such a commit to land. A live run is never touched:
// its owner is alive, or on another host where nothing can be proven.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, rmdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import { LABELS, type DockerClient } from '../docker/client.js';
import { engineMessage } from '../docker/engine.js';
import { ownerGone, processStart, type ProcessOwner } from '../state/locks.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { BuildCache, CacheKind } from './cache.js';

/** Labels naming the run (and its process) on every build container and committed image. */
const RUN_LABELS = { run: 'kiln.run', host: 'kiln.host', pid: 'kiln.pid', started: 'kiln.started', step: 'kiln.step' } as const;

/** The marker file inside every temporary directory a run makes. */
const OWNER_FILE = 'kiln-owner.json';

export interface RunRecord {
  run: string;
  /** Template path, as the build cache records it. */
  template: string;
  build: string;
  /** Builder type: only docker runs have containers and images to look for. */
  builder: string;
  owner: ProcessOwner;
  since: string;
  /** Directories the run makes (recorded before each is made). */
  dirs: string[];
  /** Set with -on-error=abort: what is left is kept for inspection; only `kiln gc` removes it. */
  kept?: string;
  /** Cache keys of the final images (which carry no run label) being committed and not yet recorded. */
  committing?: string[];
}

let self: ProcessOwner | undefined;

/** This process, as a record names it. */
export function thisProcess(): ProcessOwner {
  return (self ??= { host: hostname(), pid: process.pid, started: processStart(process.pid) ?? null });
}

export function runsDir(stateDir: string): string {
  return join(stateDir, 'build-runs');
}

/** One build attempt's record and the names of what it creates. */
export class BuildRun {
  /** Why the record could not be written (the run then goes untracked), if it could not. */
  readonly warning?: string;
  private leftovers = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly rec: RunRecord,
    warning?: string,
  ) {
    if (warning) this.warning = warning;
  }

  /** Records a new run in `stateDir` before it creates anything. Never throws: an unwritable state
   * directory leaves the run untracked (and says so in `warning`). */
  static start(o: { stateDir: string | undefined; template: string; build: string; builder: string }): BuildRun {
    const rec: RunRecord = {
      run: randomBytes(8).toString('hex'),
      template: o.template,
      build: o.build,
      builder: o.builder,
      owner: thisProcess(),
      since: new Date().toISOString(),
      dirs: [],
    };
    if (!o.stateDir) return new BuildRun(undefined, rec);
    const file = join(runsDir(o.stateDir), `${rec.run}.json`);
    try {
      mkdirSync(runsDir(o.stateDir), { recursive: true });
      const run = new BuildRun(file, rec);
      run.save();
      return run;
    } catch (e) {
      return new BuildRun(undefined, rec, `could not record the build run in ${runsDir(o.stateDir)} (${errorMessage(e)}): if this build is killed, what it leaves is not found by \`kiln gc\``);
    }
  }

  get id(): string {
    return this.rec.run;
  }

  /** The run labels blanked: the final image is the build's result, the same whichever run made it
   * (it would otherwise inherit them from the build container, and pass them on to every container
   * started from it). */
  static blankLabels(): Record<string, string> {
    return Object.fromEntries(Object.values(RUN_LABELS).map((k) => [k, '']));
  }

  /** Labels for a build container or an intermediate image this run commits. */
  labels(step?: number): Record<string, string> {
    const o = this.rec.owner;
    return {
      [RUN_LABELS.run]: this.rec.run,
      [RUN_LABELS.host]: o.host,
      [RUN_LABELS.pid]: String(o.pid),
      [RUN_LABELS.started]: o.started ?? '',
      ...(step === undefined ? {} : { [RUN_LABELS.step]: String(step) }),
    };
  }

  /** Makes `<base>/<prefix>-<run>`: recorded first, then made, then marked with its owner. */
  makeDir(base: string, prefix: string): string {
    const dir = join(resolve(base), `${prefix}-${this.rec.run}`);
    this.rec.dirs.push(dir);
    if (this.file) this.save();
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ run: this.rec.run, ...this.rec.owner }) + '\n');
    return dir;
  }

  /** -on-error=abort: what the run leaves stays for inspection (`kiln gc` removes it later). */
  keep(reason: string): void {
    this.rec.kept = reason;
    if (this.file) this.trySave();
  }

  /** Before asking the engine to commit the final image of `key` (it carries no run label): a kill
   * from here on leaves an image only this key finds. */
  committing(key: string): void {
    this.rec.committing = [...(this.rec.committing ?? []).filter((k) => k !== key), key];
    if (this.file) this.trySave();
  }

  /** The final image of `key` is in the build cache. */
  committed(key: string): void {
    if (!this.rec.committing?.includes(key)) return;
    this.rec.committing = this.rec.committing.filter((k) => k !== key);
    if (!this.rec.committing.length) delete this.rec.committing;
    if (this.file) this.trySave();
  }

  /** A cleanup failed: the record stays, so that what is left is found once this process is gone. */
  cleanupFailed(): void {
    this.leftovers = true;
  }

  /** The run ended: its record goes, unless something was left on purpose or by a failed cleanup. */
  finish(): void {
    if (!this.file || this.rec.kept || this.leftovers) return;
    rmSync(this.file, { force: true });
  }

  private save(): void {
    // Written whole, then renamed over: a kill never leaves half a record.
    const tmp = `${this.file!}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.rec) + '\n');
    renameSync(tmp, this.file!);
  }

  private trySave(): void {
    try {
      this.save();
    } catch {
      /* the record as it was: the leftovers are then swept as a dead run's */
    }
  }
}

function parseRecord(text: string): RunRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<RunRecord>;
    const o = r.owner as Partial<ProcessOwner> | undefined;
    if (typeof r.run !== 'string' || !/^[0-9a-f]{16}$/.test(r.run) || typeof r.template !== 'string' || !o || typeof o.pid !== 'number' || typeof o.host !== 'string') return undefined;
    if (!Array.isArray(r.dirs) || !r.dirs.every((d) => typeof d === 'string')) return undefined;
    const committing = Array.isArray(r.committing) ? r.committing.filter((k): k is string => typeof k === 'string' && k.length > 0 && k.length <= 200) : undefined;
    const { committing: _, ...rest } = r as RunRecord;
    return { ...rest, ...(committing?.length ? { committing } : {}), owner: { host: o.host, pid: o.pid, started: typeof o.started === 'string' ? o.started : null } };
  } catch {
    return undefined;
  }
}

/** The recorded runs of a state directory (unreadable records are skipped). */
export function readRuns(stateDir: string): RunRecord[] {
  let names: string[];
  try {
    names = readdirSync(runsDir(stateDir));
  } catch {
    return [];
  }
  const out: RunRecord[] = [];
  for (const n of names) {
    // A `.json.tmp` alone: the process died between writing its first record and renaming it.
    const name = n.endsWith('.json.tmp') && !names.includes(n.slice(0, -4)) ? n.slice(0, -4) : n;
    if (!name.endsWith('.json')) continue;
    try {
      const r = parseRecord(readFileSync(join(runsDir(stateDir), n), 'utf8'));
      if (r && `${r.run}.json` === name) out.push(r);
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

export interface SweepAction {
  run: string;
  verb: 'remove' | 'record';
  what: 'container' | 'directory' | 'image';
  id: string;
  note: string;
  /** Set when the action failed (the run's record then stays for the next sweep). */
  error?: string;
}

export interface SweepOptions {
  stateDir: string;
  /** The Docker engine the runs' containers and images are on. */
  docker: DockerClient;
  /** Only the runs of this template (the next build); all runs when absent (`kiln gc`). */
  template?: string;
  /** Sweep runs kept for inspection (-on-error=abort) too: `kiln gc` does, the next build does not. */
  includeKept: boolean;
  /** The build cache the runs recorded their images in (images are left alone without one). */
  cache?: () => Promise<BuildCache>;
  dryRun?: boolean;
  /** This host's name (tests). */
  host?: string;
  /** How long to wait for a dead run's commit in flight (its container paused) to land: 0 (the
   * default, a build starting) leaves such a run for a later sweep; `kiln gc` waits COMMIT_WAIT_MS. */
  commitWaitMs?: number;
  /** Time, for that wait (tests pass their own). */
  clock?: Clock;
}

/** The dead runs a sweep with these options would take (cheap: reads the record directory only). */
export function deadRuns(o: Pick<SweepOptions, 'stateDir' | 'template' | 'includeKept' | 'host'>): RunRecord[] {
  const host = o.host ?? hostname();
  const template = o.template === undefined ? undefined : resolve(o.template);
  return readRuns(o.stateDir).filter((r) => (template === undefined || resolve(r.template) === template) && (o.includeKept || !r.kept) && ownerGone(r.owner, host));
}

interface Listed {
  Id: string;
  Labels?: Record<string, string> | null;
  Created?: number | string;
}

async function listLabelled(docker: DockerClient, what: 'containers' | 'images', labels: string[]): Promise<Listed[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: labels }));
  const r = await docker.engine.request('GET', `/${what}/json?all=1&filters=${filters}`);
  if (r.status !== 200) throw new Error(`listing ${what}: HTTP ${r.status} ${r.body.toString('utf8').trim()}`);
  return JSON.parse(r.body.toString('utf8')) as Listed[];
}

const describe = (r: RunRecord): string => `run ${r.run.slice(0, 8)} of pid ${r.owner.pid}${r.kept ? `, kept: ${r.kept}` : ''}, gone`;

/** Removes (or records) what dead runs left; returns what it did, in order. */
export async function sweepDeadRuns(o: SweepOptions): Promise<SweepAction[]> {
  const actions: SweepAction[] = [];
  for (const r of deadRuns(o)) {
    const mine: SweepAction[] = [];
    const act = async (a: Omit<SweepAction, 'run'>, doIt: () => Promise<void> | void): Promise<void> => {
      const action: SweepAction = { run: r.run, ...a };
      mine.push(action);
      if (o.dryRun) return;
      try {
        await doIt();
      } catch (e) {
        action.error = errorMessage(e);
      }
    };
    let settled = true;
    if (r.builder === 'docker') {
      try {
        settled = await sweepEngine(r, o, act);
      } catch (e) {
        mine.push({ run: r.run, verb: 'remove', what: 'container', id: '?', note: describe(r), error: errorMessage(e) });
      }
    }
    for (const dir of r.dirs) {
      if (!existsSync(dir)) continue;
      const marker = readMarker(dir);
      // A directory another run marked is not this run's (its name holds the run: never expected).
      if (marker && marker !== r.run) continue;
      await act({ verb: 'remove', what: 'directory', id: dir, note: describe(r) }, () => rmSync(dir, { recursive: true, force: true }));
    }
    actions.push(...mine);
    // Forgotten only once all it left is gone (or recorded): the record is how it is found.
    if (!o.dryRun && settled && !mine.some((a) => a.error)) {
      rmSync(join(runsDir(o.stateDir), `${r.run}.json`), { force: true });
      rmSync(join(runsDir(o.stateDir), `${r.run}.json.tmp`), { force: true });
    }
  }
  if (!o.dryRun) {
    try {
      rmdirSync(runsDir(o.stateDir)); // only when empty: an empty state directory stays as it was
    } catch {
      /* not empty, or not there */
    }
  }
  return actions;
}

function readMarker(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { run?: string }).run;
  } catch {
    return undefined;
  }
}

/** How long `kiln gc` waits for a dead run's commit to end before it leaves the run for a later sweep. */
export const COMMIT_WAIT_MS = 60_000;

/** Waits while the container is paused (the engine pauses it for a commit in flight); false when it
 * still is after `waitMs` (at once when 0). Gone counts as settled. */
async function commitSettled(docker: DockerClient, id: string, waitMs: number, clock: Clock): Promise<boolean> {
  const deadline = clock.now() + waitMs;
  for (;;) {
    const r = await docker.engine.request('GET', `/containers/${id}/json`);
    if (r.status === 404) return true;
    if (r.status !== 200) throw new Error(`inspecting container ${id.slice(0, 12)}: HTTP ${r.status} ${engineMessage(r)}`);
    const state = (JSON.parse(r.body.toString('utf8')) as { State?: { Paused?: boolean } }).State;
    if (!state?.Paused) return true;
    if (clock.now() >= deadline) return false;
    await clock.sleep(100);
  }
}

/** Sweeps the run's containers and images; false when the record must stay (something is still in
 * flight, or a live run shares a key the run was committing). */
async function sweepEngine(r: RunRecord, o: SweepOptions, act: (a: Omit<SweepAction, 'run'>, doIt: () => Promise<void> | void) => Promise<void>): Promise<boolean> {
  const runLabel = `${RUN_LABELS.run}=${r.run}`;
  // Build containers only: a container started from a committed image inherits its labels.
  for (const c of await listLabelled(o.docker, 'containers', [runLabel, `${LABELS.kind}=build-container`])) {
    await act({ verb: 'remove', what: 'container', id: c.Id, note: describe(r) }, async () => {
      // Removing it mid-commit would not stop the image from appearing after the listing below.
      const wait = o.commitWaitMs ?? 0;
      if (!(await commitSettled(o.docker, c.Id, wait, o.clock ?? systemClock)))
        throw new Error(wait ? `still paused by a commit after ${Math.round(wait / 1000)} s: left for a later sweep` : 'paused by a commit in flight: left for `kiln gc`, which waits for it');
      const res = await o.docker.engine.request('DELETE', `/containers/${c.Id}?force=1&v=1`);
      if (res.status !== 204 && res.status !== 404) throw new Error(`HTTP ${res.status} ${engineMessage(res)}`);
    });
  }
  if (!o.cache) return true;
  // Listed once no commit of the run can still be in flight (its containers are gone).
  const images = await listLabelled(o.docker, 'images', [runLabel, `${LABELS.managed}=true`]);
  const finals: Listed[] = [];
  for (const key of r.committing ?? [])
    for (const img of await listLabelled(o.docker, 'images', [`${LABELS.managed}=true`, `${LABELS.kind}=artifact`, `${LABELS.build}=${key}`]))
      if (!img.Labels?.[RUN_LABELS.run] && !images.some((i) => i.Id === img.Id) && !finals.some((i) => i.Id === img.Id)) finals.push(img);
  // A live run committing the same key may own one of those images and record it any moment: the
  // records are read after the listing, and the cache after the records (a run records its image
  // in the cache before it clears the key), so such an image is never taken for a duplicate.
  const busy = new Set(
    readRuns(o.stateDir)
      .filter((x) => x.run !== r.run && !ownerGone(x.owner, o.host ?? hostname()))
      .flatMap((x) => x.committing ?? []),
  );
  let settled = true;
  const mine = [
    ...images,
    ...finals.filter((img) => {
      if (!busy.has(img.Labels?.[LABELS.build] ?? '')) return true;
      settled = false;
      return false;
    }),
  ];
  if (!mine.length) return settled;
  const cache = await o.cache();
  // Newest first, so that a duplicate child goes before its parent.
  mine.sort((a, b) => Number(b.Created ?? 0) - Number(a.Created ?? 0));
  for (const img of mine) {
    const labels = img.Labels ?? {};
    const key = labels[LABELS.build];
    const kind = labels[LABELS.kind] as CacheKind | undefined;
    if (!key || (kind !== 'artifact' && kind !== 'intermediate')) continue;
    const row = cache.get(key);
    if (row?.imageId === img.Id) continue;
    if (row) {
      await act({ verb: 'remove', what: 'image', id: img.Id, note: `${kind}, a duplicate of ${row.imageId.slice(0, 19)}; ${describe(r)}` }, async () => {
        const res = await o.docker.engine.request('DELETE', `/images/${encodeURIComponent(img.Id)}?noprune=0`);
        if (res.status !== 200 && res.status !== 404) throw new Error(engineMessage(res));
      });
      continue;
    }
    const step = kind === 'artifact' ? -1 : Number(labels[RUN_LABELS.step] ?? -1);
    const createdAt = typeof img.Created === 'number' ? img.Created * 1000 : Date.now();
    await act({ verb: 'record', what: 'image', id: img.Id, note: `${kind} of ${r.build}, committed before the run died; ${describe(r)}` }, () =>
      cache.put({ key, kind, imageId: img.Id, template: r.template, build: r.build, step: Number.isInteger(step) ? step : -1, createdAt }),
    );
  }
  return settled;
}
