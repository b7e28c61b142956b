// `kiln ui`: a local, read-only web server over one state directory.
//
// - Loopback by default; every request needs the token (`?token=` once, then a cookie of this port,
//   HttpOnly, SameSite=Strict), as Jupyter does; the Host header must name this server (no DNS
//   rebinding). GET and HEAD only: the pages change nothing, every action stays in the CLI.
// - Live progress: kiln processes stream their engine events to the feed socket (feed.ts); the
//   server fans each one out to every open page over server-sent events (`/api/events`). Pages
//   fetch a part again only when a run starts, plans, adds a resource or ends.
// - Responses carry a strict Content-Security-Policy (scripts by nonce, no other origin), no
//   referrer, no caching. Nothing is fetched from anywhere else: the pages are self-contained.
//
// Routes: /  /stacks/NAME  /stacks/NAME/deployments/ID  /history[?stack=NAME]  /builds
//         /api/stacks  /api/stacks/NAME  /api/stacks/NAME/drift  /api/history  /api/builds  /api/events
//         /aws/REGION/NAME  /api/aws/REGION/NAME: a stack on the AWS target, as CloudFormation reports it
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../core/errors.js';
import { openState } from '../state/db.js';
import { SqliteStackStore } from '../state/stacks.js';
import { PipelineStore } from '../state/pipeline.js';
import { BuildCache } from '../image/cache.js';
import type { Provider } from '../model/provider.js';
import type { DockerClient } from '../docker/client.js';
import { listenFeed, type FeedMessage, type LiveRun } from './feed.js';
import { history, stackDetail, stackSummaries } from './model.js';
import { buildsView } from './builds.js';
import * as pages from './pages.js';
import { deploymentEvents } from './files.js';
import { LOGO } from './html.js';
import { invoke, liveWorker } from './browser.js';
import { awsStackView, awsSummaries, type UiAws } from './aws.js';

interface UiOptions {
  stateDir: string;
  host: string;
  port: number;
  /** Given by tests; a random one otherwise. */
  token?: string;
  /** The provider drift is read with (opened on first use). */
  provider: () => Promise<Provider>;
  /** The Docker engine whose images the builds page shows. */
  docker: DockerClient;
  /** Where request failures are reported (the CLI prints them). */
  onError?: (message: string) => void;
  /** The AWS target: the stacks deployed with `--target aws` and how to ask CloudFormation about them. */
  aws?: UiAws;
}

export interface UiServer {
  url: string;
  token: string;
  port: number;
  /** The SSE clients connected now. */
  clients(): number;
  close(): Promise<void>;
}

