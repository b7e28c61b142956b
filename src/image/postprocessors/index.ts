// Post-processors and their chains (reference §4.2–4.4, §9). Every chain starts from the builder
// artifact; within a chain each step's output feeds the next. `skip` (the element's own only/except)
// skips just that element; `stopChain` (CLI -except) stops the rest of the chain.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync, appendFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { KilnError, errorMessage } from '../../core/errors.js';
import type { Artifact, BuildUI } from '../events.js';
import type { ChecksumConfig, DockerImportConfig, DockerSaveConfig, DockerTagConfig, LateContext, ManifestConfig, PreparedBuild, PreparedPostProcessor } from '../types.js';
import type { DockerClient } from '../../docker/client.js';

const DOCKER_IMPORT_ID = 'packer.post-processor.docker-import';
const DOCKER_TAG_ID = 'packer.post-processor.docker-tag';
export const DOCKER_BUILDER_ID = 'packer.docker';
const CHECKSUM_ID = 'packer.post-processor.checksum';

interface PPContext {
  build: PreparedBuild;
  /** The engine the docker post-processors work on. */
  docker: DockerClient;
  ui: BuildUI;
  generated: LateContext;
  signal: AbortSignal;
  tmpDir: string;
  runUuid: string;
  force: boolean;
}

interface PPResult {
  artifact?: Artifact;
  keep: boolean;
  forceOverride: boolean;
}

async function dockerTag(c: DockerTagConfig, input: Artifact, ctx: PPContext): Promise<PPResult> {
  if (input.builderId !== DOCKER_IMPORT_ID && input.builderId !== DOCKER_TAG_ID) {
    throw new KilnError('PP_ARTIFACT', `Unknown artifact type: ${input.builderId}\nCan only tag from Docker builder artifacts.`);
  }
  ctx.ui.message(`Tagging image: ${input.id}`);
  const tags = c.tags.length ? c.tags : [undefined];
  const refs: string[] = [];
  for (const t of tags) {
    const ref = t ? `${c.repository}:${t}` : c.repository;
    ctx.ui.message(`Repository: ${ref}`);
    await ctx.docker.engine.tagImage(input.id, c.repository, t);
    refs.push(ref);
  }
  const last = refs[refs.length - 1]!;
  return { artifact: { builderId: DOCKER_TAG_ID, id: last, files: [], string: `Imported Docker image: ${last}`, state: { docker_tags: refs } }, keep: true, forceOverride: true };
}

async function dockerImport(c: DockerImportConfig, input: Artifact, ctx: PPContext): Promise<PPResult> {
  if (input.builderId !== DOCKER_BUILDER_ID || !input.files[0])
    throw new KilnError('PP_ARTIFACT', `Unknown artifact type: ${input.builderId}\nCan only import from docker builder artifacts (export_path).`);
  const ref = c.tag ? `${c.repository}:${c.tag}` : c.repository;
  ctx.ui.message(`Importing image: ${input.files[0]}`);
  ctx.ui.message(`Repository: ${ref}`);
  const r = await ctx.docker.engine.importImage(createReadStream(input.files[0]), { repo: c.repository, ...(c.tag ? { tag: c.tag } : {}), changes: c.changes });
  const body = r.body.toString('utf8');
  if (r.status !== 200 || /"error"/.test(body)) throw new KilnError('PP_DOCKER_IMPORT', `docker-import: HTTP ${r.status} ${body.trim()}`);
  const m = /"status":"(sha256:[0-9a-f]+)"/.exec(body);
  ctx.ui.message(`Imported ID: ${m?.[1] ?? ref}`);
  return { artifact: { builderId: DOCKER_IMPORT_ID, id: ref, files: [], string: `Imported Docker image: ${ref}` }, keep: false, forceOverride: false };
}

async function dockerSave(c: DockerSaveConfig, input: Artifact, ctx: PPContext): Promise<PPResult> {
  if (input.builderId !== DOCKER_IMPORT_ID && input.builderId !== DOCKER_TAG_ID) {
    throw new KilnError('PP_ARTIFACT', `Unknown artifact type: ${input.builderId}\nCan only save Docker builder artifacts.`);
  }
  const path = resolve(ctx.build.cwd, c.path);
  ctx.ui.message(`Saving image: ${input.id}`);
  const status = await ctx.docker.engine.saveImage(input.id, () => createWriteStream(path));
  if (status !== 200) throw new KilnError('PP_DOCKER_SAVE', `docker-save: HTTP ${status}`);
  ctx.ui.message(`Saved to: ${path}`);
  return { artifact: input, keep: true, forceOverride: true };
}

