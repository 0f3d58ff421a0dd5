// The browser capture engine: ONE navigation of a URL in a fresh context produces every requested
// browser format (screenshot, PDF, readable text, SingleFile HTML), each step with its own timeout.
import type { Browser, Dialog, HTTPResponse, Page } from 'puppeteer-core';
import type { Logger } from '../../shared/core/logger.ts';
import { PermanentError, isErrorCode } from '../../shared/core/errors.ts';
import { FORMAT_FILES, type BrowserFormat } from '../../shared/core/formats.ts';
import type { BrowserPool } from './browser-pool.ts';
import { TimeoutError, withTimeout } from '../../shared/core/timeout.ts';
import { extractReadable } from './readable.ts';
import { installSingleFile, runSingleFile } from './singlefile.ts';
import { installConsent, type ConsentHandle, type ConsentMode, type ConsentOutcome } from './consent.ts';
import { installNetworkGuard } from './network-guard.ts';
import { DETECT_SCRIPT, warningsFrom, type Detection } from './detect.ts';

export const VIEWPORT = { width: 1280, height: 800 } as const;

/** Milliseconds per step; each bounds only its own step. */
export interface CaptureTimeouts {
  /** Until the main document's DOMContentLoaded; past it the capture fails with `timeout`. */
  navigation: number;
  /** After DOMContentLoaded: wait for `load` and network idle, then capture anyway (pages that never go idle). */
  settle: number;
  /** Quiet time that counts as network idle. */
  networkIdle: number;
  /** After settling: for a consent banner that was found, until autoconsent has dismissed it. */
  consent: number;
  /** Scrolling down for lazy content, including the wait for what it triggered. */
  scroll: number;
  fonts: number;
  screenshot: number;
  pdf: number;
  readable: number;
  singlefile: number;
}

export interface CaptureLimits {
  /** An artifact larger than this fails with `too_large` (the others are kept). */
  maxBytesPerArtifact: number;
  /** Full-page screenshots are cut at this height (Chromium paints nothing beyond about 16k px anyway). */
  maxScreenshotHeight: number;
  /** Upper bound of scroll steps (infinite lists). */
  maxScrollSteps: number;
  /**
   * Per resource: the browser aborts a response declaring more (Content-Length) before reading it, and
   * SingleFile drops embedded resources larger than this (its CLI default: 10 MB). 0: no browser-side check.
   */
  maxResourceBytes: number;
}

export const DEFAULT_TIMEOUTS: CaptureTimeouts = {
  navigation: 30_000,
  settle: 10_000,
  networkIdle: 500,
  consent: 6_000,
  scroll: 8_000,
  fonts: 3_000,
  screenshot: 20_000,
  pdf: 30_000,
  readable: 10_000,
  singlefile: 60_000,
};

export const DEFAULT_LIMITS: CaptureLimits = {
  maxBytesPerArtifact: 200 * 1024 * 1024,
  maxScreenshotHeight: 16_384,
  maxScrollSteps: 60,
  maxResourceBytes: 10 * 1024 * 1024,
};

export interface CaptureRequest {
  url: string;
  formats: readonly BrowserFormat[];
  timeouts?: Partial<CaptureTimeouts>;
  limits?: Partial<CaptureLimits>;
  signal?: AbortSignal;
  logger: Logger;
  /**
   * A 4xx/5xx main document is captured by default (archivists want the page as served, and
   * `meta.httpStatus` records the status); true fails every format with `http_error` instead.
   */
  failOnHttpError?: boolean;
  /** Cookie and consent banners: rejected (default), accepted, or left alone. */
  consent?: ConsentMode;
  /** Block advertising and analytics requests (Ghostery TrackerDB); default off. */
  blockTrackers?: boolean;
  /** Also return the rendered DOM (serialized after scrolling, before SingleFile) as `dom`. */
  dom?: boolean;
}

export interface CaptureMeta {
  finalUrl: string;
  httpStatus: number | null;
  title: string | null;
  canonicalUrl: string | null;
  lang: string | null;
  faviconUrl: string | null;
  contentType: string | null;
}

export type FormatResult =
  { ok: true; body: Buffer; contentType: string } | { ok: false; error: PermanentError | Error };

