// Debian's chromium, headless, through puppeteer-core: the real browser the page tests look with.
// `scripts/ensure-chromium.sh` (run by scripts/test.sh) installs it; when the binary is missing the
// tests that need it skip and say so.
//
// Chromium on Linux watches the host's network interfaces and aborts the connections it is opening
// (net::ERR_NETWORK_CHANGED) when addresses come and go, as they do all the time while the other test
// files start containers and make networks and veth pairs. A test that talks to a server can put the
// server and the browser in a network namespace of their own (`isolatedNetwork`), where nothing but
// their loopback exists and nothing changes; the browser is then driven over a pipe, not a port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, HTTPResponse, Page } from 'puppeteer-core';

export const CHROMIUM = process.env.KILN_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const NO_CHROMIUM = `${CHROMIUM} is missing: browser tests skipped (bash scripts/ensure-chromium.sh installs Debian's chromium)`;

if (!hasChromium) console.warn(`kiln test: ${NO_CHROMIUM}`);

/** A network namespace with only its loopback up, held open by a process of this test. */
export interface Netns {
  /** The process holding the namespace (`nsenter -t PID -n` joins it). */
  pid: number;
  /** `argv` to run a command inside the namespace. */
  wrap(argv: readonly string[]): string[];
  close(): void;
}

/**
 * A fresh network namespace, or undefined (with the reason) where this machine does not allow one
 * (`unshare -n` needs root or a user namespace; iproute2 brings its loopback up). The holder exits
 * when this process does: it reads its stdin, a pipe from here, until that closes.
 */
export async function isolatedNetwork(): Promise<{ netns?: Netns; why?: string }> {
  const probe = spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { why: `unshare -n is not available here (${probe.error?.message ?? probe.stderr.trim()})` };
  const holder: ChildProcess = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && echo ready && exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ok = await new Promise<boolean>((resolve) => {
    holder.stdout!.once('data', () => resolve(true));
    holder.once('exit', () => resolve(false));
  });
  if (!ok || holder.pid === undefined) return { why: 'the network namespace holder exited' };
  const pid = holder.pid;
  return {
    netns: {
      pid,
      wrap: (argv) => ['nsenter', '-t', String(pid), '-n', ...argv],
      close: () => {
        holder.stdin!.end();
        holder.kill('SIGTERM');
      },
    },
  };
}

/** A headless Chromium with a fresh profile, and no traffic of its own (no updates, no sync); inside `netns` when given. */
export async function launch(o: { netns?: Netns } = {}): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  let executablePath = CHROMIUM;
  if (o.netns) {
    executablePath = join(profile, 'chromium-in-netns');
    writeFileSync(executablePath, `#!/bin/sh\nexec ${o.netns.wrap([CHROMIUM]).join(' ')} "$@"\n`, { mode: 0o755 });
  }
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Over its stdio: the DevTools port would be on the namespace's loopback, out of this process's reach.
    pipe: true,
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
      `--user-data-dir=${join(profile, 'data')}`,
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A page that records every request it makes (so a test can show a file asked nothing of the
 * network) and every script error.
 */
export async function recordingPage(browser: Browser, size = { width: 1360, height: 900 }): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ ...size, deviceScaleFactor: 1 });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => void requests.push(r.url()));
  page.on('pageerror', (e) => void errors.push(String((e as Error).message ?? e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { page, requests, errors };
}

/**
 * `page.goto` that tries again when Chromium aborts the navigation because the host's network
 * interfaces changed (ERR_NETWORK_CHANGED): only where no namespace of its own could be made.
 */
export async function visit(page: Page, url: string): Promise<HTTPResponse | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await page.goto(url, { waitUntil: 'load' });
    } catch (e) {
      if (attempt >= 40 || !/ERR_NETWORK_CHANGED/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
