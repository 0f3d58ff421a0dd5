// The PDF step: the print workaround applied, then printToPDF read as a stream under the byte cap.
import type { Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import { PermanentError } from '../../../shared/core/errors.ts';
import { withTimeout } from '../../../shared/core/timeout.ts';
import { PRINT_FIX_SCRIPT } from '../page-scripts.ts';
import { bestEffort } from '../step-runner.ts';

/** Prints the page as an A4 PDF; runs last, since the workaround changes the page and printing can wedge it. */
export async function pdfStep(page: Page, timeoutMs: number, maxBytes: number, log: Logger): Promise<Buffer> {
  await bestEffort(page.evaluate(PRINT_FIX_SCRIPT), 2_000, log, 'print workaround not applied');
  return printPdf(page, timeoutMs, maxBytes);
}

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