export const STAGES = [
  'navigate',
  'settle',
  'consent',
  'scroll',
  'fonts',
  'screenshot',
  'pdf',
  'readable',
  'dom',
  'singlefile',
] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Warning codes a successful capture can carry (stored on the article): the page was captured, but it
 * may not be what the user wanted.
 * - bot_challenge: a bot-protection challenge page (Cloudflare "Just a moment...", DataDome, ...)
 * - blank_page: (almost) no text and nothing visible
 * - consent_not_dismissed: a consent banner was found but could not be dismissed in time
 * - resource_too_large: at least one resource over the per-resource limit was aborted
 * - dom_too_large: the rendered DOM was asked for but is over the artifact limit (`dom` left out)
 */
export type CaptureWarning =
  'bot_challenge' | 'blank_page' | 'consent_not_dismissed' | 'resource_too_large' | 'dom_too_large';

export interface CaptureResult {
  meta: CaptureMeta;
  warnings: CaptureWarning[];
  /** The rendered DOM as HTML, when `dom` was asked for (and fits the artifact limit). */
  dom?: string;
  /** Consent popups found and whether they were dismissed; null when consent handling is off. */
  consent: ConsentOutcome | null;
  /** One entry per requested format. */
  results: Partial<Record<BrowserFormat, FormatResult>>;
  /** Milliseconds per stage that ran. */
  timings: Partial<Record<Stage, number>>;
}

/**
 * Captures `url` once into every requested format. Throws when nothing can be captured: a
 * PermanentError (navigation_failed, dns_not_found, http_error, timeout, blocked_address) fails every
 * format for good; any other error (the browser or renderer died) is transient and worth a retry.
 * Otherwise each format has its own result: a failing step fails only its own format.
 */
