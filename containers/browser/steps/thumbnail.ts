// The thumbnail step: a small WebP of the top of the page, shot from the page already loaded (no second
// navigation), for the library's list. It runs only after a successful screenshot and never fails a format.
import type { Page } from 'puppeteer-core';
import type { Logger } from '../../../shared/core/logger.ts';
import { withTimeout } from '../../../shared/core/timeout.ts';
import { TOP_READY_SCRIPT } from '../page-scripts.ts';
import type { NetworkActivity } from './scroll.ts';
import { VIEWPORT } from '../capture-types.ts';

/** 320 x 200: twice the library's 160 x 100 box, so it stays sharp on a high-density screen. */
export const THUMBNAIL_SCALE = 0.25;
/** WebP quality: at this size a thumbnail is a few kB. */
const QUALITY = 70;

/**
 * The first screen of the page scaled down by Chromium itself (clip.scale), so no image library is needed and
 * the page is not resized or reloaded. Any failure is logged and answers undefined: the archive keeps its formats.
 */
export async function thumbnail(page: Page, timeoutMs: number, log: Logger): Promise<Buffer | undefined> {
  try {
    const shot = page.screenshot({
      type: 'webp',
      quality: QUALITY,
      clip: { x: 0, y: 0, width: VIEWPORT.width, height: VIEWPORT.height, scale: THUMBNAIL_SCALE },
      // Puppeteer applies clip.scale only on this path (with false it shoots 1280 x 800: 250 kB, not 20 kB).
      captureBeyondViewport: true,
    });
    return Buffer.from(await withTimeout(shot, timeoutMs, `thumbnail took over ${timeoutMs} ms`));
  } catch (err) {
    log.warn({ err }, 'thumbnail not made');
    return undefined;
  }
}

/**
 * The thumbnail shot while the scroll waits at the top (issue 17: off the capture's path). A shot counts only if the
 * page was ready for it (fonts loaded, every image complete) and no request started or ended after it began: what
 * came later is taken again after the screenshot, as before.
 */
export function thumbnailAtTop(page: Page, activity: NetworkActivity, timeoutMs: number, log: Logger) {
  let last: Promise<{ shot: Buffer; at: number } | undefined> = Promise.resolve(undefined);
  return {
    take: (): Promise<unknown> =>
      (last = (async () => {
        const ready = await withTimeout(page.evaluate(TOP_READY_SCRIPT), timeoutMs).catch(() => false);
        if (ready !== true) return undefined;
        const at = Date.now();
        const shot = await thumbnail(page, timeoutMs, log);
        return shot && { shot, at };
      })()),
    valid: async (): Promise<Buffer | undefined> => {
      const x = await last;
      return x && activity.last() < x.at ? x.shot : undefined;
    },
  };
}
