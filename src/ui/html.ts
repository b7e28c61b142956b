// HTML building blocks shared by kiln's pictures (`kiln graph --format html`, `kiln events --chart`,
// `kiln plan --format html`) and the pages of `kiln ui`: escaping, the page shell with its one style
// sheet, status colours. Every page is one self-contained document: no CDN, no web font, no request
// to anywhere, so a file opens offline and a page of `kiln ui` asks only its own server.
//
// Everything that reaches a page passes through `esc` (text, attribute values); nothing here reads
// state, so what a page shows is only what its caller hands in (values already masked).

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML or SVG text node or a quoted attribute value. */
export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

export const FONT = `-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif`;
export const MONO = `ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace`;

/** The tone of a CloudFormation status: drives colours everywhere (pills, graph nodes, bars). */
export type Tone = 'ok' | 'busy' | 'bad' | 'undo' | 'gone' | 'idle';

export function toneOf(status: string | undefined | null): Tone {
  const s = status ?? '';
  if (!s) return 'idle';
  if (s.endsWith('_FAILED')) return 'bad';
  if (s.includes('ROLLBACK')) return s.endsWith('_IN_PROGRESS') ? 'undo' : 'bad';
  if (s === 'DELETE_COMPLETE' || s === 'DELETE_SKIPPED') return 'gone';
  if (s.endsWith('_IN_PROGRESS')) return s.startsWith('DELETE') ? 'undo' : 'busy';
  if (s.endsWith('_COMPLETE')) return 'ok';
  return 'idle';
}

export function pill(status: string, extra = ''): string {
  return `<span class="pill t-${toneOf(status)}${extra ? ` ${extra}` : ''}" data-status="${esc(status)}">${esc(status)}</span>`;
}

