// Debian's Chromium, headless, driven by playwright-core (no browser download): for tests of the
// broker's approval page as an approver's browser sees it. Root needs --no-sandbox.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  /** A fresh profile (cookies, storage) and a page in it: one per simulated person. */
  newPage(options?: { javaScriptEnabled?: boolean }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/**
 * `netns`: run the browser inside that network namespace (an approver on the cluster's network in
 * a test's namespaces); playwright talks to it over inherited pipes, which `ip netns exec` keeps.
 * `trust`: PEM certificates of test servers the browser accepts, pinned by their public keys (and
 * nothing else besides the system's roots).
 */
export async function launchChromium(extraArgs: string[] = [], opts: { netns?: string; trust?: string[] } = {}): Promise<TestBrowser> {
  const pins = (opts.trust ?? []).map(spkiPin);
  const args = ['--no-sandbox', ...(pins.length > 0 ? [`--ignore-certificate-errors-spki-list=${pins.join(',')}`] : []), ...extraArgs];
  const browser = await chromium.launch({ executablePath: opts.netns ? inNamespaceLauncher(opts.netns) : CHROMIUM_PATH, headless: true, args });
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

/** A script that starts Chromium inside network namespace `netns`. */
function inNamespaceLauncher(netns: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(netns)) throw new Error(`not a namespace name: ${netns}`);
  const path = join(mkdtempSync(join(tmpdir(), 'sidegate-chromium-')), 'chromium');
  writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${netns} ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
  return path;
}

/** Chromium's pin of a certificate: base64 SHA-256 of its SubjectPublicKeyInfo. */
function spkiPin(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}
