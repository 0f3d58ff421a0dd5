// The browser worker's settings: the common worker settings (shared/core/config.ts) plus Chromium's own.
// Parsed once by containers/browser/index.ts; the single-process server takes its fields from here too.
import { z } from 'zod';
import { WorkerConfig, bool, int, optStr } from '../../shared/core/config.ts';

export const BrowserWorkerConfig = WorkerConfig.extend({
  NAVIGATION_TIMEOUT_MS: int(30_000, 1000),
  /** Per page resource: the browser aborts responses declaring more, SingleFile leaves larger ones out (0: browser check off). */
  MAX_RESOURCE_BYTES: int(10 * 1024 * 1024),
  /** Cookie and consent banners (autoconsent rules): rejected where possible (optout), accepted (optin), or left alone (off). */
  CONSENT_MODE: z.enum(['optout', 'optin', 'off']).default('optout'),
  /** Block advertising and analytics requests during captures (Ghostery TrackerDB, shipped on npm). */
  BLOCK_TRACKERS: bool(false),
  /** A Chromium/Chrome binary; unset: @sparticuz/chromium's bundled build (containers/browser/chromium.ts). */
  CHROME_PATH: optStr,
  /**
   * Chromium's own sandbox: off (the container is the boundary), on, or auto (on when this non-root process
   * can run it: user namespaces or the setuid helper; off again if it fails to start). The image sets auto.
   */
  CHROMIUM_SANDBOX: z.enum(['off', 'on', 'auto']).default('off'),
});

export type BrowserWorkerConfig = z.infer<typeof BrowserWorkerConfig>;

/** CHROMIUM_SANDBOX as BrowserPool's `sandbox` option. */
export function sandboxOption(v: BrowserWorkerConfig['CHROMIUM_SANDBOX']): boolean | 'auto' {
  return v === 'auto' ? 'auto' : v === 'on';
}
