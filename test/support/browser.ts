/**
 * Headless Debian Chromium driven by playwright-core (Playwright's own browser download cannot work
 * here), with the flags that keep it off the closed network, and screenshots of each step under
 * .run/ui-screenshots/<suite>/.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { projectRoot } from '../../common/project-root';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface TestBrowser {
  /** A fresh context (its own cookies, downloads accepted) and page, 1280x800. */
  page(): Promise<Page>;
  /** Saves a full-page screenshot named `<n>-<step>.png`. */
  screenshot(page: Page, step: string): Promise<void>;
  /**
   * Console and page errors seen so far in every page, except Chromium's own line for a fetch the
   * API refused on purpose (a wrong password, a stranger's id): those are the API's answers.
   */
  consoleErrors: string[];
  close(): Promise<void>;
}

const REFUSED_FETCH = /^Failed to load resource: the server responded with a status of (400|401|403|404)/;

export async function launchBrowser(suite: string): Promise<TestBrowser> {
  const shots = join(projectRoot(), '.run', 'ui-screenshots', suite);
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  // playwright-core gives it a new empty profile (--user-data-dir) and removes it on close.
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const consoleErrors: string[] = [];
  let shot = 0;
  return {
    consoleErrors,
    async page() {
      const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error' && !REFUSED_FETCH.test(message.text())) consoleErrors.push(message.text());
      });
      page.on('pageerror', (err) => consoleErrors.push(err.message));
      return page;
    },
    async screenshot(page, step) {
      shot += 1;
      await page.screenshot({ path: join(shots, `${String(shot).padStart(2, '0')}-${step}.png`), fullPage: true });
    },
    close: () => browser.close(),
  };
}
