// The browser worker's CaptureEngine: one capturePage call (one navigation) for every claimed browser
// format, each result streamed to storage; readable text and page metadata go onto the article.
import type { CaptureEngine, CaptureRequest, EngineOutcome, EngineResult } from '../../shared/capture/worker.ts';
import {
  BROWSER_FORMATS,
  isBrowserFormat,
  renderedDomKey,
  type BrowserFormat,
  type Format,
} from '../../shared/core/formats.ts';
import type { BlobStore, StoredObject } from '../../shared/core/ports.ts';
import type { ArticleMeta } from '../../shared/db/articles.ts';
import type { BrowserPool } from './browser-pool.ts';
import {
  CAPTURE_ORDER,
  capturePage,
  type FormatResult,
  type CaptureLimits,
  type CaptureResult,
  type CaptureTimeouts,
} from './capture.ts';
import type { ConsentMode } from './consent.ts';
import { MAX_TEXT_CHARS, type ReadableDoc } from './readable.ts';
import { runTextTask } from './text-pool.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import type { GuardOptions } from '../../shared/net/ssrf.ts';
import { probe, teeBounded, mediaType } from './probe.ts';
import { renderUploadedPage } from './render-upload.ts';

export interface BrowserEngineOptions {
  pool: BrowserPool;
  /** Enables the content-type probe (non-HTML URLs stored as `original`); the guard it fetches through. */
  guard?: GuardOptions;
  /** Most bytes of an original kept in memory for text extraction. */
  maxTextExtractBytes?: number;
  timeouts?: Partial<CaptureTimeouts>;
  limits?: Partial<CaptureLimits>;
  /** CONSENT_MODE: cookie banners rejected (optout, the default), accepted (optin) or left alone (off). */
  consent?: ConsentMode;
  /** Store the rendered DOM for monolith's rendered-DOM mode (MONOLITH_MODE=rendered). */
  renderedDom?: { blobs: BlobStore };
  /** BLOCK_TRACKERS: block advertising and analytics requests. */
  blockTrackers?: boolean;
}

/** Article columns derived from the readable document (search indexes text_content). */
export function metaFromReadable(doc: ReadableDoc): ArticleMeta {
  return {
    title: doc.title || null,
    byline: doc.byline,
    lang: doc.lang,
    site_name: doc.siteName,
    excerpt: doc.excerpt,
    word_count: doc.wordCount,
    text_content: doc.text.slice(0, MAX_TEXT_CHARS),
  };
}

export function createBrowserEngine(opts: BrowserEngineOptions): CaptureEngine {
  return {
    name: 'browser',
    formats: BROWSER_FORMATS,
    async capture(req: CaptureRequest): Promise<EngineResult> {
      const formats = req.formats.filter((f): f is (typeof BROWSER_FORMATS)[number] => isBrowserFormat(f as Format));
      if (req.upload) {
        const res = await renderUploadedPage(opts.pool, {
          html: await req.upload.html(),
          url: req.url.href,
          formats,
          timeouts: opts.timeouts,
          limits: opts.limits,
          signal: req.signal,
          logger: req.logger,
        });
        return storeResults(req, formats, res, { title: res.meta.title, lang: res.meta.lang });
      }
      const early = storeEarly(req, formats);
      // The content-type probe runs while the browser opens the page; the page navigates only if it says HTML.
      const probed = opts.guard
        ? probe(req.url.href, { guard: opts.guard, signal: req.signal, logger: req.logger })
        : Promise.resolve({ kind: 'html' } as const);
      const beforeNavigate = probed.then((p) => {
        if (p.kind === 'original') throw new NotHtml();
      });
      beforeNavigate.catch(() => undefined); // observed by capturePage, unless it failed before the page opened
      let res: CaptureResult;
      try {
        res = await capturePage(opts.pool, {
          onResult: early.onResult,
          onMeta: early.onMeta,
          onThumbnail: early.onThumbnail,
          url: req.url.href,
          formats,
          timeouts: opts.timeouts,
          limits: opts.limits,
          consent: opts.consent,
          blockTrackers: opts.blockTrackers,
          dom: !!opts.renderedDom,
          cookies: req.cookies,
          beforeNavigate,
          signal: req.signal,
          logger: req.logger,
        });
      } catch (err) {
        // A non-HTML URL needs no browser: it is stored even when the page could not be opened at all.
        const p = await probed;
        if (p.kind === 'original') return storeOriginal(req, formats, p, opts.maxTextExtractBytes ?? 50 * 1024 * 1024);
        await early.settled(); // nothing stored early is left unrecorded behind the error
        throw err;
      }
      if (opts.renderedDom && res.dom !== undefined) {
        try {
          await opts.renderedDom.blobs.put(renderedDomKey(req.articleId), res.dom, {
            contentType: 'text/html; charset=utf-8',
            metadata: { articleId: req.articleId, format: 'rendered-dom' },
            signal: req.signal,
          });
        } catch (err) {
          // Monolith then fetches the URL itself: a missing DOM degrades, it does not fail the capture.
          req.logger.warn({ err }, 'rendered DOM not stored');
        }
      }
      // Metadata written during the capture is neither made nor written again: the final pass has the last format.
      const meta = (await early.metaWritten()) ? undefined : captureMeta(res);
      return storeResults(req, formats, res, meta, early.outcomes, early.thumbnail());
    },
  };
}

