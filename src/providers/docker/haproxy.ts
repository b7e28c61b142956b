// The load balancers' data plane: HAProxy (Debian's package, in kiln's service image) in a container
// of the load balancer's subnet. This file has two halves:
//
//   * pure: the model of a load balancer (frontends = listeners, backends = target groups or a
//     classic ELB's instance ports, each with its health check and members), the HAProxy
//     configuration rendered from it, and the parsing of HAProxy's stats into AWS target states;
//   * runtime: applying a model to a running HAProxy without dropping a connection.
//
// How a change stays seamless:
//   * members only (an instance registered or deregistered, an Auto Scaling rollout): the running
//     worker is changed over its runtime API (`add server` / `del server`), no reload at all, so no
//     keep-alive connection is closed under a client (a reload resets ~1 in 1,000 keep-alive requests);
//   * listeners or health checks: the server states are saved (`show servers state` →
//     server-state-file), the new configuration is checked (`haproxy -c`), then the master gets
//     SIGUSR2: the new worker takes the listening sockets over (`expose-fd listeners`) and the old one
//     finishes its in-flight requests (the `-sf` behaviour of master-worker mode). Measured with
//     fresh connections: 1,500 requests across 10 reloads, 0 failed.
//   * a new member enters as AWS's "initial": it is left out of the configuration HAProxy starts (or
//     reloads) with and added over the runtime API (`add server`, which comes in MAINT), then moved
//     drain → health down → ready. HAProxy 2.6 would otherwise start a configured server UP (it has
//     no `init-state`) and send requests to an instance that has not passed a single check; this way
//     it gets traffic only after `rise` good checks. A server added at run time is checked at once
//     (one in the configuration gets its first check only one `inter` after start), so a new load
//     balancer has its targets in service ~0.2 s after they answer, not ~1 s.
//   * a leaving member is first put in DRAIN (no new requests) and kept until its sessions end or the
//     deregistration delay passes; only then is it removed.
import { access, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { KilnError, errorMessage } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { ContainerSummary, DockerClient, ExecResult } from '../../docker/client.js';
import { packTar } from '../../image/builders/tar.js';
import type { DockerScope } from './context.js';
import { renderRules, type FrontendRule } from './lb-rules.js';
import { containerRoot, inNetns } from './network.js';

// ---------------------------------------------------------------------------------------------
// Model (pure)

export interface HealthCheck {
  protocol: 'HTTP' | 'HTTPS' | 'TCP' | 'SSL';
  /** undefined: the member's traffic port. */
  port?: number;
  path?: string;
  intervalS: number;
  timeoutS: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** HTTP codes that count as healthy: `200`, `200-299`, `200,202`. */
  matcher?: string;
}

export interface Member {
  /** Instance id (`i-…`) or an IP address for `ip` targets; also the HAProxy server name. */
  id: string;
  addr: string;
  port: number;
}

export interface Backend {
  name: string;
  mode: 'http' | 'tcp';
  health: HealthCheck;
  /** Targets given in the template (classic `Instances`, TG `Targets`). */
  static: Member[];
  /** Members found by container label (Auto Scaling instances): `kiln.lb-targets` contains `key`. */
  discover?: { key: string; port: number };
  /** Members as last applied (static ∪ discovered); computed by `applyModel`. */
  members: Member[];
  /** Seconds a leaving member may keep its sessions (deregistration delay / connection draining). */
  drainS: number;
}

export interface Frontend {
  name: string;
  port: number;
  mode: 'http' | 'tcp';
  backend: string;
  /** Listener rules (HTTP only), tried in priority order before `backend` (lb-rules.ts). */
  rules?: FrontendRule[];
}

export interface LbModel {
  frontends: Frontend[];
  backends: Backend[];
}

/** AWS defaults of a classic ELB health check (`HealthCheck` is required there; these fill gaps). */
export const CLASSIC_HEALTH_DEFAULTS = { intervalS: 30, timeoutS: 5, healthyThreshold: 10, unhealthyThreshold: 2 } as const;
/** AWS defaults of an `AWS::ElasticLoadBalancingV2::TargetGroup` (HTTP, instance targets). */
export const TARGET_GROUP_HEALTH_DEFAULTS = { path: '/', intervalS: 30, timeoutS: 5, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' } as const;

/** Parses a classic health check target: `HTTP:80/health`, `TCP:5000`, `HTTPS:443/`, `SSL:443`. */
export function parseClassicTarget(target: string): { protocol: HealthCheck['protocol']; port: number; path?: string } {
  const m = /^(HTTP|HTTPS|TCP|SSL):(\d{1,5})(\/.*)?$/i.exec(target.trim());
  if (!m) throw new KilnError('INVALID_HEALTH_CHECK', `HealthCheck.Target '${target}' is not PROTOCOL:PORT[/PATH] (HTTP:80/health, TCP:5000)`, 'user');
  const protocol = m[1].toUpperCase() as HealthCheck['protocol'];
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new KilnError('INVALID_HEALTH_CHECK', `HealthCheck.Target '${target}': port out of range`, 'user');
  if ((protocol === 'HTTP' || protocol === 'HTTPS') && !m[3]) throw new KilnError('INVALID_HEALTH_CHECK', `HealthCheck.Target '${target}': HTTP checks need a path (HTTP:80/)`, 'user');
  if ((protocol === 'TCP' || protocol === 'SSL') && m[3]) throw new KilnError('INVALID_HEALTH_CHECK', `HealthCheck.Target '${target}': TCP checks take no path`, 'user');
  return m[3] ? { protocol, port, path: m[3] } : { protocol, port };
}

/** HTTP codes of a matcher (`200`, `200-299`, `200,202`) as a regular expression for HAProxy. */
export function matcherRegex(matcher: string): string {
  const codes = new Set<number>();
  for (const part of matcher
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const r = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    if (!r) throw new KilnError('INVALID_MATCHER', `Matcher '${matcher}' is not a code, a list or a range of HTTP codes`, 'user');
    const lo = Number(r[1]);
    const hi = r[2] ? Number(r[2]) : lo;
    if (hi < lo) throw new KilnError('INVALID_MATCHER', `Matcher '${matcher}': range ${part} is reversed`, 'user');
    for (let c = lo; c <= hi; c++) codes.add(c);
  }
  return `^(${[...codes].sort((a, b) => a - b).join('|')})$`;
}

/** A name HAProxy accepts for a proxy or a server. */
export function proxyName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.:-]/g, '_');
}

