// The browser capture engine: ONE navigation of a URL in a fresh context produces every requested browser
// format. This file is the order of the steps; the session, the step runner and each step live in their own.
import type { Logger } from '../../shared/core/logger.ts';
import type { BrowserFormat } from '../../shared/core/formats.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import type { BrowserPool } from './browser-pool.ts';
import { runSingleFile } from './singlefile.ts';
import {
  DEFAULT_LIMITS,
  DEFAULT_TIMEOUTS,
  type CaptureLimits,
  type CaptureResult,
  type CaptureTimeouts,
  type CaptureWarning,
  type PageCaptureOptions,
} from './capture-types.ts';
import { openSession, type PageSession } from './session.ts';
import { createStepRunner } from './step-runner.ts';
import { navigate, settle } from './steps/load.ts';
import { consentWaiter } from './steps/consent.ts';
import { scrollThrough, waitForFonts } from './steps/scroll.ts';
import { detectWarnings, readMeta } from './steps/metadata.ts';
import { screenshot } from './steps/screenshot.ts';
import { thumbnail, thumbnailAtTop } from './steps/thumbnail.ts';
import { pageHtmlOnce, readableStep, renderedDomStep } from './steps/readable.ts';
import { pdfStep } from './steps/pdf.ts';

export * from './capture-types.ts';

/**
 * Captures `url` once into every requested format. Throws when nothing can be captured: a
 * PermanentError (navigation_failed, dns_not_found, http_error, timeout, blocked_address) fails every
 * format for good; any other error (the browser or renderer died) is transient and worth a retry.
 * Otherwise each format has its own result: a failing step fails only its own format.
 */
export async function capturePage(pool: BrowserPool, req: PageCaptureOptions): Promise<CaptureResult> {
  const t = { ...DEFAULT_TIMEOUTS, ...req.timeouts };
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const formats = new Set(req.formats);
  const log = req.logger.child({ url: req.url });
  const started = performance.now();
  return pool.withContext(
    async (context, browser) => {
      const opening = performance.now();
      const session = await openSession(context, browser, {
        url: req.url,
        formats,
        limits,
        consent: req.consent ?? 'optout',
        blockTrackers: !!req.blockTrackers,
        proxyServer: pool.proxyServer,
        cookies: req.cookies,
        logger: log,
      });
      const openMs = Math.round(performance.now() - opening);
      try {
        return await session.race(runSteps(session, req, t, limits, log, !!pool.proxyServer, { started, openMs }));
      } finally {
        session.dispose();
      }
    },
    { signal: req.signal },
  );
}