/** The article columns the page itself gives (the readable document adds the rest). */
function captureMeta(res: Pick<CaptureResult, 'meta'>): ArticleMeta {
  return {
    final_url: res.meta.finalUrl,
    http_status: res.meta.httpStatus,
    canonical_url: res.meta.canonicalUrl,
    favicon_url: res.meta.faviconUrl,
    title: res.meta.title,
    lang: res.meta.lang,
  };
}

/** The probe found a non-HTML URL: the page stops before navigating and the engine stores the original. */
class NotHtml extends Error {
  constructor() {
    super('the URL is not HTML: stored as the original');
  }
}

/**
 * Stores each format as soon as its step ends and records it succeeded, while the page goes on with the next
 * step (issue 17). The last format in capture order is stored at once too, but recorded by the final pass, after
 * the article's metadata: an article never looks complete before its title is there. The metadata (the page's,
 * with the readable document's once that step has ended) and the thumbnail are written during the capture as
 * well, so what is left after the last step is the last format's record (and the warnings, when there are any).
 */
function storeEarly(req: CaptureRequest, formats: readonly BrowserFormat[]) {
  const outcomes = new Map<BrowserFormat, Promise<EngineOutcome>>();
  /** Formats whose success is on their artifact row already (the thumbnail is recorded only beside those). */
  const recordedFormats = new Set<BrowserFormat>();
  const last = CAPTURE_ORDER.filter((f) => formats.includes(f)).at(-1);
  let pageMeta: CaptureResult['meta'] | undefined;
  let readable: FormatResult | undefined;
  let metaWrite: Promise<boolean> = Promise.resolve(false);
  let thumbnail: Promise<EarlyThumbnail> | undefined;
  const writeMeta = () => {
    const recordMeta = req.recordMeta;
    if (!req.record || !recordMeta || !pageMeta || (formats.includes('readable') && !readable)) return;
    const meta = captureMeta({ meta: pageMeta });
    try {
      if (readable?.ok) Object.assign(meta, readableMeta(readable.body, { meta: pageMeta }));
    } catch {
      return; // the final pass meets the same document and records what it makes of it
    }
    // Called from inside the capture: whatever recordMeta does, it cannot fail the capture.
    metaWrite = Promise.resolve(meta)
      .then(recordMeta)
      .then(
        () => true,
        (err: unknown) => {
          req.logger.warn({ err }, 'early metadata write failed; the final pass writes it');
          return false;
        },
      );
  };
  const onResult = (f: BrowserFormat, r: FormatResult) => {
    if (!req.record) return;
    if (f === 'readable') {
      readable = r;
      writeMeta();
    }
    if (!r.ok) return;
    const record = f === last ? undefined : req.record;
    outcomes.set(
      f,
      (async (): Promise<EngineOutcome> => {
        let stored;
        try {
          stored = await req.store(f, r.body, r.contentType);
        } catch (error) {
          return { ok: false, error };
        }
        const o = { ok: true as const, stored };
        // A failed write is retried by the final pass, which records every format not recorded here.
        if (record)
          await record(f, o).then(
            () => recordedFormats.add(f),
            (err: unknown) => req.logger.warn({ err, artifact: f }, 'early record failed'),
          );
        return o;
      })(),
    );
  };
  const onMeta = (meta: CaptureResult['meta']) => {
    pageMeta = meta;
    writeMeta();
  };
  const onThumbnail = (body: Buffer) => {
    const screenshot = outcomes.get('screenshot');
    const recordExtra = req.recordExtra;
    if (!recordExtra || !screenshot) return;
    thumbnail = (async (): Promise<EarlyThumbnail> => {
      if (!(await screenshot).ok) return { done: true };
      const stored = await storeThumbnailBody(req, body);
      if (!stored) return { done: true };
      // Beside a recorded screenshot only: a screenshot left to the final pass (the last format, or its early record
      // failed) may yet fail, and a thumbnail recorded without it would make a failed capture look partial.
      if (!recordedFormats.has('screenshot')) return { done: false, stored };
      try {
        await recordExtra('thumbnail', stored);
        return { done: true };
      } catch (err) {
        req.logger.warn({ err }, 'early thumbnail record failed; the final pass records it');
        return { done: false, stored };
      }
    })();
  };
  return {
    onResult,
    onMeta,
    onThumbnail,
    outcomes,
    thumbnail: () => thumbnail,
    metaWritten: () => metaWrite,
    settled: () => Promise.allSettled([...outcomes.values(), metaWrite, thumbnail]),
  };
}

