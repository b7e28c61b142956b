// `kiln ui [--port N] [--host H] [--state-dir DIR]`: a local, read-only web view of the stacks,
// their rollouts and the build cache, with live progress of every deploy/up/rollback/destroy run on
// the same state directory from any terminal. Runs until Ctrl-C.
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import { KilnError } from '../../core/errors.js';
import type { UiAws } from '../../ui/aws.js';
import type { CfnApi } from '../../aws/cfn.js';

const FLAGS: FlagSpec[] = [
  { names: ['port', 'p'], kind: 'string', valueName: 'N', description: 'the port to listen on (default 7070; 0: any free port)' },
  { names: ['host'], kind: 'string', valueName: 'H', description: 'the address to listen on (default 127.0.0.1: this machine only)' },
  { names: ['state-dir'], kind: 'string', valueName: 'DIR', description: 'state directory (default $KILN_HOME or ~/.kiln)' },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

const HELP = `Usage: kiln ui [--port N] [--host H] [--state-dir DIR]

Serves a local web page of this state directory: every stack (status, outputs, parameters with
NoEcho masked, its resources as a dependency graph coloured by state, the image each instance runs
and whether it drifted), the history of deployments, and the build cache (build keys, reused steps,
sizes, what \`kiln gc\` would remove). Stacks deployed with --target aws show as CloudFormation
reports them (status, outputs, parameters, resources, the last operation's events, drift as last
detected), asked with the usual AWS credentials, region and AWS_ENDPOINT_URL. A deploy, up, rollback or destroy started from any terminal on
the same state directory shows on the page live, then as a timeline.

The page is read-only (every action stays in the CLI) and nothing leaves the machine: it listens
on 127.0.0.1 unless --host says otherwise, and every request needs the random token in the URL it
prints (as Jupyter does). Stop it with Ctrl-C.

Flags:
${renderFlagHelp(FLAGS)}
`;

/**
 * The AWS target as the page sees it: the stacks `kiln deploy|up --target aws` noted in this state
 * directory, and a CloudFormation client per region with the credentials and endpoint every AWS tool
 * takes (AWS_PROFILE, AWS_ACCESS_KEY_ID…, AWS_ENDPOINT_URL…). No credential is looked for until a
 * page shows an AWS stack; none missing stops the server.
 */
export async function awsSide(dir: string, env: CliIO['env']): Promise<UiAws> {
  const [{ knownAwsStacks }, { awsSettings }, { openCfn }] = await Promise.all([import('../../aws/known-stacks.js'), import('../../aws/settings.js'), import('../../aws/cfn.js')]);
  const clients = new Map<string, CfnApi>();
  return {
    stacks: () => knownAwsStacks(dir),
    cfn: (region) => {
      let c = clients.get(region);
      if (!c) clients.set(region, (c = openCfn(awsSettings('cloudformation', { region, env, from: 'command' }))));
      return c;
    },
  };
}

export const command: Command = {
  summary: 'serve a local web view of stacks, rollouts and builds',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'ui');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    if (args.positionals.length) throw new KilnError('USAGE', `ui: unexpected argument ${args.positionals[0]} (see \`kiln ui --help\`)`, 'user', { exitCode: 2 });
    const portText = flagString(args, 'port') ?? '7070';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) throw new KilnError('USAGE', `ui: --port ${portText}: expected a port number (0-65535)`, 'user', { exitCode: 2 });
    const host = flagString(args, 'host') ?? '127.0.0.1';
    const [{ startUi, isLoopback }, { stateDir }, { openProvider }, { connectDocker }] = await Promise.all([
      import('../../ui/server.js'),
      import('../../state/db.js'),
      import('../../deploy/index.js'),
      import('../../docker/client.js'),
    ]);
    const dir = stateDir(flagString(args, 'state-dir'), io.env);
    const docker = connectDocker(io.env);
    const aws = await awsSide(dir, io.env);
    let provider: ReturnType<typeof openProvider> | undefined;
    let ui;
    try {
      ui = await startUi({ stateDir: dir, host, port, docker, provider: () => (provider ??= openProvider(io.env, docker)), aws, onError: (m) => io.err(`kiln ui: ${m}\n`) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new KilnError('UI_PORT', `ui: port ${port} on ${host} is in use (pass --port N, or --port 0 for any free one)`, 'environment');
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new KilnError('UI_HOST', `ui: cannot listen on ${host}: no such address on this machine`, 'user', { exitCode: 2 });
      throw e;
    }
    if (!isLoopback(host)) io.err(`kiln ui: listening on ${host}: anyone who can reach this address and has the token can read your stacks\n`);
    io.out(`kiln ui: serving the state in ${dir} (read-only)\n\n    ${ui.url}\n\nDeploys, ups, rollbacks and destroys on this state directory show there live. Ctrl-C stops.\n`);
    const server = ui;
    return new Promise<number>((resolve) => {
      const stop = () => {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        void server.close().then(() => resolve(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