export async function capturePage(pool: BrowserPool, req: CaptureRequest): Promise<CaptureResult> {
  const t = { ...DEFAULT_TIMEOUTS, ...req.timeouts };
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const formats = new Set(req.formats);
  const log = req.logger.child({ url: req.url });
  return pool.withContext(
    async (context, browser) => {
      const page = await context.newPage();
      const cdp = await page.createCDPSession();
      const state = { crashed: false };
      // A renderer crash fails the job at once (transient: the next attempt gets a fresh renderer) instead
      // of every remaining step waiting out its own timeout on a dead page.
      let onCrash: (err: Error) => void = () => {};
      const crash = new Promise<never>((_, reject) => {
        onCrash = reject;
      });
      crash.catch(() => {}); // observed through the race below
      page.on('error', (err) => {
        state.crashed = true; // puppeteer's 'error' event is Inspector.targetCrashed
        log.warn({ err }, 'renderer crashed');
        onCrash(new Error(`renderer crashed while capturing ${req.url}`, { cause: err }));
      });
      page.on('dialog', (dialog: Dialog) => {
        // alert/confirm/prompt block the page until answered; beforeunload is accepted so nothing sticks.
        const answer = dialog.type() === 'beforeunload' ? dialog.accept() : dialog.dismiss();
        answer.catch((err: unknown) => log.debug({ err }, 'dialog already gone'));
      });
      await page.setViewport(VIEWPORT);
      const disposeSingleFile = formats.has('singlefile')
        ? await installSingleFile(cdp, {
            logger: log,
            proxyServer: pool.proxyServer,
            maxResourceBytes: limits.maxResourceBytes,
          })
        : () => {};
      const guard = await installNetworkGuard(cdp, {
        blockTrackers: !!req.blockTrackers,
        maxResourceBytes: limits.maxResourceBytes,
        pageUrl: () => page.url() || req.url,
        logger: log,
      });
      const consentMode = req.consent ?? 'optout';
      let consent: ConsentHandle | null = null;
      if (consentMode !== 'off') consent = await installConsent(await page.createCDPSession(), consentMode, log);
      const timings: Partial<Record<Stage, number>> = {};
      const timed = async <T>(stage: Stage, fn: () => Promise<T>): Promise<T> => {
        const start = performance.now();
        try {
          return await fn();
        } finally {
          timings[stage] = Math.round(performance.now() - start);
        }
      };
      const warnings = new Set<CaptureWarning>();
      const run = async (): Promise<CaptureResult> => {
        const response = await timed('navigate', () =>
          navigate(page, req.url, t.navigation, { browser, state, proxied: !!pool.proxyServer }),
        );
        const httpStatus = response?.status() ?? null;
        if (req.failOnHttpError && httpStatus !== null && httpStatus >= 400) {
          throw new PermanentError('http_error', `the page answered HTTP ${httpStatus}`);
        }
        await timed('settle', () => settle(page, t, log));
        req.signal?.throwIfAborted();
        // Consent popups found by now are dismissed before scrolling (a click may re-lay out or reload the
        // page); those that appear later (autoconsent keeps looking for about 3 s) before the screenshot.
        // Pages without a popup pay nothing here. The budget is shared by both waits.
        const consentDeadline = Date.now() + t.consent;
        let consentMs = 0;
        const consentWait = async () => {
          if (!consent) return null;
          const start = Date.now();
          const outcome = await consent.settle(Math.max(0, consentDeadline - Date.now()));
          timings.consent = consentMs += Date.now() - start;
          return outcome;
        };
        await consentWait();
        await timed('scroll', () => scrollThrough(page, t, limits, log));
        await timed('fonts', () =>
          bestEffort(
            page.evaluate(() => document.fonts.ready.then(() => undefined)),
            t.fonts,
            log,
            'fonts not ready in time',
          ),
        );
        const consentOutcome = await consentWait();
        if (consentOutcome && !consentOutcome.handled) warnings.add('consent_not_dismissed');
        const meta = await readMeta(page, req.url, response, log);
        const detection = await withTimeout(page.evaluate(DETECT_SCRIPT) as Promise<Detection>, 5_000).catch(
          (err: unknown) => {
            log.info({ err }, 'page checks not readable');
            return null;
          },
        );
        if (detection) for (const w of warningsFrom(detection)) warnings.add(w);
        if (detection?.challenge) log.warn({ signal: detection.challenge, title: meta.title }, 'bot challenge page');

        const results: Partial<Record<BrowserFormat, FormatResult>> = {};
        let wedged: string | null = null; // a step timed out and the page no longer answers
        const step = async (format: BrowserFormat, stage: Stage, fn: () => Promise<Buffer>) => {
          if (!formats.has(format)) return;
          if (req.signal?.aborted) {
            results[format] = { ok: false, error: new Error('capture aborted') };
            return;
          }
          if (wedged) {
            results[format] = {
              ok: false,
              error: new PermanentError('timeout', `${format}: the page stopped responding during ${wedged}`),
            };
            return;
          }
          try {
            const body = await timed(stage, fn);
            if (body.length > limits.maxBytesPerArtifact) {
              throw new PermanentError(
                'too_large',
                `${format} is ${body.length} bytes, over the ${limits.maxBytesPerArtifact} byte limit`,
              );
            }
            results[format] = { ok: true, body, contentType: FORMAT_FILES[format].contentType };
          } catch (err) {
            const error = classifyStepError(err, format, browser, state);
            log.warn({ artifact: format, err: error, code: (error as PermanentError).code }, 'capture step failed');
            results[format] = { ok: false, error };
            // After a timeout, probe the page once: if its main thread is stuck, the remaining steps fail
            // at once instead of each waiting out its own timeout.
            if ((error as PermanentError).code === 'timeout' && !(await responsive(page))) wedged = format;
          }
        };
        // The serialized DOM, shared by readable and `dom`; its size is checked in the page before it moves.
        let html: Promise<string> | null = null;
        const pageHtml = () =>
          (html ??= (async () => {
            const chars = (await withTimeout(
              page.evaluate('document.documentElement ? document.documentElement.outerHTML.length : 0'),
              t.readable,
            )) as number;
            if (chars > limits.maxBytesPerArtifact)
              throw new PermanentError(
                'too_large',
                `the page's HTML is over the ${limits.maxBytesPerArtifact} byte limit`,
              );
            return withTimeout(page.content(), t.readable, `page HTML not available in ${t.readable} ms`);
          })());
        // Order: the screenshot first (it sees the page as scrolled and settled), then the steps that only
        // read the DOM, PDF last. PLATFORM-NOTES put PDF before SingleFile because SingleFile's own lazy
        // loader made a following PDF slow; that loader is off here. Printing is the step seen to wedge a
        // renderer for good (corpus page la-nacion: printToPDF never returned; PRINT_FIX_SCRIPT avoids that
        // case), and every step after it would then fail too, so it goes where it can cost no other format.
        await step('screenshot', 'screenshot', () => screenshot(page, t.screenshot, limits.maxScreenshotHeight));
        await step('readable', 'readable', async () => {
          const doc = extractReadable(await pageHtml(), meta.finalUrl);
          return Buffer.from(JSON.stringify(doc), 'utf8');
        });
        let dom: string | undefined;
        if (req.dom && !wedged && !req.signal?.aborted) {
          try {
            dom = await timed('dom', pageHtml);
          } catch (err) {
            if ((err as PermanentError).code === 'too_large') warnings.add('dom_too_large');
            log.warn({ err }, 'rendered DOM not available');
          }
        }
        await step('singlefile', 'singlefile', () =>
          runSingleFile(cdp, { timeoutMs: t.singlefile, maxBytes: limits.maxBytesPerArtifact }),
        );
        await step('pdf', 'pdf', async () => {
          await bestEffort(page.evaluate(PRINT_FIX_SCRIPT), 2_000, log, 'print workaround not applied');
          return printPdf(page, t.pdf, limits.maxBytesPerArtifact);
        });
        if (guard.stats.tooLarge) warnings.add('resource_too_large');
        log.info(
          {
            timings,
            httpStatus: meta.httpStatus,
            warnings: [...warnings],
            blocked: guard.stats.blocked,
            ok: Object.entries(results)
              .filter(([, r]) => r?.ok)
              .map(([f]) => f),
          },
          'page captured',
        );
        return {
          meta,
          results,
          timings,
          warnings: [...warnings],
          consent: consentOutcome,
          ...(dom !== undefined ? { dom } : {}),
        };
      };
      try {
        return await Promise.race([run(), crash]);
      } finally {
        disposeSingleFile();
        guard.dispose();
        consent?.dispose();
      }
    },
    { signal: req.signal },
  );
}

