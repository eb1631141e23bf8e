/**
 * Headless Chromium for the console's end-to-end tests: Debian's `chromium` package, driven by
 * playwright-core. Browsers are never downloaded: when /usr/bin/chromium is missing the tests
 * install the Debian package (as root, with apt-get) or say exactly what to install.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../config/config.js';

export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'screenshots');

/** Installs Debian's chromium when it is missing (needs root and apt-get); throws with the command to run otherwise. */
export function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM)) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) or set SWITCHYARD_CHROMIUM to a Chromium binary`);
  }
  console.log('installing Debian chromium for the browser tests (apt-get; about a minute)');
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
  ]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed with exit code ${r.status}`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
}

/** Launches headless Chromium with the flags this closed network needs (no background connections). */
export async function launchBrowser(): Promise<Browser> {
  ensureChromium();
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * A browser context on the console. A page streams its panels as their data arrives and "load"
 * waits for the last one: on a 2-core machine running the stack and three browser suites, CI saw
 * one page take over 30 s (Playwright's default), so navigations here may take a minute.
 */
export async function newConsoleContext(browser: Browser, options: BrowserContextOptions): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultNavigationTimeout(60_000);
  return context;
}

/** Saves a full-page screenshot under test-results/screenshots/ (kept as a CI artifact). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** How much wider than the window the page is, in px (0: no horizontal overflow), and the widest elements when it overflows. */
export async function horizontalOverflow(page: Page): Promise<{ overflow: number; culprits: string[] }> {
  // A string expression: the tests compile without the DOM's types.
  return await page.evaluate<{ overflow: number; culprits: string[] }>(`(() => {
    const overflow = document.documentElement.scrollWidth - window.innerWidth;
    const culprits = overflow <= 0 ? [] : [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5)
      .map((e) => e.tagName.toLowerCase() + '.' + e.className + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)');
    return { overflow, culprits };
  })()`);
}

/** Fails when the page is wider than the window (document.documentElement.scrollWidth > window.innerWidth). */
export async function assertNoHorizontalOverflow(page: Page, what: string): Promise<void> {
  const { overflow, culprits } = await horizontalOverflow(page);
  if (overflow > 0) {
    await screenshot(page, `failed-overflow-${what.replace(/[^a-z0-9]+/gi, '-')}`);
    throw new Error(`${what} is ${overflow} px wider than the window (${page.viewportSize()?.width} px); widest: ${culprits.join(', ')}`);
  }
}
