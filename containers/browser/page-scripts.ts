// Code that runs inside the captured page (scrolling, metadata, the print workaround, the HTML size check).
// It is plain source text, not TypeScript functions: tsx/esbuild would wrap named functions in a `__name`
// helper that does not exist in the page, so a function serialized with toString() would throw there.

/** The least time a scroll step takes on a page that handles its own scroll events (throttled handlers). */
export const SCROLL_STEP_MS = 50;

/**
 * Scrolls down from `fromY` in viewport steps for `budgetMs` or `maxSteps`. Every jump is instant (with CSS
 * `scroll-behavior: smooth`, which Bootstrap 5 sets, a plain scrollTo animates). On a page with no scroll handler
 * (`stepMs` 0) a step is one frame (issue 17): each jump is made in a frame's animation callbacks, so that frame's
 * layout and IntersectionObserver (native lazy loading is one) see the position, and the scroll event comes in the
 * next frame, before the next jump. Observers get entries as of the frame they were computed in, so a callback
 * that runs after the next jump still sees its element intersecting. On a page with a handler (throttled or
 * debounced, see SCROLL_STEP_MS) a step lasts `stepMs` from the frame its scroll event was dispatched in;
 * `leadMs` is waited before the first step when the steps before this call were not paced. At the bottom it waits
 * a frame more (and `stepMs`) for an endless list to append; if nothing came, it returns `bottom: true` and the
 * caller waits for the network (content fetched on scroll) and looks again whether the page grew.
 */
export const SCROLL_SCRIPT = `async (budgetMs, maxSteps, fromY, stepMs, leadMs) => {
  const STEP_MS = stepMs;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const root = document.scrollingElement || document.documentElement;
  const jump = (top) => scrollTo({ top, left: 0, behavior: 'instant' });
  const start = performance.now();
  const stepPx = Math.max(200, Math.floor(innerHeight * 0.85));
  const atBottom = (y) => y + innerHeight >= root.scrollHeight;
  let y = fromY, steps = 0;
  if (atBottom(y)) return { y, steps, bottom: true };
  // Paced after unpaced steps: the page's handler last saw an event moments ago.
  if (leadMs > 0) await sleep(leadMs);
  // The code after an awaited frame runs in that frame's animation callbacks, before its layout and observers.
  await frame();
  while (steps < maxSteps && performance.now() - start < budgetMs) {
    y += stepPx;
    steps++;
    jump(y);
    // The scroll event is dispatched in the next frame's rendering steps, just before its animation frame
    // callbacks: a paced step is counted from there, so the page's handler sees one event at least STEP_MS after
    // the last. Its jump comes after a timer, outside a frame; the frame after it lays that position out.
    await frame();
    if (STEP_MS > 0) await sleep(STEP_MS);
    if (atBottom(y)) {
      // An endless list appends on reaching the bottom (from an observer's callback, or after a short timer): one
      // more frame and STEP_MS; what comes later or over the network is the caller's network-idle wait and growth
      // check.
      await frame();
      if (STEP_MS > 0) await sleep(STEP_MS);
      if (atBottom(y)) return { y, steps, bottom: true };
    }
  }
  return { y, steps, bottom: false };
}`;

/**
 * Back at the top with the page's scroll handlers run for that position: an instant jump to 0, a scroll event
 * there (handlers that read scrollY), at least two frames (rAF-throttled handlers, IntersectionObserver callbacks),
 * and until neither the DOM nor the scroll position has changed for `quietMs` (debounced handlers), at most `maxMs`
 * in all. The quiet time counts from the last scroll event or DOM change, whichever came later (issue 17: before,
 * it began only after the two frames): the browser's own event for the jump comes in the next frame and restarts
 * a debounced handler's timer, and so restarts this wait; a change made by a handler, an animation frame or an
 * observer's callback restarts it too.
 */
export const AT_TOP_SCRIPT = `async (quietMs, maxMs) => {
  const started = performance.now();
  let changed = started;
  const touch = () => { changed = performance.now(); };
  const observer = new MutationObserver(touch);
  observer.observe(document.documentElement, { attributes: true, childList: true, characterData: true, subtree: true });
  addEventListener('scroll', touch, { capture: true, passive: true });
  scrollTo({ top: 0, left: 0, behavior: 'instant' });
  document.dispatchEvent(new Event('scroll', { bubbles: true }));
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  await frame();
  await frame();
  await new Promise((resolve) => {
    const check = () => {
      const now = performance.now();
      const wait = Math.min(quietMs - (now - changed), maxMs - (now - started));
      if (wait > 0) return setTimeout(check, wait);
      observer.disconnect();
      removeEventListener('scroll', touch, { capture: true });
      resolve();
    };
    check();
  });
  return { scrollY: scrollY, ms: Math.round(performance.now() - started) };
}`;

/** Whether the page looks finished for a picture: its web fonts loaded and every image complete. */
export const TOP_READY_SCRIPT = `document.fonts.status === 'loaded' && Array.from(document.images).every((i) => i.complete)`;

/** Title, canonical URL, language and favicon as the document declares them. */
export const META_SCRIPT = `(() => {
  const abs = (sel) => { const el = document.querySelector(sel); return el && el.getAttribute('href') ? el.href : null; };
  return {
    title: document.title || null,
    canonicalUrl: abs('link[rel~="canonical" i]'),
    lang: document.documentElement.lang || null,
    faviconUrl: abs('link[rel~="icon" i]') || abs('link[rel="shortcut icon" i]') || abs('link[rel~="apple-touch-icon" i]'),
  };
})()`;

/**
 * Chromium's printToPDF never returns (and wedges the renderer) on a list item whose first line is an
 * inline holding only an empty block: `<li><a href><div></div></a></li>` (corpus page la-nacion; reproduced
 * down to that markup, tagged or not). Giving such empty blocks a 1px height avoids it. Run just before
 * printing, the last step, so no other format sees the change. Returns how many blocks it touched.
 */
export const PRINT_FIX_SCRIPT = `(() => {
  let fixed = 0, seen = 0;
  const blockish = /^(block|flex|grid|table|flow-root|list-item)$/;
  for (const li of document.querySelectorAll('li')) {
    for (const el of li.querySelectorAll('*')) {
      if (++seen > 20000) return fixed;
      if (el.firstChild || !el.parentElement || el.offsetHeight !== 0) continue;
      const cs = getComputedStyle(el);
      if (!blockish.test(cs.display) || !getComputedStyle(el.parentElement).display.startsWith('inline')) continue;
      el.style.setProperty('min-height', '1px');
      fixed++;
    }
  }
  return fixed;
})()`;

/** Characters of the serialized document, checked in the page before the HTML is moved out of it. */
export const HTML_LENGTH_SCRIPT = 'document.documentElement ? document.documentElement.outerHTML.length : 0';
