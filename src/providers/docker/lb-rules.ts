// Listener rules of an application load balancer (`AWS::ElasticLoadBalancingV2::ListenerRule`) as the
// HAProxy data plane runs them. Pure: AWS's conditions and actions are read into a small model (kept
// in the load balancer's model, haproxy.ts), and that model is rendered as HAProxy frontend lines.
//
// How the rendering keeps AWS's semantics:
//   * rules are tried in priority order and the first whose conditions all match wins. Every rule
//     is an `http-request set-var(txn.kiln_rule)` guarded by "no rule chose yet" and its ACLs, in
//     priority order; the actions then act on the chosen rule's name. (Acting directly would break
//     the order: HAProxy runs every `http-request return/redirect` before any `use_backend`.)
//   * within a condition the values are alternatives (ACLs of one name are OR-ed); conditions of a
//     rule must all match (the ACL names listed together).
//   * wildcards `*` and `?` become anchored regular expressions; paths match case-sensitively, host
//     names, header and query values case-insensitively, as AWS documents.
//   * a weighted forward draws one random number per request (`txn.kiln_w`) and picks the target
//     group whose weight range holds it; a target group of weight 0 gets nothing.
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../core/json.js';

export interface RuleCondition {
  /** The HAProxy sample fetch: `path`, `req.hdr(host),field(1,:)`, `req.hdr(X-Env)`, `urlp(v)`, `query`, `method`, `src`. */
  fetch: string;
  /** Regular expressions (or methods, or CIDRs for `src`), any of which matches. */
  patterns: string[];
  match: 'reg' | 'str' | 'ip';
  caseInsensitive: boolean;
}

export type RuleAction =
  | { type: 'forward'; targets: Array<{ backend: string; tgArn: string; weight: number }> }
  | { type: 'fixed-response'; status: number; contentType?: string; body?: string }
  | { type: 'redirect'; location: string; code: number; bare?: string };

export interface FrontendRule {
  /** The rule's ARN (physical id). */
  id: string;
  priority: number;
  /** All must match; each holds alternatives (several ACLs of one condition, e.g. query pairs). */
  conditions: RuleCondition[][];
  action: RuleAction;
}

function bad(message: string): KilnError {
  return new KilnError('INVALID_PROPERTY', message, 'user');
}

const strOf = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const isObj = (v: Json | undefined): v is JsonObject => !!v && typeof v === 'object' && !Array.isArray(v);
const strings = (v: Json | undefined, what: string): string[] => {
  if (!Array.isArray(v) || !v.length) throw bad(`${what} needs at least one value`);
  return v.map((x, i) => {
    const s = strOf(x);
    if (s === undefined || s === '') throw bad(`${what}[${i}] must be a non-empty string`);
    return s;
  });
};

/** An AWS wildcard pattern (`*` any run, `?` one character) as an anchored regular expression. */
export function wildcardRegex(pattern: string): string {
  let out = '^';
  for (const ch of pattern) out += ch === '*' ? '.*' : ch === '?' ? '.' : /[\\^$.|+()[\]{}]/.test(ch) ? `\\${ch}` : ch;
  return `${out}$`;
}

function limit(values: string[], what: string, max = 128): void {
  if (values.length > 5) throw bad(`${what}: at most 5 values per condition`);
  for (const v of values) if (v.length > max) throw bad(`${what}: '${v.slice(0, 20)}…' is longer than ${max} characters`);
}

