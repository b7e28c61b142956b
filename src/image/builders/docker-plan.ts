// The cheap half of the docker builder: base image, build keys and the cache decision. A cache hit
// ends here, so this module loads nothing heavy (no dockerode, no communicator, no provisioners).
import { KilnError } from '../../core/errors.js';
import { LABELS, type DockerClient } from '../../docker/client.js';
import type { DockerBuilderConfig, LateContext, PreparedBuild } from '../types.js';
import type { Artifact, BuildUI } from '../events.js';
import type { BuildCache } from '../cache.js';
import type { BuildRun } from '../debris.js';
import { ensureBaseImage } from '../base.js';
import { dockerKeyChain, redactorFor, type KeyChain } from '../key.js';

export const DOCKER_COMMIT_BUILDER_ID = 'packer.post-processor.docker-import';
export const DOCKER_BUILDER_ID = 'packer.docker';

export interface BuilderEnv {
  ui: BuildUI;
  /**
   * The build cache (opened on first use: a cache hit is answered by the engine alone, see
   * `planDockerBuild`); undefined = build without caching (nothing read, nothing recorded).
   */
  cache?: () => Promise<BuildCache>;
  force: boolean;
  onError: 'cleanup' | 'abort';
  signal: AbortSignal;
  /** kiln's state directory (the salt for keys of templates with secrets lives there). */
  stateDir?: string;
  /** Template path, recorded with cache rows. */
  template: string;
  runUuid: string;
  /** Extra labels for every container and image (tests put `kiln.test` here). */
  labels: Record<string, string>;
  /** The recorded run: names the temporary directory, labels the container and the images. */
  run?: BuildRun;
}

export interface DockerBuilderEnv extends BuilderEnv {
  /** The engine the build runs on (and whose images answer the cache). */
  docker: DockerClient;
}

export interface BuilderOutcome {
  artifact: Artifact;
  cached: boolean;
  key?: string;
  /** Provisioners skipped because an intermediate image held their result. */
  resumedFrom?: number;
  generated: LateContext;
}

export function commitArtifact(imageId: string): Artifact {
  // The committed image is the build cache: kiln never deletes it when a post-processor does not
  // keep it (Packer would `docker rmi` it); `kiln gc` removes it once nothing refers to it.
  return { builderId: DOCKER_COMMIT_BUILDER_ID, id: imageId, files: [], string: `Imported Docker image: ${imageId}` };
}

export interface DockerPlan {
  keys: KeyChain;
  /** Image the build container starts from: the base image ID or the deepest usable intermediate. */
  start: string;
  /** Provisioners whose result `start` already holds. */
  resumed: number;
  generated: LateContext;
  /** Set on a cache hit: the whole build is done. */
  hit?: BuilderOutcome;
}

/**
 * Images kiln built, by build key, straight from the engine (one request). The final and the
 * intermediate images carry `kiln.build=<key>`; since a key is a content hash of everything that
 * shapes the image, an image with the key IS the result, whichever state directory recorded it.
 */
async function imagesByKey(docker: DockerClient, kind: 'artifact' | 'intermediate', keys?: string[]): Promise<Map<string, string>> {
  const labels: Record<string, string> = { [LABELS.managed]: 'true', [LABELS.kind]: kind };
  if (keys?.length === 1) labels[LABELS.build] = keys[0]!;
  const out = new Map<string, string>();
  for (const img of await docker.engine.listImages(labels)) {
    const k = img.Labels?.[LABELS.build];
    if (k && !out.has(k)) out.set(k, img.Id);
  }
  return out;
}

/** A state row whose image is gone: drop it and say so. */
function forgetStale(cache: BuildCache, key: string, ui: BuildUI, what: string): void {
  const e = cache.get(key);
  if (!e) return;
  cache.delete(key);
  ui.message(`The cached ${what} ${e.imageId.slice(0, 19)} is gone from Docker: building it again`);
}

export async function planDockerBuild(build: PreparedBuild, cfg: DockerBuilderConfig, env: DockerBuilderEnv): Promise<DockerPlan> {
  const { ui } = env;
  if (cfg.windowsContainer) throw new KilnError('UNSUPPORTED', `build '${build.name}': windows_container is not supported by kiln's docker builder`);
  if (cfg.communicator !== 'docker' && cfg.communicator !== '')
    throw new KilnError('UNSUPPORTED', `build '${build.name}': communicator "${cfg.communicator}" is not supported with the docker builder (use the default "docker")`);
  const base = await ensureBaseImage(env.docker, cfg.image, { pull: cfg.pull, say: (t) => ui.say(t) });
  const keys: KeyChain = dockerKeyChain(build, cfg, base.id, undefined, env.labels, await redactorFor(build, env.stateDir));
  const n = build.provisioners.length;
  const generated: LateContext = {
    ID: '',
    ConnType: 'docker',
    Host: '',
    Port: '',
    User: '',
    Password: '',
    PackerRunUUID: env.runUuid,
    PackerHTTPIP: '',
    PackerHTTPPort: '',
    PackerHTTPAddr: '',
    SSHPublicKey: '',
    SSHPrivateKey: '',
    WinRMPassword: '',
  };

  // 1. The whole build is cached: one engine request, no state database on this path.
  if (env.cache && !env.force && cfg.commit) {
    const id = (await imagesByKey(env.docker, 'artifact', [keys.final])).get(keys.final);
    if (id) {
      generated.ImageSha256 = id;
      ui.say(`Reusing the cached image ${id} (build key ${keys.final.slice(0, 12)}): the template, its files and the base image are unchanged, nothing to bake (-force rebuilds)`);
      return { keys, start: id, resumed: n, generated, hit: { artifact: commitArtifact(id), cached: true, key: keys.final, resumedFrom: n, generated } };
    }
    forgetStale(await env.cache(), keys.final, ui, 'image');
  }
  // 2. The deepest intermediate image whose steps are unchanged.
  let start = base.id;
  let resumed = 0;
  if (env.cache && !env.force && n > 0) {
    const found = await imagesByKey(env.docker, 'intermediate');
    const cache = await env.cache();
    for (let k = n; k >= 1; k--) {
      const key = keys.steps[k - 1]!;
      const id = found.get(key);
      if (id) {
        start = id;
        resumed = k;
        break;
      }
      forgetStale(cache, key, ui, 'intermediate image');
    }
  }
  if (resumed > 0)
    ui.say(
      `Resuming from the cached state after provisioner ${resumed} of ${n} (${start.slice(0, 19)}): ${resumed === 1 ? 'provisioner 1 is' : `provisioners 1-${resumed} are`} unchanged and ${resumed === 1 ? 'is' : 'are'} not run again`,
    );

  return { keys, start, resumed, generated };
}
