/**
 * A real browser for the dashboard's end-to-end test: Debian's Chromium (/usr/bin/chromium, put
 * there by scripts/chromium/install.sh) driven through playwright-core, headless, with a fresh
 * empty profile (playwright's temporary user-data dir, removed when the browser closes) and
 * everything that would reach the network on its own turned off.
 *
 * Without Chromium a suite skips, saying why, except under `npm test` (SKYBUS_REQUIRE_BROWSER=1),
 * where a missing browser is a failure.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The command-line flags the browser runs with (playwright adds --headless and its own). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox', // root in CI; the page is our own dashboard on 127.0.0.1
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function executable(path: string): boolean {
  try { accessSync(path, constants.X_OK); return true; } catch { return false; }
}

/**
 * Whether a browser is available: null when it is, else why not (a suite skips with that reason).
 * With SKYBUS_REQUIRE_BROWSER=1 a missing browser throws instead.
 */
export function browserUnavailable(): string | null {
  if (executable(CHROMIUM_PATH)) return null;
  const why = `${CHROMIUM_PATH} is missing (as root: bash scripts/chromium/install.sh)`;
  if (process.env.SKYBUS_REQUIRE_BROWSER === '1') throw new Error(`${why}, but SKYBUS_REQUIRE_BROWSER=1 requires a browser`);
  return why;
}

export function browserAvailable(): boolean {
  return browserUnavailable() === null;
}

/** In a describe: skip its tests without a browser (saying why), or fail under SKYBUS_REQUIRE_BROWSER=1. */
export function requireBrowser(): void {
  before(function () {
    const why = browserUnavailable();
    if (why === null) return;
    console.warn(`      skipped: ${why}`);
    this.skip();
  });
}

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Launch Chromium and open one page in a fresh context that accepts downloads. */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 60_000,
  });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: opts.viewport ?? { width: 1280, height: 900 } });
    const page = await context.newPage();
    return {
      browser, context, page,
      async close() {
        await context.close().catch(() => undefined);
        await browser.close().catch(() => undefined);
      },
    };
  } catch (e) {
    await browser.close().catch(() => undefined);
    throw e;
  }
}
