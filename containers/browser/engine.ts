// The browser worker's CaptureEngine: one capturePage call (one navigation) for every claimed browser
// format, each result streamed to storage; readable text and page metadata go onto the article.
import type { CaptureEngine, CaptureRequest, EngineOutcome, EngineResult } from '../../shared/capture-worker.ts';
import { BROWSER_FORMATS, isBrowserFormat, type Format } from '../../shared/formats.ts';
import type { ArticleMeta } from '../../shared/db/repo.ts';
import type { BrowserPool } from './browser-pool.ts';
import { capturePage, type CaptureLimits, type CaptureTimeouts } from './capture.ts';
import type { ReadableDoc } from './readable.ts';

export interface BrowserEngineOptions {
  pool: BrowserPool;
  timeouts?: Partial<CaptureTimeouts>;
  limits?: Partial<CaptureLimits>;
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
    text_content: doc.text.slice(0, 1_000_000),
  };
}

export function createBrowserEngine(opts: BrowserEngineOptions): CaptureEngine {
  return {
    name: 'browser',
    formats: BROWSER_FORMATS,
    async capture(req: CaptureRequest): Promise<EngineResult> {
      const formats = req.formats.filter((f): f is (typeof BROWSER_FORMATS)[number] => isBrowserFormat(f as Format));
      const res = await capturePage(opts.pool, {
        url: req.url.href,
        formats,
        timeouts: opts.timeouts,
        limits: opts.limits,
        signal: req.signal,
        logger: req.logger,
      });
      const meta: ArticleMeta = {
        final_url: res.meta.finalUrl,
        http_status: res.meta.httpStatus,
        canonical_url: res.meta.canonicalUrl,
        favicon_url: res.meta.faviconUrl,
        title: res.meta.title,
        lang: res.meta.lang,
      };
      const outcomes: EngineResult['outcomes'] = {};
      for (const f of formats) {
        const r = res.results[f];
        if (!r) continue;
        if (!r.ok) {
          outcomes[f] = { ok: false, error: r.error };
          continue;
        }
        try {
          if (f === 'readable') {
            const doc = JSON.parse(r.body.toString('utf8')) as ReadableDoc;
            Object.assign(meta, metaFromReadable(doc), { title: doc.title || res.meta.title, lang: doc.lang ?? res.meta.lang });
          }
          outcomes[f] = { ok: true, stored: await req.store(f, r.body, r.contentType) } satisfies EngineOutcome;
        } catch (err) {
          outcomes[f] = { ok: false, error: err };
        }
      }
      return { meta, outcomes, warnings: (res as { warnings?: string[] }).warnings };
    },
  };
}
