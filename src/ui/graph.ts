// A resource dependency graph as SVG: laid out by dagre (layered, left to right in creation order:
// `Vpc → Subnet` means the subnet waits for the VPC), drawn here as cards with a colour bar for the
// kind of resource and, when a state or a plan action is given, tinted by it. The same drawing
// serves `kiln graph --format svg|html`, `kiln plan --format html` and the live stack page of
// `kiln ui`, whose script finds nodes by `data-id` and changes their class and status line.
import dagre from '@dagrejs/dagre';
import { esc, FONT, MONO, toneOf, type Tone } from './html.js';
import { fit, textWidth } from './text.js';

export interface NodeLine {
  text: string;
  /** `mono` for ids, `st` for the status line the live page rewrites, `bad` for a failure reason. */
  cls?: 'mono' | 'st' | 'bad' | 'pid';
}

export interface NodeSpec {
  id: string;
  type: string;
  /** A CloudFormation status: tints the node (and writes nothing by itself; add a line for that). */
  status?: string;
  /** A plan action (create, update, replace, delete, noop): tints the node instead of a status. */
  action?: string;
  /** Planned, not started: drawn dashed. */
  pending?: boolean;
  /** Lines under the id and type. */
  lines?: NodeLine[];
  /** Tooltip. */
  title?: string;
  /** Extra `data-*` attributes (names without the prefix). */
  data?: Record<string, string>;
  /** Room for text that arrives later (a physical id not known yet). */
  minWidth?: number;
}

export interface EdgeSpec {
  /** The resource that waits. */
  from: string;
  /** The resource it waits for. */
  to: string;
  /** How it refers to it (Ref, GetAtt, Sub, DependsOn). */
  via?: readonly string[];
}

interface LaidOut {
  width: number;
  height: number;
  nodes: Array<NodeSpec & { x: number; y: number; w: number; h: number }>;
  edges: Array<EdgeSpec & { points: Array<{ x: number; y: number }> }>;
}

const ID_PX = 13;
const TYPE_PX = 11;
const LINE_PX = 11;
const MIN_W = 150;
const MAX_W = 290;
const PAD_X = 18;

/** `AWS::EC2::Instance` → `EC2 · Instance`. */
export function shortType(type: string): string {
  const parts = type.split('::');
  return parts.length === 3 && parts[0] === 'AWS' ? `${parts[1]} · ${parts[2]}` : type;
}

/** The family of a resource type, for the colour bar: network, security, compute, balancer, data, storage, other. */
function categoryOf(type: string): string {
  if (/^AWS::EC2::(VPC|Subnet|RouteTable|Route|InternetGateway|VPCGatewayAttachment|NatGateway|EIP|NetworkAcl|SubnetRouteTableAssociation|NetworkInterface|VPCEndpoint)/.test(type)) return 'network';
  if (/^AWS::(EC2::SecurityGroup|IAM::|KMS::|SecretsManager::|SSM::)/.test(type)) return 'security';
  if (/^AWS::(EC2::(Instance|LaunchTemplate)|AutoScaling::|Lambda::|ECS::)/.test(type)) return 'compute';
  if (/^AWS::ElasticLoadBalancing/.test(type)) return 'balancer';
  if (/^AWS::(ElastiCache|RDS|DynamoDB)::/.test(type)) return 'data';
  if (/^AWS::(S3|EFS)::/.test(type)) return 'storage';
  return 'other';
}

const CATEGORY_COLORS: Record<string, string> = {
  network: '#6366f1',
  security: '#e11d48',
  compute: '#f97316',
  balancer: '#8b5cf6',
  data: '#2563eb',
  storage: '#16a34a',
  other: '#94a3b8',
};

function nodeSize(n: NodeSpec): { w: number; h: number } {
  const widths = [
    textWidth(n.id, ID_PX, { bold: true }),
    textWidth(shortType(n.type), TYPE_PX),
    ...(n.lines ?? []).map((l) => textWidth(l.text, LINE_PX, { mono: l.cls === 'mono' || l.cls === 'pid' })),
  ];
  const w = Math.min(MAX_W, Math.max(MIN_W, n.minWidth ?? 0, Math.ceil(Math.max(...widths) + PAD_X * 2 + 8)));
  return { w, h: 44 + (n.lines?.length ?? 0) * 16 };
}

