// `kiln ssm put|get|list|delete`: the local Parameter Store (src/state/ssm.ts), as `aws ssm
// put-parameter / get-parameter / get-parameters-by-path / delete-parameter` use it. Templates read it
// through `AWS::SSM::Parameter::Value<…>` parameters and `{{resolve:ssm:…}}`; it also holds kiln's
// mapping of the public AMI aliases (docs/ssm.md). SecureString values are shown as **** unless
// `get --with-decryption` asks for one.
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import { KilnError } from '../../core/errors.js';
import { STATE_DIR } from '../views/common.js';
import type { SsmParameter, SsmType } from '../../state/ssm.js';

const FLAGS: FlagSpec[] = [
  { names: ['type'], kind: 'string', valueName: 'TYPE', description: 'put: String (default), StringList or SecureString' },
  { names: ['overwrite'], kind: 'bool', description: 'put: replace an existing parameter (a new version)' },
  { names: ['description'], kind: 'string', valueName: 'TEXT', description: 'put: a description' },
  { names: ['with-decryption'], kind: 'bool', description: 'get: show a SecureString value' },
  { names: ['path'], kind: 'string', valueName: 'PATH', description: 'list: only parameters under PATH (/app lists /app/x, /app/y/z)' },
  { names: ['json'], kind: 'bool', description: 'print JSON (AWS CLI field names)' },
  STATE_DIR,
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

const HELP = `Usage:
  kiln ssm put NAME VALUE [--type String|StringList|SecureString] [--overwrite] [--description TEXT]
  kiln ssm get NAME[:VERSION] [--with-decryption] [--json]
  kiln ssm list [--path PATH] [--json]
  kiln ssm delete NAME

The local Systems Manager Parameter Store, kept in kiln's state. Templates read it through
AWS::SSM::Parameter::Value<...> parameters and {{resolve:ssm:NAME[:VERSION]}} /
{{resolve:ssm-secure:NAME[:VERSION]}} references; AWS::SSM::Parameter resources write to it.

The public AMI aliases (/aws/service/ami-amazon-linux-latest/..., /aws/service/canonical/ubuntu/...,
/aws/service/debian/...) name the local image in /kiln/images/linux (default debian:bookworm) unless
the alias itself is put here; Windows aliases are refused. An AMI id that is no local image runs on
/kiln/images/stand-in/AMI-ID, else /kiln/images/stand-in, else the Linux image. See docs/ssm.md.

SecureString values are encrypted in the state (key: ssm.key beside it) and shown as ****.

Flags:
${renderFlagHelp(FLAGS)}
`;

const MASK = '****';

function shown(p: SsmParameter, decrypt: boolean): string {
  return p.type === 'SecureString' && !decrypt ? MASK : p.value;
}

function asJson(p: SsmParameter, decrypt: boolean, source?: string): Record<string, unknown> {
  return {
    Name: p.name,
    Type: p.type,
    Value: shown(p, decrypt),
    Version: p.version,
    LastModifiedDate: p.lastModified,
    ...(p.description !== undefined ? { Description: p.description } : {}),
    ...(source ? { Source: source } : {}),
  };
}

function usage(message: string): KilnError {
  return new KilnError('USAGE', `ssm: ${message} (see \`kiln ssm --help\`)`, 'user', { exitCode: 2 });
}

export const command: Command = {
  summary: 'the local Parameter Store: put, get, list, delete',
  async run(argv: string[], io: CliIO): Promise<number> {
    const p = parseArgs(argv, FLAGS, 'ssm');
    if (flagBool(p, 'help') || p.positionals.length === 0) {
      io.out(HELP);
      return p.positionals.length === 0 && !flagBool(p, 'help') ? 2 : 0;
    }
    const [verb, ...args] = p.positionals;
    const [{ SqliteParameterStore }, aliases, { table }] = await Promise.all([import('../../state/ssm.js'), import('../../deploy/ami-aliases.js'), import('../views/stack.js')]);
    const store = SqliteParameterStore.open(flagString(p, 'state-dir'));
    const json = flagBool(p, 'json');
    switch (verb) {
      case 'put': {
        if (args.length !== 2) throw usage('put takes NAME and VALUE');
        const type = (flagString(p, 'type') ?? 'String') as SsmType;
        const description = flagString(p, 'description');
        const put = store.put({ name: args[0]!, value: args[1]!, type, overwrite: flagBool(p, 'overwrite'), ...(description !== undefined ? { description } : {}) });
        if (json) io.out(JSON.stringify({ Version: put.version, Tier: 'Standard' }, null, 2) + '\n');
        else io.out(`${put.name}: version ${put.version} (${put.type})\n`);
        return 0;
      }
      case 'get': {
        if (args.length !== 1) throw usage('get takes NAME[:VERSION]');
        const { name, version } = aliases.splitSelector(args[0]!);
        const hit = aliases.lookupParameter(store, name, version);
        if (!hit.found) {
          io.err(`kiln ssm: ParameterNotFound: ${hit.reason}\n`);
          return 1;
        }
        const decrypt = flagBool(p, 'with-decryption');
        const param: SsmParameter = hit.parameter ?? { name, type: hit.type, value: hit.value, version: hit.version, lastModified: '' };
        const source = hit.source === 'default mapping' ? "kiln's default mapping (kiln ssm put NAME IMAGE changes it)" : undefined;
        if (json) io.out(JSON.stringify({ Parameter: asJson(param, decrypt, source) }, null, 2) + '\n');
        else io.out(`${shown(param, decrypt)}\n`);
        if (!json && source) io.err(`(${name}: ${source})\n`);
        return 0;
      }
      case 'list': {
        if (args.length !== 0) throw usage('list takes no argument (use --path)');
        const list = store.list(flagString(p, 'path'));
        if (json) {
          io.out(JSON.stringify({ Parameters: list.map((x) => asJson(x, false)) }, null, 2) + '\n');
          return 0;
        }
        io.out(list.length ? table([['NAME', 'TYPE', 'VERSION', 'VALUE'], ...list.map((x) => [x.name, x.type, String(x.version), shown(x, false)])]) : 'No parameters.\n');
        const linux = store.get(aliases.LINUX_IMAGE_PARAMETER)?.value ?? `${aliases.DEFAULT_LINUX_IMAGE} (default)`;
        io.out(
          `\nPublic AMI aliases (kiln's mapping; an alias put above wins):\n` +
            table(aliases.AMI_ALIAS_FAMILIES.map((f) => [`  ${f.prefix}…`, f.what, f.runs ? linux : 'refused: cannot run locally'])),
        );
        return 0;
      }
      case 'delete': {
        if (args.length !== 1) throw usage('delete takes NAME');
        if (!store.delete(args[0]!)) {
          io.err(`kiln ssm: ParameterNotFound: parameter ${args[0]} is not in the local parameter store\n`);
          return 1;
        }
        io.out(`${args[0]}: deleted\n`);
        return 0;
      }
      default:
        throw usage(`unknown subcommand '${verb}' (put, get, list, delete)`);
    }
  },
};