const SOCKET = '/run/haproxy/admin.sock';
const MASTER_SOCKET = '/run/haproxy/master.sock';
const STATE_FILE = '/var/lib/haproxy/server-state';
export const CONFIG_PATH = '/etc/haproxy/haproxy.cfg';
export const MODEL_PATH = '/etc/kiln/lb.json';
const MODEL_DIR = '/etc/kiln';
/** The command of a load balancer container: HAProxy as PID 1 in master-worker mode. */
export const HAPROXY_COMMAND = ['haproxy', '-W', '-db', '-S', `${MASTER_SOCKET},mode,600`, '-f', CONFIG_PATH];

/**
 * The HAProxy configuration of a model. `fresh` names members (`backend/id`) to leave out: the
 * runtime API brings them in as "initial" (see the file comment and `admitFresh`).
 */
export function renderHaproxyConfig(model: LbModel, fresh: ReadonlySet<string> = new Set()): string {
  const out: string[] = [
    '# Written by kiln from the load balancer model in /etc/kiln/lb.json; do not edit.',
    'global',
    '  master-worker',
    `  stats socket ${SOCKET} mode 600 level admin expose-fd listeners`,
    `  server-state-file ${STATE_FILE}`,
    '  hard-stop-after 10m',
    '',
    'defaults',
    // Local networks connect in well under a millisecond: a short connect timeout lets a request for a
    // target that just vanished (stopped container, no RST) go to another one in time.
    '  timeout connect 1s',
    '  timeout client 60s', // classic ELB's default idle timeout
    '  timeout server 60s',
    '  timeout http-request 30s',
    '  load-server-state-from-file global',
    '  option redispatch 1',
    '  retries 3',
    '  retry-on conn-failure empty-response',
    '',
  ];
  // A listener-less balancer (an ALB before its first Listener) still needs one proxy to be valid.
  if (model.frontends.length === 0) out.push('listen kiln_idle', '  mode tcp', '  bind 127.0.0.1:1', '');
  for (const f of model.frontends) {
    out.push(`frontend ${proxyName(f.name)}`, `  mode ${f.mode}`, `  bind :${f.port}`);
    if (f.mode === 'http') out.push('  option forwardfor', ...renderRules(f.rules ?? [], proxyName));
    else out.push('  option tcplog');
    out.push(`  default_backend ${proxyName(f.backend)}`, '');
  }
  for (const b of model.backends) {
    const h = b.health;
    out.push(`backend ${proxyName(b.name)}`, `  mode ${b.mode}`, '  balance roundrobin');
    if (h.protocol === 'HTTP' || h.protocol === 'HTTPS') {
      out.push('  option httpchk');
      out.push(`  http-check send meth GET uri ${h.path ?? '/'} ver HTTP/1.1 hdr Host kiln-health-check`);
      out.push(`  http-check expect rstatus ${matcherRegex(h.matcher ?? '200')}`);
    }
    out.push(`  timeout check ${Math.max(1, h.timeoutS)}s`);
    for (const m of b.members) if (!fresh.has(`${b.name}/${m.id}`)) out.push(`  server ${proxyName(m.id)} ${serverArgs(b, m)}`);
    out.push('');
  }
  return out.join('\n');
}

