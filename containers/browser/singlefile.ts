// SingleFile inside our own page: registers the prebuilt bundle single-file-cli ships (exactly as the
// CLI's cdp-client.js does) and runs `singlefile.getPageData` with the CLI's default options, so the
// HTML matches `single-file <url>` while the page is loaded only once for every format.
import type { CDPSession } from 'puppeteer-core';
import type { Protocol } from 'devtools-protocol';
import { ProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import {
  FETCH_FUNCTION_NAME,
  RESOLVE_FETCH_FUNCTION_NAME,
  REJECT_FETCH_FUNCTION_NAME,
  getHookScriptSource,
  getScriptSource,
} from 'single-file-cli/lib/single-file-script.js';
import type { Logger } from '../../shared/core/logger.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import { TimeoutError, withTimeout } from '../../shared/core/timeout.ts';

/** The isolated world the CLI runs SingleFile in: page scripts cannot see or tamper with it. */
export const SINGLEFILE_WORLD = 'singlefile';

/**
 * What single-file-cli 2.0.83 hands to getPageData by default (its options.js defaults merged with
 * single-file-cli-api.js DEFAULT_OPTIONS and `retrieveLinks`), minus the browser-launch, crawl and
 * output-file settings that never reach the page. `loadDeferredImages` is the one deliberate change:
 * the capture has already scrolled the page, and SingleFile's own lazy loader would cost 1.5 s idle time
 * and make a following PDF slow (PLATFORM-NOTES).
 */
export const SINGLEFILE_OPTIONS = Object.freeze({
  blockAudios: true,
  blockAlternativeImages: true,
  blockScripts: true,
  blockStylesheets: false,
  blockVideos: true,
  loadDeferredImages: false,
  loadDeferredImagesMaxIdleTime: 1500,
  maxResourceSize: 10,
  compressHTML: true,
  removeHiddenElements: true,
  removeUnusedStyles: true,
  removeUnusedFonts: true,
  removeAlternativeFonts: true,
  removeAlternativeMedias: true,
  removeAlternativeImages: true,
  removeNoScriptTags: true,
  groupDuplicateImages: true,
  maxSizeDuplicateImages: 524288,
  groupDuplicateStylesheets: false,
  selfExtractingArchive: true,
  extractDataFromPage: true,
  filenameTemplate: '%if-empty<{page-title}|No title> ({date-locale} {time-locale}).{filename-extension}',
  filenameReplacementCharacter: '_',
  filenameMaxLength: 192,
  filenameMaxLengthUnit: 'bytes',
  userScriptEnabled: true,
  infobarPositionTop: '16px',
  infobarPositionBottom: '',
  infobarPositionRight: '16px',
  infobarPositionLeft: '',
  insertMetaCSP: true,
  insertSingleFileComment: true,
  resolveLinks: true,
  errorsTracesDisabled: true,
  acceptHeaders: {
    font: 'application/font-woff2;q=1.0,application/font-woff;q=0.9,*/*;q=0.8',
    image: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
    stylesheet: 'text/css,*/*;q=0.1',
    script: '*/*',
    document: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  },
  backgroundSave: true,
  saveFavicon: true,
  retrieveLinks: true,
});

let scripts: Promise<{ hook: string; main: string }> | null = null;
/** The hook (main world) and SingleFile (isolated world) sources; about 0.9 MB, built once per process. */
export function singleFileScripts(): Promise<{ hook: string; main: string }> {
  scripts ??= getScriptSource({}).then((main) => ({ hook: getHookScriptSource(), main }));
  return scripts;
}

export interface SingleFileSetup {
  logger: Logger;
  /** The egress proxy: fallback fetches from Node go through it like the browser's own requests. */
  proxyServer?: string;
  /** Per fallback resource. */
  fetchTimeoutMs?: number;
  maxResourceBytes?: number;
}

/**
 * Must run on a fresh page before navigation: registers the two scripts for every new document and
 * answers the binding SingleFile falls back to when the page's fetch is refused (cross-origin resources
 * without CORS headers; runSingleFile exposes the binding). Returns a disposer for the listener.
 */
export async function installSingleFile(cdp: CDPSession, setup: SingleFileSetup): Promise<() => void> {
  const { hook, main } = await singleFileScripts();
  // Not runImmediately: the page is still about:blank, and evaluating the 0.9 MB script there cost 150-300 ms
  // per capture for a document that is thrown away by the navigation (issue 17). Sent at once: the session runs
  // them in order, in one round trip.
  await Promise.all([
    cdp.send('Page.enable'),
    cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: hook }),
    cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: main, worldName: SINGLEFILE_WORLD }),
  ]);
  const dispatcher = setup.proxyServer ? new ProxyAgent(setup.proxyServer) : undefined;
  const onBinding = (event: Protocol.Runtime.BindingCalledEvent) => {
    if (event.name !== FETCH_FUNCTION_NAME) return;
    void answerFetch(cdp, event, setup, dispatcher);
  };
  cdp.on('Runtime.bindingCalled', onBinding);
  return () => {
    cdp.off('Runtime.bindingCalled', onBinding);
    void dispatcher?.close().catch(() => undefined);
  };
}

