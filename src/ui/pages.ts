// The pages of `kiln ui`, as HTML strings from the models (model.ts, builds.ts). Each page is a
// whole document; the parts the live script swaps in place (`?part=graph`, `?part=body`,
// `?part=cards`) are rendered by the same functions, so a page and its updates never differ.
import type { Json } from '../stack/model.js';
import { duration, esc, linkify, page, pill, toneOf, when } from './html.js';
import { categoryLegend, graphSvg, layoutGraph, shortType, type NodeLine, type NodeSpec } from './graph.js';
import type { LiveRun } from './feed.js';
import type { HistoryEntry, ResourceView, StackDetail, StackSummary } from './model.js';
import type { BuildsView } from './builds.js';
import type { AwsSummary } from './aws.js';
import { eventsTable, timelineCard } from './pictures.js';
import { timeline } from './timeline.js';
import { graphHover, invoke, js } from './browser.js';
import { live } from './client.js';

const NAV = [
  { href: '/', label: 'Stacks', id: 'stacks' },
  { href: '/history', label: 'History', id: 'history' },
  { href: '/builds', label: 'Builds', id: 'builds' },
];

export interface PageContext {
  nonce: string;
  stateDir: string;
}

function shell(ctx: PageContext, o: { title: string; current: string; body: string; live: Record<string, unknown> }): string {
  return page({
    title: `${o.title} · kiln`,
    body: o.body,
    nonce: ctx.nonce,
    nav: { current: o.current, links: NAV },
    right: `<span class="dot" id="live-dot"></span><span id="live-text">connecting…</span><span class="faint" title="state directory">· ${esc(ctx.stateDir)}</span>`,
    script: `${invoke(graphHover, 'document')}\n${invoke(live, js(o.live))}`,
  });
}

const path = (...parts: string[]) => '/' + parts.map(encodeURIComponent).join('/');

function showValue(v: Json): string {
  return typeof v === 'string' ? linkify(v) : `<span class="mono">${esc(JSON.stringify(v))}</span>`;
}

function runBanner(run: LiveRun | undefined): string {
  if (!run) return '';
  if (run.ended) return '';
  const steps = run.plan?.steps.filter((s) => s.action !== 'noop').length;
  return `<div class="banner busy live" id="run-banner" data-run="${run.id}"><b>kiln ${esc(run.command)}</b><span>is running (pid ${run.pid}, since ${esc(when(run.startedAt))})${steps !== undefined ? ` — ${steps} change${steps === 1 ? '' : 's'} planned` : ''}. This page follows it live.</span></div>`;
}

// ---- stacks -----------------------------------------------------------------------------------

export function stackCards(stacks: readonly StackSummary[]): string {
  if (stacks.length === 0) return '<div class="card empty">No stacks in this state directory yet. Run <code>kiln deploy</code> or <code>kiln up</code>; it shows up here as it happens.</div>';
  return `<div class="stacks">${stacks
    .map((s) => {
      const urls = Object.entries(s.outputs).filter(([, o]) => typeof o.value === 'string' && /^https?:\/\//.test(o.value));
      const running = s.run && !s.run.ended ? `<div class="meta live"><span class="pill t-busy">kiln ${esc(s.run.command)} running</span></div>` : '';
      return `<a class="stack-card" href="${path('stacks', s.name)}" data-stack="${esc(s.name)}"><span class="name">${esc(s.name)}</span>${pill(s.status)}
<div class="meta">${s.resources} resource${s.resources === 1 ? '' : 's'} · updated ${esc(when(s.updatedAt))}</div>
${urls.length ? `<div class="meta">${urls.map(([k, o]) => `${esc(k)}: <span class="mono">${esc(String(o.value))}</span>`).join('<br>')}</div>` : ''}
${s.reason && toneOf(s.status) === 'bad' ? `<div class="meta" style="color:var(--bad)">${esc(s.reason)}</div>` : ''}${running}</a>`;
    })
    .join('')}</div>`;
}

