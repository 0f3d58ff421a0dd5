// Which Chromium binary to run and with which flags: the one place that decides both.
// The executable is CHROME_PATH when the caller passes one, else @sparticuz/chromium's bundled binary.
import chromium from '@sparticuz/chromium';

/**
 * Every flag the browser is launched with (puppeteer's own defaults are switched off so this list is the
 * whole truth). Not taken from @sparticuz/chromium's `args`: those add `--single-process`, which runs every
 * renderer inside the browser process, so one page's renderer crash would kill the browser and every job in
 * it. Without it a crashed renderer fails only its own page and the pool keeps the browser (and relaunches
 * it if the browser process itself dies). They also add `--disable-web-security`, which archiving must not.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless', // chrome-headless-shell (sparticuz) and new-headless Chrome (Debian) both accept this
  '--no-sandbox', // we run as root in a container; the container is the sandbox
  '--no-zygote', // with --no-sandbox the zygote buys nothing and adds a process
  '--disable-dev-shm-usage', // /dev/shm is 64 MB in containers: use /tmp for shared memory
  '--disable-gpu', // no GPU in Cloud Run; software compositing
  '--hide-scrollbars', // screenshots without scrollbars
  '--mute-audio',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings', // no hyperlink-auditing beacons out of archived pages
  '--disable-sync',
  '--disable-background-networking', // no update, safe-browsing or metrics traffic besides the page's own
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--disable-crash-reporter',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-component-extensions-with-background-pages',
  '--disable-background-timer-throttling', // background tabs must not stall their timers mid-capture
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  '--disable-hang-monitor',
  '--disable-ipc-flooding-protection',
  '--disable-popup-blocking', // popups open as targets we ignore and close with the context
  '--disable-prompt-on-repost',
  '--disable-quic', // QUIC is UDP and would bypass the HTTP(S) egress proxy
  '--disable-search-engine-choice-screen',
  '--deny-permission-prompts',
  '--password-store=basic',
  '--use-mock-keychain',
  '--force-color-profile=srgb', // stable colours across machines for screenshots
  '--font-render-hinting=none', // same glyph metrics in screenshot and PDF
  '--disk-cache-size=33554432',
  '--enable-automation',
  '--allow-pre-commit-input',
  '--export-tagged-pdf',
  // LazyFrameLoading: lazy iframes must load for the archive; PaintHolding: screenshots right after load;
  // Translate/MediaRouter/OptimizationHints: background traffic; IsolateSandboxedIframes: puppeteer#10715.
  '--disable-features=Translate,AcceptCHFrame,MediaRouter,OptimizationHints,LazyFrameLoading,PaintHolding,HttpsUpgrades,IsolateSandboxedIframes,ProcessPerSiteUpToMainFrameThreshold,DialMediaRouteProvider,GlobalMediaControls',
  '--window-size=1280,800',
];

export interface ChromiumLaunchSpec {
  executablePath: string;
  args: string[];
}

export interface ChromiumOptions {
  /** An explicit Chromium/Chrome binary (CHROME_PATH); the bundled @sparticuz/chromium otherwise. */
  executablePath?: string;
  /**
   * Send every request through this proxy (e.g. the SSRF egress proxy, `http://127.0.0.1:PORT`).
   * `<-loopback>` removes Chromium's implicit loopback bypass, so loopback targets go through it too.
   */
  proxyServer?: string;
  /** Additional flags (tests, experiments); appended after CHROMIUM_FLAGS. */
  extraArgs?: string[];
}

/** Resolves the binary (unpacking the bundled one on first use, about 3 s) and the full argument list. */
export async function resolveChromium(opts: ChromiumOptions = {}): Promise<ChromiumLaunchSpec> {
  const executablePath = opts.executablePath ?? (await chromium.executablePath());
  return { executablePath, args: chromiumArgs(opts) };
}

export function chromiumArgs(opts: Pick<ChromiumOptions, 'proxyServer' | 'extraArgs'> = {}): string[] {
  const args = [...CHROMIUM_FLAGS];
  if (opts.proxyServer) args.push(`--proxy-server=${opts.proxyServer}`, '--proxy-bypass-list=<-loopback>');
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}
