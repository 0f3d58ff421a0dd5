// Which failures are the page's fault (PermanentError: recorded, not retried) and which are the browser's
// (plain Error: transient, worth a retry with a fresh renderer), for the navigation and for each step.
import type { Browser } from 'puppeteer-core';
import { PermanentError } from '../../shared/core/errors.ts';
import type { BrowserFormat } from '../../shared/core/formats.ts';
import { TimeoutError } from '../../shared/core/timeout.ts';

const TRANSIENT =
  /Target closed|Session closed|Connection closed|Protocol error.*(?:closed|detached)|Navigating frame was detached|browser has disconnected|Execution context was destroyed/i;

/** A failed page.goto: timeout, DNS, proxy refusal, download, or a dying browser (transient). */
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

/** A failed format step: crash or disconnect is transient; timeout and the rest fail the format for good. */
export function classifyStepError(
  err: unknown,
  format: BrowserFormat,
  browser: Browser,
  state: { crashed: boolean },
): Error {
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
