// Renders one page for the fidelity benchmark in a fresh context of the shared render browser: an original over
// loopback, or an archive served from a fake origin with every other request blocked and counted (leaks). Both:
// 1280x800, no animation or caret, fonts awaited, no scrollbars, scrolled, resize listeners muted; scripts run.
import type { HTTPRequest, Page } from 'puppeteer-core';
import type { BrowserPool } from '../../../containers/browser/browser-pool.ts';
import { withTimeout } from '../../../shared/core/timeout.ts';

export const RENDER_VIEWPORT = { width: 1280, height: 800 } as const;
/** Full-page shots stop here (Chromium paints nothing reliable past about 16k px); the true height is recorded. */
export const MAX_SHOT_HEIGHT = 16_384;
/** Where an archive is served from: a name that never resolves, answered by request interception. */
export const ARCHIVE_URL = 'http://archive.fidelity.invalid/index.html';

export interface RenderTimeouts {
  load: number;
  networkIdle: number;
  scroll: number;
  fonts: number;
  shot: number;
}

export const DEFAULT_RENDER_TIMEOUTS: RenderTimeouts = {
  load: 30_000,
  networkIdle: 5_000,
  scroll: 8_000,
  fonts: 3_000,
  shot: 30_000,
};

export interface Rendering {
  ok: boolean;
  error?: string;
  /** PNG of the first screen (scrolled back to the top). */
  viewport: Buffer | null;
  /** PNG of the whole page, cut at MAX_SHOT_HEIGHT. */
  full: Buffer | null;
  /** The document's own size (before any cut). */
  pageWidth: number;
  pageHeight: number;
  /** document.body.innerText after the scroll-through. */
  text: string;
  /** Requests that tried to leave the archive (always 0 for originals: they are not intercepted). */
  leaks: number;
  /** The first few leaked URLs, for the report. */
  leakedUrls: string[];
  ms: number;
}

// Page-side code is source text: tsx would wrap named functions in a `__name` helper the page lacks.

/**
 * Runs before any page script, so its capture-phase listener is the first to see `resize`: while muted it
 * stops the event, which keeps live pages from re-laying out when the full-page shot grows the window.
 */
const PRELUDE = `(() => {
  let muted = false;
  const stop = (e) => { if (muted) e.stopImmediatePropagation(); };
  addEventListener('resize', stop, true);
  if (window.visualViewport) visualViewport.addEventListener('resize', stop, true);
  Object.defineProperty(window, '__fidelityMute', { value: (m) => { muted = m; }, enumerable: false });
})()`;

/** Finite animations jump to their end, infinite ones are cancelled; transitions, carets and scrollbars go. */
const FREEZE = `(() => {
  if (!document.getElementById('__fidelity_freeze')) {
    const s = document.createElement('style');
    s.id = '__fidelity_freeze';
    s.textContent = '*,*::before,*::after{transition:none!important;caret-color:transparent!important;scroll-behavior:auto!important}' +
      '::-webkit-scrollbar{display:none!important;width:0!important;height:0!important}';
    (document.head || document.documentElement).appendChild(s);
  }
  for (const a of document.getAnimations()) {
    try {
      const t = a.effect && a.effect.getComputedTiming();
      if (t && Number.isFinite(t.endTime)) a.finish(); else a.cancel();
    } catch (e) { /* an animation that cannot finish stays as it is */ }
  }
  if (document.activeElement && document.activeElement !== document.body && document.activeElement.blur) document.activeElement.blur();
})()`;

const SCROLL = `async (budgetMs, maxSteps) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const root = document.scrollingElement || document.documentElement;
  const start = performance.now();
  const step = Math.max(200, Math.floor(innerHeight * 0.85));
  let y = 0;
  for (let i = 0; i < maxSteps && performance.now() - start < budgetMs; i++) {
    y += step;
    scrollTo(0, y);
    await sleep(100);
    if (y + innerHeight >= root.scrollHeight) break;
  }
  scrollTo(0, 0);
  await sleep(100);
}`;

const SIZE = `(() => {
  const d = document.documentElement, b = document.body;
  return { w: Math.max(d.scrollWidth, b ? b.scrollWidth : 0), h: Math.max(d.scrollHeight, b ? b.scrollHeight : 0) };
})()`;

const DECODE = `Promise.all(Array.from(document.images, (img) => (img.complete ? null : img.decode().catch(() => null)))).then(() => undefined)`;

async function bestEffort(p: Promise<unknown>, ms: number): Promise<void> {
  await withTimeout(p, ms).catch(() => undefined); // a page that never settles is shot as it is
}

