// kiln's command dispatcher. Subcommands load lazily so that a fast path (a cache-hit build, a
// validate) loads only what it needs.
import { processIO, type CliIO } from './io.js';
import { runCommand, type Command } from './command.js';

interface Entry {
  group: string;
  summary: string;
  load: () => Promise<{ command: Command }>;
}

const COMMANDS: Record<string, Entry> = {
  up: { group: 'Pipeline', summary: 'bake every image, deploy the stack with them (kiln.yaml)', load: () => import('./commands/up.js') },
  watch: { group: 'Pipeline', summary: 'run `up` again on every change of an input', load: () => import('./commands/watch.js') },
  history: { group: 'Pipeline', summary: 'list the deployments of a stack', load: () => import('./commands/history.js') },
  rollback: { group: 'Pipeline', summary: "redeploy the previous deployment's exact images and parameters", load: () => import('./commands/rollback.js') },
  build: { group: 'Images', summary: 'bake the images of a Packer template, JSON or HCL2 (Packer flags)', load: () => import('./commands/build.js') },
  convert: { group: 'Images', summary: 'write a Packer JSON template as HCL2 (as packer hcl2_upgrade)', load: () => import('./commands/convert.js') },
  inspect: { group: 'Images', summary: 'show the variables, builders and provisioners of a Packer template', load: () => import('./commands/inspect.js') },
  gc: { group: 'Images', summary: 'remove intermediate and unreferenced images kiln made', load: () => import('./commands/gc.js') },
  validate: { group: 'Templates', summary: 'check a CloudFormation or Packer template', load: () => import('./commands/validate.js') },
  render: { group: 'Templates', summary: 'print a CloudFormation template as it would be deployed', load: () => import('./commands/render.js') },
  graph: { group: 'Templates', summary: 'show the dependency graph of a CloudFormation template', load: () => import('./commands/graph.js') },
  plan: { group: 'Stacks', summary: 'show the change set against what is deployed', load: () => import('./commands/plan.js') },
  deploy: { group: 'Stacks', summary: 'create or update a stack', load: () => import('./commands/deploy.js') },
  destroy: { group: 'Stacks', summary: 'delete a stack and everything it made', load: () => import('./commands/destroy.js') },
  status: { group: 'Stacks', summary: 'show stacks and their resources', load: () => import('./commands/status.js') },
  events: { group: 'Stacks', summary: 'show the events of a stack', load: () => import('./commands/events.js') },
  outputs: { group: 'Stacks', summary: 'show the outputs of a stack', load: () => import('./commands/outputs.js') },
  exports: { group: 'Stacks', summary: 'list the exports of all stacks and who imports them', load: () => import('./commands/exports.js') },
  drift: { group: 'Stacks', summary: 'compare what runs with what was deployed', load: () => import('./commands/drift.js') },
  unlock: { group: 'Stacks', summary: "break a stack's lock left by a run that is gone", load: () => import('./commands/unlock.js') },
  state: { group: 'Stacks', summary: 'check the state database, or restore its last good backup', load: () => import('./commands/state.js') },
  network: { group: 'Local account', summary: 'list the local VPCs, subnets, security groups and key pairs', load: () => import('./commands/network.js') },
  snapshots: { group: 'Local account', summary: 'list or delete the final snapshots of deleted caches', load: () => import('./commands/snapshots.js') },
  ssm: { group: 'Local account', summary: 'the local Parameter Store: put, get, list, delete', load: () => import('./commands/ssm.js') },
  ui: { group: 'Stacks', summary: 'serve a local web view of stacks, rollouts and builds', load: () => import('./commands/ui.js') },
};

export const VERSION = '0.1.0';

/**
 * The command names; each is also its module's name (./commands/NAME.js). The build bundles each
 * command on its own (scripts/bundle-cli.mjs) for bin/kiln.js, which runs it without loading this
 * dispatcher; help, version and unknown names come here.
 */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

function usage(): string {
  const groups = new Map<string, string[]>();
  for (const [name, e] of Object.entries(COMMANDS)) {
    const lines = groups.get(e.group) ?? [];
    lines.push(`  ${name.padEnd(10)} ${e.summary}`);
    groups.set(e.group, lines);
  }
  let s = `kiln ${VERSION}: bake an image; deploy that image; on any change, bake again and replace.\n\nUsage: kiln <command> [flags]\n`;
  for (const [g, lines] of groups) s += `\n${g}:\n${lines.join('\n')}\n`;
  s += `\nRun \`kiln <command> --help\` for the flags of a command.\n`;
  return s;
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(usage());
    return name ? 0 : 2;
  }
  if (name === 'version' || name === '--version' || name === '-v') {
    io.out(`kiln ${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.err(`kiln: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return runCommand(entry.load, rest, io);
}
