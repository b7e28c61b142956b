// Debian's chromium, headless, through puppeteer-core: the real browser the page tests look with.
// `scripts/ensure-chromium.sh` (run by scripts/test.sh) installs it; when the binary is missing the
// tests that need it skip and say so.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, HTTPResponse, Page } from 'puppeteer-core';

export const CHROMIUM = process.env.KILN_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const NO_CHROMIUM = `${CHROMIUM} is missing: browser tests skipped (bash scripts/ensure-chromium.sh installs Debian's chromium)`;

if (!hasChromium) console.warn(`kiln test: ${NO_CHROMIUM}`);

/** A headless Chromium with a fresh profile, and no traffic of its own (no updates, no sync). */
export async function launch(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
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
      '--disable-dev-shm-usage',
      `--user-data-dir=${profile}`,
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
 * interfaces changed (ERR_NETWORK_CHANGED: Docker networks come and go while tests deploy).
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
