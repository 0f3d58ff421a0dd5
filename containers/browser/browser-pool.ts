// One Chromium per process, launched lazily behind a mutex and relaunched when it dies; a fresh
// BrowserContext per job that is always closed; close() leaves no Chromium process behind.
import { withTimeout } from '../../shared/core/timeout.ts';
import { launch, type Browser, type BrowserContext } from 'puppeteer-core';
import type { Logger } from '../../shared/core/logger.ts';
import { chromiumEnv, resolveChromium, type ChromiumLaunchSpec, type ChromiumOptions } from './chromium.ts';

export interface BrowserPoolOptions extends ChromiumOptions {
  logger: Logger;
  /** Launch until the DevTools connection is up (the first launch also unpacks the bundled binary). */
  launchTimeoutMs?: number;
  /** Closing one job's context; past it the browser is recycled so the context cannot leak. */
  contextCloseTimeoutMs?: number;
  /** Graceful browser close before its process group is killed. */
  browserCloseTimeoutMs?: number;
  /**
   * Keep one fresh context with a blank page ready for the next job, made when the browser starts and after each
   * job (issue 17: about 100-200 ms of every capture's start). It is never used twice and is closed with the pool.
   */
  warmContext?: boolean;
}

export class BrowserPool {
  readonly proxyServer: string | undefined;
  #opts: BrowserPoolOptions;
  #log: Logger;
  #browser: Browser | null = null;
  #launching: Promise<Browser> | null = null;
  #active = 0;
  #spare: Promise<{ browser: Browser; context: BrowserContext } | null> | null = null;
  #recycle = false;
  #closed = false;
  /** How many times a browser was launched: tests and metrics read it. */
  launches = 0;

  constructor(opts: BrowserPoolOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.proxyServer = opts.proxyServer;
  }

  /** The running browser, launched on first use or after the previous one died. */
  async browser(): Promise<Browser> {
    if (this.#closed) throw new Error('browser pool is closed');
    if (this.#browser?.connected) return this.#browser;
    // The mutex: concurrent callers share one launch.
    this.#launching ??= this.#launch().finally(() => {
      this.#launching = null;
    });
    return this.#launching;
  }

  /** PID of the browser process, if one is running. */
  pid(): number | undefined {
    return this.#browser?.connected ? this.#browser.process()?.pid : undefined;
  }

  /**
   * Runs `fn` in a fresh incognito-like context; the context is closed afterwards whatever happens,
   * and an abort closes it at once (which makes every pending CDP call in `fn` reject).
   */
  async withContext<T>(
    fn: (context: BrowserContext, browser: Browser) => Promise<T>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const browser = await this.browser();
    const context = await this.#takeContext(browser);
    this.#active++;
    let closing: Promise<void> | null = null;
    const closeContext = () => (closing ??= this.#closeContext(browser, context));
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        void closeContext();
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {}); // observed through the race below; never an unhandled rejection
    try {
      return await Promise.race([fn(context, browser), aborted]);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      await closeContext();
      this.#active--;
      if (this.#recycle && this.#active === 0) {
        this.#recycle = false;
        await this.#shutdown(browser);
      } else if (this.#browser === browser) this.#prepareSpare(browser);
    }
  }

  /** The spare context when it belongs to this browser, else a new one. */
  async #takeContext(browser: Browser): Promise<BrowserContext> {
    const pending = this.#spare;
    this.#spare = null;
    const spare = pending ? await pending : null;
    if (spare && spare.browser === browser && browser.connected) return spare.context;
    if (spare) void spare.context.close().catch(() => undefined);
    return browser.createBrowserContext({ downloadBehavior: { policy: 'deny' } });
  }

