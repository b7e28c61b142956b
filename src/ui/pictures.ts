// The static pictures of the CLI, each one self-contained file that opens offline:
//
//   graphPicture(graph, 'svg' | 'html', meta)   `kiln graph TEMPLATE --format svg|html`
//   timelinePage(events, meta)                   `kiln events --stack NAME --chart FILE.html`
//   planPage(plan, edges, meta)                  `kiln plan … --format html`
//
// Inputs are data already masked by the engine (NoEcho values never reach here).
import type { Plan, Step } from '../stack/plan.js';
import { summarize } from '../stack/plan.js';
import type { StackEvent } from '../state/store.js';
import type { Json } from '../stack/model.js';
import { esc, page, pill, duration, when, toneOf } from './html.js';
import { categoryLegend, graphSvg, layoutGraph, shortType, type EdgeSpec, type NodeSpec } from './graph.js';
import { ganttLegend, ganttSvg, timeline, type Timeline } from './timeline.js';
import { graphHover, invoke } from './browser.js';

interface PictureGraph {
  nodes: Array<{ id: string; type: string }>;
  edges: EdgeSpec[];
  /** Creation waves, when the graph has no cycle. */
  waves?: string[][];
  cycles?: string[][];
}

/** `kiln graph --format svg` (a lone SVG document) or `--format html` (a page with the waves). */
export function graphPicture(g: PictureGraph, format: 'svg' | 'html', meta: { title: string; description?: string }): string {
  const laid = layoutGraph(g.nodes, g.edges);
  if (format === 'svg') return `<?xml version="1.0" encoding="UTF-8"?>\n${graphSvg(laid, { standalone: true, title: meta.title })}\n`;
  const n = g.nodes.length;
  const e = g.edges.length;
  const waveRows = (g.waves ?? []).map((w, i) => `<tr><td class="k">wave ${i + 1}</td><td>${w.map((id) => `<span class="chip">${esc(id)}</span>`).join(' ')}</td></tr>`).join('');
  const body = `
<div class="title"><h1>${esc(meta.title)}</h1></div>
${meta.description ? `<p class="sub" style="margin-bottom:4px">${esc(meta.description)}</p>` : ''}
<p class="sub">${n} resource${n === 1 ? '' : 's'}, ${e} dependenc${e === 1 ? 'y' : 'ies'}${g.waves ? `, ${g.waves.length} wave${g.waves.length === 1 ? '' : 's'} of creation` : ''}. Arrows follow creation order; dashed ones are DependsOn alone. Hover a resource to see what it needs and what needs it.</p>
${g.cycles?.length ? `<div class="banner bad"><b>Circular dependency</b><span>${g.cycles.map((c) => esc(c.join(' → '))).join('<br>')}</span></div>` : ''}
<div class="card">${categoryLegend(g.nodes.map((x) => x.type))}<div class="graph-wrap">${graphSvg(laid, { title: meta.title })}</div></div>
${waveRows ? `<div class="card flush"><h2>Waves (created in parallel)</h2><table>${waveRows}</table></div>` : ''}
<footer>drawn by kiln graph</footer>`;
  return page({ title: meta.title, body, script: invoke(graphHover, 'document') });
}

/** Timeline summary: `3 created, 1 replaced…` from the bars. */
function timelineCounts(tl: Timeline): string {
  const n = (k: string) => tl.rows.filter((r) => r.bars.some((b) => b.kind === k && b.status.endsWith('_COMPLETE'))).length;
  const parts: string[] = [];
  for (const [k, word] of [
    ['create', 'created'],
    ['update', 'updated'],
    ['replace', 'replaced'],
    ['delete', 'deleted'],
    ['rollback', 'rolled back'],
  ] as const)
    if (n(k)) parts.push(`${n(k)} ${word}`);
  const failed = tl.rows.filter((r) => r.failed).length;
  if (failed) parts.push(`${failed} failed`);
  return parts.join(', ');
}

/** The timeline card (chart, legend, failures): shared by the chart file and the stack page. */
export function timelineCard(tl: Timeline, o: { heading?: string } = {}): string {
  if (tl.rows.length === 0 && tl.phases.length === 0) return `<div class="card"><h2>${esc(o.heading ?? 'Timeline')}</h2><div class="empty">No events.</div></div>`;
  const failures = tl.rows.filter((r) => r.failed);
  return `<div class="card" id="timeline"><h2>${esc(o.heading ?? 'Timeline')}</h2>
<p class="muted" style="margin:-6px 0 10px">${tl.status ? pill(tl.status) : ''} ${duration(tl.span)}${timelineCounts(tl) ? ` · ${esc(timelineCounts(tl))}` : ''}${tl.deployment ? ` · <span class="mono">${esc(tl.deployment)}</span>` : ''}${tl.startedAt ? ` · ${esc(when(tl.startedAt))}` : ''}</p>
${ganttLegend(tl)}<div class="scroll">${ganttSvg(tl)}</div>
${failures.length ? `<div class="banner bad" style="margin:14px 0 0"><div>${failures.map((r) => `<b>${esc(r.logicalId)}</b> ${esc(r.failed!.status)}: ${esc(r.failed!.reason)}`).join('<br>')}</div></div>` : ''}
</div>`;
}

