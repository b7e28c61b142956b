// The pictures the CLI writes — `kiln graph --format svg|html`, `kiln events --chart`, `kiln plan
// --format html` — made through the dispatcher on the fake provider, then opened from disk in a real
// headless Chromium that is allowed no network at all.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { hasChromium, launch, NO_CHROMIUM, recordingPage } from './chromium.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-pictures-'));
const env = { ...process.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(dir, 'fake.json') };
const SECRET = 'pw-Zq81-never-shown';

async function kiln(...args: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const stateful = ['plan', 'deploy', 'events'].includes(args[0]!);
  const code = await main([...args, ...(stateful ? ['--state-dir', join(dir, 'state')] : [])], io);
  return { code, out: io.stdout, err: io.stderr };
}

const template = (name: string, cacheName: string, extra: Record<string, unknown> = {}) => {
  writeFileSync(
    join(dir, name),
    JSON.stringify({
      Description: 'Pictures test stack',
      Parameters: { Secret: { Type: 'String', NoEcho: true } },
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
        Group: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web', VpcId: { Ref: 'Vpc' } } },
        Worker: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::Sub': 'x ${Secret} ${Group}' } } },
        Cache: { Type: 'Test::Fake::Resource', Properties: { Name: cacheName, Delay: 30 } },
        Front: { Type: 'Test::Fake::Resource', Properties: { Value: { Ref: 'Worker' } }, DependsOn: ['Cache'] },
        ...extra,
      },
    }),
  );
  return name;
};

