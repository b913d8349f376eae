/// <reference lib="dom" />
// Headless Chromium for the live pages' tests: Debian's `chromium` package (.ci/run installs it) driven by
// playwright-core, which never downloads a browser. Without it (a user's clone) the browser tests skip and say why.
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe } from 'vitest';
import { within } from './wait-until.js';

export const CHROMIUM_PATH = process.env.MESOS_MINER_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export const browserMissing: string | null = existsSync(CHROMIUM_PATH)
  ? null
  : `no Chromium at ${CHROMIUM_PATH}: the browser tests are skipped (apt-get install chromium, or set MESOS_MINER_CHROMIUM)`;

/** Screenshots and other things worth looking at after a run (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

/** `describe` for browser tests: skipped, and says why, where there is no Chromium. */
export function describeBrowser(name: string, body: () => void): void {
  if (browserMissing) describe.skip(`${name} (${browserMissing})`, body);
  else describe(name, body);
}

/** One browser for a suite (inside describeBrowser): launched before its tests, closed after them. */
export function useBrowser(): Pick<Browser, 'context'> {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get context() {
      if (!browser) throw new Error('the browser is not running (beforeAll failed?)');
      return browser.context;
    },
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A fresh profile each time; no network but loopback is reachable here, so everything that phones home is off
 * (otherwise Chromium keeps retrying refused connections in the background).
 */
export async function launchBrowser(viewport = { width: 1400, height: 1000 }): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'mesos-miner-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** "1,234" -> 1234; "1/65536" -> 1/65536; "12.34 MH/s" -> 12340000. */
export function parseShown(text: string): number {
  const units: Record<string, number> = { 'H/s': 1, 'kH/s': 1e3, 'MH/s': 1e6, 'GH/s': 1e9, 'TH/s': 1e12 };
  const rate = /^([\d.]+) (\w+\/s)$/.exec(text);
  if (rate) return Number(rate[1]) * units[rate[2]!]!;
  const fraction = /^1\/(\d+)$/.exec(text);
  if (fraction) return 1 / Number(fraction[1]);
  return Number(text.replace(/,/g, ''));
}

/** Pixels of the chart's canvas close to an rgb colour (a drawn series), after the charts have data. */
export function seriesPixels(page: Page, chart: string, rgb: [number, number, number]): Promise<number> {
  return page.$eval(
    `#${chart} canvas`,
    (canvas, [r, g, b]) => {
      const c = canvas as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) < 60 && data[i + 3]! > 128) n++;
      }
      return n;
    },
    rgb,
  );
}

/**
 * Resolves when the page next records the User Timing measure `name` (the pages time their event handlers); fails
 * naming the measure if none comes within `timeoutMs`.
 */
export function nextMeasure(page: Page, name: string, timeoutMs = 20_000): Promise<void> {
  const measured = page.evaluate(
    (wanted) =>
      new Promise<void>((resolve) => {
        const observer = new PerformanceObserver((list) => {
          if (list.getEntriesByName(wanted).length > 0) {
            observer.disconnect();
            resolve();
          }
        });
        observer.observe({ type: 'measure' });
      }),
    name,
  );
  return within(measured, timeoutMs, `the page's next "${name}" measure`);
}

/** The text of the first element showing `field` of the page's view (data-field). */
export async function fieldText(page: Page, field: string): Promise<string> {
  return (await page.locator(`[data-field="${field}"]`).first().textContent())!.trim();
}

/** The text of every cell of a table's rendered rows. */
export async function tableRows(page: Page, table = '#miners'): Promise<string[][]> {
  return page.$$eval(`${table} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent!.trim())));
}
