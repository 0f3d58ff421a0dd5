// Rendering an uploaded SingleFile page with NO network: scripts off, every request the page makes aborted at the
// Fetch layer (data: URIs, which SingleFile inlines everything as, never leave the renderer), the network
// emulated offline. Produces the derived formats (screenshot, readable, PDF) the same steps as a live capture do.
import type { Page } from 'puppeteer-core';
import type { Logger } from '../../shared/core/logger.ts';
import type { BrowserFormat } from '../../shared/core/formats.ts';
import { withTimeout } from '../../shared/core/timeout.ts';
import type { BrowserPool } from './browser-pool.ts';
import {
  DEFAULT_LIMITS,
  DEFAULT_TIMEOUTS,
  VIEWPORT,
  type CaptureLimits,
  type CaptureResult,
  type CaptureTimeouts,
} from './capture-types.ts';
import { createStepRunner } from './step-runner.ts';
import { screenshot } from './steps/screenshot.ts';
import { readableStep } from './steps/readable.ts';
import { pdfStep } from './steps/pdf.ts';
import { extractReadable } from './readable.ts';

export interface RenderUploadOptions {
  html: Buffer;
  /** The address the page was saved from: the readable text's base URL, never loaded. */
  url: string;
  formats: readonly BrowserFormat[];
  timeouts?: Partial<CaptureTimeouts>;
  limits?: Partial<CaptureLimits>;
  signal?: AbortSignal;
  logger: Logger;
}

/** Result plus how many requests the page tried and had aborted (tests and logs read it). */
export type RenderUploadResult = CaptureResult & { blockedRequests: number };

/** Cuts the page off: no JavaScript, every request aborted, offline. Installed before the document is set. */
async function isolate(page: Page, counter: { blocked: number }): Promise<void> {
  await page.setJavaScriptEnabled(false);
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    // The uploaded document itself is set through CDP (no request); anything else would be the network.
    if (r.url().startsWith('data:')) return void r.continue().catch(() => undefined);
    counter.blocked++;
    void r.abort('blockedbyclient').catch(() => undefined);
  });
  await page.setOfflineMode(true);
  // Service workers and WebSockets go around request interception; scripts are off, and this closes the rest.
  const cdp = await page.createCDPSession();
  await cdp.send('Network.setBypassServiceWorker', { bypass: true }).catch(() => undefined);
}

/** Renders `html` offline into every requested derived format. */
export async function renderUploadedPage(pool: BrowserPool, o: RenderUploadOptions): Promise<RenderUploadResult> {
  const t = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const formats = new Set(o.formats.filter((f) => f !== 'singlefile'));
  const log = o.logger.child({ url: o.url, upload: true });
  const html = o.html.toString('utf8');
  return pool.withContext(
    async (context, browser) => {
      const page = await context.newPage();
      const state = { crashed: false };
      page.on('error', () => (state.crashed = true));
      const counter = { blocked: 0 };
      await page.setViewport(VIEWPORT);
      await isolate(page, counter);
      const run = createStepRunner({ page, browser, state, formats, limits, signal: o.signal, logger: log });
      // about:blank then the document written in: nothing is navigated to, so nothing is fetched for it.
      await run.timed('navigate', async () => {
        const cdp = await page.createCDPSession();
        const { frameTree } = await cdp.send('Page.getFrameTree');
        await withTimeout(
          cdp.send('Page.setDocumentContent', { frameId: frameTree.frame.id, html }),
          t.navigation,
          `the uploaded page did not render in ${t.navigation} ms`,
        );
      });
      const title = ((await page.title().catch(() => '')) || null) as string | null;
      const lang = (await page.evaluate(() => document.documentElement.lang || null).catch(() => null)) as
        string | null;
      await run.step('screenshot', () => screenshot(page, t.screenshot, limits.maxScreenshotHeight));
      // The readable text comes from the file as saved: what the person saw, not a re-serialized DOM.
      await run.step('readable', () => readableStep(async () => html, o.url));
      await run.step('pdf', () => pdfStep(page, t.pdf, limits.maxBytesPerArtifact, log));
      log.info({ timings: run.timings, blockedRequests: counter.blocked }, 'uploaded page rendered offline');
      return {
        meta: {
          finalUrl: o.url,
          httpStatus: null,
          title: title ?? extractTitle(html, o.url),
          canonicalUrl: null,
          lang,
          faviconUrl: null,
          contentType: 'text/html',
        },
        results: run.results,
        timings: run.timings,
        warnings: [],
        consent: null,
        blockedRequests: counter.blocked,
      };
    },
    { signal: o.signal },
  );
}

function extractTitle(html: string, url: string): string | null {
  try {
    return extractReadable(html, url).title || null;
  } catch {
    return null;
  }
}
