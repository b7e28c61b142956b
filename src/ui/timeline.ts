// The timeline of one stack operation from its events, and its Gantt chart as SVG (in the spirit of
// `rain logs --chart`): one row per resource, one bar per step it went through (create, update,
// replacement, the cleanup phase's delete of the old copy, rollback), the stack's phases as bands
// behind the bars, the failing resource marked red with its reason.
//
//   timeline(events, now?) -> Timeline     pure: events in, bars out
//   ganttSvg(timeline) -> string           the chart
import type { StackEvent } from '../state/store.js';
import { esc, FONT, duration } from './html.js';
import { shortType } from './graph.js';
import { fit, textWidth } from './text.js';

const STACK_TYPE = 'AWS::CloudFormation::Stack';

type StepKind = 'create' | 'update' | 'replace' | 'delete' | 'cleanup' | 'rollback';

interface Bar {
  kind: StepKind;
  /** ms since the first event. */
  start: number;
  end: number;
  /** The status that closed the step (`CREATE_COMPLETE`, `UPDATE_FAILED`…); an `_IN_PROGRESS` one while it runs. */
  status: string;
  physicalId: string | null;
  /** The reason of a failed step. */
  reason?: string;
  /** Still running (or the run was cut off before the step ended). */
  open: boolean;
}

export interface Row {
  logicalId: string;
  type: string;
  bars: Bar[];
  /** The step that failed first in this row, with its reason. */
  failed?: { status: string; reason: string };
}

interface Phase {
  /** create, update, cleanup, rollback, rollback cleanup, delete. */
  label: string;
  status: string;
  start: number;
  end: number;
}

export interface Timeline {
  stack: string;
  deployment: string | null;
  startedAt: string | null;
  /** Total span in ms. */
  span: number;
  rows: Row[];
  phases: Phase[];
  /** The last stack status, and its reason. */
  status: string | null;
  reason: string | null;
}

const PHASE_LABEL: Record<string, string> = {
  CREATE_IN_PROGRESS: 'create',
  UPDATE_IN_PROGRESS: 'update',
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: 'cleanup',
  ROLLBACK_IN_PROGRESS: 'rollback',
  UPDATE_ROLLBACK_IN_PROGRESS: 'rollback',
  UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS: 'rollback cleanup',
  DELETE_IN_PROGRESS: 'delete',
};

const REPLACING = /requires the creation of a new physical resource/i;
const CANCELLED = /cancelled/i;