/**
 * Chromium's printToPDF never returns (and wedges the renderer) on a list item whose first line is an
 * inline holding only an empty block: `<li><a href><div></div></a></li>` (corpus page la-nacion; reproduced
 * down to that markup, tagged or not). Giving such empty blocks a 1px height avoids it. Run just before
 * printing, the last step, so no other format sees the change. Returns how many blocks it touched.
 */
export const PRINT_FIX_SCRIPT = `(() => {
  let fixed = 0, seen = 0;
  const blockish = /^(block|flex|grid|table|flow-root|list-item)$/;
  for (const li of document.querySelectorAll('li')) {
    for (const el of li.querySelectorAll('*')) {
      if (++seen > 20000) return fixed;
      if (el.firstChild || !el.parentElement || el.offsetHeight !== 0) continue;
      const cs = getComputedStyle(el);
      if (!blockish.test(cs.display) || !getComputedStyle(el.parentElement).display.startsWith('inline')) continue;
      el.style.setProperty('min-height', '1px');
      fixed++;
    }
  }
  return fixed;
})()`;

/**
 * Prints to PDF through the stream CDP hands out, counting bytes as they come: an oversized PDF fails with
 * too_large without being held whole. Print media is emulated first and the call is bounded (a renderer
 * that never answers printToPDF is released when the job's context closes).
 */
async function printPdf(page: Page, timeoutMs: number, maxBytes: number): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  const work = (async () => {
    const stream = await page.createPDFStream({
      format: 'A4',
      printBackground: true,
      timeout: timeoutMs,
      waitForFonts: false /* fonts were awaited, bounded, above */,
    });
    const reader = stream.getReader();
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > maxBytes) throw new PermanentError('too_large', `pdf is over the ${maxBytes} byte limit`);
        parts.push(Buffer.from(value));
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    return Buffer.concat(parts);
  })();
  return withTimeout(work, Math.max(1, deadline - Date.now()) + 1_000, `pdf took over ${timeoutMs} ms`);
}

