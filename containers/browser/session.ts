// One capture's page session: a new page in the job's context with its viewport, the renderer-crash race,
// the dialog answers, and the guards installed before navigating (network guard, SingleFile, consent).
import type { Browser, BrowserContext, CDPSession, Dialog, Page } from 'puppeteer-core';
import type { Logger } from '../../shared/core/logger.ts';
import type { BrowserFormat } from '../../shared/core/formats.ts';
import { VIEWPORT, type CaptureLimits } from './capture-types.ts';
import { installSingleFile } from './singlefile.ts';
import { installConsent, type ConsentHandle, type ConsentMode } from './consent.ts';
import { installNetworkGuard } from './network-guard.ts';
import type { SiteCookie } from '../../shared/cookies/types.ts';
import { toCookieParams } from './cookies.ts';
import { trackNetworkActivity, type NetworkActivity } from './steps/scroll.ts';

export interface SessionOptions {
  url: string;
  formats: ReadonlySet<BrowserFormat>;
  limits: CaptureLimits;
  consent: ConsentMode;
  blockTrackers: boolean;
  /** The egress proxy the browser goes through; SingleFile's own fetches use it too. */
  proxyServer?: string;
  /** Logged-in capture: set scoped to their own domains, so Chromium sends each only where it belongs. */
  cookies?: SiteCookie[];
  logger: Logger;
}

export interface PageSession {
  page: Page;
  cdp: CDPSession;
  browser: Browser;
  /** Set when the renderer crashed (puppeteer's 'error' event is Inspector.targetCrashed). */
  state: { crashed: boolean };
  guard: Awaited<ReturnType<typeof installNetworkGuard>>;
  /** Null when consent handling is off. */
  consent: ConsentHandle | null;
  /** When the page last started or ended a request (the network-idle wait counts quiet time already passed). */
  activity: NetworkActivity;
  /** Settles with `work`, or rejects at once when the renderer crashes first. */
  race<T>(work: Promise<T>): Promise<T>;
  /** Removes the guards and handlers; the page itself closes with the job's context. */
  dispose(): void;
}

/** Opens the page and installs everything that must be in place before the navigation. */
export async function openSession(context: BrowserContext, browser: Browser, o: SessionOptions): Promise<PageSession> {
  const log = o.logger;
  // A warm pool's context comes with a blank page already open (browser-pool.ts warmContext).
  const page = (await context.pages())[0] ?? (await context.newPage());
  const cdp = await page.createCDPSession();
  const state = { crashed: false };
  const activity = trackNetworkActivity(page);
  // A renderer crash fails the job at once (transient: the next attempt gets a fresh renderer) instead
  // of every remaining step waiting out its own timeout on a dead page.
  let onCrash: (err: Error) => void = () => {};
  const crash = new Promise<never>((_, reject) => {
    onCrash = reject;
  });
  crash.catch(() => {}); // observed through race()
  page.on('error', (err) => {
    state.crashed = true;
    log.warn({ err }, 'renderer crashed');
    onCrash(new Error(`renderer crashed while capturing ${o.url}`, { cause: err }));
  });
  page.on('dialog', (dialog: Dialog) => {
    // alert/confirm/prompt block the page until answered; beforeunload is accepted so nothing sticks.
    const answer = dialog.type() === 'beforeunload' ? dialog.accept() : dialog.dismiss();
    answer.catch((err: unknown) => log.debug({ err }, 'dialog already gone'));
  });
  // The three installs use their own CDP domains and sessions: done at once, they cost the slowest of them.
  const [, , disposeSingleFile, guard, consent] = await Promise.all([
    page.setViewport(VIEWPORT),
    o.cookies?.length ? page.setCookie(...toCookieParams(o.cookies)) : null,
    o.formats.has('singlefile')
      ? installSingleFile(cdp, {
          logger: log,
          proxyServer: o.proxyServer,
          maxResourceBytes: o.limits.maxResourceBytes,
        })
      : () => {},
    installNetworkGuard(cdp, {
      blockTrackers: o.blockTrackers,
      maxResourceBytes: o.limits.maxResourceBytes,
      pageUrl: () => page.url() || o.url,
      logger: log,
    }),
    o.consent !== 'off'
      ? page.createCDPSession().then((c) => installConsent(c, o.consent as Exclude<ConsentMode, 'off'>, log))
      : null,
  ]);
  return {
    page,
    cdp,
    browser,
    state,
    guard,
    consent,
    activity,
    race: (work) => Promise.race([work, crash]),
    dispose() {
      activity.stop();
      disposeSingleFile();
      guard.dispose();
      consent?.dispose();
    },
  };
}
