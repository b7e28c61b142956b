// The instance's view of AWS, part 2: what kiln puts in every instance. `/opt/aws/bin/cfn-init`,
// `cfn-signal` and `cfn-hup` (shell, images/instance/), and the AWS::CloudFormation::Init metadata
// of the resources an instance may name in `cfn-init --resource`, compiled here into one shell
// script per config and one list of configs per configSet under /.kiln/cfn-init/<logical id>/.
// Each config runs its sections in cfn-init's order: packages, groups, users, sources, files,
// commands, services. Packages go through the image's own package manager (no internet here: its
// error is what the user sees, as on an instance without a way out).
import { createHash } from 'node:crypto';
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { LaunchFile } from './launch.js';
import { canonicalJson } from '../../core/hash.js';
import { instanceTool } from './imds.js';

const INIT_ROOT = '/.kiln/cfn-init';

function isObj(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const TOOLS = ['cfn-init', 'cfn-signal', 'cfn-hup', 'kiln-aws-lib.sh'] as const;

/**
 * What every instance of a deploy gets from kiln: the tool scripts (read from the installation) and
 * the compiled Init metadata of a resource, kept for the deploy (a group of ten instances reads and
 * compiles them once) and dropped when a new deploy starts, so an edited template or tool is seen.
 */
export class InstanceKit {
  private deployment: string | undefined;
  private tools = new Map<string, Buffer>();
  private inits = new Map<string, LaunchFile[]>();

  private of(deployment: string): this {
    if (deployment !== this.deployment) {
      this.deployment = deployment;
      this.tools.clear();
      this.inits.clear();
    }
    return this;
  }

  /** The script images/instance/NAME, read once per deploy. */
  tool(deployment: string, name: string): Buffer {
    const tools = this.of(deployment).tools;
    let b = tools.get(name);
    if (!b) tools.set(name, (b = instanceTool(name)));
    return b;
  }

  /** `compileInit(resource, init)`, compiled once per deploy for the same metadata. */
  init(deployment: string, resource: string, init: Json | undefined): LaunchFile[] {
    const inits = this.of(deployment).inits;
    const key = `${resource}\0${canonicalJson(init ?? null)}`;
    let files = inits.get(key);
    if (!files) inits.set(key, (files = compileInit(resource, init)));
    return files;
  }
}

/** cfn-init, cfn-signal, cfn-hup and their shared library at /opt/aws/bin, plus the instance's facts. */
export function instanceToolFiles(tool: (name: (typeof TOOLS)[number]) => Buffer, facts: { instanceId: string; region: string; stack: string }): LaunchFile[] {
  const env = Object.entries({ KILN_INSTANCE_ID: facts.instanceId, KILN_REGION: facts.region, KILN_STACK: facts.stack })
    .map(([k, v]) => `${k}=${shq(v)}`)
    .join('\n');
  return [...TOOLS.map((n) => ({ path: `/opt/aws/bin/${n}`, content: tool(n), mode: n.endsWith('.sh') ? 0o644 : 0o755 })), { path: '/.kiln/instance.env', content: `${env}\n`, mode: 0o644 }];
}

/** Mustache-style `{{name}}` (and `{{{name}}}`) substitution from a file's `context`. */
function render(text: string, context: JsonObject | undefined): string {
  if (!context) return text;
  return text.replace(/\{\{\{?\s*([\w.]+)\s*\}?\}\}/g, (m, name: string) => {
    const v = context[name];
    return v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  });
}

function fetchLine(url: string, to: string): string {
  return `if command -v curl >/dev/null 2>&1; then curl -sSfL --max-time 60 -o ${shq(to)} ${shq(url)}; elif command -v wget >/dev/null 2>&1; then wget -q -O ${shq(to)} ${shq(url)}; else echo "no curl or wget to fetch ${url}"; false; fi || fail ${shq(`Failed to retrieve ${url}`)}`;
}

/** Compiles one config into a shell script; `staged` collects the files it copies from. */
function compileConfig(resource: string, name: string, cfg: JsonObject, staged: LaunchFile[]): string {
  const lines = ['#!/bin/sh', `# config ${name} of ${resource}, compiled by kiln`, 'fail() { echo "$1"; exit 1; }'];
  const packages = isObj(cfg.packages) ? cfg.packages : {};
  for (const [manager, list] of Object.entries(packages)) {
    if (!isObj(list)) continue;
    const names = Object.entries(list).map(([n, v]) => (manager === 'apt' && Array.isArray(v) && typeof v[0] === 'string' && v[0] ? `${n}=${v[0]}` : n));
    if (!names.length) continue;
    const q = names.map(shq).join(' ');
    if (manager === 'python') lines.push(`pip install ${q} || pip3 install ${q} || fail 'Failed to install python packages: ${names.join(' ')}'`);
    else if (manager === 'rubygems') lines.push(`gem install ${q} || fail 'Failed to install gems: ${names.join(' ')}'`);
    else if (manager === 'msi') lines.push(`fail 'msi packages need Windows'`);
    else
      // yum, apt, rpm: the image's own package manager (Amazon Linux aliases run on Debian here).
      lines.push(
        `if command -v yum >/dev/null 2>&1; then yum install -y ${q}; elif command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${q}; elif command -v apk >/dev/null 2>&1; then apk add ${q}; else echo 'no package manager (yum, apt-get or apk) in this image'; false; fi || fail 'Could not install ${manager} packages: ${names.join(' ')}'`,
      );
  }
  for (const [g, o] of Object.entries(isObj(cfg.groups) ? cfg.groups : {})) {
    const gid = isObj(o) && o.gid !== undefined ? String(o.gid) : '';
    lines.push(
      `grep -q ${shq(`^${g}:`)} /etc/group || groupadd ${gid ? `-g ${shq(gid)} ` : ''}${shq(g)} 2>/dev/null || addgroup ${gid ? `-g ${shq(gid)} ` : ''}${shq(g)} || fail ${shq(`Could not create group ${g}`)}`,
    );
  }
  for (const [u, o] of Object.entries(isObj(cfg.users) ? cfg.users : {})) {
    const opts = isObj(o) ? o : {};
    const uid = opts.uid !== undefined ? String(opts.uid) : '';
    const home = typeof opts.homeDir === 'string' ? opts.homeDir : '';
    const groups = Array.isArray(opts.groups) ? opts.groups.map(String) : [];
    lines.push(
      `id ${shq(u)} >/dev/null 2>&1 || useradd -M ${uid ? `-u ${shq(uid)} ` : ''}${home ? `-d ${shq(home)} ` : ''}${groups.length ? `-G ${shq(groups.join(','))} ` : ''}${shq(u)} 2>/dev/null || adduser -D -H ${uid ? `-u ${shq(uid)} ` : ''}${home ? `-h ${shq(home)} ` : ''}${shq(u)} || fail ${shq(`Could not create user ${u}`)}`,
    );
    if (groups.length) for (const g of groups) lines.push(`id -nG ${shq(u)} | grep -qw ${shq(g)} || addgroup ${shq(u)} ${shq(g)} 2>/dev/null || usermod -aG ${shq(g)} ${shq(u)}`);
  }
  for (const [dir, url] of Object.entries(isObj(cfg.sources) ? cfg.sources : {})) {
    const u = String(url);
    const tmp = `/tmp/kiln-source-${createHash('sha256').update(u).digest('hex').slice(0, 8)}`;
    lines.push(`mkdir -p ${shq(dir)}`, fetchLine(u, tmp));
    lines.push(/\.zip$/i.test(u) ? `unzip -o -q ${tmp} -d ${shq(dir)} || fail ${shq(`Failed to unpack ${u}`)}` : `tar -xf ${tmp} -C ${shq(dir)} || fail ${shq(`Failed to unpack ${u}`)}`);
  }
  for (const [path, o] of Object.entries(isObj(cfg.files) ? cfg.files : {})) {
    if (!isObj(o)) continue;
    if (!path.startsWith('/')) throw new KilnError('INVALID_INIT', `AWS::CloudFormation::Init of ${resource}: file path must be absolute: ${path}`, 'user');
    const mode = typeof o.mode === 'string' || typeof o.mode === 'number' ? String(o.mode) : '';
    lines.push(`mkdir -p "$(dirname ${shq(path)})"`);
    if (mode.startsWith('120') && typeof o.content === 'string') {
      lines.push(`ln -sf ${shq(o.content)} ${shq(path)} || fail ${shq(`Could not link ${path}`)}`);
      continue;
    }
    if (o.content !== undefined) {
      let data: Buffer;
      if (typeof o.content === 'string') data = String(o.encoding) === 'base64' ? Buffer.from(o.content, 'base64') : Buffer.from(render(o.content, isObj(o.context) ? o.context : undefined));
      else data = Buffer.from(JSON.stringify(o.content, null, 2));
      const from = `${INIT_ROOT}/${resource}/files/${staged.length}`;
      staged.push({ path: from, content: data, mode: 0o600 });
      lines.push(`cp ${shq(from)} ${shq(path)} || fail ${shq(`Could not write ${path}`)}`);
    } else if (typeof o.source === 'string') {
      lines.push(fetchLine(o.source, path));
    }
    if (mode) lines.push(`chmod ${shq(mode.slice(-4))} ${shq(path)} || fail ${shq(`Could not set the mode of ${path}`)}`);
    const owner = typeof o.owner === 'string' ? o.owner : '';
    const group = typeof o.group === 'string' ? o.group : '';
    if (owner || group) lines.push(`chown ${shq(`${owner}${group ? `:${group}` : ''}`)} ${shq(path)} || fail ${shq(`Could not set the owner of ${path}`)}`);
  }
  const commands = isObj(cfg.commands) ? cfg.commands : {};
  for (const key of Object.keys(commands).sort()) {
    const c = commands[key];
    if (!isObj(c)) continue;
    const cmd = Array.isArray(c.command) ? c.command.map((x) => shq(String(x))).join(' ') : `sh -c ${shq(String(c.command ?? ''))}`;
    const env = isObj(c.env)
      ? Object.entries(c.env)
          .map(([k, v]) => `export ${k}=${shq(String(v))}; `)
          .join('')
      : '';
    const cwd = typeof c.cwd === 'string' ? `cd ${shq(c.cwd)} && ` : '';
    const ignore = c.ignoreErrors === true || c.ignoreErrors === 'true';
    const body = `(${env}${cwd}${cmd})`;
    const test = typeof c.test === 'string' ? `(${env}${cwd}sh -c ${shq(c.test)})` : '';
    lines.push(`echo ${shq(`Running command ${key}`)}`);
    const run = ignore ? `${body} || echo ${shq(`Command ${key} failed (ignored)`)}` : `${body} || fail ${shq(`Command ${key} failed`)}`;
    lines.push(test ? `if ${test}; then ${run}; else echo ${shq(`Test for command ${key} failed, skipping`)}; fi` : run);
  }
  const services = isObj(cfg.services) ? cfg.services : {};
  for (const [kind, list] of Object.entries(services)) {
    if (!isObj(list)) continue;
    for (const [svc, o] of Object.entries(list)) {
      if (!isObj(o)) continue;
      const on = (v: Json | undefined) => v === true || v === 'true';
      if (on(o.enabled) && kind === 'sysvinit')
        lines.push(`command -v update-rc.d >/dev/null 2>&1 && update-rc.d ${shq(svc)} defaults >/dev/null 2>&1; command -v chkconfig >/dev/null 2>&1 && chkconfig ${shq(svc)} on; true`);
      if (on(o.ensureRunning))
        lines.push(
          `if [ -x /etc/init.d/${svc} ]; then /etc/init.d/${svc} status >/dev/null 2>&1 || /etc/init.d/${svc} start; elif command -v service >/dev/null 2>&1; then service ${shq(svc)} start; else echo 'no init script for ${svc}'; false; fi || fail ${shq(`Could not start service ${svc}`)}`,
        );
    }
  }
  lines.push('exit 0', '');
  return lines.join('\n');
}

/**
 * The files of a resource's AWS::CloudFormation::Init metadata as cfn-init runs them. Without
 * configSets, the `default` set is the one config named `config`, as cfn-init does.
 */
export function compileInit(resource: string, init: Json | undefined): LaunchFile[] {
  if (!isObj(init)) return [];
  if (!/^[A-Za-z0-9]+$/.test(resource)) return [];
  const files: LaunchFile[] = [];
  const staged: LaunchFile[] = [];
  const configNames = Object.keys(init).filter((k) => k !== 'configSets');
  for (const name of configNames) {
    const cfg = init[name];
    if (!isObj(cfg) || !/^[A-Za-z0-9_.-]+$/.test(name)) continue;
    files.push({ path: `${INIT_ROOT}/${resource}/configs/${name}.sh`, content: compileConfig(resource, name, cfg, staged), mode: 0o700 });
  }
  const sets: Record<string, Json> = isObj(init.configSets) ? init.configSets : { default: configNames.includes('config') ? ['config'] : [] };
  const expand = (set: string, seen: string[]): string[] => {
    if (seen.includes(set)) throw new KilnError('INVALID_INIT', `AWS::CloudFormation::Init of ${resource}: configSet ${set} includes itself`, 'user');
    const list = sets[set];
    const items = Array.isArray(list) ? list : list === undefined ? [] : [list];
    return items.flatMap((x) => (isObj(x) && typeof x.ConfigSet === 'string' ? expand(x.ConfigSet, [...seen, set]) : [String(x)]));
  };
  for (const set of Object.keys(sets)) if (/^[A-Za-z0-9_.-]+$/.test(set)) files.push({ path: `${INIT_ROOT}/${resource}/sets/${set}`, content: `${expand(set, []).join('\n')}\n`, mode: 0o600 });
  return [...files, ...staged];
}
