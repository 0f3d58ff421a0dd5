// The page-load steps: navigate to the URL (classifying how it failed, and the egress proxy's refusals),
// then let the page settle (load event, network idle) within a bounded wait.
import type { Browser, HTTPResponse, Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import { PermanentError, isErrorCode } from '../../../shared/core/errors.ts';
import type { CaptureTimeouts } from '../capture-types.ts';
import { classifyNavigationError } from '../classify-error.ts';
import { bestEffort } from '../step-runner.ts';

/**
 * Loads `url` until DOMContentLoaded. Fails for good (PermanentError) when the page cannot be loaded or the
 * egress proxy refused it; transiently when the browser or renderer died on the way.
 */
export async function navigate(
  page: Page,
  url: string,
  timeoutMs: number,
  ctx: { browser: Browser; state: { crashed: boolean }; proxied: boolean },
): Promise<HTTPResponse> {
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

/**
 * Waits for `load`; never fails: a page that does not load in time is captured as it is. Network idle is not
 * awaited here but once, after the scroll (steps/scroll.ts), which covers both.
 */
export async function settle(page: Page, t: CaptureTimeouts, log: Logger): Promise<void> {
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
}
