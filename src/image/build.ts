// The build engine: runs prepared builds (parallel up to a limit), each through its builder and
// post-processor chains, emitting typed events (masked) and returning one result per build.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { EventSink } from '../core/events.js';
import { KilnError, errorMessage } from '../core/errors.js';
import type { PreparedBuild, LateContext } from './types.js';
import { buildUI, maskingSink, type Artifact, type BuildEvent } from './events.js';
import type { BuildCache } from './cache.js';
import type { AwsRuntime } from './builders/amazon-ebs-plan.js';
import { connectDocker, type DockerClient } from '../docker/client.js';
import { stateDir } from '../state/db.js';
import { BuildRun, deadRuns, sweepDeadRuns } from './debris.js';

interface RunBuildsOptions {
  /** Template path (recorded with cache rows). */
  template: string;
  builds: readonly PreparedBuild[];
  force?: boolean;
  onError?: 'cleanup' | 'abort';
  /** 0 = unlimited (Packer's default). */
  parallel?: number;
  /** The build cache, or `false` to build without one. Default: opened from `stateDir`. */
  cache?: BuildCache | false;
  stateDir?: string;
  events: EventSink<BuildEvent>;
  signal?: AbortSignal;
  /** Extra labels for every container and image kiln creates (tests: `kiln.test`). */
  labels?: Record<string, string>;
  runUuid?: string;
  /** AWS clients, clock and environment for amazon-ebs builds (default: kiln's own, from process.env). */
  aws?: AwsRuntime;
  /** The Docker engine docker builds and the docker post-processors work on (default: DOCKER_HOST's). */
  docker?: DockerClient;
  /** Masks sensitive values (the prepared builds' `variables.mask` by default). */
  mask?: (s: string) => string;
}

export interface BuildResult {
  build: string;
  type: string;
  ok: boolean;
  error?: string;
  /** Exit status a failed provisioner command returned, if that is why the build failed. */
  exitCode?: number;
  artifacts: Artifact[];
  /** The committed image (docker builds with `commit: true`). */
  imageId?: string;
  cached: boolean;
  key?: string;
  /** Provisioners that were not run again because an intermediate image held their result. */
  resumedFrom?: number;
  ms: number;
}

export async function runBuilds(opts: RunBuildsOptions): Promise<BuildResult[]> {
  const mask = opts.mask ?? ((s: string) => opts.builds[0]?.variables.mask(s) ?? s);
  const sink = maskingSink(opts.events, mask);
  const signal = opts.signal ?? new AbortController().signal;
  const runUuid = opts.runUuid ?? randomUUID();
  const docker = opts.docker ?? connectDocker();
  // Opened on first use only: a cache hit never needs the state database (nor loads its modules).
  let cache: (() => Promise<BuildCache>) | undefined;
  if (opts.cache !== false && opts.builds.some((b) => b.builder.type === 'docker')) {
    let opened: Promise<BuildCache> | undefined = opts.cache ? Promise.resolve(opts.cache) : undefined;
    cache = () =>
      (opened ??= (async () => {
        const { openState, stateDir } = await import('../state/db.js');
        const { BuildCache: Cache } = await import('./cache.js');
        return new Cache(openState(stateDir(opts.stateDir)));
      })());
  }
  const limit = opts.parallel && opts.parallel > 0 ? opts.parallel : opts.builds.length || 1;
  const results: BuildResult[] = new Array(opts.builds.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < opts.builds.length) {
      const i = next++;
      results[i] = await runOne(opts.builds[i]!, { ...opts, cache, runUuid, signal, docker }, sink, mask);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, opts.builds.length) }, worker));
  sink.emit({ kind: 'all-done', results: results.map((r) => ({ build: r.build, ok: r.ok, error: r.error, artifacts: r.artifacts })) });
  return results;
}

