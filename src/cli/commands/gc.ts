// `kiln gc [--dry-run] [--state-dir DIR]`: removes intermediate and superseded images kiln made.
// `kiln gc --target aws [--region R]`: removes what killed AWS runs left (tagged kiln:run).
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { parseArgs, flagBool, flagString, renderFlagHelp, type FlagSpec, type ParsedArgs } from '../args.js';
import { KilnError } from '../../core/errors.js';

const FLAGS: FlagSpec[] = [
  { names: ['dry-run', 'n'], kind: 'bool', description: 'show what would be removed, remove nothing' },
  { names: ['state-dir'], kind: 'string', valueName: 'DIR', description: 'kiln state directory (default $KILN_HOME or ~/.kiln)' },
  { names: ['target'], kind: 'string', valueName: 'local|aws', description: 'local: images in the Docker engine (default); aws: temporary objects of killed runs' },
  { names: ['region'], kind: 'string', valueName: 'REGION', description: 'AWS region to sweep (default $AWS_REGION)' },
  { names: ['older-than'], kind: 'string', valueName: 'DURATION', description: 'AWS: keep objects younger than this (e.g. 2h), for runs on other machines' },
  { names: ['help', 'h'], kind: 'bool' },
];

const HELP = `Usage: kiln gc [--dry-run] [--state-dir DIR]
       kiln gc --target aws [--region REGION] [--older-than DURATION] [--dry-run]

First removes what killed builds (and builds with -on-error=abort) left: their build containers and
temporary directories, found by the run each names once its process is gone (a live build's are
never touched); images such a build committed are recorded in the cache, and judged as below.
Then removes images kiln built that nothing needs: every intermediate image (the saved state after a
provisioner) and every artifact superseded by a newer build of the same template and build name.
Keeps the newest artifact of each build, images a stack deployment uses, tagged images, and what
the engine refuses to remove (used by a container, or parent of a kept image). Only images this
state directory's build cache recorded are considered. Last, removes the local target's internet
router namespace (kiln-internet) when no VPC is plugged into it any more.

With --target aws: every object an amazon-ebs build creates is tagged kiln:run as it is created.
Removes what runs that are no longer alive left behind (a killed process, -on-error=abort):
instances, their volumes, security groups, key pairs, unfinished AMIs and their snapshots. Keeps
finished AMIs and the objects of runs still alive on this machine; objects of runs on other
machines are only safe to sweep with --older-than. Credentials, region and endpoint as for
\`kiln build\` (AWS_PROFILE, AWS_ENDPOINT_URL, …).

Flags:
${renderFlagHelp(FLAGS)}
`;

export const command: Command = {
  summary: 'remove intermediate and unreferenced images kiln made',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'gc');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    const target = flagString(args, 'target') ?? 'local';
    if (target === 'aws') return gcAws(args, io);
    if (target !== 'local') throw new KilnError('USAGE', `gc: --target ${target}: expected local or aws`, 'user', { exitCode: 2 });
    const { openState, stateDir } = await import('../../state/db.js');
    const { BuildCache } = await import('../../image/cache.js');
    const { runGc } = await import('../../image/gc.js');
    const { connectDocker } = await import('../../docker/client.js');
    const dir = stateDir(flagString(args, 'state-dir'), io.env);
    const db = openState(dir);
    const cache = new BuildCache(db);
    const dryRun = flagBool(args, 'dry-run');
    const r = await runGc(db, cache, connectDocker(io.env), { dryRun, stateDir: dir });
    for (const a of r.swept) {
      const what = a.what === 'directory' ? `directory ${a.id}` : `${a.what} ${a.id.slice(0, 19)}`;
      const verb = a.verb === 'record' ? (dryRun ? 'would record' : 'record') : dryRun ? 'would remove' : 'remove';
      if (a.error) io.err(`kiln gc: ${verb} ${what} failed: ${a.error}\n`);
      else io.out(`${verb} ${what}  (${a.note})\n`);
    }
    for (const d of r.decisions) {
      const verb = d.action === 'keep' ? 'keep  ' : dryRun ? 'would remove' : 'remove';
      io.out(`${verb} ${d.imageId.slice(0, 19)}  ${d.kind.padEnd(12)} ${d.build}  (${d.reason})\n`);
    }
    for (const f of r.failed) io.out(`kept   ${f.imageId.slice(0, 19)}  the engine refused: ${f.reason}\n`);
    // The local target's internet router namespace, once no VPC (or test host) is plugged into it.
    const { releaseInternet, internetNs } = await import('../../providers/docker/routing.js');
    if (await releaseInternet({ dryRun })) io.out(`${dryRun ? 'would remove' : 'remove'} netns ${internetNs()}  (nothing is plugged into it)\n`);
    const n = r.decisions.filter((d) => d.action === 'remove').length;
    io.out(dryRun ? `${n} image(s) would be removed\n` : `${r.removed.length} image(s) removed\n`);
    return r.swept.some((a) => a.error) ? 1 : 0;
  },
};

async function gcAws(args: ParsedArgs, io: CliIO): Promise<number> {
  const dryRun = flagBool(args, 'dry-run');
  const { parseGoDuration } = await import('../../image/template.js');
  const olderText = flagString(args, 'older-than');
  const older = olderText ? parseGoDuration(olderText) : 0;
  if (typeof older === 'string') throw new KilnError('USAGE', `gc: --older-than ${olderText}: ${older}`, 'user', { exitCode: 2 });
  const { awsSettings } = await import('../../aws/settings.js');
  const { openEc2, withRetry } = await import('../../aws/ec2.js');
  const { sweepAws } = await import('../../aws/gc.js');
  const { liveRuns } = await import('../../aws/runs.js');
  const { stateDir } = await import('../../state/db.js');
  const region = flagString(args, 'region');
  const settings = awsSettings('ec2', { ...(region ? { region } : {}), env: io.env, from: 'command' });
  const r = await sweepAws({
    ec2: withRetry(openEc2(settings)),
    live: liveRuns(stateDir(flagString(args, 'state-dir'), io.env)),
    dryRun,
    olderThanMs: older,
    onAction: (a) => io.out(`${dryRun ? 'would ' : ''}${a.verb} ${a.id}${a.note ? ` (${a.note})` : ''}  run ${a.run.slice(0, 8)}\n`),
    onError: (a, m) => io.err(`kiln gc: ${a.verb} ${a.id} failed: ${m}\n`),
  });
  const done = r.actions.length - r.failed.length;
  io.out(
    dryRun ? `${r.actions.length} object(s) in ${settings.region} would be removed\n` : `${done} object(s) removed in ${settings.region}${r.failed.length ? `, ${r.failed.length} failed` : ''}\n`,
  );
  return r.failed.length ? 1 : 0;
}