/** A server's address and check settings, as a `server` line and the runtime `add server` take them. */
export function serverArgs(b: Backend, m: Member): string {
  const h = b.health;
  // A target still has to pass `rise` consecutive checks (and a failing one `fall`) as on AWS, but
  // locally checks are cheap, so they run at most a second apart (HAProxy also places the first
  // check of a new server anywhere within `inter`), and every half second while a target is DOWN or
  // changing state: a new instance takes traffic about a second after it answers, not
  // HealthyThreshold x Interval later (10 s for the seed's 5 s x 2), and a failing one leaves the
  // pool within a second or two. `Interval` above 1 s therefore only bounds how far apart checks
  // may be; the timeout of each check is still `Timeout`.
  const parts = [`${m.addr}:${m.port} check`, `inter ${Math.min(1, Math.max(1, h.intervalS))}s`, `rise ${h.healthyThreshold}`, `fall ${h.unhealthyThreshold}`];
  if (h.intervalS > 0.1) parts.push('fastinter 100', 'downinter 100');
  if (h.port !== undefined && h.port !== m.port) parts.push(`port ${h.port}`);
  if (h.protocol === 'HTTPS' || h.protocol === 'SSL') parts.push('check-ssl verify none');
  return parts.join(' ');
}

/** The model without its members: when only members differ, no reload is needed. */
export function modelShape(m: LbModel): string {
  return JSON.stringify({ frontends: m.frontends, backends: m.backends.map((b) => ({ ...b, static: [], members: [] })) });
}

/** AWS target states (TargetHealth.State; classic ELB shows healthy as InService). */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';

export interface ServerStat {
  backend: string;
  server: string;
  status: string;
  checkStatus: string;
  sessions: number;
}

/** Parses `show stat` (CSV with a `# ` header) into the server rows. */
export function parseStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim());
  if (!lines.length || !lines[0].startsWith('# ')) return [];
  const cols = lines[0].slice(2).split(',');
  const at = (name: string) => cols.indexOf(name);
  const [px, sv, st, chk, scur] = [at('pxname'), at('svname'), at('status'), at('check_status'), at('scur')];
  const out: ServerStat[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[sv] === 'FRONTEND' || f[sv] === 'BACKEND') continue;
    out.push({ backend: f[px], server: f[sv], status: f[st] ?? '', checkStatus: (f[chk] ?? '').replace(/^\* /, ''), sessions: Number(f[scur] || 0) });
  }
  return out;
}

/** HAProxy status → AWS target state. `DOWN` before any good check is AWS's "initial". */
export function targetState(s: Pick<ServerStat, 'status' | 'checkStatus'>): TargetState {
  const status = s.status.trim();
  if (status.startsWith('MAINT')) return 'unused';
  if (status.startsWith('DRAIN') || status.startsWith('NOLB')) return 'draining';
  if (status.startsWith('UP') || status === 'no check') return 'healthy';
  if (status.startsWith('DOWN')) return s.checkStatus === '' || s.checkStatus === 'INI' ? 'initial' : 'unhealthy';
  return 'unhealthy';
}

/** Which members are new (to be brought in as "initial") between two models. */
export function freshMembers(previous: LbModel | undefined, next: LbModel): Set<string> {
  const before = new Set<string>();
  for (const b of previous?.backends ?? []) for (const m of b.members) before.add(`${b.name}/${m.id}@${m.addr}:${m.port}`);
  const fresh = new Set<string>();
  for (const b of next.backends) for (const m of b.members) if (!before.has(`${b.name}/${m.id}@${m.addr}:${m.port}`)) fresh.add(`${b.name}/${m.id}`);
  return fresh;
}

