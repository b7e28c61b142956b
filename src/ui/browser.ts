// Code that runs in the browser, kept as plain functions so that tsc and eslint check it; a page
// embeds one as `(fn.toString())(args)`. Each function must stand alone: no imports, no closure
// over module values, only its parameters and the browser's globals.

/** Hovering a node of a graph (`svg.kg`) highlights it, its edges and its neighbours. */
export function graphHover(doc: any): void {
  const bind = (svg: any) => {
    if (svg.__kgHover) return;
    svg.__kgHover = true;
    const clear = () => {
      svg.classList.remove('focus');
      for (const el of svg.querySelectorAll('.hl')) el.classList.remove('hl');
    };
    svg.addEventListener('mouseover', (ev: any) => {
      const n = ev.target.closest ? ev.target.closest('.node') : null;
      if (!n) return;
      clear();
      const id = n.getAttribute('data-id');
      svg.classList.add('focus');
      n.classList.add('hl');
      for (const e of svg.querySelectorAll('.edge')) {
        const a = e.getAttribute('data-from');
        const b = e.getAttribute('data-to');
        if (a !== id && b !== id) continue;
        e.classList.add('hl');
        for (const m of svg.querySelectorAll('.node')) if (m.getAttribute('data-id') === (a === id ? b : a)) m.classList.add('hl');
      }
    });
    svg.addEventListener('mouseleave', clear);
  };
  for (const svg of doc.querySelectorAll('svg.kg')) bind(svg);
  doc.__kgBind = bind;
}

/** A value as a JavaScript expression that is safe inside `<script>` (no `</script>` can appear). */
export function js(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** `(fn)(args…)` as a script; each argument is a JavaScript expression (`'document'`, `js(value)`). */
export function invoke(fn: (...args: any[]) => unknown, ...args: string[]): string {
  return `(${fn.toString()})(${args.join(', ')});`;
}

/**
 * The shared worker of `kiln ui` pages (served as /worker.js): one event stream per browser for
 * every open tab of the server, passed to each tab. A browser opens at most 6 HTTP/1.1 connections
 * to one server, so 20 tabs each holding its own stream would leave none for loading pages.
 */
export function liveWorker(scope: any): void {
  const ports = new Set<any>();
  let es: any;
  let live = false;
  const post = (m: unknown) => {
    for (const p of ports) p.postMessage(m);
  };
  const open = () => {
    es = new scope.EventSource('/api/events');
    es.onopen = () => {
      live = true;
      post({ kind: '__open' });
    };
    es.onerror = () => {
      live = false;
      post({ kind: '__error' });
      // The browser retries a dropped stream by itself; one it gave up on (closed) is opened again.
      if (es.readyState === 2) scope.setTimeout(open, 2000);
    };
    // Passed on as it came: each tab parses it when it draws (a hidden tab never needs to).
    es.onmessage = (e: any) => post(e.data);
  };
  scope.onconnect = (e: any) => {
    const port = e.ports[0];
    ports.add(port);
    port.onmessage = (m: any) => {
      if (m.data === 'close') ports.delete(port);
    };
    port.start();
    if (!es) open();
    else if (live) port.postMessage({ kind: '__open' });
  };
}
