// The steps that bring lazy content in before anything is captured: scrolling through the page (and the
// wait for what it triggered, images decoded) and the bounded wait for web fonts.
import type { Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import type { CaptureLimits, CaptureTimeouts } from '../capture-types.ts';
import { AT_TOP_SCRIPT, SCROLL_SCRIPT } from '../page-scripts.ts';
import { bestEffort } from '../step-runner.ts';
import { TimeoutError, withTimeout } from '../../../shared/core/timeout.ts';

/**
 * Scrolls to the bottom in viewport steps (lazy images, IntersectionObserver, infinite lists), bounded, then back
 * up. The page's network idle is awaited once, at the bottom: it covers what the load itself still fetched and
 * what the scroll started (issue 17: one wait instead of one after load and another after the scroll). A page
 * that grew while the network settled (an endless list fed by fetch) is scrolled on.
 */
export async function scrollThrough(page: Page, t: CaptureTimeouts, limits: CaptureLimits, log: Logger): Promise<void> {
  const started = Date.now();
  const left = () => t.scroll - (Date.now() - started);
  const budget = Math.max(500, t.scroll - 1_500); // the rest is for what the scrolling started loading
  let y = 0;
  let steps = 0;
  for (;;) {
    const scrollLeft = budget - (Date.now() - started);
    if (scrollLeft <= 0 || steps >= limits.maxScrollSteps) break;
    const r = await withTimeout(
      page.evaluate(`(${SCROLL_SCRIPT})(${scrollLeft}, ${limits.maxScrollSteps - steps}, ${y})`) as Promise<{
        y: number;
        steps: number;
        bottom: boolean;
      }>,
      scrollLeft + 1_000,
    ).catch((err: unknown) => {
      log.info({ err: err instanceof TimeoutError ? undefined : err }, 'scrolling did not finish in time');
      return null;
    });
    if (!r) break;
    y = r.y;
    steps += r.steps;
    if (!r.bottom) break; // out of budget or steps
    const grew = await idleThenGrew(page, y, Math.min(left(), t.settle), t.networkIdle, log);
    if (!grew) break;
  }
  await bestEffort(page.evaluate(JUMP_TO_TOP), 1_000, log, 'could not scroll back to the top');
  // Images the scroll started must be decoded before the screenshot.
  await bestEffort(
    page.evaluate(() =>
      Promise.all(Array.from(document.images, (img) => (img.complete ? null : img.decode().catch(() => null)))).then(
        () => undefined,
      ),
    ),
    Math.max(500, left()),
    log,
    'images not decoded in time',
  );
}

const JUMP_TO_TOP = "scrollTo({ top: 0, left: 0, behavior: 'instant' })";

/** Waits for network idle (at most `timeoutMs`), then says whether the page now reaches below `y`'s screen. */
async function idleThenGrew(page: Page, y: number, timeoutMs: number, idleMs: number, log: Logger): Promise<boolean> {
  if (timeoutMs > idleMs) {
    await bestEffort(
      page.waitForNetworkIdle({ idleTime: idleMs, timeout: timeoutMs, concurrency: 0 }),
      timeoutMs + 500,
      log,
      'network never idle; capturing anyway',
    );
  }
  const grew = await withTimeout(
    page.evaluate(`${y} + innerHeight < (document.scrollingElement || document.documentElement).scrollHeight`),
    2_000,
  ).catch(() => false);
  return grew === true;
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