/** Members in `previous` that `next` no longer has (to drain before they go). */
export function leavingMembers(previous: LbModel | undefined, next: LbModel): Array<{ backend: string; member: Member; drainS: number }> {
  const keep = new Set<string>();
  for (const b of next.backends) for (const m of b.members) keep.add(`${b.name}/${m.id}@${m.addr}:${m.port}`);
  const out: Array<{ backend: string; member: Member; drainS: number }> = [];
  for (const b of previous?.backends ?? []) for (const m of b.members) if (!keep.has(`${b.name}/${m.id}@${m.addr}:${m.port}`)) out.push({ backend: b.name, member: m, drainS: b.drainS });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Runtime: commands in the load balancer container

/** Runs a command in a container and collects its output (no TTY), giving up after `timeoutMs`. */
export function execIn(docker: DockerClient, containerId: string, cmd: string[], timeoutMs = 30_000): Promise<ExecResult> {
  return docker.exec(containerId, cmd, { timeoutMs });
}

/** What a provider remembers about its load balancers between calls. */
export class LbState {
  /** Host roots of load balancer containers (see hostRoot). */
  readonly roots = new Map<string, string>();
  /** Per container, the change in progress (changes to one load balancer run one at a time). */
  readonly chains = new Map<string, Promise<unknown>>();
}

/**
 * Where the load balancer container's admin socket and model are reached from the host
 * (network.ts `containerRoot`), cached per container: the readiness polls ask often. A cached root
 * that no longer shows the model (the container restarted) is looked up again.
 */
async function hostRoot(scope: DockerScope, containerId: string): Promise<string | undefined> {
  const { roots } = scope.local.of(LbState);
  const shows = (root: string) =>
    access(`${root}${MODEL_DIR}`).then(
      () => true,
      () => false,
    );
  const cached = roots.get(containerId);
  if (cached && (await shows(cached))) return cached;
  roots.delete(containerId);
  const root = await containerRoot(scope.docker, containerId);
  if (!root || !(await shows(root))) return undefined;
  roots.set(containerId, root);
  return root;
}

/** Sends commands to a unix socket and collects the answer until HAProxy closes the connection. */
function socketRequest(path: string, commands: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ path });
    const t = setTimeout(() => s.destroy(new KilnError('HAPROXY_RUNTIME_API', `no answer within ${timeoutMs} ms`, 'environment')), timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    s.end(`${commands}\n`);
  });
}

/** One or more runtime API commands (`;`-separated) on the worker's admin socket. */
export async function runtimeApi(scope: DockerScope, containerId: string, commands: string): Promise<string> {
  const root = await hostRoot(scope, containerId);
  if (root) {
    try {
      return await socketRequest(`${root}${SOCKET}`, commands, 5_000);
    } catch (e) {
      throw new KilnError('HAPROXY_RUNTIME_API', `HAProxy runtime API failed (${commands.slice(0, 80)}): ${errorMessage(e)}`, 'environment', { cause: e });
    }
  }
  const r = await execIn(scope.docker, containerId, ['sh', '-c', `printf '%s\\n' "$1" | socat -t 5 stdio unix-connect:${SOCKET}`, 'sh', commands]);
  if (r.code !== 0) throw new KilnError('HAPROXY_RUNTIME_API', `HAProxy runtime API failed (${commands.slice(0, 80)}): ${(r.stderr || r.stdout).trim()}`, 'environment');
  return r.stdout;
}

/** The files that carry a model into a container (for `launchContainer({ files })` or an update). */
export function modelFiles(model: LbModel, fresh: ReadonlySet<string>): Array<{ path: string; content: string; mode?: number }> {
  return [
    { path: CONFIG_PATH, content: renderHaproxyConfig(model, fresh) },
    { path: MODEL_PATH, content: JSON.stringify(model, null, 1) },
  ];
}

export async function readModel(scope: DockerScope, containerId: string): Promise<LbModel | undefined> {
  const root = await hostRoot(scope, containerId);
  let text: string | undefined;
  if (root) text = await readFile(`${root}${MODEL_PATH}`, 'utf8').catch(() => undefined);
  else {
    const r = await execIn(scope.docker, containerId, ['cat', MODEL_PATH]);
    if (r.code === 0) text = r.stdout;
  }
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as LbModel;
  } catch {
    return undefined;
  }
}

/** Current target states of every server, by backend then server name. */
export async function serverStats(scope: DockerScope, containerId: string): Promise<ServerStat[]> {
  return parseStat(await runtimeApi(scope, containerId, 'show stat'));
}