/** The events as a table (newest last). */
export function eventsTable(events: readonly StackEvent[]): string {
  const rows = events
    .map(
      (e) =>
        `<tr><td class="mono faint">${esc(e.timestamp.slice(11, 23))}</td><td class="k">${esc(e.logicalId)}</td><td>${pill(e.status)}</td><td class="mono muted">${esc(e.physicalId ?? '')}</td><td class="muted">${esc(e.reason ?? '')}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>time</th><th>resource</th><th>status</th><th>physical id</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** `kiln events --stack NAME --chart FILE.html`: the Gantt chart of one deployment and its events. */
export function timelinePage(events: readonly StackEvent[], meta: { stack: string }): string {
  const tl = timeline(events);
  const title = `${meta.stack}: ${tl.status ?? 'events'}`;
  const body = `
<div class="title"><h1>Stack ${esc(meta.stack)}</h1>${tl.status ? pill(tl.status) : ''}</div>
<p class="sub">${tl.reason && toneOf(tl.status) === 'bad' ? esc(tl.reason) : `Deployment ${esc(tl.deployment ?? '')}, ${events.length} events.`}</p>
${timelineCard(tl)}
<div class="card flush"><h2>Events</h2><div class="scroll">${eventsTable(events)}</div></div>
<footer>drawn by kiln events --chart</footer>`;
  return page({ title, body });
}

const SYMBOL: Record<Step['kind'], string> = { create: '+', update: '~', replace: '±', delete: '−', noop: '=' };

function stepDetail(s: Step): string {
  const chips = (xs: readonly string[], cls = '') => xs.map((p) => `<span class="chip${cls}">${esc(p)}</span>`).join('');
  switch (s.kind) {
    case 'create':
      return '<span class="muted">create</span>';
    case 'update':
      return `update ${chips(s.changed)}${s.afterApply.length ? ` <span class="muted">known after apply:</span> ${chips(s.afterApply)}` : ''}`;
    case 'replace':
      return `<b>replace</b> because ${chips(s.because, ' replace')} <span class="muted">— the new copy is created first, the old one deleted in the cleanup phase</span>${s.changed.length > s.because.length ? ` <span class="muted">also changed:</span> ${chips(s.changed.filter((c) => !s.because.includes(c)))}` : ''}`;
    case 'delete':
      return s.policy === 'Retain' || s.policy === 'RetainExceptOnCreate' ? `delete <span class="muted">(DeletionPolicy ${esc(s.policy)}: kept, removed from the stack)</span>` : 'delete';
    case 'noop':
      return '<span class="faint">no change</span>';
  }
}

/** `kiln plan … --format html`: the change set as a page, replacements highlighted. */
export function planPage(plan: Plan, edges: readonly EdgeSpec[], meta: { stack: string; isCreate: boolean; parameters: Record<string, Json>; refusals?: string[] }): string {
  const n = summarize(plan);
  const nodes: NodeSpec[] = plan.steps.map((s) => ({
    id: s.id,
    type: s.type,
    action: s.kind,
    lines: [{ text: s.kind === 'replace' ? `replace: ${s.because.join(', ')}` : s.kind === 'update' ? `update: ${s.changed.join(', ')}` : s.kind === 'noop' ? 'no change' : s.kind, cls: 'st' }],
    title: `${SYMBOL[s.kind]} ${s.id} (${s.type})`,
  }));
  const laid = layoutGraph(nodes, edges);
  const count = (k: keyof typeof n, label: string, cls: string) => `<div class="count"><b class="${cls}">${n[k]}</b><span>${label}</span></div>`;
  const rows = plan.steps
    .map(
      (s) =>
        `<tr class="a-${s.kind}"><td><span class="sym a-${s.kind}">${SYMBOL[s.kind]}</span></td><td class="k">${esc(s.id)}</td><td class="muted">${esc(shortType(s.type))}${s.noLocalEffect ? ' <span class="faint">(no local effect)</span>' : ''}</td><td>${stepDetail(s)}</td></tr>`,
    )
    .join('');
  const params = Object.entries(meta.parameters)
    .map(
      ([k, v]) =>
        `<tr><td class="k">${esc(k)}</td><td>${v === '****' ? '<span class="masked">****</span> <span class="faint">NoEcho</span>' : `<span class="mono">${esc(typeof v === 'string' ? v : JSON.stringify(v))}</span>`}</td></tr>`,
    )
    .join('');
  const headline = plan.changes ? `${n.create} to create, ${n.update} to update, ${n.replace} to replace, ${n.delete} to delete` : 'no changes';
  const body = `
<div class="title"><h1>Plan for stack ${esc(meta.stack)}</h1>${meta.isCreate ? '<span class="pill t-idle">new stack</span>' : ''}</div>
<p class="sub">${esc(headline)}; ${n.noop} unchanged. This is what <code>kiln deploy</code> would do now; nothing has changed yet.</p>
${(meta.refusals ?? []).map((r) => `<div class="banner bad"><b>deploy would refuse</b><span>${esc(r)}</span></div>`).join('')}
<div class="counts">${count('create', 'to create', 'a-create')}${count('update', 'to update', 'a-update')}${count('replace', 'to replace', 'a-replace')}${count('delete', 'to delete', 'a-delete')}${count('noop', 'unchanged', 'a-noop')}</div>
<div class="card"><h2>Change set</h2><div class="legend"><span><i style="background:#4ade80"></i>create</span><span><i style="background:#fbbf24"></i>update in place</span><span><i style="background:#a78bfa"></i>replace (create first)</span><span><i style="background:#f87171"></i>delete</span><span><i style="background:#e2e8f0"></i>unchanged</span></div><div class="graph-wrap">${graphSvg(laid, { title: `plan for ${meta.stack}` })}</div></div>
<div class="card flush"><h2>Steps</h2><table><thead><tr><th></th><th>resource</th><th>type</th><th>what happens</th></tr></thead><tbody>${rows}</tbody></table></div>
${params ? `<div class="card flush"><h2>Parameters</h2><table>${params}</table></div>` : ''}
<footer>drawn by kiln plan --format html</footer>`;
  return page({ title: `plan: ${meta.stack}`, body, script: invoke(graphHover, 'document') });
}
