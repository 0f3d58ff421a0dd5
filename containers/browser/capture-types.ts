// The browser capture's vocabulary: its options, per-step timeouts and limits with their defaults, the stages,
// the warnings a capture can carry and the result shape. Types and constants only.
import type { Logger } from '../../shared/core/logger.ts';
import type { PermanentError } from '../../shared/core/errors.ts';
import type { BrowserFormat } from '../../shared/core/formats.ts';
import type { ConsentMode, ConsentOutcome } from './consent.ts';
import type { SiteCookie } from '../../shared/cookies/types.ts';

export const VIEWPORT = { width: 1280, height: 800 } as const;

/** Milliseconds per step; each bounds only its own step. */
export interface CaptureTimeouts {
  /** Until the main document's DOMContentLoaded; past it the capture fails with `timeout`. */
  navigation: number;
  /** After DOMContentLoaded: wait for `load` and network idle, then capture anyway (pages that never go idle). */
  settle: number;
  /**
   * Quiet time (no request in flight) that counts as network idle, awaited once after the scroll. 250 ms: a page
   * that fetches more after load does so from a script whose own request just ended, well within that; 500 ms
   * (puppeteer's networkidle0) cost a quarter second on every capture (issue 17) and moved no corpus page.
   */
  networkIdle: number;
  /**
   * The quiet time that counts, on a page without a scroll handler, when every request since the last other one was
   * an image, a font or a media file, their bodies read (steps/scroll.ts networkQuiet, up to BODY_WAIT_MS): they
   * fetch nothing by themselves, and 100 ms covers what the page's scripts do when one arrives.
   */
  mediaIdle: number;
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
  networkIdle: 250,
  mediaIdle: 100,
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

/** The order capture.ts takes the formats in (the screenshot first, the PDF last: see there). */
export const CAPTURE_ORDER = [
  'screenshot',
  'readable',
  'singlefile',
  'pdf',
] as const satisfies readonly BrowserFormat[];

/** What capturePage is asked to do (the worker's job is shared/capture/worker.ts CaptureRequest). */
export interface PageCaptureOptions {
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
  /** The owner's cookies for the site (logged-in capture), set in the job's context before navigating. */
  cookies?: SiteCookie[];
  /**
   * Awaited once the page is open, before it navigates: the engine's content-type probe runs while the context
   * and page are made (issue 17). A rejection ends the capture with that error before any request to the URL.
   */
  beforeNavigate?: Promise<unknown>;
  /** Called as each format's step ends, before the next one starts (the engine stores it meanwhile). */
  onResult?(format: BrowserFormat, result: FormatResult): void;
  /** Called once the page's metadata has been read, before the first format (the engine writes it meanwhile). */
  onMeta?(meta: CaptureMeta): void;
  /** Called once the thumbnail is made, after the screenshot (the engine stores it meanwhile). */
  onThumbnail?(body: Buffer): void;
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
  'open',
  'probe',
  'navigate',
  'settle',
  'consent',
  'scroll',
  'fonts',
  'top',
  'inspect',
  'screenshot',
  'thumbnail',
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
  /** A small WebP of the page's top (steps/thumbnail.ts), made when the screenshot succeeded. */
  thumbnail?: Buffer;
  /** Consent popups found and whether they were dismissed; null when consent handling is off. */
  consent: ConsentOutcome | null;
  /** One entry per requested format. */
  results: Partial<Record<BrowserFormat, FormatResult>>;
  /** Milliseconds per stage that ran. */
  timings: Partial<Record<Stage, number>>;
}
