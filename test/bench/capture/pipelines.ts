// The two references bench:capture measures HT Base against (issue 17): the limit (a warm browser, one bare
// navigation, its own scroll, screenshot, PDF and SingleFile injected) and the ArchiveBox style (a fresh browser
// per artifact: Chromium for the screenshot, Chromium for the PDF, single-file-cli for the HTML).
import type { Page } from 'puppeteer-core';
import { BrowserPool } from '../../../containers/browser/browser-pool.ts';
import { VIEWPORT } from '../../../containers/browser/capture-types.ts';
import { installSingleFile, runSingleFile } from '../../../containers/browser/singlefile.ts';
import type { Logger } from '../../../shared/core/logger.ts';
import { captureSingleFileCli } from '../fidelity/capture.ts';

export interface Artifacts {
  screenshot: number;
  pdf: number;
  singlefile: number;
  /** Milliseconds per step (the limit only). */
  steps?: Record<string, number>;
}

/** The least any scrolling capture does: viewport jumps a frame apart, back to the top, images decoded. */
const BARE_SCROLL = `(async () => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const root = document.scrollingElement || document.documentElement;
  for (let y = innerHeight; y < root.scrollHeight; y += innerHeight) { scrollTo(0, y); await frame(); await frame(); }
  scrollTo(0, 0);
  await Promise.all(Array.from(document.images, (i) => (i.complete ? null : i.decode().catch(() => null))));
})()`;

/** One capture at the limit on a warm pool; returns the artifact sizes (so nothing is optimised away). */
export async function limitCapture(pool: BrowserPool, url: string, logger: Logger): Promise<Artifacts> {
  const steps: Record<string, number> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      steps[name] = Math.round(performance.now() - t);
    }
  };
  return pool.withContext(async (context) => {
    const { page, cdp } = await step('open', async () => {
      const page = await context.newPage();
      const cdp = await page.createCDPSession();
      await page.setViewport(VIEWPORT);
      return { page, cdp };
    });
    const dispose = await step('install singlefile', () => installSingleFile(cdp, { logger }));
    try {
      await step('navigate (load)', () => page.goto(url, { waitUntil: 'load', timeout: 30_000 }));
      await step('scroll', () => page.evaluate(BARE_SCROLL));
      const png = await step('screenshot', () =>
        page.screenshot({ type: 'png', fullPage: true, captureBeyondViewport: false }),
      );
      const pdf = await step('pdf', () => page.pdf({ format: 'A4', printBackground: true, timeout: 30_000 }));
      const html = await step('singlefile', () => runSingleFile(cdp, { timeoutMs: 60_000, maxBytes: 200 * 2 ** 20 }));
      return { screenshot: png.length, pdf: pdf.length, singlefile: html.length, steps };
    } finally {
      dispose();
    }
  });
}

/** A fresh Chromium for one artifact, loaded to `load` plus network idle, closed afterwards. */
async function freshBrowser<T>(
  executablePath: string | undefined,
  logger: Logger,
  url: string,
  fn: (page: Page) => Promise<T>,
): Promise<T> {
  const pool = new BrowserPool({ logger, executablePath });
  try {
    return await pool.withContext(async (context) => {
      const page = await context.newPage();
      await page.setViewport(VIEWPORT);
      await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
      await page.waitForNetworkIdle({ idleTime: 500, timeout: 10_000, concurrency: 0 }).catch(() => undefined);
      return fn(page);
    });
  } finally {
    await pool.close();
  }
}

/** ArchiveBox's way: every artifact is its own browser run, one after the other. */
export async function archiveBoxCapture(
  url: string,
  o: { executablePath: string; logger: Logger; browserArgs?: string[] },
): Promise<Artifacts> {
  const png = await freshBrowser(o.executablePath, o.logger, url, (p) =>
    p.screenshot({ type: 'png', fullPage: true, captureBeyondViewport: false }),
  );
  const pdf = await freshBrowser(o.executablePath, o.logger, url, (p) =>
    p.pdf({ format: 'A4', printBackground: true, timeout: 30_000 }),
  );
  const sf = await captureSingleFileCli(url, {
    executablePath: o.executablePath,
    browserArgs: o.browserArgs,
    timeoutMs: 120_000,
    logger: o.logger,
  });
  if (!sf.ok || !sf.html) throw new Error(`single-file-cli failed: ${sf.error}`);
  return { screenshot: png.length, pdf: pdf.length, singlefile: sf.html.length };
}