let browser: Browser | undefined;
let closeBrowser = async () => undefined as void;
beforeAll(async () => {
  if (!hasChromium) return;
  const b = await launch();
  browser = b.browser;
  closeBrowser = b.close;
});
afterAll(async () => {
  await closeBrowser();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a file with every network request refused; returns the page and what it asked for. */
async function open(file: string) {
  const r = await recordingPage(browser!);
  await r.page.setRequestInterception(true);
  r.page.on('request', (req) => void (req.url().startsWith('file:') ? req.continue() : req.abort()));
  await r.page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return r;
}

describe('kiln graph --format svg|html', () => {
  test('svg is one standalone SVG document naming every resource; nothing in it points at the network', async () => {
    const f = template('graph.json', 'c1');
    const r = await kiln('graph', f, '--format', 'svg');
    expect(r.code).toBe(0);
    expect(r.out.startsWith('<?xml')).toBe(true);
    expect(r.out).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    for (const id of ['Vpc', 'Group', 'Worker', 'Cache', 'Front']) expect(r.out).toContain(`data-id="${id}"`);
    expect(r.out.replace('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:/);
    // DependsOn alone is drawn dashed.
    expect(r.out).toMatch(/<path class="edge dep" data-from="Cache" data-to="Front"/);
  });

  test.skipIf(!hasChromium)(
    'the html page opens offline, draws every node and highlights a node’s edges on hover',
    async () => {
      const f = template('graph.json', 'c1');
      const r = await kiln('graph', f, '--format', 'html');
      expect(r.code).toBe(0);
      const file = join(dir, 'graph.html');
      writeFileSync(file, r.out);
      const { page, requests, errors } = await open(file);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      expect(errors).toEqual([]);
      const boxes = await page.$$eval('svg.kg .node', (ns) => ns.map((n) => ({ id: n.getAttribute('data-id'), w: (n as any).getBBox().width })));
      expect(boxes.map((b) => b.id).sort()).toEqual(['Cache', 'Front', 'Group', 'Vpc', 'Worker']);
      expect(boxes.every((b) => b.w > 100)).toBe(true);
      await page.hover('svg.kg .node[data-id="Worker"]');
      const lit = await page.$$eval('svg.kg .edge.hl', (es) => es.map((e) => `${e.getAttribute('data-from')}->${e.getAttribute('data-to')}`).sort());
      expect(lit).toEqual(['Group->Worker', 'Worker->Front']);
      expect(await page.$eval('body', (b) => (b as any).innerText)).toContain('5 resources, 4 dependencies, 4 waves of creation');
    },
    30_000,
  );
});

describe('kiln events --chart and kiln plan --format html', () => {
  test.skipIf(!hasChromium)(
    'the chart of a replacement shows the new copy and the cleanup phase',
    async () => {
      template('v1.json', 'c1');
      template('v2.json', 'c2');
      expect((await kiln('deploy', 'v1.json', '--stack', 'pics', '--param', `Secret=${SECRET}`, '--yes')).code).toBe(0);
      expect((await kiln('deploy', 'v2.json', '--stack', 'pics', '--param', `Secret=${SECRET}`, '--yes')).code).toBe(0);
      const r = await kiln('events', '--stack', 'pics', '--chart', 'replace.html');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Wrote .*replace\.html: deployment d-\S+, 1 resource, .* UPDATE_COMPLETE\n$/);
      const html = readFileSync(join(dir, 'replace.html'), 'utf8');
      expect(html).not.toContain(SECRET);
      const { page, requests } = await open(join(dir, 'replace.html'));
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      const bars = await page.$$eval('svg.kt .row[data-id="Cache"] .bar', (bs) => bs.map((b) => b.getAttribute('data-kind')));
      expect(bars).toEqual(['replace', 'cleanup']);
      const phases = await page.$$eval('svg.kt text.ph', (ts) => ts.map((t) => t.textContent));
      expect(phases).toContain('cleanup');
    },
    30_000,
  );

  test.skipIf(!hasChromium)(
    'the chart of a failed deploy marks the failing resource with its reason',
    async () => {
      template('bad.json', 'c2', { Broken: { Type: 'Test::Fake::Resource', Properties: { Fail: 'create' }, DependsOn: ['Front'] } });
      expect((await kiln('deploy', 'bad.json', '--stack', 'pics', '--param', `Secret=${SECRET}`, '--yes')).code).toBe(1);
      const r = await kiln('events', '--stack', 'pics', '--chart', 'failed.html');
      expect(r.out).toContain('UPDATE_ROLLBACK_COMPLETE');
      const { page } = await open(join(dir, 'failed.html'));
      const failed = await page.$eval('svg.kt .row[data-id="Broken"]', (g) => ({ status: g.querySelector('.bar')!.getAttribute('data-status'), why: g.querySelector('.why')?.textContent }));
      expect(failed).toEqual({ status: 'CREATE_FAILED', why: 'CREATE_FAILED: Fake failure requested (create of Broken)' });
      expect(await page.$eval('.banner.bad', (b) => b.textContent)).toContain('Broken CREATE_FAILED: Fake failure requested');
    },
    30_000,
  );

  test('events --deployment without --chart, or an unknown deployment, is an error that says so', async () => {
    expect((await kiln('events', '--stack', 'pics', '--deployment', 'd-x')).err).toContain('--deployment needs --chart');
    const r = await kiln('events', '--stack', 'pics', '--chart', 'x.html', '--deployment', 'd-nope');
    expect(r.code).toBe(1);
    expect(r.err).toContain('stack pics has no deployment d-nope');
    expect((await kiln('events', '--stack', 'pics', '--chart', join(dir, 'no', 'such', 'dir', 'x.html'))).err).toMatch(/cannot write .*x\.html: ENOENT/);
  });

  test.skipIf(!hasChromium)(
    'plan --format html highlights the replacement and its reason, masks the NoEcho parameter',
    async () => {
      template('v3.json', 'c3');
      const r = await kiln('plan', 'v3.json', '--stack', 'pics', '--param', `Secret=${SECRET}`, '--format', 'html');
      expect(r.code).toBe(0);
      expect(r.out).not.toContain(SECRET);
      writeFileSync(join(dir, 'plan.html'), r.out);
      const { page, requests } = await open(join(dir, 'plan.html'));
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      const rows = await page.$$eval('tbody tr', (trs) => trs.map((t) => `${t.className} ${t.querySelector('.k')?.textContent}`));
      expect(rows).toContain('a-replace Cache');
      expect(await page.$eval('tr.a-replace', (t) => t.textContent)).toContain('because Name');
      expect(await page.$eval('svg.kg .node[data-id="Cache"]', (n) => n.getAttribute('class'))).toContain('a-replace');
      expect(await page.$eval('body', (b) => b.textContent)).toContain('****');
    },
    30_000,
  );

  if (!hasChromium) test.skip(NO_CHROMIUM, () => undefined);
});
