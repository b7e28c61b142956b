// `kiln ui` end to end, as a person uses it: the real CLI serves the page, a real headless Chromium
// holds it open, and `kiln deploy` from another process deploys a real stack on the Docker engine.
// The page must follow the deploy live (resources appear, change state, end CREATE_COMPLETE) with
// no reload; show a failed deploy's failing resource and its reason; and carry no NoEcho value in
// its HTML, its data or its event stream.
//
// `kiln ui` and the browser run in a network namespace of their own (only its loopback; see
// chromium.ts): the deploys, on the host, reach the server's feed through its socket file in the
// state directory, as any terminal would, and the test reads the event stream through a plain
// HTTP client started in that namespace.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { bundleCli } from '../deploy/cli-bundle.js';
import { buildTestImage, cleanupDeployed } from '../providers/docker/ctx.js';
import { hasChromium, isolatedNetwork, launch, NO_CHROMIUM, recordingPage, visit, type Netns } from './chromium.js';

const stack = `kt-ui-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-ui-live-'));
const state = join(dir, 'state');
const image = `kiln-test/ui-web:${stack}`;
const SECRET = `Nx-${randomBytes(6).toString('hex')}-secret`;

const template = (extra: Record<string, unknown> = {}) => ({
  Parameters: { Secret: { Type: 'String', NoEcho: true } },
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.86.0.0/16', Tags: [{ Key: 'pw', Value: { Ref: 'Secret' } }] } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.86.1.0/24' } },
    Sg: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { GroupDescription: 'web', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] },
    },
    Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }] } },
    ...extra,
  },
  Outputs: { Ip: { Value: { 'Fn::GetAtt': ['Web', 'PrivateIp'] } }, Echo: { Value: { 'Fn::Sub': 'pw=${Secret}' } } },
});

let cli: { entry: string; env: NodeJS.ProcessEnv };
let ui: ChildProcess | undefined;
let base = '';
let token = '';
let browser: Browser | undefined;
let closeBrowser = async () => undefined as void;
let netns: Netns | undefined;
/** argv run inside the namespace when there is one. */
const inNetns = (argv: string[]) => (netns ? netns.wrap(argv) : argv);
/** Everything the server sent on one event stream held open for the whole file. */
let streamed = '';
let stream: ChildProcess | undefined;

function kiln(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli.entry, ...args, '--state-dir', state], { env: { ...process.env, ...cli.env, KILN_LABELS: `kiln.test=${stack}` }, cwd: dir });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

beforeAll(async () => {
  if (!hasChromium) return;
  cli = await bundleCli('ui');
  await buildTestImage(image, 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n', { 'kiln.test': stack });
  writeFileSync(join(dir, 'stack.json'), JSON.stringify(template()));
  // Bad asks for the address Web holds: only the run can tell (a missing image is refused at plan).
  writeFileSync(
    join(dir, 'broken.json'),
    JSON.stringify(template({ Bad: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { Ref: 'Subnet' }, PrivateIpAddress: { 'Fn::GetAtt': ['Web', 'PrivateIp'] } } } })),
  );
  const isolated = await isolatedNetwork();
  netns = isolated.netns;
  if (!netns) console.warn(`kiln test: ${isolated.why}: kiln ui and the browser share the host's network (a page load may then fail with ERR_NETWORK_CHANGED while other tests change interfaces)`);
  const [cmd, ...args] = inNetns([process.execPath, cli.entry, 'ui', '--port', '0', '--state-dir', state]);
  ui = spawn(cmd!, args, { env: { ...process.env, ...cli.env }, cwd: dir });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    ui!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/.exec(out);
      if (m) resolve(m[0]);
    });
    ui!.on('exit', (code) => reject(new Error(`kiln ui exited ${code}: ${out}`)));
  });
  [base, token] = [url.slice(0, url.indexOf('/?')), url.slice(url.indexOf('token=') + 6)];
  stream = await readStream(`${base}/api/events?token=${token}`);
  const b = await launch({ netns });
  browser = b.browser;
  closeBrowser = b.close;
}, 120_000);

afterAll(async () => {
  stream?.kill('SIGTERM');
  await closeBrowser();
  if (cli) await kiln('destroy', '--stack', stack, '--yes');
  ui?.kill('SIGTERM');
  netns?.close();
  await cleanupDeployed([stack], stack, dir);
}, 120_000);

