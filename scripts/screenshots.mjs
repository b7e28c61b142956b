#!/usr/bin/env node
// The README's pictures of `kiln ui` and the static pictures, taken from the real thing: the seed
// example deployed with `kiln up` (a fresh state directory, so the bake and the deploy both show)
// while `kiln ui` serves the page to a headless Chromium, then the page, its timeline, the builds
// page (the build cache the bake filled), the graph of examples/seed/stack.json. The stack is
// destroyed at the end.
//
//   npm run build && node scripts/screenshots.mjs [--stack seed-shot] [--out docs/images]
//
// Needs the Docker engine, debian:bookworm (kiln up makes it when missing) and Debian's chromium.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const stack = arg('stack', 'seed');
const out = resolve(arg('out', join(root, 'docs', 'images')));
const dir = mkdtempSync(join(tmpdir(), 'kiln-shots-'));
const state = join(dir, 'state');
const kilnJs = join(root, 'bin', 'kiln.js');
mkdirSync(out, { recursive: true });

const ui = spawn(process.execPath, [kilnJs, 'ui', '--port', '0', '--state-dir', state], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((res, rej) => {
  let text = '';
  ui.stdout.on('data', (c) => {
    text += c;
    const m = /http:\/\/\S+token=\S+/.exec(text);
    if (m) res(m[0]);
  });
  ui.on('exit', (c) => rej(new Error(`kiln ui exited ${c}`)));
});
const base = url.slice(0, url.indexOf('/?'));
const profile = mkdtempSync(join(tmpdir(), 'kiln-shots-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.KILN_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
  ],
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 860, deviceScaleFactor: 2 });
  await page.goto(`${base}/stacks/${stack}?token=${url.slice(url.indexOf('token=') + 6)}`, { waitUntil: 'load' });
  // The bake, forced, so that this state directory's build cache has it for the builds page even
  // when the engine already holds the seed image (kiln up would then only reuse it).
  const bake = spawnSync(process.execPath, [kilnJs, 'build', '-force', '-only', 'local', '-var', 'app_version=1', join(root, 'examples', 'seed', 'image.json'), '--state-dir', state], {
    stdio: 'inherit',
    // Its manifest post-processor writes manifest.json where it runs: in the temporary directory.
    cwd: dir,
  });
  if (bake.status !== 0) throw new Error(`kiln build exited ${bake.status}`);
  const up = spawn(process.execPath, [kilnJs, 'up', join(root, 'examples', 'seed'), '--stack', stack, '--yes', '--state-dir', state], { stdio: 'inherit' });
  const done = new Promise((r) => up.on('exit', r));
  // While it deploys: wait for some resources complete and others still in progress.
  let live = false;
  for (let i = 0; i < 600 && !live; i++) {
    await sleep(250);
    live = await page.evaluate(() => {
      const ns = [...document.querySelectorAll('#graph .node')];
      const s = ns.map((n) => n.getAttribute('data-status'));
      return ns.length > 6 && s.filter((x) => x === 'CREATE_COMPLETE').length >= 4 && s.some((x) => x?.endsWith('_IN_PROGRESS'));
    });
  }
  if (live) await page.screenshot({ path: join(out, 'ui-live.png'), fullPage: false });
  const code = await done;
  if (code !== 0) throw new Error(`kiln up exited ${code}`);
  await page.waitForFunction(() => document.querySelector('#timeline .pill')?.textContent === 'CREATE_COMPLETE', { timeout: 30_000, polling: 200 });
  // Drift is checked after the run: wait until every row has its answer.
  await page.waitForFunction(() => [...document.querySelectorAll('td.drift')].every((c) => !c.textContent.includes('…')), { timeout: 120_000, polling: 250 });
  await page.screenshot({ path: join(out, 'ui-stack.png'), fullPage: true });
  const tl = await page.$('#timeline');
  await tl.screenshot({ path: join(out, 'ui-timeline.png') });
  // The build cache the bake filled (the cookie set by the first page carries the token).
  await page.goto(`${base}/builds`, { waitUntil: 'load' });
  await page.screenshot({ path: join(out, 'ui-builds.png'), fullPage: true });
  // The static graph picture of the seed template.
  const g = spawnSync(process.execPath, [kilnJs, 'graph', join(root, 'examples', 'seed', 'stack.json'), '--format', 'html'], { encoding: 'utf8' });
  const file = join(dir, 'graph.html');
  writeFileSync(file, g.stdout);
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const card = await page.$('.card');
  await card.screenshot({ path: join(out, 'graph.png') });
  process.stdout.write(`screenshots in ${out}\n`);
} finally {
  await browser.close();
  spawnSync(process.execPath, [kilnJs, 'destroy', '--stack', stack, '--yes', '--state-dir', state], { stdio: 'inherit' });
  // The intermediate images of this state directory's bake go too.
  spawnSync(process.execPath, [kilnJs, 'gc', '--state-dir', state], { stdio: 'inherit' });
  ui.kill('SIGTERM');
  rmSync(profile, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}