async function navigate(
  page: Page,
  url: string,
  timeoutMs: number,
  ctx: { browser: Browser; state: { crashed: boolean }; proxied: boolean },
): Promise<HTTPResponse | null> {
  let response: HTTPResponse | null;
  try {
    response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  } catch (err) {
    throw classifyNavigationError(err, ctx);
  }
  if (!response) throw new PermanentError('navigation_failed', 'the navigation produced no document');
  // The egress proxy refuses a target with 403 and the guard's code in this header (shared/net/egress-proxy.ts):
  // blocked_address, dns_not_found, ...
  const refused = ctx.proxied ? response.headers()['x-htbase-blocked'] : undefined;
  if (refused) {
    const code = isErrorCode(refused) ? refused : 'blocked_address';
    throw new PermanentError(code, `the egress guard refused ${new URL(response.url()).host} (${code})`);
  }
  return response;
}

/** Waits for `load`, then network idle; never fails: a page that does not settle is captured as it is. */
async function settle(page: Page, t: CaptureTimeouts, log: Logger): Promise<void> {
  const deadline = Date.now() + t.settle;
  await bestEffort(
    page.evaluate(() =>
      document.readyState === 'complete'
        ? undefined
        : new Promise<void>((r) => addEventListener('load', () => r(), { once: true })),
    ),
    t.settle,
    log,
    'load event did not fire in time; capturing anyway',
  );
  const left = deadline - Date.now();
  if (left > t.networkIdle) {
    await bestEffort(
      page.waitForNetworkIdle({ idleTime: t.networkIdle, timeout: left, concurrency: 0 }),
      left + 500,
      log,
      'network never idle; capturing anyway',
    );
  }
}

// Page-side code is plain source text: tsx/esbuild would wrap named functions in a `__name` helper that
// does not exist in the page.
const SCROLL_SCRIPT = `async (budgetMs, maxSteps) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const root = document.scrollingElement || document.documentElement;
  const start = performance.now();
  const stepPx = Math.max(200, Math.floor(innerHeight * 0.85));
  let y = 0;
  for (let i = 0; i < maxSteps && performance.now() - start < budgetMs; i++) {
    y += stepPx;
    scrollTo(0, y);
    await sleep(120);
    if (y + innerHeight >= root.scrollHeight) {
      await sleep(400); // an infinite list may append more
      if (y + innerHeight >= root.scrollHeight) break;
    }
  }
  scrollTo(0, 0);
}`;

const META_SCRIPT = `(() => {
  const abs = (sel) => { const el = document.querySelector(sel); return el && el.getAttribute('href') ? el.href : null; };
  return {
    title: document.title || null,
    canonicalUrl: abs('link[rel~="canonical" i]'),
    lang: document.documentElement.lang || null,
    faviconUrl: abs('link[rel~="icon" i]') || abs('link[rel="shortcut icon" i]') || abs('link[rel~="apple-touch-icon" i]'),
  };
})()`;

