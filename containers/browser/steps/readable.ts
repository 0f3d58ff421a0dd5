// The steps that read the serialized DOM: the readable-text document and the rendered DOM handed to monolith.
// Both share one serialization of the page, checked against the size limit in the page before it moves.
import type { Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import { PermanentError } from '../../../shared/core/errors.ts';
import { withTimeout } from '../../../shared/core/timeout.ts';
import type { CaptureWarning } from '../capture-types.ts';
import { runTextTask } from '../text-pool.ts';
import { HTML_LENGTH_SCRIPT } from '../page-scripts.ts';
import type { StepRunner } from '../step-runner.ts';

/** Returns the page's HTML, serialized at most once (on first call) however many steps ask for it. */
export function pageHtmlOnce(page: Page, timeoutMs: number, maxBytes: number): () => Promise<string> {
  let html: Promise<string> | null = null;
  return () =>
    (html ??= (async () => {
      const chars = (await withTimeout(page.evaluate(HTML_LENGTH_SCRIPT), timeoutMs)) as number;
      if (chars > maxBytes) throw new PermanentError('too_large', `the page's HTML is over the ${maxBytes} byte limit`);
      return withTimeout(page.content(), timeoutMs, `page HTML not available in ${timeoutMs} ms`);
    })());
}

/**
 * The readable document (title, byline, text, html) as JSON, extracted from the page's HTML in a worker
 * thread (Readability on a huge DOM takes seconds), stopped by its timeout or the capture's abort signal.
 */
export async function readableStep(
  html: () => Promise<string>,
  finalUrl: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Buffer> {
  const doc = await runTextTask({ kind: 'readable', html: await html(), url: finalUrl }, opts);
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/**
 * The rendered DOM for monolith's rendered mode. Not a format: a failure only leaves it out (with the
 * dom_too_large warning when that was why), and it is not attempted once the page is stuck or the job aborted.
 */
export async function renderedDomStep(
  runner: StepRunner,
  html: () => Promise<string>,
  o: { signal?: AbortSignal; warnings: Set<CaptureWarning>; logger: Logger },
): Promise<string | undefined> {
  if (runner.wedged() || o.signal?.aborted) return undefined;
  try {
    return await runner.timed('dom', html);
  } catch (err) {
    if ((err as PermanentError).code === 'too_large') o.warnings.add('dom_too_large');
    o.logger.warn({ err }, 'rendered DOM not available');
    return undefined;
  }
}
