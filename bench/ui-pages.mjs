#!/usr/bin/env node
// Does watching slow the deploy? `kiln deploy` of a 20-instance stack (the stack of
// deploy-vs-compose.mjs: VPC, subnet, security group, N busybox httpd instances, a classic load
// balancer over them) with 20 pages of `kiln ui` open on that stack in a headless Chromium, following
// it live, against the same deploy with no `kiln ui` running at all. Whole-process wall time of the
// deploy, the two alternating pair by pair so that load affects both alike; the stack is destroyed
// between runs (not timed). `npm run build` first; needs Debian's chromium.
//
//   node bench/ui-pages.mjs [pairs=3] [instances=20] [pages=20] [elb|noelb] [shared|niced] [windows|tabs]
//
// `windows` (the default) opens each page in a window of its own, so that all 20 are visible and
// draw every event as it comes: the worst case. `tabs` opens them as tabs of one window, as a person
// would: Chromium then shows only the front one, and the 19 behind it get no animation frames (the
// page's script queues what arrives and draws it when shown). Each run checks how many pages were
// visible during the deploy and prints it (`visible`); at the end every page is brought to the front
// and must show every resource CREATE_COMPLETE.
//
// `niced` runs the browser at the lowest CPU priority (nice 19): the 20 pages' own rendering then
// takes only what the deploy leaves of the cores, which measures what `kiln ui` (the server, its
// feed, its event stream) costs the deploy rather than what 20 software-rendered tabs cost a
// two-core machine. `shared` (the default) lets the browser compete with the deploy as it would.
//
// Prints a JSON line per pair and a summary with the median ratio (goal: pages/none ≤ 1.05). Each
// run with pages also checks that every page ended showing every resource CREATE_COMPLETE.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import puppeteer from 'puppeteer-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pairs = Number(process.argv[2] ?? 3);
const n = Number(process.argv[3] ?? 20);
const pages = Number(process.argv[4] ?? 20);
const withElb = (process.argv[5] ?? 'elb') !== 'noelb';
const niced = process.argv[6] === 'niced';
const windows = (process.argv[7] ?? 'windows') !== 'tabs';
const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-ui-'));
const state = join(dir, 'state');
const image = `kiln-bench/ui:${id}`;
const label = `kiln.test=bench-ui-${id}`;
const kilnJs = join(root, 'bin', 'kiln.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Ctrl-C or SIGTERM: the clean-up of the `finally` below still runs (the stacks, the image).
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    stopping = true;
  });

const b = spawnSync('docker', ['build', '-q', '-t', image, '--label', label, '-'], { input: 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n', encoding: 'utf8' });
if (b.status !== 0) throw new Error(b.stderr);

const resources = {
  Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.92.0.0/16' } },
  Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.92.1.0/24' } },
  Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] } },
};
for (let i = 0; i < n; i++)
  resources[`Web${i}`] = { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, InstanceType: 't2.micro', SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }] } };
if (withElb)
  resources.Elb = {
    Type: 'AWS::ElasticLoadBalancing::LoadBalancer',
    Properties: {
      Subnets: [{ Ref: 'Subnet' }],
      SecurityGroups: [{ Ref: 'Sg' }],
      Instances: Array.from({ length: n }, (_, i) => ({ Ref: `Web${i}` })),
      Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' }],
      HealthCheck: { Target: 'TCP:80', HealthyThreshold: '2', UnhealthyThreshold: '2', Interval: '5', Timeout: '2' },
    },
  };
const stackFile = join(dir, 'stack.json');
writeFileSync(stackFile, JSON.stringify({ Resources: resources }));
const total = Object.keys(resources).length;

function kiln(...args) {
  return new Promise((resolve) => {
    const t = Date.now();
    const p = spawn(process.execPath, [kilnJs, ...args, '--state-dir', state], { env: { ...process.env, KILN_LABELS: label }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => (err += c));
    p.on('exit', (code) => resolve({ code, err, ms: Date.now() - t }));
  });
}

// `kiln ui` and the browser run in a network namespace of their own (only its loopback): Chromium
// aborts requests whenever the host's interfaces change, and on this shared machine Docker networks
// come and go all the time. The deploy stays on the host and reaches the server's feed through the
// socket file in the state directory, as any terminal would.
async function startUi() {
  const ui = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, kilnJs, 'ui', '--port', '0', '--state-dir', state], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((res, rej) => {
    let text = '';
    ui.stdout.on('data', (c) => {
      text += c;
      const m = /http:\/\/\S+token=\S+/.exec(text);
      if (m) res(m[0]);
    });
    ui.on('exit', (c) => rej(new Error(`kiln ui exited ${c}`)));
  });
  return { ui, base: url.slice(0, url.indexOf('/?')), token: url.slice(url.indexOf('token=') + 6) };
}

/** A fresh headless Chromium (per run: one that saw a destroy's networks vanish may refuse to navigate). */
async function launchBrowser(uiPid) {
  const profile = mkdtempSync(join(tmpdir(), 'kiln-bench-ui-chromium-'));
  const wrapper = join(profile, 'chromium-in-ns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${niced ? 'nice -n 19 ' : ''}nsenter -t ${uiPid} -n ${process.env.KILN_CHROMIUM ?? '/usr/bin/chromium'} "$@"\n`, { mode: 0o755 });
  const browser = await puppeteer.launch({
    executablePath: wrapper,
    pipe: true,
    headless: true,
    // The script's own SIGINT/SIGTERM handler stops after the current pair; the browser stays till then.
    handleSIGINT: false,
    handleSIGTERM: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      `--user-data-dir=${profile}`,
    ],
  });
  return { browser, close: async () => (await browser.close(), rmSync(profile, { recursive: true, force: true })) };
}

