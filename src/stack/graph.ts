// The resource dependency graph of a template (reference §7): an edge for every Ref, Fn::GetAtt,
// Fn::Sub variable and DependsOn between resources (refs.ts finds them), creation waves, and three
// renderers.
//
//   buildStackGraph(template) -> { graph: Dag<GraphNode>, edges: GraphEdge[], diagnostics }
//   stackWaves(graph) -> string[][]             creation order (throws DagCycleError on a cycle)
//   renderGraph(graph, edges, 'text' | 'dot' | 'mermaid') -> string
//
// Works on a raw template (every resource, every branch of Fn::If) and on a ResolvedTemplate
// (evaluate.ts: resources whose condition is false are gone, and so are the edges of untaken Fn::If
// branches) — the executor should build it from the ResolvedTemplate. Cycles are diagnostics
// (E3004, the path `A -> B -> A`). Pure.
import type { Diagnostic } from '../core/diagnostics.js';
import { Dag, DagCycleError } from '../core/dag.js';
import { resourceDependencies, type ReferenceKind } from './refs.js';

interface GraphNode {
  id: string;
  type: string;
}

interface GraphEdge {
  /** The resource that waits. */
  from: string;
  /** The resource it waits for. */
  to: string;
  /** How it refers to it (Ref, GetAtt, Sub, DependsOn), each kind once. */
  via: ReferenceKind[];
}

export interface StackGraph {
  graph: Dag<GraphNode>;
  edges: GraphEdge[];
  diagnostics: Diagnostic[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function buildStackGraph(template: unknown): StackGraph {
  const graph = new Dag<GraphNode>();
  const resources = isObj(template) && isObj(template.Resources) ? template.Resources : {};
  for (const [id, r] of Object.entries(resources)) graph.add(id, { id, type: isObj(r) && typeof r.Type === 'string' ? r.Type : '?' });
  const edges: GraphEdge[] = [];
  for (const [from, deps] of resourceDependencies(template)) {
    const byTarget = new Map<string, ReferenceKind[]>();
    for (const d of deps) {
      const via = byTarget.get(d.on) ?? [];
      if (!via.includes(d.via)) via.push(d.via);
      byTarget.set(d.on, via);
    }
    for (const [to, via] of byTarget) {
      graph.dependOn(from, to);
      edges.push({ from, to, via });
    }
  }
  const diagnostics: Diagnostic[] = graph.cycles().map((c) => ({
    severity: 'error',
    code: 'E3004',
    message: `Circular dependency between resources: ${c.join(' -> ')}`,
    segments: ['Resources', c[0]!],
  }));
  return { graph, edges, diagnostics };
}

/** Creation waves of a stack graph (resources in a wave can be created in parallel). */
export function stackWaves(g: Dag<GraphNode>): string[][] {
  return g.waves();
}

type GraphFormat = 'text' | 'dot' | 'mermaid';

const dotId = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
const mermaidId = (s: string) => `n_${s.replace(/[^A-Za-z0-9_]/g, '_')}`;
const mermaidText = (s: string) => s.replace(/["<>]/g, (c) => (c === '"' ? '#quot;' : c === '<' ? '#lt;' : '#gt;'));

/**
 * Draws the graph. Arrows follow creation order: `Vpc -> Subnet` means Vpc is created first
 * (Subnet refers to Vpc). A cyclic graph is drawn with its cycles listed instead of waves.
 */
export function renderGraph(sg: Pick<StackGraph, 'graph' | 'edges'>, format: GraphFormat): string {
  const g = sg.graph;
  let waves: string[][] | undefined;
  let cycles: string[][] = [];
  try {
    waves = g.waves();
  } catch (e) {
    if (!(e instanceof DagCycleError)) throw e;
    cycles = e.cycles;
  }
  const label = (e: GraphEdge) => e.via.join(',');
  const groups = waves ?? [g.nodes()];
  switch (format) {
    case 'text': {
      const lines: string[] = [];
      if (!waves) lines.push(...cycles.map((c) => `cycle: ${c.join(' -> ')}`), '');
      const width = g.nodes().reduce((m, n) => Math.max(m, n.length), 0);
      const byFrom = new Map<string, GraphEdge[]>();
      for (const e of sg.edges) byFrom.set(e.from, [...(byFrom.get(e.from) ?? []), e]);
      groups.forEach((w, i) => {
        lines.push(waves ? `wave ${i + 1}` : 'resources');
        for (const id of w) {
          const deps = (byFrom.get(id) ?? []).map((e) => `${e.to} (${label(e)})`);
          lines.push(`  ${id.padEnd(width)}  ${g.get(id)!.type}${deps.length ? `  <- ${deps.join(', ')}` : ''}`);
        }
      });
      const n = g.size;
      const e = sg.edges.length;
      lines.push(`${n} resource${n === 1 ? '' : 's'}, ${e} dependenc${e === 1 ? 'y' : 'ies'}${waves ? `, ${waves.length} wave${waves.length === 1 ? '' : 's'}` : ''}`);
      return lines.join('\n') + '\n';
    }
    case 'dot': {
      const lines = ['digraph stack {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];'];
      groups.forEach((w, i) => {
        lines.push(`  subgraph wave_${i + 1} {`, '    rank=same;');
        for (const id of w) lines.push(`    ${dotId(id)} [label=${dotId(`${id}\\n${g.get(id)!.type}`).replace(/\\\\n/g, '\\n')}];`);
        lines.push('  }');
      });
      for (const e of sg.edges) lines.push(`  ${dotId(e.to)} -> ${dotId(e.from)} [label=${dotId(label(e))}];`);
      if (!waves) for (const c of cycles) lines.push(`  // cycle: ${c.join(' -> ')}`);
      lines.push('}');
      return lines.join('\n') + '\n';
    }
    case 'mermaid': {
      const lines = ['flowchart LR'];
      groups.forEach((w, i) => {
        lines.push(`  subgraph wave${i + 1}["${waves ? `wave ${i + 1}` : 'resources'}"]`);
        for (const id of w) lines.push(`    ${mermaidId(id)}["${mermaidText(id)}<br/>${mermaidText(g.get(id)!.type)}"]`);
        lines.push('  end');
      });
      for (const e of sg.edges) lines.push(`  ${mermaidId(e.to)} -->|${label(e)}| ${mermaidId(e.from)}`);
      if (!waves) for (const c of cycles) lines.push(`  %% cycle: ${c.join(' -> ')}`);
      return lines.join('\n') + '\n';
    }
  }
}
