// `kiln graph TEMPLATE`: the resource dependency graph (Ref, Fn::GetAtt, Fn::Sub, DependsOn) and
// the waves of creation, as text, Graphviz dot or Mermaid.
import { isAbsolute, resolve } from 'node:path';
import { formatDiagnostic, hasErrors, sortDiagnostics } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { locate } from '../../core/source.js';
import { flagBool, flagList, flagString, keyValues, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';

const FORMATS = ['text', 'dot', 'mermaid'] as const;

const FLAGS: FlagSpec[] = [
  { names: ['format', 'f'], kind: 'string', valueName: 'text|dot|mermaid', description: 'output format (default: text)' },
  { names: ['param'], kind: 'multi', valueName: 'KEY=VALUE', description: 'a parameter value (used to apply Conditions)' },
  { names: ['region'], kind: 'string', valueName: 'REGION', description: 'region for conditions on AWS::Region (default: us-east-1)' },
  { names: ['reduce'], kind: 'bool', description: 'draw only the edges not implied by others (transitive reduction)' },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

export const HELP = `Usage: kiln graph TEMPLATE [--format text|dot|mermaid] [--param KEY=VALUE]... [--reduce]

Prints the dependency graph of a CloudFormation template's resources: an edge for every Ref,
Fn::GetAtt, Fn::Sub variable and DependsOn between resources, and the waves in which they would be
created (the resources of a wave do not depend on each other and are created in parallel).

When every parameter has a value (a Default or a --param), Conditions are applied first: resources
whose condition is false, and the edges of Fn::If branches not taken, are left out. Otherwise every
resource is shown (a note says so on stderr).

Arrows follow creation order: "A -> B" means A is created before B (B refers to A).
A dependency cycle is printed with its path and the exit code is 1.

Flags:
${renderFlagHelp(FLAGS)}
`;

export const command: Command = {
  summary: 'show the dependency graph of a CloudFormation template',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'graph');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    if (args.positionals.length !== 1)
      throw new KilnError('USAGE', `graph: expected one TEMPLATE argument${args.positionals.length ? `, got ${args.positionals.length}` : ''} (see \`kiln graph --help\`)`, 'user', { exitCode: 2 });
    const format = flagString(args, 'format') ?? 'text';
    if (!(FORMATS as readonly string[]).includes(format))
      throw new KilnError('USAGE', `graph: --format ${format}: expected one of ${FORMATS.join(', ')}`, 'user', { exitCode: 2 });
    const file = args.positionals[0]!;
    const params: Record<string, string> = {};
    for (const [k, v] of keyValues(flagList(args, 'param'), '--param')) params[k] = v;
    const region = flagString(args, 'region');

    const [{ loadTemplateFile }, { evaluateTemplate }, { expandLanguageExtensions }, { resolveParameters }, { buildStackGraph, renderGraph }, { collectReferences }] = await Promise.all([
      import('../../stack/load.js'),
      import('../../stack/evaluate.js'),
      import('../../stack/langext.js'),
      import('../../stack/params.js'),
      import('../../stack/graph.js'),
      import('../../stack/refs.js'),
    ]);
    const doc = await loadTemplateFile(isAbsolute(file) ? file : resolve(io.cwd, file), file, io.stdin);
    if (hasErrors(doc.diagnostics) || doc.value === undefined) {
      for (const d of doc.diagnostics) io.err(formatDiagnostic(d, file) + '\n');
      return 1;
    }
    // When the conditions can be decided, draw what would be deployed; otherwise the template as
    // written. Parameters that no condition uses need no value here.
    const resolved = resolveParameters(doc.value, params);
    const t = doc.value as Record<string, unknown>;
    const missing = Object.keys(typeof t.Parameters === 'object' && t.Parameters ? t.Parameters : {}).filter((p) => !(p in resolved.values));
    const condRefs = new Set(collectReferences(t.Conditions).map((r) => r.target));
    const blocking = missing.filter((m) => condRefs.has(m));
    const evaluated = evaluateTemplate(doc.value, { parameters: params, pseudo: region ? { region } : {}, requireAllParameters: false });
    let source: unknown = evaluated.template;
    if (blocking.length || hasErrors(evaluated.diagnostics)) {
      const bad = resolved.diagnostics.find((d) => d.severity === 'error' && blocking.includes(String(d.segments?.[1])));
      const why = bad ? bad.message : blocking.length ? `no value for ${blocking.join(', ')}` : evaluated.diagnostics.find((d) => d.severity === 'error')!.message;
      io.err(`${file}: note: conditions not applied (${why}); showing every resource\n`);
      source = expandLanguageExtensions(doc.value, resolved.values).template;
    }
    const sg = buildStackGraph(source);
    let drawn: Pick<typeof sg, 'graph' | 'edges'> = sg;
    if (flagBool(args, 'reduce') && sg.diagnostics.length === 0) {
      const reduced = sg.graph.reduce();
      drawn = { graph: reduced, edges: sg.edges.filter((e) => reduced.dependencies(e.from).includes(e.to)) };
    }
    io.out(renderGraph(drawn, format as (typeof FORMATS)[number]));
    const located = locate(sg.diagnostics, doc);
    for (const d of sortDiagnostics(located)) io.err(formatDiagnostic(d, file) + '\n');
    return sg.diagnostics.length ? 1 : 0;
  },
};
