// The dependency graph of what a template would deploy, from its file: load → parameters →
// conditions → graph, and what a drawing of it needs (the edges drawn, the waves or the cycles,
// diagnostics with positions). `kiln graph` and `kiln plan --format html` only render it.
import { hasErrors, type Diagnostic } from '../core/diagnostics.js';
import { locate, type SourceDoc } from '../core/source.js';
import { evaluateTemplate } from './evaluate.js';
import { expandLanguageExtensions } from './langext.js';
import { resolveParameters } from './params.js';
import { buildStackGraph, type StackGraph } from './graph.js';
import { collectReferences } from './refs.js';
import { loadTemplateFile } from './load.js';

/**
 * The graph of what a template would deploy: when the conditions can be decided (every parameter a
 * condition uses has a value), resources whose condition is false are left out; otherwise every
 * resource is drawn and `note` says why. Parameters that no condition uses need no value.
 */
function templateGraph(template: unknown, params: Record<string, string>, region?: string): { graph: StackGraph; note?: string } {
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

/** A template file's graph as `kiln graph` draws it. */
type TemplateGraphView =
  | { ok: false; doc: SourceDoc; diagnostics: readonly Diagnostic[] }
  | {
      ok: true;
      doc: SourceDoc;
      graph: StackGraph;
      /** What is drawn: every edge, or with `reduce` only those no other path implies. */
      drawn: Pick<StackGraph, 'graph' | 'edges'>;
      /** The creation waves, or the cycles that make them impossible. */
      waves?: string[][];
      cycles?: string[][];
      note?: string;
      /** The graph's problems (a cycle, a reference to nothing), with positions. */
      diagnostics: Diagnostic[];
    };

export async function templateFileGraph(path: string, displayName: string, o: { params: Record<string, string>; region?: string; reduce?: boolean }): Promise<TemplateGraphView> {
  const doc = await loadTemplateFile(path, displayName);
  if (hasErrors(doc.diagnostics) || doc.value === undefined) return { ok: false, doc, diagnostics: doc.diagnostics };
  const { graph, note } = templateGraph(doc.value, o.params, o.region);
  let drawn: Pick<StackGraph, 'graph' | 'edges'> = graph;
  if (o.reduce && graph.diagnostics.length === 0) {
    const reduced = graph.graph.reduce();
    drawn = { graph: reduced, edges: graph.edges.filter((e) => reduced.dependencies(e.from).includes(e.to)) };
  }
  let waves: string[][] | undefined;
  let cycles: string[][] | undefined;
  try {
    waves = drawn.graph.waves();
  } catch {
    cycles = drawn.graph.cycles();
  }
  return { ok: true, doc, graph, drawn, ...(waves ? { waves } : {}), ...(cycles ? { cycles } : {}), ...(note ? { note } : {}), diagnostics: locate(graph.diagnostics, doc) };
}
