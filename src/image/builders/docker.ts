// Builder `docker` (reference §7), on the Engine API. Steps, each with its cleanup (runner.ts):
//   temp dir → run container (run_command semantics) → connect → provision (committing an
//   intermediate image after each provisioner) → commit (with `changes`) | export | discard.
// Before any of that, the build key decides: same final key → reuse the cached image; otherwise
// start from the deepest intermediate whose step key matches, skipping those provisioners.
import { rmSync, createWriteStream, mkdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KilnError, errorMessage } from '../../core/errors.js';
import { LABELS } from '../../docker/client.js';
import type { DockerBuilderConfig, LateContext, PreparedBuild } from '../types.js';
import { planDockerBuild, commitArtifact, DOCKER_BUILDER_ID, type BuilderOutcome, type DockerBuilderEnv, type DockerPlan } from './docker-plan.js';
import { parseRunCommand, describeRun } from './run-command.js';
import { runSteps, type Step } from '../runner.js';
import { DockerCommunicator } from '../communicator.js';
import { runProvisioner } from '../provisioners/index.js';
import { BuildRun } from '../debris.js';

interface Ctx {
  /** The run's temporary directory (marked with its owner) and, inside it, the one shared with the container. */
  root?: string;
  tmp?: string;
  containerId?: string;
  comm?: DockerCommunicator;
  imageId?: string;
  generated: LateContext;
  provisioningFailed: boolean;
  /** Index of the last provisioner, whose intermediate is committed alongside the final image. */
  pendingIntermediate?: number;
}

function labelChange(labels: Record<string, string>): string {
  return (
    'LABEL ' +
    Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')
  );
}