const STACK_NAME = /^[A-Za-z][-A-Za-z0-9]{0,127}$/;
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** A name as a page may quote it: control characters escaped, a long one cut. */
function quoted(name: string): string {
  const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 60)}…` : name);
  return name.length > 64 ? `${shown} (${name.length} characters)` : shown;
}

/** Why `name` cannot be a stack's, or undefined. Stack names are CloudFormation's (and kiln's): 1 to 128 characters. */
export function stackNameProblem(name: string): string | undefined {
  if (STACK_NAME.test(name)) return undefined;
  return `${quoted(name)} is not a stack name: a stack name is 1 to 128 characters, a letter first, then letters, digits and hyphens.`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A small cache: the same answer for requests that arrive while nothing changed (20 pages at once). */
class Memo {
  private readonly entries = new Map<string, { version: number; at: number; value: Promise<unknown> }>();
  constructor(private readonly ttl: number) {}
  /** `slack`: an answer this young (ms) is good even if events came since (pages apply newer events themselves). */
  get<T>(key: string, version: number, make: () => Promise<T>, slack = 0): Promise<T> {
    const hit = this.entries.get(key);
    const age = hit ? Date.now() - hit.at : Infinity;
    if (hit && ((hit.version === version && age < this.ttl) || age < slack)) return hit.value as Promise<T>;
    const value = make();
    this.entries.set(key, { version, at: Date.now(), value });
    value.catch(() => this.entries.delete(key));
    if (this.entries.size > 500) this.entries.clear();
    return value;
  }
}

export async function startUi(o: UiOptions): Promise<UiServer> {
  const token = o.token ?? randomBytes(24).toString('base64url');
  const db = openState(o.stateDir);
  const store = new SqliteStackStore(db);
  const pipelines = new PipelineStore(db);
  const cache = new BuildCache(db);
  const clients = new Set<ServerResponse>();
  let version = 0;
  const memo = new Memo(1000);
  const driftMemo = new Memo(10_000);
  // CloudFormation is asked again at most every 5 s, however many pages ask.
  const awsMemo = new Memo(5000);
  const awsIndex = () => (o.aws ? awsMemo.get('aws:index', 0, () => awsSummaries(o.aws!)) : Promise.resolve([]));
  const awsKnown = (region: string, stack: string) => o.aws?.stacks().find((r) => r.region === region && r.stack === stack);

  // Each event is serialised once for every page; the events of one turn of the loop (a burst from a
  // deploy) go to each page in one write.
  let pending: string[] = [];
  const flush = () => {
    const chunk = pending.join('');
    pending = [];
    for (const c of clients) {
      // A page that stopped reading is dropped rather than buffered without end.
      if (c.writableLength > 4 << 20) c.destroy();
      else c.write(chunk);
    }
  };
  const broadcast = (m: FeedMessage) => {
    version++;
    if (!pending.length) setImmediate(flush);
    pending.push(`data: ${JSON.stringify(m)}\n\n`);
  };
  const feed = await listenFeed(o.stateDir, (m) => broadcast(m));
  const runs = (): ReadonlyMap<number, LiveRun> => feed.runs;

  let port = o.port;
  const cookieName = () => `kiln-ui-${port}`;
  const tokenOk = (given: string | undefined) => {
    if (!given) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  const hostOk = (h: string | undefined) => {
    if (!h) return false;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
    if (!m || Number(m[2] ?? 80) !== port) return false;
    return isLoopback(m[1]!) || m[1] === o.host || m[1] === `[${o.host}]`;
  };

  const send = (res: ServerResponse, status: number, type: string, body: string, nonce?: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': `default-src 'none'; script-src ${nonce ? `'nonce-${nonce}'` : "'none'"}; worker-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      ...extra,
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const html = (res: ServerResponse, status: number, render: (ctx: pages.PageContext) => string, extra?: Record<string, string>) => {
    const nonce = randomBytes(16).toString('base64');
    send(res, status, 'text/html; charset=utf-8', render({ nonce, stateDir: o.stateDir }), nonce, extra);
  };
  const json = (res: ServerResponse, value: unknown, extra?: Record<string, string>) => send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value, null, 1), undefined, extra);
  const text = (res: ServerResponse, status: number, body: string, extra?: Record<string, string>) => send(res, status, 'text/plain; charset=utf-8', body, undefined, extra);

  // A part rendered from one answer of `detail` is rendered once for every page that asks for it
  // (the graph's layout is the costly part, and 20 pages ask for it at the same moment).
  const rendered = new WeakMap<object, Map<string, string>>();
  const renderOnce = <T extends object>(d: T, key: string, render: (d: T) => string): string => {
    let parts = rendered.get(d);
    if (!parts) rendered.set(d, (parts = new Map()));
    let out = parts.get(key);
    if (out === undefined) parts.set(key, (out = render(d)));
    return out;
  };
  const detail = (name: string, slack = 0) => memo.get(`stack:${name}`, version, () => stackDetail(store, pipelines, name, runs()), slack);

  // Not while a run changes the stack: the answer would be stale at once, and its engine calls would
  // compete with the run's. The pages ask again when the run ends.
  const drift = (name: string) =>
    [...runs().values()].some((r) => r.stack === name && !r.ended)
      ? Promise.resolve({ stack: name, resources: [], running: true })
      : driftMemo.get(`drift:${name}`, version, async () => {
          const st = store.stack(name);
          if (!st || st.status === 'DELETE_COMPLETE') return { stack: name, resources: [] };
          const { driftStack } = await import('../deploy/index.js');
          try {
            return await driftStack({ stack: name, store, provider: await o.provider() });
          } catch (e) {
            return { stack: name, resources: [], error: errorMessage(e) };
          }
        });

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL, setCookie: Record<string, string>): Promise<void> => {
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return html(res, 400, (ctx) => pages.notFoundPage(ctx, `${url.pathname} is not an address of this server (a broken %-escape).`, 'Bad address'), setCookie);
    }
    const part = url.searchParams.get('part');
    const [a, b, c, d] = parts;
    // A stack name in the address (`/stacks/NAME…`, `/api/stacks/NAME…`, `?stack=NAME`) must be one;
    // anything else is a 400 page that says why, never a lookup.
    const named = a === 'stacks' ? b : a === 'api' && b === 'stacks' ? c : a === 'history' ? (url.searchParams.get('stack') ?? undefined) : undefined;
    const badName = named !== undefined ? stackNameProblem(named) : undefined;
    if (badName) {
      if (a === 'api') return text(res, 400, `kiln ui: ${badName}\n`, setCookie);
      return html(res, 400, (ctx) => pages.notFoundPage(ctx, badName, 'Bad stack name'), setCookie);
    }
    if (parts.length === 0) {
      const list = stackSummaries(store, runs());
      if (part === 'cards') return send(res, 200, 'text/html; charset=utf-8', pages.stackCards(list));
      const aws = await awsIndex();
      return html(res, 200, (ctx) => pages.indexPage(ctx, list, aws), setCookie);
    }
    if ((a === 'aws' || (a === 'api' && b === 'aws')) && parts.length === (a === 'aws' ? 3 : 4)) {
      const [region, stack] = a === 'aws' ? [b!, c!] : [c!, d!];
      const problem = !REGION_NAME.test(region) ? `${quoted(region)} is not an AWS region name (e.g. eu-west-1).` : stackNameProblem(stack);
      if (problem) return a === 'api' ? text(res, 400, `kiln ui: ${problem}\n`, setCookie) : html(res, 400, (ctx) => pages.notFoundPage(ctx, problem, 'Bad address'), setCookie);
      const ref = awsKnown(region, stack);
      if (!ref) {
        const what = `kiln has not deployed a stack ${stack} in ${region} from this state directory (kiln deploy --target aws notes the stacks it deploys).`;
        return a === 'api' ? text(res, 404, `kiln ui: ${what}\n`, setCookie) : html(res, 404, (ctx) => pages.notFoundPage(ctx, what), setCookie);
      }
      const view = await awsMemo.get(`aws:${region}:${stack}`, 0, () => awsStackView(o.aws!, ref));
      if (a === 'api') return json(res, view, setCookie);
      if (view.kind === 'found') return html(res, 200, (ctx) => pages.awsStackPage(ctx, view.detail), setCookie);
      return html(res, 200, (ctx) => pages.awsProblemPage(ctx, ref, view.kind === 'missing' ? { missing: true } : { message: view.message }), setCookie);
    }
    if (a === 'stacks' && b && parts.length === 2) {
      // The graph, asked by every open page at once during a run, is shared for 400 ms: each page
      // then applies the events newer than what it got (data-ev).
      const dd = await detail(b, part === 'graph' ? 400 : 0);
      if (part === 'graph') return send(res, 200, 'text/html; charset=utf-8', dd ? renderOnce(dd, 'graph', pages.stackGraph) : '');
      if (part === 'body') return send(res, 200, 'text/html; charset=utf-8', dd ? renderOnce(dd, 'body', pages.stackBody) : '');
      return html(res, 200, (ctx) => (dd ? pages.stackPage(ctx, dd) : pages.waitingPage(ctx, b)), setCookie);
    }
    if (a === 'stacks' && b && c === 'deployments' && d && parts.length === 4) {
      const picked = store.stack(b) ? deploymentEvents(store, b, d) : undefined;
      if (!picked) return html(res, 404, (ctx) => pages.notFoundPage(ctx, `Stack ${b} has no deployment ${d}.`), setCookie);
      return html(res, 200, (ctx) => pages.deploymentPage(ctx, b, d, picked.events), setCookie);
    }
    if (a === 'history' && parts.length === 1) {
      const stack = url.searchParams.get('stack') ?? undefined;
      return html(res, 200, (ctx) => pages.historyPage(ctx, history(store, pipelines, stack ? [stack] : undefined), stack), setCookie);
    }
    if (a === 'builds' && parts.length === 1) {
      const v = await memo.get('builds', version, () => buildsView(db, cache, o.docker));
      return html(res, 200, (ctx) => pages.buildsPage(ctx, v), setCookie);
    }
    if (a === 'worker.js' && parts.length === 1) return send(res, 200, 'text/javascript; charset=utf-8', invoke(liveWorker, 'self'), undefined, setCookie);
    if (a === 'favicon.ico' && parts.length === 1) return send(res, 200, 'image/svg+xml', LOGO.replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" '));
    if (a === 'api') {
      if (b === 'events' && parts.length === 2) return events(req, res, setCookie);
      if (b === 'stacks' && parts.length === 2) return json(res, stackSummaries(store, runs()), setCookie);
      if (b === 'stacks' && c && parts.length === 3) {
        const dd = await detail(c);
        return dd ? json(res, dd, setCookie) : text(res, 404, `kiln ui: no stack ${c}\n`, setCookie);
      }
      if (b === 'stacks' && c && d === 'drift' && parts.length === 4) return json(res, await drift(c), setCookie);
      if (b === 'history' && parts.length === 2) return json(res, history(store, pipelines), setCookie);
      if (b === 'builds' && parts.length === 2) return json(res, await memo.get('builds', version, () => buildsView(db, cache, o.docker)), setCookie);
    }
    return html(res, 404, (ctx) => pages.notFoundPage(ctx, `Nothing at ${url.pathname}.`), setCookie);
  };

  const events = (req: IncomingMessage, res: ServerResponse, setCookie: Record<string, string>) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
      ...setCookie,
    });
    // HEAD: the headers only, not a stream that never ends.
    if (req.method === 'HEAD') return void res.end();
    res.write(`retry: 2000\ndata: ${JSON.stringify({ kind: 'hello', runs: [...runs().values()].filter((r) => !r.ended) })}\n\n`);
    clients.add(res);
    const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    beat.unref();
    req.on('close', () => {
      clearInterval(beat);
      clients.delete(res);
    });
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://kiln.invalid');
    if (!hostOk(req.headers.host)) return text(res, 403, 'kiln ui: this server answers only to its own address (Host header refused)\n');
    const cookies = Object.fromEntries(
      (req.headers.cookie ?? '')
        .split(';')
        .map((c) => c.trim().split('='))
        .filter((kv) => kv.length === 2) as Array<[string, string]>,
    );
    const given = url.searchParams.get('token') ?? cookies[cookieName()];
    if (!tokenOk(given ?? undefined)) return text(res, 403, 'kiln ui: missing or wrong token: open the URL `kiln ui` printed (it ends with ?token=…)\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'kiln ui is read-only: every action stays in the CLI\n', { Allow: 'GET, HEAD' });
    const setCookie: Record<string, string> = url.searchParams.has('token') ? { 'Set-Cookie': `${cookieName()}=${token}; Path=/; HttpOnly; SameSite=Strict` } : {};
    route(req, res, url, setCookie).catch((e) => {
      o.onError?.(`${req.method} ${url.pathname}: ${errorMessage(e)}`);
      if (!res.headersSent) text(res, 500, `kiln ui: ${errorMessage(e)}\n`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (e) => {
    await feed.close();
    throw e;
  });
  port = (server.address() as AddressInfo).port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    token,
    port,
    clients: () => clients.size,
    close: async () => {
      for (const c of clients) c.end();
      clients.clear();
      await feed.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