/** One AWS condition (`Field` with `Values` or its `…Config`) as alternatives of HAProxy ACLs. */
export function parseCondition(c: Json, at: string): RuleCondition[] {
  if (!isObj(c)) throw bad(`${at} must be an object with Field`);
  const field = strOf(c.Field);
  const cfg = (k: string) => (isObj(c[k]) ? (c[k] as JsonObject) : undefined);
  const valuesOf = (k: string) => strings(cfg(k)?.Values ?? c.Values, `${at}.${cfg(k) ? `${k}.Values` : 'Values'}`);
  switch (field) {
    case 'path-pattern': {
      const v = valuesOf('PathPatternConfig');
      limit(v, at);
      for (const p of v) if (!/^[A-Za-z0-9_\-.$/~"'@:+&*?;%=]+$/.test(p)) throw bad(`${at}: path pattern '${p}' has a character AWS does not allow`);
      return [{ fetch: 'path', patterns: v.map(wildcardRegex), match: 'reg', caseInsensitive: false }];
    }
    case 'host-header': {
      const v = valuesOf('HostHeaderConfig');
      limit(v, at);
      for (const h of v) if (!/^[A-Za-z0-9\-.*?]+$/.test(h)) throw bad(`${at}: host name '${h}' may hold only letters, digits, - . * ?`);
      return [{ fetch: 'req.hdr(host),field(1,:)', patterns: v.map(wildcardRegex), match: 'reg', caseInsensitive: true }];
    }
    case 'http-header': {
      const h = cfg('HttpHeaderConfig');
      const name = strOf(h?.HttpHeaderName);
      if (!h || !name) throw bad(`${at}: an http-header condition needs HttpHeaderConfig.HttpHeaderName`);
      if (!/^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,40}$/.test(name)) throw bad(`${at}: '${name}' is not an HTTP header name`);
      const v = strings(h.Values, `${at}.HttpHeaderConfig.Values`);
      limit(v, at);
      return [{ fetch: `req.hdr(${name})`, patterns: v.map(wildcardRegex), match: 'reg', caseInsensitive: true }];
    }
    case 'query-string': {
      const q = cfg('QueryStringConfig');
      const pairs = q && Array.isArray(q.Values) ? q.Values : [];
      if (!pairs.length) throw bad(`${at}: a query-string condition needs QueryStringConfig.Values (Key / Value pairs)`);
      if (pairs.length > 5) throw bad(`${at}: at most 5 values per condition`);
      return pairs.map((p, i) => {
        if (!isObj(p) || !strOf(p.Value)) throw bad(`${at}.QueryStringConfig.Values[${i}] needs a Value`);
        const key = strOf(p.Key);
        const value = strOf(p.Value)!;
        if (key !== undefined) {
          if (!/^[A-Za-z0-9_\-.~]+$/.test(key)) throw bad(`${at}.QueryStringConfig.Values[${i}].Key '${key}' holds a character kiln does not match on`);
          return { fetch: `urlp(${key})`, patterns: [wildcardRegex(value)], match: 'reg' as const, caseInsensitive: true };
        }
        // Any parameter with that value.
        return { fetch: 'query', patterns: [`(^|&)[^=&]*=${wildcardRegex(value).slice(1, -1)}(&|$)`], match: 'reg' as const, caseInsensitive: true };
      });
    }
    case 'http-request-method': {
      const v = valuesOf('HttpRequestMethodConfig');
      limit(v, at, 40);
      for (const m of v) if (!/^[A-Z_-]+$/.test(m)) throw bad(`${at}: method '${m}' must be upper-case letters, _ or -`);
      return [{ fetch: 'method', patterns: v, match: 'str', caseInsensitive: false }];
    }
    case 'source-ip': {
      const v = valuesOf('SourceIpConfig');
      limit(v, at, 43);
      for (const s of v) if (!/^\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}$/.test(s)) throw bad(`${at}: '${s}' is not an IPv4 CIDR block (IPv6 sources do not reach local balancers)`);
      return [{ fetch: 'src', patterns: v, match: 'ip', caseInsensitive: false }];
    }
    default:
      throw bad(`${at}.Field '${field ?? ''}' is not one of path-pattern, host-header, http-header, query-string, http-request-method, source-ip`);
  }
}

const CONTENT_TYPES = ['text/plain', 'text/css', 'text/html', 'application/javascript', 'application/json'];

/** HAProxy log-format text for an AWS redirect part: `#{…}` placeholders become sample fetches. */
function redirectPart(v: string, what: string): string {
  const escaped = v.replace(/%/g, '%%');
  return escaped.replace(/#\{([a-z]+)\}/g, (m, k: string) => {
    if (k === 'host') return '%[req.hdr(host),field(1,:)]';
    if (k === 'port') return '%[dst_port]';
    if (k === 'path') return '%[path,regsub(^/,)]';
    if (k === 'query') return '%[query]';
    if (k === 'protocol') return 'http';
    throw bad(`${what}: unknown placeholder ${m}`);
  });
}

/**
 * The HAProxy location of a RedirectConfig (local listeners speak HTTP), and `bare`: the location
 * for a request without a query when the configured query is made of `#{query}` only. AWS adds the
 * "?" itself ("do not include the leading ?"), so an empty query gives a location without one.
 */
