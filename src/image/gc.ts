// `kiln gc`: removes images kiln made that nothing needs any more.
//
// Considered: images recorded in this state directory's build cache (only those: images of another
// state directory are not ours to judge). Kept:
//   1. per (template, build), the newest cached artifact — what the next `kiln build` reuses;
//   2. every image a recorded stack deployment names (`deployments.images`), including earlier
//      deployments, so `kiln rollback` can still redeploy them;
//   3. images that carry a repository tag (a name someone can still use: untag to release them);
//   4. images the engine refuses to remove (a container uses them, or a kept image descends from
//      them): reported, not forced.
// Removed: every intermediate image and every older artifact. Their cache rows go with them, so the
// next build of an old template version simply builds again.
//
// First, what killed builds of this state directory left (debris.ts): their build containers and
// temporary directories are removed, and the images they committed but had not recorded yet are
// recorded, so that the policy above judges them like the others.
import type { Db } from '../state/db.js';
import { LABELS, type DockerClient } from '../docker/client.js';
import { engineMessage } from '../docker/engine.js';
import type { BuildCache, CacheEntry } from './cache.js';
import { COMMIT_WAIT_MS, sweepDeadRuns, type SweepAction } from './debris.js';
import type { Clock } from '../core/clock.js';

export interface GcDecision {
  imageId: string;
  kind: CacheEntry['kind'];
  build: string;
  template: string;
  action: 'remove' | 'keep';
  reason: string;
}

interface GcResult {
  /** What dead runs left, removed or recorded (first). */
  swept: SweepAction[];
  decisions: GcDecision[];
  removed: string[];
  failed: Array<{ imageId: string; reason: string }>;
}

function deployedImages(db: Db): Set<string> {
  const out = new Set<string>();
  const has = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'deployments'").get();
  if (!has) return out;
  for (const r of db.prepare('SELECT images FROM deployments').all() as Array<{ images: string }>) {
    try {
      const v = JSON.parse(r.images) as unknown;
      const walk = (x: unknown): void => {
        if (typeof x === 'string') out.add(x);
        else if (Array.isArray(x)) x.forEach(walk);
        else if (x && typeof x === 'object') Object.values(x).forEach(walk);
      };
      walk(v);
    } catch {
      /* unreadable row: keeps nothing extra */
    }
  }
  return out;
}

export async function planGc(db: Db, cache: BuildCache, docker: DockerClient): Promise<GcDecision[]> {
  const entries = cache.all();
  const newest = new Map<string, CacheEntry>();
  for (const e of entries) {
    if (e.kind !== 'artifact') continue;
    const k = `${e.template}\0${e.build}`;
    const cur = newest.get(k);
    if (!cur || e.createdAt >= cur.createdAt) newest.set(k, e);
  }
  const keepIds = new Set([...newest.values()].map((e) => e.imageId));
  const deployed = deployedImages(db);
  const decisions: GcDecision[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.imageId)) continue;
    seen.add(e.imageId);
    const base = { imageId: e.imageId, kind: e.kind, build: e.build, template: e.template };
    const info = await docker.inspectImage(e.imageId);
    if (!info || info.Config?.Labels?.[LABELS.managed] !== 'true') {
      decisions.push({ ...base, action: 'remove', reason: 'already gone from Docker (cache row dropped)' });
      continue;
    }
    if (keepIds.has(e.imageId)) decisions.push({ ...base, action: 'keep', reason: 'newest artifact of its build' });
    else if (deployed.has(e.imageId) || [...(info.RepoTags ?? [])].some((t) => deployed.has(t))) decisions.push({ ...base, action: 'keep', reason: 'used by a stack deployment' });
    else if ((info.RepoTags ?? []).some((t) => t !== '<none>:<none>')) decisions.push({ ...base, action: 'keep', reason: `tagged ${(info.RepoTags ?? []).join(', ')}` });
    else decisions.push({ ...base, action: 'remove', reason: e.kind === 'intermediate' ? 'intermediate image' : 'superseded artifact' });
  }
  return decisions;
}

export async function runGc(db: Db, cache: BuildCache, docker: DockerClient, opts: { dryRun: boolean; stateDir?: string; clock?: Clock }): Promise<GcResult> {
  // gc, unlike a build starting, waits for a dead run's commit still in flight (debris.ts).
  const swept = opts.stateDir
    ? await sweepDeadRuns({
        stateDir: opts.stateDir,
        docker,
        includeKept: true,
        cache: async () => cache,
        dryRun: opts.dryRun,
        commitWaitMs: COMMIT_WAIT_MS,
        ...(opts.clock ? { clock: opts.clock } : {}),
      })
    : [];
  const decisions = await planGc(db, cache, docker);
  const removed: string[] = [];
  const failed: GcResult['failed'] = [];
  if (opts.dryRun) return { swept, decisions, removed, failed };
  // Newest first: children before the images they were committed from.
  const order = decisions.filter((d) => d.action === 'remove');
  const created = new Map(cache.all().map((e) => [e.imageId, e.createdAt]));
  order.sort((a, b) => (created.get(b.imageId) ?? 0) - (created.get(a.imageId) ?? 0));
  for (const d of order) {
    const r = await docker.engine.removeImage(d.imageId);
    if (r.status === 200 || r.status === 404) {
      removed.push(d.imageId);
      for (const e of cache.all()) if (e.imageId === d.imageId) cache.delete(e.key);
    } else failed.push({ imageId: d.imageId, reason: engineMessage(r) });
  }
  return { swept, decisions, removed, failed };
}