/** Positions nodes and routes edges (dependency → dependent, left to right). Pure. */
export function layoutGraph(nodes: readonly NodeSpec[], edges: readonly EdgeSpec[]): LaidOut {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 22, ranksep: 64, edgesep: 12, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) {
    const size = nodeSize(n);
    g.setNode(n.id, { width: size.w, height: size.h });
  }
  const kept = edges.filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to);
  for (const e of kept) g.setEdge(e.to, e.from);
  dagre.layout(g);
  const graph = g.graph();
  return {
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
    nodes: nodes.map((n) => {
      const p = g.node(n.id);
      return { ...n, x: p.x - p.width / 2, y: p.y - p.height / 2, w: p.width, h: p.height };
    }),
    edges: kept.map((e) => ({ ...e, points: (g.edge(e.to, e.from)?.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y })) })),
  };
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** A smooth path through dagre's points: straight ends, quadratic bends at the inner points. */
function edgePath(pts: ReadonlyArray<{ x: number; y: number }>): string {
  if (pts.length === 0) return '';
  let d = `M${r1(pts[0]!.x)},${r1(pts[0]!.y)}`;
  for (let i = 1; i < pts.length - 1; i++) {
    const p = pts[i]!;
    const q = pts[i + 1]!;
    d += ` Q${r1(p.x)},${r1(p.y)} ${r1((p.x + q.x) / 2)},${r1((p.y + q.y) / 2)}`;
  }
  const last = pts[pts.length - 1]!;
  return `${d} L${r1(last.x)},${r1(last.y)}`;
}

/** The graph's own styles (inside the SVG, so a lone .svg file looks the same as in a page). */
const GRAPH_CSS = `
.kg{font-family:${FONT}}
.kg .box{fill:#fff;stroke:#cbd5e1;stroke-width:1.2}
.kg .node:hover .box{stroke:#0f172a}
.kg .id{font-size:${ID_PX}px;font-weight:650;fill:#0f172a}
.kg .ty{font-size:${TYPE_PX}px;fill:#64748b}
.kg .ln{font-size:${LINE_PX}px;fill:#475569}
.kg .ln.mono,.kg .ln.pid{font-family:${MONO};font-size:10.5px}
.kg .ln.st{font-weight:650;letter-spacing:.2px}
.kg .ln.bad{fill:#b91c1c}
.kg .sd{fill:none}
.kg .edge{fill:none;stroke:#94a3b8;stroke-width:1.4}
.kg .edge.dep{stroke-dasharray:5 4}
.kg .hl .edge,.kg .edge.hl{stroke:#ea580c;stroke-width:2.2}
.kg.focus .node{opacity:.35}.kg.focus .node.hl{opacity:1}.kg.focus .edge{opacity:.25}.kg.focus .edge.hl{opacity:1}
.kg .t-ok .box{fill:#f0fdf4;stroke:#86efac}.kg .t-ok .sd,.kg .t-ok .st{fill:#15803d}
.kg .t-busy .box{fill:#fffbeb;stroke:#f59e0b;stroke-width:1.8}.kg .t-busy .sd,.kg .t-busy .st{fill:#b45309}
.kg .t-bad .box{fill:#fef2f2;stroke:#ef4444;stroke-width:2}.kg .t-bad .sd,.kg .t-bad .st{fill:#b91c1c}
.kg .t-undo .box{fill:#fff7ed;stroke:#fb923c;stroke-width:1.8}.kg .t-undo .sd,.kg .t-undo .st{fill:#c2410c}
.kg .t-gone .box{fill:#f8fafc;stroke:#cbd5e1;stroke-dasharray:4 3}.kg .t-gone .id{fill:#94a3b8;text-decoration:line-through}.kg .t-gone .sd,.kg .t-gone .st{fill:#94a3b8}
.kg .pending .box{fill:#fff;stroke:#94a3b8;stroke-dasharray:5 4}.kg .pending .id{fill:#475569}
.kg .failed .box{stroke:#dc2626;stroke-width:2.2}
.kg .drifted .box{stroke:#ea580c;stroke-width:2.2;stroke-dasharray:3 2}
.kg .a-create .box{fill:#f0fdf4;stroke:#4ade80;stroke-width:1.8}.kg .a-create .sd{fill:#15803d}
.kg .a-update .box{fill:#fffbeb;stroke:#fbbf24;stroke-width:1.8}.kg .a-update .sd{fill:#b45309}
.kg .a-replace .box{fill:#f5f3ff;stroke:#a78bfa;stroke-width:2}.kg .a-replace .sd{fill:#7c3aed}
.kg .a-delete .box{fill:#fef2f2;stroke:#f87171;stroke-width:1.8;stroke-dasharray:5 3}.kg .a-delete .sd{fill:#b91c1c}.kg .a-delete .id{text-decoration:line-through}
.kg .a-noop .box{fill:#fff;stroke:#e2e8f0}.kg .a-noop .id{fill:#64748b}
`;

