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
 * Enables Fetch interception on `cdp` (a session of the page) when there is anything to enforce. A response
 * with a Content-Length over the limit is refused without reading it; one without (chunked, or compressed
 * on the fly: a gzip bomb) is read through cutUndeclared. The main document is exempt from the resource
 * limit: it is the page, bounded by the artifact limits.
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
  // The main frame keeps its id across navigations: its documents are never blocked (the page itself). Nothing is
  // paused before the navigation, which waits for this install, so the id is known before the first event.
  let mainFrameId = '';
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
      if (!Number.isFinite(length) && hasBody(e)) {
        void cutUndeclared(cdp, e, opts.maxResourceBytes, stats, log);
        return;
      }
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
  const [{ frameTree }] = await Promise.all([cdp.send('Page.getFrameTree'), cdp.send('Fetch.enable', { patterns })]);
  mainFrameId = frameTree.frame.id;
  return {
    stats,
    dispose: () => {
      cdp.off('Fetch.requestPaused', onPaused);
    },
  };
}

/** Statuses that carry no body (redirects are followed by Chromium, 1xx/204/304 have none). */
function hasBody(e: Protocol.Fetch.RequestPausedEvent): boolean {
  const status = e.responseStatusCode ?? 0;
  return e.responseErrorReason === undefined && status >= 200 && status !== 204 && status !== 304 && status < 300;
}

/** Headers that no longer describe a body Chromium handed over decoded and that we fulfil in one piece. */
const DROPPED_ON_FULFIL = new Set(['content-encoding', 'content-length', 'transfer-encoding']);

/**
 * A response that did not declare its length: its (decoded) body is streamed out of Chromium and counted;
 * past `max` bytes the request fails (BlockedByResponse) and the rest is never read, else the response is
 * fulfilled with the bytes read. At most `max` bytes of one resource are held at a time.
 */
async function cutUndeclared(
  cdp: CDPSession,
  e: Protocol.Fetch.RequestPausedEvent,
  max: number,
  stats: NetworkGuardStats,
  log: Logger,
): Promise<void> {
  let stream: string | undefined;
  try {
    ({ stream } = await cdp.send('Fetch.takeResponseBodyAsStream', { requestId: e.requestId }));
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const r = await cdp.send('IO.read', { handle: stream, size: 1024 * 1024 });
      const chunk = Buffer.from(r.data, r.base64Encoded ? 'base64' : 'utf8');
      size += chunk.length;
      if (size > max) {
        stats.tooLarge++;
        log.info({ resource: e.request.url.slice(0, 200), limit: max }, 'undeclared resource over the size limit cut');
        await cdp.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'BlockedByResponse' });
        return;
      }
      chunks.push(chunk);
      if (r.eof) break;
    }
    await cdp.send('Fetch.fulfillRequest', {
      requestId: e.requestId,
      responseCode: e.responseStatusCode!,
      responsePhrase: e.responseStatusText || undefined,
      responseHeaders: (e.responseHeaders ?? []).filter((h) => !DROPPED_ON_FULFIL.has(h.name.toLowerCase())),
      body: Buffer.concat(chunks).toString('base64'),
    });
  } catch (err) {
    // The page or the request went away meanwhile; failing it is all that is left to do.
    log.debug({ err }, 'undeclared response not relayed');
    await cdp
      .send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'Failed' })
      .catch((e2: unknown) => log.debug({ err: e2 }, 'paused request already gone'));
  } finally {
    if (stream) await cdp.send('IO.close', { handle: stream }).catch(() => undefined);
  }
}
