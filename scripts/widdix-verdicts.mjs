#!/usr/bin/env node
// The local target's verdict on every widdix template (issue 11's proof), written to
// test/fixtures/widdix-verdicts.json. In a scratch state directory it deploys the parent stacks the
// corpus chains to (vpc-2azs, client-sg, kms-key, zone-public, alert, fargate/cluster,
// cloudmap-private), then runs `kiln plan` on each template with plausible parameters (the parents'
// names for Parent*Stack, the first allowed value, or a value of the parameter's kind), and for the
// templates named with --deploy (or all with --deploy-all), `kiln deploy` then `kiln destroy`. The
// verdict of a deploy's failure is classified by the reasons listed in FAITHFUL (fails as it would
// on AWS with the same image); any other failure after a clean plan is "plan could have known".
// Everything it deploys is destroyed at the end.
//
//   npm run build && node scripts/widdix-verdicts.mjs [--deploy a.yaml,b.yaml] [--deploy-all [--deploy-signals]] [--out FILE]
//
// --deploy-all deploys every template that plans, except those whose instances wait for cfn-signal
// (CreationPolicy) unless --deploy-signals is given too.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = [process.env.KILN_SHARED, join(repo, '..', 'shared'), '/work/shared'].find((d) => d && existsSync(join(d, 'corpus')));
const corpus = join(shared, 'corpus', 'cloudformation', 'widdix', 'templates');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const out = opt('--out', join(repo, 'test', 'fixtures', 'widdix-verdicts.json'));
const deployAll = args.includes('--deploy-all');
const deploySignals = args.includes('--deploy-signals');
const toDeploy = new Set((opt('--deploy', '') || '').split(',').filter(Boolean));
const stateDir = mkdtempSync(join(tmpdir(), 'kiln-widdix-verdicts-'));
const id = Math.random().toString(16).slice(2, 6);

/** Parent stacks, in dependency order: name → [template, parameters]. */
const PARENTS = {
  vpc: ['vpc/vpc-2azs.yaml', {}],
  client: ['state/client-sg.yaml', { ParentVPCStack: 'vpc' }],
  kms: ['security/kms-key.yaml', {}],
  zone: ['vpc/zone-public.yaml', { Name: 'example.com' }],
  alert: ['operations/alert.yaml', {}],
  cluster: ['fargate/cluster.yaml', { ParentVPCStack: 'vpc' }],
  cloudmap: ['vpc/cloudmap-private.yaml', { ParentVPCStack: 'vpc', Name: 'local.example' }],
  s3: ['state/s3.yaml', {}],
};
const stackOf = (parent) => `wv${id}${parent}`;
const PARENT_PARAMS = {
  ParentVPCStack: 'vpc',
  ParentClientStack: 'client',
  ParentKmsKeyStack: 'kms',
  ParentZoneStack: 'zone',
  ParentAlertStack: 'alert',
  ParentClusterStack: 'cluster',
  ParentCloudMapStack: 'cloudmap',
  ParentS3Stack: 's3',
};
/** Parent parameters with a default of '' that the template still needs (its resources import from them unconditionally). */
const ALWAYS = ['ParentS3Stack'];

/**
 * Failures that are faithful: what the same template does on AWS with the same image (a stand-in
 * Debian image has no yum, and no instance here reaches the internet to fetch packages or code).
 */
const FAITHFUL = [
  [
    /cfn-init\.log of i-/,
    'cfn-init fails inside the instance (its packages need yum or the internet: the Debian stand-in has no yum and no instance here reaches a mirror), the user data signals failure, and the stack rolls back on that signal, as on AWS with that image',
  ],
  [
    /Received FAILURE signal/,
    'the user data fails before cfn-init on the stand-in image (it calls what the Amazon Linux AMI has and the Debian stand-in lacks: curl, the aws CLI, the ECS agent), signals failure, and the stack rolls back on that signal, as on AWS with that image',
  ],
  [
    /cfn-init|cfn-signal|WaitCondition|CreationPolicy|signal/i,
    'cfn-init fails inside the instance (packages or sources from the internet, or yum on a Debian image) and signals failure, as on AWS with that image',
  ],
];