/**
 * A thumbnail handled during the capture: done (recorded, or left out after a logged failure or a failed
 * screenshot), or stored with its record left to the final pass.
 */
interface EarlyThumbnail {
  done: boolean;
  stored?: StoredObject;
}

/** The article columns the readable document gives, the page's own title and language as fallbacks. */
function readableMeta(body: Buffer, res: Pick<CaptureResult, 'meta'>): ArticleMeta {
  const doc = JSON.parse(body.toString('utf8')) as ReadableDoc;
  return { ...metaFromReadable(doc), title: doc.title || res.meta.title, lang: doc.lang ?? res.meta.lang };
}

/** Stores a thumbnail; a failure is logged and answers undefined (it never fails a format). */
async function storeThumbnailBody(req: CaptureRequest, body: Buffer): Promise<StoredObject | undefined> {
  try {
    return await req.store('thumbnail', body, 'image/webp');
  } catch (err) {
    req.logger.warn({ err }, 'thumbnail not stored');
    return undefined;
  }
}

/**
 * The thumbnail is recorded beside a stored screenshot only (the final pass records it before the formats it has
 * left, a failed screenshot among them never: storeThumbnail), so it never changes the article's derived status.
 */
async function storeThumbnail(
  req: CaptureRequest,
  body: Buffer | undefined,
  outcomes: EngineResult['outcomes'],
  early: Promise<EarlyThumbnail> | undefined,
): Promise<Pick<EngineResult, 'extra'>> {
  const handled = await early;
  if (handled?.done) return {};
  if (handled?.stored) return { extra: { thumbnail: { stored: handled.stored } } };
  if (!body || !outcomes.screenshot?.ok) return {};
  const stored = await storeThumbnailBody(req, body);
  return stored ? { extra: { thumbnail: { stored } } } : {};
}

/**
 * Streams each format's result to storage; the readable document fills the article's columns (`meta`, when they
 * are still to be written: undefined when the engine wrote them during the capture).
 */
async function storeResults(
  req: CaptureRequest,
  formats: Array<(typeof BROWSER_FORMATS)[number]>,
  res: CaptureResult,
  meta: ArticleMeta | undefined,
  early: ReadonlyMap<BrowserFormat, Promise<EngineOutcome>> = new Map(),
  earlyThumbnail?: Promise<EarlyThumbnail>,
): Promise<EngineResult> {
  const outcomes: EngineResult['outcomes'] = {};
  for (const f of formats) {
    const r = res.results[f];
    if (!r) continue;
    if (!r.ok) {
      outcomes[f] = { ok: false, error: r.error };
      continue;
    }
    try {
      const stored = early.get(f);
      outcomes[f] = stored
        ? await stored
        : ({ ok: true, stored: await req.store(f, r.body, r.contentType) } satisfies EngineOutcome);
      if (f === 'readable' && meta) Object.assign(meta, readableMeta(r.body, res));
    } catch (err) {
      outcomes[f] = { ok: false, error: err };
    }
  }
  const extra = await storeThumbnail(req, res.thumbnail, outcomes, earlyThumbnail);
  return { ...(meta ? { meta } : {}), outcomes, warnings: res.warnings, ...extra };
}