/** Builds the timeline of `events` (one deployment's, oldest first). `now` ends what is still open. */
export function timeline(events: readonly StackEvent[], now?: number): Timeline {
  const t0 = events.length ? Date.parse(events[0]!.timestamp) : 0;
  const at = (e: StackEvent) => Date.parse(e.timestamp) - t0;
  const last = events.length ? at(events[events.length - 1]!) : 0;
  const endOpen = now !== undefined ? Math.max(last, now - t0) : last;
  const phases: Phase[] = [];
  const rows = new Map<string, Row>();
  const open = new Map<string, Bar>();
  let phase = '';
  let status: string | null = null;
  let reason: string | null = null;
  let stack = '';
  for (const e of events) {
    const t = at(e);
    if (e.type === STACK_TYPE) {
      stack = e.logicalId;
      status = e.status;
      reason = e.reason;
      const cur = phases[phases.length - 1];
      if (cur && cur.end < 0) cur.end = t;
      const label = PHASE_LABEL[e.status];
      if (label) phases.push({ label, status: e.status, start: t, end: -1 });
      phase = label ?? '';
      continue;
    }
    let row = rows.get(e.logicalId);
    if (!row) rows.set(e.logicalId, (row = { logicalId: e.logicalId, type: e.type, bars: [] }));
    row.type = e.type;
    const bar = open.get(e.logicalId);
    if (e.status.endsWith('_IN_PROGRESS')) {
      if (bar) {
        if (e.physicalId) bar.physicalId = e.physicalId;
        if (REPLACING.test(e.reason ?? '')) bar.kind = 'replace';
        continue;
      }
      const kind: StepKind = phase.startsWith('rollback')
        ? 'rollback'
        : e.status.startsWith('DELETE')
          ? phase === 'cleanup'
            ? 'cleanup'
            : 'delete'
          : e.status.startsWith('CREATE')
            ? 'create'
            : REPLACING.test(e.reason ?? '')
              ? 'replace'
              : 'update';
      const b: Bar = { kind, start: t, end: t, status: e.status, physicalId: e.physicalId, open: true };
      row.bars.push(b);
      open.set(e.logicalId, b);
      continue;
    }
    // A terminal status: closes the open step (or stands alone, e.g. DELETE_SKIPPED).
    const b = bar ?? { kind: phase === 'cleanup' ? 'cleanup' : phase.startsWith('rollback') ? 'rollback' : 'delete', start: t, end: t, status: e.status, physicalId: e.physicalId, open: false };
    if (!bar) row.bars.push(b);
    b.end = t;
    b.status = e.status;
    b.open = false;
    if (e.physicalId) b.physicalId = e.physicalId;
    open.delete(e.logicalId);
    if (e.status.endsWith('_FAILED')) {
      if (e.reason) b.reason = e.reason;
      if (!row.failed && !CANCELLED.test(e.reason ?? '')) row.failed = { status: e.status, reason: e.reason ?? e.status };
    }
  }
  for (const b of open.values()) b.end = endOpen;
  const lastPhase = phases[phases.length - 1];
  if (lastPhase && lastPhase.end < 0) lastPhase.end = status?.endsWith('_IN_PROGRESS') ? endOpen : last;
  const sorted = [...rows.values()].sort((a, b) => (a.bars[0]?.start ?? 0) - (b.bars[0]?.start ?? 0) || a.logicalId.localeCompare(b.logicalId));
  return {
    stack,
    deployment: events[0]?.deployment ?? null,
    startedAt: events[0]?.timestamp ?? null,
    span: Math.max(endOpen, ...phases.map((p) => p.end)),
    rows: sorted,
    phases,
    status,
    reason,
  };
}

const BAR_COLORS: Record<StepKind, string> = {
  create: '#22c55e',
  update: '#f59e0b',
  replace: '#8b5cf6',
  delete: '#64748b',
  cleanup: '#94a3b8',
  rollback: '#f97316',
};
const PHASE_COLORS: Record<string, string> = {
  create: '#eff6ff',
  update: '#eff6ff',
  cleanup: '#f1f5f9',
  rollback: '#fff1f2',
  'rollback cleanup': '#fff1f2',
  delete: '#f8fafc',
};

/** A tick step (ms) giving 5–10 ticks over `span`. */
function tickStep(span: number): number {
  const steps = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000];
  return steps.find((s) => span / s <= 10) ?? 3_600_000;
}