export function indexPage(ctx: PageContext, stacks: readonly StackSummary[], aws: readonly AwsSummary[] = []): string {
  const onAws = aws.length
    ? `<div class="title" style="margin-top:28px"><h2 style="margin:0">On AWS</h2></div><p class="sub">The stacks kiln deployed with <code>--target aws</code>, as CloudFormation reports them now.</p><div id="aws-cards">${awsStackCards(aws)}</div>`
    : '';
  const body = `<div class="title"><h1>Stacks</h1></div><p class="sub">Every stack of this state directory. A deploy, up, rollback or destroy run from any terminal shows here live.</p>${aws.length ? '<h2>On this machine (Docker)</h2>' : ''}<div id="cards">${stackCards(stacks)}</div>${onAws}`;
  return shell(ctx, { title: 'Stacks', current: 'stacks', body, live: { page: 'index' } });
}

// ---- one stack --------------------------------------------------------------------------------

function nodeOf(r: ResourceView): NodeSpec {
  const lines: NodeLine[] = [
    { text: r.planned ? `planned: ${r.planned}` : r.status, cls: 'st' },
    { text: r.physicalId ?? '—', cls: 'pid' },
  ];
  if (r.image) lines.push({ text: `${r.image.name ? `${r.image.name} · ` : ''}${r.image.ref}`, cls: 'mono' });
  if (r.failed) lines.push({ text: r.failed, cls: 'bad' });
  return {
    id: r.logicalId,
    type: r.type,
    status: r.status,
    ...(r.planned ? { pending: true } : {}),
    lines,
    title: [`${r.logicalId} (${r.type})`, r.physicalId ?? '', r.status, r.failed ?? '', r.image?.id ?? ''].filter(Boolean).join('\n'),
    data: { ev: String(r.eventId) },
    // A physical id arrives while the page is open: keep room for a long one.
    ...(r.physicalId ? {} : { minWidth: 230 }),
  };
}

export function stackGraph(d: StackDetail): string {
  if (d.resources.length === 0) return '<div class="empty">No resources.</div>';
  return graphSvg(layoutGraph(d.resources.map(nodeOf), d.edges), { title: `resources of ${d.stack.name}` });
}

/** A drift cell in the words the page's script uses for a local stack's (client.ts, applyDrift). */
function driftCell(drift: NonNullable<ResourceView['drift']>, aws: boolean): string {
  const s = drift.status;
  const [tone, word] = s === 'IN_SYNC' ? ['ok', 'in sync'] : s === 'NOT_CHECKED' || s === 'UNKNOWN' ? ['idle', 'not checked'] : ['bad', s.toLowerCase()];
  const note = drift.checkedAt ? `checked ${when(drift.checkedAt)}` : s === 'NOT_CHECKED' && aws ? 'kiln drift --target aws checks it' : '';
  return `<span class="pill t-${tone}" data-drift="${esc(s)}">${esc(word)}</span>${note ? `<div class="faint" style="font-size:12px">${esc(note)}</div>` : ''}`;
}

