// The build cache as the builds page shows it: every image the cache recorded, grouped by template
// and build, with its build key, size and tags from the engine, which provisioner steps a build
// reused, and what `kiln gc` would do with it (its own decision function, run without removing).
//
// Steps reused: a docker build runs every provisioner not yet cached in one container started from
// the last cached step (or the base image), and commits from it; so an artifact's parent image is
// the cached step it resumed after. Parent = the intermediate of step k: steps 1..k+1 came from the
// cache; parent = anything else (the base image): every step ran.
import type { Db } from '../state/db.js';
import type { DockerClient } from '../docker/client.js';
import type { BuildCache, CacheEntry } from '../image/cache.js';
import type { GcDecision } from '../image/gc.js';
import { errorMessage } from '../core/errors.js';

interface BuildImage {
  entry: CacheEntry;
  size?: number;
  tags: string[];
  /** Artifacts: how many leading provisioner steps came from the cache (0: all ran). */
  reusedSteps?: number;
  /** False when the engine no longer has the image. */
  present: boolean;
  gc?: Pick<GcDecision, 'action' | 'reason'>;
}

interface BuildGroup {
  template: string;
  build: string;
  images: BuildImage[];
}

export interface BuildsView {
  groups: BuildGroup[];
  /** Why the engine could not be asked (sizes, tags and gc unknown then). */
  engineError?: string;
  /** What `kiln gc` would free: the bytes of the layers each image it removes adds to its parent
   *  (an image's size counts its base's layers too, which stay as long as anything else uses them). */
  reclaimable: number;
}

type Inspected = { Size?: number; Parent?: string; RepoTags?: string[] | null };

export async function buildsView(db: Db, cache: BuildCache, docker: DockerClient): Promise<BuildsView> {
  const { planGc } = await import('../image/gc.js');
  const entries = cache.all();
  const info = new Map<string, Inspected | undefined>();
  let engineError: string | undefined;
  try {
    for (const id of new Set(entries.map((e) => e.imageId))) info.set(id, (await docker.inspectImage(id)) as Inspected | undefined);
  } catch (e) {
    engineError = errorMessage(e);
  }
  let decisions: GcDecision[] = [];
  if (!engineError) {
    try {
      decisions = await planGc(db, cache, docker);
    } catch (e) {
      engineError = errorMessage(e);
    }
  }
  // The size of an image's parent (its base or the cached step it was committed on), asked once each.
  const parents = new Map<string, Promise<number>>();
  const parentSize = (id: string | undefined): Promise<number> => {
    if (!id) return Promise.resolve(0);
    const known = info.get(id)?.Size;
    if (known !== undefined) return Promise.resolve(known);
    if (!parents.has(id))
      parents.set(
        id,
        docker.inspectImage(id).then(
          (x) => (x as Inspected | undefined)?.Size ?? 0,
          () => 0,
        ),
      );
    return parents.get(id)!;
  };
  const stepOf = new Map(entries.filter((e) => e.kind === 'intermediate').map((e) => [e.imageId, e.step]));
  const groups = new Map<string, BuildGroup>();
  let reclaimable = 0;
  for (const e of [...entries].sort((a, b) => b.createdAt - a.createdAt)) {
    const k = `${e.template}\0${e.build}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { template: e.template, build: e.build, images: [] }));
    const i = info.get(e.imageId);
    const d = decisions.find((x) => x.imageId === e.imageId);
    const img: BuildImage = { entry: e, tags: (i?.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), present: engineError ? true : i !== undefined };
    if (i?.Size !== undefined) img.size = i.Size;
    if (e.kind === 'artifact' && i) {
      const parentStep = i.Parent ? stepOf.get(i.Parent) : undefined;
      img.reusedSteps = parentStep === undefined ? 0 : parentStep + 1;
    }
    if (d) {
      img.gc = { action: d.action, reason: d.reason };
      if (d.action === 'remove' && img.present) reclaimable += Math.max(0, (img.size ?? 0) - (await parentSize(i?.Parent)));
    }
    g.images.push(img);
  }
  return { groups: [...groups.values()], ...(engineError ? { engineError } : {}), reclaimable };
}
