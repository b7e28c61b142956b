// Build keys: content hashes of everything that can change an image, and nothing that cannot.
//
//   base   = H(format, builder fields that shape the container, base image ID, build name/type)
//   step_i = H(step_{i-1}, provisioner i: type + resolved fields + digests of the files it uploads)
//   final  = H(step_n, commit-time fields: changes, author, message)
//
// The container state after provisioner i is committed as an intermediate image labelled with
// step_i, so a later run whose first k steps have the same keys starts from that image. Only the
// final key names the artifact; `changes` enter only there, so editing them re-commits without
// running a single provisioner.
//
// Left out of the key on purpose (they cannot change the image):
// - docker `pull`, `login*`, `ecr_login`: how the base image is fetched; its ID is in the key.
// - docker `commit` / `discard` / `export_path`: what happens to the result, not what it holds
//   (only `commit` builds are cached as artifacts; export/discard builds always run their last step).
// - docker `pty`, `communicator`, `windows_container`: how output is carried.
// - shell `remote_file` / `remote_path` / `remote_folder` unless `skip_clean` (Packer picks a random
//   `script_<n>.sh` per run; the script is deleted after it runs, so the name leaves no trace),
//   `start_retry_timeout`, `pause_after`, `expect_disconnect`, `valid_exit_codes`: they decide how a
//   step runs or whether it counts as failed, not what a successful step leaves behind.
// - provisioner meta `pause_before`, `max_retries`, `timeout`: same reason.
// - local paths of uploaded files and scripts: their bytes, relative names and modes are hashed
//   instead (never mtimes), so moving the template directory does not rebuild.
// - post-processors: they run on every build, cached or not (tagging, manifest, checksum).
// A `{{timestamp}}`/`{{uuid}}` inside a field that IS in the key (an inline line, an env var) does
// change the key on every run: such a template is not reproducible and kiln rebuilds it, as it must.
import { readFileSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join, basename } from 'node:path';
import { createHmac } from 'node:crypto';
import { canonicalJson, hashValue, sha256 } from '../core/hash.js';
import type { DockerBuilderConfig, PreparedProvisioner, PreparedBuild } from './types.js';

/** Bump to invalidate every cached build at once (a change in how images are produced). */
export const KEY_FORMAT = 'kiln.image-key.v1';

/** Digest of a file or directory tree: relative names, modes, bytes and symlink targets; never mtimes. */
export function treeDigest(path: string): string {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return sha256(`link\0${readlinkSync(path)}`);
  if (st.isFile()) return sha256(Buffer.concat([Buffer.from(`file\0${(st.mode & 0o777).toString(8)}\0`), readFileSync(path)]));
  if (st.isDirectory()) {
    const children = readdirSync(path)
      .sort()
      .map((n) => ({ n, d: treeDigest(join(path, n)) }));
    return hashValue({ dir: (st.mode & 0o777).toString(8), children });
  }
  return sha256(`other\0${st.mode}`);
}

export type DigestFn = (absPath: string) => string;

/**
 * Sensitive values must not be recoverable from a key (keys are stored in state and in image
 * labels, and a plain hash of a weak password can be brute-forced). Before hashing, every
 * sensitive value in the key input is replaced by HMAC-SHA256(salt, value), with a random salt
 * kept in the state directory: the key still changes when a secret changes, and reveals nothing
 * without the salt. (Templates with secrets therefore share no cache across state directories.)
 */
export type Redact = (canonical: string) => string;

export function secretRedactor(secrets: readonly string[], salt: Buffer): Redact | undefined {
  const values = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  if (!values.length) return undefined;
  const pairs = values.map((v) => [JSON.stringify(v).slice(1, -1), `<secret:${createHmac('sha256', salt).update(v).digest('hex')}>`] as const);
  return (text) => {
    let out = text;
    for (const [needle, repl] of pairs) out = out.split(needle).join(repl);
    return out;
  };
}

/** The hash of a key input, with sensitive values replaced first (see `Redact`). */
export function keyHash(value: unknown, redact?: Redact): string {
  return redact ? sha256(redact(canonicalJson(value))) : hashValue(value);
}

