// The metadata and detection steps: what the page says about itself (title, canonical URL, language,
// favicon, status) and the checks that turn a captured-but-suspicious page into warnings.
import type { HTTPResponse, Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import { withTimeout } from '../../../shared/core/timeout.ts';
import type { CaptureMeta, CaptureWarning } from '../capture-types.ts';
import { DETECT_SCRIPT, warningsFrom, type Detection } from '../detect.ts';
import { META_SCRIPT } from '../page-scripts.ts';

/** Reads the page's metadata; never fails: what cannot be read is null (the favicon defaults to /favicon.ico). */
export async function readMeta(
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

/** Runs the page checks (bot challenge, blank page) and returns their warnings; none when unreadable. */
export async function detectWarnings(page: Page, meta: CaptureMeta, log: Logger): Promise<CaptureWarning[]> {
  const detection = await withTimeout(page.evaluate(DETECT_SCRIPT) as Promise<Detection>, 5_000).catch(
    (err: unknown) => {
      log.info({ err }, 'page checks not readable');
      return null;
    },
  );
  if (!detection) return [];
  if (detection.challenge) log.warn({ signal: detection.challenge, title: meta.title }, 'bot challenge page');
  return warningsFrom(detection);
}