function tickLabel(ms: number, step: number): string {
  if (step < 1000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 60_000 || step < 60_000) return ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s` : `${Math.round(ms / 1000)}s`;
  return `${Math.round(ms / 60_000)}m`;
}

const GANTT_CSS = `
.kt{font-family:${FONT}}
.kt .lbl{font-size:12.5px;font-weight:600;fill:#0f172a}
.kt .lty{font-size:10.5px;fill:#64748b}
.kt .tick{font-size:10.5px;fill:#64748b}
.kt .grid{stroke:#e2e8f0;stroke-width:1}
.kt .ph{font-size:10.5px;font-weight:600;text-transform:uppercase;letter-spacing:.6px}
.kt .bar{rx:4}
.kt .bar.open{opacity:.75}
.kt .bl{font-size:10.5px;fill:#fff;font-weight:600}
.kt .bo{font-size:10.5px;fill:#475569}
.kt .why{font-size:11px;fill:#b91c1c;font-weight:600;stroke:#fef2f2;stroke-width:3px;paint-order:stroke}
.kt .why.in{fill:#fff;stroke:none}
.kt .rowbg{fill:#fff}.kt .rowbg.alt{fill:#fafbfc}
.kt .rowbg.failed{fill:#fef2f2}
.kt .fx{stroke:#fff;stroke-width:1.8;stroke-linecap:round}
`;

/** The Gantt chart of a timeline. */
export function ganttSvg(tl: Timeline, o: { standalone?: boolean; id?: string; width?: number } = {}): string {
  const labelW = Math.min(300, Math.max(170, ...tl.rows.map((r) => Math.max(textWidth(r.logicalId, 12.5, { bold: true }), textWidth(shortType(r.type), 10.5)) + 28)));
  const chartW = Math.max(480, (o.width ?? 1180) - labelW - 24);
  const rowH = 34;
  const top = 50;
  const span = Math.max(tl.span, 1000);
  const x = (ms: number) => labelW + (ms / span) * chartW;
  const height = top + tl.rows.length * rowH + 16;
  const width = labelW + chartW + 24;
  const out: string[] = [];
  out.push(
    `<svg${o.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : ''}${o.id ? ` id="${esc(o.id)}"` : ''} class="kt" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline of ${esc(tl.stack)}">`,
  );
  out.push(`<style>${GANTT_CSS}</style>`);
  // Row backgrounds.
  tl.rows.forEach((r, i) => out.push(`<rect class="rowbg${r.failed ? ' failed' : i % 2 ? ' alt' : ''}" x="0" y="${top + i * rowH}" width="${width}" height="${rowH}"/>`));
  // Phase bands with their names; a name too close to the one before moves right of it.
  let labelEnd = 0;
  for (const p of tl.phases) {
    const x0 = x(p.start);
    const x1 = Math.max(x(p.end), x0 + 3);
    const color = PHASE_COLORS[p.label] ?? '#f8fafc';
    out.push(
      `<rect x="${x0.toFixed(1)}" y="${top - 22}" width="${(x1 - x0).toFixed(1)}" height="${height - top + 6}" fill="${color}" opacity="${p.label === 'create' || p.label === 'update' ? 0.55 : 0.95}"><title>${esc(p.status)}: ${duration(p.end - p.start)}</title></rect>`,
    );
    const tone = p.label.startsWith('rollback') ? '#be123c' : p.label === 'cleanup' ? '#475569' : '#1d4ed8';
    const lw = textWidth(p.label.toUpperCase(), 10.5, { bold: true });
    const lx = Math.min(Math.max(x0 + 5, labelEnd + 8), width - lw - 6);
    out.push(`<line x1="${x0.toFixed(1)}" y1="${top - 22}" x2="${x0.toFixed(1)}" y2="${top}" stroke="${tone}" stroke-width="1.5" opacity=".6"/>`);
    out.push(`<text class="ph" x="${lx.toFixed(1)}" y="${top - 8}" fill="${tone}">${esc(p.label)}</text>`);
    labelEnd = lx + lw + 6;
  }
  // Time axis.
  const step = tickStep(span);
  for (let t = 0; t <= span + 1; t += step) {
    const tx = x(t).toFixed(1);
    out.push(`<line class="grid" x1="${tx}" y1="${top}" x2="${tx}" y2="${height - 12}"/><text class="tick" x="${tx}" y="14" text-anchor="middle">${tickLabel(t, step)}</text>`);
  }
  out.push(`<line x1="${labelW}" y1="${top}" x2="${labelW + chartW}" y2="${top}" stroke="#cbd5e1"/>`);
  // Rows: label, bars, failure reason.
  tl.rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<g class="row" data-id="${esc(r.logicalId)}">`);
    out.push(
      `<text class="lbl" x="12" y="${y + 15}">${esc(fit(r.logicalId, labelW - 24, 12.5, { bold: true }))}</text><text class="lty" x="12" y="${y + 28}">${esc(fit(shortType(r.type), labelW - 24, 10.5))}</text>`,
    );
    let rightmost = 0;
    for (const b of r.bars) {
      const x0 = x(b.start);
      const w = Math.max(4, x(b.end) - x0);
      const bad = b.status.endsWith('_FAILED');
      const fill = bad ? '#dc2626' : BAR_COLORS[b.kind];
      const title = `${r.logicalId}: ${b.kind} ${duration(b.end - b.start)} → ${b.status}${b.physicalId ? ` (${b.physicalId})` : ''}${b.reason ? `\n${b.reason}` : ''}`;
      out.push(
        `<rect class="bar${b.open ? ' open' : ''}" data-kind="${b.kind}" data-status="${esc(b.status)}" x="${x0.toFixed(1)}" y="${y + 8}" width="${w.toFixed(1)}" height="${rowH - 16}" rx="4" fill="${fill}"><title>${esc(title)}</title></rect>`,
      );
      const label = `${b.kind} ${duration(b.end - b.start)}`;
      if (bad) out.push(`<path class="fx" d="M${(w > 24 ? x0 + w - 14 : x0 + w / 2 - 4).toFixed(1)},${y + 13} l8,8 m0,-8 l-8,8"/>`);
      else if (textWidth(label, 10.5, { bold: true }) + 10 < w) out.push(`<text class="bl" x="${(x0 + 6).toFixed(1)}" y="${y + 21}">${esc(label)}</text>`);
      rightmost = Math.max(rightmost, x0 + w);
    }
    if (r.failed) {
      // The reason goes right after the failed bar (over later bars, on a halo), else left of it,
      // else inside the bar when the bar is the widest room.
      const text = `${r.failed.status}: ${r.failed.reason}`;
      const bar = r.bars.find((b) => b.status === r.failed!.status && b.reason === r.failed!.reason) ?? r.bars[0]!;
      const right = width - x(bar.end) - 22;
      const left = x(bar.start) - labelW - 14;
      const inside = x(bar.end) - x(bar.start) - 30;
      const [tx, anchor, room, cls] =
        right >= 240 || (right >= left && right >= inside)
          ? [x(bar.end) + 8, 'start', right, 'why']
          : left >= 240 || left >= inside
            ? [x(bar.start) - 8, 'end', left, 'why']
            : [x(bar.start) + 8, 'start', inside, 'why in'];
      out.push(`<g><title>${esc(text)}</title><text class="${cls}" x="${tx.toFixed(1)}" y="${y + 21}" text-anchor="${anchor}">${esc(fit(text, Math.max(room, 60), 11, { bold: true }))}</text></g>`);
    } else {
      const lastBar = r.bars[r.bars.length - 1];
      const label = lastBar ? `${lastBar.kind} ${duration(lastBar.end - lastBar.start)}` : '';
      const fits = lastBar && textWidth(label, 10.5, { bold: true }) + 10 < x(lastBar.end) - x(lastBar.start);
      // A bar too short for its label: the label beside it, right or (at the end of the chart) left.
      if (lastBar && !fits && width - rightmost > 70) out.push(`<text class="bo" x="${(rightmost + 6).toFixed(1)}" y="${y + 21}">${esc(label)}</text>`);
      else if (lastBar && !fits && x(lastBar.start) - labelW > 70) out.push(`<text class="bo" x="${(x(lastBar.start) - 6).toFixed(1)}" y="${y + 21}" text-anchor="end">${esc(label)}</text>`);
    }
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('');
}

/** The bar colours as an HTML legend. */
export function ganttLegend(tl: Timeline): string {
  const kinds = new Set(tl.rows.flatMap((r) => r.bars.map((b) => b.kind)));
  const names: Record<StepKind, string> = {
    create: 'create',
    update: 'update in place',
    replace: 'replacement (new copy)',
    delete: 'delete',
    cleanup: 'cleanup (old copy removed)',
    rollback: 'rollback',
  };
  const items = (Object.keys(names) as StepKind[]).filter((k) => kinds.has(k)).map((k) => `<span><i style="background:${BAR_COLORS[k]}"></i>${names[k]}</span>`);
  if (tl.rows.some((r) => r.failed)) items.push('<span><i style="background:#dc2626"></i>failed</span>');
  return `<div class="legend">${items.join('')}</div>`;
}