/** The class of a node: its tone (status) or action, pending and failed marks. */
function nodeClass(n: Pick<NodeSpec, 'status' | 'action' | 'pending'> & { failed?: boolean }): string {
  const cls = ['node'];
  if (n.action) cls.push(`a-${n.action}`);
  else if (n.status) cls.push(`t-${toneOf(n.status) as Tone}`);
  if (n.pending) cls.push('pending');
  if (n.failed) cls.push('failed');
  return cls.join(' ');
}

/**
 * The laid-out graph as an `<svg>` element. `standalone` adds the XML namespace declarations a lone
 * .svg file needs; `id` names the element for a page's script.
 */
export function graphSvg(g: LaidOut, o: { standalone?: boolean; id?: string; title?: string } = {}): string {
  const w = Math.max(g.width, 120);
  const h = Math.max(g.height, 60);
  const out: string[] = [];
  out.push(
    `<svg${o.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : ''}${o.id ? ` id="${esc(o.id)}"` : ''} class="kg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img"${o.title ? ` aria-label="${esc(o.title)}"` : ''}>`,
  );
  if (o.title) out.push(`<title>${esc(o.title)}</title>`);
  out.push(`<style>${GRAPH_CSS}</style>`);
  out.push(
    '<defs><marker id="kg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>',
  );
  out.push('<g class="edges">');
  for (const e of g.edges) {
    const only = e.via && e.via.length > 0 && e.via.every((v) => v === 'DependsOn');
    out.push(
      `<path class="edge${only ? ' dep' : ''}" data-from="${esc(e.to)}" data-to="${esc(e.from)}" d="${edgePath(e.points)}" marker-end="url(#kg-arrow)"><title>${esc(e.from)} waits for ${esc(e.to)}${e.via?.length ? ` (${esc(e.via.join(', '))})` : ''}</title></path>`,
    );
  }
  out.push('</g><g class="nodes">');
  for (const n of g.nodes) {
    const inner = n.w - PAD_X - 12;
    const cat = CATEGORY_COLORS[categoryOf(n.type)]!;
    const lines = (n.lines ?? []).map((l, i) => {
      const mono = l.cls === 'mono' || l.cls === 'pid';
      return `<text class="ln${l.cls ? ` ${l.cls}` : ''}" x="${PAD_X}" y="${54 + i * 16}">${esc(fit(l.text, inner, LINE_PX, { mono }))}</text>`;
    });
    out.push(
      `<g class="${nodeClass({ ...n, failed: (n.lines ?? []).some((l) => l.cls === 'bad') })}" data-id="${esc(n.id)}" data-type="${esc(n.type)}"${n.status ? ` data-status="${esc(n.status)}"` : ''}${Object.entries(
        n.data ?? {},
      )
        .map(([k, v]) => ` data-${k}="${esc(v)}"`)
        .join('')} transform="translate(${r1(n.x)},${r1(n.y)})">` +
        `<title>${esc(n.title ?? `${n.id} (${n.type})`)}</title>` +
        `<rect class="box" width="${n.w}" height="${n.h}" rx="9"/>` +
        `<path d="M9,0.6 H5 A4.4,4.4 0 0 0 0.6,5 V${n.h - 5} A4.4,4.4 0 0 0 5,${n.h - 0.6} H9 V0.6 z" fill="${cat}"/>` +
        `<circle class="sd" cx="${n.w - 13}" cy="14" r="4.5"/>` +
        `<text class="id" x="${PAD_X}" y="20">${esc(fit(n.id, inner - 10, ID_PX, { bold: true }))}</text>` +
        `<text class="ty" x="${PAD_X}" y="36">${esc(fit(shortType(n.type), inner, TYPE_PX))}</text>` +
        lines.join('') +
        '</g>',
    );
  }
  out.push('</g></svg>');
  return out.join('');
}

/** The colour legend of resource families, as HTML. */
export function categoryLegend(types: readonly string[]): string {
  const cats = [...new Set(types.map(categoryOf))];
  const names: Record<string, string> = {
    network: 'network',
    security: 'security & IAM',
    compute: 'compute',
    balancer: 'load balancing',
    data: 'database & cache',
    storage: 'storage',
    other: 'other',
  };
  return `<div class="legend">${cats.map((c) => `<span><i style="background:${CATEGORY_COLORS[c]}"></i>${esc(names[c])}</span>`).join('')}</div>`;
}
