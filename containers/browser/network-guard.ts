// Request-level rules for a capture, on the CDP Fetch domain: optional ad and tracker blocking (Ghostery's
// tracker database from npm, offline) and the per-resource byte limit (responses declaring more are aborted).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CDPSession } from 'puppeteer-core';
import type { Protocol } from 'devtools-protocol';
import loadTrackerDB from '@ghostery/trackerdb';
import type { Logger } from '../../shared/core/logger.ts';

/**
 * TrackerDB categories that are blocked: advertising and analytics only. Consent managers, CDNs ("hosting"),
 * tag managers and players ("utilities", "audio_video_player"), social embeds and chat widgets stay: pages
 * need them to look as they do.
 */
export const BLOCKED_CATEGORIES: ReadonlySet<string> = new Set(['advertising', 'site_analytics', 'pornvertising']);

type TrackerDB = Awaited<ReturnType<typeof loadTrackerDB>>;
let trackerDb: Promise<TrackerDB> | null = null;
const require = createRequire(import.meta.url);

/** The prebuilt engine @ghostery/trackerdb ships (about 1.7 MB), deserialized once per process. */
export function trackerDatabase(): Promise<TrackerDB> {
  trackerDb ??= (async () => {
    const pkg = dirname(dirname(dirname(require.resolve('@ghostery/trackerdb'))));
    return loadTrackerDB(readFileSync(join(pkg, 'dist/trackerdb.engine')));
  })();
  return trackerDb;
}

/** The TrackerDB pattern (e.g. "google_analytics") blocking `url` when loaded by a page at `sourceUrl`, or null. */
export function trackerMatch(db: TrackerDB, url: string, type: string, sourceUrl: string): string | null {
  if (!/^https?:/.test(url)) return null;
  try {
    const matches = db.matchUrl({ url, type: type as never, sourceUrl }, { getDomainMetadata: false });
    const hit = matches.find((m) => m.category && BLOCKED_CATEGORIES.has(m.category.key));
    return hit ? hit.pattern.key : null;
  } catch {
    return null;
  }
}

// CDP resource types -> the adblocker's request types.
const TYPES: Record<string, string> = {
  Document: 'sub_frame',
  Stylesheet: 'stylesheet',
  Image: 'image',
  Media: 'media',
  Font: 'font',
  Script: 'script',
  TextTrack: 'other',
  XHR: 'xhr',
  Fetch: 'fetch',
  Prefetch: 'other',
  EventSource: 'xhr',
  WebSocket: 'websocket',
  Manifest: 'other',
  SignedExchange: 'other',
  Ping: 'ping',
  CSPViolationReport: 'csp_report',
  Preflight: 'other',
  Other: 'other',
};

export interface NetworkGuardOptions {
  /** Block ad and tracker requests (TrackerDB). */
  blockTrackers: boolean;
  /** A response declaring a larger Content-Length is aborted before its body is read; 0 turns the check off. */
  maxResourceBytes: number;
  /** The top document's URL (third-party rules depend on it). */
  pageUrl: () => string;
  logger: Logger;
}

export interface NetworkGuardStats {
  blocked: number;
  tooLarge: number;
}

/**
 * Enables Fetch interception on `cdp` (a session of the page) when there is anything to enforce. Only
 * responses with a Content-Length can be refused without reading them; a chunked response streams through
 * (Chromium holds it, the worker never does: page bytes reach Node only inside the size-checked artifacts).
 * The main document is exempt from the resource limit: it is the page, bounded by the artifact limits.
 */
export async function installNetworkGuard(
  cdp: CDPSession,
  opts: NetworkGuardOptions,
): Promise<{ stats: NetworkGuardStats; dispose(): void }> {
  const stats: NetworkGuardStats = { blocked: 0, tooLarge: 0 };
  const db = opts.blockTrackers ? await trackerDatabase() : null;
  const patterns: Protocol.Fetch.RequestPattern[] = [];
  if (db) patterns.push({ urlPattern: '*', requestStage: 'Request' });
  if (opts.maxResourceBytes > 0) patterns.push({ urlPattern: '*', requestStage: 'Response' });
  if (!patterns.length) return { stats, dispose: () => {} };
  const log = opts.logger;
  // The main frame keeps its id across navigations: its documents are never blocked (the page itself).
  const { frameTree } = await cdp.send('Page.getFrameTree');
  const mainFrameId = frameTree.frame.id;
  const send = (
    method: 'Fetch.continueRequest' | 'Fetch.failRequest',
    params: Protocol.Fetch.ContinueRequestRequest | Protocol.Fetch.FailRequestRequest,
  ) =>
    (
      cdp.send(method as 'Fetch.continueRequest', params as Protocol.Fetch.ContinueRequestRequest) as Promise<unknown>
    ).catch((err: unknown) => log.debug({ err }, 'paused request already gone'));
  const onPaused = (e: Protocol.Fetch.RequestPausedEvent) => {
    const isResponse = e.responseStatusCode !== undefined || e.responseErrorReason !== undefined;
    if (!isResponse) {
      const mainDocument = e.resourceType === 'Document' && e.frameId === mainFrameId;
      const hit =
        db && !mainDocument ? trackerMatch(db, e.request.url, TYPES[e.resourceType] ?? 'other', opts.pageUrl()) : null;
      if (hit) {
        stats.blocked++;
        log.debug({ pattern: hit, resource: e.request.url.slice(0, 200) }, 'tracker blocked');
        void send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'BlockedByClient' });
      } else void send('Fetch.continueRequest', { requestId: e.requestId });
      return;
    }
    if (e.resourceType !== 'Document' && opts.maxResourceBytes > 0) {
      const length = Number(e.responseHeaders?.find((h) => h.name.toLowerCase() === 'content-length')?.value ?? NaN);
      if (Number.isFinite(length) && length > opts.maxResourceBytes) {
        stats.tooLarge++;
        log.info(
          { resource: e.request.url.slice(0, 200), bytes: length, limit: opts.maxResourceBytes },
          'resource over the size limit aborted',
        );
        void send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'BlockedByResponse' });
        return;
      }
    }
    // continueRequest at the response stage lets the response through unchanged.
    void send('Fetch.continueRequest', { requestId: e.requestId });
  };
  cdp.on('Fetch.requestPaused', onPaused);
  await cdp.send('Fetch.enable', { patterns });
  return {
    stats,
    dispose: () => {
      cdp.off('Fetch.requestPaused', onPaused);
    },
  };
}
