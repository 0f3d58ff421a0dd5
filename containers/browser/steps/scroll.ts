// The steps that bring lazy content in before anything is captured: scrolling through the page (and the
// wait for what it triggered, images decoded) and the bounded wait for web fonts.
import type { CDPSession, HTTPRequest, Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import type { CaptureLimits, CaptureTimeouts } from '../capture-types.ts';
import { AT_TOP_SCRIPT, SCROLL_SCRIPT, SCROLL_STEP_MS } from '../page-scripts.ts';
import { bestEffort } from '../step-runner.ts';
import { TimeoutError, withTimeout } from '../../../shared/core/timeout.ts';

/** What the scroll did: its steps, and how many of them were paced for a scroll handler (listensToScroll). */
export interface ScrollStats {
  steps: number;
  pacedSteps: number;
  /** Milliseconds spent stepping down (the looks for a handler included). */
  stepMs: number;
  /** Milliseconds at the bottom: the network-idle wait and the settle at the top, which run together. */
  bottomMs: number;
  /** Milliseconds waiting for images to decode. */
  decodeMs: number;
}

/**
 * Unpaced steps between two looks for a scroll handler: one added after the first look (a loader inserted after
 * load, one started when the consent banner went) gets the paced steps from the next look on.
 */
export const UNPACED_ROUND_STEPS = 4;

/**
 * Scrolls to the bottom in viewport steps (lazy images, IntersectionObserver, infinite lists), bounded, then back
 * to the top, settled there (settleAtTop). The page's network idle is awaited once, at the bottom: it covers what
 * the load itself still fetched and what the scroll started (issue 17: one wait instead of one after load and
 * another after the scroll), and the return to the top runs during that wait instead of after it. A page that grew
 * while the network settled (an endless list fed by fetch) is scrolled on from where it stopped. Steps are paced
 * for throttled scroll handlers only on a page that has one (listensToScroll, asked again every
 * UNPACED_ROUND_STEPS unpaced steps); elsewhere a step is one frame (SCROLL_SCRIPT). `onTop` runs each time the
 * page has settled at the top, the last time for the page as it is captured: during the network wait when the
 * scroll reached the bottom (the thumbnail is shot there: issue 17), after the settle when it did not.
 */
export async function scrollThrough(
  page: Page,
  cdp: CDPSession,
  t: CaptureTimeouts,
  limits: CaptureLimits,
  log: Logger,
  activity?: NetworkActivity,
  onTop?: () => Promise<unknown>,
): Promise<ScrollStats> {
  const started = Date.now();
  const left = () => t.scroll - (Date.now() - started);
  const budget = Math.max(500, t.scroll - 1_500); // the rest is for what the scrolling started loading
  let y = 0;
  const stats: ScrollStats = { steps: 0, pacedSteps: 0, stepMs: 0, bottomMs: 0, decodeMs: 0 };
  const since = (from: number) => Math.round(performance.now() - from);
  let atTop = false;
  let wasPaced = true; // nothing before the first round to keep a distance from
  for (;;) {
    const stepping = performance.now();
    const scrollLeft = budget - (Date.now() - started);
    const stepsLeft = limits.maxScrollSteps - stats.steps;
    if (scrollLeft <= 0 || stepsLeft <= 0) break;
    const paced = await listensToScroll(cdp);
    const round = paced ? stepsLeft : Math.min(stepsLeft, UNPACED_ROUND_STEPS);
    const stepMs = paced ? SCROLL_STEP_MS : 0;
    // A handler found after unpaced steps saw their last event just now: the first paced step keeps the pace too.
    const leadMs = paced && !wasPaced && !atTop ? SCROLL_STEP_MS : 0;
    wasPaced = paced;
    const r = await withTimeout(
      page.evaluate(`(${SCROLL_SCRIPT})(${scrollLeft}, ${round}, ${y}, ${stepMs}, ${leadMs})`) as Promise<{
        y: number;
        steps: number;
        bottom: boolean;
      }>,
      scrollLeft + 1_000,
    ).catch((err: unknown) => {
      log.info({ err: err instanceof TimeoutError ? undefined : err }, 'scrolling did not finish in time');
      return null;
    });
    stats.stepMs += since(stepping);
    if (!r) break;
    y = r.y;
    stats.steps += r.steps;
    if (paced) stats.pacedSteps += r.steps;
    atTop = false;
    if (!r.bottom) continue; // the round's steps are done (look again) or the budget is (the loop ends)
    // What the bottom triggered is still in flight: wait for it while the page settles back at the top. Whether
    // the page grew is read from its height, which does not depend on where it is scrolled.
    const waiting = performance.now();
    const [grew] = await Promise.all([
      idleThenGrew(page, y, Math.min(left(), t.settle), t, log, activity, paced),
      settleAtTop(page, log, paced).then(onTop),
    ]);
    stats.bottomMs += since(waiting);
    atTop = true;
    if (!grew) break;
  }
  const last = performance.now();
  if (!atTop) await settleAtTop(page, log, wasPaced).then(onTop);
  stats.bottomMs += since(last);
  const decoding = performance.now();
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
  stats.decodeMs = since(decoding);
  return stats;
}

/** The most the look for a scroll handler may take; a page too busy to answer is scrolled paced. */
const LISTENS_TIMEOUT_MS = 1_000;

/**
 * Whether the page handles scroll events of its viewport: a 'scroll' listener (or onscroll) on window or document,
 * where such events are dispatched. Throttled and debounced handlers need paced steps; IntersectionObserver and
 * native lazy loading only need frames (issue 17: the pacing was most of the scroll on pages without a handler).
 * Asked of DevTools (DOMDebugger.getEventListeners on the page's own window and document), so nothing the page
 * defines changes the answer. Answers true when it cannot tell (within LISTENS_TIMEOUT_MS), so such a page keeps
 * the paced steps.
 */
export async function listensToScroll(cdp: CDPSession): Promise<boolean> {
  const listens = async (expression: 'window' | 'document') => {
    // No object group: the listeners' handler functions are then not wrapped as remote objects for the answer.
    const { result } = await cdp.send('Runtime.evaluate', { expression, silent: true });
    if (!result.objectId) return true;
    try {
      const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId });
      return listeners.some((l) => l.type === 'scroll');
    } finally {
      void cdp.send('Runtime.releaseObject', { objectId: result.objectId }).catch(() => undefined);
    }
  };
  const answer = await withTimeout(Promise.all([listens('window'), listens('document')]), LISTENS_TIMEOUT_MS).catch(
    () => [true],
  );
  return answer.includes(true);
}

