// `kiln graph TEMPLATE`: the resource dependency graph (Ref, Fn::GetAtt, Fn::Sub, DependsOn) and
// the waves of creation, as text, Graphviz dot, Mermaid, or a picture (SVG, a self-contained HTML page).
import { basename, isAbsolute, resolve } from 'node:path';
import { formatDiagnostic, hasErrors, sortDiagnostics } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { locate } from '../../core/source.js';
import { flagBool, flagList, flagString, keyValues, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import type { StackGraph } from '../../stack/graph.js';

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

/**
 * The graph of what a template would deploy: when the conditions can be decided (every parameter a
 * condition uses has a value), resources whose condition is false are left out; otherwise every
 * resource is drawn and `note` says why. Parameters that no condition uses need no value.
 */
export async function templateGraph(template: unknown, params: Record<string, string>, region?: string): Promise<{ graph: StackGraph; note?: string }> {
  const [{ evaluateTemplate }, { expandLanguageExtensions }, { resolveParameters }, { buildStackGraph }, { collectReferences }] = await Promise.all([
    import('../../stack/evaluate.js'),
    import('../../stack/langext.js'),
    import('../../stack/params.js'),
    import('../../stack/graph.js'),
    import('../../stack/refs.js'),
  ]);
  const resolved = resolveParameters(template, params);
  const t = template as Record<string, unknown>;
  const missing = Object.keys(typeof t.Parameters === 'object' && t.Parameters ? t.Parameters : {}).filter((p) => !(p in resolved.values));
  const condRefs = new Set(collectReferences(t.Conditions).map((r) => r.target));
  const blocking = missing.filter((m) => condRefs.has(m));
  const evaluated = evaluateTemplate(template, { parameters: params, pseudo: region ? { region } : {}, requireAllParameters: false });
  if (blocking.length || hasErrors(evaluated.diagnostics)) {
    const bad = resolved.diagnostics.find((d) => d.severity === 'error' && blocking.includes(String(d.segments?.[1])));
    const why = bad ? bad.message : blocking.length ? `no value for ${blocking.join(', ')}` : evaluated.diagnostics.find((d) => d.severity === 'error')!.message;
    return { graph: buildStackGraph(expandLanguageExtensions(template, resolved.values).template), note: `conditions not applied (${why}); showing every resource` };
  }
  return { graph: buildStackGraph(evaluated.template) };
}

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

    const [{ loadTemplateFile }, { renderGraph }] = await Promise.all([import('../../stack/load.js'), import('../../stack/graph.js')]);
    const doc = await loadTemplateFile(isAbsolute(file) ? file : resolve(io.cwd, file), file);
    if (hasErrors(doc.diagnostics) || doc.value === undefined) {
      for (const d of doc.diagnostics) io.err(formatDiagnostic(d, file) + '\n');
      return 1;
    }
    const t = doc.value as Record<string, unknown>;
    const { graph: sg, note } = await templateGraph(doc.value, params, region);
    if (note) io.err(`${file}: note: ${note}\n`);
    let drawn: Pick<typeof sg, 'graph' | 'edges'> = sg;
    if (flagBool(args, 'reduce') && sg.diagnostics.length === 0) {
      const reduced = sg.graph.reduce();
      drawn = { graph: reduced, edges: sg.edges.filter((e) => reduced.dependencies(e.from).includes(e.to)) };
    }
    if (format === 'svg' || format === 'html') {
      const { graphPicture } = await import('../../ui/pictures.js');
      let waves: string[][] | undefined;
      let cycles: string[][] | undefined;
      try {
        waves = drawn.graph.waves();
      } catch {
        cycles = drawn.graph.cycles();
      }
      const nodes = drawn.graph.nodes().map((id) => ({ id, type: drawn.graph.get(id)!.type }));
      const description = typeof t.Description === 'string' ? { description: t.Description } : {};
      io.out(graphPicture({ nodes, edges: drawn.edges, ...(waves ? { waves } : {}), ...(cycles ? { cycles } : {}) }, format, { title: basename(file), ...description }));
    } else io.out(renderGraph(drawn, format as 'text' | 'dot' | 'mermaid'));
    const located = locate(sg.diagnostics, doc);
    for (const d of sortDiagnostics(located)) io.err(formatDiagnostic(d, file) + '\n');
    return sg.diagnostics.length ? 1 : 0;
  },
};
