// `kiln render TEMPLATE`: the template as it would be deployed (parameters validated and
// substituted, pseudo parameters filled, conditions and mappings applied, every computable
// intrinsic computed; references to resources left as canonical intrinsics), printed as JSON.
import { basename, extname, isAbsolute, resolve } from 'node:path';
import { formatDiagnostic } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { flagBool, flagList, flagString, keyValues, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';

const FLAGS: FlagSpec[] = [
  { names: ['param'], kind: 'multi', valueName: 'KEY=VALUE', description: 'a parameter value' },
  { names: ['stack'], kind: 'string', valueName: 'NAME', description: 'stack name for AWS::StackName (default: the file name)' },
  { names: ['region'], kind: 'string', valueName: 'REGION', description: 'region for AWS::Region and friends (default: us-east-1)' },
  { names: ['account'], kind: 'string', valueName: 'ID', description: '12-digit account id for AWS::AccountId (default: 123456789012)' },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

export const HELP = `Usage: kiln render TEMPLATE [--param KEY=VALUE]... [--stack NAME] [--region REGION]

Prints (JSON, on stdout) the CloudFormation template as it would be deployed: parameters checked and
substituted, pseudo parameters filled (AWS::StackName, AWS::Region, AWS::AccountId, AWS::Partition,
AWS::URLSuffix, AWS::StackId), AWS::NoValue removed, Mappings looked up, Conditions applied
(resources and outputs whose condition is false are gone, Fn::If resolved), Rules checked, and
Fn::Join / Sub / Select / Split / Base64 / Cidr / GetAZs / FindInMap / Length / ToJsonString
computed wherever their inputs are known. References to resources (Ref, Fn::GetAtt, and what
contains them) stay as intrinsics in canonical long form, resolved at deploy time.

Every parameter without a Default needs a --param. NoEcho values are printed as ****.
Problems go to stderr as FILE:LINE:COL: error[CODE]: message (at PATH); the exit code is then 1.

Flags:
${renderFlagHelp(FLAGS)}
`;

/** A stack name from a file name: CloudFormation allows [A-Za-z][-A-Za-z0-9]*, at most 128. */
function stackNameFromFile(file: string): string {
  const base = basename(file, extname(file))
    .replace(/[^-A-Za-z0-9]/g, '-')
    .replace(/^[^A-Za-z]+/, '');
  return (base || 'stack').slice(0, 128);
}

export const command: Command = {
  summary: 'print a CloudFormation template as it would be deployed',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'render');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    if (args.positionals.length !== 1)
      throw new KilnError('USAGE', `render: expected one TEMPLATE argument${args.positionals.length ? `, got ${args.positionals.length}` : ''} (see \`kiln render --help\`)`, 'user', { exitCode: 2 });
    const file = args.positionals[0]!;
    const params: Record<string, string> = {};
    for (const [k, v] of keyValues(flagList(args, 'param'), '--param')) params[k] = v;
    const stackName = flagString(args, 'stack') ?? stackNameFromFile(file);
    if (!/^[A-Za-z][-A-Za-z0-9]{0,127}$/.test(stackName))
      throw new KilnError('USAGE', `render: --stack ${stackName}: a stack name starts with a letter and has only letters, digits and dashes (at most 128)`, 'user', { exitCode: 2 });
    const region = flagString(args, 'region');
    if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new KilnError('USAGE', `render: --region ${region}: not a region name (like eu-west-1)`, 'user', { exitCode: 2 });
    const account = flagString(args, 'account');
    if (account !== undefined && !/^\d{12}$/.test(account)) throw new KilnError('USAGE', `render: --account ${account}: an account id has 12 digits`, 'user', { exitCode: 2 });

    const { renderTemplate } = await import('../../stack/check.js');
    const r = await renderTemplate(
      { path: isAbsolute(file) ? file : resolve(io.cwd, file), displayName: file, ...(io.stdin ? { stdin: io.stdin } : {}) },
      { params, pseudo: { stackName, ...(region ? { region } : {}), ...(account ? { accountId: account } : {}) } },
    );
    for (const d of r.diagnostics) io.err(formatDiagnostic(d, file) + '\n');
    if (!r.ok) return 1;
    io.out(JSON.stringify(r.rendered, null, 2) + '\n');
    return 0;
  },
};
