// The monolith worker's CaptureEngine: runs the monolith binary through the egress proxy and streams its
// stdout to storage. Without a binary the artifact is skipped (`monolith_unavailable`), never retried.
import type { CaptureEngine, CaptureRequest, EngineResult } from '../../shared/capture-worker.ts';
import { PermanentError } from '../../shared/errors.ts';
import type { BlobStore } from '../../shared/ports.ts';
import { runMonolith } from './monolith.ts';

/** Where the browser worker leaves the rendered DOM for rendered-DOM mode (not a user-facing artifact). */
export const renderedDomKey = (articleId: string) => `articles/${articleId}/rendered-dom.html`;

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
            monolith: { ok: false, skip: true, error: new PermanentError('monolith_unavailable', 'the monolith binary is not installed on this worker (set MONOLITH_PATH)') },
          },
        };
      }
      let stdinHtml: Buffer | undefined;
      if (opts.mode === 'rendered') {
        const key = renderedDomKey(req.articleId);
        if (await opts.blobs.stat(key)) stdinHtml = (await readAll(await opts.blobs.get(key), opts.maxBytes)) ?? undefined;
        req.logger.info({ rendered: !!stdinHtml }, 'monolith input');
      }
      try {
        const r = await runMonolith(
          {
            binary: opts.binary,
            url: req.url.href,
            stdinHtml,
            proxyUrl: opts.proxyUrl,
            timeoutMs: opts.timeoutMs,
            maxBytes: opts.maxBytes,
            signal: req.signal,
            logger: req.logger,
            userAgent: opts.userAgent,
          },
          (stdout) => req.store('monolith', stdout, 'text/html; charset=utf-8'),
        );
        return { outcomes: { monolith: { ok: true, stored: r.value, engineVersion: opts.version } } };
      } catch (err) {
        return { outcomes: { monolith: { ok: false, error: err } } };
      }
    },
  };
}