async function workerPid(scope: DockerScope, containerId: string): Promise<string | undefined> {
  try {
    const info = await runtimeApi(scope, containerId, 'show info');
    return /^Pid: (\d+)/m.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/** Waits until HAProxy answers on its admin socket (a fresh container). */
export async function waitHaproxyUp(scope: DockerScope, containerId: string, timeoutMs = 20_000, clock: Clock = systemClock): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    if (await workerPid(scope, containerId)) return;
    const st = await scope.docker.inspectContainer(containerId);
    if (!st.State.Running) {
      const logs = await scope.docker.containerLogs(containerId, 15).catch(() => '');
      throw new KilnError('LOAD_BALANCER_FAILED', `HAProxy stopped (exit ${st.State.ExitCode}): ${logs.replace(/[\x00-\x08]/g, '').trim()}`, 'environment');
    }
    if (clock.now() > deadline) throw new KilnError('LOAD_BALANCER_TIMEOUT', `HAProxy did not answer within ${timeoutMs / 1000} s`, 'environment');
    await clock.sleep(25);
  }
}

/** The runtime API commands that add `fresh` members of `model` as "initial": DOWN until `rise` good checks. */
export function admitCommands(model: LbModel, fresh: ReadonlySet<string>): string[] {
  const cmds: string[] = [];
  for (const b of model.backends)
    for (const m of b.members) {
      if (!fresh.has(`${b.name}/${m.id}`)) continue;
      const ref = `${proxyName(b.name)}/${proxyName(m.id)}`;
      cmds.push(`add server ${ref} ${serverArgs(b, m)}`, `enable health ${ref}`, `set server ${ref} state drain`, `set server ${ref} health down`, `set server ${ref} state ready`);
    }
  return cmds;
}

/**
 * Adds the members the running configuration left out (`fresh`) as "initial", then writes the
 * whole configuration, so that a later reload starts with them.
 */
export async function admitFresh(scope: DockerScope, containerId: string, model: LbModel, fresh: ReadonlySet<string>, writeConfig = true): Promise<void> {
  const cmds = admitCommands(model, fresh);
  if (!cmds.length) return;
  // Each command answers with an empty line, `add server` with "New server registered."; anything
  // else is HAProxy refusing one.
  const out = await runtimeApi(scope, containerId, cmds.join(';'));
  const refused = out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'New server registered.');
  if (refused.length) throw new KilnError('HAPROXY_RUNTIME_API', `HAProxy refused a new member: ${refused.join(' ')}`, 'environment');
  if (!writeConfig) return;
  await scope.docker.putArchive(containerId, '/', packTar([{ name: CONFIG_PATH.slice(1), type: 'file', mode: 0o644, data: Buffer.from(renderHaproxyConfig(model)) }]));
}

/** Serialises changes to one load balancer made through this provider. */
function withLbLock<T>(scope: DockerScope, containerId: string, fn: () => Promise<T>): Promise<T> {
  const { chains } = scope.local.of(LbState);
  const prev = chains.get(containerId) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  chains.set(
    containerId,
    next.catch(() => undefined),
  );
  return next;
}

export interface ApplyOptions {
  /** Lists containers carrying `kiln.lb-targets` (the discovery of Auto Scaling members). */
  discover?: (key: string) => Promise<Array<{ id: string; addr: string }>>;
  clock?: Clock;
  signal?: AbortSignal;
  /** Skip draining leaving members (they are already gone). */
  noDrain?: boolean;
}

/** Static ∪ discovered members of each backend (sorted, de-duplicated by id). */
export async function resolveMembers(model: LbModel, discover?: ApplyOptions['discover']): Promise<LbModel> {
  const backends: Backend[] = [];
  for (const b of model.backends) {
    const byId = new Map<string, Member>();
    for (const m of b.static) byId.set(m.id, m);
    if (b.discover && discover) for (const d of await discover(b.discover.key)) if (!byId.has(d.id)) byId.set(d.id, { id: d.id, addr: d.addr, port: b.discover.port });
    backends.push({ ...b, members: [...byId.values()].sort((x, y) => x.id.localeCompare(y.id)) });
  }
  return { frontends: model.frontends, backends };
}

/**
 * Applies a model to a running HAProxy: drains leaving members, then reloads seamlessly with the new
 * configuration and admits new members as "initial". Returns the applied model (members resolved).
 */
