// The cheap content-type probe before the browser: a non-HTML URL (PDF, image, plain text) is stored as
// served (`original`), with its text extracted (PDF, text) for search and summary, and Chromium is skipped.
import { PassThrough, type Readable } from 'node:stream';
import { guardedGet } from '../../shared/net/guarded-fetch.ts';
import type { GuardOptions } from '../../shared/net/ssrf.ts';
import type { Logger } from '../../shared/core/logger.ts';

export type ProbeResult =
  | { kind: 'html' }
  | {
      kind: 'original';
      finalUrl: string;
      status: number;
      contentType: string;
      body: Readable;
      discard(): Promise<void>;
    };

const HTML_TYPES = /^(text\/html|application\/xhtml\+xml|application\/xml|text\/xml|image\/svg\+xml)$/;
/** Types we store as originals; anything else (video, archives, octet-stream) is left to the browser, which reports it. */
const ORIGINAL_TYPES =
  /^(application\/pdf|image\/[a-z0-9.+-]+|text\/plain|text\/markdown|text\/csv|application\/json)$/;

/** The media type of a Content-Type header; a doubled header (`image/png,text/html`) counts by its first value. */
export function mediaType(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return (v ?? '').split(',')[0]!.split(';')[0]!.trim().toLowerCase();
}

/** Decides from the response headers whether the browser should handle the URL. Pure. */
export function classify(contentType: string, status: number): 'html' | 'original' {
  if (status >= 400) return 'html'; // error pages are the browser's business (it records the status)
  if (!contentType || HTML_TYPES.test(contentType)) return 'html';
  return ORIGINAL_TYPES.test(contentType) ? 'original' : 'html';
}

export async function probe(
  url: string,
  opts: { guard: GuardOptions; signal?: AbortSignal; logger: Logger; userAgent?: string },
): Promise<ProbeResult> {
  let res;
  try {
    res = await guardedGet(url, {
      guard: opts.guard,
      signal: opts.signal,
      headersTimeoutMs: 10_000,
      headers: {
        accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
        'user-agent':
          opts.userAgent ??
          'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HTBase/0.1 Safari/537.36',
      },
    });
  } catch (err) {
    // The browser will meet the same problem and report it with its own, better error.
    opts.logger.debug({ err }, 'content-type probe failed; leaving it to the browser');
    return { kind: 'html' };
  }
  const type = mediaType(res.headers['content-type']);
  if (classify(type, res.status) === 'html') {
    await res.discard();
    return { kind: 'html' };
  }
  return {
    kind: 'original',
    finalUrl: res.finalUrl,
    status: res.status,
    contentType: String(res.headers['content-type'] ?? type),
    body: res.body,
    discard: res.discard,
  };
}

/** Tees a stream: the original goes to storage while up to `max` bytes are kept for text extraction. */
export function teeBounded(src: Readable, max: number): { stream: Readable; collected: () => Buffer | null } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  src.on('data', (c: Buffer) => {
    if (!overflow) {
      size += c.length;
      if (size > max) {
        overflow = true;
        chunks.length = 0;
      } else chunks.push(c);
    }
  });
  src.on('error', (e) => out.destroy(e));
  src.pipe(out);
  return { stream: out, collected: () => (overflow ? null : Buffer.concat(chunks)) };
}

export async function pdfText(bytes: Buffer): Promise<{ text: string; title: string | null }> {
  const { extractText, getDocumentProxy, getMeta } = await import('unpdf');
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  const { text } = await extractText(pdf, { mergePages: true });
  let title: string | null = null;
  try {
    const meta = await getMeta(pdf);
    const t = (meta.info as { Title?: unknown } | undefined)?.Title;
    title = typeof t === 'string' && t.trim() ? t.trim() : null;
  } catch {
    title = null; // metadata is optional; the text is what matters
  }
  return { text: (text as string).replace(/[ \t]+\n/g, '\n').trim(), title };
}
