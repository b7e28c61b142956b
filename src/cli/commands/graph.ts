// `kiln graph TEMPLATE`: the resource dependency graph (Ref, Fn::GetAtt, Fn::Sub, DependsOn) and
// the waves of creation, as text, Graphviz dot, Mermaid, or a picture (SVG, a self-contained HTML page).
import { basename, isAbsolute, resolve } from 'node:path';
import { formatDiagnostic, sortDiagnostics } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { flagBool, flagList, flagString, keyValues, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';

const FORMATS = ['text', 'dot', 'mermaid', 'svg', 'html'] as const;

const FLAGS: FlagSpec[] = [
  { names: ['format', 'f'], kind: 'string', valueName: 'text|dot|mermaid|svg|html', description: 'output format (default: text)' },
  { names: ['param'], kind: 'multi', valueName: 'KEY=VALUE', description: 'a parameter value (used to apply Conditions)' },
  { names: ['region'], kind: 'string', valueName: 'REGION', description: 'region for conditions on AWS::Region (default: us-east-1)' },
  { names: ['reduce'], kind: 'bool', description: 'draw only the edges not implied by others (transitive reduction)' },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

export const HELP = `Usage: kiln graph TEMPLATE [--format text|dot|mermaid|svg|html] [--param KEY=VALUE]... [--reduce]

Prints the dependency graph of a CloudFormation template's resources: an edge for every Ref,
Fn::GetAtt, Fn::Sub variable and DependsOn between resources, and the waves in which they would be
created (the resources of a wave do not depend on each other and are created in parallel).

When every parameter has a value (a Default or a --param), Conditions are applied first: resources
whose condition is false, and the edges of Fn::If branches not taken, are left out. Otherwise every
resource is shown (a note says so on stderr).

Arrows follow creation order: "A -> B" means A is created before B (B refers to A).
--format svg draws the graph as an SVG picture; --format html as a page with the picture and the
waves. Both are one self-contained file (no network needed to open it): kiln graph t.json -f html > g.html
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
    if (!(FORMATS as readonly string[]).includes(format)) throw new KilnError('USAGE', `graph: --format ${format}: expected one of ${FORMATS.join(', ')}`, 'user', { exitCode: 2 });
    const file = args.positionals[0]!;
    const params: Record<string, string> = {};
    for (const [k, v] of keyValues(flagList(args, 'param'), '--param')) params[k] = v;
    const region = flagString(args, 'region');

    const [{ templateFileGraph }, { renderGraph }] = await Promise.all([import('../../stack/template-graph.js'), import('../../stack/graph.js')]);
    const g = await templateFileGraph(isAbsolute(file) ? file : resolve(io.cwd, file), file, { params, ...(region ? { region } : {}), reduce: flagBool(args, 'reduce') });
    if (!g.ok) {
      for (const d of g.diagnostics) io.err(formatDiagnostic(d, file) + '\n');
      return 1;
    }
    if (g.note) io.err(`${file}: note: ${g.note}\n`);
    if (format === 'svg' || format === 'html') {
      const { graphPicture } = await import('../../ui/pictures.js');
      const t = g.doc.value as Record<string, unknown>;
      const nodes = g.drawn.graph.nodes().map((id) => ({ id, type: g.drawn.graph.get(id)!.type }));
      const description = typeof t.Description === 'string' ? { description: t.Description } : {};
      io.out(graphPicture({ nodes, edges: g.drawn.edges, ...(g.waves ? { waves: g.waves } : {}), ...(g.cycles ? { cycles: g.cycles } : {}) }, format, { title: basename(file), ...description }));
    } else io.out(renderGraph(g.drawn, format as 'text' | 'dot' | 'mermaid'));
    for (const d of sortDiagnostics(g.diagnostics)) io.err(formatDiagnostic(d, file) + '\n');
    return g.diagnostics.length ? 1 : 0;
  },
};