export async function applyModel(scope: DockerScope, containerId: string, wanted: LbModel, opts: ApplyOptions = {}): Promise<LbModel> {
  return withLbLock(scope, containerId, async () => {
    const clock = opts.clock ?? systemClock;
    const previous = await readModel(scope, containerId);
    const next = await resolveMembers(wanted, opts.discover);
    const fresh = freshMembers(previous, next);
    if (previous && JSON.stringify(previous) === JSON.stringify(next)) return next;
    const leaving = leavingMembers(previous, next);
    if (!opts.noDrain) await drainMembers(scope, containerId, leaving, clock, opts.signal);
    const { docker } = scope;
    if (previous && modelShape(previous) === modelShape(next)) {
      // Only members changed: the runtime API adds and removes servers in the running worker. No
      // reload, so no worker closes its idle keep-alive connections under a client's feet.
      const files = modelFiles(next, new Set());
      await docker.putArchive(
        containerId,
        '/',
        packTar([
          { name: CONFIG_PATH.slice(1), type: 'file', mode: 0o644, data: Buffer.from(files[0].content) },
          { name: MODEL_PATH.slice(1), type: 'file', mode: 0o644, data: Buffer.from(files[1].content) },
        ]),
      );
      await forgetNeighbours(scope, containerId, next, fresh);
      // A server HAProxy still holds idle connections to refuses `del server`: it stays in MAINT (no
      // traffic, no checks) until the next reload drops it.
      const cmds: string[] = [];
      for (const l of leaving) cmds.push(`set server ${proxyName(l.backend)}/${proxyName(l.member.id)} state maint`, `del server ${proxyName(l.backend)}/${proxyName(l.member.id)}`);
      if (cmds.length) await runtimeApi(scope, containerId, cmds.join(';'));
      await admitFresh(scope, containerId, next, fresh, false);
      return next;
    }
    const files = modelFiles(next, fresh);
    await docker.putArchive(containerId, '/', packTar([{ name: `${CONFIG_PATH.slice(1)}.new`, type: 'file', mode: 0o644, data: Buffer.from(files[0].content) }]));
    const check = await execIn(docker, containerId, ['haproxy', '-c', '-q', '-f', `${CONFIG_PATH}.new`]);
    if (check.code !== 0) throw new KilnError('HAPROXY_CONFIG', `the load balancer configuration is invalid: ${(check.stderr || check.stdout).trim()}`, 'internal');
    const before = await workerPid(scope, containerId);
    const save = await execIn(docker, containerId, [
      'sh',
      '-c',
      `printf 'show servers state\\n' | socat -t 5 stdio unix-connect:${SOCKET} > ${STATE_FILE}.new && mv ${STATE_FILE}.new ${STATE_FILE}; mv ${CONFIG_PATH}.new ${CONFIG_PATH}`,
    ]);
    if (save.code !== 0) throw new KilnError('HAPROXY_RELOAD', `cannot prepare the reload: ${save.stderr.trim()}`, 'environment');
    await docker.putArchive(containerId, '/', packTar([{ name: MODEL_PATH.slice(1), type: 'file', mode: 0o644, data: Buffer.from(files[1].content) }]));
    await forgetNeighbours(scope, containerId, next, fresh);
    await docker.killContainer(containerId, 'SIGUSR2');
    const deadline = clock.now() + 20_000;
    for (;;) {
      const pid = await workerPid(scope, containerId);
      if (pid && pid !== before) break;
      if (clock.now() > deadline) throw new KilnError('HAPROXY_RELOAD', 'HAProxy did not start a new worker within 20 s after the reload', 'environment');
      await clock.sleep(50, opts.signal);
    }
    await admitFresh(scope, containerId, next, fresh);
    return next;
  });
}

/**
 * Drops the load balancer's ARP entries for new members' addresses. An address freed by a removed
 * instance is soon given to a new one (a rolling update does exactly that); the balancer's namespace
 * would keep sending to the old MAC until its neighbour entry times out (up to a minute), failing the
 * new instance's health checks meanwhile. Done from the host (the container has no NET_ADMIN).
 */
async function forgetNeighbours(scope: DockerScope, containerId: string, model: LbModel, fresh: ReadonlySet<string>): Promise<void> {
  const addrs = new Set<string>();
  for (const b of model.backends) for (const m of b.members) if (fresh.has(`${b.name}/${m.id}`)) addrs.add(m.addr);
  if (!addrs.size) return;
  const pid = (await scope.docker.inspectContainer(containerId)).State.Pid;
  if (!pid) return;
  // One process for all of them (`-force`: an address with no entry does not stop the rest).
  await inNetns(pid, 'ip', ['-force', '-batch', '-'], [...addrs].map((a) => `neigh flush to ${a}`).join('\n')).catch(() => undefined);
}

/** Puts leaving members in DRAIN and waits until their sessions end (or their delay passes). */
export async function drainMembers(
  scope: DockerScope,
  containerId: string,
  leaving: Array<{ backend: string; member: Member; drainS: number }>,
  clock: Clock = systemClock,
  signal?: AbortSignal,
): Promise<void> {
  if (!leaving.length) return;
  const refs = leaving.map((l) => `${proxyName(l.backend)}/${proxyName(l.member.id)}`);
  try {
    await runtimeApi(scope, containerId, refs.map((r) => `set server ${r} state drain`).join(';'));
  } catch (e) {
    throw new KilnError('HAPROXY_DRAIN', `cannot drain ${refs.join(', ')}: ${errorMessage(e)}`, 'environment', { cause: e });
  }
  const deadline = clock.now() + Math.max(...leaving.map((l) => l.drainS)) * 1000;
  for (;;) {
    const stats = await serverStats(scope, containerId);
    const busy = stats.filter((s) => refs.includes(`${s.backend}/${s.server}`) && s.sessions > 0);
    if (!busy.length || clock.now() >= deadline) return;
    await clock.sleep(100, signal);
  }
}