/** A plain HTTP client (node's) holding the event stream open, beside the server: its output is the stream. */
async function readStream(url: string): Promise<ChildProcess> {
  const client = `require('node:http').get(process.argv[1], (r) => { process.stdout.write('status ' + r.statusCode + '\\n'); r.pipe(process.stdout); }).on('error', (e) => { console.error(e.message); process.exit(1); });`;
  const [cmd, ...args] = inNetns([process.execPath, '-e', client, url]);
  const p = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  p.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (c: string) => {
      streamed += c;
      if (streamed.startsWith('status 200\n')) resolve();
    });
    p.on('exit', (code) => reject(new Error(`the event stream client exited ${code}: ${streamed}`)));
  });
  return p;
}

/**
 * Records, in the page, every status each resource node held, in order, across swaps of the graph:
 * every change of `data-status`, even several within one frame (the page draws once per frame).
 */
async function recordStatuses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    w.__seen = [] as string[];
    w.__loaded = true;
    const last: Record<string, string> = {};
    const push = (id: string | null, s: string | null) => {
      if (id === null || s === null || last[id] === s) return;
      last[id] = s;
      w.__seen.push(`${id} ${s}`);
    };
    const note = (records: any[]) => {
      for (const r of records) if (r.type === 'attributes') push(r.target.getAttribute('data-id'), r.oldValue);
      for (const n of w.document.querySelectorAll('#graph .node[data-id]')) push(n.getAttribute('data-id'), n.getAttribute('data-status'));
    };
    new w.MutationObserver(note).observe(w.document.body, { subtree: true, childList: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-status'] });
  });
}

const statusesOf = (page: Page) => page.$$eval('#graph .node[data-id]', (ns) => Object.fromEntries(ns.map((n) => [n.getAttribute('data-id'), n.getAttribute('data-status')])));