function kiln(...argv) {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'kiln.js'), ...argv, '--state-dir', stateDir], { encoding: 'utf8', cwd: repo, maxBuffer: 64 * 1024 * 1024, timeout: 900_000 });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}
const errorsOf = (text) =>
  text
    .split('\n')
    .filter((l) => /error\[|^kiln[ :]|FAILED|failed/.test(l))
    .map((l) => l.replace(/^.*?widdix\/templates\//, '').trim())
    .slice(0, 3)
    .join(' | ') || text.trim().split('\n').slice(-2).join(' | ');

const files = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
const templates = files(corpus)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => relative(corpus, f))
  .sort();

/** The Parameters block's required names with their Type and AllowedValues (a line-level read: widdix's layout is regular). */
function requiredParameters(file) {
  const text = readFileSync(join(corpus, file), 'utf8');
  const block = /^Parameters:\n([\s\S]*?)^\S/m.exec(text)?.[1] ?? '';
  const out = [];
  for (const m of block.matchAll(/^ {2}(\w+):\n((?: {4}.*\n|\s*\n)*)/gm)) {
    const body = m[2];
    if (/^ {4}Default:/m.test(body)) continue;
    const allowed = /^ {4}AllowedValues: \[([^\]]*)\]/m.exec(body)?.[1];
    const listed = /^ {4}AllowedValues:.*\n((?: {4}- .*\n)+)/m.exec(body)?.[1];
    const first = allowed
      ? allowed.split(',')[0].trim()
      : listed
          ?.split('\n')[0]
          .replace(/^ {4}- /, '')
          .replace(/\s+#.*$/, '')
          .trim();
    out.push({ name: m[1], type: /^ {4}Type: '?([^'\n]+)'?/m.exec(body)?.[1] ?? 'String', first: first?.replace(/^['"]|['"]$/g, '') });
  }
  return out;
}

let vpcOutputs = {};
/** A plausible value for a required parameter the corpus leaves without a default. */
function valueFor(p) {
  if (PARENT_PARAMS[p.name]) return stackOf(PARENT_PARAMS[p.name]);
  if (p.first !== undefined) return p.first;
  const fromVpc = vpcOutputs[p.name] ?? vpcOutputs[p.name.replace(/[CD](Public|Private)$/, 'A$1')] ?? (p.name.startsWith('AZ') ? vpcOutputs.AZA : undefined);
  if (fromVpc !== undefined) return fromVpc;
  if (/Password|Secret|PSK/.test(p.name)) return 'Example-Passw0rd-1234';
  if (/EMail|Email/.test(p.name)) return 'admin@example.com';
  if (/CertificateArn|AcmCertificate/.test(p.name)) return 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
  if (/ARNs?$/.test(p.name)) return 'arn:aws:iam::123456789012:root';
  if (/DomainName|HostedZoneName|^Name$/.test(p.name)) return 'example.com';
  if (p.name === 'Image') return 'nginx:latest';
  if (/Version$/.test(p.name)) return '1';
  return 'example';
}

function paramsOf(file) {
  const text = readFileSync(join(corpus, file), 'utf8');
  const extra = ALWAYS.filter((n) => new RegExp(`^  ${n}:`, 'm').test(text)).map((name) => ({ name }));
  return [...requiredParameters(file), ...extra].flatMap((p) => ['--param', `${p.name}=${valueFor(p)}`]);
}
/** Templates whose servers wait for cfn-signal (CreationPolicy): their deploys are for the cfn-init work, not tried here without --deploy-signals. */
const waitsForSignals = (file) => /^\s+CreationPolicy:/m.test(readFileSync(join(corpus, file), 'utf8'));