async function answerFetch(
  cdp: CDPSession,
  event: Protocol.Runtime.BindingCalledEvent,
  setup: SingleFileSetup,
  dispatcher: Dispatcher | undefined,
): Promise<void> {
  let requestId: number | undefined;
  try {
    const req = JSON.parse(event.payload) as {
      requestId: number;
      url: string;
      options?: { headers?: Record<string, string> };
    };
    requestId = req.requestId;
    const result = await fallbackFetch(req.url, req.options?.headers, setup, dispatcher);
    await callInWorld(cdp, event.executionContextId, RESOLVE_FETCH_FUNCTION_NAME, [requestId, result]);
  } catch (err) {
    setup.logger.debug({ err }, 'singlefile fallback fetch failed');
    if (requestId === undefined) return;
    await callInWorld(cdp, event.executionContextId, REJECT_FETCH_FUNCTION_NAME, [
      requestId,
      { error: (err as Error).message },
    ]).catch((e: unknown) => setup.logger.debug({ err: e }, 'singlefile fallback reject not delivered (page gone)'));
  }
}

async function fallbackFetch(
  url: string,
  headers: unknown,
  setup: SingleFileSetup,
  dispatcher: Dispatcher | undefined,
) {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported scheme ${u.protocol}`);
  const max = setup.maxResourceBytes ?? 10 * 1024 * 1024;
  const res = await undiciFetch(u, {
    headers: headers && typeof headers === 'object' ? (headers as Record<string, string>) : undefined,
    signal: AbortSignal.timeout(setup.fetchTimeoutMs ?? 15_000),
    redirect: 'follow',
    dispatcher,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > max) {
        await res.body.cancel().catch(() => undefined);
        throw new Error('resource too large');
      }
      chunks.push(Buffer.from(chunk));
    }
  }
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers.entries()),
    data: Buffer.concat(chunks).toString('base64'),
  };
}

async function callInWorld(cdp: CDPSession, contextId: number, fn: string, args: unknown[]): Promise<void> {
  await cdp.send('Runtime.evaluate', {
    expression: `globalThis.${fn}(${args.map((a) => JSON.stringify(a)).join(', ')})`,
    contextId,
  });
}

/**
 * The SingleFile world's execution context in the page's top frame. Page.createIsolatedWorld with the world's name
 * answers the world the new-document script made in that frame (Chromium keeps one world per name and frame), so
 * no Runtime.enable, which replays an event for every context of the page first (issue 17: 5-40 ms a capture).
 */
async function topFrameWorld(cdp: CDPSession): Promise<number> {
  const { frameTree } = await cdp.send('Page.getFrameTree');
  const { executionContextId } = await cdp.send('Page.createIsolatedWorld', {
    frameId: frameTree.frame.id,
    worldName: SINGLEFILE_WORLD,
  });
  const { result } = await cdp
    .send('Runtime.evaluate', {
      expression: "typeof singlefile !== 'undefined'",
      contextId: executionContextId,
      returnByValue: true,
    })
    .catch(() => ({ result: { value: false } }));
  if (result.value === true) return executionContextId;
  throw new PermanentError(
    'capture_failed',
    'SingleFile is not loaded in the page (was the page replaced by a download or a non-HTML document?)',
  );
}

const CHUNK = 4 * 1024 * 1024; // characters per CDP message: far below the protocol's message cap

/**
 * SingleFile gives every image it could not fetch `src="data:,"` and adds this rule, which collapses them.
 * The page as served kept those boxes (a broken image keeps its size and alt text), and so should its
 * archive: everything below would otherwise move up. Removing the rule lets the browser draw the broken
 * image exactly as it did on the live page. (The one deliberate difference from upstream's output.)
 */
export const COLLAPSE_BROKEN_IMAGES = '<style>img[src="data:,"],source[src="data:,"]{display:none!important}</style>';

/**
 * Runs SingleFile in the loaded page and returns the HTML. The result stays in the isolated world and is
 * pulled in chunks, after its size is checked against `maxBytes` (too_large before any big transfer).
 */
export async function runSingleFile(
  cdp: CDPSession,
  opts: { timeoutMs: number; maxBytes: number; options?: Record<string, unknown> },
): Promise<Buffer> {
  const deadline = Date.now() + opts.timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const contextId = await withTimeout(topFrameWorld(cdp), left(), 'singlefile: no page context in time');
  // The fallback-fetch binding, added by context id after the load as the CLI does (a name-based binding
  // registered before navigation was not exposed to this world when tried).
  await cdp.send('Runtime.addBinding', { name: FETCH_FUNCTION_NAME, executionContextId: contextId });
  const options = { ...SINGLEFILE_OPTIONS, ...opts.options };
  const started = cdp.send('Runtime.evaluate', {
    expression: `(async () => {
      const data = await singlefile.getPageData(${JSON.stringify(options)});
      globalThis.__htbasePageData = data.content.replace(${JSON.stringify(COLLAPSE_BROKEN_IMAGES)}, '');
      return globalThis.__htbasePageData.length;
    })()`,
    contextId,
    awaitPromise: true,
    returnByValue: true,
  });
  let res: Protocol.Runtime.EvaluateResponse;
  try {
    res = await withTimeout(started, left(), `singlefile did not finish in ${opts.timeoutMs} ms`);
  } catch (err) {
    if (err instanceof TimeoutError) throw new PermanentError('timeout', err.message, { cause: err });
    throw err;
  }
  if (res.exceptionDetails) {
    throw new PermanentError(
      'capture_failed',
      `singlefile failed: ${res.exceptionDetails.exception?.description ?? res.exceptionDetails.text}`,
    );
  }
  const length = Number(res.result.value);
  // UTF-16 code units: a lower bound of the UTF-8 size, so anything over the limit here is too large.
  if (length > opts.maxBytes)
    throw new PermanentError('too_large', `singlefile HTML is larger than ${opts.maxBytes} bytes`);
  const parts: Buffer[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < length;) {
      // The end moves back one unit rather than split a surrogate pair between two chunks.
      const { result } = await withTimeout(
        cdp.send('Runtime.evaluate', {
          expression: `(() => { const s = globalThis.__htbasePageData; let e = Math.min(s.length, ${i + CHUNK});
            const c = s.charCodeAt(e - 1); if (e < s.length && c >= 0xd800 && c <= 0xdbff) e--; return [e, s.slice(${i}, e)]; })()`,
          contextId,
          returnByValue: true,
        }),
        left(),
        'singlefile: reading the result timed out',
      );
      const [end, text] = result.value as [number, string];
      if (end <= i) throw new Error('singlefile: the result changed while it was being read');
      i = end;
      const part = Buffer.from(text, 'utf8');
      bytes += part.length;
      if (bytes > opts.maxBytes)
        throw new PermanentError('too_large', `singlefile HTML is larger than ${opts.maxBytes} bytes`);
      parts.push(part);
    }
  } finally {
    await cdp
      .send('Runtime.evaluate', { expression: 'delete globalThis.__htbasePageData', contextId })
      .catch(() => undefined);
  }
  return Buffer.concat(parts);
}