/** Scrolls to the bottom in viewport steps (lazy images, IntersectionObserver, infinite lists), bounded, then back up. */
async function scrollThrough(page: Page, t: CaptureTimeouts, limits: CaptureLimits, log: Logger): Promise<void> {
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

async function screenshot(page: Page, timeoutMs: number, maxHeight: number): Promise<Buffer> {
  const height = await withTimeout(
    page.evaluate(() => Math.max(document.documentElement.scrollHeight, document.body?.scrollHeight ?? 0)),
    timeoutMs,
  );
  const shoot = async () => {
    if (height <= maxHeight) {
      // captureBeyondViewport false: the viewport is grown to the page; otherwise sandboxed and
      // cross-origin iframes below the first screen paint blank.
      return page.screenshot({ type: 'png', fullPage: true, captureBeyondViewport: false });
    }
    await page.setViewport({ ...VIEWPORT, height: maxHeight });
    try {
      return await page.screenshot({ type: 'png', captureBeyondViewport: false });
    } finally {
      await page.setViewport(VIEWPORT);
    }
  };
  return Buffer.from(await withTimeout(shoot(), timeoutMs, `screenshot took over ${timeoutMs} ms`));
}

async function readMeta(
  page: Page,
  requested: string,
  response: HTTPResponse | null,
  log: Logger,
): Promise<CaptureMeta> {
  const finalUrl = page.url() || requested;
  const contentType = response?.headers()['content-type'] ?? null;
  const base: CaptureMeta = {
    finalUrl,
    httpStatus: response?.status() ?? null,
    title: null,
    canonicalUrl: null,
    lang: null,
    faviconUrl: null,
    contentType,
  };
  try {
    const m = await withTimeout(
      page.evaluate(META_SCRIPT) as Promise<{
        title: string | null;
        canonicalUrl: string | null;
        lang: string | null;
        faviconUrl: string | null;
      }>,
      5_000,
    );
    return {
      ...base,
      title: m.title?.trim() || null,
      canonicalUrl: m.canonicalUrl,
      lang: m.lang?.trim() || null,
      faviconUrl: m.faviconUrl ?? (/^https?:/.test(finalUrl) ? new URL('/favicon.ico', finalUrl).href : null),
    };
  } catch (err) {
    log.warn({ err }, 'page metadata not readable');
    return base;
  }
}

async function responsive(page: Page): Promise<boolean> {
  return withTimeout(page.evaluate('1'), 2_000).then(
    () => true,
    () => false,
  );
}

/** Runs `p` for at most `ms`; a failure or timeout is logged and ignored (the capture goes on). */
async function bestEffort(p: Promise<unknown>, ms: number, log: Logger, message: string): Promise<void> {
  try {
    await withTimeout(p, ms);
  } catch (err) {
    log.info({ err: err instanceof TimeoutError ? undefined : err }, message);
  }
}

const TRANSIENT =
  /Target closed|Session closed|Connection closed|Protocol error.*(?:closed|detached)|Navigating frame was detached|browser has disconnected|Execution context was destroyed/i;

export function classifyNavigationError(
  err: unknown,
  ctx: { browser: Browser; state: { crashed: boolean }; proxied: boolean },
): Error {
  if (err instanceof PermanentError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (ctx.state.crashed) return new Error(`renderer crashed while loading: ${msg}`, { cause: err });
  if (!ctx.browser.connected) return new Error(`browser died while loading: ${msg}`, { cause: err });
  if (err instanceof Error && err.name === 'TimeoutError')
    return new PermanentError('timeout', `the page did not load in time: ${msg}`, { cause: err });
  if (/ERR_NAME_NOT_RESOLVED|ERR_NAME_RESOLUTION_FAILED/.test(msg))
    return new PermanentError('dns_not_found', `the host name does not resolve (${netError(msg)})`, { cause: err });
  if (ctx.proxied && /ERR_TUNNEL_CONNECTION_FAILED|ERR_PROXY_CONNECTION_FAILED|ERR_BLOCKED/.test(msg)) {
    return new PermanentError('blocked_address', `the egress proxy refused the target (${netError(msg)})`, {
      cause: err,
    });
  }
  if (/ERR_ABORTED/.test(msg))
    return new PermanentError('navigation_failed', 'the URL is not a page (the browser aborted it, e.g. a download)', {
      cause: err,
    });
  if (/net::ERR_/.test(msg))
    return new PermanentError('navigation_failed', `the page could not be loaded (${netError(msg)})`, { cause: err });
  if (TRANSIENT.test(msg)) return new Error(`browser failure while loading: ${msg}`, { cause: err });
  return new PermanentError('navigation_failed', msg, { cause: err });
}

function classifyStepError(err: unknown, format: BrowserFormat, browser: Browser, state: { crashed: boolean }): Error {
  if (err instanceof PermanentError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (state.crashed) return new Error(`renderer crashed during ${format}: ${msg}`, { cause: err });
  if (!browser.connected) return new Error(`browser died during ${format}: ${msg}`, { cause: err });
  if (err instanceof TimeoutError || (err instanceof Error && err.name === 'TimeoutError')) {
    return new PermanentError('timeout', `${format}: ${msg}`, { cause: err });
  }
  if (TRANSIENT.test(msg)) return new Error(`${format}: ${msg}`, { cause: err });
  return new PermanentError('capture_failed', `${format}: ${msg}`, { cause: err });
}

function netError(msg: string): string {
  return /net::ERR_[A-Z_]+/.exec(msg)?.[0] ?? msg;
}