export async function buildDocker(build: PreparedBuild, cfg: DockerBuilderConfig, env: DockerBuilderEnv, plan?: DockerPlan): Promise<BuilderOutcome> {
  const { ui } = env;
  const engine = env.docker.engine;
  const p = plan ?? (await planDockerBuild(build, cfg, env));
  if (p.hit) return p.hit;
  const { keys, start, resumed, generated } = p;
  const n = build.provisioners.length;
  const ctx: Ctx = { generated, provisioningFailed: false };
  // An untracked run (no state directory given) still names what it creates.
  const run = env.run ?? BuildRun.start({ stateDir: undefined, template: env.template, build: build.name, builder: 'docker' });
  const kilnLabels = (kind: string, key: string, step?: number): Record<string, string> => ({
    ...env.labels,
    ...(kind === 'artifact' ? BuildRun.blankLabels() : run.labels(step)),
    [LABELS.managed]: 'true',
    [LABELS.kind]: kind,
    [LABELS.build]: key,
  });

  const steps: Step<Ctx>[] = [
    {
      name: 'StepTempDir',
      async run(c) {
        ui.say('Creating a temporary directory for sharing data...');
        c.root = run.makeDir(process.env.PACKER_TMP_DIR ?? tmpdir(), 'kiln-build');
        c.tmp = join(c.root, 'share');
        mkdirSync(c.tmp, { mode: 0o700 });
      },
      async cleanup(c) {
        if (c.root) rmSync(c.root, { recursive: true, force: true });
      },
    },
    {
      name: 'StepRun',
      async run(c) {
        ui.say('Starting docker container...');
        // Shown with the tag, as Packer does; created from the ID the key was computed with.
        const shown = resumed > 0 ? start : cfg.image;
        const args = cfg.runCommand.map((a) => build.renderLate(a, { ...generated, Image: shown }));
        const spec = parseRunCommand(args);
        if (spec.image === shown) spec.image = start;
        const prefix: string[] = [];
        for (const d of cfg.device) prefix.push(`--device=${d}`);
        for (const x of cfg.capAdd) prefix.push(`--cap-add=${x}`);
        for (const x of cfg.capDrop) prefix.push(`--cap-drop=${x}`);
        if (cfg.privileged) prefix.push('--privileged');
        for (const t of cfg.tmpfs) prefix.push(`--tmpfs=${t}`);
        const volumes = Object.entries(cfg.volumes).map(([h, ct]) => `${h}:${ct}`);
        for (const v of volumes) prefix.push('-v', v);
        prefix.push('-v', `${c.tmp}:${cfg.containerDir}`);
        ui.message(`Run command: ${describeRun(prefix, args)}`);
        const tmpfs: Record<string, string> = { ...spec.tmpfs };
        for (const t of cfg.tmpfs) {
          const i = t.indexOf(':');
          tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
        }
        const devices = [...cfg.device, ...spec.devices].map((d) => {
          const [host, cont, perms] = d.split(':');
          return { PathOnHost: host!, PathInContainer: cont ?? host!, CgroupPermissions: perms ?? 'rwm' };
        });
        const container = await engine.json<{ Id: string }>(
          'POST',
          '/containers/create',
          {
            Image: spec.image,
            ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
            Cmd: spec.cmd.length ? spec.cmd : undefined,
            Tty: spec.tty,
            OpenStdin: spec.openStdin,
            StdinOnce: false,
            AttachStdin: false,
            AttachStdout: false,
            AttachStderr: false,
            Env: spec.env.length ? spec.env : undefined,
            User: spec.user,
            WorkingDir: spec.workdir,
            Hostname: spec.hostname,
            Labels: { ...spec.labels, ...kilnLabels('build-container', keys.final) },
            HostConfig: {
              Binds: [...volumes, ...spec.binds, `${c.tmp}:${cfg.containerDir}`],
              Privileged: cfg.privileged || spec.privileged,
              CapAdd: [...cfg.capAdd, ...spec.capAdd],
              CapDrop: [...cfg.capDrop, ...spec.capDrop],
              Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
              Devices: devices.length ? devices : undefined,
              Init: spec.init || undefined,
              NetworkMode: spec.network,
            },
          },
          'create the build container',
        );
        c.containerId = container.Id;
        generated.ID = container.Id;
        await engine.json('POST', `/containers/${container.Id}/start`, undefined, 'start the build container');
        ui.message(`Container ID: ${container.Id}`);
      },
      async cleanup(c) {
        if (!c.containerId) return;
        ui.say(`Killing the container: ${c.containerId}`);
        const r = await engine.request('DELETE', `/containers/${c.containerId}?force=1&v=1`);
        if (r.status !== 204 && r.status !== 404) throw new KilnError('CLEANUP', `removing the build container ${c.containerId}: HTTP ${r.status} ${r.body.toString('utf8').trim()}`);
      },
    },
    {
      name: 'StepConnect',
      async run(c) {
        const info = await engine.json<{ NetworkSettings?: { IPAddress?: string }; Config?: { User?: string } }>('GET', `/containers/${c.containerId}/json`);
        const ip = info.NetworkSettings?.IPAddress ?? '';
        ui.say(`Using docker communicator to connect: ${ip}`);
        c.comm = new DockerCommunicator(engine, c.containerId!, { execUser: cfg.execUser || undefined, fixUploadOwner: cfg.fixUploadOwner, imageUser: info.Config?.User ?? '', pty: cfg.pty });
      },
    },
    {
      name: 'StepProvision',
      async run(c, signal) {
        const pctx = { build, ui, comm: c.comm, generated, signal, tmpDir: c.tmp! };
        for (let i = resumed; i < n; i++) {
          const p = build.provisioners[i]!;
          try {
            await runProvisioner(p, pctx);
          } catch (e) {
            c.provisioningFailed = true;
            if (!signal.aborted) ui.say('Provisioning step had errors: Running the cleanup provisioner, if present...');
            if (build.errorCleanupProvisioner && !signal.aborted) {
              try {
                await runProvisioner(build.errorCleanupProvisioner, { ...pctx, signal: new AbortController().signal });
              } catch (e2) {
                ui.error(`The error-cleanup-provisioner failed too: ${errorMessage(e2)}`);
              }
            }
            throw e;
          }
          // The state after the last provisioner is committed together with the final image
          // (two commits of one container run in parallel: ~40% faster than one after the other).
          if (env.cache && i === n - 1 && cfg.commit) c.pendingIntermediate = i;
          else if (env.cache) {
            const key = keys.steps[i]!;
            const id = await engine.commitContainer(c.containerId!, { changes: [labelChange(kilnLabels('intermediate', key, i))], pause: true });
            (await env.cache()).put({ key, kind: 'intermediate', imageId: id, template: env.template, build: build.name, step: i });
            ui.message(`Saved the state after provisioner ${i + 1} of ${n} as ${id.slice(0, 19)}`);
          }
        }
      },
    },
  ];

  if (cfg.commit) {
    steps.push({
      name: 'StepCommit',
      async run(c) {
        ui.say('Committing the container');
        const last = c.pendingIntermediate;
        // The final image carries no run label: its key is recorded with the run first, so that a
        // kill from here until it is in the cache leaves nothing the sweep cannot find.
        if (env.cache) run.committing(keys.final);
        const [img, inter] = await Promise.all([
          engine.commitContainer(c.containerId!, {
            changes: [...cfg.changes, labelChange(kilnLabels('artifact', keys.final))],
            ...(cfg.author ? { author: cfg.author } : {}),
            ...(cfg.message ? { comment: cfg.message } : {}),
            pause: true,
          }),
          last === undefined ? undefined : engine.commitContainer(c.containerId!, { changes: [labelChange(kilnLabels('intermediate', keys.steps[last]!, last))], pause: true }),
        ]);
        if (last !== undefined && inter) {
          const id = inter;
          (await env.cache?.())?.put({ key: keys.steps[last]!, kind: 'intermediate', imageId: id, template: env.template, build: build.name, step: last });
          ui.message(`Saved the state after provisioner ${last + 1} of ${n} as ${id.slice(0, 19)}`);
        }
        c.imageId = img;
        if (env.cache) {
          (await env.cache()).put({ key: keys.final, kind: 'artifact', imageId: img, template: env.template, build: build.name, step: -1 });
          run.committed(keys.final);
        }
        generated.ImageSha256 = c.imageId;
        ui.message(`Image ID: ${c.imageId}`);
      },
    });
  } else if (cfg.exportPath) {
    const out = cfg.exportPath;
    steps.push({
      name: 'StepExport',
      async run(c) {
        if (existsSync(out) && statSync(out).isDirectory()) throw new KilnError('EXPORT_PATH', `export_path ${out} is a directory`);
        mkdirSync(dirname(out), { recursive: true });
        ui.say('Exporting the container');
        const f = createWriteStream(out);
        const status = await engine.download(`/containers/${c.containerId}/export`, (chunk) => f.write(chunk));
        await new Promise<void>((resolve, reject) => f.end((e?: Error | null) => (e ? reject(e) : resolve())));
        if (status !== 200) throw new KilnError('EXPORT_FAILED', `exporting the build container: HTTP ${status}`);
      },
    });
  }

  try {
    await runSteps(steps, ctx, {
      signal: env.signal,
      onError: env.onError,
      hooks: {
        onCleanupError: (s, e) => {
          run.cleanupFailed();
          ui.error(`cleanup of ${s} failed: ${errorMessage(e)}`);
        },
        onAbortSkip: (s) => {
          run.keep('on-error=abort');
          if (s === 'StepRun' && ctx.containerId)
            ui.error(`aborted: skipping cleanup of step "${s}": the build container ${ctx.containerId} is kept running (remove it with \`docker rm -f ${ctx.containerId}\`)`);
          else ui.error(`aborted: skipping cleanup of step "${s}"${s === 'StepTempDir' && ctx.root ? ` (${ctx.root} stays)` : ''}`);
        },
      },
    });
  } catch (e) {
    if (env.signal.aborted && !KilnError.is(e)) throw new KilnError('BUILD_CANCELLED', `build '${build.name}' was cancelled`, 'user', { cause: e, exitCode: 130 });
    throw e;
  }

  if (cfg.commit) {
    const id = ctx.imageId!;
    return { artifact: commitArtifact(id), cached: false, key: keys.final, resumedFrom: resumed, generated };
  }
  if (cfg.exportPath) {
    const out = cfg.exportPath;
    return {
      artifact: { builderId: DOCKER_BUILDER_ID, id: 'Container', files: [out], string: `Exported Docker file: ${out}`, destroy: async () => rmSync(out, { force: true }) },
      cached: false,
      resumedFrom: resumed,
      generated,
    };
  }
  return { artifact: { builderId: DOCKER_BUILDER_ID, id: 'Container', files: [], string: 'Exported Docker file: ' }, cached: false, resumedFrom: resumed, generated };
}

export { commitArtifact, DOCKER_BUILDER_ID, DOCKER_COMMIT_BUILDER_ID, type BuilderEnv, type BuilderOutcome } from './docker-plan.js';