/** The steps of one capture, in order, on an open session. */
async function runSteps(
  s: PageSession,
  req: PageCaptureOptions,
  t: CaptureTimeouts,
  limits: CaptureLimits,
  log: Logger,
  proxied: boolean,
  clock: { started: number; openMs: number },
): Promise<CaptureResult> {
  const { page } = s;
  const formats = new Set(req.formats);
  const run = createStepRunner({ ...s, formats, limits, signal: req.signal, logger: log });
  const warnings = new Set<CaptureWarning>();
  run.timings.open = clock.openMs;
  if (req.beforeNavigate) await run.timed('probe', () => req.beforeNavigate!);

  const response = await run.timed('navigate', () => navigate(page, req.url, t.navigation, { ...s, proxied }));
  const httpStatus = response.status();
  if (req.failOnHttpError && httpStatus >= 400) {
    throw new PermanentError('http_error', `the page answered HTTP ${httpStatus}`);
  }
  await run.timed('settle', () => settle(page, t, log));
  req.signal?.throwIfAborted();
  const consentWait = consentWaiter(s.consent, t.consent, run.timings);
  const beforeScroll = await consentWait();
  const topShot = thumbnailAtTop(page, s.activity, t.screenshot, log);
  const scrolled = await run.timed('scroll', () =>
    scrollThrough(page, s.cdp, t, limits, log, s.activity, formats.has('screenshot') ? topShot.take : undefined),
  );
  await run.timed('fonts', () => waitForFonts(page, t.fonts, log));
  const seen = await consentWait();
  const meta = await run.timed('inspect', async () => {
    const m = await readMeta(page, req.url, response, log);
    for (const w of await detectWarnings(page, m, log)) warnings.add(w);
    return m;
  });
  req.onMeta?.(meta);

  // Order: the screenshot first (it sees the page as scrolled and settled), then the steps that only
  // read the DOM, PDF last. PLATFORM-NOTES put PDF before SingleFile because SingleFile's own lazy
  // loader made a following PDF slow; that loader is off here. Printing is the step seen to wedge a
  // renderer for good (corpus page la-nacion: printToPDF never returned; PRINT_FIX_SCRIPT avoids that
  // case), and every step after it would then fail too, so it goes where it can cost no other format.
  const html = pageHtmlOnce(page, t.readable, limits.maxBytesPerArtifact);
  const done = (f: BrowserFormat) => {
    const r = run.results[f];
    if (r && req.onResult) req.onResult(f, r);
  };
  const shoot = () => run.step('screenshot', () => screenshot(page, t.screenshot, limits.maxScreenshotHeight));
  // The screenshot is taken while autoconsent's early detection passes end (issue 17: waiting for them first made
  // them the floor of every capture); a popup they found is dismissed and the screenshot taken again.
  await shoot();
  const consent = await consentWait({ firstPass: true });
  if (consent && seen && consent.popups > seen.popups && formats.has('screenshot')) {
    log.info({ cmps: consent.cmps }, 'consent popup found during the screenshot; taking it again');
    const first = run.results.screenshot;
    const firstMs = run.timings.screenshot ?? 0;
    await shoot();
    run.timings.screenshot = firstMs + (run.timings.screenshot ?? 0);
    if (first?.ok && !run.results.screenshot?.ok) {
      log.warn('the screenshot taken again failed; keeping the one taken before the popup was dismissed');
      run.results.screenshot = first;
    }
  }
  if (consent && !consent.handled) warnings.add('consent_not_dismissed');
  done('screenshot');
  // The shot at the top counts if no popup was found after the scroll began (the first wait dismissed the earlier).
  const reuse = !consent || (beforeScroll !== null && consent.popups === beforeScroll.popups);
  const thumb = !run.results.screenshot?.ok
    ? undefined
    : ((reuse ? await topShot.valid() : undefined) ??
      (await run.timed('thumbnail', () => thumbnail(page, t.screenshot, log))));
  if (thumb) req.onThumbnail?.(thumb);
  await run.step('readable', () => readableStep(html, meta.finalUrl, { signal: req.signal }));
  done('readable');
  const dom = req.dom ? await renderedDomStep(run, html, { signal: req.signal, warnings, logger: log }) : undefined;
  await run.step('singlefile', () =>
    runSingleFile(s.cdp, { timeoutMs: t.singlefile, maxBytes: limits.maxBytesPerArtifact }),
  );
  done('singlefile');
  await run.step('pdf', () => pdfStep(page, t.pdf, limits.maxBytesPerArtifact, log));
  done('pdf');
  if (s.guard.stats.tooLarge) warnings.add('resource_too_large');

  const ok = Object.entries(run.results)
    .filter(([, r]) => r?.ok)
    .map(([f]) => f);
  log.info(
    {
      timings: run.timings,
      scroll: scrolled,
      totalMs: Math.round(performance.now() - clock.started),
      httpStatus,
      warnings: [...warnings],
      blocked: s.guard.stats.blocked,
      ok,
    },
    'page captured',
  );
  return {
    meta,
    results: run.results,
    timings: run.timings,
    warnings: [...warnings],
    consent,
    ...(dom !== undefined ? { dom } : {}),
    ...(thumb ? { thumbnail: thumb } : {}),
  };
}