/** `1.2 s`, `48 s`, `3 min 5 s`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m} min ${s} s` : `${m} min`;
}

/** `2026-11-25 21:42:07 UTC` from an ISO time. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  return `${iso.replace('T', ' ').slice(0, 19)} UTC`;
}

/** An http(s) URL as a link that leaks neither the page's address nor its token; other text as is. */
export function linkify(value: string): string {
  if (/^https?:\/\/[^\s"'<>]+$/.test(value)) return `<a href="${esc(value)}" target="_blank" rel="noopener noreferrer" class="ext">${esc(value)}</a>`;
  return esc(value);
}

/** The one style sheet of every page. Colours: tones (status), actions (plan), categories (types). */
export const CSS = `
:root{--fg:#0f172a;--muted:#64748b;--faint:#94a3b8;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--accent:#ea580c;
--ok:#15803d;--ok-bg:#dcfce7;--busy:#b45309;--busy-bg:#fef3c7;--bad:#b91c1c;--bad-bg:#fee2e2;--undo:#c2410c;--undo-bg:#ffedd5;
--gone:#64748b;--gone-bg:#f1f5f9;--idle:#475569;--idle-bg:#f1f5f9;
--create:#15803d;--update:#b45309;--replace:#7c3aed;--delete:#b91c1c;--noop:#94a3b8}
*{box-sizing:border-box}
html,body{margin:0;padding:0;background:var(--bg);color:var(--fg);font:14px/1.45 ${FONT}}
a{color:#c2410c;text-decoration:none}a:hover{text-decoration:underline}
code,.mono{font-family:${MONO};font-size:12.5px}
header.top{display:flex;align-items:center;gap:28px;padding:0 28px;height:56px;background:#0f172a;color:#e2e8f0}
header.top .brand{display:flex;align-items:center;gap:10px;font-weight:700;font-size:18px;letter-spacing:.2px;color:#fff}
header.top .brand svg{display:block}
header.top nav{display:flex;gap:4px}
header.top nav a{color:#cbd5e1;padding:6px 12px;border-radius:6px;font-weight:500}
header.top nav a:hover{background:#1e293b;text-decoration:none;color:#fff}
header.top nav a.on{background:#1e293b;color:#fff}
header.top .right{margin-left:auto;display:flex;align-items:center;gap:8px;font-size:12.5px;color:#94a3b8}
.dot{width:8px;height:8px;border-radius:50%;background:#64748b;display:inline-block}
.dot.live{background:#22c55e;box-shadow:0 0 0 3px rgba(34,197,94,.25)}
main{max-width:1320px;margin:0 auto;padding:24px 28px 56px}
h1{font-size:24px;margin:0;font-weight:700;letter-spacing:-.2px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.7px;color:var(--muted);margin:0 0 12px;font-weight:600}
.title{display:flex;align-items:center;gap:14px;flex-wrap:wrap;margin-bottom:6px}
.sub{color:var(--muted);margin:0 0 20px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin-bottom:20px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.card.flush{padding:0;overflow:hidden}.card.flush h2{padding:16px 20px 0}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:20px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
.pill{display:inline-block;padding:2px 9px;border-radius:999px;font-size:11.5px;font-weight:600;letter-spacing:.2px;white-space:nowrap}
.t-ok{color:var(--ok);background:var(--ok-bg)}.t-busy{color:var(--busy);background:var(--busy-bg)}.t-bad{color:var(--bad);background:var(--bad-bg)}
.t-undo{color:var(--undo);background:var(--undo-bg)}.t-gone{color:var(--gone);background:var(--gone-bg)}.t-idle{color:var(--idle);background:var(--idle-bg)}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:11.5px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);font-weight:600;padding:8px 12px;border-bottom:1px solid var(--line);background:#f8fafc}
td{padding:9px 12px;border-bottom:1px solid #f1f5f9;vertical-align:top}
tr:last-child td{border-bottom:0}
.card.flush td:first-child,.card.flush th:first-child{padding-left:20px}.card.flush td:last-child,.card.flush th:last-child{padding-right:20px}
td.k{font-weight:600;white-space:nowrap}
.muted{color:var(--muted)}.faint{color:var(--faint)}
.masked{font-family:${MONO};color:var(--muted);letter-spacing:2px}
.chip{display:inline-block;padding:1px 7px;border-radius:6px;background:#f1f5f9;border:1px solid var(--line);font-size:12px;margin:1px 4px 1px 0;font-family:${MONO}}
.chip.replace{background:#f5f3ff;border-color:#ddd6fe;color:#6d28d9}
.banner{border-radius:10px;padding:12px 16px;margin-bottom:20px;display:flex;gap:12px;align-items:flex-start}
.banner.bad{background:var(--bad-bg);color:#7f1d1d;border:1px solid #fecaca}
.banner.busy{background:var(--busy-bg);color:#78350f;border:1px solid #fde68a}
.banner.ok{background:var(--ok-bg);color:#14532d;border:1px solid #bbf7d0}
.banner b{font-weight:700}
.sym{font-family:${MONO};font-weight:700;width:28px;display:inline-block}
.a-create{color:var(--create)}.a-update{color:var(--update)}.a-replace{color:var(--replace)}.a-delete{color:var(--delete)}.a-noop{color:var(--noop)}
tr.a-replace td{background:#faf5ff}tr.a-delete td{background:#fff5f5}
.counts{display:flex;gap:10px;flex-wrap:wrap;margin:4px 0 18px}
.count{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:8px 14px;min-width:96px}
.count b{display:block;font-size:22px;line-height:1.1}
.count span{font-size:12px;color:var(--muted)}
.scroll{overflow:auto}
.graph-wrap{overflow:auto;padding:8px 4px 4px}
.graph-wrap svg{display:block;margin:0 auto;max-width:100%;height:auto}
.scroll svg.kt{display:block;max-width:100%;height:auto}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin:2px 0 10px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:5px;vertical-align:-1px}
.stacks{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px}
.stack-card{display:block;color:inherit;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.stack-card:hover{text-decoration:none;border-color:#fdba74;box-shadow:0 4px 14px rgba(234,88,12,.08)}
.stack-card .name{font-weight:700;font-size:16px;margin-right:8px}
.stack-card .meta{color:var(--muted);font-size:12.5px;margin-top:8px}
.log{font-family:${MONO};font-size:12px;max-height:260px;overflow:auto;margin:0;padding:0;list-style:none}
.log li{padding:3px 0;border-bottom:1px dashed #f1f5f9;display:flex;gap:10px}
.log .t{color:var(--faint);flex:none}
.log li.bad{color:var(--bad)}
.empty{color:var(--muted);padding:28px;text-align:center}
footer{color:var(--faint);font-size:12px;text-align:center;margin-top:8px}
`;

/** The kiln mark: a kiln's arch with a flame. */
export const LOGO = `<svg width="26" height="26" viewBox="0 0 32 32" aria-hidden="true"><rect x="2" y="2" width="28" height="28" rx="7" fill="#ea580c"/><path d="M8 25V15a8 8 0 0 1 16 0v10z" fill="#fff"/><path d="M16 23c-2.6 0-4-1.7-4-3.7 0-2.3 2-3.4 2.6-5.8 1.6 1.2 2.2 2.6 2 4 .9-.4 1.5-1.2 1.7-2.2 1.1 1.1 1.7 2.5 1.7 4 0 2-1.4 3.7-4 3.7z" fill="#ea580c"/></svg>`;

interface PageOptions {
  title: string;
  body: string;
  /** Scripts run in the page (inline; a nonce when the server sends a CSP). */
  script?: string;
  nonce?: string;
  /** Navigation of `kiln ui`; absent for the standalone pictures. */
  nav?: { current: string; links: Array<{ href: string; label: string; id: string }> };
  /** Extra text right of the navigation (the live indicator). */
  right?: string;
}

export function page(o: PageOptions): string {
  const nav = o.nav ? `<nav>${o.nav.links.map((l) => `<a href="${esc(l.href)}"${l.id === o.nav!.current ? ' class="on"' : ''}>${esc(l.label)}</a>`).join('')}</nav>` : '';
  const nonce = o.nonce ? ` nonce="${esc(o.nonce)}"` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="generator" content="kiln">
<title>${esc(o.title)}</title><link rel="icon" href="data:image/svg+xml,${encodeURIComponent(LOGO.replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" '))}"><style${nonce}>${CSS}</style></head>
<body><header class="top"><div class="brand">${LOGO}<span>kiln</span></div>${nav}<div class="right">${o.right ?? ''}</div></header>
<main>${o.body}</main>${o.script ? `<script${nonce}>${o.script}</script>` : ''}</body></html>
`;
}
