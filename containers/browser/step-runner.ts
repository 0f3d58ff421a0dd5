// Runs the capture's steps: each timed, each format's step isolated (its failure fails only its format), the
// size limit applied to what it made, and the stuck-page check that fails the rest at once after a timeout.
import type { Browser, Page } from 'puppeteer-core';
import type { Logger } from '../../shared/core/logger.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import { FORMAT_FILES, type BrowserFormat } from '../../shared/core/formats.ts';
import { TimeoutError, withTimeout } from '../../shared/core/timeout.ts';
import type { CaptureLimits, FormatResult, Stage } from './capture-types.ts';
import { classifyStepError } from './classify-error.ts';

export interface StepRunnerOptions {
  page: Page;
  browser: Browser;
  state: { crashed: boolean };
  formats: ReadonlySet<BrowserFormat>;
  limits: CaptureLimits;
  signal?: AbortSignal;
  logger: Logger;
}

export interface StepRunner {
  /** Milliseconds per stage that ran. */
  readonly timings: Partial<Record<Stage, number>>;
  /** One entry per requested format that was attempted. */
  readonly results: Partial<Record<BrowserFormat, FormatResult>>;
  /** Runs `fn` and records how long it took under `stage`, whatever its outcome. */
  timed<T>(stage: Stage, fn: () => Promise<T>): Promise<T>;
  /** Runs one format's step (skipped when the format was not asked for); never throws. */
  step(format: BrowserFormat, fn: () => Promise<Buffer>): Promise<void>;
  /** The step after which the page stopped answering, if one did: later page work is pointless. */
  wedged(): string | null;
}

export function createStepRunner(o: StepRunnerOptions): StepRunner {
  const timings: Partial<Record<Stage, number>> = {};
  const results: Partial<Record<BrowserFormat, FormatResult>> = {};
  let wedged: string | null = null; // a step timed out and the page no longer answers

  const timed = async <T>(stage: Stage, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      timings[stage] = Math.round(performance.now() - start);
    }
  };

  const step = async (format: BrowserFormat, fn: () => Promise<Buffer>): Promise<void> => {
    if (!o.formats.has(format)) return;
    if (o.signal?.aborted) {
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
      const body = await timed(format, fn);
      const max = o.limits.maxBytesPerArtifact;
      if (body.length > max) {
        throw new PermanentError('too_large', `${format} is ${body.length} bytes, over the ${max} byte limit`);
      }
      results[format] = { ok: true, body, contentType: FORMAT_FILES[format].contentType };
    } catch (err) {
      const error = classifyStepError(err, format, o.browser, o.state);
      o.logger.warn({ artifact: format, err: error, code: (error as PermanentError).code }, 'capture step failed');
      results[format] = { ok: false, error };
      // After a timeout, probe the page once: if its main thread is stuck, the remaining steps fail
      // at once instead of each waiting out its own timeout.
      if ((error as PermanentError).code === 'timeout' && !(await responsive(o.page))) wedged = format;
    }
  };

  return { timings, results, timed, step, wedged: () => wedged };
}

/** Whether the page's main thread still answers a trivial evaluation within 2 s. */
async function responsive(page: Page): Promise<boolean> {
  return withTimeout(page.evaluate('1'), 2_000).then(
    () => true,
    () => false,
  );
}

/** Runs `p` for at most `ms`; a failure or timeout is logged and ignored (the capture goes on). */
export async function bestEffort(p: Promise<unknown>, ms: number, log: Logger, message: string): Promise<void> {
  try {
    await withTimeout(p, ms);
  } catch (err) {
    log.info({ err: err instanceof TimeoutError ? undefined : err }, message);
  }
}