  /** Opens the next job's context and its first page now, while nothing waits for them. */
  #prepareSpare(browser: Browser): void {
    if (!this.#opts.warmContext || this.#closed || this.#spare || !browser.connected) return;
    this.#spare = (async () => {
      const context = await browser.createBrowserContext({ downloadBehavior: { policy: 'deny' } });
      try {
        await withTimeout(context.newPage(), this.#opts.contextCloseTimeoutMs ?? 5_000);
      } catch (err) {
        await context.close().catch(() => undefined);
        throw err;
      }
      return { browser, context };
    })().catch((err: unknown) => {
      this.#log.info({ err }, 'spare browser context not made; the next job makes its own');
      return null;
    });
  }

  /** Kills the browser (gracefully, then its whole process group). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const spare = this.#spare;
    this.#spare = null;
    if (spare) await spare.then((x) => x?.context.close()).catch(() => undefined);
    const launching = this.#launching;
    if (launching) await launching.catch(() => undefined);
    const browser = this.#browser;
    this.#browser = null;
    if (browser) await this.#shutdown(browser);
  }

  async #launch(): Promise<Browser> {
    const old = this.#browser;
    this.#browser = null;
    if (old) await this.#shutdown(old);
    let spec = await resolveChromium(this.#opts);
    const started = Date.now();
    const start = (s: ChromiumLaunchSpec) =>
      launch({
        executablePath: s.executablePath,
        args: s.args,
        ignoreDefaultArgs: true, // CHROMIUM_FLAGS is the whole list
        env: chromiumEnv(process.env), // a compromised browser finds no database URL or key in its environment
        pipe: true, // no DevTools port on the network; the pipe dies with the process
        headless: true,
        defaultViewport: null,
        waitForInitialPage: false, // no about:blank start page: jobs open their own pages in their own contexts
        timeout: this.#opts.launchTimeoutMs ?? 30_000,
        protocolTimeout: 120_000, // a backstop; every step has its own shorter timeout
        handleSIGINT: false, // the server owns signals and calls close()
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    let browser: Browser;
    try {
      browser = await start(spec);
    } catch (err) {
      if (!(spec.sandbox && this.#opts.sandbox === 'auto')) throw err;
      // The kernel or the container's seccomp profile refused the sandbox after all: run as before.
      this.#log.warn({ err }, 'Chromium did not start sandboxed; running it with --no-sandbox');
      this.#opts = { ...this.#opts, sandbox: false };
      spec = await resolveChromium(this.#opts);
      browser = await start(spec);
    }
    this.launches++;
    const pid = browser.process()?.pid;
    this.#log.info(
      {
        pid,
        ms: Date.now() - started,
        executable: spec.executablePath,
        sandbox: spec.sandbox,
        launches: this.launches,
      },
      'browser launched',
    );
    browser.once('disconnected', () => {
      if (this.#browser === browser) this.#browser = null;
      if (!this.#closed) this.#log.warn({ pid }, 'browser disconnected; the next job relaunches it');
      killGroup(pid); // leftovers (renderers, utility processes) of a crashed browser
    });
    if (this.#closed) {
      await this.#shutdown(browser);
      throw new Error('browser pool is closed');
    }
    this.#browser = browser;
    this.#prepareSpare(browser);
    return browser;
  }

  async #closeContext(browser: Browser, context: BrowserContext): Promise<void> {
    if (!browser.connected) return;
    const ok = await withTimeout(context.close(), this.#opts.contextCloseTimeoutMs ?? 5_000).then(
      () => true,
      (err: unknown) => {
        if (!browser.connected) return true; // the browser is gone, and the context with it
        this.#log.warn({ err }, 'browser context did not close; recycling the browser');
        return false;
      },
    );
    if (!ok) {
      this.#recycle = true;
      if (this.#browser === browser) this.#browser = null; // new jobs get a new browser right away
    }
  }

  async #shutdown(browser: Browser): Promise<void> {
    const pid = browser.process()?.pid;
    try {
      await withTimeout(browser.close(), this.#opts.browserCloseTimeoutMs ?? 5_000);
    } catch (err) {
      this.#log.warn({ err, pid }, 'browser did not close in time; killing its process group');
    }
    killGroup(pid);
  }
}

/** SIGKILL the browser's process group (puppeteer starts it detached, so it leads its own group). */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: already gone, the usual case
  }
}