/** Go's encoding/json escapes <, > and & in strings. */
function goJson(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

async function manifest(c: ManifestConfig, input: Artifact, ctx: PPContext): Promise<PPResult> {
  const out = resolve(ctx.build.cwd, c.output);
  ctx.ui.message(`Writing the manifest: ${c.output}`);
  const files = input.files.map((f) => {
    let size = 0;
    try {
      size = statSync(f).size;
    } catch {
      /* a file that went away counts as 0 bytes */
    }
    return { name: c.stripPath ? basename(f) : f, size };
  });
  const custom: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.customData)) custom[k] = ctx.build.renderLate(v, ctx.generated);
  const entry = {
    name: ctx.build.packerBuildName ?? ctx.build.name,
    builder_type: ctx.build.type,
    build_time: c.stripTime ? undefined : Math.floor(Date.now() / 1000),
    files: files.length ? files : null,
    artifact_id: input.id,
    packer_run_uuid: ctx.runUuid,
    custom_data: Object.keys(custom).length ? custom : null,
  };
  const lock = out + '.lock';
  mkdirSync(dirname(out), { recursive: true });
  let locked = false;
  for (let i = 0; i < 50 && !locked; i++) {
    try {
      closeSync(openSync(lock, 'wx'));
      locked = true;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  if (!locked) throw new KilnError('PP_MANIFEST', `manifest: ${lock} is held by another process`);
  try {
    let doc: { builds: unknown[]; last_run_uuid: string } = { builds: [], last_run_uuid: '' };
    if (existsSync(out)) {
      try {
        const prev = JSON.parse(readFileSync(out, 'utf8')) as { builds?: unknown[]; last_run_uuid?: string };
        doc = { builds: Array.isArray(prev.builds) ? prev.builds : [], last_run_uuid: prev.last_run_uuid ?? '' };
      } catch (e) {
        throw new KilnError('PP_MANIFEST', `manifest: ${out} is not valid JSON (${errorMessage(e)})`);
      }
      if (ctx.force && doc.last_run_uuid !== ctx.runUuid) doc.builds = [];
    }
    doc.builds.push(entry);
    doc.last_run_uuid = ctx.runUuid;
    writeFileSync(out, goJson({ builds: doc.builds, last_run_uuid: doc.last_run_uuid }));
  } finally {
    rmSync(lock, { force: true });
  }
  return { artifact: input, keep: true, forceOverride: true };
}

const HASHES = new Set(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']);

async function checksum(c: ChecksumConfig, input: Artifact, ctx: PPContext): Promise<PPResult> {
  const outputs: string[] = [];
  for (const type of c.checksumTypes) {
    if (!HASHES.has(type)) throw new KilnError('PP_CHECKSUM', `checksum: unknown checksum type ${type}`);
    const out = resolve(ctx.build.cwd, ctx.build.renderLate(c.output, { ...ctx.generated, BuildName: ctx.build.packerBuildName ?? ctx.build.name, BuilderType: ctx.build.type, ChecksumType: type }));
    mkdirSync(dirname(out), { recursive: true });
    for (const f of input.files) {
      const h = createHash(type).update(readFileSync(f)).digest('hex');
      appendFileSync(out, `${h}\t${basename(f)}\n`);
    }
    if (!outputs.includes(out)) outputs.push(out);
  }
  return { artifact: { builderId: CHECKSUM_ID, id: '', files: outputs, string: `Created artifact from files: ${outputs.join(', ')}` }, keep: true, forceOverride: false };
}

async function runPostProcessor(pp: PreparedPostProcessor, input: Artifact, ctx: PPContext): Promise<PPResult> {
  const c = pp.config;
  switch (c.type) {
    case 'docker-tag':
      return dockerTag(c, input, ctx);
    case 'docker-import':
      return dockerImport(c, input, ctx);
    case 'docker-save':
      return dockerSave(c, input, ctx);
    case 'manifest':
      return manifest(c, input, ctx);
    case 'checksum':
      return checksum(c, input, ctx);
    case 'shell-local': {
      const { runShellLocal } = await import('../provisioners/shell-local.js');
      await runShellLocal(c, { ...ctx, extraVars: {} });
      return { artifact: input, keep: true, forceOverride: false };
    }
  }
}

interface ChainsResult {
  artifacts: Artifact[];
  errors: string[];
}

/** Runs every chain on the builder artifact (reference §4.2 for keep rules and result order). */
export async function runChains(builderArtifact: Artifact, chains: readonly (readonly PreparedPostProcessor[])[], ctx: PPContext): Promise<ChainsResult> {
  const results: Artifact[] = [];
  const errors: string[] = [];
  let keepBuilder = chains.length === 0;
  for (const chain of chains) {
    let prior: Artifact | undefined = builderArtifact;
    for (let i = 0; i < chain.length; i++) {
      const pp = chain[i]!;
      if (pp.stopChain) break;
      if (pp.skip) continue;
      ctx.ui.say(`Running post-processor: ${pp.name === pp.type ? pp.type : `${pp.name} (type ${pp.type})`}`);
      let r: PPResult;
      try {
        r = await runPostProcessor(pp, prior!, ctx);
      } catch (e) {
        const msg = `Post-processor failed: ${errorMessage(e)}`;
        ctx.ui.error(msg);
        errors.push(msg);
        prior = undefined;
        break;
      }
      let keep = r.keep;
      if (pp.keepInputArtifact !== undefined) keep = r.keep && r.forceOverride ? true : pp.keepInputArtifact;
      if (i === 0) keepBuilder ||= keep;
      else if (prior !== builderArtifact) {
        if (keep) results.push(prior!);
        else await prior!.destroy?.().catch(() => undefined);
      }
      prior = r.artifact;
      if (!prior) break;
    }
    if (prior && prior !== builderArtifact) results.push(prior);
  }
  if (keepBuilder) results.unshift(builderArtifact);
  else await builderArtifact.destroy?.().catch(() => undefined);
  return { artifacts: results, errors };
}