/** CPU seconds (user + system) used so far by the processes `roots` and all their descendants (Linux /proc). */
function cpuSeconds(roots) {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // pid (comm) state ppid … utime stime: fields after the command's closing parenthesis.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      /* gone meanwhile */
    }
  }
  const inTree = (pid) => {
    for (let p = pid, n = 0; p > 1 && n < 64; p = procs.get(p)?.ppid ?? 0, n++) if (roots.includes(p)) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, v] of procs) if (inTree(pid)) ticks += v.ticks;
  return ticks / 100;
}

/** What to stop should a run throw: the ui servers and browsers this script started. */
const running = new Set();
const median = (xs) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)];
const rows = [];
try {
  // One deploy and destroy first, not timed: what only a first run pays (the load balancer's service
  // image baked once from debian:bookworm, the engine's caches) is paid here, by neither side.
  {
    const r = await kiln('deploy', stackFile, '--stack', `bench-ui-${id}-warm`, '--yes');
    if (r.code !== 0) throw new Error(`warm-up deploy failed: ${r.err.slice(-2000)}`);
    await kiln('destroy', '--stack', `bench-ui-${id}-warm`, '--yes');
  }
  for (let p = 0; p < pairs && !stopping; p++) {
    const none = async () => {
      const stack = `bench-ui-${id}-n${p}`;
      const r = await kiln('deploy', stackFile, '--stack', stack, '--yes');
      if (r.code !== 0) throw new Error(`deploy failed: ${r.err.slice(-2000)}`);
      await kiln('destroy', '--stack', stack, '--yes');
      return r.ms;
    };
    const watched = async () => {
      const stack = `bench-ui-${id}-w${p}`;
      const { ui, base, token } = await startUi();
      running.add(ui);
      const { browser, close } = await launchBrowser(ui.pid);
      running.add({ kill: () => void close().catch(() => undefined) });
      const tabs = [];
      for (let i = 0; i < pages; i++) {
        const page = await browser.newPage(windows ? { type: 'window' } : undefined);
        // Chromium aborts a navigation when the host's interfaces change (Docker networks of a destroy).
        for (let t = 0; ; t++) {
          try {
            await page.goto(`${base}/stacks/${stack}?token=${token}`, { waitUntil: 'load' });
            break;
          } catch (e) {
            if (t >= 40 || !/ERR_NETWORK_CHANGED/.test(String(e))) throw e;
            await sleep(250);
          }
        }
        tabs.push(page);
      }
      // Let the browser's start-up settle: the deploy is timed with the pages open and idle.
      await sleep(5000);
      let visible = 0;
      for (const page of tabs) if ((await page.evaluate(() => document.visibilityState)) === 'visible') visible++;
      const browserPid = browser.process()?.pid ?? 0;
      const cpu0 = { ui: cpuSeconds([ui.pid]), browser: cpuSeconds([browserPid]) };
      const r = await kiln('deploy', stackFile, '--stack', stack, '--yes');
      if (r.code !== 0) throw new Error(`deploy failed: ${r.err.slice(-2000)}`);
      // What the server and the browser used while the deploy ran (CPU seconds).
      const cpu = { uiCpuS: +(cpuSeconds([ui.pid]) - cpu0.ui).toFixed(2), browserCpuS: +(cpuSeconds([browserPid]) - cpu0.browser).toFixed(2) };
      // Every page followed it to the end.
      let complete = 0;
      for (const page of tabs) {
        await page.bringToFront();
        const ok = await page
          .waitForFunction(
            (want) => document.querySelectorAll('#graph .node[data-status="CREATE_COMPLETE"]').length === want && document.querySelector('#timeline') !== null,
            { timeout: 30_000, polling: 250 },
            total,
          )
          .then(
            () => true,
            () => false,
          );
        if (ok) complete++;
      }
      await close();
      ui.kill('SIGTERM');
      await kiln('destroy', '--stack', stack, '--yes');
      return { ms: r.ms, complete, visible, ...cpu };
    };
    let a;
    let w;
    if (p % 2 === 0) {
      a = await none();
      w = await watched();
    } else {
      w = await watched();
      a = await none();
    }
    const row = {
      pair: p,
      noneMs: a,
      pagesMs: w.ms,
      ratio: +(w.ms / a).toFixed(3),
      pagesComplete: `${w.complete}/${pages}`,
      visible: w.visible,
      uiCpuS: w.uiCpuS,
      browserCpuS: w.browserCpuS,
      load: (await import('node:os')).loadavg()[0].toFixed(1),
    };
    rows.push(row);
    process.stdout.write(JSON.stringify(row) + '\n');
  }
  process.stdout.write(
    JSON.stringify({
      summary: true,
      pairs,
      instances: n,
      pages,
      elb: withElb,
      browser: niced ? 'niced' : 'shared',
      pagesIn: windows ? 'windows' : 'tabs',
      ratioMedian: median(rows.map((r) => r.ratio)),
      noneMedianMs: median(rows.map((r) => r.noneMs)),
      pagesMedianMs: median(rows.map((r) => r.pagesMs)),
    }) + '\n',
  );
} finally {
  for (const r of running) r.kill();
  spawnSync(process.execPath, [kilnJs, 'destroy', '--stack', `bench-ui-${id}-warm`, '--yes', '--state-dir', state], { stdio: 'ignore' });
  for (let p = 0; p < pairs; p++)
    for (const k of ['n', 'w']) spawnSync(process.execPath, [kilnJs, 'destroy', '--stack', `bench-ui-${id}-${k}${p}`, '--yes', '--state-dir', state], { stdio: 'ignore' });
  spawnSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