function dockerBaseKey(cfg: DockerBuilderConfig, baseImageId: string, build: { name: string; type: string; packerBuildName?: string }, labels: Record<string, string> = {}, redact?: Redact): string {
  return keyHash(
    {
      format: KEY_FORMAT,
      part: 'base',
      baseImageId,
      // Extra labels (KILN_LABELS) end up in the committed image's config, so they shape it.
      labels: Object.keys(labels).length ? labels : undefined,
      build: build.packerBuildName ?? build.name,
      builderType: build.type,
      runCommand: cfg.runCommand,
      volumes: cfg.volumes,
      privileged: cfg.privileged,
      capAdd: cfg.capAdd,
      capDrop: cfg.capDrop,
      device: cfg.device,
      tmpfs: cfg.tmpfs,
      containerDir: cfg.containerDir,
      execUser: cfg.execUser,
      fixUploadOwner: cfg.fixUploadOwner,
    },
    redact,
  );
}

/** The parts of one provisioner that shape the image. */
function provisionerKeyInput(p: PreparedProvisioner, digest: DigestFn): unknown {
  const c = p.config;
  switch (c.type) {
    case 'shell': {
      const keepName = c.skipClean;
      return {
        type: 'shell',
        inline: c.inline,
        scripts: c.scripts.map((s) => digest(s)),
        environmentVars: c.environmentVars,
        envVarFormat: c.envVarFormat,
        useEnvVarFile: c.useEnvVarFile,
        executeCommand: c.executeCommand,
        inlineShebang: c.inlineShebang,
        binary: c.binary,
        remotePath: keepName ? c.remotePath : undefined,
      };
    }
    case 'file':
      return {
        type: 'file',
        direction: c.direction,
        destination: c.destination,
        sources:
          c.direction === 'upload' ? c.localSources.map((s) => ({ name: basename(s.replace(/\/+$/, '')), contentsOnly: s.endsWith('/'), digest: digest(s.replace(/\/+$/, '') || '/') })) : c.sources,
      };
    case 'shell-local':
      return {
        type: 'shell-local',
        command: c.command,
        inline: c.inline,
        scripts: c.scripts.map((s) => digest(s)),
        environmentVars: c.environmentVars,
        envVarFormat: c.envVarFormat,
        executeCommand: c.executeCommand,
        inlineShebang: c.inlineShebang,
      };
  }
}

export function stepKey(prev: string, p: PreparedProvisioner, digest: DigestFn, redact?: Redact): string {
  return keyHash({ format: KEY_FORMAT, part: 'step', prev, provisioner: provisionerKeyInput(p, digest) }, redact);
}

function dockerFinalKey(prev: string, cfg: DockerBuilderConfig, redact?: Redact): string {
  return keyHash({ format: KEY_FORMAT, part: 'final', prev, changes: cfg.changes, author: cfg.author, message: cfg.message }, redact);
}

export interface KeyChain {
  base: string;
  steps: string[];
  final: string;
}

/** Every key of a docker build, given the base image's ID. */
export function dockerKeyChain(build: PreparedBuild, cfg: DockerBuilderConfig, baseImageId: string, digest: DigestFn = memoDigest(), labels: Record<string, string> = {}, redact?: Redact): KeyChain {
  const base = dockerBaseKey(cfg, baseImageId, build, labels, redact);
  const steps: string[] = [];
  let prev = base;
  for (const p of build.provisioners) {
    prev = stepKey(prev, p, digest, redact);
    steps.push(prev);
  }
  return { base, steps, final: dockerFinalKey(prev, cfg, redact) };
}

/** A digest function that reads each path once per run. */
export function memoDigest(): DigestFn {
  const memo = new Map<string, string>();
  return (p) => {
    let d = memo.get(p);
    if (d === undefined) memo.set(p, (d = treeDigest(p)));
    return d;
  };
}

/** The redactor for a build's sensitive values, salted per state directory (created on first use). */
export async function redactorFor(build: PreparedBuild, dir: string | undefined): Promise<Redact | undefined> {
  const secrets = [...build.variables.sensitive].map((n) => build.variables.values[n] ?? '').filter(Boolean);
  if (!secrets.length) return undefined;
  const { readFileSync, writeFileSync, mkdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { randomBytes } = await import('node:crypto');
  const { stateDir } = await import('../state/db.js');
  const root = stateDir(dir);
  const file = join(root, 'build-key-salt');
  let salt: Buffer;
  try {
    salt = readFileSync(file);
  } catch {
    mkdirSync(root, { recursive: true });
    try {
      writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
    } catch {
      /* another process wrote it first */
    }
    salt = readFileSync(file);
  }
  return secretRedactor(secrets, salt);
}