export function redirectLocations(r: JsonObject): { location: string; bare?: string } {
  const protocol = (strOf(r.Protocol) ?? '#{protocol}').toLowerCase();
  if (!['#{protocol}', 'http', 'https'].includes(protocol)) throw bad(`RedirectConfig.Protocol '${protocol}' must be HTTP, HTTPS or #{protocol}`);
  const host = strOf(r.Host) ?? '#{host}';
  const port = strOf(r.Port) ?? '#{port}';
  const path = strOf(r.Path) ?? '/#{path}';
  const query = strOf(r.Query) ?? '#{query}';
  if (!path.startsWith('/')) throw bad(`RedirectConfig.Path '${path}' must start with /`);
  const scheme = protocol === '#{protocol}' ? 'http' : protocol;
  // The client's own Host header (with its port) when neither host nor port changes: what the client used.
  const authority =
    host === '#{host}' && port === '#{port}'
      ? '%[req.hdr(host)]'
      : `${redirectPart(host, 'RedirectConfig.Host')}${(scheme === 'http' && port === '80') || (scheme === 'https' && port === '443') ? '' : `:${redirectPart(port, 'RedirectConfig.Port')}`}`;
  // The request's own path and query (`url`, the origin form): AWS's defaults, with no stray "?".
  if (path === '/#{path}' && query === '#{query}') return { location: `${scheme}://${authority}%[url]` };
  const head = `${scheme}://${authority}${redirectPart(path, 'RedirectConfig.Path')}`;
  if (query === '') return { location: head };
  const location = `${head}?${redirectPart(query, 'RedirectConfig.Query')}`;
  return query.replace(/#\{query\}/g, '') === '' ? { location, bare: head } : { location };
}

/** The rule's action: forward (one or weighted target groups), fixed-response or redirect. */
export function parseActions(actions: Json | undefined, backendOf: (tgArn: string, at: string) => string): RuleAction {
  const list = Array.isArray(actions) ? actions : [];
  if (!list.length) throw bad('Actions needs one action');
  const finals = list.filter((a) => isObj(a) && ['forward', 'fixed-response', 'redirect'].includes(strOf(a.Type) ?? ''));
  const others = list.filter((a) => !finals.includes(a)).map((a) => (isObj(a) ? strOf(a.Type) : undefined) ?? '?');
  if (others.length) throw new KilnError('UNSUPPORTED_ON_LOCAL', `Actions: ${others.join(', ')} cannot be realised on the local target (forward, fixed-response and redirect can)`, 'user');
  if (finals.length !== 1) throw bad('Actions: exactly one forward, fixed-response or redirect action');
  const a = finals[0] as JsonObject;
  const type = strOf(a.Type);
  if (type === 'forward') {
    const cfg = isObj(a.ForwardConfig) ? a.ForwardConfig : undefined;
    const groups = cfg && Array.isArray(cfg.TargetGroups) ? cfg.TargetGroups.filter(isObj) : [];
    const direct = strOf(a.TargetGroupArn);
    if (!direct && !groups.length) throw bad('Actions[forward] needs TargetGroupArn or ForwardConfig.TargetGroups');
    if (groups.length > 5) throw bad('ForwardConfig.TargetGroups: at most 5 target groups');
    const targets = direct
      ? [{ tgArn: direct, weight: 1 }]
      : groups.map((g, i) => {
          const w = g.Weight === undefined ? 1 : Number(g.Weight);
          if (!Number.isInteger(w) || w < 0 || w > 999) throw bad(`ForwardConfig.TargetGroups[${i}].Weight must be an integer 0-999`);
          return { tgArn: strOf(g.TargetGroupArn) ?? '', weight: w };
        });
    if (direct && groups.length && (groups.length !== 1 || strOf(groups[0].TargetGroupArn) !== direct)) throw bad('Actions[forward]: TargetGroupArn and ForwardConfig name different target groups');
    if (!targets.some((t) => t.weight > 0)) throw bad('ForwardConfig.TargetGroups: at least one target group needs a weight above 0');
    return { type: 'forward', targets: targets.map((t, i) => ({ ...t, backend: backendOf(t.tgArn, `Actions[forward].TargetGroups[${i}]`) })) };
  }
  if (type === 'fixed-response') {
    const f = isObj(a.FixedResponseConfig) ? a.FixedResponseConfig : undefined;
    const code = strOf(f?.StatusCode);
    if (!f || !code || !/^[2-5]\d\d$/.test(code)) throw bad('FixedResponseConfig.StatusCode must be a 2XX, 3XX, 4XX or 5XX code');
    const ct = strOf(f.ContentType);
    if (ct !== undefined && !CONTENT_TYPES.includes(ct)) throw bad(`FixedResponseConfig.ContentType '${ct}' is not one of ${CONTENT_TYPES.join(', ')}`);
    const body = strOf(f.MessageBody);
    if (body !== undefined && body.length > 1024) throw bad('FixedResponseConfig.MessageBody is longer than 1024 characters');
    return { type: 'fixed-response', status: Number(code), ...(ct ? { contentType: ct } : {}), ...(body !== undefined ? { body } : {}) };
  }
  const r = isObj(a.RedirectConfig) ? a.RedirectConfig : undefined;
  if (!r) throw bad('Actions[redirect] needs RedirectConfig');
  const code = strOf(r.StatusCode);
  if (code !== 'HTTP_301' && code !== 'HTTP_302') throw bad('RedirectConfig.StatusCode must be HTTP_301 or HTTP_302');
  return { type: 'redirect', ...redirectLocations(r), code: code === 'HTTP_301' ? 301 : 302 };
}

/** Backends a rule sends to. */
export function ruleBackends(r: FrontendRule): string[] {
  return r.action.type === 'forward' ? r.action.targets.map((t) => t.backend) : [];
}

/** A config word: quoted, with HAProxy's escapes. */
function quote(s: string): string {
  return `"${s.replace(/[\\"$#]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

/** The frontend lines of `rules` (before `default_backend`), in priority order. */
export function renderRules(rules: FrontendRule[], proxyName: (s: string) => string): string[] {
  const out: string[] = [];
  const sorted = [...rules].sort((a, b) => a.priority - b.priority);
  const chosen = (i: number) => `{ var(txn.kiln_rule) -m str r${i} }`;
  sorted.forEach((r, i) => {
    out.push(`  # rule ${r.id} (priority ${r.priority})`);
    const names: string[] = [];
    r.conditions.forEach((alternatives, j) => {
      const name = `kiln_r${i}_c${j}`;
      names.push(name);
      for (const c of alternatives) out.push(`  acl ${name} ${c.fetch} -m ${c.match}${c.caseInsensitive ? ' -i' : ''} ${c.patterns.map(quote).join(' ')}`);
    });
    out.push(`  http-request set-var(txn.kiln_rule) str(r${i}) if !{ var(txn.kiln_rule) -m found } ${names.join(' ')}`);
  });
  sorted.forEach((r, i) => {
    const a = r.action;
    if (a.type === 'fixed-response')
      out.push(`  http-request return status ${a.status}${a.contentType ? ` content-type ${quote(a.contentType)}` : ''}${a.body !== undefined ? ` string ${quote(a.body)}` : ''} if ${chosen(i)}`);
    else if (a.type === 'redirect') {
      // The bare location first: a request without a query (none, or an empty one) gets no "?".
      if (a.bare !== undefined) out.push(`  http-request redirect location ${quote(a.bare)} code ${a.code} if ${chosen(i)} !{ query -m len gt 0 }`);
      out.push(`  http-request redirect location ${quote(a.location)} code ${a.code} if ${chosen(i)}`);
    } else if (a.targets.filter((t) => t.weight > 0).length > 1) out.push(`  http-request set-var(txn.kiln_w) rand(${a.targets.reduce((n, t) => n + t.weight, 0)}) if ${chosen(i)}`);
  });
  sorted.forEach((r, i) => {
    const a = r.action;
    if (a.type !== 'forward') return;
    const live = a.targets.filter((t) => t.weight > 0);
    if (live.length === 1) {
      out.push(`  use_backend ${proxyName(live[0].backend)} if ${chosen(i)}`);
      return;
    }
    let from = 0;
    for (const t of a.targets) {
      if (t.weight > 0) out.push(`  use_backend ${proxyName(t.backend)} if ${chosen(i)} { var(txn.kiln_w) -m int ge ${from} } { var(txn.kiln_w) -m int lt ${from + t.weight} }`);
      from += t.weight;
    }
  });
  return out;
}