export type RenderTarget = { url: string } | { html: Buffer };

/** Loads and shoots one target in its own browser context; never throws (failures come back as ok: false). */
export async function render(
  pool: BrowserPool,
  target: RenderTarget,
  timeouts: Partial<RenderTimeouts> = {},
): Promise<Rendering> {
  const t = { ...DEFAULT_RENDER_TIMEOUTS, ...timeouts };
  const started = performance.now();
  const leakedUrls: string[] = [];
  let leaks = 0;
  const base: Rendering = {
    ok: false,
    viewport: null,
    full: null,
    pageWidth: 0,
    pageHeight: 0,
    text: '',
    leaks: 0,
    leakedUrls,
    ms: 0,
  };
  try {
    const result = await pool.withContext(async (context) => {
      const page = await context.newPage();
      await page.setViewport(RENDER_VIEWPORT);
      await page.evaluateOnNewDocument(PRELUDE);
      let url: string;
      if ('html' in target) {
        url = ARCHIVE_URL;
        const body = target.html;
        await page.setRequestInterception(true);
        page.on('request', (req: HTTPRequest) => {
          const u = req.url();
          if (u.startsWith('data:') || u.startsWith('blob:')) {
            // Not network: Chromium serves them itself.
            void req.continue().catch(() => undefined);
            return;
          }
          if (u === ARCHIVE_URL && req.isNavigationRequest() && req.frame() === page.mainFrame()) {
            void req.respond({ status: 200, contentType: 'text/html; charset=utf-8', body }).catch(() => undefined);
            return;
          }
          leaks++;
          if (leakedUrls.length < 10) leakedUrls.push(u.length > 200 ? `${u.slice(0, 200)}...` : u);
          void req.abort('blockedbyclient').catch(() => undefined);
        });
      } else {
        url = target.url;
      }
      await page.goto(url, { waitUntil: 'load', timeout: t.load });
      await settle(page, t);
      await bestEffort(page.evaluate(`(${SCROLL})(${t.scroll - 1_500}, 80)`), t.scroll);
      await bestEffort(
        page.waitForNetworkIdle({ idleTime: 500, timeout: t.networkIdle, concurrency: 0 }),
        t.networkIdle + 500,
      );
      await bestEffort(page.evaluate(DECODE), t.fonts);
      await bestEffort(page.evaluate('document.fonts.ready.then(() => undefined)'), t.fonts);
      await page.evaluate(FREEZE);
      const text = (await withTimeout(page.evaluate('document.body ? document.body.innerText : ""'), 10_000)) as string;
      const viewport = Buffer.from(
        await withTimeout(page.screenshot({ type: 'png' }), t.shot, 'viewport screenshot timed out'),
      );
      const size = (await page.evaluate(SIZE)) as { w: number; h: number };
      const full = await withTimeout(fullPage(page, size.h), t.shot, 'full-page screenshot timed out');
      return { ok: true, viewport, full, pageWidth: size.w, pageHeight: size.h, text };
    });
    return { ...base, ...result, leaks, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ...base, error: (err as Error).message, leaks, ms: Math.round(performance.now() - started) };
  }
}

async function settle(page: Page, t: RenderTimeouts): Promise<void> {
  await bestEffort(
    page.waitForNetworkIdle({ idleTime: 500, timeout: t.networkIdle, concurrency: 0 }),
    t.networkIdle + 500,
  );
  await bestEffort(page.evaluate('document.fonts.ready.then(() => undefined)'), t.fonts);
  await page.evaluate(FREEZE);
}

/** The whole page, with resize listeners muted while the window is grown for the shot. */
async function fullPage(page: Page, height: number): Promise<Buffer> {
  await page.evaluate('window.__fidelityMute && window.__fidelityMute(true)');
  try {
    if (height <= MAX_SHOT_HEIGHT) {
      // captureBeyondViewport false: the window is grown to the page, as the capture engine does
      // (otherwise iframes below the first screen paint blank).
      return Buffer.from(await page.screenshot({ type: 'png', fullPage: true, captureBeyondViewport: false }));
    }
    await page.setViewport({ ...RENDER_VIEWPORT, height: MAX_SHOT_HEIGHT });
    try {
      return Buffer.from(await page.screenshot({ type: 'png', captureBeyondViewport: false }));
    } finally {
      await page.setViewport(RENDER_VIEWPORT);
    }
  } finally {
    await page.evaluate('window.__fidelityMute && window.__fidelityMute(false)').catch(() => undefined);
  }
}
