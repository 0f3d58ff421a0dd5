// The steps that bring lazy content in before anything is captured: scrolling through the page (and the
// wait for what it triggered, images decoded) and the bounded wait for web fonts.
import type { Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import type { CaptureLimits, CaptureTimeouts } from '../capture-types.ts';
import { AT_TOP_SCRIPT, SCROLL_SCRIPT } from '../page-scripts.ts';
import { bestEffort } from '../step-runner.ts';

/** Scrolls to the bottom in viewport steps (lazy images, IntersectionObserver, infinite lists), bounded, then back up. */
export async function scrollThrough(page: Page, t: CaptureTimeouts, limits: CaptureLimits, log: Logger): Promise<void> {
  const started = Date.now();
  const budget = Math.max(500, t.scroll - 1_500); // the rest is for what the scrolling started loading
  await bestEffort(
    page.evaluate(`(${SCROLL_SCRIPT})(${budget}, ${limits.maxScrollSteps})`),
    budget + 1_000,
    log,
    'scrolling did not finish in time',
  );
  const left = t.scroll - (Date.now() - started);
  if (left > t.networkIdle) {
    await bestEffort(
      page.waitForNetworkIdle({ idleTime: t.networkIdle, timeout: left, concurrency: 0 }),
      left + 500,
      log,
      'lazy content still loading after scroll',
    );
  }
  // Images the scroll started must be decoded before the screenshot.
  await bestEffort(
    page.evaluate(() =>
      Promise.all(Array.from(document.images, (img) => (img.complete ? null : img.decode().catch(() => null)))).then(
        () => undefined,
      ),
    ),
    Math.max(500, t.scroll - (Date.now() - started)),
    log,
    'images not decoded in time',
  );
}

/** How long the DOM must stay unchanged at the top before the formats are taken, and the most it may take. */
const AT_TOP_QUIET_MS = 100;
const AT_TOP_MAX_MS = 600;

/**
 * Returns to the top and lets the page's scripts react to being there (issue 19): state derived from the scroll
 * position (a navigation bar's class, a shrunk header, a scroll-spy menu) must be the top's, while what the
 * scroll revealed (lazy images, loaded content) stays. Every format is taken after this.
 */
export async function settleAtTop(page: Page, log: Logger): Promise<void> {
  await bestEffort(
    page.evaluate(`(${AT_TOP_SCRIPT})(${AT_TOP_QUIET_MS}, ${AT_TOP_MAX_MS})`),
    AT_TOP_MAX_MS + 1_000,
    log,
    'the page did not settle at the top in time',
  );
}

/** Waits for the page's web fonts, at most `timeoutMs`; the capture goes on without them after that. */
export async function waitForFonts(page: Page, timeoutMs: number, log: Logger): Promise<void> {
  await bestEffort(
    page.evaluate(() => document.fonts.ready.then(() => undefined)),
    timeoutMs,
    log,
    'fonts not ready in time',
  );
}
