// `kiln build [flags] TEMPLATE`: Packer's build command on kiln's engine (cached, incremental).
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { parseArgs, flagBool, flagList, flagString, keyValues, renderFlagHelp, type FlagSpec } from '../args.js';
import { KilnError } from '../../core/errors.js';

const FLAGS: FlagSpec[] = [
  { names: ['var'], kind: 'multi', valueName: 'KEY=VALUE', description: 'set a user variable (every -var beats every -var-file)' },
  { names: ['var-file'], kind: 'multi', valueName: 'FILE', description: 'file of variables: JSON, or .pkrvars.hcl for HCL2 (later files win)' },
  { names: ['only'], kind: 'multi', valueName: 'a,b', description: 'run only these builds (HCL2: TYPE.NAME, source.TYPE.NAME, globs)' },
  { names: ['except'], kind: 'multi', valueName: 'a,b', description: 'skip these builds and post-processors' },
  { names: ['force'], kind: 'bool', description: 'rebuild even when the cache holds the image; manifest truncation as Packer' },
  { names: ['on-error'], kind: 'string', valueName: 'cleanup|abort', description: 'abort keeps the failed build container (its id is printed)' },
  { names: ['parallel-builds'], kind: 'string', valueName: 'N', description: 'builds at once (0 = all, the default)' },
  { names: ['machine-readable'], kind: 'bool', description: "Packer's machine-readable lines (secrets masked)" },
  { names: ['color'], kind: 'bool', description: '-color=false disables colours' },
  { names: ['timestamp-ui'], kind: 'bool', description: 'prefix UI lines with an RFC3339 timestamp' },
  { names: ['state-dir'], kind: 'string', valueName: 'DIR', description: 'kiln state (build cache) directory; default $KILN_HOME or ~/.kiln' },
  { names: ['help', 'h'], kind: 'bool' },
];

const HELP = `Usage: kiln build [flags] TEMPLATE

Bakes the builds of a Packer template (JSON, *.pkr.hcl, *.pkr.json or a folder of HCL2 files; see
docs/packer-hcl2.md): docker, null and file builders on the local Docker engine, amazon-ebs on AWS
(AMIs; credentials, region and endpoint as every AWS tool takes them: the builder's
access_key/secret_key/profile/region, AWS_PROFILE, the SDK's default chain, AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_EC2); shell, file, shell-local and sleep provisioners (over SSH on AWS);
docker-tag, manifest, checksum, shell-local, docker-import and docker-save post-processors. Flags
and output follow Packer 1.6.6.

Never bakes twice: each build has a content key (base image ID, resolved builder and provisioner
fields, bytes of uploaded files and scripts). The same key reuses the cached image; after a change
the build resumes from the image saved after the last unchanged provisioner. -force rebuilds all.
An AMI carries its key as a tag (kiln:build-key): an unchanged amazon-ebs build is one
DescribeImages call, launches nothing and says "reused ami-… (inputs unchanged)".

Where kiln differs from Packer 1.6.6, on purpose:
  - timeout is applied even when pause_before is set (Packer drops it), and the error names it;
  - the exit code of a failed build is the failing script's exit code (Packer always exits 1);
  - sensitive variables are masked in -machine-readable output too (Packer leaks them there);
  - a provisioner that fails with max_retries reports its last error (Packer reports the first);
  - "Allowed exit codes are" has its missing space back;
  - a committed image is never deleted by post-processor keep rules (it is the build cache;
    \`kiln gc\` removes what nothing refers to);
  - the docker communicator can download directories;
  - amazon-ebs opens SSH only to the address kiln connects from (Packer: 0.0.0.0/0) unless
    temporary_security_group_source_cidrs says otherwise, checks the AMI name itself, and a failed
    or interrupted build deregisters its half-made AMIs and deletes their snapshots (Packer leaks
    them); every object is tagged kiln:run, and \`kiln gc --target aws\` sweeps a killed run's;
  - amazon-ebs always removes its temporary key from authorized_keys before the AMI is made
    (Packer only with ssh_clear_authorized_keys).

Flags:
${renderFlagHelp(FLAGS)}
`;

function splitNames(values: string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `KILN_LABELS=k=v,k2=v2`: extra labels on every container and image (CI run ids, tests). */
function extraLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (text ?? '').split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
  }
  return out;
}

export const command: Command = {
  summary: 'bake the images of a Packer template, JSON or HCL2 (Packer flags)',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'build');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    if (args.positionals.length !== 1) {
      io.err(`kiln build: expected exactly one template, got ${args.positionals.length}\n\n${HELP}`);
      return 2;
    }
    const onError = flagString(args, 'on-error') ?? 'cleanup';
    if (onError !== 'cleanup' && onError !== 'abort')
      throw new KilnError('USAGE', `build: -on-error=${onError}: expected cleanup or abort (ask and run-cleanup-provisioner are not supported)`, 'user', { exitCode: 2 });
    const parallelText = flagString(args, 'parallel-builds') ?? '0';
    const parallel = Number(parallelText);
    if (!Number.isInteger(parallel) || parallel < 0) throw new KilnError('USAGE', `build: -parallel-builds=${parallelText}: expected a whole number >= 0`, 'user', { exitCode: 2 });
    const machineReadable = flagBool(args, 'machine-readable');
    const color = !machineReadable && flagBool(args, 'color', true) && io.color;

    const { prepareTemplate } = await import('../../image/api.js');
    const t = await prepareTemplate({
      templatePath: args.positionals[0]!,
      vars: keyValues(flagList(args, 'var'), '-var'),
      varFiles: flagList(args, 'var-file'),
      only: splitNames(flagList(args, 'only')),
      except: splitNames(flagList(args, 'except')),
      cwd: io.cwd,
      env: io.env,
    });
    const mask = (s: string): string => (t.variables ? t.variables.mask(s) : s);
    const { BuildRenderer } = await import('../views/build.js');
    const renderer = new BuildRenderer({ machineReadable, color, timestamps: flagBool(args, 'timestamp-ui'), mask }, (s) => io.out(s));
    for (const w of t.warnings) renderer.render({ kind: 'message', text: `Warning: ${w.message}` });
    if (t.builds.length === 0) {
      io.err('kiln build: no builds to run (check -only / -except)\n');
      return 1;
    }
    const ac = new AbortController();
    const onSignal = (): void => {
      renderer.render({ kind: 'error', text: 'Interrupt received. Cancelling builds and cleaning up...' });
      ac.abort(new KilnError('BUILD_CANCELLED', 'interrupted', 'user', { exitCode: 130 }));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const { runBuilds } = await import('../../image/build.js');
      const results = await runBuilds({
        template: t.templatePath,
        builds: t.builds,
        force: flagBool(args, 'force'),
        onError,
        parallel,
        stateDir: flagString(args, 'state-dir'),
        events: { emit: (e) => renderer.render(e) },
        signal: ac.signal,
        mask,
        labels: extraLabels(io.env.KILN_LABELS),
        aws: { env: io.env },
      });
      const failed = results.filter((r) => !r.ok);
      if (!failed.length) return 0;
      return failed.find((r) => r.exitCode)?.exitCode ?? 1;
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};