/** Values of this run written as what they stand for: `<vpc>` (a parent stack's name), `<vpc:SubnetAPublic>` (its output). */
function placeholders(params) {
  const out = {};
  for (const [k, val] of Object.entries(params)) {
    const output = Object.entries(vpcOutputs).find(([, o]) => o === val && /-|\//.test(val))?.[0];
    out[k] = val.startsWith(`wv${id}`) ? `<${val.slice(`wv${id}`.length)}>` : output ? `<vpc:${output}>` : val;
  }
  return out;
}

const verdicts = {};
const parents = {};
const t0 = Date.now();
process.stderr.write(`state ${stateDir}\n`);
for (const [name, [file, given]] of Object.entries(PARENTS)) {
  const params = Object.entries({
    ...Object.fromEntries(requiredParameters(file).map((p) => [p.name, valueFor(p)])),
    ...Object.fromEntries(Object.entries(given).map(([k, v]) => [k, PARENT_PARAMS[k] ? stackOf(v) : v])),
  });
  const r = kiln('deploy', join(corpus, file), '--stack', stackOf(name), '--yes', ...params.flatMap(([k, v]) => ['--param', `${k}=${v}`]));
  parents[name] = { template: file, parameters: placeholders(Object.fromEntries(params)), deployed: r.code === 0, ...(r.code ? { reason: errorsOf(r.err + r.out) } : {}) };
  process.stderr.write(`parent ${name} (${file}): ${r.code === 0 ? 'deployed' : `failed: ${errorsOf(r.err + r.out)}`}\n`);
  if (name === 'vpc' && r.code === 0) vpcOutputs = JSON.parse(kiln('outputs', '--stack', stackOf('vpc'), '--json').out);
}

let i = 0;
for (const file of templates) {
  const stack = `wv${id}t${++i}`;
  const params = paramsOf(file);
  const plan = kiln('plan', join(corpus, file), '--stack', stack, ...params);
  const v = { parameters: Object.fromEntries(params.filter((_, k) => k % 2 === 1).map((kv) => kv.split(/=(.*)/s).slice(0, 2))) };
  v.parameters = placeholders(v.parameters);
  if (plan.code !== 0) {
    v.plan = 'refused';
    v.verdict = 'refused at plan';
    v.reason = errorsOf(plan.err + plan.out);
  } else {
    v.plan = 'ok';
    v.noLocalEffect = (plan.out.match(/\[no local effect\]/g) ?? []).length;
    v.verdict = 'plans (deploy not tried)';
    if (deployAll && !deploySignals && waitsForSignals(file) && !toDeploy.has(file)) v.verdict = 'plans (deploy not tried: its instances wait for cfn-signal)';
    else if (deployAll || toDeploy.has(file)) {
      const d = kiln('deploy', join(corpus, file), '--stack', stack, '--yes', ...params);
      if (d.code === 0) v.verdict = 'deploys';
      else {
        const reason = errorsOf(d.err + d.out) || d.err.trim().split('\n').slice(-3).join(' | ');
        const known = FAITHFUL.find(([re]) => re.test(reason));
        v.verdict = known ? 'fails faithfully' : 'fails, plan could have known';
        v.reason = known ? `${known[1]}: ${reason}` : reason;
      }
      const x = kiln('destroy', '--stack', stack, '--yes');
      if (x.code !== 0) v.destroy = errorsOf(x.err + x.out);
    }
  }
  verdicts[file] = v;
  process.stderr.write(`[${i}/${templates.length}] ${file}: ${v.verdict}${v.reason ? ` (${v.reason.slice(0, 160)})` : ''}\n`);
}

for (const name of Object.keys(PARENTS).reverse()) if (parents[name].deployed) kiln('destroy', '--stack', stackOf(name), '--yes');
rmSync(stateDir, { recursive: true, force: true });

const counts = {};
for (const v of Object.values(verdicts)) counts[v.verdict] = (counts[v.verdict] ?? 0) + 1;
const doc = {
  about:
    'The local target on every widdix template (../shared/corpus/cloudformation/widdix), made by scripts/widdix-verdicts.mjs: parent stacks deployed, then kiln plan with plausible parameters; a sample also deployed and destroyed. Verdicts: deploys / refused at plan (reason) / fails faithfully (reason, as on AWS with the same image) / fails, plan could have known (goal: none) / plans (deploy not tried).',
  parents,
  counts,
  templates: verdicts,
};
writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
process.stderr.write(`${JSON.stringify(counts)} in ${Math.round((Date.now() - t0) / 1000)} s → ${relative(repo, out)}\n`);
