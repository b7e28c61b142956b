// The script of every `kiln ui` page (runs in the browser; see browser.ts for how it is embedded).
// It listens to the server's event stream (`/api/events`, server-sent events fanned out from the
// kiln processes' feeds) and updates the page in place: a resource's node and row change state as
// its events arrive; new resources, a new plan and the end of a run fetch the affected part of the
// page again (`?part=…`), rendered by the server exactly as a fresh page would be. It never writes.
//
// Cheap to keep open: what arrives is queued and applied at most five times a second, in an
// animation frame (a burst of events costs one style, layout and paint), and a hidden tab (behind another tab, in a minimised
// window) gets no frames, so it does nothing at all, fetches nothing, until it is shown.

export function live(cfg: { page: string; stack?: string }): void {
  const w: any = globalThis as any;
  const doc: any = w.document;
  const $ = (sel: string, root: any = doc): any => root.querySelector(sel);
  const $$ = (sel: string, root: any = doc): any[] => Array.from(root.querySelectorAll(sel));
  const cssId = (s: string) => (w.CSS && w.CSS.escape ? w.CSS.escape(s) : s.replace(/["\\]/g, '\\$&'));

  // The token is in a cookie now: take it out of the address bar (and out of bookmarks, history).
  if (/[?&]token=/.test(w.location.search)) {
    const q = new w.URLSearchParams(w.location.search);
    q.delete('token');
    const rest = q.toString();
    w.history.replaceState(null, '', w.location.pathname + (rest ? `?${rest}` : '') + w.location.hash);
  }

  const tone = (s: string): string => {
    if (!s) return 'idle';
    if (s.endsWith('_FAILED')) return 'bad';
    if (s.includes('ROLLBACK')) return s.endsWith('_IN_PROGRESS') ? 'undo' : 'bad';
    if (s === 'DELETE_COMPLETE' || s === 'DELETE_SKIPPED') return 'gone';
    if (s.endsWith('_IN_PROGRESS')) return s.startsWith('DELETE') ? 'undo' : 'busy';
    if (s.endsWith('_COMPLETE')) return 'ok';
    return 'idle';
  };
  const esc = (s: string) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
  const pill = (s: string) => `<span class="pill t-${tone(s)}" data-status="${esc(s)}">${esc(s)}</span>`;

  const timers: Record<string, any> = {};
  const later = (key: string, ms: number, fn: () => void) => {
    w.clearTimeout(timers[key]);
    timers[key] = w.setTimeout(fn, ms);
  };
  const get = async (url: string): Promise<string | undefined> => {
    const r = await w.fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    return r.ok ? r.text() : undefined;
  };

  // The newest event applied per resource, so that a part fetched again never shows an older state.
  const latest: Record<string, any> = {};
  const applyDrift = async () => {
    if (cfg.page !== 'stack' || !cfg.stack) return;
    const text = await get(`/api/stacks/${encodeURIComponent(cfg.stack)}/drift`);
    if (!text) return;
    const d = JSON.parse(text);
    // Checked when the run that is changing the stack ends.
    if (d.running) return;
    for (const cell of $$('td.drift')) {
      const r = (d.resources || []).find((x: any) => x.logicalId === cell.getAttribute('data-id'));
      if (!r) {
        cell.innerHTML = '<span class="faint">–</span>';
        continue;
      }
      const t = r.status === 'IN_SYNC' ? 'ok' : r.status === 'NOT_CHECKED' ? 'idle' : 'bad';
      const detail = (r.differences || [])
        .map((x: any) => `${x.property}: expected ${JSON.stringify(x.expected)}, actual ${JSON.stringify(x.actual)}`)
        .concat(r.mutations && r.mutations.length ? [`${r.mutations.length} file(s) changed inside`] : []);
      cell.innerHTML = `<span class="pill t-${t}">${esc(r.status === 'IN_SYNC' ? 'in sync' : r.status === 'NOT_CHECKED' ? 'not checked' : r.status.toLowerCase())}</span>${detail.length ? `<div class="faint" style="font-size:12px">${esc(detail.join('; '))}</div>` : ''}`;
      const node = $(`#graph .node[data-id="${cssId(r.logicalId)}"]`);
      if (node && (r.status === 'MODIFIED' || r.status === 'DELETED')) node.classList.add('drifted');
    }
  };

  const afterSwap = () => {
    if (doc.__kgBind) for (const svg of $$('svg.kg')) doc.__kgBind(svg);
    for (const id of Object.keys(latest)) applyEvent(latest[id], false);
  };
  const refetch = (part: 'graph' | 'body' | 'cards') => {
    later(part, part === 'body' ? 250 : 120, async () => {
      const url = part === 'cards' ? '/?part=cards' : `/stacks/${encodeURIComponent(cfg.stack || '')}?part=${part}`;
      const html = await get(url);
      const target = part === 'cards' ? $('#cards') : part === 'graph' ? $('#graph') : $('#stack-body');
      if (html === undefined || !target) return;
      target.innerHTML = html;
      afterSwap();
      if (part === 'body') void applyDrift();
    });
  };

  // Lines of the live log are appended together at the end of a frame, scrolled once.
  const lines: any[] = [];
  const log = (time: string, who: string, what: string, extra: string, cls = '') => {
    const li = doc.createElement('li');
    if (cls) li.className = cls;
    li.innerHTML = `<span class="t">${esc(time)}</span><b>${esc(who)}</b> ${what} <span class="muted">${esc(extra)}</span>`;
    lines.push(li);
  };
  const flushLog = () => {
    const ul = $('#live-log');
    if (!lines.length || !ul) return void lines.splice(0);
    const card = $('#live-card');
    if (card) card.hidden = false;
    const fragment = doc.createDocumentFragment();
    for (const li of lines.splice(0).slice(-300)) fragment.appendChild(li);
    ul.appendChild(fragment);
    while (ul.children.length > 300) ul.removeChild(ul.firstChild);
    ul.scrollTop = ul.scrollHeight;
  };

  /** Puts one resource event on the graph and the table; false when the node is not drawn yet. */
  function applyEvent(ev: any, fresh: boolean): boolean {
    const node = $(`#graph .node[data-id="${cssId(ev.logicalId)}"]`);
    if (!node) return false;
    if (Number(node.getAttribute('data-ev') || 0) >= ev.id && !fresh) return true;
    // The cleanup phase deletes the old copy of a replaced resource: the node stays the new copy.
    const shown = $('.pid', node);
    const text = shown ? String(shown.textContent) : '—';
    if (ev.status.startsWith('DELETE') && ev.physicalId && text !== '—' && !ev.physicalId.startsWith(text.replace(/…$/, ''))) return true;
    const failed = ev.status.endsWith('_FAILED') && ev.reason && !/cancelled/i.test(ev.reason);
    const cls = (node.getAttribute('class') || '')
      .split(' ')
      .filter((c: string) => !/^(t-|a-)/.test(c) && c !== 'pending' && (c !== 'failed' || !ev.status.endsWith('_IN_PROGRESS') || ev.status.startsWith('DELETE')));
    cls.push(`t-${tone(ev.status)}`);
    if (failed) cls.push('failed');
    node.setAttribute('class', cls.join(' '));
    node.setAttribute('data-status', ev.status);
    node.setAttribute('data-ev', String(ev.id));
    const st = $('.st', node);
    if (st) st.textContent = ev.status;
    const box = $('.box', node);
    const width = box ? Number(box.getAttribute('width')) : 200;
    const pid = $('.pid', node);
    const room = Math.floor((width - 30) / 6.5);
    if (pid && ev.physicalId) pid.textContent = ev.physicalId.length > room ? `${ev.physicalId.slice(0, room - 1)}…` : ev.physicalId;
    const bad = $('.bad', node);
    if (failed) {
      const text = ev.reason.length > (width - 30) / 6 ? `${ev.reason.slice(0, Math.max(8, Math.floor((width - 30) / 6) - 1))}…` : ev.reason;
      if (bad) bad.textContent = text;
      else refetch('graph');
    }
    const row = $(`tr[data-id="${cssId(ev.logicalId)}"]`);
    if (row) {
      const c = $('.st', row);
      if (c) c.innerHTML = pill(ev.status) + (failed ? `<div style="color:var(--bad);font-size:12.5px;margin-top:4px">${esc(ev.reason)}</div>` : '');
      const p = $('.pid', row);
      if (p && ev.physicalId) p.textContent = ev.physicalId;
    }
    return true;
  }

  const setStackStatus = (status: string) => {
    const el = $('#stack-status');
    if (el) el.innerHTML = pill(status);
  };

  const onMessage = (m: any) => {
    if (cfg.page === 'index') {
      if (m.kind === 'run' || m.kind === 'end' || (m.kind === 'event' && m.event.type === 'AWS::CloudFormation::Stack')) refetch('cards');
      return;
    }
    if (cfg.page !== 'stack' || m.stack !== cfg.stack) return;
    if (m.kind === 'run') {
      const b = $('#stack-body');
      if (b && !$('#graph')) refetch('body');
      log(new Date().toISOString().slice(11, 19), `kiln ${m.run.command}`, 'started', `pid ${m.run.pid}`);
      return;
    }
    if (m.kind === 'plan') {
      // The graph comes with the run's first stack event (its deployment, and so its edges, exist
      // then); a page with no graph yet gets the planned resources now.
      if (!$('#graph')) refetch('body');
      const n = m.steps.filter((s: any) => s.action !== 'noop').length;
      log(
        new Date().toISOString().slice(11, 19),
        'plan',
        `${n} change${n === 1 ? '' : 's'}`,
        m.steps
          .filter((s: any) => s.action !== 'noop')
          .map((s: any) => `${s.action} ${s.id}`)
          .join(', '),
      );
      return;
    }
    if (m.kind === 'event') {
      const ev = m.event;
      const t = ev.timestamp.slice(11, 19);
      if (ev.type === 'AWS::CloudFormation::Stack') {
        setStackStatus(ev.status);
        log(t, ev.logicalId, pill(ev.status), ev.reason || '');
        // The deployment row exists now: its template gives the edges of what is planned.
        if (ev.status.endsWith('_IN_PROGRESS')) refetch($('#graph') ? 'graph' : 'body');
        return;
      }
      if (!latest[ev.logicalId] || latest[ev.logicalId].id < ev.id) latest[ev.logicalId] = ev;
      if (!applyEvent(ev, true)) refetch($('#graph') ? 'graph' : 'body');
      log(t, ev.logicalId, pill(ev.status), [ev.physicalId || '', ev.reason || ''].filter(Boolean).join('  '), ev.status.endsWith('_FAILED') ? 'bad' : '');
      return;
    }
    if (m.kind === 'progress' || m.kind === 'notice') {
      log(new Date().toISOString().slice(11, 19), m.logicalId || 'kiln', '', m.message, m.level === 'warning' ? 'bad' : '');
      return;
    }
    if (m.kind === 'end') {
      log(new Date().toISOString().slice(11, 19), 'kiln', 'finished', m.outcome || m.status || '');
      for (const k of Object.keys(latest)) delete latest[k];
      refetch('body');
    }
  };

  const dot = $('#live-dot');
  const text = $('#live-text');
  let broken = false;
  const catchUp = () => {
    if (cfg.page === 'index') refetch('cards');
    else if (cfg.page === 'stack' && $('#stack-body')) refetch('body');
  };
  const onOpen = () => {
    if (dot) dot.classList.add('live');
    if (text) text.textContent = 'live';
    // Back after a break (a server restart, a dropped connection): what was missed is in state, so
    // the parts are fetched again.
    if (broken) {
      broken = false;
      catchUp();
    }
  };
  const onError = () => {
    broken = true;
    if (dot) dot.classList.remove('live');
    if (text) text.textContent = 'reconnecting…';
  };

  // What arrives (the stream's data as text, or the connection's own `__open` / `__error`) waits here
  // for the next frame. A tab hidden so long that thousands pile up drops them and fetches its parts
  // again when shown, which shows the same.
  const MAX_QUEUED = 2000;
  const queue: any[] = [];
  let frame = false;
  let resync = false;
  const flush = () => {
    frame = false;
    drawn = w.performance.now();
    if (resync) {
      resync = false;
      catchUp();
    }
    for (const item of queue.splice(0)) {
      try {
        const m = typeof item === 'string' ? JSON.parse(item) : item;
        if (m.kind === '__open') onOpen();
        else if (m.kind === '__error') onError();
        else onMessage(m);
      } catch (err) {
        w.console.error('kiln ui:', err);
      }
    }
    flushLog();
  };
  // At most one draw per DRAW_GAP ms: a person sees a deploy move just as well at five updates a
  // second, and twenty open pages then cost the machine (and the deploy on it) a fraction of a draw
  // per animation frame each.
  const DRAW_GAP = 200;
  let drawn = -Infinity;
  const schedule = () => {
    if (frame || !queue.length || doc.visibilityState === 'hidden') return;
    frame = true;
    const wait = drawn + DRAW_GAP - w.performance.now();
    if (wait > 0) w.setTimeout(() => w.requestAnimationFrame(flush), wait);
    else w.requestAnimationFrame(flush);
  };
  doc.addEventListener('visibilitychange', schedule);
  const deliver = (item: any) => {
    if (queue.length >= MAX_QUEUED) {
      queue.length = 0;
      resync = true;
    }
    queue.push(item);
    schedule();
  };

  /** A stream of this tab's own; one that the browser gave up on (closed) is opened again. */
  const ownStream = () => {
    const es = new w.EventSource('/api/events');
    es.onopen = () => deliver({ kind: '__open' });
    es.onerror = () => {
      deliver({ kind: '__error' });
      if (es.readyState === 2) w.setTimeout(ownStream, 2000);
    };
    es.onmessage = (e: any) => deliver(e.data);
    w.__kilnEvents = es;
  };
  // One stream per browser, shared by every tab through a worker (see liveWorker); a browser without
  // shared workers, or whose worker cannot start, gets a stream per tab.
  const connect = () => {
    if (w.SharedWorker) {
      try {
        const worker = new w.SharedWorker('/worker.js', { name: 'kiln-live' });
        worker.onerror = () => {
          if (w.__kilnEvents === worker) ownStream();
        };
        worker.port.onmessage = (e: any) => deliver(e.data);
        worker.port.start();
        w.addEventListener('pagehide', () => worker.port.postMessage('close'));
        w.__kilnEvents = worker;
        return;
      } catch (err) {
        w.console.warn('kiln ui: no shared worker, a stream of this tab', err);
      }
    }
    ownStream();
  };
  connect();
  void applyDrift();
}
