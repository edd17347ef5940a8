// Starts Debian's headless Chromium (/usr/bin/chromium) through
// playwright-core for a browser test, with a fresh profile, and removes it
// afterwards. A missing browser is a failure, never a skip.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface ChromiumPeer {
  readonly context: BrowserContext;
  stop(): Promise<void>;
}

export async function startChromium(): Promise<ChromiumPeer> {
  const profile = await mkdtemp(join(tmpdir(), 'fleetscope-chromium-'));
  let context: BrowserContext;
  try {
    // A persistent context is the only way to give Chromium its own --user-data-dir through playwright.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(`cannot start ${CHROMIUM} (run "npm run peers" to install the Debian chromium package): ${(err as Error).message}`, { cause: err });
  }
  return {
    context,
    async stop() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