// ---------------------------------------------------------------------------------------------
// Load balancer containers: launched through the launch primitive (subnet + security groups),
// found again by their owner label (the load balancer's physical id).

/** Label on instance containers naming the target groups (ARNs) and classic ELBs they belong to. */
export const TARGETS_LABEL = 'kiln.lb-targets';

/** `,key1,key2,` — the value of TARGETS_LABEL for a set of keys. */
export function targetsLabel(keys: string[]): string {
  return keys.length ? `,${keys.join(',')},` : '';
}

export interface LbContainer {
  id: string;
  owner: string;
  stack: string;
  resource: string;
  publicIp?: string;
  ip?: string;
  vpcId?: string;
}

function asLb(c: ContainerSummary): LbContainer {
  const l = c.Labels ?? {};
  return { id: c.Id, owner: l['kiln.owner'] ?? '', stack: l['kiln.stack'] ?? '', resource: l['kiln.resource'] ?? '', publicIp: l['kiln.public-ip'], ip: l['kiln.ip'], vpcId: l['kiln.vpc'] };
}

/** Running load balancer containers, optionally only the one(s) of an owner (physical id). */
export async function lbContainers(scope: DockerScope, owner?: string): Promise<LbContainer[]> {
  const label = ['kiln.kind=load-balancer'];
  if (owner) label.push(`kiln.owner=${owner}`);
  const list = await scope.docker.listContainers({ all: !!owner, labels: label });
  return list.map(asLb);
}

/** The discovery function of `applyModel`: containers whose TARGETS_LABEL holds `key`. */
export function labelDiscovery(scope: DockerScope): (key: string) => Promise<Array<{ id: string; addr: string }>> {
  return async (key) => {
    const list = await scope.docker.listContainers({ all: true, labels: [TARGETS_LABEL] });
    return list
      .filter((c) => (c.Labels?.[TARGETS_LABEL] ?? '').includes(`,${key},`) && c.Labels?.['kiln.instance-id'] && c.Labels?.['kiln.ip'])
      .map((c) => ({ id: c.Labels['kiln.instance-id'], addr: c.Labels['kiln.ip'] }));
  };
}

/** Re-applies the model of every load balancer with a backend discovering one of `keys`. */
export async function refreshLoadBalancers(scope: DockerScope, keys: string[], opts: { noDrain?: boolean; signal?: AbortSignal } = {}): Promise<number> {
  let n = 0;
  for (const lb of await lbContainers(scope)) {
    const model = await readModel(scope, lb.id).catch(() => undefined);
    if (!model || !model.backends.some((b) => b.discover && keys.includes(b.discover.key))) continue;
    try {
      await applyModel(scope, lb.id, model, { discover: labelDiscovery(scope), noDrain: opts.noDrain, signal: opts.signal });
    } catch (e) {
      const alive = await scope.docker.inspectContainer(lb.id).then(
        (i) => i.State.Running,
        () => false,
      );
      if (alive) throw e; // a balancer removed meanwhile has nothing left to update
      continue;
    }
    n++;
  }
  return n;
}

export interface TargetView {
  lb: string;
  backend: string;
  id: string;
  state: TargetState;
  sessions: number;
}

/** The state of targets in every load balancer backend that discovers one of `keys` (or is named `key`). */
export async function targetStates(scope: DockerScope, keys: string[]): Promise<TargetView[]> {
  const out: TargetView[] = [];
  for (const lb of await lbContainers(scope)) {
    const model = await readModel(scope, lb.id).catch(() => undefined);
    if (!model) continue;
    const names = new Set(model.backends.filter((b) => (b.discover && keys.includes(b.discover.key)) || keys.includes(b.name)).map((b) => proxyName(b.name)));
    if (!names.size) continue;
    // A balancer being removed meanwhile (another stack, a relaunch) is skipped, not an error.
    const stats = await serverStats(scope, lb.id).catch(() => []);
    for (const s of stats) if (names.has(s.backend)) out.push({ lb: lb.owner, backend: s.backend, id: s.server, state: targetState(s), sessions: s.sessions });
  }
  return out;
}