async function runOne(
  b: PreparedBuild,
  o: Omit<RunBuildsOptions, 'cache'> & { cache: (() => Promise<BuildCache>) | undefined; runUuid: string; signal: AbortSignal; docker: DockerClient },
  sink: EventSink<BuildEvent>,
  mask: (s: string) => string,
): Promise<BuildResult> {
  const t0 = Date.now();
  const ui = buildUI(sink, b.name);
  sink.emit({ kind: 'build-start', build: b.name, type: b.type });
  // Recorded before anything is made, so that a kill -9 leaves nothing the next build and `kiln gc` cannot find.
  const states = stateDir(o.stateDir);
  const run = BuildRun.start({ stateDir: states, template: o.template, build: b.name, builder: b.builder.type });
  if (run.warning) ui.message(`Warning: ${run.warning}`);
  await sweepEarlierRuns(states, o.template, o.cache, o.docker, ui);
  const tmp = run.makeDir(tmpdir(), 'kiln-run');
  let builderArtifact: Artifact | undefined;
  let cached = false;
  let key: string | undefined;
  let resumedFrom: number | undefined;
  let generated: LateContext = { PackerRunUUID: o.runUuid };
  try {
    const cfg = b.builder;
    switch (cfg.type) {
      case 'docker': {
        const benv = {
          ui,
          docker: o.docker,
          cache: o.cache,
          force: o.force ?? false,
          onError: o.onError ?? 'cleanup',
          signal: o.signal,
          template: o.template,
          runUuid: o.runUuid,
          labels: o.labels ?? {},
          stateDir: o.stateDir,
          run,
        } as const;
        // The plan (base image, keys, cache decision) is light; the builder proper loads only on a miss.
        const { planDockerBuild } = await import('./builders/docker-plan.js');
        const plan = await planDockerBuild(b, cfg, benv);
        const out = plan.hit ?? (await (await import('./builders/docker.js')).buildDocker(b, cfg, benv, plan));
        builderArtifact = out.artifact;
        cached = out.cached;
        key = out.key;
        resumedFrom = out.resumedFrom;
        generated = out.generated;
        if (key) sink.emit({ kind: 'cache', build: b.name, key, hit: cached, imageId: cfg.commit ? out.artifact.id : undefined, resumedFrom, total: b.provisioners.length });
        break;
      }
      case 'null': {
        const { runProvisioner } = await import('./provisioners/index.js');
        if (cfg.communicator !== 'none')
          ui.message(`The null builder's ${cfg.communicator} communicator is not available locally: provisioners that need a machine will fail (set "communicator": "none")`);
        for (const p of b.provisioners) await runProvisioner(p, { build: b, ui, generated, signal: o.signal, tmpDir: tmp });
        builderArtifact = { builderId: 'fnoeding.null', id: 'Null', files: [], string: 'Did not export anything. This is the null builder' };
        break;
      }
      case 'file': {
        const target = resolve(b.cwd, cfg.target);
        mkdirSync(dirname(target), { recursive: true });
        if (cfg.source) {
          ui.say(`Copying ${cfg.source} to ${target}`);
          copyFileSync(resolve(b.cwd, cfg.source), target);
        } else {
          ui.say(`Writing content to ${target}`);
          writeFileSync(target, cfg.content ?? '');
        }
        builderArtifact = { builderId: 'packer.file', id: target, files: [target], string: `Stored file: ${target}`, destroy: async () => rmSync(target, { force: true }) };
        break;
      }
      case 'amazon-ebs': {
        const benv = {
          ui,
          force: o.force ?? false,
          onError: o.onError ?? 'cleanup',
          signal: o.signal,
          template: o.template,
          runUuid: o.runUuid,
          labels: o.labels ?? {},
          stateDir: o.stateDir,
          tmpDir: tmp,
          ...(o.aws ? { aws: o.aws } : {}),
        } as const;
        // The plan (source AMI, key, one DescribeImages) is light; the builder proper loads only on a miss.
        const { planAmazonEbsBuild } = await import('./builders/amazon-ebs-plan.js');
        const plan = await planAmazonEbsBuild(b, cfg, benv);
        const out = plan.hit ?? (await (await import('./builders/amazon-ebs.js')).buildAmazonEbs(b, cfg, benv, plan));
        builderArtifact = out.artifact;
        cached = out.cached;
        key = out.key;
        generated = out.generated;
        if (key) sink.emit({ kind: 'cache', build: b.name, key, hit: cached, imageId: out.artifact.id, total: b.provisioners.length });
        break;
      }
    }
    const { runChains } = await import('./postprocessors/index.js');
    const chains = await runChains(builderArtifact!, b.postProcessors, { build: b, docker: o.docker, ui, generated, signal: o.signal, tmpDir: tmp, runUuid: o.runUuid, force: o.force ?? false });
    const ms = Date.now() - t0;
    const ok = chains.errors.length === 0;
    const error = ok ? undefined : chains.errors.join('\n');
    sink.emit({ kind: 'build-done', build: b.name, ok, ms, error, artifacts: chains.artifacts, cached });
    return { build: b.name, type: b.type, ok, error: error && mask(error), artifacts: chains.artifacts, imageId: imageIdOf(builderArtifact!), cached, key, resumedFrom, ms };
  } catch (e) {
    const ms = Date.now() - t0;
    const error = mask(errorMessage(e));
    const exitCode = KilnError.is(e) && e.exitCode !== 1 ? e.exitCode : undefined;
    sink.emit({ kind: 'build-done', build: b.name, ok: false, ms, error, artifacts: [], cached: false });
    return { build: b.name, type: b.type, ok: false, error, exitCode, artifacts: [], cached: false, key, ms };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    run.finish();
  }
}

/** What earlier builds of this template left when they were killed: removed (or, images, recorded), and said. */
async function sweepEarlierRuns(states: string, template: string, cache: (() => Promise<BuildCache>) | undefined, docker: DockerClient, ui: ReturnType<typeof buildUI>): Promise<void> {
  if (!deadRuns({ stateDir: states, template, includeKept: false }).length) return;
  try {
    // No wait: a dead run's commit still in flight is left for `kiln gc` (debris.ts).
    const actions = await sweepDeadRuns({ stateDir: states, docker, template, includeKept: false, commitWaitMs: 0, ...(cache ? { cache } : {}) });
    for (const a of actions) {
      const what = a.what === 'directory' ? `directory ${a.id}` : `${a.what} ${a.id.slice(0, 19)}`;
      const verb = a.verb === 'record' ? 'Recorded in the build cache' : 'Removed';
      ui.message(a.error ? `Could not clean up after a killed build: ${what} (${a.note}): ${a.error}` : `${verb} what a killed build left: ${what} (${a.note})`);
    }
  } catch (e) {
    ui.message(`Could not clean up after a killed build of this template: ${errorMessage(e)}`);
  }
}

function imageIdOf(a: Artifact): string | undefined {
  return a.builderId === 'packer.post-processor.docker-import' && a.id.startsWith('sha256:') ? a.id : undefined;
}
