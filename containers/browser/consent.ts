// Cookie and consent banners dismissed before capture with DuckDuckGo's autoconsent (its maintained CMP
// rule set from npm): the content script runs in every same-process frame and talks to us over a binding.
import type { CDPSession } from 'puppeteer-core';
import type { Protocol } from 'devtools-protocol';
import type { Logger } from '../../shared/core/logger.ts';
import { PASS_ENDED, consentAssets, rulesForFrame } from './consent-rules.ts';

/** optout: reject where the CMP allows it (the default); optin: accept; off: leave banners alone. */
export type ConsentMode = 'optout' | 'optin' | 'off';
export const CONSENT_MODES = ['optout', 'optin', 'off'] as const;

const BINDING = 'autoconsentSendMessage';

/** Lifecycle states after which a frame's autoconsent has nothing more to do. */
const FINISHED = new Set([
  'nothingDetected',
  'done',
  'optOutSucceeded',
  'optOutFailed',
  'optInSucceeded',
  'optInFailed',
]);

export interface ConsentOutcome {
  /** CMPs whose popup was found, by autoconsent's rule name (e.g. "Onetrust"). */
  cmps: string[];
  /** Popups found so far, in every frame (a later call answering more: one was found in between). */
  popups: number;
  /** True when every popup found was handled; false when one failed or was still running at the deadline. */
  handled: boolean;
}

export interface ConsentHandle {
  /**
   * Waits (at most `ms`) for the frames that found a consent popup to finish dismissing it. Frames that
   * found nothing are not waited for: a page without a banner costs no time here. With `firstPass`, frames whose
   * first two detection passes have not yet run are waited for too (a banner present soon after load is seen).
   */
  settle(ms: number, o?: { firstPass?: boolean }): Promise<ConsentOutcome>;
  dispose(): void;
}

interface FrameState {
  lifecycle: string;
  popup: string | null;
  result: boolean | null;
  /** The grace period after dismissal was already waited for. */
  waited?: boolean;
  /** A CMP's rule matched; whether its popup is open is still being checked. */
  detected?: string;
  /** When detection started (lifecycle `started`), Date.now(). */
  startedAt?: number;
  /** Detection passes begun (autoconsent's findCmpAttempts): the first ended when the second begins. */
  attempts?: number;
  /** Detection passes that ended without a find (the marker consent-rules.ts puts in the script). */
  passesEnded?: number;
  /** Whether the frame is the page's top frame (from its first report, which comes before its init). */
  top?: boolean;
}

/**
 * Must run on a fresh page before navigation. `cdp` should be a session of its own (its Runtime domain is
 * enabled here). The script runs in the main world (`isMainWorld`: rule snippets run inline, no eval round
 * trip); cross-origin iframes in other processes (out-of-process frames) are not covered.
 */