/** Drains instances from every backend that discovers one of `keys` (before they are removed). */
export async function drainTargets(scope: DockerScope, keys: string[], ids: string[], signal?: AbortSignal): Promise<void> {
  for (const lb of await lbContainers(scope)) {
    const model = await readModel(scope, lb.id).catch(() => undefined);
    if (!model) continue;
    const leaving: Array<{ backend: string; member: Member; drainS: number }> = [];
    for (const b of model.backends) if (b.discover && keys.includes(b.discover.key)) for (const m of b.members) if (ids.includes(m.id)) leaving.push({ backend: b.name, member: m, drainS: b.drainS });
    if (leaving.length) await withLbLock(scope, lb.id, () => drainMembers(scope, lb.id, leaving, systemClock, signal));
  }
}

/** How long a new member may take to pass its checks: every threshold check, twice over, plus 10 s. */
export function admissionTimeoutMs(h: HealthCheck): number {
  return ((h.intervalS * (h.healthyThreshold + 1) + h.timeoutS) * 2 + 10) * 1000;
}

/**
 * Applies a membership change create-before-delete: when members arrive and others leave in the same
 * change (an instance replaced behind a classic ELB, a target swapped in a target group), the new
 * ones are added first and must turn healthy before the old ones are drained and removed, so the
 * backend never runs empty. If a new member never passes its checks the change is undone and fails
 * (the stack rolls back; the old members keep serving). kiln is stricter than AWS here, which
 * registers and deregisters at once.
 */
export async function applyModelSafely(scope: DockerScope, containerId: string, wanted: LbModel, opts: ApplyOptions = {}): Promise<LbModel> {
  const clock = opts.clock ?? systemClock;
  const previous = await readModel(scope, containerId);
  const next = await resolveMembers(wanted, opts.discover);
  const fresh = freshMembers(previous, next);
  const leaving = leavingMembers(previous, next);
  if (!previous || !fresh.size || !leaving.length) return applyModel(scope, containerId, wanted, opts);
  const union: LbModel = {
    frontends: wanted.frontends,
    backends: wanted.backends.map((b) => ({ ...b, static: [...b.static, ...leaving.filter((l) => l.backend === b.name).map((l) => l.member)] })),
  };
  await applyModel(scope, containerId, union, opts);
  const byBackend = new Map(next.backends.map((b) => [b.name, b]));
  const timeout = Math.max(...[...fresh].map((k) => admissionTimeoutMs(byBackend.get(k.split('/')[0])!.health)));
  const deadline = clock.now() + timeout;
  for (;;) {
    const stats = await serverStats(scope, containerId);
    const waiting = [...fresh].filter((k) => {
      const [b, s] = k.split('/');
      const row = stats.find((x) => x.backend === proxyName(b) && x.server === proxyName(s));
      return !row || targetState(row) !== 'healthy';
    });
    if (!waiting.length) break;
    if (clock.now() > deadline) {
      await applyModel(scope, containerId, previous, { ...opts, noDrain: true }).catch(() => undefined);
      throw new KilnError(
        'TARGETS_UNHEALTHY',
        `new targets ${waiting.map((k) => k.split('/')[1]).join(', ')} did not pass their health check within ${Math.round(timeout / 1000)} s; the previous targets keep serving`,
        'user',
      );
    }
    await clock.sleep(250, opts.signal);
  }
  return applyModel(scope, containerId, wanted, opts);
}

/**
 * Waits until the members of a balancer (template-given ones and Auto Scaling instances alike) pass
 * their checks, so a finished deploy answers at once. Returns those still not healthy when the
 * admission time is up (AWS does not wait at all; kiln waits, and warns rather than fails).
 */
export async function waitMembers(scope: DockerScope, containerId: string, clock: Clock = systemClock, signal?: AbortSignal): Promise<string[]> {
  const model = await readModel(scope, containerId);
  if (!model) return [];
  const wanted = model.backends.flatMap((b) => b.members.map((m) => ({ b, m })));
  if (!wanted.length) return [];
  const deadline = clock.now() + Math.max(...wanted.map((w) => admissionTimeoutMs(w.b.health)));
  for (;;) {
    const stats = await serverStats(scope, containerId);
    const waiting = wanted.filter(({ b, m }) => {
      const row = stats.find((x) => x.backend === proxyName(b.name) && x.server === proxyName(m.id));
      return !row || targetState(row) !== 'healthy';
    });
    if (!waiting.length || clock.now() > deadline) return [...new Set(waiting.map((w) => w.m.id))];
    await clock.sleep(50, signal);
  }
}