/** When the page last started or ended a request (Date.now()); kept by the session from before the navigation. */
export interface NetworkActivity {
  /** Any request. */
  last(): number;
  /** A request for anything but an image, a font or a media file (MEDIA_TYPES). */
  lastNonMedia(): number;
  /** When the newest image or font request whose body has not been read to the end began, or undefined. */
  newestUnfinishedMedia(): number | undefined;
}

/**
 * Resource types that fetch nothing by themselves once they arrive: what a page's scripts do about one (an onload
 * handler, a masonry layout) they do in the task that follows. Scripts, documents, stylesheets, XHR and fetch are
 * what a page builds more from, and keep the whole network-idle wait.
 */
const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'media', 'font']);
/**
 * The media requests whose bodies are waited for: puppeteer counts a request in flight only until its headers, so a
 * large image still streaming would not hold the shorter wait. Not audio and video: those stream for as long as they
 * play.
 */
const BODY_TYPES: ReadonlySet<string> = new Set(['image', 'font']);

/** Records the time of every request event of `page` (starts, finishes, failures); stop() removes the listeners. */
export function trackNetworkActivity(page: Page): NetworkActivity & { stop(): void } {
  let last = Date.now();
  let lastNonMedia = last;
  const unfinished = new Map<HTTPRequest, number>(); // when each began
  const touch = (request: HTTPRequest, ended: boolean) => {
    last = Date.now();
    const type = request.resourceType();
    if (!MEDIA_TYPES.has(type)) lastNonMedia = last;
    if (ended) unfinished.delete(request);
    else if (BODY_TYPES.has(type)) unfinished.set(request, last);
  };
  const started = (r: HTTPRequest) => touch(r, false);
  const ended = (r: HTTPRequest) => touch(r, true);
  page.on('request', started);
  page.on('requestfinished', ended);
  page.on('requestfailed', ended);
  return {
    last: () => last,
    lastNonMedia: () => lastNonMedia,
    newestUnfinishedMedia: () => {
      let newest: number | undefined;
      for (const [request, at] of unfinished) {
        // One whose frame went away gets no end event: it ages out of the wait (BODY_WAIT_MS) and is dropped here.
        if (Date.now() - at > 60_000) unfinished.delete(request);
        else if (newest === undefined || at > newest) newest = at;
      }
      return newest;
    },
    stop: () => {
      page.off('request', started);
      page.off('requestfinished', ended);
      page.off('requestfailed', ended);
      unfinished.clear();
    },
  };
}

