// Debian's Chromium, headless, driven by playwright-core (no browser download): for tests of the
// broker's approval page as an approver's browser sees it. Root needs --no-sandbox.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  /** A fresh profile (cookies, storage) and a page in it: one per simulated person. */
  newPage(options?: { javaScriptEnabled?: boolean }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function launchChromium(extraArgs: string[] = []): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', ...extraArgs] });
  return {
    browser,
    async newPage(options = {}) {
      const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true });
      context.setDefaultTimeout(15_000);
      return { context, page: await context.newPage() };
    },
    close: () => browser.close(),
  };
}