/** A non-HTML URL: the bytes as served become `original`; readable gets the text when there is some. */
async function storeOriginal(
  req: CaptureRequest,
  formats: Array<(typeof BROWSER_FORMATS)[number]>,
  p: Extract<Awaited<ReturnType<typeof probe>>, { kind: 'original' }>,
  maxTextBytes: number,
): Promise<EngineResult> {
  const type = mediaType(p.contentType);
  const tee = teeBounded(p.body, maxTextBytes);
  const stored = await req.store('original', tee.stream, storedContentType(p.contentType));
  req.logger.info({ contentType: type, sizeBytes: stored.size }, 'non-HTML URL stored as original');
  let text: string | null = null;
  let title: string | null = null;
  const bytes = tee.collected();
  if (bytes && type === 'application/pdf') {
    try {
      // unpdf runs in a worker thread: a hostile PDF costs that thread (and its timeout), not the event loop.
      ({ text, title } = await runTextTask({ kind: 'pdf', bytes }, { signal: req.signal }));
    } catch (err) {
      if (req.signal.aborted) throw err;
      req.logger.warn({ err }, 'PDF text extraction failed');
    }
  } else if (bytes && /^text\/|^application\/json$/.test(type)) {
    text = bytes.toString('utf8');
  }
  const truncated = text !== null && text.length > MAX_TEXT_CHARS;
  if (text !== null) text = text.slice(0, MAX_TEXT_CHARS);
  const wordCount = text ? await runTextTask({ kind: 'words', text }, { signal: req.signal }) : 0;
  const name = fileName(p.finalUrl);
  const outcomes: EngineResult['outcomes'] = {};
  const notHtml = (what: string) => ({
    ok: false as const,
    skip: true,
    error: new PermanentError('not_html', `the URL is ${type}, stored as the original; no ${what} was made`),
  });
  for (const f of formats) {
    if (f === 'readable' && text) {
      const doc: ReadableDoc = {
        title: title ?? name ?? '',
        byline: null,
        lang: null,
        siteName: null,
        excerpt: text.slice(0, 200).replace(/\s+/g, ' '),
        text,
        html: '',
        wordCount,
        fallback: true,
        ...(truncated ? { truncated: true } : {}),
      };
      outcomes[f] = { ok: true, stored: await req.store('readable', JSON.stringify(doc), 'application/json') };
    } else outcomes[f] = notHtml(f === 'readable' ? 'readable text (none could be extracted)' : f);
  }
  return {
    meta: {
      final_url: p.finalUrl,
      http_status: p.status,
      title: title ?? name,
      ...(text
        ? {
            text_content: text,
            word_count: wordCount,
            excerpt: text.slice(0, 300).replace(/\s+/g, ' '),
          }
        : {}),
    },
    warnings: ['non_html'],
    outcomes,
    extra: { original: { stored } },
  };
}

/**
 * The last path segment, percent-decoded for a title. A malformed escape (`%E0%A4%A`) is not an error worth a
 * retry (the URL will not change): the segment is kept as it was written.
 */
export function fileName(url: string): string | null {
  const raw = new URL(url).pathname.split('/').pop() || '';
  try {
    return decodeURIComponent(raw) || null;
  } catch {
    return raw || null;
  }
}

/**
 * The Content-Type recorded for an original: the parsed media type (with its charset), never the raw header,
 * which a server can double (`image/png,text/html`) so that a client would sniff it as something else.
 */
export function storedContentType(header: string): string {
  const type = mediaType(header) || 'application/octet-stream';
  const charset = /;\s*charset="?([\w.:-]+)"?/i.exec(header.split(',')[0]!)?.[1];
  return charset ? `${type}; charset=${charset.toLowerCase()}` : type;
}