/**
 * How long after its request an image or font whose body is still being read holds the wait at the bottom: a large
 * image on a slow server is waited for, an image that never ends (a webcam's MJPEG stream) is not.
 */
const BODY_WAIT_MS = 1_000;

/**
 * Waits until no request has been in flight for the quiet time `t.networkIdle` (at most `timeoutMs`), and no image or
 * font body is still being read (up to BODY_WAIT_MS after its request; puppeteer's in-flight count ends at the
 * headers). On a page
 * without a scroll handler, `t.mediaIdle` is enough when every request since then was an image, a font or a media
 * file (issue 17: the lazy images the last screens asked for were what the capture waited out a quarter second
 * after). A page with a handler keeps the whole wait: a throttled loader (lazysizes checks again up to 125 ms after
 * an image's load event) may ask for more later. The quiet time already spent during the scroll counts: puppeteer's
 * own wait starts its idle timer when called, so it is asked only for what is missing, and asked again until the
 * last request events are old enough.
 */
async function networkQuiet(
  page: Page,
  t: Pick<CaptureTimeouts, 'networkIdle' | 'mediaIdle'>,
  timeoutMs: number,
  activity: NetworkActivity | undefined,
  listens: boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const missing = () => {
    if (!activity) return t.networkIdle;
    const quiet = Date.now() - activity.last();
    const rule = listens
      ? t.networkIdle - quiet
      : Math.max(t.networkIdle - (Date.now() - activity.lastNonMedia()), t.mediaIdle - quiet);
    // A body still being read holds the wait, polled, until BODY_WAIT_MS after its request began.
    const body = activity.newestUnfinishedMedia();
    return body !== undefined && Date.now() - body < BODY_WAIT_MS ? Math.max(rule, 20) : rule;
  };
  let wait = Math.max(20, missing());
  for (;;) {
    const left = deadline - Date.now();
    if (left <= wait) throw new TimeoutError(`network not idle in ${timeoutMs} ms`);
    await page.waitForNetworkIdle({ idleTime: wait, timeout: left, concurrency: 0 });
    if (!activity) return;
    const still = missing();
    if (still <= 5) return;
    wait = still;
  }
}

/** Waits for network idle (at most `timeoutMs`), then says whether the page now reaches below `y`'s screen. */
async function idleThenGrew(
  page: Page,
  y: number,
  timeoutMs: number,
  t: Pick<CaptureTimeouts, 'networkIdle' | 'mediaIdle'>,
  log: Logger,
  activity: NetworkActivity | undefined,
  listens: boolean,
): Promise<boolean> {
  if (timeoutMs > t.networkIdle) {
    await bestEffort(
      networkQuiet(page, t, timeoutMs, activity, listens),
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

/**
 * How long the DOM must stay unchanged, and no scroll event come, at the top before the formats are taken (at
 * least two frames in any case: AT_TOP_SCRIPT): 100 ms on a page with a scroll handler (a debounced one reacts
 * after its delay from the last event), 50 ms without one (an IntersectionObserver's callback comes in the next
 * frame; issue 17). And the most it may take.
 */
export const AT_TOP_QUIET_MS = { handler: 100, none: 50 } as const;
const AT_TOP_MAX_MS = 600;

/**
 * Returns to the top and lets the page's scripts react to being there (issue 19): state derived from the scroll
 * position (a navigation bar's class, a shrunk header, a scroll-spy menu) must be the top's, while what the
 * scroll revealed (lazy images, loaded content) stays. Every format is taken after this. `listens`: whether the
 * page was last seen handling scroll events (listensToScroll).
 */
export async function settleAtTop(page: Page, log: Logger, listens: boolean): Promise<void> {
  const quietMs = listens ? AT_TOP_QUIET_MS.handler : AT_TOP_QUIET_MS.none;
  await bestEffort(
    page.evaluate(`(${AT_TOP_SCRIPT})(${quietMs}, ${AT_TOP_MAX_MS})`),
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
