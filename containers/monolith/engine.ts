// The monolith worker's CaptureEngine: runs the monolith binary through the egress proxy and streams its
// stdout to storage. Without a binary the artifact is skipped (`monolith_unavailable`), never retried.
import type { CaptureEngine, CaptureRequest, EngineResult } from '../../shared/capture/worker.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import type { BlobStore, StoredObject } from '../../shared/core/ports.ts';
import { renderedDomKey } from '../../shared/core/formats.ts';
import { runMonolith } from './monolith.ts';
import { withCookieFile } from './cookie-file.ts';

export interface MonolithEngineOptions {
  /** Absolute path of the binary, or null when none is installed. */
  binary: string | null;
  version: string | null;
  proxyUrl: string;
  timeoutMs: number;
  maxBytes: number;
  /** `rendered`: feed the DOM the browser stored (JS-built pages survive); `url`: monolith fetches itself. */
  mode: 'url' | 'rendered';
  blobs: BlobStore;
  /** Rendered mode: whether the article's browser capture is still under way (then the DOM is worth waiting for). */
  browserPending?: (articleId: string) => Promise<boolean>;
  /** Longest wait for the browser's DOM before monolith fetches the URL itself. */
  domWaitMs?: number;
  userAgent?: string;
}

async function readAll(stream: NodeJS.ReadableStream, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as string);
    n += b.length;
    if (n > max) return null;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export function createMonolithEngine(opts: MonolithEngineOptions): CaptureEngine {
  return {
    name: 'monolith',
    formats: ['monolith'],
    async capture(req: CaptureRequest): Promise<EngineResult> {
      if (!opts.binary) {
        return {
          outcomes: {
            monolith: {
              ok: false,
              skip: true,
              error: new PermanentError(
                'monolith_unavailable',
                'the monolith binary is not installed on this worker (set MONOLITH_PATH)',
              ),
            },
          },
        };
      }
      let stdinHtml: Buffer | undefined;
      if (opts.mode === 'rendered') {
        const key = renderedDomKey(req.articleId);
        // The browser and monolith jobs run concurrently: wait (bounded) while the browser is still at it.
        const deadline = Date.now() + (opts.domWaitMs ?? 30_000);
        while (
          !(await opts.blobs.stat(key)) &&
          Date.now() < deadline &&
          !req.signal.aborted &&
          (await opts.browserPending?.(req.articleId))
        ) {
          await new Promise((r) => setTimeout(r, 500));
        }
        if (await opts.blobs.stat(key))
          stdinHtml = (await readAll(await opts.blobs.get(key), opts.maxBytes)) ?? undefined;
        req.logger.info({ rendered: !!stdinHtml }, 'monolith input');
      }
      const binary = opts.binary;
      try {
        const r = await withCookieFile(req.cookies, (cookieFile) =>
          runMonolith(
            {
              cookieFile,
              binary,
              url: req.url.href,
              stdinHtml,
              proxyUrl: opts.proxyUrl,
              timeoutMs: opts.timeoutMs,
              maxBytes: opts.maxBytes,
              signal: req.signal,
              logger: req.logger,
              userAgent: opts.userAgent,
            },
            (stdout): Promise<StoredObject> => req.store('monolith', stdout, 'text/html; charset=utf-8'),
          ),
        );
        return { outcomes: { monolith: { ok: true, stored: r.value, engineVersion: opts.version } } };
      } catch (err) {
        return { outcomes: { monolith: { ok: false, error: err } } };
      }
    },
  };
}