function resourcesTable(d: StackDetail): string {
  const rows = d.resources
    .map((r) => {
      const image = r.image
        ? `${r.image.name ? `<b>${esc(r.image.name)}</b> ` : ''}<span class="mono">${esc(r.image.ref)}</span>${r.image.id ? `<br><span class="mono faint">${esc(r.image.id.slice(0, 19))}</span>` : ''}`
        : '<span class="faint">–</span>';
      const state = r.row === 'pendingDelete' ? ' <span class="faint">(old copy, awaiting cleanup)</span>' : r.noLocalEffect ? ' <span class="faint">(no local effect)</span>' : '';
      return `<tr data-id="${esc(r.logicalId)}"><td class="k">${esc(r.logicalId)}</td><td class="muted">${esc(shortType(r.type))}</td><td class="mono pid" style="white-space:nowrap">${esc(r.physicalId ?? '–')}</td><td class="st">${r.planned ? `<span class="pill t-idle">planned: ${esc(r.planned)}</span>` : pill(r.status)}${state}${r.failed ? `<div style="color:var(--bad);font-size:12.5px;margin-top:4px">${esc(r.failed)}</div>` : ''}</td><td>${image}</td>${
        r.drift ? `<td class="drift-known" data-id="${esc(r.logicalId)}">${driftCell(r.drift, !!d.aws)}</td>` : `<td class="drift" data-id="${esc(r.logicalId)}"><span class="faint">…</span></td>`
      }</tr>`;
    })
    .join('');
  return `<table><thead><tr><th>resource</th><th>type</th><th>physical id</th><th>status</th><th>image</th><th>drift</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Everything under the stack's title: swapped whole when a run ends. */
export function stackBody(d: StackDetail): string {
  const outputs = Object.entries(d.outputs);
  const outRows = outputs
    .map(
      ([k, o]) =>
        `<tr><td class="k">${esc(k)}</td><td>${showValue(o.value)}${o.description ? `<div class="faint">${esc(o.description)}</div>` : ''}</td><td class="muted">${o.exportName ? `export <span class="mono">${esc(o.exportName)}</span>` : ''}</td></tr>`,
    )
    .join('');
  const paramRows = d.parameters
    .map(
      (p) =>
        `<tr><td class="k">${esc(p.name)}</td><td>${p.value === undefined ? `<span class="masked">****</span> <span class="faint">${p.unknown ? 'not shown: the template could not be read to tell whether it is NoEcho' : 'NoEcho'}</span>` : p.value === '' ? '<span class="faint">(empty)</span>' : `<span class="mono">${esc(p.value)}</span>`}</td></tr>`,
    )
    .join('');
  const tl = d.latestEvents.length ? timeline(d.latestEvents) : undefined;
  if (d.aws) return awsBody(d, d.aws, outRows, paramRows, tl);
  // A failed last deployment says so and why, though the stack itself may be back to normal.
  const failedLast = d.latest && !(d.run && !d.run.ended) && ['FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED'].includes(d.latest.status) ? d.latest : undefined;
  const headline = failedLast
    ? `<div class="banner bad" id="headline"><b>${esc(d.stack.status)}</b><span>The last ${failedLast.kind === 'destroy' ? 'destroy' : 'deployment'} failed${failedLast.status === 'ROLLED_BACK' ? ' and was rolled back' : ''}: ${esc(failedLast.reason ?? 'no reason given')}</span></div>`
    : d.stack.reason && toneOf(d.stack.status) === 'bad'
      ? `<div class="banner bad" id="headline"><b>${esc(d.stack.status)}</b><span>${esc(d.stack.reason)}</span></div>`
      : '';
  return `<p class="sub">Updated ${esc(when(d.stack.updatedAt))}${d.stack.stackId ? ` · <span class="mono">${esc(d.stack.stackId)}</span>` : ''}</p>${runBanner(d.run)}${headline}
${resourcesCard(d)}
<div class="grid2"><div class="card flush"><h2>Outputs</h2>${outRows ? `<table>${outRows}</table>` : '<div class="empty">No outputs.</div>'}</div>
<div class="card flush"><h2>Parameters</h2>${paramRows ? `<table>${paramRows}</table>` : '<div class="empty">No parameters.</div>'}</div></div>
<div class="card flush"><h2>Resource details</h2><div class="scroll">${resourcesTable(d)}</div></div>
${tl ? timelineCard(tl, { heading: `Timeline of the last ${d.latest?.kind === 'destroy' ? 'destroy' : 'deployment'}` }) : ''}
${d.latest ? `<p class="muted"><a href="${path('stacks', d.stack.name, 'deployments', d.latest.id)}">All events of ${esc(d.latest.id)}</a> · <a href="/history?stack=${encodeURIComponent(d.stack.name)}">History of ${esc(d.stack.name)}</a></p>` : ''}`;
}

const resourcesCard = (d: StackDetail) =>
  `<div class="card"><h2>Resources</h2><div class="legend">${categoryLegend(d.resources.map((r) => r.type)).replace(/^<div class="legend">|<\/div>$/g, '')}<span><i style="background:#dcfce7;border:1px solid #86efac"></i>complete</span><span><i style="background:#fef3c7;border:1px solid #f59e0b"></i>in progress</span><span><i style="background:#fee2e2;border:1px solid #ef4444"></i>failed</span><span><i style="background:#fff;border:1px dashed #94a3b8"></i>planned</span></div><div id="graph" class="graph-wrap">${stackGraph(d)}</div></div>`;

/** A stack on the AWS target: what CloudFormation reported when the page was asked for. */
function awsBody(d: StackDetail, aws: NonNullable<StackDetail['aws']>, outRows: string, paramRows: string, tl: ReturnType<typeof timeline> | undefined): string {
  const st = d.stack;
  const bad = toneOf(st.status) === 'bad';
  const hint =
    st.status === 'ROLLBACK_COMPLETE' || st.status === 'ROLLBACK_FAILED'
      ? `Its first create failed and CloudFormation cannot update it: delete it (<code>kiln destroy --target aws --stack ${esc(st.name)} --region ${esc(aws.region)}</code>) and deploy again.`
      : st.status === 'UPDATE_ROLLBACK_FAILED'
        ? `Fix the cause, then <code>kiln deploy --target aws --stack ${esc(st.name)} --region ${esc(aws.region)} --continue-rollback</code>.`
        : '';
  const headline = bad
    ? `<div class="banner bad" id="headline"><b>${esc(st.status)}</b><span>${st.reason ? esc(st.reason) : 'CloudFormation gives no reason.'}${aws.failure ? `<br>First failure: ${esc(aws.failure)}` : ''}${hint ? `<br>${hint}` : ''}</span></div>`
    : '';
  const drift = aws.drift ? ` · drift ${aws.drift === 'NOT_CHECKED' ? 'not checked' : esc(aws.drift.toLowerCase().replace(/_/g, ' '))}` : '';
  return `<p class="sub">CloudFormation · <b>${esc(aws.region)}</b> · updated ${esc(when(st.updatedAt))}${drift}${st.stackId ? ` · <span class="mono">${esc(st.stackId)}</span>` : ''}</p>${headline}
${resourcesCard(d)}
<div class="grid2"><div class="card flush"><h2>Outputs</h2>${outRows ? `<table>${outRows}</table>` : '<div class="empty">No outputs.</div>'}</div>
<div class="card flush"><h2>Parameters</h2>${paramRows ? `<table>${paramRows}</table>` : '<div class="empty">No parameters.</div>'}</div></div>
<div class="card flush"><h2>Resource details</h2><div class="scroll">${resourcesTable(d)}</div></div>
${tl ? timelineCard(tl, { heading: 'Timeline of the last operation' }) : ''}
${d.latestEvents.length ? `<div class="card flush"><h2>Events of the last operation</h2><div class="scroll">${eventsTable(d.latestEvents)}</div></div>` : ''}
<p class="muted">As CloudFormation reported it at ${esc(when(new Date().toISOString()))}; reload for newer. Every event: <code>kiln events --target aws --stack ${esc(st.name)} --region ${esc(aws.region)}</code>. The page changes nothing: drift is checked by <code>kiln drift --target aws</code>.</p>`;
}

/** The log of the run the page follows: outside the parts swapped in place, so it outlives the run. */
function liveCard(shown: boolean): string {
  return `<div class="card" id="live-card"${shown ? '' : ' hidden'}><h2>Live</h2><ul class="log" id="live-log"></ul></div>`;
}

export function stackPage(ctx: PageContext, d: StackDetail): string {
  const body = `<div class="title"><h1>${esc(d.stack.name)}</h1><span id="stack-status" class="live">${pill(d.stack.status)}</span></div>
<div id="stack-body">${stackBody(d)}</div>${liveCard(!!d.run && !d.run.ended)}`;
  return shell(ctx, { title: d.stack.name, current: 'stacks', body, live: { page: 'stack', stack: d.stack.name } });
}

const awsPath = (region: string, stack: string) => path('aws', region, stack);

export function awsStackPage(ctx: PageContext, d: StackDetail): string {
  const body = `<div class="title"><h1>${esc(d.stack.name)}</h1><span id="stack-status">${pill(d.stack.status)}</span><span class="pill t-idle">AWS ${esc(d.aws?.region ?? '')}</span></div>
<div id="stack-body">${stackBody(d)}</div>`;
  return shell(ctx, { title: d.stack.name, current: 'stacks', body, live: { page: 'other' } });
}

/** An AWS stack CloudFormation could not be asked about, or no longer has. */
export function awsProblemPage(ctx: PageContext, ref: { stack: string; region: string }, o: { missing?: boolean; message?: string }): string {
  const text = o.missing
    ? `<div class="banner busy" id="headline"><b>Not in CloudFormation</b><span>Stack ${esc(ref.stack)} does not exist in ${esc(ref.region)} (any more): it was deleted outside kiln, or the endpoint kiln ui talks to is another one. <code>kiln destroy --target aws --stack ${esc(ref.stack)} --region ${esc(ref.region)}</code> forgets it here.</span></div>`
    : `<div class="banner bad" id="headline"><b>CloudFormation unavailable</b><span>${esc(o.message ?? '')}</span></div><p class="muted">Nothing is shown for this stack until CloudFormation answers: check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID…), the region and AWS_ENDPOINT_URL kiln ui was started with, then reload.</p>`;
  const body = `<div class="title"><h1>${esc(ref.stack)}</h1><span class="pill t-idle">AWS ${esc(ref.region)}</span></div><div id="stack-body">${text}</div>`;
  return shell(ctx, { title: ref.stack, current: 'stacks', body, live: { page: 'other' } });
}

export function awsStackCards(stacks: readonly AwsSummary[]): string {
  return `<div class="stacks">${stacks
    .map((s) => {
      const urls = Object.entries(s.outputs).filter(([, o]) => /^https?:\/\//.test(o.value));
      const state = s.error
        ? `<span class="pill t-idle" data-status="UNKNOWN">unknown</span><div class="meta" style="color:var(--bad)">${esc(s.error)}</div>`
        : s.missing
          ? `<span class="pill t-gone" data-status="MISSING">not in CloudFormation</span>`
          : `${pill(s.status ?? 'UNKNOWN')}<div class="meta">CloudFormation · updated ${esc(when(s.updatedAt))}</div>`;
      return `<a class="stack-card" href="${awsPath(s.ref.region, s.ref.stack)}" data-aws-stack="${esc(s.ref.stack)}"><span class="name">${esc(s.ref.stack)}</span><span class="pill t-idle">AWS ${esc(s.ref.region)}</span> ${state}
${urls.length ? `<div class="meta">${urls.map(([k, o]) => `${esc(k)}: <span class="mono">${esc(o.value)}</span>`).join('<br>')}</div>` : ''}
${s.reason && toneOf(s.status) === 'bad' ? `<div class="meta" style="color:var(--bad)">${esc(s.reason)}</div>` : ''}</a>`;
    })
    .join('')}</div>`;
}

export function waitingPage(ctx: PageContext, name: string): string {
  const body = `<div class="title"><h1>${esc(name)}</h1><span id="stack-status" class="live"></span></div>
<div id="stack-body"><p class="sub">This stack does not exist in this state directory (yet).</p><div class="card empty">Waiting for a <code>kiln deploy</code> or <code>kiln up</code> of stack <b>${esc(name)}</b>: it appears here as soon as one starts.</div></div>${liveCard(false)}`;
  return shell(ctx, { title: name, current: 'stacks', body, live: { page: 'stack', stack: name } });
}

export function deploymentPage(ctx: PageContext, stack: string, id: string, events: Parameters<typeof eventsTable>[0]): string {
  const tl = timeline(events);
  const body = `<div class="title"><h1><a href="${path('stacks', stack)}">${esc(stack)}</a> · <span class="mono" style="font-size:18px">${esc(id)}</span></h1>${tl.status ? pill(tl.status) : ''}</div>
<p class="sub">${events.length} events</p>${timelineCard(tl)}<div class="card flush"><h2>Events</h2><div class="scroll">${eventsTable(events)}</div></div>`;
  return shell(ctx, { title: `${stack} ${id}`, current: 'history', body, live: { page: 'other' } });
}

// ---- history ----------------------------------------------------------------------------------

const CHANGE: Record<string, { sym: string; cls: string }> = {
  create: { sym: '+', cls: 'a-create' },
  update: { sym: '~', cls: 'a-update' },
  replace: { sym: '±', cls: 'a-replace' },
  delete: { sym: '−', cls: 'a-delete' },
  failed: { sym: '✕', cls: 'a-delete' },
};

/** A deployment's outcome (COMPLETE, ROLLED_BACK, FAILED, ROLLBACK_FAILED, IN_PROGRESS). */
function outcomePill(status: string): string {
  const [tone, label] =
    status === 'COMPLETE'
      ? ['ok', 'complete']
      : status === 'IN_PROGRESS'
        ? ['busy', 'in progress']
        : status === 'ROLLED_BACK'
          ? ['bad', 'rolled back']
          : ['bad', status.toLowerCase().replace(/_/g, ' ')];
  return `<span class="pill t-${tone}" data-status="${esc(status)}">${esc(label)}</span>`;
}

export function historyPage(ctx: PageContext, entries: readonly HistoryEntry[], stack?: string): string {
  const rows = entries
    .map((h) => {
      const changes = h.changes.map((c) => `<span class="chip ${CHANGE[c.change]!.cls}" title="${esc(c.reason ?? c.change)}">${CHANGE[c.change]!.sym} ${esc(c.logicalId)}</span>`).join('');
      const images = h.pipeline
        ? h.pipeline.images
            .map(
              (i) =>
                `<span class="chip" title="${esc(i.imageId)}">${esc(i.name)} ${esc(i.imageId.replace(/^sha256:/, '').slice(0, 12))}${i.built ? ' <b title="built by this run">built</b>' : ' <span class="faint" title="reused from the build cache">cached</span>'}</span>`,
            )
            .join('')
        : Object.entries(h.images)
            .map(([id, img]) => `<span class="chip" title="${esc(id)}">${esc(id)} ${esc(img.length > 24 ? `${img.slice(0, 22)}…` : img)}</span>`)
            .join('');
      const ms = h.endedAt ? Date.parse(h.endedAt) - Date.parse(h.startedAt) : NaN;
      const kind = h.pipeline ? (h.pipeline.kind === 'rollback' ? `rollback to run ${h.pipeline.rollbackOf}` : `up (run ${h.pipeline.id})`) : h.kind;
      return `<tr><td class="mono faint">${esc(when(h.startedAt))}</td><td class="k"><a href="${path('stacks', h.stack)}">${esc(h.stack)}</a></td><td>${esc(kind)}</td><td>${outcomePill(h.status)}</td><td class="muted">${Number.isFinite(ms) ? duration(ms) : 'running'}</td><td>${changes || '<span class="faint">outputs only</span>'}${h.reason ? `<div class="faint" style="color:var(--bad)">${esc(h.reason)}</div>` : ''}</td><td>${images || '<span class="faint">–</span>'}</td><td><a href="${path('stacks', h.stack, 'deployments', h.id)}">timeline</a></td></tr>`;
    })
    .join('');
  const body = `<div class="title"><h1>History${stack ? ` of ${esc(stack)}` : ''}</h1></div>
<p class="sub">Every deployment, newest first: what it changed (<span class="a-create">+ created</span>, <span class="a-update">~ updated</span>, <span class="a-replace">± replaced</span>, <span class="a-delete">− deleted</span>) and the images it ran. Every action stays in the CLI: <code>kiln rollback --stack NAME --to RUN</code>.</p>
<div class="card flush">${rows ? `<div class="scroll"><table><thead><tr><th>when</th><th>stack</th><th>kind</th><th>outcome</th><th>took</th><th>changes</th><th>images</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>` : '<div class="empty">No deployments yet.</div>'}</div>`;
  return shell(ctx, { title: 'History', current: 'history', body, live: { page: 'other' } });
}

// ---- builds -----------------------------------------------------------------------------------

function size(bytes: number | undefined): string {
  if (bytes === undefined) return '–';
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(0)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

export function buildsPage(ctx: PageContext, v: BuildsView): string {
  const groups = v.groups
    .map((g) => {
      const rows = g.images
        .map((i) => {
          const e = i.entry;
          const what = e.kind === 'artifact' ? '<b>image</b>' : `after step ${e.step + 1}`;
          const reused =
            e.kind !== 'artifact'
              ? ''
              : i.reusedSteps === undefined
                ? '<span class="faint">–</span>'
                : i.reusedSteps === 0
                  ? '<span class="muted">every step ran</span>'
                  : `<span class="a-create">steps 1–${i.reusedSteps} reused</span>`;
          const gc = i.gc
            ? i.gc.action === 'remove'
              ? `<span class="pill t-bad">gc removes</span> <span class="faint">${esc(i.gc.reason)}</span>`
              : `<span class="pill t-ok">kept</span> <span class="faint">${esc(i.gc.reason)}</span>`
            : '<span class="faint">–</span>';
          return `<tr${i.present ? '' : ' class="faint"'}><td>${what}</td><td class="mono">${esc(e.imageId.replace(/^sha256:/, '').slice(0, 12))}${i.tags.length ? `<br><span class="faint">${esc(i.tags.join(', '))}</span>` : ''}</td><td class="mono faint" title="${esc(e.key)}">${esc(e.key.slice(0, 16))}…</td><td class="muted">${esc(when(new Date(e.createdAt).toISOString()))}</td><td>${size(i.size)}</td><td>${reused}</td><td>${gc}</td></tr>`;
        })
        .join('');
      return `<div class="card flush"><h2>${esc(g.build)} <span class="faint" style="text-transform:none;letter-spacing:0">· ${esc(g.template)}</span></h2><div class="scroll"><table><thead><tr><th>what</th><th>image</th><th>build key</th><th>made</th><th>size</th><th>steps</th><th>kiln gc</th></tr></thead><tbody>${rows}</tbody></table></div></div>`;
    })
    .join('');
  const body = `<div class="title"><h1>Builds</h1></div>
<p class="sub">The build cache: every image kiln baked, by build key (an unchanged key is never baked twice), the saved state after each provisioner step, and what <code>kiln gc</code> would remove${v.reclaimable ? ` (${size(v.reclaimable)} freed: the layers only those images hold; each size below counts the base image's layers too)` : ''}. Nothing is removed from here: run <code>kiln gc</code>.</p>
${v.engineError ? `<div class="banner bad"><b>Docker engine</b><span>${esc(v.engineError)}: sizes, tags and gc decisions unknown</span></div>` : ''}
${groups || '<div class="card empty">The build cache is empty: <code>kiln build</code> or <code>kiln up</code> fills it.</div>'}`;
  return shell(ctx, { title: 'Builds', current: 'builds', body, live: { page: 'other' } });
}

export function notFoundPage(ctx: PageContext, what: string, title = 'Not found'): string {
  return shell(ctx, { title, current: '', body: `<div class="card empty">${esc(what)}</div>`, live: { page: 'other' } });
}