export async function installConsent(
  cdp: CDPSession,
  mode: Exclude<ConsentMode, 'off'>,
  log: Logger,
): Promise<ConsentHandle> {
  const { script, passMarker } = consentAssets();
  const config = {
    enabled: true,
    autoAction: mode === 'optin' ? 'optIn' : 'optOut',
    disabledCmps: [],
    enablePrehide: true, // banners are hidden by CSS from the first paint while the click runs
    enableCosmeticRules: true,
    enableGeneratedRules: true,
    enableHeuristicDetection: false,
    detectRetries: 6, // about 3 s of re-detection after DOMContentLoaded for late banners
    isMainWorld: true,
    prehideTimeout: 4_000,
    logs: {
      lifecycle: false,
      rulesteps: false,
      detectionsteps: false,
      evals: false,
      errors: false,
      messages: false,
      waits: false,
    },
  };
  const frames = new Map<number, FrameState>();
  let popupsFound = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const reply = (contextId: number, message: unknown) =>
    cdp
      .send('Runtime.evaluate', {
        expression: `window.autoconsentReceiveMessage && window.autoconsentReceiveMessage(${JSON.stringify(message)})`,
        contextId,
      })
      .catch((err: unknown) => log.debug({ err }, 'autoconsent reply not delivered (frame gone)'));

  const onBinding = (event: Protocol.Runtime.BindingCalledEvent) => {
    if (event.name !== BINDING) return;
    let msg: {
      type?: string;
      cmp?: string;
      result?: boolean;
      state?: { lifecycle?: string; findCmpAttempts?: number };
      details?: unknown;
      url?: string;
      mainFrame?: boolean;
      attempt?: number;
    };
    try {
      msg = JSON.parse(event.payload) as typeof msg;
    } catch {
      return;
    }
    const id = event.executionContextId;
    const frame = frames.get(id) ?? { lifecycle: 'loading', popup: null, result: null };
    frames.set(id, frame);
    switch (msg.type) {
      case 'init':
        void reply(id, { type: 'initResp', config, rules: rulesForFrame(mode, msg.url ?? '', frame.top) });
        break;
      case PASS_ENDED:
        frame.passesEnded = Math.max(frame.passesEnded ?? 0, msg.attempt ?? 0);
        break;
      case 'cmpDetected':
        frame.detected = msg.cmp ?? 'unknown';
        break;
      case 'popupFound':
        popupsFound++;
        frame.popup = msg.cmp ?? 'unknown';
        log.info({ cmp: frame.popup }, 'consent popup found');
        break;
      case 'optOutResult':
      case 'optInResult':
        frame.result = !!msg.result;
        break;
      case 'autoconsentDone':
        frame.lifecycle = 'done';
        log.info({ cmp: msg.cmp }, 'consent popup dismissed');
        break;
      case 'autoconsentError':
        log.debug({ details: msg.details }, 'autoconsent error');
        break;
      case 'report':
        if (typeof msg.mainFrame === 'boolean') frame.top = msg.mainFrame;
        if (msg.state?.lifecycle) frame.lifecycle = msg.state.lifecycle;
        if (frame.lifecycle === 'started') frame.startedAt ??= Date.now();
        if (msg.state?.findCmpAttempts !== undefined) frame.attempts = msg.state.findCmpAttempts;
        break;
    }
    wake();
  };
  cdp.on('Runtime.bindingCalled', onBinding);
  // A document that went away (the blank page before the navigation, a replaced iframe) has nothing left to wait for.
  const onDestroyed = (e: Protocol.Runtime.ExecutionContextDestroyedEvent) => {
    const f = frames.get(e.executionContextId);
    if (f && !f.popup) frames.delete(e.executionContextId);
    wake();
  };
  cdp.on('Runtime.executionContextDestroyed', onDestroyed);
  // A navigation clears every context at once (Chromium sends this, not one event per context).
  const onCleared = () => {
    for (const [id, f] of frames) if (!f.popup) frames.delete(id);
    wake();
  };
  cdp.on('Runtime.executionContextsCleared', onCleared);
  // The binding arrives as a function that serializes its argument: the content script passes objects.
  const enabled = [cdp.send('Runtime.enable'), cdp.send('Runtime.addBinding', { name: BINDING })];
  const wrapper = `(() => { const send = globalThis.${BINDING}; if (typeof send !== 'function' || send.__htbase) return;
    const wrapped = (m) => send(JSON.stringify(m)); wrapped.__htbase = true; globalThis.${BINDING} = wrapped; })();`;
  // Sent at once (a session runs its commands in order): one round trip instead of four (issue 17). Not
  // runImmediately: the page is still about:blank, a document the navigation throws away.
  await Promise.all([
    ...enabled,
    cdp.send('Page.enable'),
    cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: `${wrapper}\n${script}` }),
  ]);

  // A frame whose CMP was detected is waited for too: its popup check is under way (the capture no longer idles
  // 500 ms after load, so the check can still be running when the first wait comes).
  const pending = () =>
    [...frames.values()].filter((f) => (f.popup || f.detected) && !FINISHED.has(f.lifecycle) && f.result === null);
  // Frames whose first two detection passes have not ended: autoconsent starts when the page is idle (at most
  // 500 ms after its init) and retries every 500 ms; a banner a CMP's SDK injects shortly after load is seen by the
  // second pass. With the marker in the script the end of each pass is reported (issue 17: a page without a banner
  // no longer waits out a fixed 1.5 s); without it, the second has ended when the third begins, or at most
  // EARLY_PASSES_MS after the start.
  const EARLY_PASSES_MS = 1_500;
  const earlyPassesDone = (f: FrameState) =>
    (passMarker && (f.passesEnded ?? 0) >= 2) ||
    (f.attempts ?? 0) >= 3 ||
    (f.startedAt !== undefined && Date.now() - f.startedAt >= EARLY_PASSES_MS);
  const undetected = () =>
    [...frames.values()].filter((f) => !f.popup && !f.detected && !FINISHED.has(f.lifecycle) && !earlyPassesDone(f));
  return {
    async settle(ms, o = {}) {
      const deadline = Date.now() + ms;
      const waiting = () => pending().length > 0 || (!!o.firstPass && undetected().length > 0);
      while (waiting() && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const done = () => {
            waiters.delete(done);
            clearTimeout(timer);
            resolve();
          };
          // Polled as well as woken: the first-pass condition changes with time, not with a message.
          const timer = setTimeout(done, Math.max(1, Math.min(50, deadline - Date.now())));
          waiters.add(done);
        });
      }
      const found = [...frames.values()].filter((f) => f.popup);
      // The click may start a fade-out or a reload of the banner's frame: give it a moment to go (once).
      if (found.some((f) => !f.waited)) {
        for (const f of found) f.waited = true;
        await new Promise((r) => setTimeout(r, Math.min(300, Math.max(0, deadline - Date.now()))));
      }
      return {
        cmps: [...new Set(found.map((f) => f.popup!))],
        popups: popupsFound,
        handled: found.every((f) => f.lifecycle === 'done' || f.result === true),
      };
    },
    dispose() {
      cdp.off('Runtime.bindingCalled', onBinding);
      cdp.off('Runtime.executionContextDestroyed', onDestroyed);
      cdp.off('Runtime.executionContextsCleared', onCleared);
      wake();
    },
  };
}