describe.skipIf(!hasChromium)('kiln ui in a browser during real deploys on Docker', () => {
  test('the stack page follows a first deploy live: resources appear, change state and end CREATE_COMPLETE', async () => {
    const index = await recordingPage(browser!);
    await visit(index.page, `${base}/?token=${token}`);
    // The stack page is the tab in front; the index is a tab behind it (hidden, as Chromium says).
    const { page, errors } = await recordingPage(browser!);
    await visit(page, `${base}/stacks/${stack}?token=${token}`);
    await page.bringToFront();
    expect(await page.evaluate(() => (globalThis as any).document.visibilityState)).toBe('visible');
    expect(await index.page.evaluate(() => (globalThis as any).document.visibilityState)).toBe('hidden');
    // The token went into a cookie and out of the address bar.
    expect(page.url()).toBe(`${base}/stacks/${stack}`);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#live-dot.live') !== null, { timeout: 30_000, polling: 100 });
    expect(await page.$$('#graph .node')).toHaveLength(0);
    await recordStatuses(page);

    const r = await kiln('deploy', 'stack.json', '--stack', stack, '--param', `Secret=${SECRET}`, '--yes');
    expect(r.code, r.err).toBe(0);
    // The run's end brings the timeline of the deployment, complete.
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#timeline .pill')?.textContent === 'CREATE_COMPLETE', { timeout: 15_000, polling: 200 });
    expect(await statusesOf(page)).toEqual({ Vpc: 'CREATE_COMPLETE', Subnet: 'CREATE_COMPLETE', Sg: 'CREATE_COMPLETE', Web: 'CREATE_COMPLETE' });
    expect(await page.$eval('#stack-status', (e) => e.textContent)).toBe('CREATE_COMPLETE');
    // Followed live, without a reload: the page saw Web in progress before complete.
    expect(await page.evaluate(() => (globalThis as any).__loaded)).toBe(true);
    const seen: string[] = await page.evaluate(() => (globalThis as any).__seen);
    const web = seen.filter((s) => s.startsWith('Web '));
    expect(web).toContain('Web CREATE_IN_PROGRESS');
    expect(web.indexOf('Web CREATE_IN_PROGRESS')).toBeLessThan(web.lastIndexOf('Web CREATE_COMPLETE'));
    // The live log listed the run; the graph gives each node its physical id.
    expect(await page.$eval('#live-log', (e) => e.textContent)).toContain('Web');
    expect(await page.$eval('#graph .node[data-id="Web"] .pid', (e) => e.textContent)).toMatch(/^i-[0-9a-f]{17}$/);
    // The index, hidden all along, did nothing (it asked the server nothing), and catches up when shown.
    expect(index.requests.filter((u) => u.includes('part='))).toEqual([]);
    expect(await index.page.$('.stack-card')).toBeNull();
    await index.page.bringToFront();
    await index.page.waitForFunction(
      (s: string) => (globalThis as any).document.querySelector(`.stack-card[data-stack="${s}"] .pill[data-status="CREATE_COMPLETE"]`) !== null,
      { timeout: 10_000, polling: 200 },
      stack,
    );
    expect(await index.page.evaluate(() => (globalThis as any).performance.getEntriesByType('navigation').length)).toBe(1);
    // The instance's image, the outputs, the parameter masked.
    expect(await page.$eval('tr[data-id="Web"]', (e) => e.textContent)).toContain(image);
    expect(await page.$eval('#stack-body', (e) => e.textContent)).toContain('pw=****');
    expect(errors).toEqual([]);
    await index.page.close();
    await page.close();
  }, 180_000);

  test('a failed deploy shows the failing resource and its reason, live and in the timeline', async () => {
    const { page, errors } = await recordingPage(browser!);
    await visit(page, `${base}/stacks/${stack}?token=${token}`);
    await page.bringToFront();
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#live-dot.live') !== null, { timeout: 30_000, polling: 100 });
    await recordStatuses(page);
    const r = await kiln('deploy', 'broken.json', '--stack', stack, '--param', `Secret=${SECRET}`, '--yes');
    expect(r.code).toBe(1);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#timeline .pill')?.textContent === 'UPDATE_ROLLBACK_COMPLETE', { timeout: 15_000, polling: 200 });
    const seen: string[] = await page.evaluate(() => (globalThis as any).__seen);
    expect(seen).toContain('Bad CREATE_FAILED');
    expect(await page.$eval('#stack-status', (e) => e.textContent)).toBe('UPDATE_ROLLBACK_COMPLETE');
    const bad = await page.$eval('#graph .node[data-id="Bad"]', (n) => ({ cls: n.getAttribute('class'), reason: n.querySelector('.bad')?.textContent ?? '' }));
    expect(bad.cls).toContain('failed');
    expect(bad.reason).toMatch(/Address [\d.]+ is in use/);
    const why = await page.$eval('#timeline .row[data-id="Bad"] .why', (e) => e.textContent);
    expect(why).toMatch(/^CREATE_FAILED: .*is in use/);
    expect(await page.$eval('#headline', (e) => e.textContent)).toMatch(/^UPDATE_ROLLBACK_COMPLETEThe last deployment failed and was rolled back: Bad: Address [\d.]+ is in use/);
    // Web was not touched by the failed update and still runs.
    expect((await statusesOf(page)).Web).toBe('CREATE_COMPLETE');
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  test('no NoEcho value is in any page, answer or event the server sent', async () => {
    const { page, errors } = await recordingPage(browser!);
    const bodies: string[] = [];
    page.on('response', (res) => {
      if (!res.headers()['content-type']?.startsWith('text/event-stream'))
        void res.text().then(
          (t) => bodies.push(t),
          () => undefined,
        );
    });
    for (const p of [`/stacks/${stack}`, '/', '/history', '/builds', `/api/stacks/${stack}`, `/api/stacks/${stack}/drift`, '/api/history', '/api/stacks']) {
      await visit(page, `${base}${p}?token=${token}`);
      bodies.push(await page.content());
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(bodies.length).toBeGreaterThan(8);
    expect(streamed).toContain('"kind":"event"');
    expect(streamed).toContain('Web');
    for (const b of [...bodies, streamed]) expect(b).not.toContain(SECRET);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test('a request without the token is refused', async () => {
    // A fresh context: no cookie from the pages above.
    const context = await browser!.createBrowserContext();
    const page = await context.newPage();
    const res = await visit(page, `${base}/stacks/${stack}`);
    expect(res!.status()).toBe(403);
    expect(await page.$eval('body', (b) => b.textContent)).toContain('missing or wrong token');
    expect(await page.content()).not.toContain('Web');
    await context.close();
  }, 30_000);
});

if (!hasChromium) test.skip(NO_CHROMIUM, () => undefined);
